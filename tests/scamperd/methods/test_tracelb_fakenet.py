"""tracelb on the fake network: the graph it finds, and that it always ends.

The topology is a double diamond two hops out (a split right after the
first hop is recorded by scamper as a clump, so the first split sits behind
r2)::

    vp - r1 - r2 =< a | b | c >= r3 =< d | e >= r5 - dst

r3 and r5 answer from one address whichever branch a probe came by, so the
branches rejoin.  Variants make one router balance per packet, change its
routing under the measurement, drop everything, or make the destination
silent; each must end within ``-Q`` probes and its waits, recorded the way
scamper records it (clumps for per-packet balancing, links into silence
ending in no node).
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from protocol.commands.base import CommandContext
from protocol.commands.tracelb import parse_tracelb
from scamperd.engine.driver import Engine
from scamperd.engine.fakenet import FakeIO, Topology
from scamperd.methods.tracelb import TracelbTask, make_tracelb_task
from tests.scamperd.fakenet_helpers import LB_LINKS as LINKS
from tests.scamperd.fakenet_helpers import LB_V4 as V4
from tests.scamperd.fakenet_helpers import LB_V6 as V6
from tests.scamperd.fakenet_helpers import diamond
from warts.types.tracelb import Tracelb


def graph(rec: Tracelb, v6: bool) -> tuple[set[str], set[tuple[str, str | None]]]:
    """(routers found, links between them) by router name."""
    names = {addr: name for name, addr in (V6 if v6 else V4).items()}
    nodes = {names.get(str(n.addr), str(n.addr)) for n in rec.nodes}
    links = {(names.get(str(rec.node_addr(lk.from_)), "?"),
              names.get(str(rec.node_addr(lk.to)), "?") if lk.to is not None else None)
             for lk in rec.links}
    return nodes, links


async def run(topo: Topology, args: str, v6: bool = False) -> tuple[TracelbTask, float]:
    """One tracelb on ``topo``; the task and the virtual seconds it took."""
    io = FakeIO(topo)
    engine = Engine(pps=100, io=io)
    dst = (V6 if v6 else V4)["dst"]
    task = make_tracelb_task(parse_tracelb(f"{args} {dst}", CommandContext(pid=7)), None,
                             engine)
    done: list[object] = []
    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        engine.watch(task, lambda t, fault: done.append(fault))
        engine.sched.add(task, engine.clock.now())  # type: ignore[arg-type]
        engine.poke()
        with trio.fail_after(48 * 3600):
            while not done:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    assert done == [None]
    return task, trio.current_time() - t0


def bounded(task: TracelbTask, seconds: float) -> None:
    """The run ended within its probe budget and the waits it may take:
    each probe at most wait_timeout, plus wait_probe between them."""
    rec = task.result()
    cmd = task.cmd
    assert rec.probec is not None and rec.probec <= cmd.probec_max
    per = (cmd.wait_timeout_us + cmd.wait_probe_us) / 1e6
    assert seconds <= rec.probec * per + 1


METHODS4 = ["udp-dport", "udp-sport", "tcp-sport", "tcp-ack-sport", "icmp-echo"]


@pytest.mark.parametrize(("method", "v6"), [(m, False) for m in METHODS4]
                         + [(m, True) for m in ("udp-dport", "udp-sport", "icmp-echo")])
@pytest.mark.parametrize("confidence", [95, 99])
async def test_tracelb_fakenet_finds_the_double_diamond(
        autojump_clock: trio.testing.MockClock, method: str, v6: bool,
        confidence: int) -> None:
    task, secs = await run(diamond(), f"-P {method} -c {confidence}", v6)
    rec = task.result()
    nodes, links = graph(rec, v6)
    assert nodes == {"r1", "r2", "a", "b", "c", "r3", "d", "e", "r5", "dst"}
    assert links == LINKS
    assert rec.errmsg is None and rec.probec is not None and rec.probec < 3000
    bounded(task, secs)


async def test_tracelb_fakenet_per_packet_router_is_a_clump(
        autojump_clock: trio.testing.MockClock) -> None:
    task, secs = await run(diamond(r2={"balancer": "per-packet"}), "-c 99")
    rec = task.result()
    nodes, links = graph(rec, False)
    # r2's next hop is not one interface per flow: one link from r2 spans
    # the hop of a, b and c and ends at r3, two hops on
    r2_links = [lk for lk in rec.links if str(rec.node_addr(lk.from_)) == V4["r2"]]
    assert len(r2_links) == 1
    clump = r2_links[0]
    assert str(rec.node_addr(clump.to)) == V4["r3"] and len(clump.sets) == 2
    seen = {str(r.reply_from) for p in clump.sets[0].probes for r in p.rxs}
    assert seen <= {V4["a"], V4["b"], V4["c"]} and len(seen) >= 2
    assert {"a", "b", "c"}.isdisjoint(nodes)
    assert ("r5", "dst") in links
    bounded(task, secs)


async def test_tracelb_fakenet_silent_destination_ends_at_the_gap_limit(
        autojump_clock: trio.testing.MockClock) -> None:
    topo = diamond(dst={"loss": 1.0})
    task, secs = await run(topo, "-g 2 -w 1")
    rec = task.result()
    nodes, links = graph(rec, False)
    assert "dst" not in nodes
    # past r5 nothing answers: a link into silence, one probeset a hop
    assert ("r5", None) in links
    into = next(lk for lk in rec.links if lk.to is None)
    assert len(into.sets) == 2
    bounded(task, secs)


async def test_tracelb_fakenet_dead_branch_ends(
        autojump_clock: trio.testing.MockClock) -> None:
    task, secs = await run(diamond(b={"loss": 1.0}), "-w 1")
    rec = task.result()
    nodes, links = graph(rec, False)
    # flows into b never answer, so r2's next hop is not one interface per
    # flow: scamper records the hop inside a clump, not as nodes
    clump = next(lk for lk in rec.links if str(rec.node_addr(lk.from_)) == V4["r2"])
    seen = {str(r.reply_from) for s in clump.sets for p in s.probes for r in p.rxs}
    assert {V4["a"], V4["c"]} <= seen and V4["b"] not in seen
    assert any(not p.rxs for p in clump.sets[0].probes)
    # and since those flows stay silent hop after hop, the clump goes on
    # until the destination alone answers: one link r2 -> dst over 5 hops
    assert nodes == {"r1", "r2", "dst"} and links == {("r1", "r2"), ("r2", "dst")}
    assert len(clump.sets) == 5
    bounded(task, secs)


async def test_tracelb_fakenet_path_change_ends(
        autojump_clock: trio.testing.MockClock) -> None:
    task, secs = await run(diamond(r2={"balancer": "path-change"}, r3={"balancer": "path-change"}),
                           "-c 99 -w 1")
    rec = task.result()
    nodes, _links = graph(rec, False)
    assert {"r1", "r2", "r5"} <= nodes
    bounded(task, secs)


async def test_tracelb_fakenet_probe_budget_ends_it(
        autojump_clock: trio.testing.MockClock) -> None:
    task, secs = await run(diamond(), "-c 99 -Q 50")
    rec = task.result()
    # tracelb has no stop reason: running out of probes shows only as
    # probec reaching probec_max, and no error
    assert rec.probec == rec.probec_max == 50 and rec.errmsg is None
    bounded(task, secs)


async def test_tracelb_fakenet_tcp_over_ipv6_fails_as_scamper_does(
        autojump_clock: trio.testing.MockClock) -> None:
    task, _secs = await run(diamond(), "-P tcp-sport", v6=True)
    rec = task.result()
    assert rec.errmsg == "unexpected trace type 4" and rec.probec == 0 and rec.nodes == ()
