"""The wire codec for dealias records (see :mod:`warts.types.dealias`).

Layouts follow scamper/dealias/scamper_dealias_warts.c (20260420), one
:class:`~warts.wire.ParamTable` per block; they are read by readers compiled
from those tables (:func:`~warts.wire.fast_reader`).  Probedefs, probes and
replies, the bulk of a record, are still written by hand (they check and
fill required fields as scamper's writer does).

Flags above the last one known are skipped, as scamper's reader does.
"""

from __future__ import annotations

from typing import Any

from ..compiled import dict_reader, fast_reader, field_names
from ..errors import WartsError
from ..fastobj import constructor
from ..objtypes import OBJ_DEALIAS
from ..wire import (
    ADDR,
    GID,
    ICMPEXT,
    RTT,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U32,
    CountedList,
    Cursor,
    Custom,
    Out,
    ParamTable,
    Tuple,
    flags_bytes,
)
from .dealias import (
    PD_ICMP,
    PD_TCP,
    PD_UDP,
    Dealias,
    DealiasAlly,
    DealiasBump,
    DealiasMercator,
    DealiasMethod,
    DealiasMidardisc,
    DealiasMidardiscRound,
    DealiasMidarest,
    DealiasPrefixscan,
    DealiasProbe,
    DealiasProbedef,
    DealiasRadargun,
    DealiasReply,
    MethodData,
)

# --------------------------------------------------------------------------
# Parameter tables (the ones not hand-coded below)

HEADER = ParamTable(
    (1, "list_id", U32),
    (2, "cycle_id", U32),
    (3, "start", TIMEVAL),
    (4, "method", U8),
    (5, "result", U8),
    (6, "probec", U32),
    (7, "userid", U32),
    (8, "errmsg", STRING),
)


def _read_round(cur: Cursor, vals: dict[str, Any]) -> DealiasMidardiscRound:
    return DealiasMidardiscRound(cur.timeval(), cur.u32(), cur.u32())


def _write_round(out: Out, r: DealiasMidardiscRound) -> None:
    out.timeval(r.start)
    out.u32(r.begin)
    out.u32(r.end)


METHOD_TABLES: dict[int, tuple[type[MethodData], ParamTable]] = {
    DealiasMethod.MERCATOR: (DealiasMercator, ParamTable(
        (1, "attempts", U8),
        (2, "wait_timeout", U8),
    )),
    DealiasMethod.ALLY: (DealiasAlly, ParamTable(
        (1, "wait_probe", U16),
        (2, "wait_timeout", U8),
        (3, "attempts", U8),
        (4, "fudge", U16),
        (5, "flags", U8),
    )),
    DealiasMethod.RADARGUN: (DealiasRadargun, ParamTable(
        (1, "probedefc", U32),
        (2, "rounds", U16),
        (3, "wait_probe", U16),
        (4, "wait_round", U32),
        (5, "wait_timeout", U8),
        (6, "flags", U8),
    )),
    DealiasMethod.PREFIXSCAN: (DealiasPrefixscan, ParamTable(
        (1, "a", ADDR),
        (2, "b", ADDR),
        (3, "ab", ADDR),
        (4, "xs", CountedList(U16, ADDR)),
        (5, "prefix", U8),
        (6, "attempts", U8),
        (7, "fudge", U16),
        (8, "wait_probe", U16),
        (9, "wait_timeout", U8),
        (10, "probedefc", U16),
        (11, "flags", U8),
        (12, "replyc", U8),
    )),
    DealiasMethod.BUMP: (DealiasBump, ParamTable(
        (1, "wait_probe", U16),
        (2, "bump_limit", U16),
        (3, "attempts", U8),
    )),
    DealiasMethod.MIDAREST: (DealiasMidarest, ParamTable(
        (1, "probedefc", U16),
        (2, "rounds", U8),
        (3, "wait_probe", RTT),
        (4, "wait_round", RTT),
        (5, "wait_timeout", RTT),
    )),
    DealiasMethod.MIDARDISC: (DealiasMidardisc, ParamTable(
        (1, "probedefc", U32),
        (2, "wait_timeout", RTT),
        (3, "sched", CountedList(U32, Custom(_read_round, _write_round))),
        (4, "startat", TIMEVAL),
    )),
}

