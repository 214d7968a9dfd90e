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
that takes the whole header, as scamper's datalink sends it.  One raw socket
per protocol and family receives replies
(ICMP, ICMPv6, and TCP/UDP opened lazily when a task first needs them: a raw
TCP socket sees every TCP segment on the host, control connections included,
so it costs only while TCP methods run).

Receive sockets ask the kernel for ``SO_TIMESTAMPNS``, so a reply's time is
when the kernel took it, not when trio got round to us, and for the receiving
interface (``IP_PKTINFO``/``IPV6_RECVPKTINFO``) and, on IPv6, the hop limit
and traffic class that the IPv6 raw socket does not hand over in the payload.
Each socket has one trio task that waits for readability and then drains the
socket with non-blocking ``recvmsg`` calls, handing each parsed reply to the
scheduler (the driver's :class:`~scamperd.engine.packetio.Receiver`), and
the driver drains every socket right after its send bursts (:meth:`RawIO.drain`).
Send times are taken right at ``sendto``.

A probe with ``via`` set leaves on the datalink instead (datalink.py: the
first-hop router of ``-r``, spoofed sources, ``-O dltx``).  Tasks that need
to see replies before IP reassembly (ping ``-M``/``-O tbt``) ask for the
datalink view (the driver's ``want_datalink``): a PF_PACKET socket is then
read too, and what it sees goes to those tasks only (marked ``Reply.dl``),
so no other task gets a reply twice.

Malformed packets are counted (``malformed``) and dropped.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import socket
import struct
import time
from functools import lru_cache

import trio

from . import datalink
from .packetio import REAL_CLOCK, Clock, Receiver, checked_ifmtu
from .packets import (
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    MalformedPacket,
    Reply,
    parse_datalink,
    parse_ipv4,
    parse_ipv6_payload,
)
from .task import Probe

# Linux socket option numbers the socket module does not export everywhere.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)
IPV6_RECVTCLASS = getattr(socket, "IPV6_RECVTCLASS", 66)
IPV6_TCLASS = getattr(socket, "IPV6_TCLASS", 67)
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

_TIMESPEC = struct.Struct("@qq")
_INT = struct.Struct("@i")

# IPv6 probes through protocol sockets (RawIO._send_v6)
IPV6_DONTFRAG = getattr(socket, "IPV6_DONTFRAG", 62)
ICMP6_FILTER = 1  # linux/icmpv6.h, level IPPROTO_ICMPV6
SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
_IP6_FIXED = struct.Struct(">IHBB")  # version|tclass|flow, payload length, next header, hlim
_UDP_PORTS = struct.Struct(">HH")
_INTS = tuple(_INT.pack(i) for i in range(256))  # hop limit / traffic class cmsg data
# scamper keeps a socket no task uses for 10 s before it closes it
# (fd_refcnt_0 in scamper_fds.c); a bound UDP port is held as long.
UDP6_IDLE_NS = 10_000_000_000
UDP6_MAX = 256  # bound UDP sockets kept open at once (ping -P udp-sport: one per port)
_DRAIN = 512  # packets read per wakeup before yielding to other tasks
_RECV_SIZE = 65535
_ANC_SIZE = 256


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


class RawIO:
    """The engine's sockets: send and receive, with kernel timestamps (the
    real :class:`~scamperd.engine.packetio.PacketIO`)."""

    clock: Clock = REAL_CLOCK

    def __init__(self) -> None:
        self._send4: socket.socket | None = None
        self._send6: socket.socket | None = None
        self._icmp6: socket.socket | None = None
        # (source, source port) -> [bound UDP socket or None when the bind
        # failed, last use in epoch ns]
        self._udp6: dict[tuple[bytes, int], list[Any]] = {}
        self._pktinfo: dict[bytes, bytes] = {}
        self._addr_cache: dict[bytes, tuple[str, int]] = {}
        self._src_cache: dict[bytes, bytes] = {}
        self._local_cache: dict[bytes, OSError | bool] = {}
        self.recv_socks: dict[tuple[int, int], socket.socket] = {}
        self.dl_tx = datalink.DatalinkTx()
        self.dl_rx: socket.socket | None = None
        self._ifindex: dict[str, int] = {}
        self.malformed = 0
        self.received = 0
        # the receive side, while run() runs: its nursery and where replies go
        self._nursery: trio.Nursery | None = None
        self._receiver: Receiver | None = None
        self._listening: set[tuple[int, int]] = set()
        self._dl_on = False
        self._dl_scope: trio.CancelScope | None = None

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

    def src_for(self, dst: bytes) -> bytes:
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
            pktinfo = self._pktinfo[src] = src + _INT.pack(0)  # struct in6_pktinfo
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
            _data, anc, _flags, _addr = sock.recvmsg(1, _ANC_SIZE, _ERRQUEUE)
        except (BlockingIOError, InterruptedError):
            return None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPING:
                sec, nsec = _TIMESPEC.unpack_from(cdata)  # [0]: the software time
                return sec * 1_000_000_000 + nsec
        return 0  # an error-queue entry without a time: keep draining

    # -- receiving ----------------------------------------------------------

    def open_recv(self, family: int, proto: int) -> socket.socket:
        key = (family, proto)
        s = self.recv_socks.get(key)
        if s is not None:
            return s
        s = socket.socket(family, socket.SOCK_RAW, proto)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        if family == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
        self.recv_socks[key] = s
        return s

    def open_dl_rx(self) -> socket.socket:
        if self.dl_rx is None:
            s = datalink.open_rx()
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self.dl_rx = s
        return self.dl_rx

    def read_dl(self, sock: socket.socket) -> Reply | None | bool:
        """One non-blocking datalink read: a Reply, False for a frame that is
        no reply (ours, not IP, a later fragment), None when empty."""
        try:
            data, anc, _flags, addr = sock.recvmsg(_RECV_SIZE, _ANC_SIZE)
        except BlockingIOError:
            return None
        # addr: (ifname, proto, pkttype, hatype, lladdr)
        if addr[2] == datalink.PACKET_OUTGOING or addr[1] not in (datalink.ETH_P_IP,
                                                                   datalink.ETH_P_IPV6):
            return False
        rx = 0
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS:
                sec, nsec = _TIMESPEC.unpack_from(cdata)
                rx = sec * 1_000_000_000 + nsec
        if rx == 0:
            rx = time.time_ns()
        ifindex = self._ifindex.get(addr[0])
        if ifindex is None:
            try:
                ifindex = socket.if_nametoindex(addr[0])
            except OSError:
                ifindex = 0
            self._ifindex[addr[0]] = ifindex
        return parse_datalink(data, rx, ifindex) or False

    def read_one(self, sock: socket.socket, family: int, proto: int) -> Reply | None:
        """One non-blocking read; None when the socket is empty.  Raises
        MalformedPacket for a packet that does not parse."""
        try:
            data, anc, _flags, addr = sock.recvmsg(_RECV_SIZE, _ANC_SIZE)
        except BlockingIOError:
            return None
        rx = 0
        ifindex = 0
        hlim = 0
        tclass = 0
        dst = b""
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS:
                sec, nsec = _TIMESPEC.unpack_from(cdata)
                rx = sec * 1_000_000_000 + nsec
            elif level == socket.IPPROTO_IP and typ == IP_PKTINFO:
                ifindex = _INT.unpack_from(cdata)[0]
            elif level == socket.IPPROTO_IPV6:
                if typ == IPV6_PKTINFO:
                    dst = cdata[:16]
                    ifindex = _INT.unpack_from(cdata, 16)[0]
                elif typ == IPV6_HOPLIMIT:
                    hlim = _INT.unpack_from(cdata)[0]
                elif typ == IPV6_TCLASS:
                    tclass = _INT.unpack_from(cdata)[0]
        if rx == 0:
            rx = time.time_ns()
        self.received += 1
        if family == socket.AF_INET:
            return parse_ipv4(data, rx, ifindex)
        src = socket.inet_pton(socket.AF_INET6, addr[0].split("%")[0])
        return parse_ipv6_payload(proto, data, src, dst, hlim, tclass, rx, ifindex)

    def close(self) -> None:
        for s in (self._send4, self._send6, self._icmp6, self.dl_rx,
                  *self.recv_socks.values()):
            if s is not None:
                s.close()
        for key in tuple(self._udp6):
            self._close_udp6(key)
        self.dl_tx.close()
        self._send4 = self._send6 = self._icmp6 = self.dl_rx = None
        self.recv_socks.clear()

    # -- the receive tasks ------------------------------------------------------

    async def run(self, receiver: Receiver, *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read replies and hand them to ``receiver`` until cancelled."""
        self._receiver = receiver
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self.listen(False, IPPROTO_ICMP)
                try:
                    self.listen(True, IPPROTO_ICMPV6)
                except OSError:
                    pass
                self._start_dl()
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            self._receiver = None
            self._listening.clear()
            self._dl_scope = None
            self.close()

    def listen(self, v6: bool, proto: int) -> None:
        """Make sure replies of this protocol and family are being read."""
        key = (socket.AF_INET6 if v6 else socket.AF_INET, proto)
        if key in self._listening or self._nursery is None:
            return
        sock = self.open_recv(*key)
        self._listening.add(key)
        self._nursery.start_soon(self._recv_loop, sock, *key)

    def _drain(self, sock: socket.socket, family: int, proto: int) -> tuple[bool, bool]:
        """Hand up to _DRAIN waiting replies to the scheduler: (any handed
        over, _DRAIN reached with more perhaps waiting)."""
        assert self._receiver is not None
        deliver = self._receiver.reply
        got = False
        for _ in range(_DRAIN):
            try:
                reply = self.read_one(sock, family, proto)
            except MalformedPacket:
                self.malformed += 1
                continue
            except OSError:
                break
            if reply is None:
                return got, False
            deliver(reply, time.time_ns())
            got = True
        return got, True

    def drain(self) -> None:
        """Read the replies already waiting, from the driver after it sent.

        A probe to a nearby host is usually answered before ``sendto``
        returns (the kernel runs the receive path of loopback and veth
        inside the send), so reading here, before sleeping, spares the
        receive task a trio wakeup per reply.  bench/daemon_bench, A/B back
        to back on one test bed: one-probe pings at -p 1000, 1.47-1.55 ->
        1.25-1.36 s of CPU for 5,000; 'ping -c 1' batch, 370-377 -> 340-363
        us/ping; -p 10000 send rate 0.973-0.989 -> 0.991-0.998.  (A single
        driver waiting on a timerfd and every socket in one epoll set was
        tried too and lost: 392-394 against 359-371 us/ping.)
        """
        socks = self.recv_socks
        for key in tuple(self._listening):  # a reply's callbacks may listen()
            sock = socks.get(key)
            if sock is not None:
                self._drain(sock, *key)

    async def _recv_loop(self, sock: socket.socket, family: int, proto: int) -> None:
        assert self._receiver is not None
        handled = self._receiver.handled
        while True:
            await trio.lowlevel.wait_readable(sock)
            got, more = self._drain(sock, family, proto)
            if more:
                # drained _DRAIN packets and more wait: let other tasks run
                # first (otherwise wait_readable, next, is the checkpoint)
                await trio.lowlevel.checkpoint()
            if got:
                handled()

    # -- the datalink view --------------------------------------------------------

    def datalink(self, on: bool) -> None:
        """Read the datalink (``on``) or stop: a PF_PACKET socket sees every
        frame on the host, so it is open only while a task wants it."""
        self._dl_on = on
        if on:
            self._start_dl()
        elif self._dl_scope is not None:
            self._dl_scope.cancel()
            self._dl_scope = None
            self.dl_rx = None  # the loop closes it; a new reader opens another

    def _start_dl(self) -> None:
        if self._dl_scope is None and self._nursery is not None and self._dl_on:
            sock = self.open_dl_rx()
            self._dl_scope = trio.CancelScope()
            self._nursery.start_soon(self._dl_loop, sock, self._dl_scope)

    async def _dl_loop(self, sock: socket.socket, scope: trio.CancelScope) -> None:
        try:
            with scope:
                await self._dl_read(sock)
        finally:
            trio.lowlevel.notify_closing(sock)
            sock.close()
            if self.dl_rx is sock:
                self.dl_rx = None

    async def _dl_read(self, sock: socket.socket) -> None:
        assert self._receiver is not None
        deliver = self._receiver.dl_reply
        handled = self._receiver.handled
        while True:
            await trio.lowlevel.wait_readable(sock)
            got = False
            for _ in range(_DRAIN):
                try:
                    reply = self.read_dl(sock)
                except MalformedPacket:
                    self.malformed += 1
                    continue
                except OSError:
                    break
                if reply is None:
                    break
                if reply is not False:
                    assert isinstance(reply, Reply)
                    got = deliver(reply, time.time_ns()) or got
            else:
                await trio.lowlevel.checkpoint()  # as in _recv_loop
            if got:
                handled()
