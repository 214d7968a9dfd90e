"""dealias's probe packets, as do_dealias_probe() builds them.

Every IPv4 probe has DF set and the IP-ID ``id << 8 | id``, where ``id``
counts down from 255 (skipping 0) with each probe sent: ICMP errors quote
it back, and a quote whose IP-ID is not of that ``0xabab`` form is not
ours.  The payload is zeros, at least two bytes, the first two of which
hold the transport checksum at a value:

| probedef | ports / id | held checksum |
|---|---|---|
| udp | sport, dport | UDP checksum = probe count + 1 |
| udp-dport | sport, dport + n (n-th probe to that address) | as udp |
| icmp-echo | ICMP id = -F, seq counts up | ICMP checksum = -c |
| tcp-ack | sport, dport, one random seq/ack per definition | none (no payload) |
| tcp-ack-sport, tcp-syn-sport | sport + n, dport, random seq/ack each | none |

scamper computes the held bytes with its IPv4 checksum routines for both
families; over IPv6 the kernel then computes the real checksum, so the
payload bytes are the IPv4-style sum (the first four bytes of each address
in the UDP pseudo-header, no pseudo-header for ICMP), reproduced here.
"""

from __future__ import annotations

import struct

from protocol.commands.dealias_probedef import ProbedefMethod

from ...engine import packets as P

PM = ProbedefMethod
_H = struct.Struct(">H")


def header_len(method: int, v6: bool) -> int:
    """dealias_probedef_add(): IP header plus the transport header."""
    ip = 40 if v6 else 20
    return ip + (20 if method in (PM.TCP_ACK, PM.TCP_ACK_SPORT, PM.TCP_SYN_SPORT) else 8)


def proto_of(method: int, v6: bool) -> int:
    if method == PM.ICMP_ECHO:
        return P.IPPROTO_ICMPV6 if v6 else P.IPPROTO_ICMP
    if method in (PM.UDP, PM.UDP_DPORT):
        return P.IPPROTO_UDP
    return P.IPPROTO_TCP


def _fold(s: int) -> int:
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s & 0xFFFF) or 0xFFFF


def _v4style_udp_sum(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> int:
    """scamper_udp4_cksum() as it runs on any probe: the first four bytes of
    each address in the pseudo-header."""
    n = len(payload) + 8
    s = P.sum16(src[:4] + dst[:4]) + P.IPPROTO_UDP + n + sport + dport + n
    return _fold(s + P.sum16(payload))


def _v4style_icmp_sum(typ: int, ident: int, seq: int, payload: bytes) -> int:
    """scamper_icmp4_cksum(): the echo header (checksum 0) and payload."""
    return _fold(P.sum16(struct.pack(">BBHHH", typ, 0, 0, ident, seq)) + P.sum16(payload))


def build(*, method: int, src: bytes, dst: bytes, ttl: int, tos: int, ipid: int,
          payload_len: int, sport: int, dport: int, icmp_id: int, icmp_seq: int,
          icmp_csum: int, udp_want: int, tcp_flags: int, tcp_seq: int, tcp_ack: int) -> bytes:
    """The whole IP packet of one dealias probe."""
    v6 = len(dst) == 16
    payload = bytearray(payload_len)
    if method in (PM.UDP, PM.UDP_DPORT):
        if v6:
            _H.pack_into(payload, 0, udp_want & 0xFFFF)
            _H.pack_into(payload, 0, _v4style_udp_sum(src, dst, sport, dport, bytes(payload)))
            body = P.build_udp(src, dst, sport, dport, bytes(payload))
        else:
            body = P.build_udp_held(src, dst, sport, dport, bytes(payload), udp_want)
        proto = P.IPPROTO_UDP
    elif method == PM.ICMP_ECHO:
        if v6:
            _H.pack_into(payload, 0, icmp_csum)
            _H.pack_into(payload, 0, _v4style_icmp_sum(P.Icmp6.ECHO_REQUEST, icmp_id,
                                                       icmp_seq, bytes(payload)))
            body = P.build_icmp_echo(icmp_id, icmp_seq, bytes(payload), v6=True, src=src,
                                     dst=dst)
            proto = P.IPPROTO_ICMPV6
        else:
            body = P.hold_icmp_sum(P.build_icmp_echo(icmp_id, icmp_seq, bytes(payload)), 8,
                                   icmp_csum)
            proto = P.IPPROTO_ICMP
    else:
        body = P.build_tcp(src, dst, sport, dport, seq=tcp_seq, ack=tcp_ack, flags=tcp_flags,
                           win=0, payload=bytes(payload))
        proto = P.IPPROTO_TCP
    return P.build_ip(src, dst, proto, body, ttl=ttl, tos=tos, ipid=ipid, df=True)
