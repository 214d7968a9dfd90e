"""Traceroute records on the wire: the writer (warts.md §3.4).

Every parameter whose field is not None is written, in flag order, so a
decoded record is written back byte for byte; :meth:`Trace.build` sets the
fields scamper 20260420's writer leaves out to None.  Addresses go through the
record's address table in write order (trace src, dst, hop records, PMTUD
hops, last-ditch hops, doubletree stops), as scamper's writer does.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from ..errors import WartsError
from ..wire import ICMPEXT, U16_STRUCT, U32_STRUCT, Out, flags_bytes
from .trace import (
    ATTR_DTREE,
    ATTR_EOF,
    ATTR_LASTDITCH,
    ATTR_PMTUD,
    Trace,
    TraceDtree,
    TraceLastditch,
    TracePmtud,
    TraceProbe,
    TraceReply,
)
from .trace_wire import DTREE_PARAMS, NOTE_PARAMS, PMTUD_PARAMS, TRACE_PARAMS


def _write_hop(out: Out, p: TraceProbe, r: TraceReply) -> None:
    pid, psize, tx = p.id, p.size, p.tx
    if r.probe_wire is not None:
        pid, psize, tx = r.probe_wire
    flags = 0x20000 | 0x2
    if r.ttl is not None:
        flags |= 0x4
    if r.flags is not None:
        flags |= 0x8
    if pid is not None:
        flags |= 0x10
    if r.rtt is not None:
        flags |= 0x20
    if r.icmp_type is not None or r.icmp_code is not None:
        flags |= 0x40
    if psize is not None:
        flags |= 0x80
    if r.size is not None:
        flags |= 0x100
    if r.ipid is not None:
        flags |= 0x200
    if r.tos is not None:
        flags |= 0x400
    if r.icmp_nhmtu is not None:
        flags |= 0x800
    if r.icmp_q_ipl is not None:
        flags |= 0x1000
    if r.icmp_q_ttl is not None:
        flags |= 0x2000
    if r.tcp_flags is not None:
        flags |= 0x4000
    if r.icmp_q_tos is not None:
        flags |= 0x8000
    if r.icmp_exts is not None:
        flags |= 0x10000
    if tx is not None:
        flags |= 0x40000
    if r.name is not None:
        flags |= 0x80000
    buf = out.buf
    buf += flags_bytes(flags)
    at = len(buf)
    buf += b"\x00\x00"
    buf.append(p.ttl)
    if r.ttl is not None:
        buf.append(r.ttl)
    if r.flags is not None:
        buf.append(r.flags)
    if pid is not None:
        buf.append((pid - 1) & 0xFF)
    if r.rtt is not None:
        buf += U32_STRUCT.pack(r.rtt)
    if flags & 0x40:
        buf.append(r.icmp_type or 0)
        buf.append(r.icmp_code or 0)
    if psize is not None:
        buf += U16_STRUCT.pack(psize)
    if r.size is not None:
        buf += U16_STRUCT.pack(r.size)
    if r.ipid is not None:
        buf += U16_STRUCT.pack(r.ipid)
    if r.tos is not None:
        buf.append(r.tos)
    if r.icmp_nhmtu is not None:
        buf += U16_STRUCT.pack(r.icmp_nhmtu)
    if r.icmp_q_ipl is not None:
        buf += U16_STRUCT.pack(r.icmp_q_ipl)
    if r.icmp_q_ttl is not None:
        buf.append(r.icmp_q_ttl)
    if r.tcp_flags is not None:
        buf.append(r.tcp_flags)
    if r.icmp_q_tos is not None:
        buf.append(r.icmp_q_tos)
    if r.icmp_exts is not None:
        ICMPEXT.write(out, r.icmp_exts)
    out.addr(r.addr)
    if tx is not None:
        out.timeval(tx)
    if r.name is not None:
        out.string(r.name)
    plen = len(buf) - at - 2
    if plen > 0xFFFF:
        raise WartsError(f"hop parameters of {plen} bytes exceed the u16 length")
    U16_STRUCT.pack_into(buf, at, plen)


def _write_probes(out: Out, probes: Sequence[TraceProbe]) -> None:
    n = sum(len(p.replies) for p in probes)
    if n > 0xFFFF:
        raise WartsError(f"{n} hop records exceed the u16 count")
    out.u16(n)
    for p in probes:
        if not 1 <= p.ttl <= 255:
            raise WartsError(f"probe ttl {p.ttl} outside 1..255")
        for r in p.replies:
            _write_hop(out, p, r)


def _write_pmtud(out: Out, pm: TracePmtud) -> None:
    if len(pm.notes) != (pm.notec or 0):
        raise WartsError(f"pmtud notec {pm.notec} but {len(pm.notes)} notes")
    PMTUD_PARAMS.write(out, pm)
    _write_probes(out, pm.probes)
    for n in pm.notes:
        NOTE_PARAMS.write(out, n)


def _write_lastditch(out: Out, ld: TraceLastditch) -> None:
    out.bytes_(ld.head)
    _write_probes(out, ld.probes)


def _write_dtree(out: Out, dt: TraceDtree) -> None:
    DTREE_PARAMS.write_dict(out, {"firsthop": dt.firsthop, "lss_stop": dt.lss_stop,
                                  "gss_stop": dt.gss_stop, "lss": dt.lss,
                                  "flags": dt.flags})


def _write_attr(out: Out, atype: int, obj: Any, writer: Any) -> None:
    buf = out.buf
    at = len(buf)
    buf += b"\x00\x00"
    writer(out, obj)
    buf += obj.pad
    alen = len(buf) - at - 2
    if alen > 0x0FFF:
        raise WartsError(f"trace attribute {atype} of {alen} bytes exceeds the 12-bit length")
    U16_STRUCT.pack_into(buf, at, (atype << 12) | alen)


def encode_trace(rec: Trace, out: Out) -> None:
    """Write ``rec``; a value that does not fit its wire field raises WartsError."""
    try:
        _encode_trace(rec, out)
    except (struct.error, ValueError, OverflowError, TypeError) as e:
        raise WartsError(f"trace field out of range: {e}") from e


def _encode_trace(rec: Trace, out: Out) -> None:
    st = out.state
    vals: dict[str, Any] = {
        "list_id": st.list_id(rec.list) if rec.list is not None or rec.has_list_id else None,
        "cycle_id": (st.cycle_id(rec.cycle) if rec.cycle is not None or rec.has_cycle_id
                     else None),
    }
    for name in TRACE_PARAMS.names[4:]:
        vals[name] = getattr(rec, name)
    TRACE_PARAMS.write_dict(out, vals)
    probes = rec.probes
    last = 0
    for p in probes:
        if p.ttl < last:
            raise WartsError("trace probes must be in non-decreasing TTL order")
        last = p.ttl
    hc = rec.hop_count
    if hc and (hc < last or hc > 255):
        raise WartsError(f"hop_count {hc} does not fit probe TTLs up to {last}")
    _write_probes(out, probes)

    order = rec.attr_order
    if order is None:
        order = tuple(t for t, v in ((ATTR_PMTUD, rec.pmtud), (ATTR_LASTDITCH, rec.lastditch),
                                     (ATTR_DTREE, rec.dtree)) if v is not None)
        order += (-1,) * len(rec.unknown_attrs)
    unknown = iter(rec.unknown_attrs)
    for t in order:
        if t == -1:
            ua = next(unknown)
            if len(ua.data) > 0x0FFF or not 0 <= ua.type <= 15 or \
                    (ua.type == 0 and not ua.data):
                raise WartsError(f"cannot write trace attribute {ua.type} "
                                 f"of {len(ua.data)} bytes")
            out.u16((ua.type << 12) | len(ua.data))
            out.bytes_(ua.data)
        elif t == ATTR_PMTUD and rec.pmtud is not None:
            _write_attr(out, t, rec.pmtud, _write_pmtud)
        elif t == ATTR_LASTDITCH and rec.lastditch is not None:
            _write_attr(out, t, rec.lastditch, _write_lastditch)
        elif t == ATTR_DTREE and rec.dtree is not None:
            _write_attr(out, t, rec.dtree, _write_dtree)
        else:
            raise WartsError(f"attr_order names attribute {t} the trace does not have")
    out.u16(ATTR_EOF)
    out.bytes_(rec.trailer)
