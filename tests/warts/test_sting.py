"""sting (0x0c): round trips, scamper's reader checks, and what scamper
20260420's sc_warts2text and sc_wartsdump print (sc_warts2json prints
nothing for sting).  STING_TEXT and STING_DUMP are those tools' output for
the record :func:`sting` builds.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import warts
from tests.strategies import ip_addrs, list_infos, opt, texts, u8, u16, u32, wire_timevals
from tests.warts.handmade import addr4, block
from warts import Address, Timeval, WartsError
from warts.file import ReadState, decode_object
from warts.listcycle import CycleInfo
from warts.registry import OBJ_STING
from warts.types.sting import Sting, StingDistribution, StingPkt, StingPktFlag, StingResult
from warts.wire import flags_bytes

DATA = Path(__file__).parent.parent / "data"
A = Address.from_string


def _ip4(flags: int, seq: int, ack: int, payload: bytes = b"", ipid: int = 0x1234) -> bytes:
    tcp = struct.pack(">HHIIBBHHH", 40000, 80, seq, ack, 5 << 4, flags, 65535, 0, 0)
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), ipid, 0, 64,
                       6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + tcp + payload


def sting() -> Sting:
    """A handshake, two data probes (the second a hole) and an RST."""
    st0 = Timeval(1795907217, 749509)
    pkts = [
        StingPkt(_ip4(0x02, 1000, 0), StingPktFlag.TX, Timeval(st0.sec, st0.usec + 1000)),
        StingPkt(_ip4(0x12, 5000, 1001), StingPktFlag.RX, Timeval(st0.sec + 1, 1000)),
        StingPkt(_ip4(0x18, 1001, 5001, b"abcd"), StingPktFlag.TX | StingPktFlag.DATA,
                 Timeval(st0.sec + 1, 2000)),
        StingPkt(_ip4(0x18, 1005, 5001, b"efgh"),
                 StingPktFlag.TX | StingPktFlag.DATA | StingPktFlag.HOLE,
                 Timeval(st0.sec + 1, 3000)),
        StingPkt(_ip4(0xC4, 5001, 1009), StingPktFlag.RX, Timeval(st0.sec + 2, 0)),
    ]
    return Sting.build(src=A("10.0.0.1"), dst=A("10.0.0.2"), sport=40000, dport=80,
                       count=2, mean=100, inter=2000, dist=StingDistribution.UNIFORM,
                       synretx=3, dataretx=5, seqskip=3, start=st0, hsrtt=Timeval(0, 1250),
                       dataackc=1, holec=1, data=b"GET / HTTP/1.0\r\n", pkts=pkts,
                       result=StingResult.COMPLETED, userid=3, errmsg="not shown")


STING_TEXT = (
    'sting from 10.0.0.1:40000 to 10.0.0.2:80, 2 probes, 100ms mean\n'
    ' data-ack count 1, holec 1\n'
    '  probe 2 hole\n'
)

STING_DUMP = (
    'sting from 10.0.0.1 to 10.0.0.2\n'
    ' user-id: 3\n'
    ' start: Sat Nov 28 23:06:57 2026 749509\n'
    ' sport: 40000, dport: 80\n'
    ' count: 2, mean: 0.1s, inter: 2s, seqskip 3\n'
    ' synretx: 3, dataretx: 5\n'
    ' dataackc: 1, holec: 1\n'
    ' hs-rtt: 0.001250\n'
    ' result: completed\n'
    ' [  0.001] TX SYN             40 seq = 0:0              1234\n'
    ' [  0.251] RX SYN/ACK         40 seq = 0:1              1234\n'
    ' [  0.252] TX                 44 seq = 1:1(4)           1234\n'
    ' [  0.253] TX                 44 seq = 5:1(4)           1234\n'
    ' [  1.250] RX RST/ECE/CWR     40 seq = 1:9              1234\n'
)


def decode_body(body: bytes) -> Sting:
    rec = decode_object(OBJ_STING, body, ReadState())
    assert isinstance(rec, Sting)
    return rec


def record_body(rec: Sting) -> bytes:
    return warts.Writer().encode(rec)[-1][8:]


# --------------------------------------------------------------------------
# Strategies


PKTS = st.builds(StingPkt, st.binary(min_size=1, max_size=60), opt(u8), opt(wire_timevals))


@st.composite
def stings(draw: st.DrawFn) -> Sting:
    data = draw(opt(st.binary(max_size=20)))
    lst = draw(opt(list_infos))
    cyc = CycleInfo(lst, draw(u32), draw(u32)) if lst is not None and draw(st.booleans()) \
        else None
    return Sting(
        list=lst, cycle=cyc, userid=draw(opt(u32)), src=draw(ip_addrs), dst=draw(ip_addrs),
        sport=draw(opt(u16)), dport=draw(opt(u16)), count=draw(opt(u16)),
        mean=draw(opt(u16)), inter=draw(opt(u16)), dist=draw(opt(u8)),
        synretx=draw(opt(u8)), dataretx=draw(opt(u8)), seqskip=draw(opt(u8)),
        datalen=len(data) if data is not None else draw(opt(st.just(0))), data=data,
        start=draw(opt(wire_timevals)), hsrtt=draw(opt(wire_timevals)), dataackc=draw(opt(u16)),
        holec=draw(opt(u16)), result=draw(opt(u8)), errmsg=draw(opt(texts(12))),
        pkts=tuple(draw(st.lists(PKTS, max_size=5))))


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------
# Round trips and the writer


@SETTINGS
@given(stings())
def test_roundtrip(rec: Sting) -> None:
    assert warts.decode(warts.encode([rec]))[-1] == rec
    assert warts.to_json(rec) is None
    assert warts.to_text(rec) is not None
    assert warts.to_dump(rec) is not None


def test_scamper_data_bytes_are_kept() -> None:
    """scamper's writer stores the data pointer's bytes in flag 16; they are
    read and written back untouched."""
    data = (DATA / "v20211212" / "sting_v4.warts").read_bytes()
    rec = next(r for r in warts.decode(data) if isinstance(r, Sting))
    assert rec.datalen == 13 and rec.data is not None and len(rec.data) == 13
    assert warts.encode(warts.decode(data)) == data


def test_builder_writes_the_real_data() -> None:
    rec = sting()
    assert rec.datalen == 16 and rec.data == b"GET / HTTP/1.0\r\n"
    assert b"GET / HTTP/1.0\r\n" in record_body(rec)
    assert warts.decode(warts.encode([rec]))[-1] == rec


def test_builder_omits_what_scamper_omits() -> None:
    rec = Sting.build(src=A("10.0.0.1"), dst=A("10.0.0.2"), sport=1, dport=80, count=10,
                      mean=100, inter=2000, dist=1, synretx=3, dataretx=5, seqskip=3,
                      start=Timeval(1, 0), hsrtt=Timeval(0, 0), dataackc=0, holec=0)
    assert (rec.userid, rec.data, rec.result, rec.errmsg, rec.list) == (None,) * 5
    assert rec.datalen == 0
    # flags 4-15 and 17-21: exactly what scamper writes for such a record
    want = 0
    for f in (*range(4, 16), *range(17, 22)):
        want |= 1 << (f - 1)
    assert record_body(rec)[:3] == flags_bytes(want)


def test_writer_checks() -> None:
    with pytest.raises(WartsError, match="datalen"):
        warts.encode([Sting(src=A("10.0.0.1"), dst=A("10.0.0.2"), datalen=3, data=b"ab")])
    with pytest.raises(WartsError, match="packet"):
        warts.encode([Sting(src=A("10.0.0.1"), dst=A("10.0.0.2"), pkts=(StingPkt(b""),))])


# --------------------------------------------------------------------------
# The reader's rules


def test_reader_needs_both_addresses() -> None:
    with pytest.raises(WartsError, match="source and destination"):
        decode_body(block({5: addr4("10.0.0.2")}))
    rec = decode_body(block({4: addr4("10.0.0.1"), 5: addr4("10.0.0.2")}))
    assert rec == Sting(src=A("10.0.0.1"), dst=A("10.0.0.2"))
    assert warts.to_text(rec) == ("sting from 10.0.0.1:0 to 10.0.0.2:0, 0 probes, 0ms mean\n"
                                  " data-ack count 0, holec 0\n")


def test_packet_needs_data() -> None:
    base = {4: addr4("10.0.0.1"), 5: addr4("10.0.0.2"), 21: struct.pack(">I", 1)}
    with pytest.raises(WartsError, match="without data"):
        decode_body(block(base) + block({1: b"\x01", 3: b"\x00\x00"}))
    rec = decode_body(block(base) + block({3: b"\x00\x02", 4: b"\x45\x00"}))
    assert rec.pkts == (StingPkt(b"\x45\x00"),)


def test_unknown_flags_are_skipped() -> None:
    base = {4: addr4("10.0.0.1"), 5: addr4("10.0.0.2"), 21: struct.pack(">I", 1)}
    pkt = {1: b"\x01", 3: b"\x00\x02", 4: b"\x45\x00"}
    plain = decode_body(block(base) + block(pkt))
    assert decode_body(block({**base, 24: b"new", 30: b"\x00"})
                       + block({**pkt, 5: b"xyz"})) == plain


def test_truncated_records_raise() -> None:
    body = record_body(sting())
    decode_body(body)
    for n in range(len(body)):
        with pytest.raises(WartsError):
            decode_body(body[:n])


# --------------------------------------------------------------------------
# Renderings (expected output from scamper 20260420's tools)


def test_renders_like_scamper() -> None:
    rec = sting()
    assert warts.to_json(rec) is None
    assert warts.to_text(rec) == STING_TEXT
    # 20260420 writes errmsg but its reader ignores flag 23: never printed
    assert warts.to_dump(rec) == STING_DUMP
