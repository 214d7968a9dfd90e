"""Per-client sources: queued commands, priority round robin, result routing.

Theory of operation
-------------------
Every attached client (and the one-shot command line) is a *source*, as in
scamper_sources.c: it has its own queue of accepted commands, its own list and
cycle records, task ids counting from 1, and a priority.  The scheduler asks
:class:`SourceSet` for a new task whenever a send slot is free and the window
has room; the set serves sources in weighted round robin, giving the current
source up to ``priority`` task starts before moving on, so a priority-5 client
gets five starts for each start of a priority-1 client while both have work.

A queued command stays compact (:class:`Queued`: its id and the parsed
command, about 0.5 KiB) until the scheduler takes it; only then is its task
built.  A task whose match keys collide with a running task's (the same
probe signature, as scamper's task signatures collide) is not kept: its
command goes back to its own source, *blocked* on that key, and the task is
dropped.  When the key is released, each source blocked on it gets one
command back at the head of its queue (``front``), so held work is served by
the same round robin and priorities as new work, and a client with 10,000
pings to one target does not make another client's single ping to it wait
for all of them (scamper returns an unheld task to its own source too).
Releasing one command per source keeps a release O(sources): the others
stay blocked, cheaply, until their turn.

Taking a command is what scamper's ``MORE`` reports: when a take leaves a
source's queue empty, and the client has not said ``done``, the source's
``on_more`` callback fires.

Results: every command accepted (``OK id-N``) is owed exactly one record.
:meth:`Source.finished` is the one place a record is made: the task's own
``result()``, or, when the task faulted (its method raised, see the
scheduler) or ``result()`` raises, the method's error record built from the
command alone (``failed``).  The record goes to the source's sink
(``on_result``).  ``outstanding`` counts commands without a record yet;
``max_outstanding`` caps it, and a sink that cannot keep up sets ``paused``
so no new task starts until it drains (results are never dropped).
"""

from __future__ import annotations

import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .engine.task import FINISHED, Action, MatchKey, Probe, Task

# (command, task id) -> its task (the sink knows where the task's -y
# snapshots go for that id)
TaskFactory = Callable[[Any, int], Task]
# (command, source, error text, now ns) -> the method's record for an error
FailedRecord = Callable[[Any, "Source", str, int], Any]
# Is a probe signature itself held by a running task?  And which held key
# does a key conflict with (itself, or a PortRange covering it)?  (The
# scheduler's view: Scheduler.key_busy and Scheduler.blocker.)
KeyBusy = Callable[[MatchKey], bool]
KeyBlocker = Callable[[MatchKey], "MatchKey | None"]

# Commands a client may have without a result (queued, held or running).
# Generous: a queued command costs about 0.5 KiB (tests/scamperd/test_sources
# measures it), and Ark-style clients send 100,000s of commands up front.
MAX_OUTSTANDING = 1_000_000
# Tasks a take may build and find blocked before it gives up its slot: a
# queue of commands to one busy target must not cost a burst of builds.
TAKE_TRIES = 8
# Commands a take may find blocked by their keys alone (no task built, a
# dict lookup each) before it gives up its slot.
TAKE_SKIPS = 256


def _log(msg: str) -> None:
    print(f"scamperd: {msg}", file=sys.stderr)


def error_text(exc: BaseException) -> str:
    """The errmsg a record carries for a method's internal failure."""
    return f"internal error: {type(exc).__name__}: {exc}"


class Queued:
    """An accepted command waiting for its task: kept small (see above)."""

    __slots__ = ("task_id", "command", "blocked_on")

    def __init__(self, task_id: int, command: Any) -> None:
        self.task_id = task_id
        self.command = command
        # The key it was blocked on, once it has been (None: never held).
        self.blocked_on: MatchKey | None = None


