"""The scheduler without I/O: scamper's pacing, the window, matching, holds."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from typing import Any

import pytest

from scamperd.engine.packets import IPPROTO_ICMP, IPPROTO_UDP, Quote, Reply
from scamperd.engine.scheduler import NS, Scheduler
from scamperd.engine.task import FINISHED, Action, MatchKey, PortRange, Probe, SendProbe, Wait

DST = bytes((10, 200, 6, 2))


class FakeTask:
    """Sends ``count`` probes, ``gap`` ns apart, then waits ``timeout`` ns."""

    def __init__(self, ident: int, count: int = 1000000, gap: int = 0,
                 timeout: int = NS, dst: bytes = DST) -> None:
        self.ident = ident
        self.count = count
        self.gap = gap
        self.timeout = timeout
        self.dst = dst
        self.sent: list[int] = []
        self.replies: list[Reply] = []
        self.halted = False

    def match_keys(self) -> Iterable[MatchKey]:
        return [(IPPROTO_ICMP, self.ident, self.dst)]

    def next_action(self, now: int) -> Action:
        if self.halted:
            return FINISHED
        if len(self.sent) < self.count:
            if self.sent and now < self.sent[-1] + self.gap:
                return Wait(self.sent[-1] + self.gap)
            return SendProbe(Probe(self.dst, b"", len(self.sent)))
        if self.replies or now >= self.sent[-1] + self.timeout:
            return FINISHED
        return Wait(self.sent[-1] + self.timeout)

    def probe_sent(self, probe: Probe, tx: int, error: OSError | None = None) -> None:
        self.sent.append(tx)

    def receive_reply(self, reply: Reply, now: int) -> None:
        self.replies.append(reply)

    def halt(self) -> None:
        self.halted = True

    def result(self) -> Any:
        return len(self.sent)


def _collect(done: list[Any]) -> Any:
    """An on_finished that keeps the finished tasks (faults are asserted apart)."""
    return lambda task, fault: done.append(task)


class ListSource:
    def __init__(self, tasks: Iterable[FakeTask]) -> None:
        self.q = deque(tasks)

    def release(self, key: MatchKey) -> None:
        pass

    def ready(self) -> bool:
        return bool(self.q)

    def take(self) -> FakeTask | None:
        return self.q.popleft() if self.q else None


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000 * NS

    def send(self, probe: Probe) -> int:
        return self.now


def _drive(s: Scheduler, clock: Clock, until: int, jitter: int) -> None:
    rng = random.Random(1)
    while clock.now < until:
        t = s.next_wakeup(clock.now)
        if t is None:
            break
        # A driver wakes late by up to ``jitter`` ns, as a real event loop does.
        clock.now = max(clock.now, t) + rng.randrange(jitter + 1)
        s.run(clock.now)


@pytest.mark.parametrize("pps", [1, 100, 1000, 10000, 50000])
@pytest.mark.parametrize("jitter", [0, 1_000_000, 20_000_000])
def test_scheduler_holds_rate_with_late_wakeups(pps: int, jitter: int) -> None:
    clock = Clock()
    done: list[Any] = []
    s = Scheduler(send=clock.send, on_finished=_collect(done), pps=pps)
    s.sources.append(ListSource([FakeTask(i) for i in range(4)]))
    start = clock.now
    seconds = 2 if pps < 1000 else 1
    _drive(s, clock, start + seconds * NS, jitter)
    sent = s.stats.probes_sent
    want = pps * (clock.now - start) / NS
    assert abs(sent - want) <= max(2, want * 0.01), (sent, want)


def test_scheduler_window_limits_active_tasks() -> None:
    clock = Clock()
    done: list[Any] = []
    s = Scheduler(send=clock.send, on_finished=_collect(done), pps=1000, window=3)
    s.sources.append(ListSource([FakeTask(i, count=2, timeout=NS // 10) for i in range(10)]))
    peak = 0
    for _ in range(100000):
        t = s.next_wakeup(clock.now)
        if t is None:
            break
        clock.now = max(clock.now, t)
        s.run(clock.now)
        peak = max(peak, s.active)
    assert peak == 3
    assert len(done) == 10


def test_scheduler_matches_reply_by_quote_and_holds_conflicts() -> None:
    clock = Clock()
    done: list[Any] = []
    s = Scheduler(send=clock.send, on_finished=_collect(done), pps=100)
    a, b, c = FakeTask(7, count=1), FakeTask(7, count=1), FakeTask(8, count=1)
    s.sources.append(ListSource([a, b, c]))
    clock.now += NS
    s.run(clock.now)
    clock.now += NS // 100  # the next 100 pps slot
    s.run(clock.now)
    # b conflicts with a (same ICMP id and target): held, c starts instead.
    assert len(a.sent) == 1 and not b.sent and len(c.sent) == 1
    q = Quote(IPPROTO_ICMP, b"\0" * 4, DST, 1, 0, 0, 84, icmp_id=7, has_transport=True)
    err = Reply(False, b"\x0a\xc8\x02\x02", b"\0" * 4, IPPROTO_ICMP, 63, 0, 56,
                icmp_type=11, icmp_code=0, quote=q)
    assert s.reply(err, clock.now)
    assert a.replies == [err] and done == [a]
    clock.now += NS
    s.run(clock.now)
    assert len(b.sent) == 1


def test_scheduler_halt_finishes_task() -> None:
    clock = Clock()
    done: list[Any] = []
    s = Scheduler(send=clock.send, on_finished=_collect(done), pps=10)
    t = FakeTask(1, count=5, gap=NS)
    s.add(t, clock.now)
    s.run(clock.now + NS)
    assert s.halt(t, clock.now)
    assert done == [t] and s.active == 0


def test_scheduler_held_tasks_start_in_hold_order_when_key_frees() -> None:
    clock = Clock()
    done: list[Any] = []
    s = Scheduler(send=clock.send, on_finished=_collect(done), pps=1000)
    first = FakeTask(7, count=1, timeout=NS // 10)
    held = [FakeTask(7, count=1, timeout=NS // 10) for _ in range(3)]
    s.sources.append(ListSource([first, *held]))
    _drive(s, clock, clock.now + 2 * NS, 0)
    # One task at a time on the shared key, in the order they were held.
    assert done == [first, *held]
    starts = [t.sent[0] for t in (first, *held)]
    assert starts == sorted(starts)
    assert all(b - a >= NS // 10 for a, b in zip(starts, starts[1:], strict=False))


@pytest.mark.parametrize(("timeout", "wake_at"), [
    # 0.5 ms before the next 10 ms slot: within the 1 ms slack, one wakeup
    # (at the slot) serves both the send and the expiry.
    (NS // 100 - 500_000, NS // 100),
    # 5 ms before it: beyond the slack, the expiry gets its own wakeup.
    (NS // 200, NS // 200),
])
def test_scheduler_wait_expiry_folds_into_next_send_slot(timeout: int, wake_at: int) -> None:
    clock = Clock()
    t0 = clock.now
    s = Scheduler(send=clock.send, on_finished=lambda t, f: None, pps=100)
    waiter = FakeTask(2, count=1, timeout=timeout)
    busy = FakeTask(1)  # always wants to send: a slot every 10 ms
    s.add(waiter, t0)
    s.add(busy, t0)
    s.run(t0)  # one slot at t0: the waiter's probe
    assert waiter.sent == [t0] and not busy.sent
    assert s.next_wakeup(t0) == t0 + wake_at


# --- PortRange keys -----------------------------------------------------------


class RangeTask(FakeTask):
    """A FakeTask holding identifiers lo..hi towards DST (scamper's
    sport_x..sport_y signature)."""

    def __init__(self, ident: int, lo: int, hi: int, **kw: Any) -> None:
        super().__init__(ident, **kw)
        self.range = PortRange(IPPROTO_UDP, lo, hi, DST)

    def match_keys(self) -> Iterable[MatchKey]:
        return [self.range]


def _udp_reply(dport: int) -> Reply:
    return Reply(v6=False, src=DST, dst=bytes(4), proto=IPPROTO_UDP, ttl=64, tos=0, size=28,
                 dport=dport)


def test_scheduler_port_range_key_matches_replies_within_it() -> None:
    clock = Clock()
    s = Scheduler(send=clock.send, on_finished=lambda t, f: None, pps=1000)
    t = RangeTask(1, 40000, 40099, count=1, timeout=NS)
    s.add(t, clock.now)
    assert s.reply(_udp_reply(40050), clock.now) and t.replies
    assert not s.reply(_udp_reply(40100), clock.now)
    assert s.key_busy(t.range) and s.blocker((IPPROTO_UDP, 40000, DST)) == t.range
    assert s.blocker((IPPROTO_UDP, 40100, DST)) is None


@pytest.mark.parametrize(("first", "second"), [
    ("range", "exact-inside"), ("exact-inside", "range"), ("range", "overlapping-range")])
def test_scheduler_port_range_conflicts_hold_until_released(first: str, second: str) -> None:
    clock = Clock()
    done: list[Any] = []

    def make(kind: str, ident: int) -> FakeTask:
        if kind == "range":
            return RangeTask(ident, 40000, 40099, count=1, timeout=NS // 10)
        if kind == "overlapping-range":
            return RangeTask(ident, 40090, 40199, count=1, timeout=NS // 10)
        t = FakeTask(ident, count=1, timeout=NS // 10)
        t.match_keys = lambda: [(IPPROTO_UDP, 40042, DST)]  # type: ignore[method-assign]
        return t

    a, b = make(first, 1), make(second, 2)
    s = Scheduler(send=clock.send, on_finished=_collect(done), pps=1000)
    s.sources.append(ListSource([a, b]))
    _drive(s, clock, clock.now + NS, 0)
    assert done == [a, b] and b.sent[0] >= a.sent[0] + NS // 10
    assert s.blocker(a.match_keys()[0]) is None  # type: ignore[index]
