"""Sources: weighted round robin, MORE on drain, holds, one record per command."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from scamperd.sources import FailedTask, Source, SourceSet


class T:
    """A task whose match key is its command's ``key`` (None: no key)."""

    def __init__(self, cmd: Any) -> None:
        self.cmd = cmd
        self.halted = False

    def match_keys(self) -> list[Any]:
        key = self.cmd[1] if isinstance(self.cmd, tuple) else None
        return [] if key is None else [key]

    def result(self) -> Any:
        return ("result", self.cmd, self.halted)

    def halt(self) -> None:
        self.halted = True


def _failed(cmd: Any, src: Source, errmsg: str, now: int) -> Any:
    return ("failed", cmd, errmsg)


def _src(name: str, prio: int, log: list[Any],
         make: Callable[[Any, Source], Any] = lambda c, s: T(c), **kw: Any) -> Source:
    return Source(name, make_task=make,  # type: ignore[arg-type]
                  on_result=lambda tid, rec: log.append((name, tid, rec)),
                  on_more=lambda: log.append((name, "MORE")), priority=prio,
                  failed=_failed, **kw)


def _cmd(rec: Any) -> Any:
    return rec[1]


def test_sources_weighted_round_robin() -> None:
    log: list[Any] = []
    a, b = _src("a", 3, log), _src("b", 1, log)
    for i in range(6):
        a.submit(f"a{i}")
        b.submit(f"b{i}")
    ss = SourceSet()
    ss.add(a)
    ss.add(b)
    order = [ss.take().cmd for _ in range(8)]  # type: ignore[union-attr]
    assert order == ["a0", "a1", "a2", "b0", "a3", "a4", "a5", "b1"]


def test_sources_more_when_queue_drains_unless_done() -> None:
    log: list[Any] = []
    a = _src("a", 1, log)
    a.submit("x")
    a.submit("y")
    a.take()
    assert log == []
    a.take()
    assert log == [("a", "MORE")]
    a.submit("z")
    a.done = True
    a.take()
    assert log == [("a", "MORE")]


def test_sources_result_goes_to_owner_with_task_id() -> None:
    log: list[Any] = []
    a, b = _src("a", 1, log), _src("b", 1, log)
    a.submit("p")
    tb = (b.submit("q"), b.take())
    ta = a.take()
    assert ta is not None and tb[1] is not None
    b.finished(tb[1])
    a.finished(ta)
    assert [(x[0], x[1], _cmd(x[2])) for x in log if len(x) == 3] == [
        ("b", 1, "q"), ("a", 1, "p")]


def test_sources_fault_gives_the_methods_error_record() -> None:
    log: list[Any] = []
    a = _src("a", 1, log)
    a.submit("p")
    task = a.take()
    assert task is not None
    a.finished(task, ValueError("boom"))
    assert log[-1] == ("a", 1, ("failed", "p", "internal error: ValueError: boom"))
    assert a.outstanding == 0


def test_sources_factory_raise_costs_its_command_only() -> None:
    log: list[Any] = []

    def make(cmd: Any, src: Source) -> Any:
        if cmd == "bad":
            raise struct_error("required argument is not an integer")
        return T(cmd)

    a = _src("a", 1, log, make)
    a.submit("bad")
    a.submit("good")
    bad, good = a.take(), a.take()
    assert isinstance(bad, FailedTask) and isinstance(good, T)
    a.finished(bad)
    a.finished(good)
    assert [x[2] for x in log if len(x) == 3] == [
        ("failed", "bad", "internal error: ValueError: required argument is not an integer"),
        ("result", "good", False)]


def struct_error(text: str) -> Exception:
    return ValueError(text)


def test_sources_result_that_raises_gives_the_error_record() -> None:
    class Broken(T):
        def result(self) -> Any:
            raise KeyError("x")

    log: list[Any] = []
    a = _src("a", 1, log, lambda c, s: Broken(c))
    a.submit("p")
    task = a.take()
    assert task is not None
    a.finished(task)
    assert log[-1] == ("a", 1, ("failed", "p", "internal error: KeyError: 'x'"))


def test_sources_sink_that_raises_gets_the_error_record_instead() -> None:
    got: list[Any] = []

    def sink(tid: int, rec: Any) -> None:
        if rec[0] == "result":
            raise OverflowError("value out of range for the writer")
        got.append((tid, rec))

    a = Source("a", make_task=lambda c, s: T(c), on_result=sink,  # type: ignore[arg-type,return-value]
               failed=_failed)
    a.submit("p")
    task = a.take()
    assert task is not None
    a.finished(task)
    assert got == [(1, ("failed", "p", "internal error: OverflowError: value out of range "
                                       "for the writer"))]


def test_sources_cap_counts_every_command_without_result() -> None:
    log: list[Any] = []
    a = _src("a", 1, log, max_outstanding=3)
    for c in "xyz":
        a.submit(c)
    running = [a.take(), a.take()]  # two started, one queued: all three count
    with pytest.raises(OverflowError, match="too many commands without a result"):
        a.submit("w")
    assert running[0] is not None
    a.finished(running[0])
    a.submit("w")  # a result frees a place
    with pytest.raises(OverflowError):
        a.submit("v")


