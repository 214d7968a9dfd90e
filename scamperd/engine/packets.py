"""Build and parse IPv4/IPv6 packets with ICMP, UDP and TCP: the engine's wire layer.

Theory of operation
-------------------
The ``build_*`` functions return complete IP packets, every field scamper
controls set as scamper sets it: IP-ID, DF, TTL, TOS/traffic class, flow
label, checksums.  IPv4 packets leave as they are (``IP_HDRINCL``).  An IPv6
ICMPv6 or UDP probe with flow label 0 leaves as scamper's does, through a
protocol socket (engine/io.py): the kernel rebuilds the IPv6 header from the
hop limit, traffic class and source given alongside, writes its own flow
label, and recomputes the checksum over the same bytes, so the payload must
already make the checksum come out as wanted (icmp-paris, udp-paris).

Replies arrive on per-protocol raw sockets.  IPv4 sockets hand us the IP
header; IPv6 ones do not, so the caller passes the fields the kernel gave in
ancillary data (source, hop limit, traffic class).  :func:`parse_ipv4` and
:func:`parse_ipv6_payload` fill one :class:`Reply`, including the probe quoted
inside an ICMP error (RFC 792 / RFC 4443), from which methods match the reply
to the probe they sent.  What is parsed mirrors scamper_icmp4.c /
scamper_icmp6.c: which ICMP types are wanted, the RFC 4884 extension block at
128 bytes past the ICMP header, and IPv4 record-route/timestamp options
(read by options.py, which also builds the options probes carry).

Every parser raises :class:`MalformedPacket` on a packet it cannot read; the
engine counts and drops those.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass
from enum import IntEnum
from sys import byteorder

from .options import ipv4_options, tcp_mss

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
# Transport header bytes of a probe (scamper's trace_probe_headerlen and
# ping's payload arithmetic): the probe size less these and the IP header
# is its payload.
TRANSPORT_HDR = {IPPROTO_UDP: 8, IPPROTO_ICMP: 8, IPPROTO_ICMPV6: 8, IPPROTO_TCP: 20}
IPPROTO_FRAGMENT = 44


class Icmp4(IntEnum):
    ECHOREPLY = 0
    UNREACH = 3
    ECHO = 8
    TIMXCEED = 11
    PARAMPROB = 12
    TSTAMP = 13
    TSTAMPREPLY = 14


class Icmp6(IntEnum):
    DST_UNREACH = 1
    PACKET_TOO_BIG = 2
    TIME_EXCEEDED = 3
    PARAM_PROB = 4
    ECHO_REQUEST = 128
    ECHO_REPLY = 129


class TcpFlag(IntEnum):
    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20
    ECE = 0x40
    CWR = 0x80


class MalformedPacket(ValueError):
    """A received packet that cannot be parsed; counted and dropped."""


_IP4 = struct.Struct(">BBHHHBBH4s4s")
_IP6 = struct.Struct(">IHBB16s16s")
_ICMP = struct.Struct(">BBHHH")
_UDP = struct.Struct(">HHHH")
_TCP = struct.Struct(">HHIIBBHHH")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_3U32 = struct.Struct(">III")

_SWAP = byteorder == "little"


def checksum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """The Internet checksum (RFC 1071) of ``data``, with ``initial`` added
    into the one's complement sum (for pseudo-headers)."""
    if len(data) & 1:
        data = bytes(data) + b"\x00"
    words = array("H", data)
    if _SWAP:
        words.byteswap()
    s = sum(words) + initial
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def sum16(data: bytes) -> int:
    """The one's complement sum of ``data`` (not complemented, not folded)."""
    if len(data) & 1:
        data = data + b"\x00"
    words = array("H", data)
    if _SWAP:
        words.byteswap()
    return sum(words)


def pseudo_sum(src: bytes, dst: bytes, proto: int, length: int) -> int:
    """The pseudo-header sum for UDP/TCP/ICMPv6 checksums (RFC 768, RFC 8200 §8.1)."""
    if len(src) == 4:
        return sum16(src + dst) + proto + length
    return sum16(src + dst) + (length >> 16) + (length & 0xFFFF) + proto


# --------------------------------------------------------------------------
# Building