# How many probedefs follow each method block: a fixed number, or the
# probedefc parameter (radargun/midar* insist it is not 0; prefixscan not).
_FIXED_DEFC: dict[int, int] = {
    DealiasMethod.MERCATOR: 1, DealiasMethod.ALLY: 2, DealiasMethod.BUMP: 2,
}
_DEFC_REQUIRED = frozenset((DealiasMethod.RADARGUN, DealiasMethod.MIDAREST,
                            DealiasMethod.MIDARDISC))


# --------------------------------------------------------------------------
# Probedefs, probes and replies: the bulk of a record, read by compiled
# readers (warts.wire.fast_reader) straight into their constructors' order.
# Deprecated global address ids fill the same field as the address that
# replaced them (the later flag wins, as in scamper's reader).

PROBEDEF = ParamTable(
    (1, "dst", GID),
    (2, "src", GID),
    (3, "id", U32),
    (4, "method", U8),
    (5, "ttl", U8),
    (6, "tos", U8),
    (7, "ports", Tuple("HH")),
    (8, "tcp_flags", U8),
    (9, "icmp_id", U16),
    (10, "dst", ADDR),
    (11, "src", ADDR),
    (12, "size", U16),
    (13, "mtu", U16),
    (14, "icmp_csum", U16),
)

PROBE = ParamTable(
    (1, "def_id", U32),
    (2, "tx", TIMEVAL),
    (3, "replyc", U16),
    (4, "ipid", U16),
    (5, "seq", U32),
)

REPLY = ParamTable(
    (1, "src", GID),
    (2, "rx", TIMEVAL),
    (3, "ipid", U16),
    (4, "ttl", U8),
    (5, "icmp_type,icmp_code", Tuple("BB")),
    (6, "icmp_q_ttl", U8),
    (7, "icmp_exts", ICMPEXT),
    (8, "proto", U8),
    (9, "tcp_flags", U8),
    (10, "src", ADDR),
    (11, "ipid32", U32),
    (12, "flags", U8),
    (13, "size", U16),
)


_read_header = dict_reader(HEADER)
_read_method = {m: dict_reader(t) for m, (_, t) in METHOD_TABLES.items()}
_read_probedef_values = fast_reader(PROBEDEF, field_names(DealiasProbedef))
# a probe's last field, its replies, takes the reply count's slot
_read_probe_values = fast_reader(PROBE, (*field_names(DealiasProbe)[:-1], "replyc"))
_read_reply_values = fast_reader(REPLY, field_names(DealiasReply))


def _read_probedef(cur: Cursor) -> DealiasProbedef:
    v = _read_probedef_values(cur)
    if v[0] is None:
        raise cur.error("dealias probedef without a destination")
    method = v[1]
    if method is None or not (method in PD_ICMP or method in PD_UDP or method in PD_TCP):
        raise cur.error(f"dealias probedef with unknown method {method or 0}")
    return _new_probedef(*v)


def _read_reply(cur: Cursor) -> DealiasReply:
    v = _read_reply_values(cur)
    if v[0] is None:
        raise cur.error("dealias reply without a source address")
    return _new_reply(*v)


def _read_probe(cur: Cursor, defc: int) -> DealiasProbe:
    v = _read_probe_values(cur)
    def_id = v[0]
    if def_id is not None and def_id >= defc:
        raise cur.error(f"dealias probe refers to probedef {def_id} of {defc}")
    replyc = v[4]
    if replyc == 1:  # the usual case: no list comprehension frame and list
        v[4] = (_read_reply(cur),)
    else:
        v[4] = tuple([_read_reply(cur) for _ in range(replyc)]) if replyc else ()
    return _new_probe(*v)


def _begin(out: Out, flags: int) -> int:
    """Write the flag bytes and a length placeholder; return its offset."""
    buf = out.buf
    buf += flags_bytes(flags)
    at = len(buf)
    buf += b"\x00\x00"
    return at


