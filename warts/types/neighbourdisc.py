"""Neighbour discovery records (warts type 0x0a): ARP or IPv6 neighbour
solicitation for one address, with the probes sent and the replies seen.

Layout (scamper/neighbourdisc/scamper_neighbourdisc_warts.c): the record's
flags+params, then ``probec`` probes, each a flags+params block followed by
its ``rxc`` replies.  Fields keep the values as read; ``None`` means the
parameter was absent (scamper's reader then leaves the value zero).

| flag | field       | wire        | 20260420 writer writes it     |
|------|-------------|-------------|-------------------------------|
| 1    | list        | u32 list id | if the record has a list      |
| 2    | cycle       | u32 cycle id| if it has a cycle             |
| 3    | userid      | u32         | if non-zero                   |
| 4    | ifname      | string      | if set                        |
| 5    | start       | timeval     | always                        |
| 6    | method      | u8          | always (1 arp, 2 nd-nsol)     |
| 7    | wait_timeout| u16 ms      | always                        |
| 8    | flags       | u8          | always                        |
| 9    | attempts    | u16         | always                        |
| 10   | replyc      | u16         | always                        |
| 11   | src_ip      | address     | if set                        |
| 12   | src_mac     | address     | if set                        |
| 13   | dst_ip      | address     | if set                        |
| 14   | dst_mac     | address     | if set                        |
| 15   | probec      | u16         | if non-zero                   |
| 16   | errmsg      | string      | if set                        |

A probe has 1 tx (timeval) and 2 rxc (u16, written if non-zero); a reply
has 1 rx (timeval) and 2 mac (address, required by the reader).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..address import Address
from ..errors import WartsError
from ..jsonfmt import json_esc
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_NEIGHBOURDISC
from ..wire import ADDR, STRING, TIMEVAL, U8, U16, U32, Cursor, Out, ParamTable, Timeval
from .misc_common import (
    CYCLE,
    LIST,
    CBuf,
    cint,
    cstr,
    dump_cycle_summary,
    dump_list_summary,
    dump_timeval,
    dump_wait,
    json_monitor,
    tv_diff,
)

METHOD_ARP = 1
METHOD_ND_NSOL = 2
FLAG_ALLATTEMPTS = 0x01
FLAG_FIRSTRESPONSE = 0x02

_METHODS = {METHOD_ARP: "arp", METHOD_ND_NSOL: "nd-nsol"}

PARAMS = ParamTable(
    (1, "list", LIST),
    (2, "cycle", CYCLE),
    (3, "userid", U32),
    (4, "ifname", STRING),
    (5, "start", TIMEVAL),
    (6, "method", U8),
    (7, "wait_timeout", U16),
    (8, "flags", U8),
    (9, "attempts", U16),
    (10, "replyc", U16),
    (11, "src_ip", ADDR),
    (12, "src_mac", ADDR),
    (13, "dst_ip", ADDR),
    (14, "dst_mac", ADDR),
    (15, "probec", U16),
    (16, "errmsg", STRING),
)

PROBE_PARAMS = ParamTable(
    (1, "tx", TIMEVAL),
    (2, "rxc", U16),
)

REPLY_PARAMS = ParamTable(
    (1, "rx", TIMEVAL),
    (2, "mac", ADDR),
)


@dataclass(frozen=True, slots=True)
class NeighbourdiscReply:
    rx: Timeval | None = None
    mac: Address | None = None


@dataclass(frozen=True, slots=True)
class NeighbourdiscProbe:
    """``rxc`` is the reply count as stored (None when absent); ``replies``
    must hold that many replies."""

    tx: Timeval | None = None
    rxc: int | None = None
    replies: tuple[NeighbourdiscReply, ...] = ()


@dataclass(frozen=True, slots=True)
class Neighbourdisc:
    """scamper_neighbourdisc_t.  ``wait_timeout`` is in milliseconds, as on
    the wire; ``probec`` must equal ``len(probes)`` (or be None with none)."""

    OBJ_TYPE: ClassVar[int] = OBJ_NEIGHBOURDISC
    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    userid: int | None = None
    ifname: str | None = None
    start: Timeval | None = None
    method: int | None = None
    wait_timeout: int | None = None
    flags: int | None = None
    attempts: int | None = None
    replyc: int | None = None
    src_ip: Address | None = None
    src_mac: Address | None = None
    dst_ip: Address | None = None
    dst_mac: Address | None = None
    probec: int | None = None
    errmsg: str | None = None
    probes: tuple[NeighbourdiscProbe, ...] = ()

    @property
    def method_str(self) -> str:
        """scamper_neighbourdisc_method_tostr()."""
        m = self.method or 0
        return _METHODS.get(m, str(m))

    @property
    def wait_tv(self) -> tuple[int, int]:
        """The reader's wait_timeout timeval (sec, usec) from the u16 ms."""
        w = self.wait_timeout or 0
        return w // 1000, (w % 1000) * 1000


# --------------------------------------------------------------------------
# wire


def _decode_reply(cur: Cursor) -> NeighbourdiscReply:
    vals = REPLY_PARAMS.read(cur)
    if vals.get("mac") is None:
        raise cur.error("neighbourdisc reply without a mac address")
    return NeighbourdiscReply(**vals)


def _decode_probe(cur: Cursor) -> NeighbourdiscProbe:
    vals = PROBE_PARAMS.read(cur)
    n = vals.get("rxc") or 0
    replies = tuple(_decode_reply(cur) for _ in range(n))
    return NeighbourdiscProbe(replies=replies, **vals)


