"""Trace probe packets and reply-to-probe matching, as scamper 20260420 does them.

``do_trace_probe`` and ``do_trace_handle_icmp`` / ``do_trace_handle_dl`` in
scamper_trace_do.c.  Every probe carries scamper's probe id (``id``: the
0-based count of probes sent by this trace) somewhere a router quotes back:

| method | constant | id carried in |
|---|---|---|
| udp | sport | UDP dport = dport + id |
| udp-paris | sport, dport | UDP checksum = id + 1 (payload bytes 0-1 steer it) |
| icmp | ICMP id = sport | ICMP seq = id |
| icmp-paris | ICMP id = sport, checksum = dport (payload bytes 0-1) | ICMP seq = id |
| tcp, tcp-ack | sport, dport, seq = ack = win = 0, SYN / ACK | v4 IP-ID, v6 flow = id + 1 |
| any, ``-o`` (IPv6) | fragment id high 16 bits = sport | fragment id low 16 bits, data bytes 0-3 |

With ``-o OFFSET`` (IPv6 only) every probe is a lone non-first fragment
(scamper_ip6_frag_build): the IPv6 header, a fragment header with that
offset (in 8-byte units, M clear) and identification ``sport << 16 | id``
naming the method's protocol as next header, then the payload, whose first
four bytes are ``id`` (big-endian).  No transport header: the probe size
counts only the IPv6 header (trace_probe_headerlen), so the packet is the
probe size plus the 8-byte fragment header.

Every IPv4 probe has DF set and IP-ID = id + 1 (scamper counts from one so
that routers that zero the quoted IP-ID cannot confuse matching).
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass

from warts.types.trace import TraceType

from ...engine.packets import (
    IPPROTO_FRAGMENT,
    TcpFlag,
    build_icmp_echo,
    build_ip,
    build_ipv6,
    build_tcp,
    build_udp,
    build_udp_held,
    headers_len,
    hold_icmp_sum,
    probe_ip_proto,
)
from ...engine.task import FlowSpec

T = TraceType
ICMP_TYPES = frozenset((T.ICMP_ECHO, T.ICMP_ECHO_PARIS))
UDP_TYPES = frozenset((T.UDP, T.UDP_PARIS))
TCP_TYPES = frozenset((T.TCP, T.TCP_ACK))

_H = struct.Struct(">H")
_U32 = struct.Struct(">I")
_FRAG = struct.Struct(">BBHI")  # next header, reserved, offset | M, identification


def probe_proto(method: int, v6: bool) -> int:
    """The IP protocol of a trace's probes (and of its match keys)."""
    return probe_ip_proto(method in ICMP_TYPES, method in TCP_TYPES, v6)


def header_size(method: int, v6: bool) -> int:
    """trace_probe_headerlen(): IP plus transport header bytes."""
    return headers_len(probe_proto(method, v6), v6)


def byteswap16(v: int) -> int:
    return ((v & 0xFF) << 8) | (v >> 8)


@dataclass(frozen=True, slots=True)
class ProbeSpec(FlowSpec):
    """What stays the same across one trace's probes."""

    payload: bytes          # the -p payload (b"" for zeros)
    payload_size: int       # probe size less headers
    const_payload: bool = False  # -O const-payload
    offset: int = 0              # -o: IPv6 fragment offset, 8-byte units


def _payload(spec: ProbeSpec, zero: bool) -> bytearray:
    buf = bytearray(spec.payload_size)
    if spec.payload and not zero:
        n = min(len(spec.payload), spec.payload_size)
        buf[:n] = spec.payload[:n]
    return buf


def build_probe(spec: ProbeSpec, pid: int, ttl: int, *, zero_payload: bool = False,
                size: int | None = None) -> bytes:
    """The whole IP packet of probe ``pid`` sent with ``ttl``.

    ``size`` overrides the probe size (PMTUD probes); ``zero_payload`` sends
    a zeroed payload, as scamper does in its PMTUD modes.
    """
    v6 = spec.v6
    if size is not None:
        spec = _resized(spec, size)
    payload = _payload(spec, zero_payload)
    if spec.offset:
        return _fragment(spec, pid, ttl, payload)
    m = spec.method
    flow = 0
    if m in UDP_TYPES:
        dport = spec.dport
        if m == T.UDP:
            dport = (dport + pid) & 0xFFFF
            body = build_udp(spec.src, spec.dst, spec.sport, dport, bytes(payload))
        elif not spec.const_payload and len(payload) >= 2:
            # the UDP checksum carries id + 1 (scamper's "hack the checksum
            # to be our id field")
            body = build_udp_held(spec.src, spec.dst, spec.sport, dport, bytes(payload),
                                  pid + 1)
        else:
            if v6:
                flow = pid + 1
            body = build_udp(spec.src, spec.dst, spec.sport, dport, bytes(payload))
    elif m in ICMP_TYPES:
        held = m == T.ICMP_ECHO_PARIS and len(payload) >= 2
        body = build_icmp_echo(spec.sport, pid & 0xFFFF, bytes(payload), v6=v6, src=spec.src,
                               dst=spec.dst, csum=spec.dport if held else None)
        if held:
            # the checksum is held at -d through payload bytes 0-1
            body = hold_icmp_sum(body, 8, spec.dport, spec.src, spec.dst)
    else:
        flags = TcpFlag.SYN if m == T.TCP else TcpFlag.ACK
        body = build_tcp(spec.src, spec.dst, spec.sport, spec.dport, seq=0, ack=0,
                         flags=flags, win=0, payload=bytes(payload))
        if v6:
            flow = pid + 1
    return build_ip(spec.src, spec.dst, probe_proto(m, v6), body, ttl=ttl, tos=spec.tos,
                    ipid=(pid + 1) & 0xFFFF, df=True, flow=flow & 0xFFFFF)


def _fragment(spec: ProbeSpec, pid: int, ttl: int, payload: bytearray) -> bytes:
    """A -o probe: a non-first IPv6 fragment (see the module docstring)."""
    _U32.pack_into(payload, 0, pid & 0xFFFFFFFF)
    frag = _FRAG.pack(probe_proto(spec.method, True), 0, (spec.offset << 3) & 0xFFF8,
                      ((spec.sport << 16) | (pid & 0xFFFF)) & 0xFFFFFFFF)
    return build_ipv6(spec.src, spec.dst, IPPROTO_FRAGMENT, frag + bytes(payload),
                      hlim=ttl, tclass=spec.tos)


def _resized(spec: ProbeSpec, size: int) -> ProbeSpec:
    hdr = 40 if spec.offset else header_size(spec.method, spec.v6)
    return dataclasses.replace(spec, payload_size=size - hdr)
