"""dealias on the fake network: IP-ID behaviours give scamper's verdicts.

Each host below owns two addresses and sends everything from one IP-ID
source of the kind named (behaviour.IPID): a shared counter (aliases), a
counter written byte-swapped, one about to wrap, random IP-IDs, zeros; one
host answers everything twice, one loses probes.  ally, bump and prefixscan
must reach the verdict scamper's logic gives for each (the same logic that
replays scamper's own runs byte for byte in test_dealias_replay.py).
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from protocol.commands import parse_command
from protocol.commands.base import CommandContext
from protocol.commands.dealias import DealiasCommand
from scamperd.engine.driver import Engine
from scamperd.engine.fakenet import FakeIO, Iface, Node, Route, Topology, loopback
from scamperd.methods.dealias import DealiasTask, make_dealias_task
from tests.scamperd.fakenet_helpers import run_tasks

NONE, ALIASES, NOTALIASES, IPIDECHO = 0, 1, 2, 4
VP = "192.0.2.1"
# host -> (its two addresses, its Node fields)
HOSTS: dict[str, tuple[tuple[str, str], dict[str, object]]] = {
    "old": (("198.51.100.1", "198.51.100.2"), {}),
    "other": (("198.51.100.9", "198.51.100.10"), {}),
    "swapped": (("198.51.100.17", "198.51.100.18"), {"ipid": "byteswap"}),
    "wrapping": (("198.51.100.25", "198.51.100.26"), {"ipid": "wrap"}),
    "random": (("198.51.100.33", "198.51.100.34"), {"ipid": "random"}),
    "zero": (("198.51.100.41", "198.51.100.42"), {"ipid": "zero"}),
    "twice": (("198.51.100.49", "198.51.100.50"), {"duplicate": True}),
    "lossy": (("198.51.100.57", "198.51.100.58"), {"loss": 0.5}),
}


def alias_net(seed: int = 4) -> Topology:
    nodes = {"r1": Node("r1", {"vp": ("203.0.113.1",)}, delay_us=100)}
    for name, (addrs, fields) in HOSTS.items():
        nodes[name] = Node(name, {"lo": addrs}, delay_us=100, **fields)  # type: ignore[arg-type]
    ifaces, lo_routes = loopback((Iface("eth0", 2, 1500, (VP,)),))
    routes = (*lo_routes, Route("198.51.100.0/24", (("r1",),), hosts=False))
    return Topology(ifaces, nodes, routes, seed=seed)


async def dealias(line: str, topo: Topology | None = None) -> DealiasTask:
    io = FakeIO(topo or alias_net())
    engine = Engine(io=io, pps=100)
    cmd = parse_command(line, CommandContext(pid=9))
    assert isinstance(cmd, DealiasCommand)
    task = make_dealias_task(cmd, None, engine)
    await run_tasks(engine, [task])
    return task


def pair(host: str) -> tuple[str, str]:
    return HOSTS[host][0]


def cross(a: str, b: str) -> tuple[str, str]:
    return HOSTS[a][0][0], HOSTS[b][0][0]


ALLY = "dealias -m ally -W 100 -w 1 -q 8"
PROBE = "-p '-P icmp-echo -i {}'"


@pytest.mark.parametrize(("addrs", "verdict"), [
    (pair("old"), ALIASES),
    (pair("swapped"), ALIASES),
    (pair("wrapping"), ALIASES),
    (cross("old", "other"), NOTALIASES),
    (pair("random"), NOTALIASES),
    # zeros: the first two replies already repeat an IP-ID, and ally's early
    # test ends it there (its "all zero: NONE" is only reached at the end)
    (pair("zero"), NOTALIASES),
    (pair("twice"), NONE),
    (pair("lossy"), NONE),
])
async def test_dealias_fakenet_ally_verdicts(autojump_clock: trio.testing.MockClock,
                                           addrs: tuple[str, str], verdict: int) -> None:
    a, b = addrs
    task = await dealias(f"{ALLY} {PROBE.format(a)} {PROBE.format(b)}")
    rec = task.result()
    assert (rec.result or 0) == verdict, [p.replies for p in rec.probes]


@pytest.mark.parametrize(("addrs", "verdict"), [
    (pair("old"), ALIASES),
    (cross("old", "other"), NOTALIASES),
    (pair("random"), NOTALIASES),
])
async def test_dealias_fakenet_bump_verdicts(autojump_clock: trio.testing.MockClock,
                                           addrs: tuple[str, str], verdict: int) -> None:
    a, b = addrs
    task = await dealias(f"dealias -m bump -W 100 -q 2 {PROBE.format(a)} {PROBE.format(b)}")
    assert (task.result().result or 0) == verdict


async def test_dealias_fakenet_prefixscan_finds_the_mate(
        autojump_clock: trio.testing.MockClock) -> None:
    # the mates of .3 in its /30, nearest first: .2 (the host that also owns
    # .1, the address we look for an alias of), then .1 itself (skipped), .0
    task = await dealias("dealias -m prefixscan -W 100 -w 1 -p '-P icmp-echo' "
                         "198.51.100.1 198.51.100.3/30")
    rec = task.result()
    assert rec.result == ALIASES
    assert str(rec.data.ab) == "198.51.100.2"  # type: ignore[union-attr]


async def test_dealias_fakenet_radargun_records_every_round(
        autojump_clock: trio.testing.MockClock) -> None:
    addrs = [*pair("old"), *pair("other")]
    defs = " ".join(PROBE.format(a) for a in addrs)
    task = await dealias(f"dealias -m radargun -q 4 -W 50 -w 1 {defs}")
    rec = task.result()
    assert (rec.result or 0) == NONE and len(rec.probes) == 16
    assert [p.seq or 0 for p in rec.probes] == [r for r in range(4) for _ in range(4)]
    assert all(len(p.replies) == 1 for p in rec.probes)


async def test_dealias_fakenet_midarest_rounds_keep_each_address_evenly_spaced(
        autojump_clock: trio.testing.MockClock) -> None:
    # two definitions at each of three addresses: six probes a round, each
    # address probed every third slot, in a per-round shuffle of its own
    addrs = " ".join(pair("old") + pair("other")[:1])
    task = await dealias(f"dealias -m midarest -q 3 -W 100 -p '-P icmp-echo' "
                         f"-p '-P icmp-echo -c 5' {addrs}")
    rec = task.result()
    assert (rec.result or 0) == NONE and len(rec.probes) == 18
    data = rec.data
    for r in range(3):
        rnd = rec.probes[6 * r:6 * (r + 1)]
        assert [p.seq or 0 for p in rnd] == [r] * 6
        dsts = [str(data.probedefs[p.def_index].dst) for p in rnd]  # type: ignore[union-attr]
        assert dsts == dsts[:3] * 2 and len(set(dsts[:3])) == 3
        assert sorted(p.def_index for p in rnd) == list(range(6))
    assert all(len(p.replies) == 1 for p in rec.probes)


async def test_dealias_fakenet_midardisc_follows_its_schedule(
        autojump_clock: trio.testing.MockClock) -> None:
    a, b = pair("old")
    task = await dealias(f"dealias -m midardisc -S 0:0:1 -S 1:0:1 -S 2:1:1 "
                         f"{PROBE.format(a)} {PROBE.format(b)}")
    rec = task.result()
    assert (rec.result or 0) == NONE
    start = rec.start
    assert start is not None
    offsets = [(p.tx.sec - start.sec) + (p.tx.usec - start.usec) / 1e6  # type: ignore[union-attr]
               for p in rec.probes]
    # each round's probes go out from its start, the last round's as long as
    # the one before
    rounds = [p.seq or 0 for p in rec.probes]
    assert rounds == sorted(rounds) and set(rounds) == {0, 1, 2}
    for p, off in zip(rec.probes, offsets, strict=True):
        assert (p.seq or 0) <= off < (p.seq or 0) + 1


def v6_net(fragid: str) -> Topology:
    nodes = {"r1": Node("r1", {"vp": ("2001:db8:1::1",)}, delay_us=100),
             "old6": Node("old6", {"lo": ("2001:db8:6::1", "2001:db8:6::2")}, delay_us=100,
                          fragid=fragid)}
    ifaces, lo_routes = loopback((Iface("eth0", 2, 1500, ("2001:db8::1",)),))
    routes = (*lo_routes, Route("2001:db8:6::/48", (("r1",),), hosts=False))
    return Topology(ifaces, nodes, routes, seed=5)


@pytest.mark.parametrize(("fragid", "verdict"), [("counter", ALIASES), ("random", NOTALIASES)])
async def test_dealias_fakenet_ipv6_fragment_ids_speedtrap(
        autojump_clock: trio.testing.MockClock, fragid: str, verdict: int) -> None:
    """-M: replies too big for the pseudo-MTU draw a packet too big; the
    host then fragments its replies, and their 32-bit fragment ids are the
    series ally tests (what sc_speedtrap relies on)."""
    defs = " ".join(f"-p '-P icmp-echo -s 1300 -M 1280 -i 2001:db8:6::{i}'" for i in (1, 2))
    task = await dealias(f"{ALLY} {defs}", v6_net(fragid))
    rec = task.result()
    assert (rec.result or 0) == verdict
    # the probes before the packet too big are dropped from the record; the
    # rest carry fragment ids (random ones end it at the first pair)
    assert len(rec.probes) == (8 if verdict == ALIASES else 2)
    assert all(r.ipid32 is not None for p in rec.probes for r in p.replies)