class FailedTask:
    """Stands in for a task whose factory raised: it finishes at once, and
    its ``result()`` raises the factory's error, so :meth:`Source.finished`
    makes the method's error record."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def match_keys(self) -> Iterable[MatchKey]:
        return ()

    def next_action(self, now: int) -> Action:
        return FINISHED

    def probe_sent(self, probe: Probe, tx: int, error: OSError | None = None) -> None:
        pass

    def receive_reply(self, reply: Any, now: int) -> None:
        pass

    def halt(self) -> None:
        pass

    def result(self) -> Any:
        raise self.error


def _no_failed(command: Any, source: Source, errmsg: str, now: int) -> Any:
    return None


@dataclass(eq=False)
class Source:
    """One client's queue of commands and what it needs to route results."""

    name: str
    make_task: TaskFactory
    on_result: Callable[[int, Any], None]
    on_more: Callable[[], None] = lambda: None
    failed: FailedRecord = _no_failed
    priority: int = 1
    descr: str | None = None
    list_id: int = 0
    cycle_id: int = 1
    kind: str = "control"
    # The warts list and cycle this source's records belong to, and the
    # outfile name `source list` shows (hooks for the control session and
    # the methods, which put list/cycle into their result records).
    list_info: Any = None
    cycle_info: Any = None
    outfile: str | None = None
    queue: deque[Queued] = field(default_factory=deque)
    # released from a hold: started before anything in the queue
    front: deque[Queued] = field(default_factory=deque)
    blocked: dict[MatchKey, deque[Queued]] = field(default_factory=dict)
    running: dict[Task, Queued] = field(default_factory=dict)
    next_id: int = 1
    done: bool = False
    closed: bool = False
    # The sink is full: start nothing new until it drains.
    paused: bool = False
    outstanding: int = 0
    max_outstanding: int = MAX_OUTSTANDING
    # Set by the SourceSet: whether a key is held by a running task, and
    # what to call when a command becomes blocked on a key.
    busy: KeyBusy = lambda key: False
    blocker: KeyBlocker = lambda key: None
    # A built task that will not run: drop what was registered for it.
    on_discard: Callable[[Task], None] = lambda task: None
    # The keys a command's task will hold, when the command alone says.
    keys_of: Callable[[Any], tuple[MatchKey, ...] | None] = lambda command: None
    # Ask to be told when a task taken from here finishes (engine.watch).
    watch: Callable[[Task, Callable[[Task, BaseException | None], None]], None] = \
        lambda task, cb: None
    on_blocked: Callable[[Source, MatchKey], None] = lambda src, key: None

    def submit(self, command: Any) -> int:
        """Queue an accepted command; returns its task id."""
        if self.outstanding >= self.max_outstanding:
            raise OverflowError(f"too many commands without a result "
                                f"({self.max_outstanding})")
        tid = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF or 1
        self.queue.append(Queued(tid, command))
        self.outstanding += 1
        return tid

    def ready(self) -> bool:
        return bool(self.front or self.queue) and not self.closed and not self.paused

    def take(self) -> Task | None:
        """Build the task of the next command that is not blocked, building
        at most :data:`TAKE_TRIES` tasks (and looking at most
        :data:`TAKE_SKIPS` commands whose keys alone show them blocked)."""
        builds = skips = 0
        while builds < TAKE_TRIES and skips < TAKE_SKIPS:
            if self.closed or self.paused:
                return None
            if self.front:
                q = self.front.popleft()
            elif self.queue:
                q = self.queue.popleft()
                if not self.queue and not self.done:
                    self.on_more()
            else:
                return None
            was = q.blocked_on
            known = self.keys_of(q.command)
            if known is not None:
                held = next((h for k in known if (h := self.blocker(k)) is not None), None)
                if held is not None:
                    self._block(q, held)
                    self._moved_on(was, known)
                    skips += 1
                    continue
            builds += 1
            task = self._build(q)
            # known keys were just checked (they equal the task's: a test
            # holds every method to that)
            keys, key = (known, None) if known is not None else self._conflict(task)
            if key is None:
                self.running[task] = q
                self.watch(task, self.finished)
            else:
                self._block(q, key)
                self.on_discard(task)
            self._moved_on(was, keys)
            if key is None:
                return task
        return None

    def _moved_on(self, was: MatchKey | None, keys: tuple[MatchKey, ...]) -> None:
        """A command that waited on ``was`` has been taken: if its task does
        not hold that key (it drew other ports, or waits on another key) and
        nobody else holds it, the next command waiting on it may go."""
        if was is not None and was not in keys and not self.busy(was):
            self.release(was)

    def _build(self, q: Queued) -> Task:
        try:
            return self.make_task(q.command, q.task_id)
        except Exception as e:  # a method bug costs its own command only
            _log(f"could not create task {q.task_id} for {self.name}: "
                 f"{''.join(traceback.format_exception_only(e)).strip()}")
            traceback.print_exc(file=sys.stderr)
            return FailedTask(e)

    def _conflict(self, task: Task) -> tuple[tuple[MatchKey, ...], MatchKey | None]:
        """The task's keys, and the held key the first conflicting one
        collides with (the key whose release will free the command)."""
        try:
            keys = tuple(task.match_keys())
        except Exception:
            return (), None  # the scheduler fences match_keys and faults the task
        for k in keys:
            held = self.blocker(k)
            if held is not None:
                return keys, held
        return keys, None

    def _block(self, q: Queued, key: MatchKey) -> None:
        dq = self.blocked.get(key)
        if dq is None:
            dq = self.blocked[key] = deque()
            self.on_blocked(self, key)
        if q.blocked_on is not None:
            dq.appendleft(q)  # it was first in line: keep its place
        else:
            dq.append(q)
        q.blocked_on = key

    def release(self, key: MatchKey) -> bool:
        """``key`` is free: the first command blocked on it goes to the
        front of the queue.  False when none was blocked on it."""
        dq = self.blocked.get(key)
        if not dq:
            return False
        self.front.append(dq.popleft())
        if not dq:
            del self.blocked[key]
        return True

    def finished(self, task: Task, fault: BaseException | None = None) -> None:
        """The task ended: make its one record and hand it to the sink."""
        q = self.running.pop(task, None)
        if q is None:
            return
        self.outstanding -= 1
        if self.closed:
            return
        self._deliver(q, self.record(task, q.command, fault))

    def _deliver(self, q: Queued, rec: Any) -> None:
        try:
            self.on_result(q.task_id, rec)
        except Exception as e:  # e.g. a value the warts writer refuses
            _log(f"could not deliver result {q.task_id} to {self.name}: {e!r}")
            traceback.print_exc(file=sys.stderr)
            self.on_result(q.task_id, self._failed(q.command, error_text(e)))

    def _failed(self, command: Any, text: str) -> Any:
        return self.failed(command, self, text, time.time_ns())

    def halt_waiting(self, q: Queued) -> None:
        """Halt a command taken out of the queue with :meth:`unqueue`: as
        scamper created the task when it accepted the command, it reports
        its (empty) result now."""
        task = self._build(q)
        self.on_discard(task)
        fault: BaseException | None = None
        try:
            task.halt()
        except Exception as e:
            fault = e
        self.outstanding -= 1
        if not self.closed:
            self._deliver(q, self.record(task, q.command, fault))

    def unqueue(self, task_id: int) -> Queued | None:
        """Take a command that has not started out of wherever it waits
        (it stays outstanding: :meth:`halt_waiting` reports it)."""
        for dq in (self.front, self.queue):
            for q in dq:
                if q.task_id == task_id:
                    dq.remove(q)
                    return q
        for key, dq in self.blocked.items():
            for q in dq:
                if q.task_id == task_id:
                    dq.remove(q)
                    if not dq:
                        del self.blocked[key]
                    return q
        return None

    def record(self, task: Task, command: Any, fault: BaseException | None) -> Any:
        if fault is None:
            try:
                rec = task.result()
                if rec is not None:
                    return rec
            except Exception as e:
                fault = e
                if not isinstance(task, FailedTask):
                    _log(f"result of a task of {self.name} failed: {e!r}")
                    traceback.print_exc(file=sys.stderr)
        text = error_text(fault) if fault is not None else "internal error: no result"
        return self._failed(command, text)

    def find(self, task_id: int) -> Task | None:
        for task, q in self.running.items():
            if q.task_id == task_id:
                return task
        return None

    def clear(self) -> int:
        """Drop every command that has not started; how many."""
        n = len(self.queue) + len(self.front) + sum(len(d) for d in self.blocked.values())
        self.queue.clear()
        self.front.clear()
        self.blocked.clear()
        self.outstanding -= n
        return n

    @property
    def waiting(self) -> int:
        """Commands not started yet (queued, released or blocked)."""
        return len(self.queue) + len(self.front) + sum(len(d) for d in self.blocked.values())

    @property
    def idle(self) -> bool:
        """Nothing waiting and nothing running."""
        return not self.queue and not self.front and not self.blocked and not self.running


