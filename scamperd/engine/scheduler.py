"""The shared probe scheduler: scamper's pacing, the task window, reply matching.

Theory of operation
-------------------
This is scamper's main loop (scamper.c) without the I/O.  The driver (the trio
side) calls :meth:`Scheduler.next_wakeup` to learn when to wake, sleeps until
then or until a reply or a new command arrives, and calls :meth:`Scheduler.run`.

Pacing follows scamper exactly: ``gap = 1 s / pps``.  At each wakeup, if the
last probe is more than ``gap_max`` (250 ms, plus ``gap`` when ``gap`` is
larger) in the past, the clock is pulled forward to ``now - gap`` so a long
idle period does not turn into a flood; then, while ``last + gap <= now``, one
probe is sent and ``last += gap``.  So probes go out in a burst of every one
that is due, with no await per packet, and the long-run rate is exactly
``pps`` however coarse the wakeups are.

A send slot goes to the first task in the ready queue that really wants to
send; if none does, a new task is taken from the sources, provided the window
(``-w``, 0 = unlimited) has room.  Starting a task uses the slot for its first
probe, as in scamper.  A task whose match keys collide with a running task's
(same protocol, identifier and target) is held until that task finishes, as
scamper holds a task that conflicts with one in progress.  A held task waits
on the one key it collided with and is looked at again only when that key is
released, so thousands of held tasks (a batch of pings to a few targets,
which share scamper's one ICMP id) cost nothing per send slot.

Replies are matched in two stages: :func:`reply_keys` derives cheap keys from
the reply (or from the probe it quotes), one dict lookup finds the task, and
the task checks the details itself.

Fault isolation: a task is a guest.  Every call into one (``match_keys``,
``next_action``, ``probe_sent``, ``receive_reply``, ``halt``) is fenced
here, where it is made, and so is a send that fails with anything but an
OSError (a probe the I/O layer cannot even put on the wire).  A task that
raises ends alone: its traceback is logged, ``stats.task_faults`` goes up,
and it is finished with the exception (``on_finished(task, fault)``), so
its source can still return the one record its client is owed.  Every
other task carries on.

Sources with a ``release`` method (the per-client sources) keep the
commands whose tasks conflicted themselves (see sources.py); they ask
:meth:`Scheduler.key_busy` and are told when a key is released.  A task
that conflicts here (one added directly, or from a source that keeps no
holds) is held by the scheduler as described above.
"""

from __future__ import annotations

import heapq
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from .packets import IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, Reply
from .senderr import SendError, send_error
from .task import FINISHED, Action, Finished, MatchKey, PortRange, Probe, SendProbe, Task, Wait

NS = 1_000_000_000
GAP_MAX_NS = 250_000_000  # scamper's gap_max: 250 ms
# Replies are read after this many sends in one burst: at high rates a
# burst would otherwise fill the receive buffers with replies we then
# report lost (issue 11: receive before send)
DRAIN_EVERY = 32
# How long a wait's expiry may be put off to the next send slot, so that one
# wakeup serves both: a timed wakeup of the trio driver costs 40-60 us of
# CPU here (bench/daemon_bench: one-probe pings took twice the CPU at
# -p 1000, a wakeup per probe, as at -p 10000, ten probes per wakeup).
# Nothing can be sent before that slot anyway, so only a timed-out task's
# result comes later, by at most this; trio's epoll timeouts are whole
# milliseconds, so wakeups already come up to 1 ms late.
EXPIRY_SLACK_NS = 1_000_000


class TaskSource(Protocol):
    """Where new tasks come from (the per-client sources)."""

    def ready(self) -> bool:
        ...

    def take(self) -> Task | None:
        ...

    def release(self, key: MatchKey) -> None:
        """``key`` is no longer held by a running task."""
        ...


