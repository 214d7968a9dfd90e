"""Traceroute records on the wire: parameter tables and the reader (warts.md §3.4).

The layout (scamper/trace/scamper_trace_warts.c): trace parameters, a u16
count of hop records, the hop records, then attributes (u16 header: type in
the top 4 bits, body length in the low 12) up to a 0x0000 header.  The reader
keeps every value as found (see :mod:`warts.types.trace`); the writer
(:mod:`warts.types.trace_write`) emits exactly the parameters whose fields are
not None, so copies are byte-exact.

Reading hop records is the hot path of the whole codec; it is written against
the buffer directly (see :func:`_read_hop`) with the same checks the Cursor
methods make.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from ..address import ADDR_SIZES, Address, intern
from ..compiled import _fixed_fmt, dict_reader, field_names
from ..fastobj import constructor
from ..wire import (
    ADDR,
    ADDR_STATIC,
    GID,
    ICMPEXT,
    RTT,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U32,
    Cursor,
    ParamTable,
    Timeval,
    Tuple,
)
from .trace import (
    ATTR_DTREE,
    ATTR_EOF,
    ATTR_LASTDITCH,
    ATTR_PMTUD,
    Trace,
    TraceAttr,
    TraceDtree,
    TraceLastditch,
    TracePmtud,
    TracePmtudNote,
    TraceProbe,
    TraceReply,
)

# --------------------------------------------------------------------------
# Reading


TRACE_PARAMS = ParamTable(
    (1, "list_id", U32),
    (2, "cycle_id", U32),
    (3, "src_gid", GID),
    (4, "dst_gid", GID),
    (5, "start", TIMEVAL),
    (6, "stop_reason", U8),
    (7, "stop_data", U8),
    (8, "flags8", U8),
    (9, "attempts", U8),
    (10, "hoplimit", U8),
    (11, "type", U8),
    (12, "probe_size", U16),
    (13, "sport", U16),
    (14, "dport", U16),
    (15, "firsthop", U8),
    (16, "tos", U8),
    (17, "wait_timeout", U8),
    (18, "loops", U8),
    (19, "hop_count", U16),
    (20, "gaplimit", U8),
    (21, "gapaction", U8),
    (22, "loopaction", U8),
    (23, "probec", U16),
    (24, "wait_probe", U8),
    (25, "confidence", U8),
    (26, "src", ADDR),
    (27, "dst", ADDR),
    (28, "userid", U32),
    (29, "offset", U16),
    (30, "rtr", ADDR_STATIC),
    (31, "squeries", U8),
    (32, "flags32", U32),
    (33, "stop_hop", U8),
    (34, "errmsg", STRING),
)

PMTUD_PARAMS = ParamTable(
    (1, "ifmtu", U16),
    (2, "pmtu", U16),
    (3, "outmtu", U16),
    (4, "ver", U8),
    (5, "notec", U8),
)

NOTE_PARAMS = ParamTable(
    (1, "type", U8),
    (2, "nhmtu", U16),
    (3, "reply_index", U16),
)

DTREE_PARAMS = ParamTable(
    (1, "lss_stop_gid", GID),
    (2, "gss_stop_gid", GID),
    (3, "firsthop", U8),
    (4, "lss_stop", ADDR),
    (5, "gss_stop", ADDR),
    (6, "lss", STRING),
    (7, "flags", U8),
)

_HopRaw = tuple[int, int | None, int | None, Timeval | None, TraceReply]


# A hop record: one reply with the values of the probe it answers.  Flag 1
# (a deprecated global address id) fills the same field as flag 18; the probe
# id is stored minus one (scamper's in-memory ids start at 1).
HOP_PARAMS = ParamTable(
    (1, "addr", GID),
    (2, "probe_ttl", U8),
    (3, "ttl", U8),
    (4, "flags", U8),
    (5, "probe_id", U8),
    (6, "rtt", RTT),
    (7, "icmp_type,icmp_code", Tuple("BB")),
    (8, "probe_size", U16),
    (9, "size", U16),
    (10, "ipid", U16),
    (11, "tos", U8),
    (12, "icmp_nhmtu", U16),
    (13, "icmp_q_ipl", U16),
    (14, "icmp_q_ttl", U8),
    (15, "tcp_flags", U8),
    (16, "icmp_q_tos", U8),
    (17, "icmp_exts", ICMPEXT),
    (18, "addr", ADDR),
    (19, "probe_tx", TIMEVAL),
    (20, "name", STRING),
)

# Hop records keep this reader of their own: warts.compiled.fast_reader,
# which reads every other table here and in the other types, measured 1-3%
# slower on bench/warts_bench's traces (1.015-1.064 vs 0.98-1.02 CPU-s, best
# of 5), the cost of one more call per hop to fold probe fields out of the
# reply.  It is still derived from HOP_PARAMS: flags 1-16 are fixed-size,
# 17-20 variable.  Each combination of flags that occurs is compiled once
# (exec) into a reader that unpacks the fixed ones with one struct call
# straight into locals named after the table's fields and reads the others
# inline (addresses too): on bench/warts_bench's file this took trace
# decoding from 1.64 to 1.44 CPU-s against the previous struct + itemgetter +
# per-flag tests and _read_addr() calls.
def _leading_fixed(table: ParamTable) -> tuple[tuple[int, str, tuple[str, ...]], ...]:
    """(mask, struct codes, variables) of the fixed-size parameters before
    the first variable-size one: those one struct call can unpack."""
    out = []
    for p in table.params:
        fmt = _fixed_fmt(p.codec)
        if fmt is None:
            break
        out.append((1 << (p.flag - 1), fmt,
                    ("gid",) if p.flag == 1 else tuple(p.name.split(","))))
    return tuple(out)


_HOP_FIXED = _leading_fixed(HOP_PARAMS)
_HOP_REPLY_FIELDS = field_names(TraceReply)[:-1]  # all but probe_wire
_HOP_VARS = ("gid", *(n for p in HOP_PARAMS.params[1:] for n in p.name.split(",")))
# hop flags of the parameters the template below reads itself
_HOP_GID, _HOP_PROBE_ID, _HOP_EXTS, _HOP_ADDR, _HOP_TX, _HOP_NAME = (
    0x1, 0x10, 0x10000, 0x20000, 0x40000, 0x80000)
_HopReader = Callable[[Cursor, bytes, int], Any]


def _compile_hop(flags: int, raw: bool = False) -> _HopReader:
    """The reader of a hop record with ``flags``, from ``pos`` just after
    its flag bytes: the params length, then the same reads and checks, in the
    same order, as warts(5)'s table; unknown flags skipped.  It returns
    (probe ttl, probe id, probe size, tx, TraceReply), or with ``raw`` the
    four probe values followed by the reply's fields in TraceReply's order
    (without probe_wire), for the JSON fast path."""
    fmt = ">"
    have: list[str] = []
    for mask, code, names in _HOP_FIXED:
        if flags & mask:
            fmt += code
            have += names
    st = struct.Struct(fmt)
    over = 'raise cur.error("hop parameters overran their declared length", final)'
    # from just after the flags: the params length, then the params
    lines = ["def read(cur, buf, pos):", " end = cur.end", " if pos + 2 > end:",
             '  raise cur.error("truncated: hop params length", pos)',
             " final = pos + 2 + ((buf[pos] << 8) | buf[pos + 1])", " pos += 2",
             " if final > end:",
             '  raise cur.error("hop params length runs past end of object", pos - 2)']
    lines += [f" {v} = None" for v in _HOP_VARS if v not in have]
    if have:
        lines += [f" if pos + {st.size} > final:", f"  {over}",
                  f" {', '.join(have)}, = _unpack(buf, pos)", f" pos += {st.size}"]
    if flags & _HOP_GID:
        lines.append(" addr = cur.state.get_addr(gid, cur)")
    if flags & _HOP_PROBE_ID:
        lines.append(" probe_id = (probe_id + 1) & 0xFF")
    if flags & _HOP_EXTS:
        lines += [" cur.pos = pos", " icmp_exts = _icmpext(cur, {})", " pos = cur.pos"]
    if flags & _HOP_ADDR:
        # _read_addr() inlined for a valid reference or definition; anything
        # else goes through it for its checks and errors
        lines += [" n = buf[pos] if pos < final else -1",
                  " if n == 0 and pos + 5 <= final and"
                  " (i := _u32(buf, pos + 1)[0]) < len(cur.addrs):",
                  "  addr = cur.addrs[i]",
                  "  pos += 5",
                  " elif n > 0 and pos + 2 + n <= final and _sizes.get(buf[pos + 1]) == n:",
                  "  addr = _intern(buf[pos + 1], bytes(buf[pos + 2:pos + 2 + n]))",
                  "  cur.addrs.append(addr)",
                  "  pos += 2 + n",
                  " else:",
                  "  addr, pos = _read_addr(cur, pos, final)"]
    if flags & _HOP_TX:
        lines += [" if pos + 8 > final:", f"  {over}",
                  " probe_tx = _tuple_new(_Timeval, _tv(buf, pos))", " pos += 8"]
    if flags & _HOP_NAME:
        lines += [" cur.pos = pos", " name = cur.string()", " pos = cur.pos"]
    if flags > 0xFFFF:
        lines += [" if pos > final:", f"  {over}"]
    lines.append(" cur.pos = final")
    if not flags & (_HOP_ADDR | _HOP_GID):
        lines.append(' raise cur.error("hop record without an address")')
    lines += [" if not probe_ttl:", '  raise cur.error("hop record without a probe ttl")']
    if raw:
        lines.append(f" return probe_ttl, probe_id, probe_size, probe_tx, "
                     f"{', '.join(_HOP_REPLY_FIELDS)}")
    else:
        lines.append(" return probe_ttl, probe_id, probe_size, probe_tx, "
                     f"_new_reply({', '.join(_HOP_REPLY_FIELDS)})")
    env: dict[str, Any] = {"_unpack": st.unpack_from, "_icmpext": ICMPEXT.read,
                           "_read_addr": _read_addr, "_tuple_new": tuple.__new__,
                           "_Timeval": Timeval, "_tv": _TV_STRUCT.unpack_from,
                           "_new_reply": _new_reply, "_u32": _U32_FROM,
                           "_sizes": ADDR_SIZES, "_intern": intern}
    exec(compile("\n".join(lines), f"<trace hop reader {flags:#x}>", "exec"), env)
    fn: _HopReader = env["read"]
    return fn


# Replies and probes are the bulk of a trace: they are made through
# warts.fastobj (fields in declaration order), not the dataclass __init__.
_new_reply = constructor(TraceReply)
_new_probe = constructor(TraceProbe)
_new_trace = constructor(Trace)

_TV_STRUCT = struct.Struct(">II")
_U32_FROM = struct.Struct(">I").unpack_from


def _read_addr(cur: Cursor, pos: int, final: int) -> tuple[Address, int]:
    """Cursor.addr() at ``pos`` within ``final``."""
    buf = cur.buf
    if pos >= final:
        raise cur.error("parameters overran their declared length", final)
    n = buf[pos]
    if n == 0:
        if pos + 5 > final:
            raise cur.error("parameters overran their declared length", final)
        ident = (buf[pos + 1] << 24) | (buf[pos + 2] << 16) | (buf[pos + 3] << 8) | buf[pos + 4]
        if ident >= len(cur.addrs):
            raise cur.error(f"address reference {ident} beyond table of {len(cur.addrs)}",
                            pos + 1)
        return cur.addrs[ident], pos + 5
    if pos + 2 + n > final:
        raise cur.error("parameters overran their declared length", final)
    atype = buf[pos + 1]
    if ADDR_SIZES.get(atype) != n:
        raise cur.error(f"address of type {atype} with length {n}")
    addr = intern(atype, bytes(buf[pos + 2:pos + 2 + n]))
    cur.addrs.append(addr)
    return addr, pos + 2 + n


def _hop_reader(raw: bool) -> Callable[[Cursor], Any]:
    """_read_hop(), or with ``raw`` read_hop_values(): each with its own
    compiled readers (see _compile_hop)."""
    by_flags: dict[int, _HopReader] = {}
    by_bytes: dict[bytes, _HopReader] = {}  # three flag bytes -> reader
    get = by_bytes.get

    def read_hop(cur: Cursor) -> Any:
        buf = cur.buf
        pos = cur.pos
        # Most hop records have three flag bytes (their flags run past 14):
        # a reader found by those bytes skips decoding them, as below
        # (decoding bench/warts_bench's traces alone went from 1.26 to 1.05
        # CPU-s).
        read = get(buf[pos:pos + 3])
        if read is not None:
            return read(cur, buf, pos + 3)
        end = cur.end
        flags = 0
        shift = 0
        while True:
            if pos >= end:
                raise cur.error("truncated: hop flags run past end", pos)
            b = buf[pos]
            pos += 1
            flags |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        if not flags:
            raise cur.error("hop record without an address", pos - 1)
        read = by_flags.get(flags)
        if read is None:
            read = _compile_hop(flags, raw)
            # real files use a handful of combinations; damaged ones could use any
            if len(by_flags) >= 1024:
                by_flags.clear()
            by_flags[flags] = read
        if pos - cur.pos == 3 and len(by_bytes) < 1024:
            by_bytes[bytes(buf[cur.pos:pos])] = read
        return read(cur, buf, pos)

    return read_hop


# One hop record: (probe ttl, probe id, probe size, tx, reply).  This is the
# hot path of trace decoding, so its readers read the buffer directly rather
# than through Cursor methods; the checks are the same.
_read_hop: Callable[[Cursor], _HopRaw] = _hop_reader(False)
# The same, as (probe ttl, probe id, probe size, tx, *reply fields).
read_hop_values: Callable[[Cursor], tuple[Any, ...]] = _hop_reader(True)


def _read_probes(cur: Cursor, count: int) -> list[TraceProbe]:
    """``count`` hop records folded into probes (see fold_probes)."""
    return fold_probes([_read_hop(cur) for _ in range(count)])


def fold_probes(hops: Iterable[_HopRaw]) -> list[TraceProbe]:
    """Hop records folded into probes: consecutive records with the same
    (ttl, id, size), absent id/size counting as 0, share a probe."""
    groups: list[tuple[int, int | None, int | None, Timeval | None, list[TraceReply]]] = []
    key: tuple[int, int, int] | None = None
    for pttl, pid, psize, tx, reply in hops:
        k = (pttl, pid or 0, psize or 0)
        if k == key:
            g = groups[-1]
            if g[1] != pid or g[2] != psize or g[3] != tx:
                reply = replace(reply, probe_wire=(pid, psize, tx))
            g[4].append(reply)
        else:
            key = k
            groups.append((pttl, pid, psize, tx, [reply]))
    return [_new_probe(g[0], g[1], g[2], g[3], tuple(g[4])) for g in groups]


def probes_from_values(hops: Iterable[tuple[Any, ...]]) -> list[TraceProbe]:
    """fold_probes() of hop records read by read_hop_values()."""
    return fold_probes([(h[0], h[1], h[2], h[3], _new_reply(*h[4:])) for h in hops])


def _read_pmtud(cur: Cursor) -> TracePmtud:
    vals = PMTUD_PARAMS.read(cur)
    probes = _read_probes(cur, cur.u16())
    nreplies = sum(len(p.replies) for p in probes)
    notes = []
    for _ in range(vals.get("notec") or 0):
        n = NOTE_PARAMS.read(cur)
        idx = n.get("reply_index")
        if idx is not None and idx >= nreplies:
            raise cur.error(f"pmtud note refers to reply {idx} of {nreplies}")
        notes.append(TracePmtudNote(**n))
    return TracePmtud(**vals, probes=tuple(probes), notes=tuple(notes))


def _read_lastditch(cur: Cursor) -> TraceLastditch:
    start = cur.pos
    _flags, final = cur.flags()
    cur.pos = final
    head = bytes(cur.buf[start:final])
    probes = _read_probes(cur, cur.u16())
    return TraceLastditch(tuple(probes), head)


def _read_dtree(cur: Cursor) -> TraceDtree:
    vals = DTREE_PARAMS.read(cur)
    lss_gid = vals.pop("lss_stop_gid", None)
    gss_gid = vals.pop("gss_stop_gid", None)
    if vals.get("lss_stop") is None:
        vals["lss_stop"] = lss_gid
    if vals.get("gss_stop") is None:
        vals["gss_stop"] = gss_gid
    return TraceDtree(**vals)


_ATTR_READERS = {ATTR_PMTUD: _read_pmtud, ATTR_LASTDITCH: _read_lastditch,
                 ATTR_DTREE: _read_dtree}
_ATTR_FIELDS = {ATTR_PMTUD: "pmtud", ATTR_LASTDITCH: "lastditch", ATTR_DTREE: "dtree"}


_read_trace_params = dict_reader(TRACE_PARAMS)


def read_head(cur: Cursor) -> dict[str, Any]:
    """The trace's flags+params block as Trace's keyword arguments (list and
    cycle resolved, the deprecated address ids moved, has_list_id and
    has_cycle_id set), checked as scamper's reader checks it."""
    vals = _read_trace_params(cur)
    st = cur.state
    vals["has_list_id"] = "list_id" in vals
    vals["has_cycle_id"] = "cycle_id" in vals
    vals["list"] = st.get_list(vals.pop("list_id", 0), cur)
    vals["cycle"] = st.get_cycle(vals.pop("cycle_id", 0), cur)
    src_gid = vals.pop("src_gid", None)
    dst_gid = vals.pop("dst_gid", None)
    if vals.get("src") is None and src_gid is not None:
        vals["src"] = src_gid
    if vals.get("dst") is None:
        if dst_gid is None:
            raise cur.error("trace without a destination address")
        vals["dst"] = dst_gid
    return vals


