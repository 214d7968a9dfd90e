"""The engine's packet I/O and clock, as interfaces: what the trio driver
(driver.py) drives, so that a fake network can stand in for the real one.

Theory of operation
-------------------
The driver owns the scheduler and the tasks; the packet I/O owns whatever
carries packets.  They meet at three points:

* the driver calls :meth:`PacketIO.send` from inside its send burst (the
  scheduler's ``send``) and gets the transmit time back;
* the packet I/O hands every reply it receives to a :class:`Receiver` the
  driver gave it in :meth:`PacketIO.run` -- the scheduler's own ``reply``,
  called synchronously, with no await per packet -- and, after a batch,
  calls ``handled`` so the driver wakes if the replies made work due;
* the driver calls :meth:`PacketIO.drain` right after each send burst, so
  replies that arrived during the sends are handed over before it sleeps.

The Host facts a method's factory asks for (source address, local address
check, interface MTU and name) are the packet I/O's too: they describe the
network it sends into, its :class:`~scamperd.engine.task.Network`
(``PacketIO.net``).  So is the :class:`Clock`: reply timestamps and the
driver's deadlines must be on one time base, so the driver reads the clock
of the packet I/O it drives.  The real I/O (io.RawIO) runs on
:data:`REAL_CLOCK`, the kernel's epoch time; a fake network runs on a
virtual clock derived from trio's (a ``MockClock`` makes it virtual).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import trio

from .packets import Reply
from .task import Network, Probe


class Clock(Protocol):
    """Epoch nanoseconds, and how to wait for them on trio's clock."""

    def now(self) -> int:
        """The time now, ns since the epoch."""
        ...

    def trio_time(self, t: int) -> float:
        """The trio deadline at which epoch-ns time ``t`` has come."""
        ...


class RealClock:
    """The system's epoch time (``time.time_ns``), which kernel timestamps use."""

    now = staticmethod(time.time_ns)

    @staticmethod
    def trio_time(t: int) -> float:
        return trio.current_time() + (t - time.time_ns()) / 1e9


REAL_CLOCK = RealClock()


class TrioClock:
    """Epoch time that runs with trio's clock: a fixed epoch at the trio time
    it was made, then trio's seconds as they pass.  Under ``MockClock`` it
    is virtual and deterministic; under trio's default clock it is real
    elapsed time (a fake network in a daemon process)."""

    def __init__(self, epoch_ns: int = 1_700_000_000 * 1_000_000_000) -> None:
        self.epoch_ns = epoch_ns
        self.base = trio.current_time()

    def now(self) -> int:
        return self.epoch_ns + round((trio.current_time() - self.base) * 1e9)

    def trio_time(self, t: int) -> float:
        # one ns late rather than early: a wakeup at the deadline must read
        # a time at or past it, or a virtual clock (which only moves when
        # every task sleeps) would spin on a deadline it never reaches
        return self.base + (t - self.epoch_ns + 1) / 1e9


@dataclass(frozen=True, slots=True)
class Receiver:
    """Where the packet I/O delivers what it receives (the driver builds it).

    ``reply(r, now)`` hands one reply to the scheduler (True: a task took
    it); ``dl_reply(r, now)`` hands over one the datalink saw, which goes
    only to the tasks that read the datalink; ``handled()`` ends a batch:
    the driver wakes if the replies made something due sooner.
    """

    reply: Callable[[Reply, int], bool]
    dl_reply: Callable[[Reply, int], bool]
    handled: Callable[[], None]


class PacketIO(Protocol):
    """What the driver needs of the network: sockets, or a fake."""

    clock: Clock
    malformed: int

    @property
    def kernel_drops(self) -> int:
        """Replies lost in the host for want of receive buffer space."""
        ...

    @property
    def net(self) -> Network:
        """The facts of the network it sends into (the Host's ``net``)."""
        ...

    def open(self) -> None:
        """Open what probing needs at all (OSError: cannot, e.g. no root)."""
        ...

    async def run(self, receiver: Receiver, *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Receive and hand replies to ``receiver`` until cancelled; close
        everything on the way out."""
        ...

    def listen(self, v6: bool, proto: int) -> None:
        """Receive packets of ``proto`` too (once running)."""
        ...

    def drain(self) -> None:
        """Hand over the replies already waiting (after a send burst)."""
        ...

    def datalink(self, on: bool) -> None:
        """Start or stop reading the datalink view (replies before reassembly)."""
        ...

    def send(self, probe: Probe) -> int:
        """Send ``probe``; its transmit time (epoch ns).  OSError: not sent."""
        ...

    def expire(self, now: int) -> int | None:
        """Let go of what sending no longer needs (idle per-port sockets);
        when to be asked again (epoch ns), or None."""
        ...

    def close(self) -> None:
        ...


def checked_ifmtu(mtu: int) -> int:
    """scamper_if_getmtu(): an MTU no IP packet can fill (lo's 65536) is an
    error, so PMTUD is skipped, as scamper does."""
    if not 0 <= mtu <= 65535:
        raise OSError(0, f"invalid MTU {mtu}")
    return mtu