def reply_keys(r: Reply) -> Iterator[MatchKey]:
    """Match keys for a reply: ``(proto, ident, target)`` as the probe was keyed.

    ICMP probes are keyed by ICMP id, UDP and TCP probes by our source port;
    the target is the probe's destination.  A direct reply comes from the
    target; an ICMP error quotes the probe, whose destination is the target.
    """
    q = r.quote
    if q is not None:
        if q.has_transport:
            if q.proto in (IPPROTO_ICMP, IPPROTO_ICMPV6):
                yield (q.proto, q.icmp_id, q.dst)
            elif q.proto in (IPPROTO_UDP, IPPROTO_TCP):
                yield (q.proto, q.sport, q.dst)
        # Probes keyed by destination only (e.g. fragments) still match.
        yield (q.proto, None, q.dst)
        return
    proto = r.proto
    if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6):
        yield (proto, r.icmp_id, r.src)
    elif proto in (IPPROTO_TCP, IPPROTO_UDP):
        yield (proto, r.dport, r.src)
    yield (proto, None, r.src)


@dataclass(eq=False)
class _Slot:
    task: Task
    keys: tuple[MatchKey, ...]
    gen: int = 0
    in_ready: bool = False
    done: bool = False
    fault: BaseException | None = None


@dataclass
class Stats:
    probes_sent: int = 0
    send_errors: int = 0
    # when the first and the latest probe went out (ns; 0: none yet), for
    # the achieved rate
    first_tx: int = 0
    last_tx: int = 0
    # send slots given up because the engine fell more than gap_max behind
    # its pace (scamper's rule): the rate -p asked for was not held
    slots_skipped: int = 0
    replies: int = 0
    replies_unmatched: int = 0
    tasks_started: int = 0
    tasks_finished: int = 0
    tasks_held: int = 0
    task_faults: int = 0


