"""Raw sockets and the trio driver around the scheduler.

Theory of operation
-------------------
One raw socket per family sends every probe (IPv4 ``IPPROTO_RAW``, which
implies ``IP_HDRINCL``; on Linux AF_INET6/``IPPROTO_RAW`` takes the IPv6
header too), and one raw socket per protocol and family receives replies
(ICMP, ICMPv6, and TCP/UDP opened lazily when a task first needs them: a raw
TCP socket sees every TCP segment on the host, control connections included,
so it costs only while TCP methods run).

Receive sockets ask the kernel for ``SO_TIMESTAMPNS``, so a reply's time is
when the kernel took it, not when trio got round to us, and for the receiving
interface (``IP_PKTINFO``/``IPV6_RECVPKTINFO``) and, on IPv6, the hop limit
and traffic class that the IPv6 raw socket does not hand over in the payload.
Each socket has one trio task that waits for readability and then drains the
socket with non-blocking ``recvmsg`` calls, handing each parsed reply to the
scheduler.  The driver task sleeps until the scheduler's next wakeup or until
poked (a reply arrived, a command came in) and then runs it: all probing
happens in that one task, with no await per packet.  Send times are taken
right at ``sendto``.

Malformed packets are counted (``malformed``) and dropped.
"""

from __future__ import annotations

import errno
import socket
import struct
import time
from collections.abc import Callable

import trio

from .packets import (
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    MalformedPacket,
    Reply,
    parse_ipv4,
    parse_ipv6_payload,
)
from .scheduler import Scheduler
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

_TIMESPEC = struct.Struct("@qq")
_INT = struct.Struct("@i")
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


class RawIO:
    """The engine's sockets: send and receive, with kernel timestamps."""

    def __init__(self) -> None:
        self._send4: socket.socket | None = None
        self._send6: socket.socket | None = None
        self._addr_cache: dict[bytes, tuple[str, int]] = {}
        self._src_cache: dict[bytes, bytes] = {}
        self.recv_socks: dict[tuple[int, int], socket.socket] = {}
        self.malformed = 0
        self.received = 0

    # -- sending ------------------------------------------------------------

    def open_send(self) -> None:
        if self._send4 is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            s.setblocking(False)
            self._send4 = s
        if self._send6 is None:
            try:
                s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
                s.setblocking(False)
                self._send6 = s
            except OSError:
                self._send6 = None  # no IPv6 on this host: v6 probes fail with an error

    def src_for(self, dst: bytes) -> bytes:
        src = self._src_cache.get(dst)
        if src is None:
            src = getsrc(dst)
            if len(self._src_cache) > 65536:
                self._src_cache.clear()
            self._src_cache[dst] = src
        return src

    def send(self, probe: Probe) -> int:
        """Send one probe; the send time (ns) is taken right at ``sendto``."""
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
        sock = self._send6 if len(dst) == 16 else self._send4
        if sock is None:
            raise OSError(errno.EAFNOSUPPORT, "no raw socket for this address family")
        tx = time.time_ns()
        sock.sendto(probe.packet, addr)
        return tx

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
        for s in (self._send4, self._send6, *self.recv_socks.values()):
            if s is not None:
                s.close()
        self._send4 = self._send6 = None
        self.recv_socks.clear()




def ns_to_trio(t: int) -> float:
    """An epoch-ns deadline on trio's clock."""
    return trio.current_time() + (t - time.time_ns()) / 1e9


class Engine:
    """The shared probe engine: one scheduler, the sockets, the trio tasks."""

    def __init__(self, *, pps: int = 20, window: int = 0,
                 on_finished: Callable[[object], None] | None = None,
                 io: RawIO | None = None) -> None:
        self.io = io if io is not None else RawIO()
        self._on_finished = on_finished
        self.sched = Scheduler(send=self.io.send, on_finished=self._finished,
                               pps=pps, window=window)
        self._wake = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._listening: set[tuple[int, int]] = set()
        self.finished_cb: dict[object, Callable[[object], None]] = {}

    def _finished(self, task: object) -> None:
        cb = self.finished_cb.pop(task, None)
        if cb is not None:
            cb(task)
        elif self._on_finished is not None:
            self._on_finished(task)

    def poke(self) -> None:
        """Something changed (a new command, a halt): run the scheduler soon."""
        self._wake.set()

    def listen(self, family: int, proto: int) -> None:
        """Make sure replies of this protocol and family are being read."""
        key = (family, proto)
        if key in self._listening or self._nursery is None:
            return
        sock = self.io.open_recv(family, proto)
        self._listening.add(key)
        self._nursery.start_soon(self._recv_loop, sock, family, proto)

    def listen_for(self, v6: bool, proto: int) -> None:
        """Replies to a probe of ``proto`` come back as that protocol or as
        ICMP errors, so both are read."""
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        self.listen(fam, IPPROTO_ICMPV6 if v6 else IPPROTO_ICMP)
        if proto in (IPPROTO_TCP, IPPROTO_UDP):
            self.listen(fam, proto)

    async def _recv_loop(self, sock: socket.socket, family: int, proto: int) -> None:
        io = self.io
        sched = self.sched
        while True:
            await trio.lowlevel.wait_readable(sock)
            got = False
            for _ in range(_DRAIN):
                try:
                    reply = io.read_one(sock, family, proto)
                except MalformedPacket:
                    io.malformed += 1
                    continue
                except OSError:
                    break
                if reply is None:
                    break
                sched.reply(reply, time.time_ns())
                got = True
            if got:
                self._wake.set()
            await trio.lowlevel.checkpoint()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the sockets and drive the scheduler until cancelled."""
        self.io.open_send()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self.listen(socket.AF_INET, IPPROTO_ICMP)
                try:
                    self.listen(socket.AF_INET6, IPPROTO_ICMPV6)
                except OSError:
                    pass
                task_status.started()
                sched = self.sched
                while True:
                    sched.run(time.time_ns())
                    t = sched.next_wakeup(time.time_ns())
                    deadline = ns_to_trio(t) if t is not None else float("inf")
                    with trio.move_on_at(deadline):
                        await self._wake.wait()
                    self._wake = trio.Event()
        finally:
            self._nursery = None
            self._listening.clear()
            self.io.close()