def check_hops(cur: Cursor, ttls: Iterable[int], hop_count: int | None) -> None:
    """The reader's checks of the hop records' probe TTLs (in file order)."""
    max_ttl = 0
    for ttl in ttls:
        if ttl < max_ttl:
            raise cur.error(f"hop records out of TTL order ({ttl} after {max_ttl})")
        max_ttl = ttl
    if hop_count and (hop_count < max_ttl or hop_count > 255):
        raise cur.error(f"hop_count {hop_count} does not fit hop TTLs up to {max_ttl}")


def decode_trace(cur: Cursor) -> Trace:
    vals = read_head(cur)
    probes = _read_probes(cur, cur.u16())
    check_hops(cur, [p.ttl for p in probes], vals.get("hop_count"))

    return _new_trace(**vals, probes=tuple(probes), **read_attrs(cur))


def read_attrs(cur: Cursor) -> dict[str, Any]:
    """The attributes after the hop records, up to the end of the object, as
    Trace's keyword arguments (pmtud, lastditch, dtree, unknown_attrs,
    attr_order, trailer)."""
    attrs: dict[str, Any] = {}
    unknown: list[TraceAttr] = []
    order: list[int] = []
    while True:
        hdr = cur.u16()
        if hdr == ATTR_EOF:
            break
        atype = hdr >> 12
        alen = hdr & 0x0FFF
        reader = _ATTR_READERS.get(atype)
        if reader is None:
            unknown.append(TraceAttr(atype, cur.bytes_(alen)))
            order.append(-1)
            continue
        fname = _ATTR_FIELDS[atype]
        if fname in attrs:
            raise cur.error(f"second {fname} attribute")
        start = cur.pos
        obj: Any = reader(cur)
        end = start + alen
        if cur.pos > end:
            raise cur.error(f"{fname} attribute overruns its length {alen}", start - 2)
        if end > cur.end:
            raise cur.error(f"{fname} attribute runs past the end of the object", start - 2)
        if cur.pos < end:
            obj = replace(obj, pad=bytes(cur.buf[cur.pos:end]))
        cur.pos = end
        attrs[fname] = obj
        order.append(atype)
    canon = [t for t in (ATTR_PMTUD, ATTR_LASTDITCH, ATTR_DTREE)
             if _ATTR_FIELDS[t] in attrs] + [-1] * len(unknown)
    trailer = bytes(cur.buf[cur.pos:cur.end])
    return dict(attrs, unknown_attrs=tuple(unknown),
                attr_order=None if order == canon else tuple(order), trailer=trailer)
