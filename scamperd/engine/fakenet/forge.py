"""Reply packets forged the way hosts and routers build them, and read back
the way the engine's raw sockets deliver them.

Everything here makes whole IP packets with scamperd.engine.packets, reads
the packet it answers as a router would (``packets.read_probe``: the
headers an ICMP error quotes), and parses what it forged with the engine's
parse functions (:func:`as_received`), so a forged
reply is a real :class:`~scamperd.engine.packets.Reply` and the engine's
matching and the methods' exact checks see what they would see on a wire.
The fake network answers with these, and the method tests forge their
replies with them too (one set of forgers for every test).
"""

from __future__ import annotations

import random
import struct

from .. import packets as P

_HDR6 = struct.Struct(">IHBB16s16s")
_TCP = struct.Struct(">HHIIBB")
_FRAG6 = struct.Struct(">BBHI")  # next header, reserved, offset | M, identification

# RFC 1812 4.3.2.3 / RFC 4443 2.4(c): an ICMP error is at most 576 bytes
# (IPv4) or the minimum MTU (IPv6), and quotes as much of the offending
# packet as fits, as Linux does.
QUOTE_MAX = {False: 576 - 20 - 8, True: 1280 - 40 - 8}


def _hl(pkt: bytes) -> int:
    """Where the transport header of a whole IP packet starts (no IPv6
    extension headers: the replies and probes forged here have none)."""
    return 40 if pkt[0] >> 4 == 6 else (pkt[0] & 0x0F) * 4


def with_ttl(pkt: bytes, ttl: int) -> bytes:
    """``pkt`` as it arrives with ``ttl`` left (the IPv4 checksum redone)."""
    if pkt[0] >> 4 == 6:
        return pkt[:7] + bytes((ttl,)) + pkt[8:]
    ihl = (pkt[0] & 0x0F) * 4
    hdr = pkt[:8] + bytes((ttl,)) + pkt[9:10] + b"\0\0" + pkt[12:ihl]
    return hdr[:10] + struct.pack(">H", P.checksum(hdr)) + hdr[12:] + pkt[ihl:]


def icmp_msg(typ: int, code: int, rest: bytes, data: bytes, *, src: bytes = b"",
             dst: bytes = b"") -> bytes:
    """An ICMP or (with 16-byte ``src`` and ``dst``) ICMPv6 message with its
    checksum: type, code, the 4 bytes after the checksum, then ``data``."""
    body = struct.pack(">BBH", typ, code, 0) + rest + data
    init = P.pseudo_sum(src, dst, P.IPPROTO_ICMPV6, len(body)) if len(dst) == 16 else 0
    return body[:2] + struct.pack(">H", P.checksum(body, init)) + body[4:]


def ip(src: bytes, dst: bytes, proto: int, payload: bytes, *, ttl: int, ipid: int = 0,
       tos: int = 0, df: bool = False, options: bytes = b"") -> bytes:
    """A whole reply packet (IPv4 or IPv6 by the addresses)."""
    return P.build_ip(src, dst, proto, payload, ttl=ttl, tos=tos, ipid=ipid, df=df,
                      options=options)


def icmp_error(frm: bytes, quote: bytes, typ: int, code: int, *, rest: bytes = bytes(4),
               ttl: int = 64, ipid: int = 0, tos: int = 0, to: bytes | None = None,
               exts: bytes = b"") -> bytes:
    """An ICMP error from ``frm`` to the quoted packet's source (or ``to``),
    quoting as much of it as an error may carry.  With ``exts`` (an RFC 4884
    extension structure, :func:`mpls_extension`) the quote is cut or padded
    to 128 bytes, its length given in the header, and ``exts`` follows."""
    v6 = len(frm) == 16
    if to is None:
        to = quote[8:24] if v6 else quote[12:16]
    data = quote[:QUOTE_MAX[v6]]
    if exts:
        data = data[:128].ljust(128, b"\0") + exts
        # the original datagram's length: 64-bit words in the first byte
        # after the checksum (ICMPv6), 32-bit words in the second (ICMPv4)
        rest = bytes((16,)) + rest[1:] if v6 else rest[:1] + bytes((32,)) + rest[2:]
    body = icmp_msg(typ, code, rest, data, src=frm, dst=to)
    proto = P.IPPROTO_ICMPV6 if v6 else P.IPPROTO_ICMP
    return ip(frm, to, proto, body, ttl=ttl, ipid=ipid, tos=tos)


def mpls_extension(*entries: tuple[int, int, int, int]) -> bytes:
    """An RFC 4884 extension structure holding one RFC 4950 MPLS label stack
    object, an entry per (label, exp, bottom of stack, ttl)."""
    stack = b"".join(struct.pack(">I", label << 12 | exp << 9 | s << 8 | ttl)
                     for label, exp, s, ttl in entries)
    ext = bytearray(b"\x20\x00\x00\x00" + struct.pack(">HBB", 4 + len(stack), 1, 1) + stack)
    struct.pack_into(">H", ext, 2, P.checksum(ext))
    return bytes(ext)


