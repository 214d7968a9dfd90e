"""Unit tests of the warts core: wire primitives, param tables, file framing,
lists and cycles (warts.md §1-§3.3)."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import warts
from tests.strategies import opt, timevals, u8, u16, u32
from warts import dump
from warts.address import Address
from warts.compiled import dict_reader, fast_reader
from warts.file import ReadState, WriteState
from warts.listcycle import CycleDef, CycleInfo, CycleStart, CycleStop, ListInfo
from warts.wire import (
    ADDR,
    ADDR_STATIC,
    GID,
    I32,
    ICMPEXT,
    IFNAME,
    RTT,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U32,
    Bytes,
    CountedList,
    Cursor,
    Custom,
    FixedBytes,
    IcmpExt,
    Out,
    ParamTable,
    Timeval,
    Tuple,
    flags_bytes,
)

V4A = Address.from_string("192.0.2.1")
V4B = Address.from_string("192.0.2.2")
V6A = Address.from_string("2001:db8::1")


def cur(data: bytes, base: int = 0) -> Cursor:
    return Cursor(data, base=base, obj_type=0x07, state=ReadState())


# --------------------------------------------------------------------------
# Flags bitmap (§2.1)

@pytest.mark.parametrize(("flags", "wire"), [
    (0, b"\x00"),
    (1 << 0, b"\x01"),                      # flag 1
    (1 << 6, b"\x40"),                      # flag 7
    (1 << 7, b"\x80\x01"),                  # flag 8: first byte empty but linked
    (1 << 14, b"\x80\x80\x01"),             # flag 15
    (1 << 32, b"\x80\x80\x80\x80\x10"),     # flag 33 is 0x10 in byte 4
    (1 << 33, b"\x80\x80\x80\x80\x20"),     # flag 34 alone: the warts.md example
    ((1 << 0) | (1 << 7), b"\x81\x01"),
])
def test_flags_bytes(flags: int, wire: bytes) -> None:
    assert flags_bytes(flags) == wire
    if flags:
        c = cur(wire + b"\x00\x00")
        assert c.flags() == (flags, len(wire) + 2)
        assert c.pos == len(wire) + 2


def test_no_flags_has_no_length_field() -> None:
    c = cur(b"\x00\xff\xff")
    assert c.flags() == (0, 1)
    assert c.pos == 1            # the 0xffff after it is not a params length


def test_ping_example_flags() -> None:
    # warts.md §5.1: f3 fc 65 = flags {1,2,5,6,7 | 10..14 | 15,17,20,21}
    c = cur(b"\xf3\xfc\x65\x00\x00")
    flags, _ = c.flags()
    present = [n + 1 for n in range(32) if flags >> n & 1]
    assert present == [1, 2, 5, 6, 7, 10, 11, 12, 13, 14, 15, 17, 20, 21]


@given(st.integers(min_value=0, max_value=(1 << 70) - 1))
def test_flags_roundtrip(flags: int) -> None:
    wire = flags_bytes(flags)
    assert len(wire) == max(1, (flags.bit_length() + 6) // 7)
    assert all(b & 0x80 for b in wire[:-1]) and not wire[-1] & 0x80
    if flags:
        assert cur(wire + b"\x00\x00").flags() == (flags, len(wire) + 2)


def test_flags_truncated() -> None:
    with pytest.raises(warts.WartsError, match="flags"):
        cur(b"").flags()
    with pytest.raises(warts.WartsError, match="flags run past end") as ei:
        cur(b"\x81\x80", base=100).flags()
    assert ei.value.offset == 102
    with pytest.raises(warts.WartsError, match="truncated"):
        cur(b"\x01\x00").flags()          # params length cut short


# --------------------------------------------------------------------------
# Param tables and params_len (§2.2)

TABLE = ParamTable(
    (1, "a", U8),
    (2, "b", U16),
    (3, "c", U32),
    (4, "s", STRING),
    (5, "t", TIMEVAL),
    (6, "r", RTT),
)


@dataclass(frozen=True)
class Rec:
    a: int | None = None
    b: int | None = None
    c: int | None = None
    s: str | None = None
    t: Timeval | None = None
    r: int | None = None


def _write(table: ParamTable, obj: object) -> bytes:
    out = Out()
    table.write(out, obj)
    return bytes(out.buf)


def test_params_len_counts_only_params() -> None:
    wire = _write(TABLE, Rec(a=7, c=0x01020304, s="hi"))
    # flags {1,3,4} = 0x0d, len = 1 + 4 + 3
    assert wire == b"\x0d\x00\x08" + b"\x07" + b"\x01\x02\x03\x04" + b"hi\x00"


def test_nothing_present_is_one_zero_byte() -> None:
    assert _write(TABLE, Rec()) == b"\x00"
    assert TABLE.read(cur(b"\x00")) == {}


def test_read_returns_only_present() -> None:
    wire = _write(TABLE, Rec(b=0, t=Timeval(5, 6)))
    c = cur(wire)
    assert TABLE.read(c) == {"b": 0, "t": Timeval(5, 6)}
    assert c.pos == len(wire)


@given(st.builds(Rec, a=opt(u8), b=opt(u16), c=opt(u32),
                 s=opt(st.text(st.characters(min_codepoint=1, max_codepoint=0x7F))),
                 t=opt(timevals), r=opt(u32)))
def test_table_roundtrip(rec: Rec) -> None:
    wire = _write(TABLE, rec)
    c = cur(wire + b"tail")
    assert Rec(**TABLE.read(c)) == rec
    assert c.pos == len(wire)


def test_unknown_higher_flags_are_skipped() -> None:
    # flags {1, 9}: flag 9 is beyond the table; params_len skips its 3 bytes.
    wire = b"\x81\x02\x00\x04" + b"\x2a" + b"xyz" + b"\xee"
    c = cur(wire)
    assert TABLE.read(c) == {"a": 42}
    assert c.pos == len(wire) - 1
    assert c.u8() == 0xEE


def test_params_len_decides_where_reading_continues() -> None:
    # A writer that padded its params: the reader still continues at final.
    wire = b"\x01\x00\x03" + b"\x2a\x00\x00" + b"\x99"
    c = cur(wire)
    assert TABLE.read(c) == {"a": 42}
    assert c.u8() == 0x99


def test_params_overrun_their_length() -> None:
    # flag 3 (u32) present but params_len says 2: the u32 reads past final.
    wire = b"\x04\x00\x02" + b"\x01\x02\x03\x04"
    with pytest.raises(warts.WartsError, match="overran"):
        TABLE.read(cur(wire))


def test_params_len_beyond_object() -> None:
    with pytest.raises(warts.WartsError, match="runs past end") as ei:
        TABLE.read(cur(b"\x01\x00\x09\x01", base=50))
    assert ei.value.offset == 51          # where the length field is
    assert ei.value.obj_type == 0x07


def test_truncated_param_names_offset() -> None:
    # params_len claims 4, object has 4, but a u32 at offset 3+1 is cut.
    wire = b"\x05\x00\x04" + b"\x01" + b"\x00\x00\x00"
    with pytest.raises(warts.WartsError, match="truncated") as ei:
        TABLE.read(cur(wire, base=1000))
    assert ei.value.offset == 1004


def test_string_needs_nul() -> None:
    with pytest.raises(warts.WartsError, match="NUL"):
        TABLE.read(cur(b"\x08\x00\x02ab"))


def test_table_must_number_flags_without_gaps() -> None:
    with pytest.raises(ValueError):
        ParamTable((1, "a", U8), (3, "c", U8))


def test_params_len_limit() -> None:
    big = ParamTable((1, "s", STRING))

    @dataclass
    class S:
        s: str

    with pytest.raises(warts.WartsError, match="u16"):
        _write(big, S("x" * 70000))


# --------------------------------------------------------------------------
# Integers, timevals, strings (§2.3-2.5)

def test_integers_big_endian() -> None:
    out = Out()
    out.u8(1)
    out.u16(0x0203)
    out.u32(0x04050607)
    out.i32(-2)
    out.timeval(Timeval(0x01020304, 999999))
    out.rtt(123456)
    c = cur(bytes(out.buf))
    assert (c.u8(), c.u16(), c.u32(), c.i32()) == (1, 0x0203, 0x04050607, -2)
    assert c.timeval() == Timeval(0x01020304, 999999)
    assert c.rtt() == 123456
    assert c.remaining() == 0


def test_timeval_helpers() -> None:
    tv = Timeval.from_us(1_500_000_123)
    assert tv == Timeval(1500, 123) and tv.to_us() == 1_500_000_123
    assert float(Timeval(1, 500000)) == 1.5


@pytest.mark.parametrize("method,n", [("u16", 2), ("u32", 4), ("i32", 4), ("timeval", 8),
                                      ("rtt", 4)])
def test_truncated_integers_name_offsets(method: str, n: int) -> None:
    c = cur(b"\x00" * (n + 1), base=200)
    c.u8()
    c.u8()
    with pytest.raises(warts.WartsError, match=f"need {n} bytes") as ei:
        getattr(c, method)()
    assert ei.value.offset == 202
    assert "offset 202" in str(ei.value) and "object type 0x07" in str(ei.value)


def test_u8_at_end() -> None:
    with pytest.raises(warts.WartsError, match="need 1 byte"):
        cur(b"").u8()


def test_cursor_end_bounds_reads() -> None:
    c = Cursor(b"\x01\x02\x03\x04", 0, 2)
    with pytest.raises(warts.WartsError):
        c.u32()


def test_string_utf8_and_raw_bytes_roundtrip() -> None:
    raw = b"caf\xc3\xa9 \xff\x01"
    c = cur(raw + b"\x00")
    s = c.string()
    out = Out()
    out.string(s)
    assert bytes(out.buf) == raw + b"\x00"


# --------------------------------------------------------------------------
# Addresses (§2.6)

def test_address_table_def_then_ref() -> None:
    out = Out()
    for a in (V4A, V6A, V4A, V4B, V6A):
        out.addr(a)
    wire = bytes(out.buf)
    assert wire == (b"\x04\x01" + V4A.raw + b"\x10\x02" + V6A.raw
                    + b"\x00" + struct.pack(">I", 0)
                    + b"\x04\x01" + V4B.raw
                    + b"\x00" + struct.pack(">I", 1))
    c = cur(wire)
    assert [c.addr() for _ in range(5)] == [V4A, V6A, V4A, V4B, V6A]
    assert c.addrs == [V4A, V6A, V4B]


def test_address_table_is_per_record() -> None:
    out1, out2 = Out(), Out()
    out1.addr(V4A)
    out2.addr(V4A)
    assert out1.buf == out2.buf == b"\x04\x01" + V4A.raw


def test_addr_static_not_in_table() -> None:
    out = Out()
    out.addr_static(V4A)      # e.g. trace flag 30 (rtr)
    out.addr(V4B)             # first table entry: id 0
    out.addr_static(V4B)      # static is always a full definition
    out.addr(V4B)             # reference to id 0
    wire = bytes(out.buf)
    assert wire == (b"\x04\x01" + V4A.raw + b"\x04\x01" + V4B.raw
                    + b"\x04\x01" + V4B.raw + b"\x00\x00\x00\x00\x00")
    c = cur(wire)
    assert c.addr_static() == V4A
    assert c.addr() == V4B
    assert c.addr_static() == V4B
    assert c.addr() == V4B
    assert c.addrs == [V4B]


def test_address_reference_beyond_table() -> None:
    c = cur(b"\x04\x01" + V4A.raw + b"\x00\x00\x00\x00\x01", base=10)
    c.addr()
    with pytest.raises(warts.WartsError, match="beyond table") as ei:
        c.addr()
    assert ei.value.offset == 10 + 7


@pytest.mark.parametrize("wire,match", [
    (b"\x04\x05\x00\x00\x00\x00", "unknown address type"),
    (b"\x04\x00\x00\x00\x00\x00", "unknown address type"),
    (b"\x05\x01\x00\x00\x00\x00\x00", "length 5, want 4"),
    (b"\x10\x02" + b"\x00" * 8, "truncated"),
])
def test_bad_addresses(wire: bytes, match: str) -> None:
    with pytest.raises(warts.WartsError, match=match):
        cur(wire).addr()


@pytest.mark.parametrize("text", ["192.0.2.1", "2001:db8::1", "::ffff:1.2.3.4",
                                  "00:11:22:33:44:55"])
def test_address_strings(text: str) -> None:
    a = Address.from_string(text)
    assert str(a) == text
    assert Address(a.atype, a.raw) == a and hash(Address(a.atype, a.raw)) == hash(a)


def test_firewire_address_string() -> None:
    # 8 hex groups parse as IPv6, so a FireWire EUI-64 is built from bytes.
    assert str(Address(4, bytes(range(8)))) == "00:01:02:03:04:05:06:07"


def test_address_codecs_in_tables() -> None:
    table = ParamTable((1, "src", ADDR), (2, "dst", ADDR), (3, "rtr", ADDR_STATIC))

    @dataclass
    class A:
        src: Address | None
        dst: Address | None
        rtr: Address | None

    rec = A(V4A, V4A, V4A)
    wire = _write(table, rec)
    assert wire == b"\x07\x00\x11" + b"\x04\x01" + V4A.raw + b"\x00" * 5 + b"\x04\x01" + V4A.raw
    assert A(**table.read(cur(wire))) == rec


# --------------------------------------------------------------------------
# Interface names (§2.7)

def test_ifname_table() -> None:
    out = Out()
    for name in ("eth0", "eth1", "eth0", "eth1", "lo"):
        out.ifname(name)
    wire = bytes(out.buf)
    assert wire == b"\x01eth0\x00\x02eth1\x00\x01\x02\x03lo\x00"
    c = cur(wire)
    assert [c.ifname() for _ in range(5)] == ["eth0", "eth1", "eth0", "eth1", "lo"]
    assert c.ifnames == ["eth0", "eth1", "lo"]


def test_ifname_zero_is_not_tabled() -> None:
    c = cur(b"\x00eth0\x00\x01eth1\x00\x01")
    assert c.ifname() == "eth0"
    assert c.ifname() == "eth1"
    assert c.ifname() == "eth1"
    assert c.ifnames == ["eth1"]


def test_ifname_table_full_uses_zero() -> None:
    out = Out()
    for i in range(256):
        out.ifname(f"if{i}")
    assert len(out.ifnames) == 254
    c = cur(bytes(out.buf))
    names = [c.ifname() for _ in range(256)]
    assert names == [f"if{i}" for i in range(256)]
    assert len(c.ifnames) == 254
    out.ifname("if255")          # not tabled: written in full again
    assert out.buf.endswith(b"\x00if255\x00")


def test_ifname_out_of_sequence() -> None:
    with pytest.raises(warts.WartsError, match="out of sequence"):
        cur(b"\x03eth0\x00").ifname()


def test_ifname_codec() -> None:
    table = ParamTable((1, "a", IFNAME), (2, "b", IFNAME))

    @dataclass
    class Names:
        a: str | None
        b: str | None

    wire = _write(table, Names("e-r1", "e-r1"))
    assert wire == b"\x03\x00\x07\x01e-r1\x00\x01"
    assert Names(**table.read(cur(wire))) == Names("e-r1", "e-r1")


# --------------------------------------------------------------------------
# ICMP extensions (§2.8)

MPLS = IcmpExt(1, 1, bytes.fromhex("0003e1fe" "0004a0ff"))


def test_icmpext_roundtrip() -> None:
    exts = (MPLS, IcmpExt(2, 3, b""), IcmpExt(5, 1, b"\x01\x02\x03"))
    out = Out()
    ICMPEXT.write(out, exts)
    wire = bytes(out.buf)
    total = sum(4 + len(e.data) for e in exts)
    assert wire[:2] == struct.pack(">H", total) and len(wire) == 2 + total
    assert wire[2:6] == b"\x00\x08\x01\x01"
    c = cur(wire)
    assert ICMPEXT.read(c, {}) == exts
    assert c.remaining() == 0


def test_icmpext_mpls_labels() -> None:
    assert MPLS.is_mpls
    assert MPLS.mpls_labels() == [(62, 0, 1, 254), (74, 0, 0, 255)]
    assert not IcmpExt(1, 2, b"").is_mpls


@pytest.mark.parametrize("wire,match", [
    (b"\x00\x00", "empty"),
    (b"\x00\x08\x00\x04\x01\x01", "past end of object"),
    (b"\x00\x03\x00\x00\x01", "truncated icmp extension header"),
    (b"\x00\x05\x00\x04\x01\x01\x00", "past its block"),
])
def test_icmpext_errors(wire: bytes, match: str) -> None:
    with pytest.raises(warts.WartsError, match=match):
        ICMPEXT.read(cur(wire), {})


# --------------------------------------------------------------------------
# Composite codecs

def test_bytes_fixed_tuple_counted_custom() -> None:
    table = ParamTable(
        (1, "n", U16),
        (2, "data", Bytes("n")),
        (3, "fixed", FixedBytes(3)),
        (4, "pair", Tuple("BB")),
        (5, "items", CountedList(U8, U16)),
        (6, "neg", Custom(lambda c, v: -c.u8(), lambda o, v: o.u8(-v))),
    )
    vals = {"n": 2, "data": b"ab", "fixed": b"xyz", "pair": (3, 4),
            "items": (1, 0x102), "neg": -5}
    out = Out()
    table.write_dict(out, vals)
    assert table.read(cur(bytes(out.buf))) == vals


def test_bytes_without_length_and_bad_counts() -> None:
    table = ParamTable((1, "n", U16), (2, "data", Bytes("n")))
    with pytest.raises(warts.WartsError, match="without its length"):
        table.read(cur(b"\x02\x00\x02ab"))
    counted = ParamTable((1, "items", CountedList(U32, U8)))
    with pytest.raises(warts.WartsError, match="exceeds"):
        counted.read(cur(b"\x01\x00\x06\xff\xff\xff\xff\x01\x02"))
    with pytest.raises(warts.WartsError, match="exactly 3"):
        FixedBytes(3).write(Out(), b"ab")


# --------------------------------------------------------------------------
# File framing (§1) and list/cycle objects (§2.9, §3.1-3.3)

LIST = ListInfo(5, "mylist", descr="a list", monitor="mon1")
CYC = CycleInfo(LIST, 7, 1_700_000_000, hostname="host1")
CYC2 = CycleInfo(LIST, 8, 1_700_000_100, stop_time=1_700_000_200)


def test_listcycle_roundtrip_and_ids() -> None:
    recs = [LIST, CycleStart(CYC), CycleStop(CYC, 1_700_000_050),
            CycleDef(CYC2), CycleStop(CYC2, 1_700_000_300)]
    data = warts.encode(recs)
    assert warts.decode(data) == recs
    # warts ids run 1, 2 for the two cycles; the human ids are 7 and 8.
    assert data[8:12] == b"\x00\x00\x00\x01"
    hdr = struct.unpack_from(">HHI", data, 0)
    assert hdr == (0x1205, 1, hdr[2])


def test_writer_emits_definitions_first() -> None:
    data = warts.encode([CycleStop(CYC, 1_700_000_050)])
    assert warts.decode(data) == [LIST, CycleDef(CYC), CycleStop(CYC, 1_700_000_050)]


def test_list_wire_layout() -> None:
    # warts.md §5.1: list "default", descr "default", warts id 1, human id 0.
    data = warts.encode([ListInfo(0, "default", descr="default")])
    assert data.hex() == ("12050001" "0000001b" "00000001" "00000000"
                          "64656661756c7400" "01" "0008" "64656661756c7400")


def test_writestate_refuses_unwritten() -> None:
    ws = WriteState()
    assert ws.list_id(None) == 0 and ws.cycle_id(None) == 0
    with pytest.raises(warts.WartsError):
        ws.list_id(LIST)
    with pytest.raises(warts.WartsError):
        ws.cycle_id(CYC)


@pytest.mark.parametrize("data,match,offset", [
    (b"\x12\x05\x00", "truncated object header", 0),
    (b"\x12\x06\x00\x01\x00\x00\x00\x00", "bad magic", 0),
    (b"\x12\x05\x00\x00\x00\x00\x00\x00", "object type 0", 0),
    (b"\x12\x05\x00\x01\x00\x00\x00\x20" + b"\x00" * 4, "truncated object: 4 of 32", 0),
    (b"\x12\x05\x00\x01\x00\x00\x00\x04" + b"\x00" * 4, "shorter than 11", 8),
    (b"\x12\x05\x00\x01\x00\x00\x00\x0b" + b"\x00\x00\x00\x02" + b"\x00" * 7,
     "out of sequence", 8),
    (b"\x12\x05\x00\x04\x00\x00\x00\x09" + b"\x00\x00\x00\x03" + b"\x00" * 5,
     "unknown cycle 3", 8),
])
def test_framing_errors(data: bytes, match: str, offset: int) -> None:
    with pytest.raises(warts.WartsError, match=match) as ei:
        warts.decode(data)
    assert ei.value.offset == offset


def test_truncation_after_good_objects_names_offset() -> None:
    good = warts.encode([LIST, CycleStart(CYC)])
    reader = warts.Reader(io.BytesIO(good + b"\x12\x05\x00\x04\x00\x00"))
    got = []
    with pytest.raises(warts.WartsError) as ei:
        for rec in reader:
            got.append(rec)
    assert got == [LIST, CycleStart(CYC)]
    assert ei.value.offset == len(good)
    assert reader.offset == len(good)


def test_record_referring_to_stopped_cycle() -> None:
    st_ = ReadState()
    c = Cursor(b"", state=st_)
    with pytest.raises(warts.WartsError, match="undefined list"):
        st_.get_list(1, c)
    with pytest.raises(warts.WartsError, match="undefined or stopped cycle"):
        st_.get_cycle(1, c)
    with pytest.raises(warts.WartsError, match="global address"):
        st_.get_addr(1, c)
    assert st_.get_list(0, c) is None and st_.get_cycle(0, c) is None


def test_unknown_objects_kept_verbatim() -> None:
    data = warts.encode([LIST]) + b"\x12\x05\x00\x7f\x00\x00\x00\x03abc"
    recs = warts.decode(data)
    assert recs[1] == warts.UnknownObject(0x7F, b"abc")
    assert warts.encode(recs) == data


def test_reader_type_filter_skips_but_keeps_state() -> None:
    data = warts.encode([LIST, CycleStart(CYC), CycleStop(CYC, 1_700_000_050)])
    got = list(warts.Reader(io.BytesIO(data), types={4}))
    assert got == [CycleStop(CYC, 1_700_000_050)]


def test_old_address_objects() -> None:
    old = warts.OldAddress(1, V4A)
    data = warts.encode([old, warts.OldAddress(2, V6A)])
    rd = warts.Reader(io.BytesIO(data))
    assert list(rd) == [old, warts.OldAddress(2, V6A)]
    assert rd.state.addrs == [V4A, V6A]
    with pytest.raises(warts.WartsError, match="id check"):
        warts.decode(warts.encode([warts.OldAddress(3, V4A)]))


# --------------------------------------------------------------------------
# List/cycle renderings (sc_wartsdump prints them; sc_warts2text does not)

def test_listcycle_dump_lines() -> None:
    assert warts.to_dump(LIST) == 'list id 5, name mylist, descr "a list"\n'
    assert warts.to_dump(ListInfo(0xFFFFFFFF, "x")) == "list id -1, name x\n"
    assert warts.to_dump(CycleStart(CYC)) == \
        "cycle start, list mylist 5, cycle 7, time Tue Nov 14 22:13:20 2023\n"
    assert warts.to_dump(CycleDef(CYC2)) == \
        "cycle def, list mylist 5, cycle 8, time Tue Nov 14 22:15:00 2023\n"
    assert warts.to_dump(CycleStop(CYC, 1_700_000_050)) == \
        "cycle stop, list mylist 5, cycle 7, time Tue Nov 14 22:14:10 2023\n"
    assert warts.to_dump(CycleStop(CycleInfo(LIST, 1, 0), 1_700_000_000 - 13 * 86400)) == \
        "cycle stop, list mylist 5, cycle 1, time Wed Nov  1 22:13:20 2023\n"
    for rec in (LIST, CycleStart(CYC), CycleDef(CYC), CycleStop(CYC, 0)):
        assert warts.to_text(rec) is None


def test_listcycle_json() -> None:
    assert warts.to_json(LIST) is None and warts.to_json(CycleDef(CYC)) is None
    assert warts.to_json(CycleStart(CYC)) == (
        '{"type":"cycle-start", "list_name":"mylist", "id":7, "hostname":"host1", '
        '"start_time":1700000000}\n')
    assert warts.to_json(CycleStop(CYC2, 5)) == (
        '{"type":"cycle-stop", "list_name":"mylist", "id":8, "stop_time":5}\n')


def test_dump_summaries() -> None:
    assert dump.list_summary(None) == "" and dump.cycle_summary(None) == ""
    assert dump.list_summary(LIST) == " list id: 5, name: mylist, monitor: mon1\n"
    assert dump.cycle_summary(CYC) == " cycle id: 7\n"
    assert dump.s32(0x80000000) == -(1 << 31)


def test_read_plans_are_bounded_and_exact() -> None:
    table = ParamTable(*((i, f"f{i}", U8) for i in range(1, 11)))
    for flags in range(1, 1 << 10):
        present = [i for i in range(1, 11) if flags >> (i - 1) & 1]
        wire = flags_bytes(flags) + len(present).to_bytes(2, "big") + bytes(present)
        assert table.read(cur(wire)) == {f"f{i}": i for i in present}
    assert len(table._plans) == ParamTable.MAX_PLANS


# --------------------------------------------------------------------------
# Compiled readers (fast_reader, dict_reader): the same results, positions,
# address tables and errors as ParamTable.read, for any input.

# every kind of codec; 9 flags, so the flag bytes take two
WIDE = ParamTable(
    (1, "a", U8),
    (2, "gid", GID),
    (3, "t", TIMEVAL),
    (4, "n", U16),
    (5, "data", Bytes("n")),
    (6, "addr", ADDR),
    (7, "pair", Tuple("BH")),
    (8, "s", STRING),
    (9, "c", U32),
    (10, "x", ICMPEXT),
    (11, "st", ADDR_STATIC),
    (12, "fixed", FixedBytes(3)),
    (13, "r", RTT),
    (14, "ifn", IFNAME),
    (15, "items", CountedList(U8, ADDR)),
    (16, "neg", Custom(lambda c, v: -c.u8(), lambda o, v: o.u8(-v))),
    (17, "i", I32),
)
# at most 7 flags: one flag byte
NARROW = ParamTable((1, "a", U8), (2, "b", U16), (3, "addr", ADDR), (4, "c", U32))


def _state() -> ReadState:
    state = ReadState()
    state.addrs.append(V6A)  # global address id 1
    return state


def _outcome(read: Any, data: bytes) -> tuple[Any, ...]:
    c = Cursor(data, base=100, obj_type=0x07, state=_state())
    c.addrs.append(V4A)
    c.ifnames.append("eth0")
    try:
        vals = read(c)
    except warts.WartsError as e:
        return ("error", str(e), e.offset)
    return ("ok", vals, c.pos, tuple(c.addrs), tuple(c.ifnames))


WIDE_VALUES = st.fixed_dictionaries({}, optional={
    "a": u8, "t": st.builds(Timeval, st.integers(0, 9), st.integers(0, 9)),
    "addr": st.sampled_from([V4A, V4B, V6A]), "pair": st.tuples(u8, u16),
    "s": st.text(st.characters(min_codepoint=1, max_codepoint=0x7F), max_size=3),
    "c": u32, "x": st.just((IcmpExt(1, 1, b"\x00\x01\x02\x03"),)),
    "st": st.just(V4B), "fixed": st.just(b"xyz"), "r": st.integers(0, 99),
    "ifn": st.sampled_from(["eth0", "eth1"]), "items": st.lists(
        st.sampled_from([V4A, V4B]), max_size=2).map(tuple),
    "neg": st.integers(-0xFF, 0), "i": st.integers(-5, 5)})


def _wide_wire(vals: dict[str, Any]) -> bytes:
    out = Out()
    out.addr(V4A)  # the reader's table starts with it
    out.ifnames["eth0"] = 1
    out.buf.clear()
    WIDE.write_dict(out, vals)
    return bytes(out.buf)


@given(WIDE_VALUES, st.data())
def test_compiled_reader_matches_table_read(vals: dict[str, Any], data: st.DataObject) -> None:
    wire = _wide_wire(vals)
    read = dict_reader(WIDE)
    assert _outcome(read, wire)[1] == vals
    # and any cut or damage of it fails or succeeds as the table's reader does
    cut = data.draw(st.integers(0, len(wire)))
    flip = data.draw(u8)
    at = data.draw(st.integers(0, max(len(wire) - 1, 0)))
    damaged = wire[:at] + bytes([flip]) + wire[at + 1:]
    for sample in (wire[:cut], damaged, wire + b"\x00\x01\x02"):
        assert _outcome(read, sample) == _outcome(WIDE.read, sample)


@given(st.binary(max_size=40))
def test_compiled_reader_matches_table_read_on_noise(data: bytes) -> None:
    for table in (WIDE, NARROW):
        assert _outcome(dict_reader(table), data) == _outcome(table.read, data)


@pytest.mark.parametrize("wire", [
    b"\x00",                         # no params: no length follows
    b"\x80\x00\x00\x00",             # flags of value 0 in a linked byte: a length follows
    b"\x80\x80\x08\x00\x02zz",       # only a flag beyond the table: skipped
    b"\x81\x80\x08\x00\x03\x07zz",   # flag 1 and one beyond
    b"\x01\x00\x01\x07",
    b"\x01\x00\x00\x07",             # overran
    b"\x01\x00",                     # no params length
    b"\x81",                         # flags run past the end
    b"",
])
def test_compiled_reader_edge_cases(wire: bytes) -> None:
    for table in (WIDE, NARROW):
        read = dict_reader(table)
        for _ in range(2):  # compiling, then from the cache
            assert _outcome(read, wire) == _outcome(table.read, wire)


def test_fast_reader_fields_order_split_and_shared_slots() -> None:
    table = ParamTable((1, "addr", GID), (2, "icmp_type,icmp_code", Tuple("BB")),
                       (3, "addr", ADDR))
    read = fast_reader(table, ("icmp_code", "addr", "extra", "icmp_type"))
    c = Cursor(b"\x03\x00\x06\x00\x00\x00\x01\x0b\x02", state=_state())
    assert read(c) == [2, V6A, None, 11]
    # both address flags: the later one wins
    c = Cursor(b"\x05\x00\x0a\x00\x00\x00\x01\x04\x01\xc0\x00\x02\x01", state=_state())
    assert read(c) == [None, V4A, None, None]
    with pytest.raises(ValueError, match="no field"):
        fast_reader(table, ("addr",))


def test_fast_reader_make_required_and_cursor() -> None:
    table = ParamTable((1, "a", U8), (2, "b", U16))
    make = fast_reader(table, ("a", "b"), lambda a, b: (b, a), {"b": "no b here"})
    assert make(cur(b"\x03\x00\x03\x01\x00\x02")) == (2, 1)
    for wire in (b"\x01\x00\x01\x01", b"\x00", b"\x08\x00\x00"):
        with pytest.raises(warts.WartsError, match="no b here"):
            make(cur(wire))
    nested = fast_reader(table, ("a", "b"), lambda c, a, b: (a, c.u8()), with_cursor=True)
    assert nested(cur(b"\x01\x00\x01\x05\x09")) == (5, 9)


def test_fast_reader_cache_is_bounded() -> None:
    table = ParamTable(*[(i, f"f{i}", U8) for i in range(1, 12)])
    read = fast_reader(table, table.names)
    for flags in range(1, 2 * ParamTable.MAX_PLANS + 1):
        wire = flags_bytes(flags)
        n = bin(flags).count("1")
        values = read(cur(wire + struct.pack(">H", n) + bytes(range(n))))
        assert [v is not None for v in values] == [bool(flags >> i & 1) for i in range(11)]
    # the caches: the dicts the reader and its slow path close over
    cells = [c.cell_contents for c in read.__closure__ or ()]
    cells += [c.cell_contents for f in cells if callable(f) and hasattr(f, "__closure__")
              for c in f.__closure__ or ()]
    caches = [c for c in cells if isinstance(c, dict)]
    assert caches and all(len(d) <= ParamTable.MAX_PLANS for d in caches)


def test_state_ref_codecs() -> None:
    state = _state()
    assert GID.read(Cursor(b"\x00\x00\x00\x01", state=state), {}) == V6A
    with pytest.raises(warts.WartsError, match="global address"):
        GID.read(Cursor(b"\x00\x00\x00\x02", state=state), {})
    with pytest.raises(warts.WartsError, match="never written"):
        GID.write(Out(), V6A)


def test_fast_reader_nested_blocks() -> None:
    inner = fast_reader(ParamTable((1, "v", U8)), ("v",), lambda v: v)
    outer = fast_reader(ParamTable((1, "a", U8), (2, "items", U16)), ("a", "items"),
                        lambda a, items: (a, items), nested=("items", inner))
    assert outer(cur(b"\x03\x00\x03\x07\x00\x02" + b"\x01\x00\x01\x05" + b"\x00")) == (
        7, (5, None))
    assert outer(cur(b"\x03\x00\x03\x07\x00\x01" + b"\x01\x00\x01\x05")) == (7, (5,))
    assert outer(cur(b"\x01\x00\x01\x07")) == (7, ())           # no count: none
    assert outer(cur(b"\x03\x00\x03\x07\x00\x00")) == (7, ())
    with pytest.raises(warts.WartsError, match="count 9 exceeds") as ei:
        outer(cur(b"\x02\x00\x02\x00\x09\x00", base=10))
    assert ei.value.offset == 15


def test_fast_reader_tuple_shapes() -> None:
    table = ParamTable((1, "one", Tuple("B")), (2, "two", Tuple("2H")),
                       (3, "raw", FixedBytes(2)), (4, "s", Tuple("2s")))
    wire = b"\x0f\x00\x09" + b"\x07" + b"\x00\x01\x00\x02" + b"ab" + b"cd"
    assert dict_reader(table)(cur(wire)) == table.read(cur(wire)) == {
        "one": (7,), "two": (1, 2), "raw": b"ab", "s": (b"cd",)}
    with pytest.raises(ValueError, match="not a Tuple of 3"):
        fast_reader(ParamTable((1, "a,b,c", Tuple("BB"))), ("a", "b", "c"))
