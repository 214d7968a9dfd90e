"""Raw sockets: the real packet I/O (scamperd.engine.packetio.PacketIO).

Theory of operation
-------------------
Probes leave through the kind of socket scamper sends them through, so that
they are the same on the wire.  IPv4: one ``IPPROTO_RAW`` socket (which
implies ``IP_HDRINCL``) takes the whole packet, as scamper's ``IP_HDRINCL``
sockets do.  IPv6 (see :meth:`RawIO.send`): ICMPv6 echo requests go through
one ICMPv6 raw socket and UDP probes through a UDP socket bound to their
source address and port (scamper_icmp6_probe, scamper_udp6_probe), with the
hop limit, traffic class and source passed as ancillary data; the kernel
writes the IPv6 header, and so the flow label it writes for scamper
(``net.ipv6.auto_flowlabels``: a hash of the flow), without which the same
command takes another ECMP branch.  Everything else over IPv6 (TCP, a flow
label the method chose) goes through one AF_INET6/``IPPROTO_RAW`` socket
that takes the whole header, as scamper's datalink sends it.

The receive side (one raw socket per protocol and family, kernel receive
times, the datalink view) is :mod:`.rawrecv`.  Send times are taken right at
``sendto``.

A probe with ``via`` set leaves on the datalink instead (datalink.py: the
first-hop router of ``-r``, spoofed sources, ``-O dltx``).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import socket
import struct
import time
from functools import lru_cache
from typing import Any

from . import datalink
from .packetio import REAL_CLOCK, Clock, checked_ifmtu
from .packets import (
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_UDP,
)
from .rawrecv import ANC_SIZE, INT, IPV6_HOPLIMIT, IPV6_PKTINFO, IPV6_TCLASS, TIMESPEC, RawReceive
from .task import Probe

# Linux socket option numbers the socket module does not export everywhere.
SIOCGIFMTU = 0x8921  # linux/sockios.h
SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37)
# linux/net_tstamp.h: report software times, without the packet, and only
# for sends that ask (the per-send control message below asks).
SOF_TIMESTAMPING_TX_SOFTWARE = 1 << 1
SOF_TIMESTAMPING_SOFTWARE = 1 << 4
SOF_TIMESTAMPING_OPT_TSONLY = 1 << 11
_TS_REPORT = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY
_TS_ASK = [(socket.SOL_SOCKET, SO_TIMESTAMPING, struct.pack("=I", SOF_TIMESTAMPING_TX_SOFTWARE))]
_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000) | socket.MSG_DONTWAIT


# IPv6 probes through protocol sockets (RawIO._send_v6)
IPV6_DONTFRAG = getattr(socket, "IPV6_DONTFRAG", 62)
ICMP6_FILTER = 1  # linux/icmpv6.h, level IPPROTO_ICMPV6
SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
_IP6_FIXED = struct.Struct(">IHBB")  # version|tclass|flow, payload length, next header, hlim
_UDP_PORTS = struct.Struct(">HH")
_INTS = tuple(INT.pack(i) for i in range(256))  # hop limit / traffic class cmsg data
# scamper keeps a socket no task uses for 10 s before it closes it
# (fd_refcnt_0 in scamper_fds.c); a bound UDP port is held as long.
UDP6_IDLE_NS = 10_000_000_000
UDP6_MAX = 256  # bound UDP sockets kept open at once (ping -P udp-sport: one per port)


def getsrc(dst: bytes) -> bytes:
    """The source address the kernel would use towards ``dst`` (a UDP
    ``connect`` selects a route and sends nothing), as scamper_getsrc() does."""
    fam = socket.AF_INET6 if len(dst) == 16 else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.connect((socket.inet_ntop(fam, dst), 9))
        host = s.getsockname()[0]
    return socket.inet_pton(fam, host.split("%")[0])


def _drop_all(sock: socket.socket) -> None:
    """Attach a classic BPF program that accepts nothing: the socket only
    sends, and nothing queues on it unread (a bound UDP port still keeps the
    kernel from answering replies to it with port unreachables, as scamper's
    bound socket does)."""
    insn = ctypes.create_string_buffer(struct.pack("@HBBI", 0x06, 0, 0, 0))  # ret #0
    prog = struct.pack("@HP", 1, ctypes.addressof(insn))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)


class KernelNetwork:
    """The kernel's facts about the network RawIO sends into (the
    :class:`~scamperd.engine.task.Network` of the real packet I/O)."""

    def __init__(self) -> None:
        self._src_cache: dict[bytes, bytes] = {}
        self._local_cache: dict[bytes, OSError | bool] = {}

    def src_for(self, dst: bytes) -> bytes:
        """The source address the kernel picks towards ``dst`` (getsrc),
        remembered."""
        src = self._src_cache.get(dst)
        if src is None:
            src = getsrc(dst)
            if len(self._src_cache) > 65536:
                self._src_cache.clear()
            self._src_cache[dst] = src
        return src

    def ifmtu_for(self, dst: bytes) -> int:
        """The MTU of the interface the kernel routes ``dst`` out of, which
        trace -M records as ifmtu and starts from (scamper_if_getmtu() on
        the route's ifindex).  Not the route's path MTU (IP_MTU): the kernel
        lowers that as it learns from PTBs, scamper's ifmtu does not."""
        nl = datalink.Netlink()
        try:
            ifindex = nl.route(dst)[0]
        finally:
            nl.close()
        ifr = struct.pack("16si", socket.if_indextoname(ifindex).encode(), 0)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifr = fcntl.ioctl(s.fileno(), SIOCGIFMTU, ifr)
        return checked_ifmtu(int(struct.unpack_from("i", ifr, 16)[0]))

    @staticmethod
    @lru_cache(maxsize=256)
    def ifname(ifindex: int) -> str | None:
        """The interface name scamper records for a reply (if_indextoname)."""
        try:
            return socket.if_indextoname(ifindex)
        except OSError:
            return None

    def local_error(self, src: bytes) -> OSError | None:
        """Why ``src`` is not an address of this host (None when it is):
        scamper binds its probe sockets to the source address, and the
        bind fails with EADDRNOTAVAIL for an address that is not ours."""
        cached = self._local_cache.get(src)
        if isinstance(cached, OSError):
            return cached
        if cached is False:
            return None
        fam = socket.AF_INET6 if len(src) == 16 else socket.AF_INET
        err: OSError | None = None
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            try:
                s.bind((socket.inet_ntop(fam, src), 0))
            except OSError as e:
                err = e
        if len(self._local_cache) > 4096:
            self._local_cache.clear()
        self._local_cache[src] = err if err is not None else False
        return err


class RawIO(RawReceive):
    """The engine's sockets: send and receive, with kernel timestamps (the
    real :class:`~scamperd.engine.packetio.PacketIO`)."""

    clock: Clock = REAL_CLOCK

    def __init__(self) -> None:
        super().__init__()
        self._send4: socket.socket | None = None
        self._send6: socket.socket | None = None
        self._icmp6: socket.socket | None = None
        # (source, source port) -> [bound UDP socket or None when the bind
        # failed, last use in epoch ns]
        self._udp6: dict[tuple[bytes, int], list[Any]] = {}
        self._pktinfo: dict[bytes, bytes] = {}
        self._addr_cache: dict[bytes, tuple[str, int]] = {}
        self.net = KernelNetwork()
        self.dl_tx = datalink.DatalinkTx()

    def open(self) -> None:
        """The send sockets and the ICMP receive socket: a daemon without
        privileges fails here, before it serves anyone."""
        self.open_send()
        self.open_recv(socket.AF_INET, IPPROTO_ICMP)

    # -- sending ------------------------------------------------------------

    def open_send(self) -> None:
        if self._send4 is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, _TS_REPORT)
            self._send4 = s
        if self._send6 is None:
            try:
                s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
                s.setblocking(False)
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, _TS_REPORT)
                self._send6 = s
            except OSError:
                self._send6 = None  # no IPv6 on this host: v6 probes fail with an error
        if self._icmp6 is None and self._send6 is not None:
            try:
                s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_ICMPV6)
                s.setblocking(False)
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, _TS_REPORT)
                # scamper_icmp6_open(): no fragmentation by the kernel
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_DONTFRAG, 1)
                # it only sends: let no ICMPv6 message queue on it
                s.setsockopt(IPPROTO_ICMPV6, ICMP6_FILTER, b"\xff" * 32)
                self._icmp6 = s
            except OSError:
                self._icmp6 = None  # echo requests then go out whole, like TCP

    def send(self, probe: Probe) -> int:
        """Send one probe; the send time (ns) is taken right at ``sendto``."""
        if probe.via is not None:
            # route and neighbour lookups happen before the clock is read
            self.dl_tx.nexthop(probe.via)
            tx = time.time_ns()
            self.dl_tx.send(probe.packet, probe.via)
            return tx
        dst = probe.dst
        addr = self._addr_cache.get(dst)
        if addr is None:
            if len(dst) == 16:
                addr = (socket.inet_ntop(socket.AF_INET6, dst), 0)
            else:
                addr = (socket.inet_ntop(socket.AF_INET, dst), 0)
            if len(self._addr_cache) > 65536:
                self._addr_cache.clear()
            self._addr_cache[dst] = addr
        if len(dst) == 16:
            pkt = probe.packet
            first, _plen, nxt, hlim = _IP6_FIXED.unpack_from(pkt)
            # a flow label the method chose (TCP, const-payload udp-paris)
            # is one scamper writes itself, on its datalink: sent whole
            if not first & 0xFFFFF and (nxt == IPPROTO_ICMPV6 or nxt == IPPROTO_UDP):
                tx = self._send_v6(probe, pkt, nxt, hlim, (first >> 20) & 0xFF, addr)
                if tx:
                    return tx
            sock = self._send6
        else:
            sock = self._send4
        if sock is None:
            raise OSError(errno.EAFNOSUPPORT, "no raw socket for this address family")
        if probe.txts is not None:
            return self._send_txts(sock, probe, probe.packet, [], addr)
        tx = time.time_ns()
        sock.sendto(probe.packet, addr)
        return tx

    def _send_v6(self, probe: Probe, pkt: bytes, nxt: int, hlim: int, tclass: int,
                 addr: tuple[str, int]) -> int:
        """Send an ICMPv6 or UDP probe the way scamper does; 0 when it cannot
        go that way (then it goes whole through the IPPROTO_RAW socket).

        scamper_icmp6_probe() sends the ICMPv6 message through its ICMPv6
        raw socket, and scamper_udp6_probe() the UDP payload through a UDP
        socket bound to the source address and port, each having set the
        hop limit and traffic class; the kernel writes the IPv6 header, the
        flow label included, and the checksum.  So do we, with the hop limit,
        traffic class and (ICMPv6) source as ancillary data rather than two
        setsockopt calls per probe.  The methods' checksums come out the
        same: the kernel sums the same bytes (ICMPv6 raw sockets ignore the
        checksum field they are given; icmp-paris and udp-paris steer
        theirs with payload bytes, as scamper does).
        """
        if nxt == IPPROTO_UDP:
            sport, dport = _UDP_PORTS.unpack_from(pkt, 40)
            src = pkt[8:24]
            ent = self._udp6_sock(src, sport)
            if ent is None:
                return 0
            sock = ent[0]
            data = memoryview(pkt)[48:]
            anc = [(socket.IPPROTO_IPV6, IPV6_HOPLIMIT, _INTS[hlim]),
                   (socket.IPPROTO_IPV6, IPV6_TCLASS, _INTS[tclass])]
            addr = (addr[0], dport)
            if probe.txts is not None:
                tx = ent[1] = self._send_txts(sock, probe, data, anc, addr)
                return tx
            tx = ent[1] = time.time_ns()
            sock.sendmsg([data], anc, 0, addr)
            return tx
        sock = self._icmp6
        if sock is None:
            return 0
        src = pkt[8:24]
        pktinfo = self._pktinfo.get(src)
        if pktinfo is None:
            if len(self._pktinfo) > 4096:
                self._pktinfo.clear()
            pktinfo = self._pktinfo[src] = src + INT.pack(0)  # struct in6_pktinfo
        data = memoryview(pkt)[40:]
        anc = [(socket.IPPROTO_IPV6, IPV6_HOPLIMIT, _INTS[hlim]),
               (socket.IPPROTO_IPV6, IPV6_TCLASS, _INTS[tclass]),
               (socket.IPPROTO_IPV6, IPV6_PKTINFO, pktinfo)]
        if probe.txts is not None:
            return self._send_txts(sock, probe, data, anc, addr)
        tx = time.time_ns()
        sock.sendmsg([data], anc, 0, addr)
        return tx

    def _udp6_sock(self, src: bytes, sport: int) -> list[Any] | None:
        """[socket, last use] for the UDP socket bound to [src]:sport
        (scamper_fd_udp6), opened on first use; None when the port cannot be
        bound (in use by another program), until expire() forgets that."""
        key = (src, sport)
        ent = self._udp6.get(key)
        if ent is not None:
            return ent if ent[0] is not None else None
        if not sport:
            return None  # bind would choose a port: not the probe's
        if len(self._udp6) >= UDP6_MAX:
            self._close_udp6(min(self._udp6, key=lambda k: self._udp6[k][1]))
        sock: socket.socket | None = None
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, IPPROTO_UDP)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((socket.inet_ntop(socket.AF_INET6, src), sport))
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_DONTFRAG, 1)  # scamper_udp6_open()
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, _TS_REPORT)
            _drop_all(sock)
        except OSError:
            if sock is not None:
                sock.close()
            sock = None
        ent = self._udp6[key] = [sock, time.time_ns()]
        return ent if sock is not None else None

    def _close_udp6(self, key: tuple[bytes, int]) -> None:
        ent = self._udp6.pop(key, None)
        if ent is not None and ent[0] is not None:
            ent[0].close()

    def expire(self, now: int) -> int | None:
        """Close the bound UDP sockets no probe used for UDP6_IDLE_NS, so a
        port is held no longer than scamper holds it; when to call again."""
        udp6 = self._udp6
        if not udp6:
            return None
        nxt: int | None = None
        for key, ent in tuple(udp6.items()):
            due = ent[1] + UDP6_IDLE_NS
            if due <= now:
                self._close_udp6(key)
            elif nxt is None or due < nxt:
                nxt = due
        return nxt

    def _send_txts(self, sock: socket.socket, probe: Probe, data: bytes | memoryview,
                   anc: list[tuple[int, int, bytes]], addr: tuple[str, int]) -> int:
        """Send asking the kernel for the software transmit time, which the
        driver stamps as the frame leaves (veth does so inside sendmsg).  A
        time not there right after the send is not waited for: the probe
        then has none (and a late one is discarded before the next send)."""
        assert probe.txts is not None
        while self._read_txts(sock) is not None:
            pass  # stale: from an earlier send whose time came late
        tx = time.time_ns()
        sock.sendmsg([data], anc + _TS_ASK, 0, addr)
        ts = self._read_txts(sock)
        if ts:
            probe.txts.append(ts)
        return tx

    @staticmethod
    def _read_txts(sock: socket.socket) -> int | None:
        try:
            _data, anc, _flags, _addr = sock.recvmsg(1, ANC_SIZE, _ERRQUEUE)
        except (BlockingIOError, InterruptedError):
            return None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPING:
                sec, nsec = TIMESPEC.unpack_from(cdata)  # [0]: the software time
                return sec * 1_000_000_000 + nsec
        return 0  # an error-queue entry without a time: keep draining

    def close(self) -> None:
        for s in (self._send4, self._send6, self._icmp6):
            if s is not None:
                s.close()
        for key in tuple(self._udp6):
            self._close_udp6(key)
        self.dl_tx.close()
        self._send4 = self._send6 = self._icmp6 = None
        self.close_recv()
