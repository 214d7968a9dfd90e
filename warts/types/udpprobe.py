"""UDP probe records (warts type 0x10): UDP datagrams with a payload sent to
a port, and the replies that came back.

Layout (scamper/udpprobe/scamper_udpprobe_warts.c).  For compatibility with
the first version of the format, probe 0 has no block of its own: its
source port and reply count are record parameters 6 and 14, its transmit
time is the record's start, and its replies follow the record's params.
Then come probes 1..probe_sent-1 (one block each), then all of their
replies, probe by probe.

| flag | field        | wire             | 20260420 writer writes it          |
|------|--------------|------------------|------------------------------------|
| 1    | list         | u32 list id      | if set                             |
| 2    | cycle        | u32 cycle id     | if set                             |
| 3    | userid       | u32              | if non-zero                        |
| 4    | src          | static address   | if set                             |
| 5    | dst          | static address   | if set                             |
| 6    | p0_sport     | u16              | if probe 0 exists                  |
| 7    | dport        | u16              | if non-zero                        |
| 8    | start        | timeval          | if non-zero                        |
| 9    | wait_timeout | u32 microseconds | if non-zero                        |
| 10   | flags        | u8               | if non-zero (0x01 exitfirst)       |
| 11   | stop         | u8               | if non-zero                        |
| 12   | len          | u16              | if there is a payload              |
| 13   | data         | len bytes        | if there is a payload              |
| 14   | p0_replyc    | u8               | if probe 0 has replies             |
| 15   | probe_count  | u8               | unless 1 (the reader's default)    |
| 16   | probe_sent   | u8               | unless 1 (the reader's default)    |
| 17   | stop_count   | u8               | if non-zero                        |
| 18   | sport        | u16              | if non-zero                        |
| 19   | wait_probe   | u32 microseconds | if non-zero                        |
| 20   | errmsg       | string           | if set                             |

Probe blocks: 1 tx (timeval), 2 sport (u16), 3 replyc (u8, if non-zero).
Reply blocks: 1 rx (timeval, if non-zero), 2 len (u16) and 3 data (len
bytes), both if there is data, 4 ifname (per-record ifname table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..address import Address
from ..errors import WartsError
from ..jsonfmt import json_esc
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_UDPPROBE
from ..wire import (
    ADDR_STATIC,
    IFNAME,
    RTT,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U32,
    Cursor,
    Out,
    ParamTable,
    Timeval,
)
from .misc_common import (
    CYCLE,
    LIST,
    CBuf,
    cint,
    counted_bytes,
    cstr,
    dump_cycle_summary,
    dump_list_summary,
    dump_timeval,
    dump_wait,
    hex20,
    json_monitor,
    tv_diff,
    u32,
)

FLAG_EXITFIRST = 0x01
_STOPS = ("none", "done", "halted", "error")

PARAMS = ParamTable(
    (1, "list", LIST),
    (2, "cycle", CYCLE),
    (3, "userid", U32),
    (4, "src", ADDR_STATIC),
    (5, "dst", ADDR_STATIC),
    (6, "p0_sport", U16),
    (7, "dport", U16),
    (8, "start", TIMEVAL),
    (9, "wait_timeout", RTT),
    (10, "flags", U8),
    (11, "stop", U8),
    (12, "len", U16),
    (13, "data", counted_bytes("len")),
    (14, "p0_replyc", U8),
    (15, "probe_count", U8),
    (16, "probe_sent", U8),
    (17, "stop_count", U8),
    (18, "sport", U16),
    (19, "wait_probe", RTT),
    (20, "errmsg", STRING),
)

PROBE_PARAMS = ParamTable(
    (1, "tx", TIMEVAL),
    (2, "sport", U16),
    (3, "replyc", U8),
)

REPLY_PARAMS = ParamTable(
    (1, "rx", TIMEVAL),
    (2, "len", U16),
    (3, "data", counted_bytes("len")),
    (4, "ifname", IFNAME),
)

_ZERO = Timeval(0, 0)


@dataclass(frozen=True, slots=True)
class UdpprobeReply:
    rx: Timeval | None = None
    len: int | None = None
    data: bytes | None = None
    ifname: str | None = None


@dataclass(frozen=True, slots=True)
class UdpprobeProbe:
    """A probe after the first; ``replyc`` must equal ``len(replies)``."""

    tx: Timeval | None = None
    sport: int | None = None
    replyc: int | None = None
    replies: tuple[UdpprobeReply, ...] = ()


@dataclass(frozen=True, slots=True)
class Udpprobe:
    """scamper_udpprobe_t as stored.  ``wait_timeout`` and ``wait_probe``
    are microseconds.  Probe 0 is ``p0_sport``/``p0_replyc``/``p0_replies``
    (its tx time is ``start``); ``probes`` holds probes 1..probe_sent-1.
    :meth:`all_probes` gives scamper's view, probe 0 included."""

    OBJ_TYPE: ClassVar[int] = OBJ_UDPPROBE
    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    userid: int | None = None
    src: Address | None = None
    dst: Address | None = None
    p0_sport: int | None = None
    dport: int | None = None
    start: Timeval | None = None
    wait_timeout: int | None = None
    flags: int | None = None
    stop: int | None = None
    len: int | None = None
    data: bytes | None = None
    p0_replyc: int | None = None
    probe_count: int | None = None
    probe_sent: int | None = None
    stop_count: int | None = None
    sport: int | None = None
    wait_probe: int | None = None
    errmsg: str | None = None
    p0_replies: tuple[UdpprobeReply, ...] = ()
    probes: tuple[UdpprobeProbe, ...] = ()

    @property
    def sent(self) -> int:
        """probe_sent with the reader's default of 1."""
        return 1 if self.probe_sent is None else self.probe_sent

    @property
    def count(self) -> int:
        """probe_count with the reader's default of 1."""
        return 1 if self.probe_count is None else self.probe_count

    def all_probes(self) -> tuple[UdpprobeProbe, ...]:
        """Every probe as scamper's reader builds them (probe 0 first)."""
        if self.sent == 0:
            return ()
        p0 = UdpprobeProbe(self.start or _ZERO, self.p0_sport or 0, self.p0_replyc or 0,
                           self.p0_replies)
        return (p0, *self.probes)

    @property
    def stop_str(self) -> str:
        s = self.stop or 0
        return _STOPS[s] if s < len(_STOPS) else str(s)


