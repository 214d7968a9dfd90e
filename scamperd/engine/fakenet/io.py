"""The fake network as the engine's packet I/O (packetio.PacketIO).

Sending asks the :class:`~.network.FakeNetwork` what comes back and when;
the replies wait in a heap by arrival time.  One trio task sleeps until the
earliest is due and hands every due one to the engine's receiver, as the
real receive tasks do after a socket wakes them, and :meth:`FakeIO.drain`
hands over those already due after a send burst, as the real drain does.
A reply of a protocol nobody listens for is not delivered (the real engine
has no socket that would see it).  With the datalink view on, each reply
is delivered a second time as the datalink would see it: the raw sockets
get a fragmented reply reassembled, the datalink its fragments (of which
only the first parses: scamper's datalink code skips the others).

Time is a :class:`~scamperd.engine.packetio.TrioClock`: virtual under
trio's ``MockClock``, so seconds of probing take no time and every run is
the same, and real otherwise (a daemon process on a fake network).
"""

from __future__ import annotations

import errno
import heapq
import itertools

import trio

from ..packetio import Clock, Receiver, TrioClock
from ..packets import IPPROTO_ICMP, IPPROTO_ICMPV6, MalformedPacket, parse_datalink
from ..task import Probe
from .forge import as_received
from .network import Arrival, FakeNetwork
from .topology import Topology


class FakeIO:
    """A :class:`~scamperd.engine.packetio.PacketIO` on a fake network."""

    def __init__(self, net: FakeNetwork | Topology, clock: Clock | None = None, *,
                 refuse: OSError | None = None) -> None:
        self.net = net if isinstance(net, FakeNetwork) else FakeNetwork(net)
        self.clock: Clock = clock if clock is not None else TrioClock()
        self.refuse = refuse  # open() fails so, as RawIO does without root
        self.malformed = 0
        self.kernel_drops = 0  # the fake network's buffers never fill
        self._pending: list[tuple[int, int, Arrival]] = []
        self._seq = itertools.count()
        self._listening: set[tuple[bool, int]] = set()
        self._receiver: Receiver | None = None
        self._dl = False
        self._wake = trio.Event()

    def open(self) -> None:
        if self.refuse is not None:
            raise self.refuse

    def send(self, probe: Probe) -> int:
        tx = self.clock.now()
        arrivals = self.net.transmit(probe.packet, tx)
        if probe.txts is not None:
            probe.txts.append(tx)
        earliest = self._pending[0][0] if self._pending else None
        for a in arrivals:
            heapq.heappush(self._pending, (a.rx_ns, next(self._seq), a))
        if arrivals and (earliest is None or self._pending[0][0] < earliest):
            self._wake.set()
        return tx

    def listen(self, v6: bool, proto: int) -> None:
        self._listening.add((v6, proto))

    def datalink(self, on: bool) -> None:
        self._dl = on

    def drain(self) -> None:
        self._deliver(self.clock.now())

    def expire(self, now: int) -> int | None:
        return None  # the fake binds no per-port sockets

    def _deliver(self, now: int) -> bool:
        """Hand over every reply due by ``now``; whether any was."""
        rx = self._receiver
        if rx is None:
            return False
        got = False
        pending = self._pending
        while pending and pending[0][0] <= now:
            a = heapq.heappop(pending)[2]
            try:
                reply = as_received(a.packet, a.rx_ns, a.ifindex)
            except MalformedPacket:
                self.malformed += 1
                continue
            if (reply.v6, reply.proto) in self._listening:
                rx.reply(reply, now)
                got = True
            if self._dl:
                for frame in a.wire or (a.packet,):
                    dl = parse_datalink(frame, a.rx_ns, a.ifindex)
                    if dl is not None:  # None: a later fragment
                        got = rx.dl_reply(dl, now) or got
        return got

    async def run(self, receiver: Receiver, *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._receiver = receiver
        self.listen(False, IPPROTO_ICMP)
        self.listen(True, IPPROTO_ICMPV6)
        task_status.started()
        try:
            while True:
                deadline = (self.clock.trio_time(self._pending[0][0]) if self._pending
                            else float("inf"))
                with trio.move_on_at(deadline):
                    await self._wake.wait()
                self._wake = trio.Event()
                if self._deliver(self.clock.now()):
                    receiver.handled()
        finally:
            self._receiver = None

    def close(self) -> None:
        pass


def refused() -> OSError:
    """What opening a raw socket without privileges raises."""
    return PermissionError(errno.EPERM, "Operation not permitted")