def _finish(out: Out, at: int) -> None:
    plen = len(out.buf) - at - 2
    if plen > 0xFFFF:
        raise WartsError(f"parameters of {plen} bytes exceed the u16 length")
    out.buf[at] = plen >> 8
    out.buf[at + 1] = plen & 0xFF


def _write_probedef(out: Out, p: DealiasProbedef) -> None:
    flags = 0x208  # method and dst are required
    if p.id is not None:
        flags |= 0x4
    if p.ttl is not None:
        flags |= 0x10
    if p.tos is not None:
        flags |= 0x20
    if p.ports is not None:
        flags |= 0x40
    if p.tcp_flags is not None:
        flags |= 0x80
    if p.icmp_id is not None:
        flags |= 0x100
    if p.src is not None:
        flags |= 0x400
    if p.size is not None:
        flags |= 0x800
    if p.mtu is not None:
        flags |= 0x1000
    if p.icmp_csum is not None:
        flags |= 0x2000
    at = _begin(out, flags)
    if p.id is not None:
        out.u32(p.id)
    out.u8(p.method)
    if p.ttl is not None:
        out.u8(p.ttl)
    if p.tos is not None:
        out.u8(p.tos)
    if p.ports is not None:
        out.u16(p.ports[0])
        out.u16(p.ports[1])
    if p.tcp_flags is not None:
        out.u8(p.tcp_flags)
    if p.icmp_id is not None:
        out.u16(p.icmp_id)
    out.addr(p.dst)
    if p.src is not None:
        out.addr(p.src)
    if p.size is not None:
        out.u16(p.size)
    if p.mtu is not None:
        out.u16(p.mtu)
    if p.icmp_csum is not None:
        out.u16(p.icmp_csum)
    _finish(out, at)


# Probes and replies are most of a dealias record: they are made through
# warts.fastobj (fields in declaration order), not the dataclass __init__.
_new_reply = constructor(DealiasReply)
_new_probe = constructor(DealiasProbe)
_new_probedef = constructor(DealiasProbedef)
_new_dealias = constructor(Dealias)


def _write_reply(out: Out, r: DealiasReply) -> None:
    flags = 0x200  # src is required
    if r.rx is not None:
        flags |= 0x2
    if r.ipid is not None:
        flags |= 0x4
    if r.ttl is not None:
        flags |= 0x8
    if r.icmp_type is not None:
        flags |= 0x10
    if r.icmp_q_ttl is not None:
        flags |= 0x20
    if r.icmp_exts is not None:
        flags |= 0x40
    if r.proto is not None:
        flags |= 0x80
    if r.tcp_flags is not None:
        flags |= 0x100
    if r.ipid32 is not None:
        flags |= 0x400
    if r.flags is not None:
        flags |= 0x800
    if r.size is not None:
        flags |= 0x1000
    at = _begin(out, flags)
    if r.rx is not None:
        out.timeval(r.rx)
    if r.ipid is not None:
        out.u16(r.ipid)
    if r.ttl is not None:
        out.u8(r.ttl)
    if r.icmp_type is not None:
        out.u8(r.icmp_type)
        out.u8(r.icmp_code or 0)
    if r.icmp_q_ttl is not None:
        out.u8(r.icmp_q_ttl)
    if r.icmp_exts is not None:
        ICMPEXT.write(out, r.icmp_exts)
    if r.proto is not None:
        out.u8(r.proto)
    if r.tcp_flags is not None:
        out.u8(r.tcp_flags)
    out.addr(r.src)
    if r.ipid32 is not None:
        out.u32(r.ipid32)
    if r.flags is not None:
        out.u8(r.flags)
    if r.size is not None:
        out.u16(r.size)
    _finish(out, at)


