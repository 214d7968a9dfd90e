"""The wire codec for dealias records (see :mod:`warts.types.dealias`).

Layouts follow scamper/dealias/scamper_dealias_warts.c (20260420).  The header
and the method blocks go through :class:`~warts.wire.ParamTable`; probedefs,
probes and replies, the bulk of a record, are coded by hand for speed, using
the flag tables in the docstrings of :class:`DealiasProbedef`,
:class:`DealiasProbe` and :class:`DealiasReply`.

Flags above the last one known are skipped, as scamper's reader does.
"""

from __future__ import annotations

import struct
from typing import Any

from ..address import ADDR_SIZES, Address, intern
from ..errors import WartsError
from ..fastobj import constructor
from ..registry import OBJ_DEALIAS
from ..wire import (
    ADDR,
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
    Timeval,
    flags_bytes,
)

# dealias.py imports this module at its end, after defining these classes (the
# package init always imports dealias.py first).
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
# Hand-coded blocks: probedefs, probes and replies are the bulk of a record.


_U32 = struct.Struct(">I").unpack_from
_TV = struct.Struct(">II").unpack_from
_tuple_new = tuple.__new__


def _flags(cur: Cursor) -> tuple[int, int, int]:
    """Read a flags+params header at ``cur.pos``: (flags, params start, end).

    The readers below then take their parameters straight from the buffer and
    check once, at the end, that they stayed within the declared length (a
    read past the object's end raises and becomes a WartsError in
    decode_object)."""
    buf = cur.buf
    pos = cur.pos
    end = cur.end
    if pos >= end:
        raise cur.error("truncated: missing flags")
    b = buf[pos]
    if b == 0:
        return 0, pos + 1, pos + 1
    flags = 0
    shift = 0
    while True:
        if pos >= end:
            raise cur.error("truncated: flags run past end", pos)
        b = buf[pos]
        pos += 1
        flags |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    if pos + 2 > end:
        raise cur.error("truncated: missing params length", pos)
    final = pos + 2 + (buf[pos] << 8 | buf[pos + 1])
    if final > end:
        raise cur.error("params length runs past end of object", pos)
    return flags, pos + 2, final


def _addr(cur: Cursor, pos: int) -> tuple[Address, int]:
    """A table address (definition or reference) at ``pos``; returns the
    address and the position after it."""
    buf = cur.buf
    n = buf[pos]
    if n == 0:
        ident = _U32(buf, pos + 1)[0]
        addrs = cur.addrs
        if ident >= len(addrs):
            raise cur.error(f"address reference {ident} beyond table of {len(addrs)}", pos)
        return addrs[ident], pos + 5
    after = pos + 2 + n
    atype = buf[pos + 1]
    if after <= cur.end and ADDR_SIZES.get(atype) == n:
        a = intern(atype, bytes(buf[pos + 2:after]))
        cur.addrs.append(a)
        return a, after
    cur.pos = pos
    a = cur.addr()  # the same, with its checks and errors
    return a, cur.pos


def _overran(cur: Cursor, final: int) -> WartsError:
    return cur.error("parameters overran their declared length", final)


# A faster reader for the ParamTables above: the layout is still stated once,
# in the table; simple codecs are read inline from the buffer.
_K_U8, _K_U16, _K_U32, _K_TV, _K_ADDR, _K_OTHER = range(6)
_KINDS: dict[int, int] = {id(U8): _K_U8, id(U16): _K_U16, id(U32): _K_U32, id(RTT): _K_U32,
                          id(TIMEVAL): _K_TV, id(ADDR): _K_ADDR}
_Spec = tuple[tuple[int, str, int, Any], ...]


def _spec(table: ParamTable) -> _Spec:
    return tuple((1 << (p.flag - 1), p.name, _KINDS.get(id(p.codec), _K_OTHER), p.codec)
                 for p in table.params)


