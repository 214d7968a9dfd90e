"""Packet building and parsing: round trips, checksums, quoted probes."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scamperd.engine import packets as P
from scamperd.engine.fakenet import forge
from scamperd.engine.icmpext import parse_icmp_extensions
from scamperd.engine.options import ipopt_record_route, tcp_mss_option
from tests.strategies import u16

A4 = socket.inet_aton("10.200.1.1")
B4 = socket.inet_aton("10.200.6.2")
R4 = socket.inet_aton("10.200.2.2")
A6 = socket.inet_pton(socket.AF_INET6, "fd00:200:1::1")
B6 = socket.inet_pton(socket.AF_INET6, "fd00:200:6::2")


def test_checksum_rfc1071_example() -> None:
    # RFC 1071 §3 worked example: the sum of these words is 0xddf2.
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert P.checksum(data) == (~0xDDF2) & 0xFFFF


@given(st.binary(max_size=200))
def test_checksum_verifies_to_zero(data: bytes) -> None:
    if len(data) % 2:
        data += b"\x00"
    c = P.checksum(data)
    assert P.checksum(data + struct.pack(">H", c)) == 0


@given(st.binary(min_size=2, max_size=64), u16, st.booleans())
def test_packets_hold_icmp_sum_gives_the_wanted_checksum(data: bytes, want: int,
                                                         v6: bool) -> None:
    src, dst = (A6, B6) if v6 else (A4, B4)
    msg = P.hold_icmp_sum(P.build_icmp_echo(7, 9, data, v6=v6, src=src, dst=dst), 8, want,
                          src, dst)
    assert struct.unpack_from(">H", msg, 2)[0] == want
    assert len(msg) == 8 + len(data) and msg[10:] == data[2:]
    init = P.pseudo_sum(src, dst, P.IPPROTO_ICMPV6, len(msg)) if v6 else 0
    assert P.checksum(msg, init) == 0


def test_packets_hold_icmp_sum_never_writes_zero_as_scamper() -> None:
    # data bytes 2-3 chosen so that the message sums to 0xffff with the
    # wanted value in bytes 0-1: scamper's cksum then gives 0xffff, not 0
    base = P.build_icmp_echo(7, 9, struct.pack(">HH", 0x1234, 0))
    pad = P.checksum(b"\x08\x00\x00\x00" + base[4:8] + struct.pack(">HH", 0x1234, 0))
    msg = P.hold_icmp_sum(P.build_icmp_echo(7, 9, struct.pack(">HH", 0, pad)), 8, 0x1234)
    assert msg[8:10] == b"\xff\xff" and P.checksum(msg) == 0


def test_packets_udp_v4_round_trip() -> None:
    udp = P.build_udp(A4, B4, 40000, 33435, b"x" * 12)
    pkt = P.build_ipv4(A4, B4, P.IPPROTO_UDP, udp, ttl=3, ipid=0x1234)
    assert P.checksum(pkt[:20]) == 0
    assert P.checksum(udp, P.pseudo_sum(A4, B4, P.IPPROTO_UDP, len(udp))) == 0
    r = P.parse_ipv4(pkt)
    assert (r.src, r.dst, r.ttl, r.ipid, r.size) == (A4, B4, 3, 0x1234, 40)
    assert (r.sport, r.dport) == (40000, 33435)


def _time_exceeded_v4(probe: bytes, exts: bytes = b"") -> bytes:
    return forge.time_exceeded(R4, probe, ttl=63, ipid=7, exts=exts)


def test_packets_icmp_error_quotes_udp_probe() -> None:
    udp = P.build_udp(A4, B4, 40000, 33436, b"\x00" * 12)
    probe = P.build_ipv4(A4, B4, P.IPPROTO_UDP, udp, ttl=1, ipid=99)
    r = P.parse_ipv4(_time_exceeded_v4(probe))
    assert r.is_ttl_exceeded() and r.icmp_code == 0
    q = r.quote
    assert q is not None
    assert (q.proto, q.dst, q.ttl, q.ipid, q.size) == (P.IPPROTO_UDP, B4, 1, 99, 40)
    assert (q.sport, q.dport) == (40000, 33436)
    assert q.udp_sum == struct.unpack(">H", udp[6:8])[0]
    assert r.exts is None


def test_packets_icmp_extension_mpls() -> None:
    # RFC 4950 MPLS label stack entry: label 16001, exp 0, S 1, ttl 1.
    ext = forge.mpls_extension((16001, 0, 1, 1))
    udp = P.build_udp(A4, B4, 40000, 33436, b"\x00" * 12)
    probe = P.build_ipv4(A4, B4, P.IPPROTO_UDP, udp, ttl=1)
    r = P.parse_ipv4(_time_exceeded_v4(probe, ext))
    assert r.exts == ext and P.checksum(ext) == 0
    objs = parse_icmp_extensions(r.exts)
    assert objs == [(1, 1, struct.pack(">I", (16001 << 12) | (1 << 8) | 1))]


def test_packets_echo_v6_checksum_and_parse() -> None:
    icmp = P.build_icmp_echo(0x1234, 5, b"\x00" * 56, v6=True, src=A6, dst=B6)
    assert P.checksum(icmp, P.pseudo_sum(A6, B6, P.IPPROTO_ICMPV6, len(icmp))) == 0
    pkt = P.build_ipv6(A6, B6, P.IPPROTO_ICMPV6, icmp, hlim=64, tclass=0x10, flow=0xABCDE)
    assert len(pkt) == 40 + 64
    # A router's time-exceeded quoting the whole probe.
    r = forge.as_received(forge.time_exceeded(R4 * 4, pkt, ttl=63), 0)
    assert r.is_ttl_exceeded()
    q = r.quote
    assert q is not None
    assert (q.proto, q.dst, q.ttl, q.tos, q.flow, q.size) == (
        P.IPPROTO_ICMPV6, B6, 64, 0x10, 0xABCDE, 104)
    assert (q.icmp_type, q.icmp_id, q.icmp_seq) == (128, 0x1234, 5)


def test_packets_read_probe_as_a_quote_reads_it() -> None:
    udp = P.build_udp(A4, B4, 40000, 33436, bytes(12))
    v4 = P.read_probe(P.build_ipv4(A4, B4, P.IPPROTO_UDP, udp, ttl=5, ipid=9))
    assert (v4.v6, v4.df, v4.ttl, v4.ipid, v4.size, v4.sport, v4.dport) == (
        False, True, 5, 9, 40, 40000, 33436)
    assert not P.read_probe(P.build_ipv4(A4, B4, P.IPPROTO_UDP, udp, ttl=5, df=False)).df
    # an IPv6 later fragment: the protocol behind the fragment header, its
    # offset and identification, no transport header; never fragmented on
    # the way, as every IPv6 packet
    frag = struct.pack(">BBHI", P.IPPROTO_UDP, 0, 3 << 3, 0x40000005) + bytes(16)
    v6 = P.read_probe(P.build_ipv6(A6, B6, P.IPPROTO_FRAGMENT, frag, hlim=7, flow=3))
    assert (v6.v6, v6.df, v6.proto, v6.offset, v6.ipid, v6.flow, v6.size) == (
        True, True, P.IPPROTO_UDP, 3, 0x40000005, 3, 64)
    assert not v6.has_transport and (v6.sport, v6.dport) == (0, 0)
    with pytest.raises(P.MalformedPacket):
        P.read_probe(bytes(12))


def test_packets_tcp_synack_with_mss() -> None:
    seg = P.build_tcp(B4, A4, 80, 40000, seq=1, ack=2, flags=P.TcpFlag.SYN | P.TcpFlag.ACK,
                      options=tcp_mss_option(1460))
    assert P.checksum(seg, P.pseudo_sum(B4, A4, P.IPPROTO_TCP, len(seg))) == 0
    r = P.parse_ipv4(P.build_ipv4(B4, A4, P.IPPROTO_TCP, seg, ttl=64))
    assert (r.sport, r.dport, r.tcp_flags, r.tcp_mss) == (80, 40000, 0x12, 1460)


def test_packets_record_route_option_parsed() -> None:
    opt = bytearray(ipopt_record_route())
    opt[2] = 12  # two addresses recorded
    opt[3:7] = R4
    opt[7:11] = B4
    icmp = P.build_icmp_echo(1, 0, b"")
    icmp = bytes([0]) + icmp[1:]
    pkt = P.build_ipv4(B4, A4, P.IPPROTO_ICMP, icmp, ttl=60, options=bytes(opt))
    r = P.parse_ipv4(pkt)
    assert r.rr == (R4, B4)


@pytest.mark.parametrize("data", [b"", b"\x45" * 10, b"\x46" + b"\x00" * 19,
                                  b"\x45\x00\x00\x1c" + b"\x00" * 5 + b"\x01" + b"\x00" * 10])
def test_packets_malformed_raise(data: bytes) -> None:
    with pytest.raises(P.MalformedPacket):
        P.parse_ipv4(data)


@given(st.binary(max_size=300))
def test_packets_parse_never_raises_other(data: bytes) -> None:
    for fn in (lambda d: P.parse_ipv4(d),
               lambda d: P.parse_ipv6_payload(58, d, A6, B6, 1, 0),
               lambda d: P.parse_ipv6_payload(6, d, A6, B6, 1, 0)):
        try:
            fn(data)
        except P.MalformedPacket:
            pass
    parse_icmp_extensions(data)