def decode(cur: Cursor) -> Neighbourdisc:
    vals = PARAMS.read(cur)
    n = vals.get("probec") or 0
    probes = tuple(_decode_probe(cur) for _ in range(n))
    return Neighbourdisc(probes=probes, **vals)


def _check_count(count: int | None, items: tuple[object, ...], what: str) -> None:
    if (count or 0) != len(items):
        raise WartsError(f"{what} count {count} does not match {len(items)} items")


def encode(rec: Neighbourdisc, out: Out) -> None:
    _check_count(rec.probec, rec.probes, "neighbourdisc probe")
    PARAMS.write(out, rec)
    for p in rec.probes:
        _check_count(p.rxc, p.replies, "neighbourdisc reply")
        PROBE_PARAMS.write(out, p)
        for r in p.replies:
            REPLY_PARAMS.write(out, r)


# --------------------------------------------------------------------------
# renderers


def _tv(tv: Timeval | None) -> Timeval:
    return tv if tv is not None else Timeval(0, 0)


def to_json(rec: Neighbourdisc) -> str:
    """scamper_neighbourdisc_tojson() (sc_warts2json)."""
    b = CBuf(1024)
    b.concat('{"type":"neighbourdisc", "version":"0.1", "method":"')
    b.concat(rec.method_str)
    b.concat('"')
    for name, a in (("src_ip", rec.src_ip), ("src_mac", rec.src_mac),
                    ("dst_ip", rec.dst_ip), ("dst_mac", rec.dst_mac)):
        if a is not None:
            b.concat(f', "{name}":"{a}"')
    if rec.ifname is not None:
        # scamper prints the interface name without escaping it
        b.concat(', "ifname":"')
        b.concat(cstr(rec.ifname))
        b.concat('"')
    start = _tv(rec.start)
    ws, wu = rec.wait_tv
    b.concat(f', "userid":{rec.userid or 0}, "attempts":{rec.attempts or 0}'
             f', "stop_count":{rec.replyc or 0}')
    b.concat(f', "start":{{"sec":{start.sec}, "usec":{start.usec}}}')
    b.concat(f', "wait_timeout":{{"sec":{ws}, "usec":{wu}}}')
    if rec.errmsg is not None:
        b.concat(f',"errmsg":"{json_esc(rec.errmsg)}"')
    flags = rec.flags or 0
    if flags:
        names = []
        if flags & FLAG_ALLATTEMPTS:
            names.append('"allattempts"')
        if flags & FLAG_FIRSTRESPONSE:
            names.append('"firstresponse"')
        b.concat(', "flags":[' + ",".join(names) + "]")
    b.concat(json_monitor(rec.list))
    probes = []
    for p in rec.probes:
        tx = _tv(p.tx)
        replies = []
        for r in p.replies:
            rb = CBuf(512)
            rx = _tv(r.rx)
            rb.concat(f'{{"rx":{{"sec":{rx.sec}, "usec":{rx.usec}}}')
            if r.mac is not None:
                rb.concat(f', "mac":"{r.mac}"')
            rb.concatc("}")
            replies.append(rb.value())
        probes.append(f'{{"tx":{{"sec":{tx.sec}, "usec":{tx.usec}}}, '
                      f'"replyc":{p.rxc or 0}, "replies":[' + ",".join(replies) + "]}")
    return b.value() + ', "probes":[' + ",".join(probes) + "]}\n"


def to_dump(rec: Neighbourdisc) -> str:
    """sc_wartsdump's dump_neighbourdisc()."""
    out = ["neighbourdisc\n", dump_list_summary(rec.list), dump_cycle_summary(rec.cycle),
           f" user-id: {rec.userid or 0}\n", dump_timeval("start", rec.start)]
    method = rec.method or 0
    if method in (METHOD_ARP, METHOD_ND_NSOL):
        ws, wu = rec.wait_tv
        out.append(" method: arp" if method == METHOD_ARP else " method: ipv6 nsol")
        out.append(f", attempts: {rec.attempts or 0}")
        out.append(dump_wait(", wait-timeout", ws, wu))
        out.append(f", replyc: {rec.replyc or 0}, iface: {cstr(rec.ifname)}\n")
        if rec.src_mac is not None:
            out.append(f" our-mac: {rec.src_mac}\n")
        flags = rec.flags or 0
        out.append(f" flags: 0x{flags:02x}")
        if flags:
            out.append(" (")
            if flags & FLAG_ALLATTEMPTS:
                out.append(" all-attempts")
            if flags & FLAG_FIRSTRESPONSE:
                out.append(" first-response")
            out.append(" )")
        out.append("\n query:  who-has")
        dst = ""
        if rec.dst_ip is not None:
            dst = str(rec.dst_ip)
            out.append(f" {dst}")
        if rec.src_ip is not None:
            out.append(f" tell {rec.src_ip}")
        if rec.dst_mac is not None:
            out.append(f" result: {dst} is-at {rec.dst_mac}")
        out.append("\n")
    if rec.errmsg is not None:
        out.append(f" errmsg: {cstr(rec.errmsg)}\n")
    for i, p in enumerate(rec.probes):
        tx = _tv(p.tx)
        out.append(f" probe: {i}, tx: {cint(tx.sec)}.{cint(tx.usec):06d}\n")
        for r in p.replies:
            sec, usec = tv_diff(tx, _tv(r.rx))
            # sc_wartsdump labels every reply with the probe's index
            out.append(f"  reply: {i}, rtt: {cint(sec)}.{cint(usec):06d}, mac: {r.mac}\n")
    out.append("\n")
    return "".join(out)