def _read_params(cur: Cursor, spec: _Spec) -> dict[str, Any]:
    """``table.read(cur)`` for the table ``spec`` was made from."""
    buf = cur.buf
    flags, pos, final = _flags(cur)
    vals: dict[str, Any] = {}
    if flags:
        for mask, name, kind, codec in spec:
            if not flags & mask:
                if mask > flags:
                    break
                continue
            if kind == _K_U8:
                vals[name] = buf[pos]
                pos += 1
            elif kind == _K_U16:
                vals[name] = buf[pos] << 8 | buf[pos + 1]
                pos += 2
            elif kind == _K_U32:
                vals[name] = _U32(buf, pos)[0]
                pos += 4
            elif kind == _K_TV:
                vals[name] = _tuple_new(Timeval, _TV(buf, pos))
                pos += 8
            elif kind == _K_ADDR:
                vals[name], pos = _addr(cur, pos)
            else:
                cur.pos = pos
                vals[name] = codec.read(cur, vals)
                pos = cur.pos
        if pos > final:
            raise _overran(cur, final)
    cur.pos = final
    return vals


def _read_probedef(cur: Cursor) -> DealiasProbedef:
    buf = cur.buf
    flags, pos, final = _flags(cur)
    dst = src = None
    pid = method = ttl = tos = ports = tcpf = icmp_id = size = mtu = csum = None
    if flags:
        if flags & 0x3:
            if flags & 0x1:
                dst = cur.state.get_addr(_U32(buf, pos)[0], cur)
                pos += 4
            if flags & 0x2:
                src = cur.state.get_addr(_U32(buf, pos)[0], cur)
                pos += 4
        if flags & 0x4:
            pid = _U32(buf, pos)[0]
            pos += 4
        if flags & 0x8:
            method = buf[pos]
            pos += 1
        if flags & 0x10:
            ttl = buf[pos]
            pos += 1
        if flags & 0x20:
            tos = buf[pos]
            pos += 1
        if flags & 0x40:
            ports = (buf[pos] << 8 | buf[pos + 1], buf[pos + 2] << 8 | buf[pos + 3])
            pos += 4
        if flags & 0x80:
            tcpf = buf[pos]
            pos += 1
        if flags & 0x100:
            icmp_id = buf[pos] << 8 | buf[pos + 1]
            pos += 2
        if flags & 0x200:
            dst, pos = _addr(cur, pos)
        if flags & 0x400:
            src, pos = _addr(cur, pos)
        if flags & 0x800:
            size = buf[pos] << 8 | buf[pos + 1]
            pos += 2
        if flags & 0x1000:
            mtu = buf[pos] << 8 | buf[pos + 1]
            pos += 2
        if flags & 0x2000:
            csum = buf[pos] << 8 | buf[pos + 1]
            pos += 2
        if pos > final:
            raise _overran(cur, final)
    cur.pos = final
    if dst is None:
        raise cur.error("dealias probedef without a destination")
    if method is None or not (method in PD_ICMP or method in PD_UDP or method in PD_TCP):
        raise cur.error(f"dealias probedef with unknown method {method or 0}")
    return _new_probedef(dst, method, pid, ttl, tos, ports, tcpf, icmp_id, src, size, mtu,
                         csum)


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


_NO_VALS: dict[str, Any] = {}
# Probes and replies are most of a dealias record: they are made through
# warts.fastobj (fields in declaration order), not the dataclass __init__.
_new_reply = constructor(DealiasReply)
_new_probe = constructor(DealiasProbe)
_new_probedef = constructor(DealiasProbedef)
_new_dealias = constructor(Dealias)