def build_ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, *, ttl: int,
               tos: int = 0, ipid: int = 0, df: bool = True, offset: int = 0,
               options: bytes = b"") -> bytes:
    """A whole IPv4 packet.  ``options`` must be padded to a multiple of 4."""
    ihl = 5 + len(options) // 4
    total = ihl * 4 + len(payload)
    frag = (0x4000 if df else 0) | (offset & 0x1FFF)
    hdr = _IP4.pack(0x40 | ihl, tos, total, ipid, frag, ttl, proto, 0, src, dst) + options
    csum = checksum(hdr)
    return hdr[:10] + _U16.pack(csum) + hdr[12:] + payload


def build_ipv6(src: bytes, dst: bytes, nxt: int, payload: bytes, *, hlim: int,
               tclass: int = 0, flow: int = 0) -> bytes:
    """A whole IPv6 packet (no extension headers)."""
    first = (6 << 28) | ((tclass & 0xFF) << 20) | (flow & 0xFFFFF)
    return _IP6.pack(first, len(payload), nxt, hlim, src, dst) + payload


def build_ip(src: bytes, dst: bytes, proto: int, payload: bytes, *, ttl: int,
             tos: int = 0, ipid: int = 0, df: bool = True, flow: int = 0,
             options: bytes = b"") -> bytes:
    """An IPv4 or IPv6 packet, by the length of the addresses."""
    if len(dst) == 4:
        return build_ipv4(src, dst, proto, payload, ttl=ttl, tos=tos, ipid=ipid,
                          df=df, options=options)
    return build_ipv6(src, dst, proto, payload, hlim=ttl, tclass=tos, flow=flow)


def probe_ip_proto(icmp: bool, tcp: bool, v6: bool) -> int:
    """The IP protocol of an ICMP (of the family), TCP or else UDP probe:
    of its match keys too, and of the socket its replies arrive on."""
    if icmp:
        return IPPROTO_ICMPV6 if v6 else IPPROTO_ICMP
    return IPPROTO_TCP if tcp else IPPROTO_UDP


def headers_len(proto: int, v6: bool, ipopts: int = 0) -> int:
    """IP and transport header bytes of a probe of ``proto`` with ``ipopts``
    bytes of IPv4 options: its size less these is its payload
    (trace_probe_headerlen, ping_state_payload)."""
    return (40 if v6 else 20 + ipopts) + TRANSPORT_HDR[proto]


def hold_icmp_sum(msg: bytes, at: int, want: int, src: bytes = b"", dst: bytes = b"") -> bytes:
    """``msg``, an ICMP message (ICMPv6 with 16-byte ``src`` and ``dst``),
    with checksum ``want``: the two data bytes at ``at`` are rewritten so
    that the message sums right with it, as scamper holds a ping -C's and an
    icmp-paris trace's checksum.  scamper writes ``want`` there, sums the
    message with a zero checksum field (scamper_icmp4_cksum /
    scamper_icmp6_cksum, which give 0xffff rather than 0) and stores that
    sum there instead: the two words trade places in the sum."""
    buf = bytearray(msg)
    buf[2:4] = b"\x00\x00"
    _U16.pack_into(buf, at, want)
    init = pseudo_sum(src, dst, IPPROTO_ICMPV6, len(buf)) if len(dst) == 16 else 0
    _U16.pack_into(buf, at, checksum(buf, init) or 0xFFFF)
    _U16.pack_into(buf, 2, want)
    return bytes(buf)


def build_icmp_echo(ident: int, seq: int, payload: bytes, *, v6: bool = False,
                    src: bytes = b"", dst: bytes = b"", csum: int | None = None) -> bytes:
    """An ICMP/ICMPv6 echo request.  ICMPv6 checksums cover a pseudo-header,
    so ``src``/``dst`` are needed for v6.  ``csum`` forces a checksum value
    (the caller has arranged the payload to make it valid)."""
    typ = Icmp6.ECHO_REQUEST if v6 else Icmp4.ECHO
    body = _ICMP.pack(typ, 0, 0, ident, seq) + payload
    if csum is None:
        init = pseudo_sum(src, dst, IPPROTO_ICMPV6, len(body)) if v6 else 0
        csum = checksum(body, init)
    return body[:2] + _U16.pack(csum) + body[4:]


def build_icmp_tstamp(ident: int, seq: int, originate: int, payload: bytes = b"") -> bytes:
    """An ICMP timestamp request (RFC 792) with the originate time in ms since
    midnight UTC; receive and transmit are zero."""
    body = _ICMP.pack(Icmp4.TSTAMP, 0, 0, ident, seq) + _3U32.pack(originate, 0, 0) + payload
    return body[:2] + _U16.pack(checksum(body)) + body[4:]


