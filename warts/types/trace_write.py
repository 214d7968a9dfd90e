"""Traceroute records on the wire: the writer (warts.md §3.4).

Every parameter whose field is not None is written, in flag order, so a
decoded record is written back byte for byte; :meth:`Trace.build` sets the
fields scamper 20260420's writer leaves out to None.  Addresses go through the
record's address table in write order (trace src, dst, hop records, PMTUD
hops, last-ditch hops, doubletree stops), as scamper's writer does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..compiled_write import fast_writer
from ..errors import WartsError
from ..wire import U16_STRUCT, Out
from .trace import (
    ATTR_DTREE,
    ATTR_EOF,
    ATTR_LASTDITCH,
    ATTR_PMTUD,
    Trace,
    TraceDtree,
    TraceLastditch,
    TracePmtud,
    TracePmtudNote,
    TraceProbe,
    TraceReply,
)
from .trace_wire import DTREE_PARAMS, HOP_PARAMS, NOTE_PARAMS, PMTUD_PARAMS, TRACE_PARAMS

# Each block is written by a writer compiled from the table it is read with.
_write_trace = fast_writer(TRACE_PARAMS, Trace, extra=("list_id", "cycle_id"))
_write_hop = fast_writer(HOP_PARAMS, TraceReply,
                         extra=("probe_ttl", "probe_id", "probe_size", "probe_tx"))
_write_pmtud_params = fast_writer(PMTUD_PARAMS, TracePmtud)
_write_note = fast_writer(NOTE_PARAMS, TracePmtudNote)
_write_dtree = fast_writer(DTREE_PARAMS, TraceDtree)


def _write_probes(out: Out, probes: Sequence[TraceProbe]) -> None:
    n = sum(len(p.replies) for p in probes)
    if n > 0xFFFF:
        raise WartsError(f"{n} hop records exceed the u16 count")
    out.u16(n)
    for p in probes:
        if not 1 <= p.ttl <= 255:
            raise WartsError(f"probe ttl {p.ttl} outside 1..255")
        for r in p.replies:
            pid, psize, tx = p.id, p.size, p.tx
            if r.probe_wire is not None:
                pid, psize, tx = r.probe_wire
            _write_hop(out, r, p.ttl, None if pid is None else (pid - 1) & 0xFF, psize, tx)


def _write_pmtud(out: Out, pm: TracePmtud) -> None:
    if len(pm.notes) != (pm.notec or 0):
        raise WartsError(f"pmtud notec {pm.notec} but {len(pm.notes)} notes")
    _write_pmtud_params(out, pm)
    _write_probes(out, pm.probes)
    for n in pm.notes:
        _write_note(out, n)


def _write_lastditch(out: Out, ld: TraceLastditch) -> None:
    out.bytes_(ld.head)
    _write_probes(out, ld.probes)


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
    """Write ``rec``; a value that does not fit its wire field raises (struct.error
    and the like, which warts.file.Writer reports as WartsError)."""
    st = out.state
    _write_trace(out, rec,
                 st.list_id(rec.list) if rec.list is not None or rec.has_list_id else None,
                 st.cycle_id(rec.cycle) if rec.cycle is not None or rec.has_cycle_id else None)
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
