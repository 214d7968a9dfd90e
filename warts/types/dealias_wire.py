"""The wire codec for dealias records (see :mod:`warts.types.dealias`).

Layouts follow scamper/dealias/scamper_dealias_warts.c (20260420), one
:class:`~warts.wire.ParamTable` per block; they are read by readers compiled
from those tables (:func:`~warts.compiled.fast_reader`) and written by writers
compiled from the same tables (:func:`~warts.compiled_write.fast_writer`).

Flags above the last one known are skipped, as scamper's reader does.
"""

from __future__ import annotations

from typing import Any

from ..compiled import dict_reader, fast_reader, field_names
from ..compiled_write import fast_writer
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


# Probes and replies are most of a dealias record: they are made through
# warts.fastobj (fields in declaration order), not the dataclass __init__.
_new_reply = constructor(DealiasReply)
_new_probe = constructor(DealiasProbe)
_new_probedef = constructor(DealiasProbedef)
_new_dealias = constructor(Dealias)


# Each block is written by a writer compiled from the table it is read with
# (the deprecated global ids never are); scamper's writer insists on what
# its reader does.
_write_header = fast_writer(HEADER, Dealias, extra=("list_id", "cycle_id"))
_write_method = {m: fast_writer(t, cls) for m, (cls, t) in METHOD_TABLES.items()}
_write_probedef = fast_writer(PROBEDEF, DealiasProbedef, required={
    "dst": "dealias probedef without a destination",
    "method": "dealias probedef without a method"})
_write_probe = fast_writer(PROBE, DealiasProbe, extra=("replyc",))
_write_reply = fast_writer(REPLY, DealiasReply,
                           required={"src": "dealias reply without a source address"})


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
    _write_header(out, rec, st.list_id(rec.list), st.cycle_id(rec.cycle))
    if data is not None:
        _write_method[data.METHOD](out, data)
        for pd in data.probedefs:
            _write_probedef(out, pd)
        for p in rec.probes:
            replyc = len(p.replies)
            if replyc > 0xFFFF:
                raise WartsError(f"dealias probe with {replyc} replies exceeds the u16 count")
            _write_probe(out, p, replyc or None)
            for r in p.replies:
                _write_reply(out, r)
    out.bytes_(rec.trailer)