def build_icmp_ptb(src: bytes, dst: bytes, mtu: int, quote: bytes) -> bytes:
    """A whole "fragmentation needed" (ICMPv4 3/4, RFC 1191) or ICMPv6 packet
    too big (RFC 4443 3.2) packet quoting ``quote``, as scamper's
    SCAMPER_PROBE_ICMP_PTB builds it: TTL 255, IP-ID 0, no DF, TOS 0."""
    if len(dst) == 16:
        body = _ICMP.pack(Icmp6.PACKET_TOO_BIG, 0, 0, mtu >> 16, mtu & 0xFFFF) + quote
        csum = checksum(body, pseudo_sum(src, dst, IPPROTO_ICMPV6, len(body)))
        body = body[:2] + _U16.pack(csum) + body[4:]
        return build_ipv6(src, dst, IPPROTO_ICMPV6, body, hlim=255)
    body = _ICMP.pack(Icmp4.UNREACH, 4, 0, 0, mtu & 0xFFFF) + quote
    # scamper_icmp4_cksum never writes a zero checksum
    body = body[:2] + _U16.pack(checksum(body) or 0xFFFF) + body[4:]
    return build_ipv4(src, dst, IPPROTO_ICMP, body, ttl=255, df=False)


def build_udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes,
              csum: int | None = None) -> bytes:
    """A UDP datagram with its checksum over the pseudo-header.  A computed
    checksum of 0 is sent as 0xFFFF (RFC 768)."""
    length = 8 + len(payload)
    body = _UDP.pack(sport, dport, length, 0) + payload
    if csum is None:
        csum = checksum(body, pseudo_sum(src, dst, IPPROTO_UDP, length)) or 0xFFFF
    return body[:6] + _U16.pack(csum) + body[8:]


def build_udp_held(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes,
                   want: int) -> bytes:
    """A UDP datagram whose checksum is ``want``, held there through payload
    bytes 0-1 as :func:`hold_icmp_sum` holds an ICMP one (scamper's
    udp-paris traces and tracelb's probe ids): ``want`` is written there,
    the datagram summed (scamper_udp4_cksum gives 0xffff for 0, as
    :func:`build_udp` does), and that sum stored there instead."""
    buf = bytearray(payload)
    _U16.pack_into(buf, 0, want & 0xFFFF)
    first = build_udp(src, dst, sport, dport, bytes(buf))
    buf[0:2] = first[6:8]
    return build_udp(src, dst, sport, dport, bytes(buf))


def build_tcp(src: bytes, dst: bytes, sport: int, dport: int, *, seq: int, ack: int,
              flags: int, win: int = 65535, options: bytes = b"",
              payload: bytes = b"") -> bytes:
    """A TCP segment with its checksum.  ``options`` must be padded to 4 bytes."""
    doff = (20 + len(options)) // 4
    body = _TCP.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, doff << 4, flags,
                     win, 0, 0) + options + payload
    csum = checksum(body, pseudo_sum(src, dst, IPPROTO_TCP, len(body)))
    return body[:16] + _U16.pack(csum) + body[18:]


# --------------------------------------------------------------------------
# Parsing


@dataclass(slots=True)
class Quote:
    """The probe as quoted inside an ICMP error: its IP header and the first
    8 bytes of its transport header (all RFC 792 guarantees).  A router
    reads a packet it forwards no deeper, so the fake network reads probes
    as this too (:func:`read_probe`)."""

    proto: int
    src: bytes
    dst: bytes
    ttl: int
    tos: int
    ipid: int
    size: int          # the quoted IP length (v6: payload length + 40)
    offset: int = 0    # fragment offset (v4); data past the IP header is only
                       # read when it is 0, as scamper does
    flow: int = 0      # IPv6 flow label
    sport: int = 0
    dport: int = 0
    udp_sum: int = 0
    udp_len: int = 0
    icmp_type: int = 0
    icmp_code: int = 0
    icmp_id: int = 0
    icmp_seq: int = 0
    icmp_sum: int = 0
    tcp_seq: int = 0
    tcp_flags: int = 0
    has_transport: bool = False
    df: bool = False   # not to be fragmented on the way: DF (v4), always (v6)

    @property
    def v6(self) -> bool:
        return len(self.dst) == 16