class SourceSet:
    """Weighted round robin over the sources (the scheduler's TaskSource)."""

    def __init__(self, busy: KeyBusy = lambda key: False,
                 blocker: KeyBlocker | None = None) -> None:
        self.sources: list[Source] = []
        self._idx = 0
        self._credit = 0
        self.busy = busy
        self.blocker: KeyBlocker = blocker if blocker is not None else (
            lambda key: key if busy(key) else None)
        # sources with commands blocked on each key
        self._blocked: dict[MatchKey, set[Source]] = {}

    def add(self, src: Source) -> None:
        src.busy = self.busy
        src.blocker = self.blocker
        src.on_blocked = self._on_blocked
        self.sources.append(src)

    def _on_blocked(self, src: Source, key: MatchKey) -> None:
        self._blocked.setdefault(key, set()).add(src)

    def release(self, key: MatchKey) -> None:
        """A running task gave up ``key``: one blocked command per source."""
        srcs = self._blocked.pop(key, None)
        if not srcs:
            return
        for src in srcs:
            src.release(key)
            if key in src.blocked:
                self._blocked.setdefault(key, set()).add(src)

    def remove(self, src: Source) -> None:
        if src in self.sources:
            i = self.sources.index(src)
            self.sources.remove(src)
            if i < self._idx:
                self._idx -= 1
            if self._idx >= len(self.sources):
                self._idx = 0
                self._credit = 0
        for key in list(src.blocked):
            srcs = self._blocked.get(key)
            if srcs is not None:
                srcs.discard(src)
                if not srcs:
                    del self._blocked[key]

    def find(self, name: str) -> Source | None:
        for s in self.sources:
            if s.name == name:
                return s
        return None

    def ready(self) -> bool:
        return any(s.ready() for s in self.sources)

    def take(self) -> Task | None:
        srcs = self.sources
        n = len(srcs)
        blocked = 0
        for _ in range(n + 1):
            if not n or blocked >= n:
                return None
            if self._idx >= n:
                self._idx = 0
            s = srcs[self._idx]
            if s.ready() and self._credit < s.priority:
                self._credit += 1
                task = s.take()
                if task is not None:
                    return task
                blocked += 1  # every command it tried was blocked: its turn ends
            self._idx = (self._idx + 1) % n
            self._credit = 0
        return None
