"""Compiled writers (fast_writer): the same bytes as ParamTable.write."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given

import warts
from tests.warts.test_wire import V4A, V4B, V6A, WIDE, WIDE_VALUES
from warts.address import Address
from warts.compiled_write import fast_writer
from warts.types.ping import Ping, PingReply
from warts.wire import ADDR, GID, U8, U16, FixedBytes, Out, ParamTable, Timeval, Tuple


def _out() -> Out:
    # the reader's tables in tests.warts.test_wire start with these
    out = Out()
    out.addr(V4A)
    out.ifnames["eth0"] = 1
    out.buf.clear()
    return out


@given(WIDE_VALUES)
def test_fast_writer_matches_table_write(vals: dict[str, Any]) -> None:
    want, got = _out(), _out()
    WIDE.write_dict(want, vals)
    write = fast_writer(WIDE)
    obj = SimpleNamespace(**{n: vals.get(n) for n in WIDE.names})
    for _ in range(2):  # compiling, then from the cache
        got = _out()
        write(got, obj)
        assert bytes(got.buf) == bytes(want.buf)
        assert got.addrs == want.addrs and got.ifnames == want.ifnames


@dataclass(frozen=True)
class Hop:
    addr: Address | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    ttl: int | None = None


HOP = ParamTable((1, "addr", GID), (2, "icmp_type,icmp_code", Tuple("BB")), (3, "ttl", U8),
                 (4, "probe", U16), (5, "addr", ADDR))


def _hop(hop: Hop, probe: int | None = None) -> bytes:
    out = Out()
    fast_writer(HOP, Hop, extra=("probe",), required={"addr": "no addr"})(out, hop, probe)
    return bytes(out.buf)


def test_fast_writer_extra_spread_tuple_and_shared_field() -> None:
    # the global id (flag 1) is never written: the address (flag 5) is
    assert _hop(Hop(V4B)) == b"\x10\x00\x06\x04\x01\xc0\x00\x02\x02"
    # one half of a spread Tuple set: written, the other half as 0
    assert _hop(Hop(V4B, icmp_code=3), 7)[:8] == b"\x1a\x00\x0a\x00\x03\x00\x07\x04"
    with pytest.raises(warts.WartsError, match="no addr"):
        _hop(Hop())


def test_fast_writer_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="no field"):
        fast_writer(ParamTable((1, "nope", U8)), Hop)
    with pytest.raises(ValueError, match="required"):
        fast_writer(HOP, Hop, extra=("probe",), required={"nope": "x"})
    with pytest.raises(warts.WartsError, match="exactly 3"):
        fast_writer(ParamTable((1, "b", FixedBytes(3))))(Out(), SimpleNamespace(b=b"ab"))
    # a read-only global id with a field of its own is refused if set
    with pytest.raises(warts.WartsError, match="never written"):
        fast_writer(ParamTable((1, "gid", GID)))(Out(), SimpleNamespace(gid=V6A))


def test_fast_writer_cache_is_bounded() -> None:
    table = ParamTable(*[(i, f"f{i}", U8) for i in range(1, 12)])
    write = fast_writer(table)
    for flags in range(1, 2 * ParamTable.MAX_PLANS + 1):
        obj = SimpleNamespace(**{f"f{i + 1}": i if flags >> i & 1 else None
                                 for i in range(11)})
        out = Out()
        write(out, obj)
        want = Out()
        table.write(want, obj)
        assert out.buf == want.buf
    plans = write.__globals__["_plans"]
    assert 0 < len(plans) <= ParamTable.MAX_PLANS


@pytest.mark.parametrize("reply,match", [
    (PingReply(addr=V4A, ttl=256), "ping field out of range"),
    (PingReply(addr=V4A, size=-1), "ping field out of range"),
    (PingReply(addr=V4A, probe_tx=Timeval(1 << 32, 0)), "ping field out of range"),
    (PingReply(ttl=1), "ping reply without an address"),
    (PingReply(addr=V4A, probe_id=1), "probe 1 of 1 sent"),
])
def test_fast_writer_out_of_range_is_a_warts_error(reply: PingReply, match: str) -> None:
    ping = Ping(dst=V4A, ping_sent=1, replies=(reply,))
    with pytest.raises(warts.WartsError, match=match) as ei:
        warts.encode([ping])
    assert ei.value.obj_type == 0x07