@dataclass(slots=True)
class Reply:
    """One received packet, as methods see it.

    ``rx_ns`` is the kernel receive time (``SO_TIMESTAMPNS``) in ns since the
    epoch.  ``size`` is the IP packet length, ``ipid`` the IPv4 IP-ID (0 for
    IPv6).  For ICMP errors ``quote`` holds the quoted probe and ``exts`` the
    raw RFC 4884 extension block (header included), when present.
    """

    v6: bool
    src: bytes
    dst: bytes
    proto: int
    ttl: int
    tos: int
    size: int
    ipid: int = 0
    rx_ns: int = 0
    ifindex: int = 0
    icmp_type: int = -1
    icmp_code: int = -1
    icmp_id: int = 0
    icmp_seq: int = 0
    icmp_nhmtu: int = 0
    icmp_pptr: int = 0
    icmp_ts: tuple[int, int, int] | None = None
    sport: int = 0
    dport: int = 0
    tcp_flags: int = 0
    tcp_seq: int = 0
    tcp_ack: int = 0
    tcp_mss: int = 0
    quote: Quote | None = None
    exts: bytes | None = None
    rr: tuple[bytes, ...] | None = None
    tsc_flag: int = -1
    ts_values: tuple[int, ...] | None = None
    ts_addrs: tuple[bytes, ...] | None = None
    # Datalink view (parse_datalink): the packet as it was on the wire, so
    # ``size`` is a fragment's length when the reply came in fragments.
    dl: bool = False
    raw: bytes = b""     # the whole IP packet (first fragment), header included
    frag_id: int = -1    # IPv6 fragment identification, -1 when not fragmented

    @property
    def is_icmp(self) -> bool:
        return self.proto in (IPPROTO_ICMP, IPPROTO_ICMPV6)

    def is_icmp_error(self) -> bool:
        return self.quote is not None

    def is_ttl_exceeded(self) -> bool:
        return self.icmp_type == (Icmp6.TIME_EXCEEDED if self.v6 else Icmp4.TIMXCEED)

    def is_unreach(self) -> bool:
        return self.icmp_type == (Icmp6.DST_UNREACH if self.v6 else Icmp4.UNREACH)

    def is_ptb(self) -> bool:
        if self.v6:
            return self.icmp_type == Icmp6.PACKET_TOO_BIG
        return self.icmp_type == Icmp4.UNREACH and self.icmp_code == 4

    def is_echo_reply(self) -> bool:
        return self.icmp_type == (Icmp6.ECHO_REPLY if self.v6 else Icmp4.ECHOREPLY)


# ICMP types scamper accepts (scamper_icmp4_recv / scamper_icmp6_recv); the
# engine ignores others (redirects, router adverts, our own echo requests).
_V4_ERRORS = frozenset((Icmp4.UNREACH, Icmp4.TIMXCEED, Icmp4.PARAMPROB))
_V6_ERRORS = frozenset((Icmp6.DST_UNREACH, Icmp6.PACKET_TOO_BIG, Icmp6.TIME_EXCEEDED,
                        Icmp6.PARAM_PROB))


def _transport_quote(q: Quote, buf: bytes, off: int, end: int) -> None:
    """Read the first 8 bytes of the quoted transport header (all RFC 792
    guarantees), as scamper does."""
    if off + 8 > end:
        return
    q.has_transport = True
    if q.proto == IPPROTO_UDP:
        q.sport, q.dport, q.udp_len, q.udp_sum = _UDP.unpack_from(buf, off)
    elif q.proto in (IPPROTO_ICMP, IPPROTO_ICMPV6):
        q.icmp_type, q.icmp_code, q.icmp_sum, q.icmp_id, q.icmp_seq = _ICMP.unpack_from(buf, off)
    elif q.proto == IPPROTO_TCP:
        q.sport, q.dport, q.tcp_seq = struct.unpack_from(">HHI", buf, off)
        if off + 14 <= end:
            q.tcp_flags = buf[off + 13]


def _quote4(buf: bytes, off: int, end: int) -> Quote:
    """The IPv4 packet at ``buf[off:end]`` as a quote: the transport header
    is read only when it is not a later fragment, as scamper does."""
    if end < off + 20:
        raise MalformedPacket("no IPv4 header quoted")
    vhl = buf[off]
    ihl = (vhl & 0x0F) * 4
    if vhl >> 4 != 4 or ihl < 20 or off + ihl > end:
        raise MalformedPacket("bad quoted IPv4 header")
    _, tos, total, ipid, frag, ttl, proto, _, src, dst = _IP4.unpack_from(buf, off)
    q = Quote(proto, src, dst, ttl, tos, ipid, total, frag & 0x1FFF, df=bool(frag & 0x4000))
    if q.offset == 0:
        _transport_quote(q, buf, off + ihl, end)
    return q