@dataclass(eq=False)
class Scheduler:
    """The engine's brain.  ``send(probe) -> tx_ns`` does the I/O (raising
    OSError on failure); ``on_finished(task, fault)`` hands a finished task
    back, with the exception it raised if it faulted (else None)."""

    send: Callable[[Probe], int]
    on_finished: Callable[[Task, BaseException | None], None]
    pps: int = 20
    # reads the replies already waiting (the packet I/O's drain): called
    # before waits expire and between bursts of sends, so a reply that
    # reached the host is filed before its probe could time out and socket
    # buffers do not fill while we send
    drain: Callable[[], None] | None = None
    window: int = 0
    sources: list[TaskSource] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self._slots: dict[Task, _Slot] = {}
        self._ready: deque[_Slot] = deque()
        self._waiting: list[tuple[int, int, int, _Slot]] = []
        self._seq = 0
        self._keys: dict[MatchKey, _Slot] = {}
        # PortRange keys held, per (proto, target), and the identifiers of
        # exact keys per (proto, target), for conflicts with ranges
        self._ranges: dict[tuple[int, bytes], dict[PortRange, _Slot]] = {}
        self._idents: dict[tuple[int, bytes], set[int]] = {}
        # Held tasks in the order they were held (the value orders them); the
        # tasks blocked on each running key; and the released ones, a heap by
        # hold order, to try again before taking new work.
        self._held: dict[Task, int] = {}
        self._hold_seq = 0
        self._blocked: dict[MatchKey, deque[Task]] = {}
        self._released: list[tuple[int, Task]] = []
        self._last: int | None = None
        self._had_work = False  # work was left when the last run ended
        self.set_rate(self.pps, self.window)

    # -- configuration ----------------------------------------------------

    def set_rate(self, pps: int, window: int | None = None) -> None:
        self.pps = pps
        if window is not None:
            self.window = window
        self.gap = NS // pps if pps else 0
        self.gap_max = GAP_MAX_NS + (self.gap if self.gap > GAP_MAX_NS else 0)

    @property
    def active(self) -> int:
        """Tasks in the window (started, not finished)."""
        return len(self._slots)

    def key_busy(self, key: MatchKey) -> bool:
        """Is ``key`` itself held by a running task?"""
        if isinstance(key, PortRange):
            return key in self._ranges.get((key.proto, key.dst), ())
        return key in self._keys

    def blocker(self, key: MatchKey) -> MatchKey | None:
        """The key a running task holds that ``key`` conflicts with: the
        same key, or a PortRange covering it, or (for a range) a key or range
        within it.  None when ``key`` is free."""
        if isinstance(key, PortRange):
            target = (key.proto, key.dst)
            for held in self._ranges.get(target, ()):
                if held.overlaps(key):
                    return held
            for ident in self._idents.get(target, ()):
                if key.covers(ident):
                    return (key.proto, ident, key.dst)
            return None
        if key in self._keys:
            return key
        if self._ranges and type(key) is tuple and len(key) == 3 and type(key[1]) is int:
            for held in self._ranges.get((key[0], key[2]), ()):
                if held.covers(key[1]):
                    return held
        return None

    def window_open(self) -> bool:
        return self.window == 0 or len(self._slots) < self.window

    # -- scheduling ---------------------------------------------------------

    def _sources_ready(self) -> bool:
        return bool(self._released) or any(s.ready() for s in self.sources)

    def _has_work(self) -> bool:
        return bool(self._ready) or (self.window_open() and self._sources_ready())

    def next_wakeup(self, now: int) -> int | None:
        """When :meth:`run` next has something to do (ns), or None."""
        t: int | None = None
        if self._has_work():
            last = self._last if self._last is not None else now - self.gap
            t = last + self.gap
        w = self._waiting
        while w and w[0][3].gen != w[0][1]:
            heapq.heappop(w)
        if w and (t is None or w[0][0] < t - EXPIRY_SLACK_NS):
            t = w[0][0]
        return t

    def run(self, now: int) -> None:
        """Read waiting replies, expire waits, then send every probe that is
        due, reading replies again every DRAIN_EVERY sends."""
        drain = self.drain
        if drain is not None:
            drain()
        w = self._waiting
        while w and w[0][0] <= now:
            _, gen, _, slot = heapq.heappop(w)
            if slot.gen == gen and not slot.done:
                self._evaluate(slot, now)
        if not self._has_work():
            self._had_work = False
            return
        if self._last is None or now - self._last > self.gap_max:
            if self._last is not None and self.gap and self._had_work:
                # probes were due all along: we fell behind, not idle
                self.stats.slots_skipped += (now - self.gap - self._last) // self.gap
            self._last = now - self.gap
        sent = 0
        while True:
            nxt = self._last + self.gap
            if nxt > now:
                break
            if not self._send_one(now):
                break
            self._last = nxt
            sent += 1
            if drain is not None and sent % DRAIN_EVERY == 0:
                drain()
        self._had_work = self._has_work()

    def _send_one(self, now: int) -> bool:
        """Use one send slot; False when nothing can use it now.

        A slot in which the sources only had commands blocked behind busy
        keys counts as used, as a task start would: otherwise the driver
        would wake at once to build the next blocked command, and a queue
        of commands for one busy target would turn into a burst of builds.
        """
        ready = self._ready
        while ready:
            slot = ready.popleft()
            slot.in_ready = False
            if not slot.done and self._act(slot, now):
                return True
        while self.window_open():
            new = self._take()
            if new is None:
                return self._sources_ready()
            started = self._start(new)
            if started is not None and self._act(started, now):
                return True
        return False

    def _act(self, slot: _Slot, now: int) -> bool:
        """Do what ``slot``'s task wants now: send its probe (True), or file
        it to wait or finish (False; nothing for a task that faulted)."""
        action = self._next_action(slot, now)
        if isinstance(action, SendProbe):
            self._transmit(slot, action.probe, now)
            return True
        if action is not None:
            self._place(slot, action, now)
        return False

    # -- the fence around every call into a task ------------------------------

    def _next_action(self, slot: _Slot, now: int) -> Action | None:
        try:
            return slot.task.next_action(now)
        except Exception as e:
            self._fault(slot, e, "next_action")
            return None

    def _fault(self, slot: _Slot, exc: BaseException, where: str) -> None:
        """The task raised: it ends alone, with the exception."""
        if slot.done:
            return
        self._log_fault(slot.task, exc, where)
        slot.fault = exc
        self._finish(slot)

    def _log_fault(self, task: Task, exc: BaseException, where: str) -> None:
        self.stats.task_faults += 1
        print(f"scamperd: {type(task).__name__} failed in {where}: {exc!r}", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)

    def _notify(self, task: Task, fault: BaseException | None) -> None:
        try:
            self.on_finished(task, fault)
        except Exception as e:  # the sink's bug: log it, keep the engine going
            print(f"scamperd: delivering a result failed: {e!r}", file=sys.stderr)
            traceback.print_exception(e, file=sys.stderr)

    def _take(self) -> Task | None:
        released = self._released
        while released:
            order, held = heapq.heappop(released)
            if self._held.get(held) != order:
                continue  # halted or abandoned while it waited
            key = self._conflict(held)
            if key is not None:
                self._blocked.setdefault(key, deque()).append(held)
                continue
            del self._held[held]
            return held
        for src in self.sources:
            if src.ready():
                task = src.take()
                if task is not None:
                    return task
        return None

    def _conflict(self, task: Task) -> MatchKey | None:
        """The held key one of ``task``'s keys conflicts with, or None."""
        for k in task.match_keys():
            held = self.blocker(k)
            if held is not None:
                return held
        return None

    def _hold_key(self, k: MatchKey, slot: _Slot) -> None:
        if isinstance(k, PortRange):
            self._ranges.setdefault((k.proto, k.dst), {})[k] = slot
            return
        self._keys[k] = slot
        if type(k) is tuple and len(k) == 3 and type(k[1]) is int:
            self._idents.setdefault((k[0], k[2]), set()).add(k[1])

    def _drop_keys(self, slot: _Slot) -> None:
        """``slot`` no longer holds its keys: release each."""
        for k in slot.keys:
            if isinstance(k, PortRange):
                target = (k.proto, k.dst)
                held = self._ranges.get(target)
                if held is None or held.get(k) is not slot:
                    continue
                del held[k]
                if not held:
                    del self._ranges[target]
            else:
                if self._keys.get(k) is not slot:
                    continue
                del self._keys[k]
                if type(k) is tuple and len(k) == 3 and type(k[1]) is int:
                    idents = self._idents.get((k[0], k[2]))
                    if idents is not None:
                        idents.discard(k[1])
                        if not idents:
                            del self._idents[(k[0], k[2])]
            self._release(k)

    def _range_slot(self, k: MatchKey) -> _Slot | None:
        """The task holding a PortRange that covers reply key ``k``."""
        if type(k) is tuple and len(k) == 3 and type(k[1]) is int:
            for held, slot in self._ranges.get((k[0], k[2]), {}).items():
                if held.covers(k[1]):
                    return slot
        return None

    def _hold(self, task: Task, key: MatchKey) -> None:
        self.stats.tasks_held += 1
        self._held[task] = self._hold_seq
        self._hold_seq += 1
        self._blocked.setdefault(key, deque()).append(task)

    def _release(self, key: MatchKey) -> None:
        """``key`` is free: the tasks held on it may start (in hold order),
        and the sources hear of it."""
        for src in self.sources:
            src.release(key)
        blocked = self._blocked.pop(key, None)
        if blocked:
            for task in blocked:
                order = self._held.get(task)
                if order is not None:
                    heapq.heappush(self._released, (order, task))

    def _start(self, task: Task) -> _Slot | None:
        try:
            keys = tuple(task.match_keys())
        except Exception as e:
            self._log_fault(task, e, "match_keys")
            self.stats.tasks_finished += 1
            self._notify(task, e)
            return None
        for k in keys:
            held = self.blocker(k)
            if held is not None:
                self._hold(task, held)
                return None
        slot = _Slot(task, keys)
        self._slots[task] = slot
        for k in keys:
            self._hold_key(k, slot)
        self.stats.tasks_started += 1
        return slot

    def _transmit(self, slot: _Slot, probe: Probe, now: int) -> None:
        err: SendError | None = None
        try:
            tx = self.send(probe)
            st = self.stats
            st.probes_sent += 1
            if not st.first_tx:
                st.first_tx = tx
            st.last_tx = tx
        except OSError as e:
            tx = now
            err = send_error(probe, e)
            self.stats.send_errors += 1
        except Exception as e:  # a probe the I/O layer cannot handle at all
            self._fault(slot, e, "send")
            return
        try:
            slot.task.probe_sent(probe, tx, err)
        except Exception as e:
            self._fault(slot, e, "probe_sent")
            return
        self._evaluate(slot, tx)

    def _evaluate(self, slot: _Slot, now: int) -> None:
        action = self._next_action(slot, now)
        if action is not None:
            self._place(slot, action, now)

    def _place(self, slot: _Slot, action: SendProbe | Wait | Finished, now: int) -> None:
        slot.gen += 1
        if isinstance(action, SendProbe):
            if not slot.in_ready:
                slot.in_ready = True
                self._ready.append(slot)
        elif isinstance(action, Wait):
            self._seq += 1
            heapq.heappush(self._waiting, (action.until, slot.gen, self._seq, slot))
        else:
            self._finish(slot)

    def _finish(self, slot: _Slot) -> None:
        if slot.done:
            return
        slot.done = True
        del self._slots[slot.task]
        self._drop_keys(slot)
        self.stats.tasks_finished += 1
        self._notify(slot.task, slot.fault)

    # -- input from outside ------------------------------------------------

    def add(self, task: Task, now: int) -> None:
        """Start a task directly (outside the sources), window permitting or not."""
        slot = self._start(task)
        if slot is not None:
            self._evaluate(slot, now)

    def reply(self, r: Reply, now: int) -> bool:
        """Hand a reply to the task it matches; False if none does."""
        self.stats.replies += 1
        keys = self._keys
        for k in reply_keys(r):
            slot = keys.get(k)
            if slot is None and self._ranges:
                slot = self._range_slot(k)
            if slot is not None:
                try:
                    slot.task.receive_reply(r, now)
                except Exception as e:
                    self._fault(slot, e, "receive_reply")
                    return True
                if not slot.in_ready:
                    self._evaluate(slot, now)
                return True
        self.stats.replies_unmatched += 1
        return False

    def halt(self, task: Task, now: int) -> bool:
        """Halt a running or held task; it finishes at once with its partial result."""
        slot = self._slots.get(task)
        if slot is not None:
            try:
                task.halt()
            except Exception as e:
                self._fault(slot, e, "halt")
                return True
            self._evaluate(slot, now)
            if not slot.done:
                self._finish(slot)
            return True
        if task in self._held:
            del self._held[task]
            fault: BaseException | None = None
            try:
                task.halt()
            except Exception as e:
                self._log_fault(task, e, "halt")
                fault = e
            self.stats.tasks_finished += 1
            self._notify(task, fault)
            return True
        return False

    def abandon(self, tasks: set[Task]) -> None:
        """Drop tasks without results (their client went away)."""
        for task in list(tasks):
            slot = self._slots.pop(task, None)
            if slot is not None:
                slot.done = True
                self._drop_keys(slot)
            self._held.pop(task, None)

    def halt_all(self, now: int) -> None:
        for task in list(self._slots):
            self.halt(task, now)
        for task in list(self._held):
            self.halt(task, now)


def achieved_pps(st: Stats) -> float:
    """Probes per second from the first probe to the latest."""
    span = st.last_tx - st.first_tx
    if st.probes_sent < 2 or span <= 0:
        return 0.0
    return (st.probes_sent - 1) * NS / span


__all__ = ["FINISHED", "Scheduler", "Stats", "TaskSource", "achieved_pps", "reply_keys"]