def time_exceeded(frm: bytes, quote: bytes, *, ttl: int = 64, ipid: int = 0,
                  exts: bytes = b"") -> bytes:
    v6 = len(frm) == 16
    return icmp_error(frm, quote, P.Icmp6.TIME_EXCEEDED if v6 else P.Icmp4.TIMXCEED, 0,
                      ttl=ttl, ipid=ipid, exts=exts)


def port_unreachable(frm: bytes, quote: bytes, *, ttl: int = 64, ipid: int = 0) -> bytes:
    if len(frm) == 16:
        return icmp_error(frm, quote, P.Icmp6.DST_UNREACH, 4, ttl=ttl, ipid=ipid)
    return icmp_error(frm, quote, P.Icmp4.UNREACH, 3, ttl=ttl, ipid=ipid)


def too_big(frm: bytes, quote: bytes, mtu: int, *, ttl: int = 64, ipid: int = 0) -> bytes:
    """Fragmentation needed (RFC 1191) or packet too big (RFC 4443 3.2)."""
    if len(frm) == 16:
        return icmp_error(frm, quote, P.Icmp6.PACKET_TOO_BIG, 0,
                          rest=struct.pack(">I", mtu), ttl=ttl, ipid=ipid)
    return icmp_error(frm, quote, P.Icmp4.UNREACH, 4, rest=struct.pack(">HH", 0, mtu),
                      ttl=ttl, ipid=ipid)


def echo_reply(probe: bytes, *, frm: bytes | None = None, ttl: int = 64, ipid: int = 0,
               tos: int = 0, options: bytes = b"") -> bytes:
    """The echo reply to an echo request: same id, sequence and data (and
    the IPv4 ``options`` a router filled in, for record-route tests)."""
    v = P.read_probe(probe)
    frm = v.dst if frm is None else frm
    icmp = probe[_hl(probe):v.size]
    typ = P.Icmp6.ECHO_REPLY if v.v6 else P.Icmp4.ECHOREPLY
    body = icmp_msg(typ, 0, icmp[4:8], icmp[8:], src=frm, dst=v.src)
    return ip(frm, v.src, v.proto, body, ttl=ttl, ipid=ipid, tos=tos, options=options)


def timestamp_reply(probe: bytes, receive: int = 0, transmit: int = 0, *,
                    frm: bytes | None = None, ttl: int = 64, ipid: int = 0,
                    tos: int = 0) -> bytes:
    """The reply to an ICMP timestamp request (RFC 792): its id, sequence
    and originate time, the host's receive and transmit times (ms since
    midnight UTC), and no data."""
    v = P.read_probe(probe)
    frm = v.dst if frm is None else frm
    icmp = probe[_hl(probe):v.size]
    stamps = icmp[8:12] + struct.pack(">II", receive, transmit)
    body = icmp_msg(P.Icmp4.TSTAMPREPLY, 0, icmp[4:8], stamps)
    return ip(frm, v.src, P.IPPROTO_ICMP, body, ttl=ttl, ipid=ipid, tos=tos)


def tcp_reply(probe: bytes, flags: int, *, seq: int = 0, ack: int | None = None,
              ttl: int = 64, ipid: int = 0, tos: int = 0, options: bytes = b"") -> bytes:
    """A segment back from the probe's destination port to its source port;
    ``ack`` defaults to the probe's sequence number plus one."""
    v = P.read_probe(probe)
    seg = P.build_tcp(v.dst, v.src, v.dport, v.sport, seq=seq,
                      ack=v.tcp_seq + 1 if ack is None else ack, flags=flags, options=options)
    return ip(v.dst, v.src, P.IPPROTO_TCP, seg, ttl=ttl, ipid=ipid, tos=tos)


def tcp_answer(probe: bytes, open_ports: tuple[int, ...], *, isn: int = 0, ttl: int = 64,
               ipid: int = 0) -> bytes:
    """How a host's TCP answers a probe (RFC 9293 3.10.7.1): a SYN to an
    open port gets a SYN-ACK; any other SYN a RST-ACK; a segment with ACK a
    RST whose sequence number is that ACK."""
    hl = _hl(probe)
    _sp, dport, _seq, pack, _doff, flags = _TCP.unpack_from(probe.ljust(hl + 14, b"\0"), hl)
    if flags & P.TcpFlag.ACK:
        return tcp_reply(probe, P.TcpFlag.RST, seq=pack, ack=0, ttl=ttl, ipid=ipid)
    if flags & P.TcpFlag.SYN and dport in open_ports:
        return tcp_reply(probe, P.TcpFlag.SYN | P.TcpFlag.ACK, seq=isn, ttl=ttl, ipid=ipid)
    return tcp_reply(probe, P.TcpFlag.RST | P.TcpFlag.ACK, ttl=ttl, ipid=ipid)