def _quote6(buf: bytes, off: int, end: int) -> Quote:
    """The IPv6 packet at ``buf[off:end]`` as a quote; behind a fragment
    header, its protocol, offset and identification (``ipid``), as
    scamper_icmp6_recv reads them."""
    if end < off + 40:
        raise MalformedPacket("no IPv6 header quoted")
    first, plen, nxt, hlim, src, dst = _IP6.unpack_from(buf, off)
    if first >> 28 != 6:
        raise MalformedPacket("bad quoted IPv6 header")
    q = Quote(nxt, src, dst, hlim, (first >> 20) & 0xFF, 0, plen + 40, flow=first & 0xFFFFF,
              df=True)
    off += 40
    if nxt == IPPROTO_FRAGMENT and off + 8 <= end:
        q.proto = buf[off]
        q.offset = _U16.unpack_from(buf, off + 2)[0] >> 3
        q.ipid = _U32.unpack_from(buf, off + 4)[0]
        off += 8
    if q.offset == 0:
        _transport_quote(q, buf, off, end)
    return q


def read_probe(pkt: bytes) -> Quote:
    """A whole IP packet read as far as a router reads it, and as an ICMP
    error would quote it (MalformedPacket if its headers are not there)."""
    if pkt[:1] and pkt[0] >> 4 == 6:
        return _quote6(pkt, 0, len(pkt))
    return _quote4(pkt, 0, len(pkt))


def _extensions(buf: bytes, icmp_off: int, end: int) -> bytes | None:
    """The RFC 4884 extension block: scamper looks 128 bytes past the end of
    the ICMP header and accepts a version-2 header whose checksum is zero or
    valid (some routers put the version in the low nibble)."""
    start = icmp_off + 8 + 128
    if end - (icmp_off + 8) <= 128 + 4:
        return None
    ext = buf[start:end]
    if ((ext[0] & 0xF0) == 0x20 or ext[0] == 0x02) and \
            ((ext[2] == 0 and ext[3] == 0) or checksum(ext) == 0):
        return bytes(ext)
    return None


def parse_ipv4(buf: bytes, rx_ns: int = 0, ifindex: int = 0) -> Reply:
    """Parse an IPv4 packet as received on a raw socket (IP header included)."""
    n = len(buf)
    if n < 20:
        raise MalformedPacket("short IPv4 header")
    vhl = buf[0]
    if vhl >> 4 != 4:
        raise MalformedPacket("not IPv4")
    ihl = (vhl & 0x0F) * 4
    if ihl < 20 or ihl > n:
        raise MalformedPacket("bad IPv4 header length")
    _, tos, total, ipid, _frag, ttl, proto, _, src, dst = _IP4.unpack_from(buf, 0)
    r = Reply(False, src, dst, proto, ttl, tos, total, ipid, rx_ns, ifindex)
    if ihl > 20:
        r.rr, r.tsc_flag, r.ts_values, r.ts_addrs = ipv4_options(buf, 20, ihl)
    off = ihl
    if proto == IPPROTO_ICMP:
        if n < off + 8:
            raise MalformedPacket("short ICMP header")
        typ, code, _, ident, seq = _ICMP.unpack_from(buf, off)
        r.icmp_type = typ
        r.icmp_code = code
        if typ in (Icmp4.ECHOREPLY, Icmp4.TSTAMPREPLY):
            r.icmp_id = ident
            r.icmp_seq = seq
            if typ == Icmp4.TSTAMPREPLY:
                if n < off + 20:
                    raise MalformedPacket("short ICMP timestamp reply")
                r.icmp_ts = _3U32.unpack_from(buf, off + 8)
            return r
        if typ not in _V4_ERRORS:
            return r
        if typ == Icmp4.UNREACH and code == 4:
            r.icmp_nhmtu = seq
        elif typ == Icmp4.PARAMPROB:
            r.icmp_pptr = buf[off + 4]
        r.quote = _quote4(buf, off + 8, n)
        r.exts = _extensions(buf, off, n)
    elif proto == IPPROTO_TCP:
        if n < off + 20:
            raise MalformedPacket("short TCP header")
        sport, dport, seq, ack, doff, flags, _, _, _ = _TCP.unpack_from(buf, off)
        r.sport, r.dport, r.tcp_seq, r.tcp_ack, r.tcp_flags = sport, dport, seq, ack, flags
        r.tcp_mss = tcp_mss(buf, off + 20, min(n, off + (doff >> 4) * 4))
    elif proto == IPPROTO_UDP:
        if n < off + 8:
            raise MalformedPacket("short UDP header")
        r.sport, r.dport = struct.unpack_from(">HH", buf, off)
    return r


