"""Reading and writing the ping record (warts.md §3.5).

The ping's parameters are written through :data:`PING_PARAMS` and each
reply by :func:`_write_reply`; both are read by readers compiled per flags
value from :data:`PING_LAYOUT` and :data:`REPLY_LAYOUT`, because a ping
file is mostly replies and decoding them one parameter at a time is slow.
What a decoded record keeps is explained in :mod:`warts.types.ping`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from ..address import Address
from ..errors import WartsError
from ..fastobj import constructor
from ..listcycle import CycleInfo, ListInfo
from ..registry import OBJ_PING
from ..wire import (
    ADDR,
    ADDR_STATIC,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U16_STRUCT,
    U32,
    Cursor,
    Custom,
    Out,
    ParamTable,
    Timeval,
    flags_bytes,
)
from .ping import Ping, PingReply, PingReplyTSReply, PingReplyV4TS


def _read_list(cur: Cursor, vals: dict[str, Any]) -> ListInfo | None:
    return cur.state.get_list(cur.u32(), cur)  # type: ignore[no-any-return]


def _write_list(out: Out, lst: ListInfo) -> None:
    out.u32(out.state.list_id(lst))


def _read_cycle(cur: Cursor, vals: dict[str, Any]) -> CycleInfo | None:
    return cur.state.get_cycle(cur.u32(), cur)  # type: ignore[no-any-return]


def _write_cycle(out: Out, cyc: CycleInfo) -> None:
    out.u32(out.state.cycle_id(cyc))


def _read_gid(cur: Cursor, vals: dict[str, Any]) -> Address:
    # Resolved at once; decode moves it into src/dst (warts.md §2.6.2).
    return cur.state.get_addr(cur.u32(), cur)  # type: ignore[no-any-return]


def _write_gid(out: Out, gid: int) -> None:
    out.u32(gid)


def _read_data(cur: Cursor, vals: dict[str, Any]) -> bytes:
    # extract_bytes_alloc(): as many bytes as flag 8 says (0 if it is absent),
    # and it refuses to start at the very end of the object.
    if cur.pos >= cur.end:
        raise cur.error("ping data at end of object")
    return cur.bytes_(vals.get("datalen") or 0)


def _write_data(out: Out, data: bytes) -> None:
    out.bytes_(data)


def _read_addrs_nonempty(cur: Cursor, what: str) -> tuple[Address, ...]:
    # scamper_ping_v4ts_alloc() / scamper_ping_reply_v4rr_alloc() fail for a
    # count of 0, so the reader rejects an empty list.
    n = cur.u8()
    if n == 0:
        raise cur.error(f"ping {what} with no addresses", cur.pos - 1)
    addr = cur.addr
    return tuple(addr() for _ in range(n))


def _read_tsps(cur: Cursor, vals: dict[str, Any]) -> tuple[Address, ...]:
    return _read_addrs_nonempty(cur, "tsps")


def _write_addrs(out: Out, addrs: Sequence[Address]) -> None:
    if not 0 < len(addrs) < 256:
        raise WartsError(f"ping address list of {len(addrs)} entries (need 1..255)")
    out.u8(len(addrs))
    for a in addrs:
        out.addr(a)


PING_PARAMS = ParamTable(
    (1, "list", Custom(_read_list, _write_list)),
    (2, "cycle", Custom(_read_cycle, _write_cycle)),
    (3, "src_gid", Custom(_read_gid, _write_gid)),
    (4, "dst_gid", Custom(_read_gid, _write_gid)),
    (5, "start", TIMEVAL),
    (6, "stop_reason", U8),
    (7, "stop_data", U8),
    (8, "datalen", U16),
    (9, "data", Custom(_read_data, _write_data)),
    (10, "attempts", U16),
    (11, "size", U16),
    (12, "wait_probe_sec", U8),
    (13, "ttl", U8),
    (14, "stop_count", U16),
    (15, "ping_sent", U16),
    (16, "method", U8),
    (17, "sport", U16),
    (18, "dport", U16),
    (19, "userid", U32),
    (20, "src", ADDR),
    (21, "dst", ADDR),
    (22, "flags8", U8),
    (23, "tos", U8),
    (24, "tsps", Custom(_read_tsps, _write_addrs)),
    (25, "icmpsum", U16),
    (26, "pmtu", U16),
    (27, "wait_timeout_sec", U8),
    (28, "wait_probe_usec", U32),
    (29, "tcpack", U32),
    (30, "flags32", U32),
    (31, "tcpseq", U32),
    (32, "rtr", ADDR_STATIC),
    (33, "wait_timeout_usec", U32),
    (34, "errmsg", STRING),
)

# How each parameter is read, for the compiled readers below: (flag, kind,
# index of the field in the record's field order).  Fixed-size kinds are
# struct codes ("BB" fills two fields, "II" a Timeval, "III" a tsreply);
# the others name a reader.  Writing uses PING_PARAMS and _write_reply.
PING_LAYOUT = (
    (1, "list", 0), (2, "cycle", 1), (3, "gid", 2), (4, "gid", 3), (5, "II", 4),
    (6, "B", 5), (7, "B", 6), (8, "H", 7), (9, "data", 8), (10, "H", 9), (11, "H", 10),
    (12, "B", 11), (13, "B", 12), (14, "H", 13), (15, "H", 14), (16, "B", 15),
    (17, "H", 16), (18, "H", 17), (19, "I", 18), (20, "addr", 19), (21, "addr", 20),
    (22, "B", 21), (23, "B", 22), (24, "tsps", 23), (25, "H", 24), (26, "H", 25),
    (27, "B", 26), (28, "I", 27), (29, "I", 28), (30, "I", 29), (31, "I", 30),
    (32, "addr_static", 31), (33, "I", 32), (34, "string", 33),
)
PING_NFIELDS = 35  # the 34 parameters and the replies

# Reply flag 1 (a deprecated global address id) and flag 12 both fill addr.
REPLY_LAYOUT = (
    (1, "gid", 11), (2, "B", 0), (3, "B", 1), (4, "H", 2), (5, "BB", 3), (6, "I", 5),
    (7, "H", 6), (8, "H", 7), (9, "H", 8), (10, "B", 9), (11, "B", 10), (12, "addr", 11),
    (13, "v4rr", 12), (14, "v4ts", 13), (15, "I", 14), (16, "II", 15), (17, "III", 16),
    (18, "H", 17), (19, "B", 18), (20, "ifname", 19), (21, "H", 20),
)
REPLY_NFIELDS = 21


def _read_v4ts(cur: Cursor) -> PingReplyV4TS:
    tsc = cur.u8()
    ipc = cur.u8()
    if ipc != 0 and ipc != tsc:
        raise cur.error(f"ping reply timestamps: {ipc} addresses for {tsc} stamps", cur.pos - 1)
    u32 = cur.u32
    tss = tuple(u32() for _ in range(tsc))
    ips = None
    if ipc:
        addr = cur.addr
        ips = tuple(addr() for _ in range(ipc))
    return PingReplyV4TS(tss, ips)


# Made through warts.fastobj (fields in order), not the dataclass __init__.
_new_reply = constructor(PingReply)
_new_ping = constructor(Ping)
# Fixed-size kinds: their struct codes (a state lookup reads a u32 id).
_FIXED_CODES = {"B": "B", "H": "H", "I": "I", "BB": "BB", "II": "II", "III": "III",
                "list": "I", "cycle": "I", "gid": "I"}
# Kinds read through the Cursor: the expression that reads one.
_VAR_READERS = {
    "addr": "cur.addr()",
    "addr_static": "cur.addr_static()",
    "string": "cur.string()",
    "ifname": "cur.ifname()",
    "v4rr": "_read_addrs_nonempty(cur, 'record route')",
    "v4ts": "_read_v4ts(cur)",
    "tsps": "_read_addrs_nonempty(cur, 'tsps')",
}
# Kinds that are a u32 id looked up in the file's state.
_STATE_LOOKUPS = {"list": "st.get_list", "cycle": "st.get_cycle", "gid": "st.get_addr"}


def _compile_reader(layout: tuple[tuple[int, str, int], ...], nfields: int,
                    flags: int) -> Callable[[Cursor], list[Any]]:
    """A reader specialised for one flags value.

    It reads every present parameter in flag order (each run of fixed-size
    ones with a single struct call) and returns the field values in field
    order, absent ones None, leaving ``cur.pos`` after the last one read.
    Flags past the end of the layout are left for the caller to skip.
    """
    lines = ["def read(cur):", " buf = cur.buf", " pos = cur.pos", " st = cur.state"]
    env: dict[str, Any] = {"Timeval": Timeval, "PingReplyTSReply": PingReplyTSReply,
                           "_read_addrs_nonempty": _read_addrs_nonempty,
                           "_read_v4ts": _read_v4ts, "_read_data": _read_data}
    values = ["None"] * nfields
    run: list[tuple[str, int]] = []

    def flush() -> None:
        if not run:
            return
        fmt = ">" + "".join(_FIXED_CODES[kind] for kind, _ in run)
        unpack = f"_S{len(env)}"
        env[unpack] = struct.Struct(fmt).unpack_from
        targets = []
        post = []
        for kind, slot in run:
            v = f"v{slot}"
            values[slot] = v
            if kind == "BB":
                targets += [v, f"v{slot + 1}"]
                values[slot + 1] = f"v{slot + 1}"
            elif kind == "II":
                targets += [v + "a", v + "b"]
                post.append(f" {v} = Timeval({v}a, {v}b)")
            elif kind == "III":
                targets += [v + "a", v + "b", v + "c"]
                post.append(f" {v} = PingReplyTSReply({v}a, {v}b, {v}c)")
            elif kind in _STATE_LOOKUPS:
                targets.append(v + "i")
                post.append(f" {v} = {_STATE_LOOKUPS[kind]}({v}i, cur)")
            else:
                targets.append(v)
        lines.append(f" {', '.join(targets)}, = {unpack}(buf, pos)")
        lines.append(f" pos += {struct.calcsize(fmt)}")
        lines.extend(post)
        run.clear()

    for flag, kind, slot in layout:
        if not flags & (1 << (flag - 1)):
            continue
        if kind in _FIXED_CODES:
            run.append((kind, slot))
            continue
        flush()
        if kind == "data":
            # its length is the flag-8 value just before it, if present
            expr = f"_read_data(cur, {{'datalen': {values[slot - 1]}}})"
        else:
            expr = _VAR_READERS[kind]
        lines += [" cur.pos = pos", f" v{slot} = {expr}", " pos = cur.pos"]
        values[slot] = f"v{slot}"
    flush()
    lines += [" cur.pos = pos", f" return [{', '.join(values)}]"]
    exec(compile("\n".join(lines), f"<ping reader {flags:#x}>", "exec"), env)
    return env["read"]  # type: ignore[no-any-return]


class _Readers(dict[int, Callable[[Cursor], list[Any]]]):
    """Compiled readers by flags value, compiled on first use.  Real files
    use a handful of flag combinations; the cache is bounded all the same."""

    def __init__(self, layout: tuple[tuple[int, str, int], ...], nfields: int) -> None:
        super().__init__()
        self.layout = layout
        self.nfields = nfields

    def __missing__(self, flags: int) -> Callable[[Cursor], list[Any]]:
        if len(self) >= 1024:
            self.clear()
        # Flags beyond the layout are unknown: the reader ignores them.
        known = flags & ((1 << len(self.layout)) - 1)
        fn = self.get(known) if known != flags else None
        if fn is None:
            fn = _compile_reader(self.layout, self.nfields, known)
            self[known] = fn
        self[flags] = fn
        return fn


_PING_READERS = _Readers(PING_LAYOUT, PING_NFIELDS)
_REPLY_READERS = _Readers(REPLY_LAYOUT, REPLY_NFIELDS)
_NO_VALUES = (None,) * REPLY_NFIELDS


def _read_params(cur: Cursor, readers: _Readers, what: str) -> list[Any]:
    flags, final = cur.flags()
    if not flags:
        return [None] * readers.nfields
    try:
        v = readers[flags](cur)
    except (IndexError, struct.error):
        raise cur.error(f"truncated {what} parameters") from None
    # As in scamper, a parameter may run past the declared params length;
    # the record is rejected after.
    if cur.pos > final:
        raise cur.error(f"{what} parameters overran their length", final)
    cur.pos = final
    return v


def _read_reply(cur: Cursor, ping_sent: int) -> PingReply:
    v = _read_params(cur, _REPLY_READERS, "ping reply")
    if v[11] is None:
        raise cur.error("ping reply without an address")
    probe_id = v[6] or 0
    if probe_id >= ping_sent:
        raise cur.error(f"ping reply for probe {probe_id} of {ping_sent} sent")
    return _new_reply(*v)


def decode_ping(cur: Cursor) -> Ping:
    v = _read_params(cur, _PING_READERS, "ping")
    # Deprecated global address ids: flags 20/21, read later, win (as in
    # scamper, whose reader fills the same field twice).
    if v[2] is not None:
        if v[19] is None:
            v[19] = v[2]
        v[2] = None
    if v[3] is not None:
        if v[20] is None:
            v[20] = v[3]
        v[3] = None
    if v[20] is None:
        raise cur.error("ping without a destination address")
    count = cur.u16()
    if count:
        if count > cur.remaining():
            raise cur.error(f"ping reply count {count} exceeds the bytes left", cur.pos - 2)
        ping_sent = v[14] or 0
        v[34] = tuple([_read_reply(cur, ping_sent) for _ in range(count)])
    else:
        v[34] = ()
    return _new_ping(*v)


def _write_reply(out: Out, r: PingReply, ping_sent: int) -> None:
    addr = r.addr
    if addr is None:
        raise WartsError("ping reply without an address", None, OBJ_PING)
    if (r.probe_id or 0) >= ping_sent:
        raise WartsError(f"ping reply for probe {r.probe_id or 0} of {ping_sent} sent",
                         None, OBJ_PING)
    flags = 0x800
    if r.flags is not None:
        flags |= 0x2
    if r.ttl is not None:
        flags |= 0x4
    if r.size is not None:
        flags |= 0x8
    if r.icmp_type is not None or r.icmp_code is not None:
        flags |= 0x10
    if r.rtt is not None:
        flags |= 0x20
    if r.probe_id is not None:
        flags |= 0x40
    if r.reply_ipid is not None:
        flags |= 0x80
    if r.probe_ipid is not None:
        flags |= 0x100
    if r.proto is not None:
        flags |= 0x200
    if r.tcp_flags is not None:
        flags |= 0x400
    if r.v4rr is not None:
        flags |= 0x1000
    if r.v4ts is not None:
        flags |= 0x2000
    if r.ipid32 is not None:
        flags |= 0x4000
    if r.probe_tx is not None:
        flags |= 0x8000
    if r.tsreply is not None:
        flags |= 0x10000
    if r.probe_sport is not None:
        flags |= 0x20000
    if r.tos is not None:
        flags |= 0x40000
    if r.ifname is not None:
        flags |= 0x80000
    if r.icmp_nhmtu is not None:
        flags |= 0x100000
    buf = out.buf
    buf += flags_bytes(flags)
    at = len(buf)
    buf += b"\x00\x00"
    if r.flags is not None:
        buf.append(r.flags)
    if r.ttl is not None:
        buf.append(r.ttl)
    if flags & 0x8:
        out.u16(r.size)  # type: ignore[arg-type]
    if flags & 0x10:
        buf.append(r.icmp_type or 0)
        buf.append(r.icmp_code or 0)
    if flags & 0x20:
        out.u32(r.rtt)  # type: ignore[arg-type]
    if flags & 0x40:
        out.u16(r.probe_id)  # type: ignore[arg-type]
    if flags & 0x80:
        out.u16(r.reply_ipid)  # type: ignore[arg-type]
    if flags & 0x100:
        out.u16(r.probe_ipid)  # type: ignore[arg-type]
    if r.proto is not None:
        buf.append(r.proto)
    if r.tcp_flags is not None:
        buf.append(r.tcp_flags)
    out.addr(addr)
    if r.v4rr is not None:
        _write_addrs(out, r.v4rr)
    if r.v4ts is not None:
        ts = r.v4ts
        tsc = len(ts.tss)
        if tsc > 255 or (ts.ips is not None and len(ts.ips) != tsc):
            raise WartsError("ping reply timestamps: need up to 255 stamps and as many "
                             "addresses or none", None, OBJ_PING)
        buf.append(tsc)
        buf.append(tsc if ts.ips else 0)
        for t in ts.tss:
            out.u32(t)
        if ts.ips:
            for a in ts.ips:
                out.addr(a)
    if flags & 0x4000:
        out.u32(r.ipid32)  # type: ignore[arg-type]
    if r.probe_tx is not None:
        out.timeval(r.probe_tx)
    if r.tsreply is not None:
        t3 = r.tsreply
        out.u32(t3.tso)
        out.u32(t3.tsr)
        out.u32(t3.tst)
    if flags & 0x20000:
        out.u16(r.probe_sport)  # type: ignore[arg-type]
    if r.tos is not None:
        buf.append(r.tos)
    if r.ifname is not None:
        out.ifname(r.ifname)
    if flags & 0x100000:
        out.u16(r.icmp_nhmtu)  # type: ignore[arg-type]
    plen = len(buf) - at - 2
    if plen > 0xFFFF:
        raise WartsError(f"ping reply parameters of {plen} bytes exceed the u16 length",
                         None, OBJ_PING)
    U16_STRUCT.pack_into(buf, at, plen)


def encode_ping(rec: Ping, out: Out) -> None:
    if rec.dst is None:
        raise WartsError("ping without a destination address", None, OBJ_PING)
    if rec.data is not None and len(rec.data) != (rec.datalen or 0):
        raise WartsError(f"ping data of {len(rec.data)} bytes but datalen {rec.datalen}",
                         None, OBJ_PING)
    PING_PARAMS.write(out, rec)
    n = len(rec.replies)
    if n > 0xFFFF:
        raise WartsError(f"{n} ping replies exceed the u16 count", None, OBJ_PING)
    out.u16(n)
    ping_sent = rec.ping_sent or 0
    for r in rec.replies:
        _write_reply(out, r, ping_sent)
