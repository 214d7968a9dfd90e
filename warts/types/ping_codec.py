"""Reading and writing the ping record (warts.md §3.5).

The ping's parameters are :data:`PING_PARAMS`, a reply's
:data:`REPLY_PARAMS`; both are read by readers compiled from those tables
(:func:`~warts.wire.fast_reader`), because a ping file is mostly replies and
decoding them one parameter at a time is slow; they are written by writers
compiled from the same tables (:func:`~warts.compiled_write.fast_writer`).
What a decoded record keeps is explained in :mod:`warts.types.ping`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..address import Address
from ..compiled import fast_reader, field_names
from ..compiled_write import fast_writer
from ..errors import WartsError
from ..fastobj import constructor
from ..objtypes import OBJ_PING
from ..wire import (
    ADDR,
    ADDR_STATIC,
    CYCLE,
    GID,
    IFNAME,
    LIST,
    RTT,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U32,
    Cursor,
    Custom,
    Out,
    ParamTable,
    Tuple,
)
from .ping import Ping, PingReply, PingReplyTSReply, PingReplyV4TS


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
    (1, "list", LIST),
    (2, "cycle", CYCLE),
    (3, "src_gid", GID),  # resolved at once; decode moves it into src/dst (§2.6.2)
    (4, "dst_gid", GID),
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


def _read_v4rr(cur: Cursor, vals: dict[str, Any]) -> tuple[Address, ...]:
    return _read_addrs_nonempty(cur, "record route")


def _read_v4ts_param(cur: Cursor, vals: dict[str, Any]) -> PingReplyV4TS:
    return _read_v4ts(cur)


def _write_v4ts(out: Out, ts: PingReplyV4TS) -> None:
    tsc = len(ts.tss)
    if tsc > 255 or (ts.ips is not None and len(ts.ips) != tsc):
        raise WartsError("ping reply timestamps: need up to 255 stamps and as many "
                         "addresses or none", None, OBJ_PING)
    out.u8(tsc)
    out.u8(tsc if ts.ips else 0)
    for t in ts.tss:
        out.u32(t)
    if ts.ips:
        for a in ts.ips:
            out.addr(a)


# A reply's parameters.  Flag 1 (a deprecated global address id) fills the
# same field as flag 12, the later winning as in scamper's reader (and never
# written).
REPLY_PARAMS = ParamTable(
    (1, "addr", GID),
    (2, "flags", U8),
    (3, "ttl", U8),
    (4, "size", U16),
    (5, "icmp_type,icmp_code", Tuple("BB")),
    (6, "rtt", RTT),
    (7, "probe_id", U16),
    (8, "reply_ipid", U16),
    (9, "probe_ipid", U16),
    (10, "proto", U8),
    (11, "tcp_flags", U8),
    (12, "addr", ADDR),
    (13, "v4rr", Custom(_read_v4rr, _write_addrs)),
    (14, "v4ts", Custom(_read_v4ts_param, _write_v4ts)),
    (15, "ipid32", U32),
    (16, "probe_tx", TIMEVAL),
    (17, "tsreply", Tuple("III", PingReplyTSReply)),
    (18, "probe_sport", U16),
    (19, "tos", U8),
    (20, "ifname", IFNAME),
    (21, "icmp_nhmtu", U16),
)


# Made through warts.fastobj (fields in order), not the dataclass __init__.
_new_reply = constructor(PingReply)
_new_ping = constructor(Ping)
# Both read into their record's field order (a ping's replies stay None).
_read_ping_values = fast_reader(PING_PARAMS, field_names(Ping))
_read_reply_values = fast_reader(REPLY_PARAMS, field_names(PingReply))
# ... and written from it; a reply without an address is refused both ways.
_write_ping = fast_writer(PING_PARAMS, Ping)
_write_reply = fast_writer(REPLY_PARAMS, PingReply,
                           required={"addr": "ping reply without an address"})


def read_reply_values(cur: Cursor, ping_sent: int) -> list[Any]:
    """One reply block: its fields in PingReply's order, checked as
    scamper's reader checks them (an address, a probe that was sent)."""
    v = _read_reply_values(cur)
    if v[11] is None:
        raise cur.error("ping reply without an address")
    probe_id = v[6] or 0
    if probe_id >= ping_sent:
        raise cur.error(f"ping reply for probe {probe_id} of {ping_sent} sent")
    return v


def read_head(cur: Cursor) -> list[Any]:
    """The ping's flags+params block: its fields in Ping's order (the
    replies' slot None), the deprecated address ids resolved."""
    v = _read_ping_values(cur)
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
    return v


def read_reply_count(cur: Cursor) -> int:
    """The u16 count of replies after the head, checked against the bytes left."""
    count = cur.u16()
    if count > cur.remaining():
        raise cur.error(f"ping reply count {count} exceeds the bytes left", cur.pos - 2)
    return count


def decode_ping(cur: Cursor) -> Ping:
    v = read_head(cur)
    count = read_reply_count(cur)
    if count:
        ping_sent = v[14] or 0
        v[34] = tuple([_new_reply(*read_reply_values(cur, ping_sent)) for _ in range(count)])
    else:
        v[34] = ()
    return _new_ping(*v)


def encode_ping(rec: Ping, out: Out) -> None:
    if rec.dst is None:
        raise WartsError("ping without a destination address", None, OBJ_PING)
    if rec.data is not None and len(rec.data) != (rec.datalen or 0):
        raise WartsError(f"ping data of {len(rec.data)} bytes but datalen {rec.datalen}",
                         None, OBJ_PING)
    _write_ping(out, rec)
    n = len(rec.replies)
    if n > 0xFFFF:
        raise WartsError(f"{n} ping replies exceed the u16 count", None, OBJ_PING)
    out.u16(n)
    ping_sent = rec.ping_sent or 0
    for r in rec.replies:
        # scamper's reader refuses a reply to a probe that was not sent
        if (r.probe_id or 0) >= ping_sent:
            raise WartsError(f"ping reply for probe {r.probe_id or 0} of {ping_sent} sent",
                             None, OBJ_PING)
        _write_reply(out, r)