# --------------------------------------------------------------------------
# wire


def decode(cur: Cursor) -> Udpprobe:
    vals = PARAMS.read(cur)
    sent = vals.get("probe_sent", 1)
    p0_replies: tuple[UdpprobeReply, ...] = ()
    probes: list[UdpprobeProbe] = []
    if sent > 0:
        p0_replies = tuple(UdpprobeReply(**REPLY_PARAMS.read(cur))
                           for _ in range(vals.get("p0_replyc") or 0))
    if sent > 1:
        heads = [PROBE_PARAMS.read(cur) for _ in range(sent - 1)]
        for h in heads:
            replies = tuple(UdpprobeReply(**REPLY_PARAMS.read(cur))
                            for _ in range(h.get("replyc") or 0))
            probes.append(UdpprobeProbe(replies=replies, **h))
    return Udpprobe(p0_replies=p0_replies, probes=tuple(probes), **vals)


def encode(rec: Udpprobe, out: Out) -> None:
    sent = rec.sent
    if sent > 0:
        if (rec.p0_replyc or 0) != len(rec.p0_replies):
            raise WartsError("udpprobe p0_replyc does not match p0_replies")
        if len(rec.probes) != sent - 1:
            raise WartsError(f"udpprobe has {len(rec.probes) + 1} probes, probe_sent {sent}")
    elif rec.p0_replies or rec.probes:
        raise WartsError("udpprobe with probe_sent 0 has probes")
    for p in rec.probes:
        if (p.replyc or 0) != len(p.replies):
            raise WartsError("udpprobe probe replyc does not match its replies")
    PARAMS.write(out, rec)
    for r in rec.p0_replies:
        REPLY_PARAMS.write(out, r)
    for p in rec.probes:
        PROBE_PARAMS.write(out, p)
    for p in rec.probes:
        for r in p.replies:
            REPLY_PARAMS.write(out, r)


# --------------------------------------------------------------------------
# renderers


def _us_tv(us: int | None) -> tuple[int, int]:
    us = us or 0
    return us // 1000000, us % 1000000


