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
from collections.abc import Callable
from dataclasses import replace
from operator import itemgetter
from typing import Any

from ..address import ADDR_IPV4, ADDR_SIZES, Address
from ..errors import WartsError
from ..wire import (
    ADDR,
    ADDR_STATIC,
    ICMPEXT,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U32,
    Cursor,
    Custom,
    IcmpExt,
    Out,
    ParamTable,
    Timeval,
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


def _gid_reader(cur: Cursor, vals: dict[str, Any]) -> Address:
    return cur.state.get_addr(cur.u32(), cur)  # type: ignore[no-any-return]


def _never_written(out: Out, value: Any) -> None:
    raise WartsError("deprecated address-id parameters are never written")


GID = Custom(_gid_reader, _never_written)

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


# Hop flags 1-16 are fixed-size.  For speed, each combination of them that
# occurs is compiled once into a struct.Struct plus an itemgetter that puts the
# unpacked values into slot order (absent slots pick the None appended at -1).
# Slots: gid, probe ttl, reply ttl, flags, probe id, rtt, icmp type, icmp code,
# probe size, size, ipid, tos, nhmtu, q ipl, q ttl, tcp flags, q tos.
_HOP_FIXED = ((0x1, "I", (0,)), (0x2, "B", (1,)), (0x4, "B", (2,)), (0x8, "B", (3,)),
              (0x10, "B", (4,)), (0x20, "I", (5,)), (0x40, "BB", (6, 7)), (0x80, "H", (8,)),
              (0x100, "H", (9,)), (0x200, "H", (10,)), (0x400, "B", (11,)),
              (0x800, "H", (12,)), (0x1000, "H", (13,)), (0x2000, "B", (14,)),
              (0x4000, "B", (15,)), (0x8000, "B", (16,)))
_hop_layouts: dict[int, tuple[struct.Struct, Callable[[tuple[Any, ...]], tuple[Any, ...]]]] = {}


def _hop_layout(fixed: int) -> tuple[struct.Struct, Callable[[tuple[Any, ...]],
                                                            tuple[Any, ...]]]:
    fmt = ">"
    where = [-1] * 17
    n = 0
    for mask, f, slots in _HOP_FIXED:
        if fixed & mask:
            fmt += f
            for s in slots:
                where[s] = n
                n += 1
    lay = (struct.Struct(fmt), itemgetter(*where))
    _hop_layouts[fixed] = lay
    return lay


# A frozen dataclass's __init__ sets each field through object.__setattr__,
# which made TraceReply construction most of the cost of reading a hop.  The
# decoder therefore builds replies and probes as instances of plain twin
# classes with the very same slots and then switches their __class__ (CPython
# allows this between heap types of identical layout).  If that is ever
# refused, the normal constructors are used.


class _ReplyTwin:
    __slots__ = TraceReply.__slots__

    def __init__(self, addr: Address, ttl: int | None, flags: int | None, rtt: int | None,
                 icmp_type: int | None, icmp_code: int | None, size: int | None,
                 ipid: int | None, tos: int | None, icmp_nhmtu: int | None,
                 icmp_q_ipl: int | None, icmp_q_ttl: int | None, tcp_flags: int | None,
                 icmp_q_tos: int | None, icmp_exts: tuple[IcmpExt, ...] | None,
                 name: str | None) -> None:
        self.addr = addr
        self.ttl = ttl
        self.flags = flags
        self.rtt = rtt
        self.icmp_type = icmp_type
        self.icmp_code = icmp_code
        self.size = size
        self.ipid = ipid
        self.tos = tos
        self.icmp_nhmtu = icmp_nhmtu
        self.icmp_q_ipl = icmp_q_ipl
        self.icmp_q_ttl = icmp_q_ttl
        self.tcp_flags = tcp_flags
        self.icmp_q_tos = icmp_q_tos
        self.icmp_exts = icmp_exts
        self.name = name
        self.probe_wire = None


class _ProbeTwin:
    __slots__ = TraceProbe.__slots__

    def __init__(self, ttl: int, id: int | None, size: int | None, tx: Timeval | None,
                 replies: tuple[TraceReply, ...]) -> None:
        self.ttl = ttl
        self.id = id
        self.size = size
        self.tx = tx
        self.replies = replies


def _twin_reply(*args: Any) -> TraceReply:
    o: Any = _ReplyTwin(*args)
    o.__class__ = TraceReply
    return o  # type: ignore[no-any-return]


def _twin_probe(*args: Any) -> TraceProbe:
    o: Any = _ProbeTwin(*args)
    o.__class__ = TraceProbe
    return o  # type: ignore[no-any-return]


def _pick_ctor(twin: Callable[..., Any], normal: Callable[..., Any],
               args: tuple[Any, ...]) -> Callable[..., Any]:
    try:
        ok = twin(*args) == normal(*args)
    except TypeError:
        ok = False
    return twin if ok else normal


_A0 = Address(ADDR_IPV4, bytes(4))
_new_reply: Callable[..., TraceReply] = _pick_ctor(
    _twin_reply, TraceReply, (_A0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, None, "x"))
_new_probe: Callable[..., TraceProbe] = _pick_ctor(
    _twin_probe, TraceProbe, (1, 2, 3, Timeval(4, 5), ()))

_ADDR_CACHE: dict[tuple[int, bytes], Address] = {}
_TV_STRUCT = struct.Struct(">II")


def _new_addr(cur: Cursor, atype: int, raw: bytes) -> Address:
    """An Address for a definition in a hop record, shared between records
    (addresses repeat a lot; the cache is dropped when it grows large)."""
    if ADDR_SIZES.get(atype) != len(raw):
        raise cur.error(f"address of type {atype} with length {len(raw)}")
    if len(_ADDR_CACHE) >= 1 << 16:
        _ADDR_CACHE.clear()
    a = _ADDR_CACHE[(atype, raw)] = Address(atype, raw)
    return a


def _read_addr(cur: Cursor, pos: int, final: int) -> tuple[Address, int]:
    """Cursor.addr() at ``pos`` within ``final``, sharing Address objects."""
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
    key = (buf[pos + 1], bytes(buf[pos + 2:pos + 2 + n]))
    addr = _ADDR_CACHE.get(key)
    if addr is None:
        addr = _new_addr(cur, key[0], key[1])
    cur.addrs.append(addr)
    return addr, pos + 2 + n


def _read_hop(cur: Cursor) -> _HopRaw:
    """One hop record: (probe ttl, probe id, probe size, tx, reply).

    This is the hot path of trace decoding, so it reads the buffer directly
    rather than through Cursor methods; the checks are the same."""
    buf = cur.buf
    pos = cur.pos
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
    if pos + 2 > end:
        raise cur.error("truncated: hop params length", pos)
    final = pos + 2 + ((buf[pos] << 8) | buf[pos + 1])
    pos += 2
    if final > end:
        raise cur.error("hop params length runs past end of object", pos - 2)
    lay = _hop_layouts.get(flags & 0xFFFF)
    st, getter = lay if lay is not None else _hop_layout(flags & 0xFFFF)
    if pos + st.size > final:
        raise cur.error("hop parameters overran their declared length", final)
    (gid, pttl, ttl, rflags, pid, rtt, itype, icode, psize, size, ipid, tos, nhmtu, qipl,
     qttl, tcpf, qtos) = getter(st.unpack_from(buf, pos) + (None,))
    pos += st.size
    addr: Address | None = None
    tx: Timeval | None = None
    exts: tuple[IcmpExt, ...] | None = None
    name: str | None = None
    if gid is not None:
        addr = cur.state.get_addr(gid, cur)
    if pid is not None:
        pid = (pid + 1) & 0xFF
    if flags > 0xFFFF:
        if flags & 0x10000:
            cur.pos = pos
            exts = ICMPEXT.read(cur, {})
            pos = cur.pos
        if flags & 0x20000:
            addr, pos = _read_addr(cur, pos, final)
        if flags & 0x40000:
            if pos + 8 > final:
                raise cur.error("hop parameters overran their declared length", final)
            tx = Timeval._make(_TV_STRUCT.unpack_from(buf, pos))
            pos += 8
        if flags & 0x80000:
            cur.pos = pos
            name = cur.string()
            pos = cur.pos
        if pos > final:
            raise cur.error("hop parameters overran their declared length", final)
    cur.pos = final
    if addr is None:
        raise cur.error("hop record without an address")
    if not pttl:
        raise cur.error("hop record without a probe ttl")
    return pttl, pid, psize, tx, _new_reply(
        addr, ttl, rflags, rtt, itype, icode, size, ipid, tos, nhmtu, qipl, qttl, tcpf,
        qtos, exts, name)


def _read_probes(cur: Cursor, count: int) -> list[TraceProbe]:
    """``count`` hop records folded into probes: consecutive records with the
    same (ttl, id, size), absent id/size counting as 0, share a probe."""
    groups: list[tuple[int, int | None, int | None, Timeval | None, list[TraceReply]]] = []
    key: tuple[int, int, int] | None = None
    for _ in range(count):
        pttl, pid, psize, tx, reply = _read_hop(cur)
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


# Trace flags 1-25 are fixed-size: compiled per combination like hop records.
_TRACE_FIXED = tuple((1 << (p.flag - 1), p.name, {U8: "B", U16: "H", U32: "I", GID: "I",
                                                  TIMEVAL: "II"}[p.codec])
                     for p in TRACE_PARAMS.params[:25])
_trace_layouts: dict[int, tuple[struct.Struct, tuple[str, ...]]] = {}


def _trace_layout(fixed: int) -> tuple[struct.Struct, tuple[str, ...]]:
    fmt = ">"
    names: list[str] = []
    for mask, name, f in _TRACE_FIXED:
        if fixed & mask:
            fmt += f
            names += ("start", "start_usec") if name == "start" else (name,)
    lay = (struct.Struct(fmt), tuple(names))
    _trace_layouts[fixed] = lay
    return lay


def _read_trace_params(cur: Cursor) -> dict[str, Any]:
    """TRACE_PARAMS.read(cur), with the fixed-size head unpacked in one go."""
    flags, final = cur.flags()
    if not flags:
        return {}
    fixed = flags & 0x1FFFFFF
    lay = _trace_layouts.get(fixed)
    st, names = lay if lay is not None else _trace_layout(fixed)
    pos = cur.pos
    if pos + st.size > final:
        raise cur.error("trace parameters overran their declared length", final)
    vals = dict(zip(names, st.unpack_from(cur.buf, pos), strict=True))
    cur.pos = pos + st.size
    if flags & 0x10:
        vals["start"] = Timeval(vals["start"], vals.pop("start_usec"))
    if flags & 0xC:
        for name in ("src_gid", "dst_gid"):
            if name in vals:
                vals[name] = cur.state.get_addr(vals[name], cur)
    if flags > 0x1FFFFFF:
        if flags & 0x2000000:
            vals["src"], cur.pos = _read_addr(cur, cur.pos, final)
        if flags & 0x4000000:
            vals["dst"], cur.pos = _read_addr(cur, cur.pos, final)
        if flags & 0x8000000:
            vals["userid"] = cur.u32()
        if flags & 0x10000000:
            vals["offset"] = cur.u16()
        if flags & 0x20000000:
            vals["rtr"] = cur.addr_static()
        if flags & 0x40000000:
            vals["squeries"] = cur.u8()
        if flags & 0x80000000:
            vals["flags32"] = cur.u32()
        if flags & 0x100000000:
            vals["stop_hop"] = cur.u8()
        if flags & 0x200000000:
            vals["errmsg"] = cur.string()
        if cur.pos > final:
            raise cur.error("trace parameters overran their declared length", final)
    cur.pos = final
    return vals


def decode_trace(cur: Cursor) -> Trace:
    vals = _read_trace_params(cur)
    st = cur.state
    has_list = "list_id" in vals
    has_cycle = "cycle_id" in vals
    lst = st.get_list(vals.pop("list_id", 0), cur)
    cyc = st.get_cycle(vals.pop("cycle_id", 0), cur)
    src_gid = vals.pop("src_gid", None)
    dst_gid = vals.pop("dst_gid", None)
    if vals.get("src") is None and src_gid is not None:
        vals["src"] = src_gid
    if vals.get("dst") is None:
        if dst_gid is None:
            raise cur.error("trace without a destination address")
        vals["dst"] = dst_gid

    probes = _read_probes(cur, cur.u16())
    max_ttl = 0
    for p in probes:
        if p.ttl < max_ttl:
            raise cur.error(f"hop records out of TTL order ({p.ttl} after {max_ttl})")
        max_ttl = p.ttl
    hc = vals.get("hop_count")
    if hc and (hc < max_ttl or hc > 255):
        raise cur.error(f"hop_count {hc} does not fit hop TTLs up to {max_ttl}")

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
    return Trace(**vals, list=lst, cycle=cyc, probes=tuple(probes), **attrs,
                 unknown_attrs=tuple(unknown), has_list_id=has_list, has_cycle_id=has_cycle,
                 attr_order=None if order == canon else tuple(order), trailer=trailer)