def _write_probe(out: Out, p: DealiasProbe) -> None:
    replyc = len(p.replies)
    if replyc > 0xFFFF:
        raise WartsError(f"dealias probe with {replyc} replies exceeds the u16 count")
    flags = 0
    if p.def_id is not None:
        flags |= 0x1
    if p.tx is not None:
        flags |= 0x2
    if replyc:
        flags |= 0x4
    if p.ipid is not None:
        flags |= 0x8
    if p.seq is not None:
        flags |= 0x10
    if flags:
        at = _begin(out, flags)
        if p.def_id is not None:
            out.u32(p.def_id)
        if p.tx is not None:
            out.timeval(p.tx)
        if replyc:
            out.u16(replyc)
        if p.ipid is not None:
            out.u16(p.ipid)
        if p.seq is not None:
            out.u32(p.seq)
        _finish(out, at)
    else:
        out.u8(0)
    for r in p.replies:
        _write_reply(out, r)


# --------------------------------------------------------------------------
# The record


def decode_dealias(cur: Cursor) -> Dealias:
    st = cur.state
    vals = _read_header(cur)
    lst = st.get_list(vals.pop("list_id", 0), cur)
    cyc = st.get_cycle(vals.pop("cycle_id", 0), cur)
    method: int = vals.get("method", 0)
    entry = METHOD_TABLES.get(method)
    if entry is None:
        # scamper returns such a record with just its header fields.
        trailer = cur.bytes_(cur.remaining())
        return _new_dealias(list=lst, cycle=cyc, trailer=trailer, **vals)
    cls = entry[0]
    dvals = _read_method[method](cur)
    defc = _FIXED_DEFC.get(method)
    if defc is None:
        defc = dvals.get("probedefc") or 0
        if defc == 0 and method in _DEFC_REQUIRED:
            raise cur.error("dealias method block without probedefs")
    probedefs = tuple([_read_probedef(cur) for _ in range(defc)])
    data = cls(probedefs, **dvals)
    probec = vals.get("probec") or 0
    probes = tuple([_read_probe(cur, defc) for _ in range(probec)]) if probec else ()
    trailer = cur.bytes_(cur.remaining()) if cur.pos < cur.end else b""
    return _new_dealias(list=lst, cycle=cyc, data=data, probes=probes, trailer=trailer, **vals)


def _check_data(rec: Dealias) -> MethodData | None:
    data = rec.data
    method = rec.method or 0
    entry = METHOD_TABLES.get(method)
    if entry is None:
        if data is not None or rec.probes:
            raise WartsError(f"dealias method {rec.method} cannot carry method data or probes",
                             None, OBJ_DEALIAS)
        return None
    if data is None or not isinstance(data, entry[0]):
        raise WartsError(f"dealias method {rec.method} needs {entry[0].__name__} data",
                         None, OBJ_DEALIAS)
    defc = len(data.probedefs)
    fixed = _FIXED_DEFC.get(method)
    if fixed is not None:
        if defc != fixed:
            raise WartsError(f"dealias method {rec.method} needs {fixed} probedefs",
                             None, OBJ_DEALIAS)
    elif (getattr(data, "probedefc", None) or 0) != defc or (
            defc == 0 and method in _DEFC_REQUIRED):
        raise WartsError("dealias probedefc does not match the probedefs", None, OBJ_DEALIAS)
    if (rec.probec or 0) != len(rec.probes):
        raise WartsError("dealias probec does not match the probes", None, OBJ_DEALIAS)
    for p in rec.probes:
        if p.def_index >= defc:
            raise WartsError(f"dealias probe refers to probedef {p.def_index} of {defc}",
                             None, OBJ_DEALIAS)
    return data


def encode_dealias(rec: Dealias, out: Out) -> None:
    data = _check_data(rec)
    st = out.state
    # scamper's dealias writer always emits the list and cycle ids.
    HEADER.write_dict(out, {
        "list_id": st.list_id(rec.list), "cycle_id": st.cycle_id(rec.cycle),
        "start": rec.start, "method": rec.method, "result": rec.result,
        "probec": rec.probec, "userid": rec.userid, "errmsg": rec.errmsg,
    })
    if data is not None:
        METHOD_TABLES[data.METHOD][1].write(out, data)
        for pd in data.probedefs:
            _write_probedef(out, pd)
        for p in rec.probes:
            _write_probe(out, p)
    out.bytes_(rec.trailer)
