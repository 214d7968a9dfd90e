"""Ping probe packets, built as scamper 20260420 builds them.

``ping_state_payload`` and ``do_ping_probe`` in scamper_ping_do.c, with the
header layouts of scamper_ip4.c, scamper_icmp4/6.c, scamper_udp4/6.c and
scamper_tcp4/6.c.  Everything here is a pure function of the command, the
probe number, the IP-ID drawn for it and (icmp-time only) the send time.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from protocol.commands.ping import NO_EMBED_METHODS, PingCommand, PingFlag, PingMethod

from ...engine.options import ipopt_record_route, ipopt_timestamp, tcp_mss_option
from ...engine.packets import (
    IPPROTO_ICMPV6,
    TcpFlag,
    build_icmp_echo,
    build_icmp_tstamp,
    build_ip,
    build_tcp,
    build_udp,
    headers_len,
    hold_icmp_sum,
    probe_ip_proto,
    pseudo_sum,
    sum16,
)

M = PingMethod

# TCP flags of each TCP method's probe (do_ping_probe).
TCP_PROBE_FLAGS: dict[PingMethod, int] = {
    M.TCP_ACK: TcpFlag.ACK,
    M.TCP_ACK_SPORT: TcpFlag.ACK,
    M.TCP_SYN: TcpFlag.SYN,
    M.TCP_SYNACK: TcpFlag.SYN | TcpFlag.ACK,
    M.TCP_RST: TcpFlag.RST,
    M.TCP_SYN_SPORT: TcpFlag.SYN,
}

# Bytes of transport header ping_state_payload() takes off the probe size
# before the payload.  TCP is 20 even with an MSS option: scamper's payload
# is then 4 bytes longer than -s implies, and so is the probe (kept).
ICMP_TIME_FIELDS = 12  # originate, receive, transmit timestamps

# IPv4 option bytes by the option the command asks for (scamper_ip4_hlen);
# prespecified timestamps take 8 per address plus 4.
IPOPT_LEN = {PingFlag.V4RR: 40, PingFlag.TSONLY: 40, PingFlag.TSANDADDR: 36}

# PingFlag's bits as plain ints: ``PingFlag.X in flags`` goes through the
# enum machinery (~0.3 us a test, 16 tests per one-probe ping; profile of
# bench/daemon_bench's CPU batch), ``int & int`` does not.
_V4RR, _TSONLY, _TSANDADDR = int(PingFlag.V4RR), int(PingFlag.TSONLY), int(PingFlag.TSANDADDR)
_SPOOF, _NOSRC, _ICMPSUM = int(PingFlag.SPOOF), int(PingFlag.NOSRC), int(PingFlag.ICMPSUM)
_PAYLOAD = int(PingFlag.PAYLOAD)


def probe_proto(cmd: PingCommand, v6: bool) -> int:
    """The IP protocol of the probes (and of the match keys)."""
    return probe_ip_proto(cmd.is_icmp, cmd.is_tcp, v6)


def ip_options(cmd: PingCommand, v6: bool) -> bytes:
    """The IPv4 options of every probe (scamper_ip4_build), RR before TS as
    scamper checks them."""
    if v6:
        return b""
    flags = int(cmd.flags)
    if flags & _V4RR:
        return ipopt_record_route(9)
    if flags & _TSONLY:
        return ipopt_timestamp(0, slots=9)
    if flags & _TSANDADDR:
        return ipopt_timestamp(1)
    if cmd.tsps:
        return ipopt_timestamp(3, [a.packed for a in cmd.tsps])
    return b""


def payload_len(cmd: PingCommand, v6: bool) -> int:
    """ping_state_payload(): the probe size less IP and transport headers.

    For icmp-time the 12 timestamp bytes come off here and again as the start
    of the payload, so scamper's probe is 12 bytes shorter than ``-s`` (72
    bytes by default); we send what scamper sends.
    """
    n = cmd.size - headers_len(probe_proto(cmd, v6), v6, len(ip_options(cmd, v6)))
    if cmd.method is M.ICMP_TIME:
        n -= ICMP_TIME_FIELDS
    return n


def embeds_src(cmd: PingCommand) -> bool:
    """A spoofed probe carries our real address in its payload (so that
    whoever gets the replies can tell who asked), unless -O nosrc or the
    method is tcp-synack / tcp-rst (ping_state_payload)."""
    flags = int(cmd.flags)
    return bool(flags & _SPOOF and not flags & _NOSRC
                and cmd.method not in NO_EMBED_METHODS)


def base_payload(cmd: PingCommand, v6: bool, real_src: bytes = b"") -> bytearray:
    """The payload every probe carries before per-probe fields are written.

    Layout (ping_state_payload): icmp-time's 12 timestamp bytes, then with
    -O spoof our real source address (``real_src``, see :func:`embeds_src`),
    then two scratch bytes for -C, then the -B payload once or the -p pattern
    repeated to the end; zeros elsewhere.
    """
    n = payload_len(cmd, v6)
    if n <= 0:
        return bytearray()
    buf = bytearray(n)
    off = ICMP_TIME_FIELDS if cmd.method is M.ICMP_TIME else 0
    if embeds_src(cmd):
        buf[off:off + len(real_src)] = real_src
        off += len(real_src)
    if int(cmd.flags) & _ICMPSUM:
        off += 2
    data = cmd.data
    if data:
        if int(cmd.flags) & _PAYLOAD:
            buf[off:off + len(data)] = data
        elif off < n:
            reps = (n - off) // len(data) + 1
            buf[off:n] = (data * reps)[:n - off]
    return buf


def icmp_time_originate(now_ns: int) -> int:
    """Milliseconds since midnight UTC (RFC 792), from gettimeofday() as
    scamper computes it: (sec % 86400) * 1000 + usec / 1000."""
    return (now_ns // 1_000_000) % 86_400_000


class ProbeFields(NamedTuple):
    """What varies between the probes of one ping."""

    seq: int      # probe number, 0-based
    ipid: int     # IPv4 IP-ID (0 for IPv6)
    sport: int    # TCP/UDP source port, or ICMP id
    dport: int    # TCP/UDP destination port, or ICMP sequence


def build_probe(cmd: PingCommand, src: bytes, dst: bytes, base: bytes, f: ProbeFields,
                now_ns: int) -> bytes:
    """One whole IP packet for probe ``f.seq``."""
    v6 = len(dst) == 16
    payload = bytearray(base)
    if cmd.is_icmp:
        body = _icmp(cmd, src, dst, payload, f, now_ns, v6)
    elif cmd.is_tcp:
        opts = tcp_mss_option(cmd.tcpmss) if cmd.tcpmss else b""
        body = build_tcp(src, dst, f.sport, f.dport, seq=cmd.tcpseq, ack=cmd.tcpack,
                         flags=TCP_PROBE_FLAGS[cmd.method], win=65535, options=opts,
                         payload=bytes(payload))
    else:
        body = build_udp(src, dst, f.sport, f.dport, bytes(payload))
    return build_ip(src, dst, probe_proto(cmd, v6), body, ttl=cmd.ttl, tos=cmd.tos,
                    ipid=f.ipid, df=True, options=ip_options(cmd, v6))


def _icmp(cmd: PingCommand, src: bytes, dst: bytes, payload: bytearray, f: ProbeFields,
          now_ns: int, v6: bool) -> bytes:
    scratch = 0
    if cmd.method is M.ICMP_TIME:
        scratch = ICMP_TIME_FIELDS
        body = build_icmp_tstamp(f.sport, f.dport, icmp_time_originate(now_ns),
                                 bytes(payload[ICMP_TIME_FIELDS:]))
    else:
        body = build_icmp_echo(f.sport, f.dport, bytes(payload), v6=v6, src=src, dst=dst)
    flags = int(cmd.flags)
    if not flags & _ICMPSUM:
        return body
    if flags & _SPOOF:
        # do_ping_probe skips 4 bytes for a spoofed probe whatever was
        # embedded (16 bytes over IPv6, none with -O nosrc): the fix-up then
        # lands inside the address or the data.  The checksum comes out the
        # same; we put the bytes where scamper puts them.
        scratch += 4
    # -C: the scratch bytes after the ICMP header (and icmp-time's stamps)
    return hold_icmp_sum(body, 8 + scratch, cmd.icmpsum, src, dst)


class EchoTemplate:
    """The icmp-echo probes of one ping (without -C or -O spoof), written
    into a template packet rather than built from scratch.

    Between the probes of a ping only the IP-ID, the ICMP sequence number
    and the two checksums change; between pings of the same shape (family,
    size, TTL, TOS, flags, pattern) only the addresses and the ICMP id do.
    A checksum is a sum of 16-bit words, so a template keeps its sums
    without those fields and a probe adds them in.  Building each probe
    from scratch was 13 us of a 'ping -c 1''s CPU (bench/daemon_bench); the
    bytes are the same as :func:`build_probe`'s (tests/scamperd/methods/
    test_ping_probes.py compares them).
    """

    __slots__ = ("_pkt", "_hl", "_icmp_sum", "_ip_sum", "_v6")

    @staticmethod
    def fits(cmd: PingCommand) -> bool:
        return cmd.method is M.ICMP_ECHO and not int(cmd.flags) & (_ICMPSUM | _SPOOF)

    @classmethod
    def for_ping(cls, cmd: PingCommand, src: bytes, dst: bytes, ident: int) -> EchoTemplate:
        """The template for ``cmd``'s probes from ``src`` to ``dst`` with ICMP
        id ``ident``."""
        v6 = len(dst) == 16
        key = (v6, cmd.size, cmd.ttl, cmd.tos, int(cmd.flags), cmd.data, cmd.tsps)
        shape = _ECHO_SHAPES.get(key)
        if shape is None:
            shape = cls(cmd, v6)
            if len(_ECHO_SHAPES) >= 64:
                _ECHO_SHAPES.clear()
            _ECHO_SHAPES[key] = shape
        return shape._bind(src, dst, ident)

    def __init__(self, cmd: PingCommand, v6: bool) -> None:
        """A shape: zero addresses and id, their sums left out."""
        assert self.fits(cmd)
        zero = bytes(16 if v6 else 4)
        base = bytes(base_payload(cmd, v6))  # no -O spoof: no address in it
        pkt = bytearray(build_probe(cmd, zero, zero, base, ProbeFields(0, 0, 0, 0), 0))
        self._v6 = v6
        hl = self._hl = 40 if v6 else (pkt[0] & 0x0F) * 4
        pkt[hl + 2:hl + 4] = b"\x00\x00"
        self._icmp_sum = sum16(bytes(pkt[hl:]))
        self._ip_sum = 0
        if not v6:
            pkt[10:12] = b"\x00\x00"
            self._ip_sum = sum16(bytes(pkt[:hl]))
        self._pkt = pkt

    def _bind(self, src: bytes, dst: bytes, ident: int) -> EchoTemplate:
        t = object.__new__(EchoTemplate)
        pkt = t._pkt = bytearray(self._pkt)
        hl = t._hl = self._hl
        v6 = t._v6 = self._v6
        if v6:
            pkt[8:24] = src
            pkt[24:40] = dst
            t._icmp_sum = (self._icmp_sum + ident
                           + pseudo_sum(src, dst, IPPROTO_ICMPV6, len(pkt) - hl))
            t._ip_sum = 0
        else:
            pkt[12:16] = src
            pkt[16:20] = dst
            t._icmp_sum = self._icmp_sum + ident
            t._ip_sum = self._ip_sum + sum16(src + dst)
        _PUT_U16(pkt, hl + 4, ident)
        return t

    def build(self, ipid: int, seq: int) -> bytes:
        """The probe with IP-ID ``ipid`` (IPv4) and ICMP sequence ``seq``."""
        pkt = self._pkt
        hl = self._hl
        s = self._icmp_sum + seq
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        _PUT_U16(pkt, hl + 2, ~s & 0xFFFF)
        _PUT_U16(pkt, hl + 6, seq)
        if not self._v6:
            s = self._ip_sum + ipid
            while s >> 16:
                s = (s & 0xFFFF) + (s >> 16)
            _PUT_U16(pkt, 4, ipid)
            _PUT_U16(pkt, 10, ~s & 0xFFFF)
        return bytes(pkt)


_PUT_U16 = struct.Struct(">H").pack_into
_ECHO_SHAPES: dict[tuple[object, ...], EchoTemplate] = {}


def ptb_quote(reply_raw: bytes, v6: bool, size: int) -> bytes:
    """What scamper's packet-too-big quotes of a reply larger than -M
    (do_ping_handle_dl): IPv4 the IP header and 8 bytes; IPv6 as much of the
    packet as keeps the PTB within the minimum MTU (1280 - 40 - 8 bytes)."""
    if not v6:
        return reply_raw[:(reply_raw[0] & 0x0F) * 4 + 8]
    return reply_raw[:min(size, 1280 - 40 - 8)]
