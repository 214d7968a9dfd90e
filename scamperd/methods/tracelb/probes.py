"""tracelb's probe packets, as do_tracelb_probe() builds them.

Every probe carries the flow identifier in a field routers hash and the
probe id (the 0-based count of probes sent, ``pid``) in a field routers
quote back but do not hash:

| method | flow id in | other fields | probe id in |
|---|---|---|---|
| udp-dport | UDP dport | sport = -s | UDP checksum = pid + 1 (steered), v4 IP-ID too |
| udp-sport | UDP sport | dport = -d | as udp-dport |
| icmp-echo | ICMP checksum (payload 0-1) | ICMP id = -s | ICMP seq = pid |
| tcp-sport | TCP sport, SYN | dport = -d, seq = ack = win = 0 | IP-ID = pid + 1 |
| tcp-ack-sport | TCP sport, ACK | as tcp-sport | as tcp-sport |

IPv4 probes have DF set; ICMP echo probes leave IP-ID 0.  The probe size is
44 bytes over IPv4 (40 for TCP, no payload) and 60 over IPv6: payloads of
16 and 12 zero bytes (less the two steering bytes).

scamper sends udp-sport, tcp-sport and tcp-ack-sport on the datalink (it
needs no socket bound to each port), and every method when ``-r`` names a
first-hop router; udp-dport leaves through a UDP socket bound to ``-s`` over
IPv6 and a raw socket over IPv4, icmp-echo through an ICMP socket.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.commands.tracelb import TracelbMethod

from ...engine import packets as P
from ...engine.task import FlowSpec

M = TracelbMethod
UDP_METHODS = frozenset((M.UDP_DPORT, M.UDP_SPORT))
TCP_METHODS = frozenset((M.TCP_SPORT, M.TCP_ACK_SPORT))
VARY_SPORT = frozenset((M.UDP_SPORT, M.TCP_SPORT, M.TCP_ACK_SPORT))


def probe_proto(method: int, v6: bool) -> int:
    """The IP protocol of a tracelb's probes (and of its match keys)."""
    if method == M.ICMP_ECHO:
        return P.IPPROTO_ICMPV6 if v6 else P.IPPROTO_ICMP
    return P.IPPROTO_TCP if method in TCP_METHODS else P.IPPROTO_UDP


@dataclass(frozen=True, slots=True)
class LbSpec(FlowSpec):
    """What stays the same across one tracelb's probes."""

    payload_size: int


def build_probe(spec: LbSpec, pid: int, flowid: int, ttl: int) -> bytes:
    """The whole IP packet of probe ``pid`` for flow ``flowid`` at ``ttl``."""
    m = spec.method
    v6 = spec.v6
    payload = bytearray(spec.payload_size)
    ipid = 0
    if m in UDP_METHODS:
        proto = P.IPPROTO_UDP
        ipid = pid + 1
        if m == M.UDP_DPORT:
            sport, dport = spec.sport, flowid
        else:
            sport, dport = flowid, spec.dport
        body = P.build_udp_held(spec.src, spec.dst, sport, dport, bytes(payload), pid + 1)
    elif m == M.ICMP_ECHO:
        proto = P.IPPROTO_ICMPV6 if v6 else P.IPPROTO_ICMP
        body = P.hold_icmp_sum(P.build_icmp_echo(spec.sport, pid & 0xFFFF, bytes(payload), v6=v6,
                                             src=spec.src, dst=spec.dst), 8, flowid,
                             spec.src, spec.dst)
    else:
        proto = P.IPPROTO_TCP
        ipid = pid + 1
        flags = P.TcpFlag.SYN if m == M.TCP_SPORT else P.TcpFlag.ACK
        body = P.build_tcp(spec.src, spec.dst, flowid, spec.dport, seq=0, ack=0, flags=flags,
                         win=0, payload=bytes(payload))
    return P.build_ip(spec.src, spec.dst, proto, body, ttl=ttl, tos=spec.tos,
                    ipid=ipid & 0xFFFF, df=True)
