"""Sniff records (warts type 0x0d): packets captured that match an ICMP id.

Layout (scamper/sniff/scamper_sniff_warts.c): the record's flags+params,
then ``pktc`` packet blocks.  sc_warts2json and sc_warts2text print nothing
for sniff records; sc_wartsdump does.

| flag | field       | wire        | 20260420 writer writes it |
|------|-------------|-------------|---------------------------|
| 1    | list        | u32 list id | if set                    |
| 2    | cycle       | u32 cycle id| if set                    |
| 3    | userid      | u32         | if non-zero               |
| 4    | src         | address     | if set (reader requires)  |
| 5    | start       | timeval     | always                    |
| 6    | finish      | timeval     | always                    |
| 7    | stop_reason | u8          | always                    |
| 8    | limit_pktc  | u32         | always                    |
| 9    | limit_time  | u16 seconds | always                    |
| 10   | pktc        | u32         | always                    |
| 11   | icmpid      | u16         | always                    |
| 12   | errmsg      | string      | if set                    |

Packet blocks: 1 tv (timeval), 2 len (u16), 3 data (len bytes, written if
len > 0); the reader rejects a packet without data.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import ClassVar

from ..address import Address
from ..errors import WartsError
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_SNIFF
from ..wire import ADDR, STRING, TIMEVAL, U8, U16, U32, Cursor, Out, ParamTable, Timeval
from .misc_common import (
    CYCLE,
    LIST,
    cint,
    counted_bytes,
    cstr,
    dump_cycle_summary,
    dump_list_summary,
    dump_timeval,
    dump_wait,
    tv_diff,
)

STOP_NONE = 0
STOP_ERROR = 1
STOP_LIMIT_TIME = 2
STOP_LIMIT_PKTC = 3
STOP_HALTED = 4
_STOPS = ("none", "error", "limit-time", "limit-pktc", "halted")

PARAMS = ParamTable(
    (1, "list", LIST),
    (2, "cycle", CYCLE),
    (3, "userid", U32),
    (4, "src", ADDR),
    (5, "start", TIMEVAL),
    (6, "finish", TIMEVAL),
    (7, "stop_reason", U8),
    (8, "limit_pktc", U32),
    (9, "limit_time", U16),
    (10, "pktc", U32),
    (11, "icmpid", U16),
    (12, "errmsg", STRING),
)

PKT_PARAMS = ParamTable(
    (1, "tv", TIMEVAL),
    (2, "len", U16),
    (3, "data", counted_bytes("len")),
)

_ZERO = Timeval(0, 0)


@dataclass(frozen=True, slots=True)
class SniffPkt:
    tv: Timeval | None = None
    len: int | None = None
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class Sniff:
    """scamper_sniff_t as stored; ``limit_time`` is in seconds, and ``pktc``
    must equal ``len(pkts)`` (or be None with no packets)."""

    OBJ_TYPE: ClassVar[int] = OBJ_SNIFF
    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    userid: int | None = None
    src: Address | None = None
    start: Timeval | None = None
    finish: Timeval | None = None
    stop_reason: int | None = None
    limit_pktc: int | None = None
    limit_time: int | None = None
    pktc: int | None = None
    icmpid: int | None = None
    errmsg: str | None = None
    pkts: tuple[SniffPkt, ...] = ()

    @property
    def stop_str(self) -> str:
        """scamper_sniff_stop_tostr()."""
        s = self.stop_reason or 0
        return _STOPS[s] if s < len(_STOPS) else str(s)


def _decode_pkt(cur: Cursor) -> SniffPkt:
    vals = PKT_PARAMS.read(cur)
    if not vals.get("len") or not vals.get("data"):
        raise cur.error("sniff packet without data")
    return SniffPkt(**vals)


def decode(cur: Cursor) -> Sniff:
    vals = PARAMS.read(cur)
    if vals.get("src") is None:
        raise cur.error("sniff record without a source address")
    pkts = tuple(_decode_pkt(cur) for _ in range(vals.get("pktc") or 0))
    return Sniff(pkts=pkts, **vals)


def encode(rec: Sniff, out: Out) -> None:
    if (rec.pktc or 0) != len(rec.pkts):
        raise WartsError(f"sniff pktc {rec.pktc} does not match {len(rec.pkts)} packets")
    PARAMS.write(out, rec)
    for p in rec.pkts:
        PKT_PARAMS.write(out, p)


def to_dump(rec: Sniff) -> str:
    """sc_wartsdump's dump_sniff()."""
    start = rec.start or _ZERO
    out = [f"sniff {rec.src if rec.src is not None else '(null)'}\n",
           dump_list_summary(rec.list), dump_cycle_summary(rec.cycle),
           f" user-id: {cint(rec.userid or 0)}\n",
           dump_timeval("start", start), dump_timeval("finish", rec.finish),
           f" limit-pktc: {cint(rec.limit_pktc or 0)}",
           dump_wait(", limit-time", rec.limit_time or 0, 0),
           f", icmp-id {rec.icmpid or 0}\n",
           f" result: {rec.stop_str}, pktc: {cint(len(rec.pkts))}\n"]
    if rec.errmsg is not None:
        out.append(f" errmsg: {cstr(rec.errmsg)}\n")
    for i, p in enumerate(rec.pkts):
        sec, usec = tv_diff(start, p.tv or _ZERO)
        out.append(f" {cint(i):3d} {cint(sec)}.{cint(usec):06d}")
        data = p.data or b""
        n = min(p.len or 0, len(data))
        data = data[:n]
        v = data[0] >> 4 if data else 0
        if v == 4 and n >= 20:
            out.append(f" {socket.inet_ntop(socket.AF_INET, data[12:16])} -> "
                       f"{socket.inet_ntop(socket.AF_INET, data[16:20])}")
        elif v == 6 and n >= 40:
            out.append(f" {socket.inet_ntop(socket.AF_INET6, data[8:24])} -> "
                       f"{socket.inet_ntop(socket.AF_INET6, data[24:40])}")
        out.append("\n")
        j = 0
        while j + 16 <= n:
            row = data[j:j + 16]
            words = "".join(f" {row[k]:02x}{row[k + 1]:02x}" for k in range(0, 16, 2))
            out.append(f"     0x{j:04x}: {words}\n")
            j += 16
        if n - j:
            tail = []
            for k in range(j, n):
                if k % 2 == 0:
                    tail.append(" ")
                tail.append(f"{data[k]:02x}")
            out.append(f"     0x{j:04x}: {''.join(tail)}\n")
    return "".join(out)