def _reply_json(tx: Timeval, r: UdpprobeReply) -> str:
    rx = r.rx or _ZERO
    sec, usec = tv_diff(tx, rx)
    s = (f'{{"rx":{{"sec":{rx.sec}, "usec":{rx.usec}}}, "rtt":{{"sec":{u32(sec)}, '
         f'"usec":{u32(usec)}}}, "len":{r.len or 0}')
    if r.data and r.len:
        s += f', "data":"{r.data[:r.len].hex()}"'
    if r.ifname is not None:
        s += f', "ifname":"{cstr(r.ifname)}"'
    return s + "}"


def to_json(rec: Udpprobe) -> str:
    """scamper_udpprobe_tojson() (sc_warts2json)."""
    b = CBuf(4096)
    b.concat('{"type":"udpprobe", "version":"0.1"')
    if rec.src is not None:
        b.concat(f', "src":"{rec.src}"')
    if rec.dst is not None:
        b.concat(f', "dst":"{rec.dst}"')
    start = rec.start or _ZERO
    ws, wu = _us_tv(rec.wait_timeout)
    b.concat(f', "userid":{rec.userid or 0}, "start":{{"sec":{start.sec}, '
             f'"usec":{start.usec}}}, "sport":{rec.sport or 0}, "dport":{rec.dport or 0}'
             f', "wait_timeout":{{"sec":{ws}, "usec":{wu}')
    b.concatc("}")
    if (rec.flags or 0) & FLAG_EXITFIRST:
        b.concat(', "flags":["exitfirst"]')
    b.concat(f', "stop_reason":"{rec.stop_str}"')
    if rec.errmsg is not None:
        b.concat(f',"errmsg":"{json_esc(rec.errmsg)}"')
    if rec.data and rec.len:
        b.concat(', "data":"')
        b.byte2hex(rec.data[:rec.len])
        b.concatc('"')
    b.concat(f', "len":{rec.len or 0}')
    b.concat(f', "probe_count":{rec.count}, "probe_sent":{rec.sent}'
             f', "stop_count":{rec.stop_count or 0}')
    b.concat(json_monitor(rec.list))
    probes = []
    for p in rec.all_probes():
        tx = p.tx or _ZERO
        replies = ", ".join(_reply_json(tx, r) for r in p.replies)
        probes.append(f'{{"tx":{{"sec":{tx.sec}, "usec":{tx.usec}}}, "sport":{p.sport or 0}'
                      f', "replyc":{p.replyc or 0}, "replies":[{replies}]}}')
    return b.value() + ', "probes":[' + ",".join(probes) + "]}\n"


def to_dump(rec: Udpprobe) -> str:
    """sc_wartsdump's dump_udpprobe()."""
    out = ["udpprobe"]
    if rec.src is not None:
        out.append(f" from {rec.src}")
    out.append(f" to {rec.dst if rec.dst is not None else '(null)'}\n")
    out.append(dump_list_summary(rec.list))
    out.append(dump_cycle_summary(rec.cycle))
    out.append(f" user-id: {cint(rec.userid or 0)}\n")
    start = rec.start or _ZERO
    out.append(dump_timeval("start", start))
    out.append(dump_wait(" wait-timeout", *_us_tv(rec.wait_timeout)))
    out.append(dump_wait(", wait-probe", *_us_tv(rec.wait_probe)))
    out.append(f", sport: {rec.sport or 0}, dport: {rec.dport or 0}\n")
    if rec.data is not None and rec.len:
        out.append(f" payload: ({rec.len}) {hex20(rec.data[:rec.len])}\n")
    out.append(f" probe-count: {rec.count}, probe-sent: {rec.sent}, stop-reason: {rec.stop_str}\n")
    if rec.errmsg is not None:
        out.append(f" errmsg: {cstr(rec.errmsg)}\n")
    for i, p in enumerate(rec.all_probes()):
        sec, usec = tv_diff(start, p.tx or _ZERO)
        out.append(f"  {cint(sec)}.{cint(usec):06d} probe: {i}, sport: {p.sport or 0}"
                   f", replyc: {p.replyc or 0}\n")
        for j, r in enumerate(p.replies):
            if not r.len or r.data is None:
                continue
            sec, usec = tv_diff(start, r.rx or _ZERO)
            out.append(f"  {cint(sec)}.{cint(usec):06d} reply: {j}")
            if r.ifname is not None:
                out.append(f", ifname: {cstr(r.ifname)}")
            out.append(f", len: {r.len}\n           {hex20(r.data[:r.len])}\n")
    return "".join(out)
