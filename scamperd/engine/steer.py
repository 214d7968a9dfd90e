"""Probes whose checksum carries a value: UDP and ICMP echo checksums steered
through the first two payload bytes.

Paris traceroute and MDA hold a packet's flow steady (or vary it) through a
field routers hash, and scamper uses the transport checksum for it: write
the wanted value into payload bytes 0-1, checksum the message as it stands,
and store that checksum in those bytes instead.  The two 16-bit words trade
places in the one's complement sum, so the message's real checksum comes
out as the wanted value (RFC 1071's arithmetic; scamper_trace_do.c and
scamper_tracelb_do.c do the same).  ``payload`` must hold at least two bytes.
"""

from __future__ import annotations

import struct

from .packets import IPPROTO_ICMPV6, Icmp4, Icmp6, build_icmp_echo, build_udp, checksum, pseudo_sum

_H = struct.Struct(">H")


def steered_udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytearray,
                want: int) -> bytes:
    """A UDP datagram whose checksum is ``want``; ``payload`` is changed."""
    _H.pack_into(payload, 0, want & 0xFFFF)
    first = build_udp(src, dst, sport, dport, bytes(payload))
    payload[0:2] = first[6:8]
    return build_udp(src, dst, sport, dport, bytes(payload))


def steered_echo(ident: int, seq: int, payload: bytearray, want: int, *, v6: bool,
                 src: bytes, dst: bytes) -> bytes:
    """An ICMP (v6: ICMPv6) echo request whose checksum is ``want``."""
    _H.pack_into(payload, 0, want & 0xFFFF)
    typ = Icmp6.ECHO_REQUEST if v6 else Icmp4.ECHO
    hdr = struct.pack(">BBHHH", typ, 0, 0, ident, seq)
    init = pseudo_sum(src, dst, IPPROTO_ICMPV6, 8 + len(payload)) if v6 else 0
    _H.pack_into(payload, 0, checksum(hdr + payload, init))
    return build_icmp_echo(ident, seq, bytes(payload), v6=v6, src=src, dst=dst,
                           csum=want & 0xFFFF)
