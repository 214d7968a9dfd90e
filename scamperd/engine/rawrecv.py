"""Raw sockets, the receive side: replies with the kernel's receive times.

Theory of operation
-------------------
One raw socket per protocol and family receives replies (ICMP, ICMPv6, and
TCP/UDP opened lazily when a task first needs them: a raw TCP socket sees
every TCP segment on the host, control connections included, so it costs
only while TCP methods run).

Receive sockets ask the kernel for ``SO_TIMESTAMPNS``, so a reply's time is
when the kernel took it, not when trio got round to us, and for the receiving
interface (``IP_PKTINFO``/``IPV6_RECVPKTINFO``) and, on IPv6, the hop limit
and traffic class that the IPv6 raw socket does not hand over in the payload.
Each socket has one trio task that waits for readability and then drains the
socket with non-blocking ``recvmsg`` calls, handing each parsed reply to the
scheduler (the driver's :class:`~scamperd.engine.packetio.Receiver`), and
the driver drains every socket right after its send bursts (:meth:`drain`).

Tasks that need to see replies before IP reassembly (ping ``-M``/``-O
tbt``) ask for the datalink view (the driver's ``want_datalink``): a
PF_PACKET socket is then read too, and what it sees goes to those tasks only
(marked ``Reply.dl``), so no other task gets a reply twice.

Malformed packets are counted (``malformed``) and dropped.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from functools import partial

import trio

from . import datalink
from .packetio import Receiver
from .packets import (
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    MalformedPacket,
    Reply,
    parse_datalink,
    parse_ipv4,
    parse_ipv6_payload,
)

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

TIMESPEC = struct.Struct("@qq")
INT = struct.Struct("@i")
UINT = struct.Struct("@I")
_DRAIN = 512  # packets read per wakeup before yielding to other tasks
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
# Receive buffers: 50,000 replies a second for ~0.5 s of our being busy.
# SO_RCVBUF is capped by net.core.rmem_max (208 KiB by default: ~40 ms of
# replies at 50,000 pps); as root SO_RCVBUFFORCE is not.
RCVBUF = 16 << 20
_RECV_SIZE = 65535
ANC_SIZE = 256


def _rcvbuf(s: socket.socket) -> None:
    """Size ``s``'s receive buffer for the rate (see RCVBUF) and have the
    kernel count what it drops anyway (SO_RXQ_OVFL)."""
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
    except OSError:
        pass


class RawReceive:
    """The receive sockets and their trio tasks (a base of RawIO)."""

    def __init__(self) -> None:
        self.recv_socks: dict[tuple[int, int], socket.socket] = {}
        self.dl_rx: socket.socket | None = None
        self._ifindex: dict[str, int] = {}
        self.malformed = 0
        self.received = 0
        # packets the kernel dropped for want of buffer space, per socket
        # (SO_RXQ_OVFL's running count, from the latest packet's cmsg)
        self._ovfl: dict[int, int] = {}
        # while run() runs: its nursery and where replies go
        self._nursery: trio.Nursery | None = None
        self._receiver: Receiver | None = None
        self._listening: set[tuple[int, int]] = set()
        self._dl_on = False
        self._dl_scope: trio.CancelScope | None = None

    def open_recv(self, family: int, proto: int) -> socket.socket:
        key = (family, proto)
        s = self.recv_socks.get(key)
        if s is not None:
            return s
        s = socket.socket(family, socket.SOCK_RAW, proto)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        _rcvbuf(s)
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
            _rcvbuf(s)
            self.dl_rx = s
        return self.dl_rx

    def read_dl(self, sock: socket.socket) -> Reply | None | bool:
        """One non-blocking datalink read: a Reply, False for a frame that is
        no reply (ours, not IP, a later fragment), None when empty."""
        try:
            data, anc, _flags, addr = sock.recvmsg(_RECV_SIZE, ANC_SIZE)
        except BlockingIOError:
            return None
        # addr: (ifname, proto, pkttype, hatype, lladdr)
        if addr[2] == datalink.PACKET_OUTGOING or addr[1] not in (datalink.ETH_P_IP,
                                                                   datalink.ETH_P_IPV6):
            return False
        rx = 0
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS:
                sec, nsec = TIMESPEC.unpack_from(cdata)
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
            data, anc, _flags, addr = sock.recvmsg(_RECV_SIZE, ANC_SIZE)
        except BlockingIOError:
            return None
        rx = 0
        ifindex = 0
        hlim = 0
        tclass = 0
        dst = b""
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS:
                sec, nsec = TIMESPEC.unpack_from(cdata)
                rx = sec * 1_000_000_000 + nsec
            elif level == socket.SOL_SOCKET and typ == SO_RXQ_OVFL:
                self._ovfl[sock.fileno()] = UINT.unpack_from(cdata)[0]
            elif level == socket.IPPROTO_IP and typ == IP_PKTINFO:
                ifindex = INT.unpack_from(cdata)[0]
            elif level == socket.IPPROTO_IPV6:
                if typ == IPV6_PKTINFO:
                    dst = cdata[:16]
                    ifindex = INT.unpack_from(cdata, 16)[0]
                elif typ == IPV6_HOPLIMIT:
                    hlim = INT.unpack_from(cdata)[0]
                elif typ == IPV6_TCLASS:
                    tclass = INT.unpack_from(cdata)[0]
        if rx == 0:
            rx = time.time_ns()
        self.received += 1
        if family == socket.AF_INET:
            return parse_ipv4(data, rx, ifindex)
        src = socket.inet_pton(socket.AF_INET6, addr[0].split("%")[0])
        return parse_ipv6_payload(proto, data, src, dst, hlim, tclass, rx, ifindex)

    @property
    def kernel_drops(self) -> int:
        """Replies the kernel dropped because our receive buffers were full."""
        return sum(self._ovfl.values())

    def close_recv(self) -> None:
        for s in (self.dl_rx, *self.recv_socks.values()):
            if s is not None:
                s.close()
        self.dl_rx = None
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
            self.close_recv()

    def listen(self, v6: bool, proto: int) -> None:
        """Make sure replies of this protocol and family are being read."""
        key = (socket.AF_INET6 if v6 else socket.AF_INET, proto)
        if key in self._listening or self._nursery is None:
            return
        sock = self.open_recv(*key)
        self._listening.add(key)
        self._nursery.start_soon(self._recv_loop, sock, *key)

    def _batch(self, read: Callable[[], Reply | bool | None],
               deliver: Callable[[Reply, int], bool]) -> tuple[bool, bool]:
        """Up to _DRAIN non-blocking reads, each reply handed to ``deliver``:
        (any reply matched a task, _DRAIN reached with more perhaps waiting).
        ``read`` returns None when the socket is empty, False for a frame
        that is no reply; a packet that does not parse is counted."""
        got = False
        for _ in range(_DRAIN):
            try:
                reply = read()
            except MalformedPacket:
                self.malformed += 1
                continue
            except OSError:
                return got, False
            if reply is None:
                return got, False
            if reply is not False:
                assert isinstance(reply, Reply)
                got = deliver(reply, time.time_ns()) or got
        return got, True

    def _drain(self, sock: socket.socket, family: int, proto: int) -> tuple[bool, bool]:
        """Hand up to _DRAIN waiting replies to the scheduler (see _batch)."""
        assert self._receiver is not None
        return self._batch(partial(self.read_one, sock, family, proto), self._receiver.reply)

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
        read = partial(self.read_dl, sock)
        while True:
            await trio.lowlevel.wait_readable(sock)
            got, more = self._batch(read, deliver)
            if more:
                await trio.lowlevel.checkpoint()  # as in _recv_loop
            if got:
                handled()