def parse_ipv6_payload(proto: int, buf: bytes, src: bytes, dst: bytes, hlim: int,
                       tclass: int, rx_ns: int = 0, ifindex: int = 0) -> Reply:
    """Parse what an IPv6 raw socket delivers: the upper-layer payload, with
    the header fields the kernel passed in ancillary data."""
    n = len(buf)
    r = Reply(True, src, dst, proto, hlim, tclass, n + 40, 0, rx_ns, ifindex)
    if proto == IPPROTO_ICMPV6:
        if n < 8:
            raise MalformedPacket("short ICMPv6 header")
        typ, code, _, ident, seq = _ICMP.unpack_from(buf, 0)
        r.icmp_type = typ
        r.icmp_code = code
        if typ == Icmp6.ECHO_REPLY:
            r.icmp_id = ident
            r.icmp_seq = seq
            return r
        if typ not in _V6_ERRORS:
            return r
        if typ == Icmp6.PACKET_TOO_BIG:
            r.icmp_nhmtu = min(_U32.unpack_from(buf, 4)[0], 0xFFFF)
        elif typ == Icmp6.PARAM_PROB:
            r.icmp_pptr = _U32.unpack_from(buf, 4)[0] & 0xFF
        r.quote = _quote6(buf, 8, n)
        r.exts = _extensions(buf, 0, n)
    elif proto == IPPROTO_TCP:
        if n < 20:
            raise MalformedPacket("short TCP header")
        sport, dport, seq, ack, doff, flags, _, _, _ = _TCP.unpack_from(buf, 0)
        r.sport, r.dport, r.tcp_seq, r.tcp_ack, r.tcp_flags = sport, dport, seq, ack, flags
        r.tcp_mss = tcp_mss(buf, 20, min(n, (doff >> 4) * 4))
    elif proto == IPPROTO_UDP:
        if n < 8:
            raise MalformedPacket("short UDP header")
        r.sport, r.dport = struct.unpack_from(">HH", buf, 0)
    return r


def parse_datalink(buf: bytes, rx_ns: int = 0, ifindex: int = 0) -> Reply | None:
    """Parse a whole IP packet as a datalink (PF_PACKET) socket sees it,
    before reassembly: None for a fragment other than the first, which
    carries no transport header (scamper's datalink code skips those too).

    The reply is marked ``dl`` and keeps its bytes in ``raw``; an IPv6 first
    fragment gives its identification in ``frag_id`` and its own length in
    ``size`` (the length scamper's datalink records for it).
    """
    n = len(buf)
    if n < 1:
        raise MalformedPacket("empty packet")
    version = buf[0] >> 4
    if version == 4:
        if n < 20:
            raise MalformedPacket("short IPv4 header")
        if _U16.unpack_from(buf, 6)[0] & 0x1FFF:
            return None
        total = _U16.unpack_from(buf, 2)[0]
        r = parse_ipv4(bytes(buf[:total]) if 20 <= total < n else buf, rx_ns, ifindex)
    elif version == 6:
        if n < 40:
            raise MalformedPacket("short IPv6 header")
        first, plen, nxt, hlim, src, dst = _IP6.unpack_from(buf, 0)
        off = 40
        frag_id = -1
        if nxt == IPPROTO_FRAGMENT:
            if n < 48:
                raise MalformedPacket("short IPv6 fragment header")
            if _U16.unpack_from(buf, 42)[0] >> 3:
                return None
            nxt = buf[40]
            frag_id = _U32.unpack_from(buf, 44)[0]
            off = 48
        end = min(n, 40 + plen)
        r = parse_ipv6_payload(nxt, bytes(buf[off:end]), src, dst, hlim,
                               (first >> 20) & 0xFF, rx_ns, ifindex)
        r.size = 40 + plen
        r.frag_id = frag_id
    else:
        raise MalformedPacket("not IP")
    r.dl = True
    r.raw = bytes(buf)
    return r
