"""Sources: weighted round robin, MORE on drain, results to their own source."""

from __future__ import annotations

from typing import Any

from scamperd.sources import Source, SourceSet


class T:
    def __init__(self, cmd: Any) -> None:
        self.cmd = cmd


def _src(name: str, prio: int, log: list[Any]) -> Source:
    return Source(name, make_task=lambda c, s: T(c),  # type: ignore[arg-type,return-value]
                  on_result=lambda tid, t: log.append((name, tid, t.cmd)),  # type: ignore[attr-defined]
                  on_more=lambda: log.append((name, "MORE")), priority=prio)


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
    assert [x for x in log if len(x) == 3] == [("b", 1, "q"), ("a", 1, "p")]
