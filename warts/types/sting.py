"""sting (object 0x0c): TCP forward/reverse loss measurements.

Layout (scamper/sting/scamper_sting_warts.c): the record's flags+params, then
``pktc`` packet blocks (flags+params each).

| block | flag: field (type) |
|---|---|
| record | 1 list, 2 cycle, 3 userid (u32); 4 src, 5 dst (addr); 6 sport, 7 dport, |
| | 8 count, 9 mean (ms), 10 inter (ms) (u16); 11 dist, 12 synretx, |
| | 13 dataretx, 14 seqskip (u8); 15 datalen (u16); 16 data (datalen bytes); |
| | 17 start, 18 hsrtt (timeval); 19 dataackc, 20 holec (u16); 21 pktc (u32); |
| | 22 result (u8); 23 errmsg (string) |
| packet | 1 flags (u8); 2 time (timeval); 3 length (u16); 4 data (length bytes) |

Reader and writer facts (20211212 and 20260420 alike unless noted):

| fact | here |
|---|---|
| writer omits 1, 2 when there is no list/cycle, 3 when userid is 0, | builders set |
| 16 when datalen is 0, 22 when result is 0, 23 when there is no errmsg; | those None |
| writes every other flag | |
| writer bug: flag 16 holds the bytes of the *address of* the data pointer | kept as read; |
| (datalen bytes of it), so the data in scamper's files is garbage | we write data |
| reader needs src and dst; a packet needs a non-empty data block | WartsError |
| 20260420 writes errmsg (23) but its reader has no handler for it, so | stored; not |
| sc_wartsdump never prints it | rendered |
| pktc is the number of packet blocks | derived, always written |

sc_warts2json prints nothing for sting; text follows
scamper/sting/scamper_sting_text.c and the dump sc_wartsdump.c's dump_sting().
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any, ClassVar

from .. import dump as _dump
from ..address import Address
from ..errors import WartsError
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_STING
from ..wire import ADDR, STRING, TIMEVAL, U8, U16, U32, Cursor, Custom, Out, ParamTable, Timeval


class StingResult(IntEnum):
    """SCAMPER_STING_RESULT_*."""

    NONE = 0
    COMPLETED = 1
    ERROR = 2


class StingDistribution(IntEnum):
    """SCAMPER_STING_DISTRIBUTION_*: inter-packet delay distribution."""

    EXPONENTIAL = 1
    PERIODIC = 2
    UNIFORM = 3


class StingPktFlag(IntFlag):
    """SCAMPER_STING_PKT_FLAG_*."""

    TX = 0x01
    RX = 0x02
    DATA = 0x04
    HOLE = 0x08


# Plain-int copies of the packet flags (IntFlag arithmetic is slow).
_TX, _RX, _DATA, _HOLE = 0x01, 0x02, 0x04, 0x08

RESULT_NAMES = ("none", "completed", "error")


def result_tostr(r: int | None) -> str:
    r = r or 0
    return RESULT_NAMES[r] if r < len(RESULT_NAMES) else str(r)


@dataclass(frozen=True, slots=True)
class StingPkt:
    """scamper_sting_pkt_t: one packet sent or received; ``data`` is the
    whole IP packet (its length is the packet's ``len``)."""

    data: bytes
    flags: int | None = None
    tv: Timeval | None = None


@dataclass(frozen=True, slots=True)
class Sting:
    """scamper_sting_t.  Parameters are None when absent on the wire.

    ``mean`` and ``inter`` are milliseconds, as stored.  ``data`` is kept as
    read (garbage in scamper-written files, see the module notes).  Build
    records to write with :meth:`build`.
    """

    OBJ_TYPE: ClassVar[int] = OBJ_STING

    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    userid: int | None = None
    src: Address | None = None
    dst: Address | None = None
    sport: int | None = None
    dport: int | None = None
    count: int | None = None
    mean: int | None = None
    inter: int | None = None
    dist: int | None = None
    synretx: int | None = None
    dataretx: int | None = None
    seqskip: int | None = None
    datalen: int | None = None
    data: bytes | None = None
    start: Timeval | None = None
    hsrtt: Timeval | None = None
    dataackc: int | None = None
    holec: int | None = None
    result: int | None = None
    errmsg: str | None = None
    pkts: tuple[StingPkt, ...] = ()

    @classmethod
    def build(cls, *, src: Address, dst: Address, sport: int, dport: int, count: int,
              mean: int, inter: int, dist: int, synretx: int, dataretx: int,
              seqskip: int, start: Timeval, hsrtt: Timeval, dataackc: int, holec: int,
              data: bytes = b"", pkts: Sequence[StingPkt] = (), result: int = 0,
              list: ListInfo | None = None, cycle: CycleInfo | None = None,
              userid: int = 0, errmsg: str | None = None) -> Sting:
        """A record as scamper 20260420's writer lays it out, with the real
        data bytes in flag 16 (not scamper's pointer bytes).

        ``mean`` and ``inter`` are milliseconds.  userid 0, result 0, empty
        data and no errmsg are omitted (None); datalen is always written.
        """
        return cls(list=list, cycle=cycle, userid=userid or None, src=src, dst=dst,
                   sport=sport, dport=dport, count=count, mean=mean, inter=inter,
                   dist=dist, synretx=synretx, dataretx=dataretx, seqskip=seqskip,
                   datalen=len(data), data=bytes(data) if data else None, start=start,
                   hsrtt=hsrtt, dataackc=dataackc, holec=holec, result=result or None,
                   errmsg=errmsg, pkts=tuple(pkts))


# --------------------------------------------------------------------------
# Codec


def _read_data(cur: Cursor, vals: dict[str, Any]) -> bytes:
    # scamper sizes flag 16 by flag 15; without flag 15 it reads nothing
    return cur.bytes_(vals.get("datalen", 0))


def _write_data(out: Out, value: bytes) -> None:
    out.bytes_(value)


PARAMS = ParamTable(
    (1, "list_id", U32),
    (2, "cycle_id", U32),
    (3, "userid", U32),
    (4, "src", ADDR),
    (5, "dst", ADDR),
    (6, "sport", U16),
    (7, "dport", U16),
    (8, "count", U16),
    (9, "mean", U16),
    (10, "inter", U16),
    (11, "dist", U8),
    (12, "synretx", U8),
    (13, "dataretx", U8),
    (14, "seqskip", U8),
    (15, "datalen", U16),
    (16, "data", Custom(_read_data, _write_data)),
    (17, "start", TIMEVAL),
    (18, "hsrtt", TIMEVAL),
    (19, "dataackc", U16),
    (20, "holec", U16),
    (21, "pktc", U32),
    (22, "result", U8),
    (23, "errmsg", STRING),
)


def _read_pkt(cur: Cursor) -> StingPkt:
    start = cur.pos
    flags, final = cur.flags()
    pflags = tv = None
    plen = 0
    data = None
    if flags:
        if flags & 0x01:
            pflags = cur.u8()
        if flags & 0x02:
            tv = cur.timeval()
        if flags & 0x04:
            plen = cur.u16()
        if flags & 0x08:
            data = cur.bytes_(plen)
        if cur.pos > final:
            raise cur.error("sting packet parameters overran their length", final)
        cur.pos = final
    if not data:
        # scamper's reader rejects a packet without data
        raise cur.error("sting packet without data", start)
    return StingPkt(data, pflags, tv)


def decode(cur: Cursor) -> Sting:
    vals: dict[str, Any] = PARAMS.read(cur)
    st = cur.state
    lst = st.get_list(vals.pop("list_id", 0), cur)
    cyc = st.get_cycle(vals.pop("cycle_id", 0), cur)
    if vals.get("src") is None or vals.get("dst") is None:
        raise cur.error("sting without source and destination addresses")
    pktc = vals.pop("pktc", 0)
    if pktc > cur.remaining():
        raise cur.error(f"sting claims {pktc} packets, more than the bytes left")
    pkts = tuple([_read_pkt(cur) for _ in range(pktc)])
    return Sting(list=lst, cycle=cyc, pkts=pkts, **vals)


def encode(rec: Sting, out: Out) -> None:
    if rec.data is not None and rec.datalen != len(rec.data):
        raise WartsError(f"sting data is {len(rec.data)} bytes but datalen is {rec.datalen}")
    st = out.state
    vals: dict[str, Any] = {name: getattr(rec, name, None) for name in PARAMS.names}
    vals["list_id"] = st.list_id(rec.list) if rec.list is not None else None
    vals["cycle_id"] = st.cycle_id(rec.cycle) if rec.cycle is not None else None
    vals["pktc"] = len(rec.pkts)
    PARAMS.write_dict(out, vals)
    for p in rec.pkts:
        n = len(p.data)
        if not 0 < n <= 0xFFFF:
            raise WartsError(f"a sting packet needs 1 to 65535 bytes of data, not {n}")
        flags = 0x0C | (0x01 if p.flags is not None else 0) | (0x02 if p.tv is not None else 0)
        out.u8(flags)
        out.u16(n + 2 + (1 if p.flags is not None else 0) + (8 if p.tv is not None else 0))
        if p.flags is not None:
            out.u8(p.flags)
        if p.tv is not None:
            out.timeval(p.tv)
        out.u16(n)
        out.bytes_(p.data)


# --------------------------------------------------------------------------
# Rendering


def to_text(rec: Sting) -> str:
    """scamper_sting_text.c: a summary, then the probes whose data was lost."""
    out = [f"sting from {rec.src}:{rec.sport or 0} to {rec.dst}:{rec.dport or 0}, "
           f"{rec.count or 0} probes, {rec.mean or 0}ms mean\n"
           f" data-ack count {rec.dataackc or 0}, holec {rec.holec or 0}\n"]
    if rec.holec:
        txc = 0
        for p in rec.pkts:
            f = p.flags or 0
            if not f & _DATA:
                continue
            txc += 1
            if f & _HOLE:
                out.append(f"  probe {txc} hole\n")
    return "".join(out)


def _wait(label: str, ms: int | None) -> str:
    """dump_wait() of a millisecond value turned into a timeval."""
    ms = ms or 0
    s = f"{label}: {ms // 1000}"
    u = (ms % 1000) * 1000
    if u:
        x = 6
        while u % 10 == 0:
            u //= 10
            x -= 1
        s += f".{u:0{x}d}"
    return s + "s"


def _u16(d: bytes, i: int) -> int:
    return (_byte(d, i) << 8) | _byte(d, i + 1)


def _u32(d: bytes, i: int) -> int:
    return (_u16(d, i) << 16) | _u16(d, i + 2)


def _byte(d: bytes, i: int) -> int:
    # scamper reads past short packets; zeros stand in for what it would find
    return d[i] if i < len(d) else 0


_EXT_HDRS = (0, 60, 43)  # hop-by-hop, destination options, routing


def _pkts_dump(rec: Sting) -> list[str]:
    lines = []
    start = rec.start or Timeval(0, 0)
    client_isn = server_isn = 0
    for p in rec.pkts:
        d = p.data
        v = d[0] >> 4
        if v == 4 and len(d) >= 20:
            iphlen = (d[0] & 0xF) * 4
            length = _u16(d, 2)
            proto = d[9]
            ipid = f" {_u16(d, 4):04x}"
        elif v == 6 and len(d) >= 40:
            iphlen = 40
            length = (_u16(d, 4) + 40) & 0xFFFF
            proto = d[6]
            ipid = ""
            while True:
                if proto in _EXT_HDRS:
                    n = _byte(d, iphlen + 1)
                    if n == 0 or 255 - iphlen <= n * 8 + 8:
                        break
                    proto = _byte(d, iphlen)
                    iphlen += n * 8 + 8
                    continue
                if proto == 44:  # fragment header
                    if 255 - iphlen <= 8:
                        break
                    proto = _byte(d, iphlen)
                    iphlen += 8
                    continue
                break
        else:
            continue
        if proto != 6:
            continue
        tv = p.tv or Timeval(0, 0)
        sec = tv[0] - start[0]
        usec = tv[1] - start[1]
        if usec < 0:
            sec -= 1
            usec += 1000000
        ms = usec // 1000 if usec >= 0 else -((-usec) // 1000)
        pf = p.flags or 0
        direction = "TX" if pf & _TX else "RX" if pf & _RX else "??"
        seq = _u32(d, iphlen + 4)
        ack = _u32(d, iphlen + 8)
        tflags = _byte(d, iphlen + 13)
        tcphlen = ((_byte(d, iphlen + 12) & 0xF0) >> 4) * 4
        tf = ""
        if tflags & 0x02:
            if tflags & 0x10:
                server_isn = seq
                tf = "SYN/ACK"
            else:
                client_isn = seq
                tf = "SYN"
        elif tflags & 0x01:
            tf = "FIN"
        elif tflags & 0x04:
            tf = "RST"
        if tflags & 0x40:
            tf += ("/" if tf else "") + "ECE"
        if tflags & 0x80:
            tf += ("/" if tf else "") + "CWR"
        if pf & _TX:
            seq = (seq - client_isn) & 0xFFFFFFFF
            ack = (ack - server_isn) & 0xFFFFFFFF
        else:
            seq = (seq - server_isn) & 0xFFFFFFFF
            ack = (ack - client_isn) & 0xFFFFFFFF
        datalen = (length - iphlen - tcphlen) & 0xFFFF
        sq = f" seq = {seq}:{ack}({datalen})" if datalen else f" seq = {seq}:{ack}"
        lines.append(f" [{_dump.s32(sec):3d}.{_dump.s32(ms):03d}] {direction} "
                     f"{tf:<13s} {length:4d}{sq[:31]:<23s}{ipid}\n")
    return lines


def to_dump(rec: Sting) -> str:
    """sc_wartsdump's dump_sting() (no blank line after it)."""
    start = rec.start or Timeval(0, 0)
    hs = rec.hsrtt or Timeval(0, 0)
    out = [f"sting from {rec.src} to {rec.dst}\n",
           _dump.list_summary(rec.list),
           _dump.cycle_summary(rec.cycle),
           f" user-id: {_dump.s32(rec.userid or 0)}\n",
           f" start: {_dump.ctime(start[0])} {_dump.s32(start[1]):06d}\n",
           f" sport: {rec.sport or 0}, dport: {rec.dport or 0}\n",
           f" count: {rec.count or 0}{_wait(', mean', rec.mean)}"
           f"{_wait(', inter', rec.inter)}, seqskip {rec.seqskip or 0}\n",
           f" synretx: {rec.synretx or 0}, dataretx: {rec.dataretx or 0}\n",
           f" dataackc: {rec.dataackc or 0}, holec: {rec.holec or 0}\n",
           f" hs-rtt: {_dump.s32(hs[0])}.{_dump.s32(hs[1]):06d}\n",
           f" result: {result_tostr(rec.result)}\n"]
    out.extend(_pkts_dump(rec))
    return "".join(out)
