"""OWAMP records (warts type 0x11): a one-way active measurement session
(RFC 4656) with its send schedule, and each test packet sent with the
receive timestamps reported for it.

Layout (scamper/owamp/scamper_owamp_warts.c): the record's flags+params,
then ``schedc`` schedule blocks, then ``txc`` test packet blocks, each
followed by its ``rxc`` receive blocks.  Several parameters have reader
defaults; the 20260420 writer leaves them out when they hold the default.

| flag | field        | wire            | absent means (reader default)   |
|------|--------------|-----------------|---------------------------------|
| 1    | list         | u32 list id     | none                            |
| 2    | cycle        | u32 cycle id    | none                            |
| 3    | userid       | u32             | 0                               |
| 4    | src          | static address  | none                            |
| 5    | dst          | static address  | none                            |
| 6    | dport        | u16             | 861                             |
| 7    | flags        | u16             | 0                               |
| 8    | start        | timeval         | 0                               |
| 9    | startat      | timeval         | 0                               |
| 10   | wait_timeout | timeval         | 2 s                             |
| 11   | schedc       | u32             | 1 (so one schedule block)       |
| 12   | attempts     | u32             | 10                              |
| 13   | pktsize      | u16             | 42                              |
| 14   | dir          | u8              | 0 (tx)                          |
| 15   | dscp         | u8              | 0                               |
| 16   | ttl          | u8              | 255                             |
| 17   | hsrtt        | u32 microseconds| 0                               |
| 18   | result       | u8              | 0                               |
| 19   | errmsg       | string          | none                            |
| 20   | udp_sport    | u16             | 0                               |
| 21   | udp_dport    | u16             | 0                               |
| 22   | txc          | u32             | 0                               |

Schedule blocks: 1 tv (timeval), 2 type (u8).  Test packet blocks: 1 sched
(timeval), 2 stamp (timeval), 3 seq (u32), 4 errest (u16), 5 flags (u8),
6 rxc (u8).  Receive blocks: 1 stamp (timeval), 2 errest (u16), 3 flags
(u8), 4 dscp (u8), 5 ttl (u8).  Each is written only when non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..address import Address
from ..errors import WartsError
from ..jsonfmt import json_esc
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_OWAMP
from ..wire import ADDR_STATIC, RTT, STRING, TIMEVAL, U8, U16, U32, Cursor, Out, ParamTable, Timeval
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
    tv_iszero,
    u32,
)

DIR_TX = 0
DIR_RX = 1
TX_FLAG_NOTSENT = 0x01
TX_FLAG_ERREST = 0x02
RX_FLAG_DSCP = 0x01
RX_FLAG_TTL = 0x02
RX_FLAG_ERREST = 0x04
SCHED_FIXED = 0
SCHED_EXP = 1

_RESULTS = ("none", "done", "halted", "error", "noconn", "notaccepted", "nomode", "timeout")
_DIRS = ("tx", "rx")
_SCHEDS = ("fixed", "exponential")

PARAMS = ParamTable(
    (1, "list", LIST),
    (2, "cycle", CYCLE),
    (3, "userid", U32),
    (4, "src", ADDR_STATIC),
    (5, "dst", ADDR_STATIC),
    (6, "dport", U16),
    (7, "flags", U16),
    (8, "start", TIMEVAL),
    (9, "startat", TIMEVAL),
    (10, "wait_timeout", TIMEVAL),
    (11, "schedc", U32),
    (12, "attempts", U32),
    (13, "pktsize", U16),
    (14, "dir", U8),
    (15, "dscp", U8),
    (16, "ttl", U8),
    (17, "hsrtt", RTT),
    (18, "result", U8),
    (19, "errmsg", STRING),
    (20, "udp_sport", U16),
    (21, "udp_dport", U16),
    (22, "txc", U32),
)

SCHED_PARAMS = ParamTable(
    (1, "tv", TIMEVAL),
    (2, "type", U8),
)

TX_PARAMS = ParamTable(
    (1, "sched", TIMEVAL),
    (2, "stamp", TIMEVAL),
    (3, "seq", U32),
    (4, "errest", U16),
    (5, "flags", U8),
    (6, "rxc", U8),
)

RX_PARAMS = ParamTable(
    (1, "stamp", TIMEVAL),
    (2, "errest", U16),
    (3, "flags", U8),
    (4, "dscp", U8),
    (5, "ttl", U8),
)

_ZERO = Timeval(0, 0)


def _name(table: tuple[str, ...], v: int) -> str:
    return table[v] if v < len(table) else str(v)


@dataclass(frozen=True, slots=True)
class OwampSched:
    tv: Timeval | None = None
    type: int | None = None

    @property
    def type_str(self) -> str:
        return _name(_SCHEDS, self.type or 0)


@dataclass(frozen=True, slots=True)
class OwampRx:
    stamp: Timeval | None = None
    errest: int | None = None
    flags: int | None = None
    dscp: int | None = None
    ttl: int | None = None


@dataclass(frozen=True, slots=True)
class OwampTx:
    """One test packet; ``rxc`` must equal ``len(rxs)``."""

    sched: Timeval | None = None
    stamp: Timeval | None = None
    seq: int | None = None
    errest: int | None = None
    flags: int | None = None
    rxc: int | None = None
    rxs: tuple[OwampRx, ...] = ()


@dataclass(frozen=True, slots=True)
class Owamp:
    """scamper_owamp_t as stored.  ``hsrtt`` is microseconds.  ``sched``
    holds ``schedc`` entries (one when schedc is absent); ``txs`` holds
    ``txc`` entries."""

    OBJ_TYPE: ClassVar[int] = OBJ_OWAMP
    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    userid: int | None = None
    src: Address | None = None
    dst: Address | None = None
    dport: int | None = None
    flags: int | None = None
    start: Timeval | None = None
    startat: Timeval | None = None
    wait_timeout: Timeval | None = None
    schedc: int | None = None
    attempts: int | None = None
    pktsize: int | None = None
    dir: int | None = None
    dscp: int | None = None
    ttl: int | None = None
    hsrtt: int | None = None
    result: int | None = None
    errmsg: str | None = None
    udp_sport: int | None = None
    udp_dport: int | None = None
    txc: int | None = None
    sched: tuple[OwampSched, ...] = ()
    txs: tuple[OwampTx, ...] = ()

    # the reader's defaults for absent parameters
    @property
    def dport_value(self) -> int:
        return 861 if self.dport is None else self.dport

    @property
    def wait_timeout_value(self) -> Timeval:
        return Timeval(2, 0) if self.wait_timeout is None else self.wait_timeout

    @property
    def attempts_value(self) -> int:
        return 10 if self.attempts is None else self.attempts

    @property
    def pktsize_value(self) -> int:
        return 20 + 8 + 14 if self.pktsize is None else self.pktsize

    @property
    def ttl_value(self) -> int:
        return 255 if self.ttl is None else self.ttl

    @property
    def dir_str(self) -> str:
        return _name(_DIRS, self.dir or 0)

    @property
    def result_str(self) -> str:
        return _name(_RESULTS, self.result or 0)


# --------------------------------------------------------------------------
# wire


def _decode_tx(cur: Cursor) -> OwampTx:
    vals = TX_PARAMS.read(cur)
    rxs = tuple(OwampRx(**RX_PARAMS.read(cur)) for _ in range(vals.get("rxc") or 0))
    return OwampTx(rxs=rxs, **vals)


def decode(cur: Cursor) -> Owamp:
    vals = PARAMS.read(cur)
    schedc = vals.get("schedc", 1)
    sched = tuple(OwampSched(**SCHED_PARAMS.read(cur)) for _ in range(schedc))
    txs = tuple(_decode_tx(cur) for _ in range(vals.get("txc") or 0))
    return Owamp(sched=sched, txs=txs, **vals)


def encode(rec: Owamp, out: Out) -> None:
    schedc = 1 if rec.schedc is None else rec.schedc
    if schedc != len(rec.sched):
        raise WartsError(f"owamp schedc {schedc} does not match {len(rec.sched)} entries")
    if (rec.txc or 0) != len(rec.txs):
        raise WartsError(f"owamp txc {rec.txc} does not match {len(rec.txs)} entries")
    for tx in rec.txs:
        if (tx.rxc or 0) != len(tx.rxs):
            raise WartsError("owamp tx rxc does not match its rxs")
    PARAMS.write(out, rec)
    for s in rec.sched:
        SCHED_PARAMS.write(out, s)
    for tx in rec.txs:
        TX_PARAMS.write(out, tx)
        for rx in tx.rxs:
            RX_PARAMS.write(out, rx)


# --------------------------------------------------------------------------
# renderers


def _tvj(tv: Timeval | None) -> str:
    tv = tv or _ZERO
    return f'{{"sec":{tv.sec},"usec":{tv.usec}}}'


def _rx_json(rx: OwampRx) -> str:
    flags = rx.flags or 0
    s = '{"stamp":' + _tvj(rx.stamp)
    if flags & RX_FLAG_ERREST:
        s += f',"errest":{rx.errest or 0}'
    if flags & RX_FLAG_DSCP:
        s += f',"dscp":{rx.dscp or 0}'
    if flags & RX_FLAG_TTL:
        s += f',"ttl":{rx.ttl or 0}'
    return s + "}"


def _tx_json(tx: OwampTx) -> str:
    flags = tx.flags or 0
    s = '{"stamp":' + _tvj(tx.stamp) + f',"seq":{tx.seq or 0}'
    if flags & TX_FLAG_ERREST:
        s += f',"errest":{tx.errest or 0}'
    sent = 0 if flags & TX_FLAG_NOTSENT else 1
    s += f',"rxc":{tx.rxc or 0},"sent":{sent},"rxs":['
    return s + ",".join(_rx_json(rx) for rx in tx.rxs) + "]}"


def to_json(rec: Owamp) -> str:
    """scamper_owamp_tojson() (sc_warts2json)."""
    b = CBuf(1024)
    b.concat(f'{{"type":"owamp","dir":"{rec.dir_str}"')
    if rec.src is not None:
        b.concat(f',"src":"{rec.src}"')
    if rec.dst is not None:
        b.concat(f',"dst":"{rec.dst}"')
    hs, hu = divmod(rec.hsrtt or 0, 1000000)
    b.concat(f',"dport":{rec.dport_value},"start":{_tvj(rec.start)}'
             f',"startat":{_tvj(rec.startat)},"wait_timeout":{_tvj(rec.wait_timeout_value)}'
             f',"hsrtt":{{"sec":{hs},"usec":{hu}}},"userid":{rec.userid or 0}'
             f',"attempts":{rec.attempts_value}'
             f',"pktsize":{rec.pktsize_value},"dscp":{rec.dscp or 0}'
             f',"udp_sport":{rec.udp_sport or 0},"udp_dport":{rec.udp_dport or 0}'
             f',"result":"{rec.result_str}"')
    if rec.errmsg is not None:
        b.concat(f',"errmsg":"{json_esc(rec.errmsg)}"')
    b.concat(json_monitor(rec.list))
    head = b.value()
    if rec.sched:
        b.concat(',"sched":[')
        scheds = [f'{{"value":{_tvj(s.tv)},"type":"{s.type_str}"}}' for s in rec.sched]
        head = b.value() + ",".join(scheds) + "]"
    return head + ',"txs":[' + ",".join(_tx_json(tx) for tx in rec.txs) + "]}\n"


def to_dump(rec: Owamp) -> str:
    """sc_wartsdump's dump_owamp()."""
    out = ["owamp"]
    if rec.src is not None:
        out.append(f" from {rec.src}")
    out.append(f" to {rec.dst if rec.dst is not None else '(null)'}\n")
    out.append(dump_list_summary(rec.list))
    out.append(dump_cycle_summary(rec.cycle))
    out.append(f" user-id: {cint(rec.userid or 0)}\n")
    out.append(dump_timeval("start", rec.start))
    startat = rec.startat or _ZERO
    out.append(dump_timeval("startat", startat))
    wt = rec.wait_timeout_value
    out.append(dump_wait(" wait-timeout", wt.sec, wt.usec))
    out.append(f", attempts: {cint(rec.attempts_value)}, dport: {rec.dport_value}"
               f", pktsize: {rec.pktsize_value}, dscp: {rec.dscp or 0}"
               f", ttl: {rec.ttl_value}\n")
    out.append(f" dir: {rec.dir_str}, udp_sport: {rec.udp_sport or 0}"
               f", udp_dport: {rec.udp_dport or 0}\n")
    if rec.hsrtt:
        hs, hu = divmod(rec.hsrtt, 1000000)
        out.append(f" hs-rtt: {hs}.{hu:06d}\n")
    out.append(f" result: {rec.result_str}\n")
    if rec.errmsg is not None:
        out.append(f" errmsg: {cstr(rec.errmsg)}\n")
    if rec.sched:
        out.append(f" schedc: {cint(len(rec.sched))}\n")
        for i, s in enumerate(rec.sched):
            tv = s.tv or _ZERO
            out.append(f"  {cint(i)}: {s.type_str}{dump_wait(', value', tv.sec, tv.usec)}\n")
    if rec.txs:
        out.append(f" txc: {cint(len(rec.txs))}\n")
        for i, tx in enumerate(rec.txs):
            sec, usec = tv_diff(startat, tx.stamp or _ZERO)
            out.append(f"  {i}: {u32(sec)}.{u32(usec):06d}, seq: {tx.seq or 0}"
                       f", rxc: {len(tx.rxs)}")
            if not tv_iszero(tx.sched):
                assert tx.sched is not None
                sec, usec = tv_diff(startat, tx.sched)
                out.append(f", sched: {u32(sec)}.{u32(usec):06d}")
            out.append("\n")
            for rx in tx.rxs:
                sec, usec = tv_diff(startat, rx.stamp or _ZERO)
                flags = rx.flags or 0
                out.append(f"    {u32(sec)}.{u32(usec):06d}")
                if flags & RX_FLAG_TTL:
                    out.append(f", ttl: {rx.ttl or 0}")
                if flags & RX_FLAG_DSCP:
                    out.append(f", dscp: {rx.dscp or 0}")
                out.append("\n")
    return "".join(out)
