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

Taking a command is what scamper's ``MORE`` reports: when a take leaves a
source's queue empty, and the client has not said ``done``, the source's
``on_more`` callback fires.  A finished task's record goes back to exactly the
source that queued it, through ``on_result``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .engine.task import Task

TaskFactory = Callable[[Any, "Source"], Task]


@dataclass(eq=False)
class Queued:
    task_id: int
    command: Any


@dataclass(eq=False)
class Source:
    """One client's queue of commands and what it needs to route results."""

    name: str
    make_task: TaskFactory
    on_result: Callable[[int, Task], None]
    on_more: Callable[[], None] = lambda: None
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
    running: dict[Task, int] = field(default_factory=dict)
    next_id: int = 1
    done: bool = False
    closed: bool = False
    max_queue: int = 100000

    def submit(self, command: Any) -> int:
        """Queue an accepted command; returns its task id."""
        if len(self.queue) >= self.max_queue:
            raise OverflowError("too many queued commands")
        tid = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF or 1
        self.queue.append(Queued(tid, command))
        return tid

    def ready(self) -> bool:
        return bool(self.queue) and not self.closed

    def take(self) -> Task | None:
        if not self.queue or self.closed:
            return None
        q = self.queue.popleft()
        task = self.make_task(q.command, self)
        self.running[task] = q.task_id
        if not self.queue and not self.done:
            self.on_more()
        return task

    def finished(self, task: Task) -> None:
        tid = self.running.pop(task, None)
        if tid is not None and not self.closed:
            self.on_result(tid, task)

    def find(self, task_id: int) -> Task | None:
        for task, tid in self.running.items():
            if tid == task_id:
                return task
        return None

    def unqueue(self, task_id: int) -> bool:
        for q in self.queue:
            if q.task_id == task_id:
                self.queue.remove(q)
                return True
        return False

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing running."""
        return not self.queue and not self.running


class SourceSet:
    """Weighted round robin over the sources (the scheduler's TaskSource)."""

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self._idx = 0
        self._credit = 0

    def add(self, src: Source) -> None:
        self.sources.append(src)

    def remove(self, src: Source) -> None:
        if src in self.sources:
            i = self.sources.index(src)
            self.sources.remove(src)
            if i < self._idx:
                self._idx -= 1
            if self._idx >= len(self.sources):
                self._idx = 0
                self._credit = 0

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
        for _ in range(n + 1):
            if not n:
                return None
            if self._idx >= n:
                self._idx = 0
            s = srcs[self._idx]
            if s.ready() and self._credit < s.priority:
                self._credit += 1
                return s.take()
            self._idx = (self._idx + 1) % n
            self._credit = 0
        return None