def test_sources_blocked_command_waits_in_its_source_not_as_a_task() -> None:
    log: list[Any] = []
    busy: set[Any] = {"K"}
    ss = SourceSet(busy=busy.__contains__)
    a = _src("a", 1, log)
    ss.add(a)
    for i in range(20):
        a.submit((f"a{i}", "K"))
    # a take builds at most a few tasks, all blocked: nothing starts, and
    # the blocked commands are kept as commands, not tasks
    assert ss.take() is None
    assert not a.running and a.waiting == 20
    assert len(a.blocked["K"]) == 8
    busy.discard("K")
    ss.release("K")
    task = ss.take()
    assert task is not None and task.cmd == ("a0", "K")


def test_sources_release_serves_held_work_by_round_robin() -> None:
    """Client a's 15 commands and client b's one all wait for key K: when K
    frees, b does not wait behind all of a's (issue 7, defect 4)."""
    log: list[Any] = []
    busy: set[Any] = set()
    ss = SourceSet(busy=busy.__contains__)
    a, b = _src("a", 1, log), _src("b", 1, log)
    ss.add(a)
    ss.add(b)
    for i in range(15):
        a.submit((f"a{i}", "K"))
    order = []
    first = ss.take()
    assert first is not None
    busy.add("K")
    order.append(first.cmd[0])
    for _ in range(20):
        ss.take()  # a's commands block on K
    b.submit(("b0", "K"))
    for _ in range(3):
        ss.take()
    while len(order) < 16:
        busy.discard("K")
        ss.release("K")
        t = ss.take()
        assert t is not None
        busy.add("K")
        order.append(t.cmd[0])
    assert order.index("b0") <= 2, order
    assert [c for c in order if c != "b0"] == [f"a{i}" for i in range(15)]


def test_sources_release_of_a_key_nobody_takes_lets_the_next_go() -> None:
    """A released command whose new task holds other keys (a new random port)
    must not strand the commands blocked behind it."""
    log: list[Any] = []
    busy: set[Any] = {"K"}
    ss = SourceSet(busy=busy.__contains__)
    draws = iter(["K", "K", "K", "L", "M"])

    def make(cmd: Any, src: Source) -> T:
        return T((cmd, next(draws, None)))

    a = _src("a", 1, log, make)
    ss.add(a)
    a.submit("x")
    a.submit("y")
    a.submit("z")
    assert ss.take() is None  # x, y, z blocked on K
    busy.discard("K")
    ss.release("K")
    t = ss.take()  # x again: now draws L, starts; K is free, so y may go
    assert t is not None and t.cmd == ("x", "L")
    t2 = ss.take()
    assert t2 is not None and t2.cmd == ("y", "M")


def test_sources_halt_waiting_reports_its_empty_result() -> None:
    log: list[Any] = []
    busy: set[Any] = {"K"}
    ss = SourceSet(busy=busy.__contains__)
    a = _src("a", 1, log)
    ss.add(a)
    a.submit(("p", "K"))
    a.submit(("q", None))
    assert ss.take() is not None  # p blocked, q started
    q = a.unqueue(1)
    assert q is not None
    a.halt_waiting(q)
    assert log[-1] == ("a", 1, ("result", ("p", "K"), True))
    assert not a.blocked and a.outstanding == 1


def test_sources_queued_command_is_compact() -> None:
    """A queued command costs its parsed command plus well under 100 bytes
    (issue 7: under 1 KiB per queued command in all)."""
    from protocol import CommandContext, parse_command

    ctx = CommandContext(pid=4242)
    cmds = [parse_command(f"ping -c 1 -U {i} 127.0.{i >> 8 & 255}.{i & 255}", ctx)
            for i in range(5000)]
    log: list[Any] = []
    a = _src("a", 1, log)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for c in cmds:
            a.submit(c)
        per = (tracemalloc.get_traced_memory()[0] - before) / len(cmds)
    finally:
        tracemalloc.stop()
    assert per < 100, per


def test_sources_command_keys_block_without_building() -> None:
    """When the method says a command's keys from the command alone, a
    command blocked behind a busy key is found without building its task."""
    log: list[Any] = []
    built: list[Any] = []
    busy: set[Any] = {"K"}
    ss = SourceSet(busy=busy.__contains__)

    def make(cmd: Any, tid: int) -> T:
        built.append(cmd)
        return T(cmd)

    a = _src("a", 1, log, make, keys_of=lambda cmd: (cmd[1],) if cmd[1] else None)
    ss.add(a)
    for i in range(50):
        a.submit((f"k{i}", "K"))
    a.submit(("free", None))
    t = ss.take()
    assert t is not None and t.cmd == ("free", None)
    assert built == [("free", None)] and len(a.blocked["K"]) == 50
