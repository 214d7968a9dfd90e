"""The contract between the engine and a measurement method.

A method is a pure state machine with time passed in: it never reads a clock,
opens a socket or awaits.  The engine asks :meth:`Task.next_action` what the
task wants now, sends the probe it returns (reporting the send time through
:meth:`Task.probe_sent`), feeds it matched replies through
:meth:`Task.receive_reply`, and collects :meth:`Task.result` when it is
finished.  Because nothing inside a task depends on wall time or I/O, a task
can be replayed from recorded replies and tested without trio.

Times are integers of nanoseconds since the epoch (``time.time_ns()`` at
``sendto``, ``SO_TIMESTAMPNS`` on receive), so RTTs keep microsecond
precision exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from warts.cursor import Timeval

from .packets import Reply

NS_PER_US = 1000
NS_PER_SEC = 1_000_000_000


def timeval(ns: int) -> Timeval:
    """A struct timeval from epoch ns, truncated to microseconds as
    gettimeofday() gives it (scamper's probe and reply times)."""
    us = ns // NS_PER_US
    return Timeval(us // 1_000_000, us % 1_000_000)


@dataclass(frozen=True, slots=True)
class Probe:
    """One packet for the engine to send.

    ``packet`` is the whole IP packet (header included); ``dst`` the raw
    destination address bytes (4 or 16) used for ``sendto``; ``ident`` is the
    task's own handle for the probe (attempt number, flow id ...), returned to
    it in :meth:`Task.probe_sent`.  ``via``, when set, sends the packet on the
    datalink towards that address's next hop (the destination itself, or a
    first-hop router) instead of through a raw IP socket (scamper's dltx).
    ``txts``, when a list, asks for the kernel's transmit time: the engine
    appends it (ns) when the kernel reports it (SO_TIMESTAMPING), as
    scamper's datalink sees a probe leave.
    """

    dst: bytes
    packet: bytes
    ident: Any = None
    via: bytes | None = None
    txts: list[int] | None = None

    @property
    def v6(self) -> bool:
        return len(self.dst) == 16


@dataclass(frozen=True, slots=True)
class FlowSpec:
    """What stays the same across one measurement's probes: the method, the
    addresses, the ports (or ICMP id) and the TOS.  Methods extend it with
    what else they hold constant (trace's payload, tracelb's payload size)."""

    method: int
    src: bytes
    dst: bytes
    sport: int
    dport: int
    tos: int

    @property
    def v6(self) -> bool:
        return len(self.dst) == 16


@dataclass(frozen=True, slots=True)
class SendProbe:
    probe: Probe


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to send until ``until`` (ns), unless a reply arrives first."""

    until: int


@dataclass(frozen=True, slots=True)
class Finished:
    pass


FINISHED = Finished()

Action = SendProbe | Wait | Finished

# A cheap matching key: (IP protocol of the probe, its identifier (ICMP id or
# our source port), target address bytes).  Replies yield the same key from
# their headers or from the probe quoted in an ICMP error.  A task may also
# hold a PortRange: every identifier from lo to hi towards one target.
MatchKey = Hashable


@dataclass(frozen=True, slots=True)
class PortRange:
    """A match key for a run of identifiers (source ports or ICMP ids)
    towards one target, as scamper's task signatures carry sport_x..sport_y:
    a reply whose key is ``(proto, ident, dst)`` with ``lo <= ident <= hi``
    matches it, and it conflicts with any key it covers."""

    proto: int
    lo: int
    hi: int
    dst: bytes

    def covers(self, ident: int) -> bool:
        return self.lo <= ident <= self.hi

    def overlaps(self, other: PortRange) -> bool:
        return self.lo <= other.hi and other.lo <= self.hi


# A PTR lookup: (address, callback(name or None)) -> whether one was started
PtrLookup = Callable[[bytes, Callable[[str | None], None]], bool]


@dataclass(frozen=True, slots=True)
class TaskContext:
    """What a method's factory is told about the task besides its command:
    the warts list and cycle its record belongs to, and where its ``-y``
    in-progress records go (None: nowhere).  Set at construction; nothing
    is patched onto a task afterwards."""

    list: Any = None
    cycle: Any = None
    progress: Callable[[Any], None] | None = None


class Network(Protocol):
    """The facts of the network the daemon probes into, as a method's
    factory may ask them: the kernel's (io.KernelNetwork) or a fake
    network's (fakenet.FakeNetwork).  The packet I/O that sends into a
    network carries it (``PacketIO.net``) and the engine hands it on
    (``Host.net``); nothing restates these."""

    def src_for(self, dst: bytes) -> bytes:
        """The source address towards ``dst`` (OSError: no route)."""
        ...

    def local_error(self, src: bytes) -> OSError | None:
        """Why ``src`` is not an address of ours (None: it is)."""
        ...

    def ifmtu_for(self, dst: bytes) -> int:
        """The MTU of the interface towards ``dst`` (OSError: unusable)."""
        ...

    def ifname(self, ifindex: int) -> str | None:
        """The name of interface ``ifindex`` (None: unknown)."""
        ...


class Host(Protocol):
    """What a method's factory may ask of the daemon, and nothing more (the
    engine implements it; tests hand in a fake).  As trio hands a handler a
    Stream and not the server."""

    @property
    def net(self) -> Network:
        """Source addresses, interface MTUs and names."""
        ...

    def listen_for(self, v6: bool, proto: int) -> None:
        """Read replies to probes of ``proto`` (and the ICMP errors they draw)."""
        ...

    def want_datalink(self, task: Any, keys: tuple[MatchKey, ...]) -> None:
        """Give ``task`` the replies the datalink sees under ``keys``."""
        ...

    def ptr(self, addr: bytes, callback: Callable[[str | None], None]) -> bool:
        """Look up ``addr``'s name with the daemon's resolver."""
        ...


# (command, context, host) -> the task: a method's factory
TaskFactory = Callable[[Any, TaskContext, Host], "Task"]


class Task(Protocol):
    def match_keys(self) -> Iterable[MatchKey]:
        """Keys under which replies to this task's probes arrive."""
        ...

    def next_action(self, now: int) -> Action:
        ...

    def probe_sent(self, probe: Probe, tx: int, error: Any = None) -> None:
        """The engine sent ``probe`` at ``tx`` ns, or failed with ``error``
        (a :class:`scamperd.engine.senderr.SendError`: errno and the message
        scamper records)."""
        ...

    def receive_reply(self, reply: Reply, now: int) -> None:
        """A reply matched by key; the task does the exact check itself."""
        ...

    def halt(self) -> None:
        """Stop now; the result must say so (stop reason HALTED)."""
        ...

    def result(self) -> Any:
        """The finished warts record."""
        ...