def _read_reply(cur: Cursor) -> DealiasReply:
    buf = cur.buf
    pos = cur.pos
    # _flags() inlined: this is the hottest block of a dealias record
    if buf[pos] == 0:
        flags = 0
        pos = final = pos + 1
    else:
        flags = shift = 0
        while True:
            b = buf[pos]
            pos += 1
            flags |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        final = pos + 2 + (buf[pos] << 8 | buf[pos + 1])
        pos += 2
        if final > cur.end:
            raise cur.error("params length runs past end of object", pos - 2)
    src = rx = ipid = ttl = it = ic = qttl = exts = proto = tcpf = ipid32 = rflags = None
    size = None
    if flags:
        if flags & 0x1:
            src = cur.state.get_addr(_U32(buf, pos)[0], cur)
            pos += 4
        if flags & 0x2:
            rx = _tuple_new(Timeval, _TV(buf, pos))
            pos += 8
        if flags & 0x4:
            ipid = buf[pos] << 8 | buf[pos + 1]
            pos += 2
        if flags & 0x8:
            ttl = buf[pos]
            pos += 1
        if flags & 0x10:
            it = buf[pos]
            ic = buf[pos + 1]
            pos += 2
        if flags & 0x20:
            qttl = buf[pos]
            pos += 1
        if flags & 0x40:
            cur.pos = pos
            exts = ICMPEXT.read(cur, _NO_VALS)
            pos = cur.pos
        if flags & 0x80:
            proto = buf[pos]
            pos += 1
        if flags & 0x100:
            tcpf = buf[pos]
            pos += 1
        if flags & 0x200:
            src, pos = _addr(cur, pos)
        if flags & 0x400:
            ipid32 = _U32(buf, pos)[0]
            pos += 4
        if flags & 0x800:
            rflags = buf[pos]
            pos += 1
        if flags & 0x1000:
            size = buf[pos] << 8 | buf[pos + 1]
            pos += 2
        if pos > final:
            raise _overran(cur, final)
    cur.pos = final
    if src is None:
        raise cur.error("dealias reply without a source address")
    return _new_reply(src, rx, ipid, ttl, it, ic, qttl, exts, proto, tcpf, ipid32, rflags,
                      size)


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


def _read_probe(cur: Cursor, defc: int) -> DealiasProbe:
    buf = cur.buf
    pos = cur.pos
    # _flags() inlined: this is the hottest block of a dealias record
    if buf[pos] == 0:
        flags = 0
        pos = final = pos + 1
    else:
        flags = shift = 0
        while True:
            b = buf[pos]
            pos += 1
            flags |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        final = pos + 2 + (buf[pos] << 8 | buf[pos + 1])
        pos += 2
        if final > cur.end:
            raise cur.error("params length runs past end of object", pos - 2)
    def_id = tx = ipid = seq = None
    replyc = 0
    if flags:
        if flags & 0x1:
            def_id = _U32(buf, pos)[0]
            pos += 4
        if flags & 0x2:
            tx = _tuple_new(Timeval, _TV(buf, pos))
            pos += 8
        if flags & 0x4:
            replyc = buf[pos] << 8 | buf[pos + 1]
            pos += 2
        if flags & 0x8:
            ipid = buf[pos] << 8 | buf[pos + 1]
            pos += 2
        if flags & 0x10:
            seq = _U32(buf, pos)[0]
            pos += 4
        if pos > final:
            raise _overran(cur, final)
    cur.pos = final
    if def_id is not None and def_id >= defc:
        raise cur.error(f"dealias probe refers to probedef {def_id} of {defc}")
    if replyc == 1:  # the usual case: no list comprehension frame and list
        replies: tuple[DealiasReply, ...] = (_read_reply(cur),)
    else:
        replies = tuple([_read_reply(cur) for _ in range(replyc)]) if replyc else ()
    return _new_probe(def_id, tx, ipid, seq, replies)


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


_HEADER_SPEC = _spec(HEADER)
_METHOD_SPECS = {m: _spec(t) for m, (_, t) in METHOD_TABLES.items()}


def decode_dealias(cur: Cursor) -> Dealias:
    st = cur.state
    vals = _read_params(cur, _HEADER_SPEC)
    lst = st.get_list(vals.pop("list_id", 0), cur)
    cyc = st.get_cycle(vals.pop("cycle_id", 0), cur)
    method: int = vals.get("method", 0)
    entry = METHOD_TABLES.get(method)
    if entry is None:
        # scamper returns such a record with just its header fields.
        trailer = cur.bytes_(cur.remaining())
        return _new_dealias(list=lst, cycle=cyc, trailer=trailer, **vals)
    cls, spec = entry[0], _METHOD_SPECS[method]
    dvals = _read_params(cur, spec)
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