def host_answer(probe: bytes, open_ports: tuple[int, ...], isn: random.Random, *,
                ttl: int, ipid: int) -> bytes | None:
    """How a host answers a packet addressed to it: an echo reply to an
    echo request, port unreachable to UDP, its TCP's answer to TCP (a SYN-ACK
    from ``open_ports`` with an initial sequence number drawn from ``isn``),
    nothing to anything else.  Nothing either to a later fragment alone: it
    is held for a reassembly that never completes, and without the first
    fragment no ICMP error is sent (RFC 8200 4.5)."""
    v = P.read_probe(probe)
    if v.offset:
        return None
    if v.proto in (P.IPPROTO_ICMP, P.IPPROTO_ICMPV6):
        if v.icmp_type != (P.Icmp6.ECHO_REQUEST if v.v6 else P.Icmp4.ECHO):
            return None
        return echo_reply(probe, ttl=ttl, ipid=ipid)
    if v.proto == P.IPPROTO_UDP:
        return port_unreachable(v.dst, probe, ttl=ttl, ipid=ipid)
    if v.proto == P.IPPROTO_TCP:
        return tcp_answer(probe, open_ports, isn=isn.randrange(1 << 32), ttl=ttl, ipid=ipid)
    return None


def learned_mtu(pkt: bytes) -> tuple[bytes, int] | None:
    """What a host learns from ``pkt``, addressed to it, when it is a
    fragmentation needed or packet too big (RFC 1191, RFC 8201): the
    destination the packet it quotes was for, and the MTU towards it."""
    r = as_received(pkt, 0)
    if r.quote is None or not r.is_ptb():
        return None
    return r.quote.dst, r.icmp_nhmtu


def fragments(pkt: bytes, mtu: int, ident: int = 0) -> list[bytes]:
    """``pkt`` as its sender fragments it for a path MTU of ``mtu``, first
    fragment first (``[pkt]`` when it fits); every fragment but the last
    carries a multiple of 8 data bytes.  IPv4 (RFC 791 3.2): each keeps the
    IP-ID, DF is cleared.  IPv6 (RFC 8200 4.5): a fragment header with
    identification ``ident`` after the IPv6 header."""
    if len(pkt) <= mtu:
        return [pkt]
    if pkt[0] >> 4 == 6:
        return _fragments6(pkt, mtu, ident)
    return _fragments4(pkt, mtu)


def _fragments6(pkt: bytes, mtu: int, ident: int) -> list[bytes]:
    first, plen, nxt, hlim, src, dst = _HDR6.unpack_from(pkt)
    data = pkt[40:40 + plen]
    room = (mtu - 40 - 8) & ~7
    out = []
    for off in range(0, len(data), room):
        part = data[off:off + room]
        fh = _FRAG6.pack(nxt, 0, off | (off + room < len(data)), ident & 0xFFFFFFFF)
        out.append(_HDR6.pack(first, 8 + len(part), P.IPPROTO_FRAGMENT, hlim, src, dst)
                   + fh + part)
    return out


def _fragments4(pkt: bytes, mtu: int) -> list[bytes]:
    hdr = pkt[:_hl(pkt)]
    data = pkt[len(hdr):struct.unpack_from(">H", pkt, 2)[0]]
    out = []
    off = 0
    while off < len(data):
        part = data[off:off + ((mtu - len(hdr)) & ~7)]
        more = off + len(part) < len(data)
        h = bytearray(hdr)
        h[0] = 0x40 | len(hdr) // 4
        struct.pack_into(">H", h, 2, len(hdr) + len(part))
        struct.pack_into(">H", h, 6, (0x2000 if more else 0) | off >> 3)
        h[10:12] = b"\0\0"
        struct.pack_into(">H", h, 10, P.checksum(h))
        out.append(bytes(h) + part)
        off += len(part)
        # later fragments carry only options with the copied flag, which
        # record route and timestamps (all a reply of ours has) lack
        hdr = hdr[:20]
    return out


def as_received(pkt: bytes, rx_ns: int, ifindex: int = 0) -> P.Reply:
    """``pkt`` parsed as the engine's raw sockets hand it over: IPv4 whole,
    IPv6 as the payload plus what the kernel gives in ancillary data."""
    if pkt[0] >> 4 != 6:
        return P.parse_ipv4(pkt, rx_ns, ifindex)
    first, plen, nxt, hlim, src, dst = _HDR6.unpack_from(pkt)
    return P.parse_ipv6_payload(nxt, pkt[40:40 + plen], src, dst, hlim, (first >> 20) & 0xFF,
                                rx_ns, ifindex)
