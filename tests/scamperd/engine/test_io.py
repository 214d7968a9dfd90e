"""RawIO.send: which socket an IPv6 probe leaves through, and what goes with
it (the kernel's view; tests/scamperd/engine/test_wire_parity.py checks the
packets on the wire against Debian's scamper).  Fake sockets record the
calls, so nothing is sent."""

from __future__ import annotations

import socket
import struct
from typing import Any

import pytest

from scamperd.engine import io as engine_io
from scamperd.engine.io import IPV6_HOPLIMIT, IPV6_PKTINFO, IPV6_TCLASS, RawIO
from scamperd.engine.packets import build_icmp_echo, build_ip, build_tcp, build_udp
from scamperd.engine.task import Probe

SRC = socket.inet_pton(socket.AF_INET6, "::1")
DST = socket.inet_pton(socket.AF_INET6, "fd00:200:6::2")
V6 = socket.IPPROTO_IPV6


class FakeSock:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []
        self.closed = False

    def sendto(self, data: bytes, addr: tuple[str, int]) -> int:
        self.sent.append(("sendto", bytes(data), addr))
        return len(data)

    def sendmsg(self, bufs: list[Any], anc: list[tuple[int, int, bytes]], flags: int,
                addr: tuple[str, int]) -> int:
        self.sent.append(("sendmsg", b"".join(bytes(b) for b in bufs), anc, addr))
        return 0

    def close(self) -> None:
        self.closed = True


def _io() -> tuple[RawIO, FakeSock, FakeSock]:
    io = RawIO()
    raw, icmp6 = FakeSock(), FakeSock()
    io._send6, io._icmp6 = raw, icmp6  # type: ignore[assignment]
    return io, raw, icmp6


def _anc(hlim: int, tclass: int) -> list[tuple[int, int, bytes]]:
    return [(V6, IPV6_HOPLIMIT, struct.pack("@i", hlim)),
            (V6, IPV6_TCLASS, struct.pack("@i", tclass))]


def test_io_icmp6_probe_through_icmp6_socket_with_ancillary_data() -> None:
    io, raw, icmp6 = _io()
    body = build_icmp_echo(4000, 3, bytes(12), v6=True, src=SRC, dst=DST)
    io.send(Probe(DST, build_ip(SRC, DST, 58, body, ttl=7, tos=32)))
    assert raw.sent == []
    pktinfo = (V6, IPV6_PKTINFO, SRC + struct.pack("@i", 0))
    assert icmp6.sent == [("sendmsg", body, [*_anc(7, 32), pktinfo], ("fd00:200:6::2", 0))]


def test_io_udp6_probe_through_bound_udp_socket() -> None:
    io, raw, _ = _io()
    udp = FakeSock()
    io._udp6[(SRC, 40000)] = [udp, 0]
    body = build_udp(SRC, DST, 40000, 33436, b"\x01\x02")
    io.send(Probe(DST, build_ip(SRC, DST, 17, body, ttl=3)))
    assert raw.sent == []
    assert udp.sent == [("sendmsg", b"\x01\x02", _anc(3, 0), ("fd00:200:6::2", 33436))]
    assert io._udp6[(SRC, 40000)][1] > 0  # its last use, for expire()


@pytest.mark.parametrize("kind", ["tcp", "flow label"])
def test_io_ipv6_sent_whole_when_scamper_writes_the_header(kind: str) -> None:
    """TCP, and a flow label the method chose (scamper writes both on its
    datalink): through IPPROTO_RAW, header and all."""
    io, raw, icmp6 = _io()
    if kind == "tcp":
        body = build_tcp(SRC, DST, 4000, 80, seq=0, ack=0, flags=2)
        pkt = build_ip(SRC, DST, 6, body, ttl=5)
    else:
        body = build_icmp_echo(4000, 3, bytes(12), v6=True, src=SRC, dst=DST)
        pkt = build_ip(SRC, DST, 58, body, ttl=5, flow=9)
    io.send(Probe(DST, pkt))
    assert icmp6.sent == [] and raw.sent == [("sendto", pkt, ("fd00:200:6::2", 0))]


def test_io_udp6_port_in_use_sent_whole_until_expired() -> None:
    """A source port another socket holds cannot be bound: the probe goes
    out whole instead, and the bind is tried again once expire() forgets."""
    holder = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        holder.bind(("::1", 0))
        port = holder.getsockname()[1]
        io, raw, _ = _io()
        pkt = build_ip(SRC, DST, 17, build_udp(SRC, DST, port, 33435, bytes(4)), ttl=2)
        io.send(Probe(DST, pkt))
        io.send(Probe(DST, pkt))
        assert [s[0] for s in raw.sent] == ["sendto", "sendto"]
        assert io._udp6[(SRC, port)][0] is None
    finally:
        holder.close()
    t = io._udp6[(SRC, port)][1]
    assert io.expire(t) == t + engine_io.UDP6_IDLE_NS
    assert io.expire(t + engine_io.UDP6_IDLE_NS) is None and not io._udp6
    ent = io._udp6_sock(SRC, port)  # free now: bound
    assert ent is not None and ent[0].getsockname()[1] == port
    io.close()
    assert not io._udp6


def test_io_udp6_sockets_closed_after_idle() -> None:
    io, _, _ = _io()
    old, new = FakeSock(), FakeSock()
    io._udp6[(SRC, 1)] = [old, 100]
    io._udp6[(SRC, 2)] = [new, 100 + engine_io.UDP6_IDLE_NS]
    assert io.expire(100 + engine_io.UDP6_IDLE_NS) == 100 + 2 * engine_io.UDP6_IDLE_NS
    assert old.closed and not new.closed and list(io._udp6) == [(SRC, 2)]
