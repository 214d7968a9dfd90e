"""The fake networks the daemon tests run on, and how to start one.

:func:`bed` mirrors tests/testbed.py's namespaces in shape: a vantage point,
five routers with two ECMP splits, a destination five hops out, an MTU
bottleneck in front of it, the host's loopback; its addresses are
documentation prefixes.  In process, :func:`fake_io` hands the engine that
network (``serve(cfg, make_io=...)``, ``cli.run(cfg, make_io=...)``); in
another process, :func:`fakenet_argv` runs scamperd's own main on it.
Nothing here needs root, and nothing is sent anywhere.
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import json
import socket
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio

from scamperd.daemon import serve
from scamperd.engine.driver import Engine
from scamperd.engine.fakenet import FakeIO, Iface, Node, Route, Topology, loopback
from scamperd.engine.packetio import PacketIO

VP4, VP6 = "192.0.2.1", "2001:db8::1"
DST4, DST6 = "198.51.100.10", "2001:db8:6::10"
BIG4, BIG6 = "198.51.100.20", "2001:db8:6::20"  # behind the 1400-byte link
UNROUTABLE = ("127.255.255.255", "255.255.255.255", "ff02::1")
ROUTERS = ("r1", ("r2a", "r2b"), "r3", ("r4a", "r4b"), "r5")
DELAY_US = 100  # one-way, per link: the RTT to depth d is 2 * 100 us * (d + 1)
BOTTLENECK = 1400


def _router(name: str, n: int, k: int, prev: tuple[str, ...]) -> Node:
    """Router ``k`` of stage ``n``, whose interface towards each of ``prev``
    has its own address."""
    ifaces = {p: (f"203.0.113.{n * 20 + k * 5 + i}",
                  str(ipaddress.ip_address(f"2001:db8:{n}:{k}::{i + 1}")))
              for i, p in enumerate(prev)}
    return Node(name, ifaces, delay_us=DELAY_US)


def router_addrs(v6: bool) -> dict[str, set[str]]:
    """Every address each router may answer from, by router."""
    return {n.name: {a for a in n.addrs() if (":" in a) == v6}
            for n in bed().nodes.values() if n.name.startswith("r")}


def bed(*, seed: int = 1, loss: float = 0.0) -> Topology:
    nodes: dict[str, Node] = {}
    prev: tuple[str, ...] = ("vp",)
    stages = []
    for n, stage in enumerate(ROUTERS, 1):
        names = (stage,) if isinstance(stage, str) else stage
        for k, name in enumerate(names):
            nodes[name] = _router(name, n, k, prev)
        stages.append(names)
        prev = names
    nodes["dst"] = Node("dst", {"r5": (DST4, DST6)}, delay_us=DELAY_US, loss=loss)
    nodes["big"] = Node("big", {"r5": (BIG4, BIG6)}, delay_us=DELAY_US, mtu=BOTTLENECK)
    eth0 = Iface("eth0", 2, 1500, (VP4, VP6))
    ifaces, lo_routes = loopback((eth0,))
    routes = (*lo_routes,
              Route("198.51.100.0/24", tuple(stages), hosts=False),
              Route("2001:db8:6::/48", tuple(stages), hosts=False),
              # the routers' own addresses: reached along the same path
              Route("203.0.113.0/24", tuple(stages), hosts=False),
              Route("2001:db8::/32", tuple(stages), hosts=False))
    return Topology(ifaces, nodes, routes, seed=seed,
                    unroutable=(("127.255.255.255/32", errno.EACCES),
                                ("255.255.255.255/32", errno.EACCES),
                                ("ff00::/8", errno.ENETUNREACH)))


LB_V4 = {"vp": "192.0.2.1", "r1": "203.0.113.1", "r2": "203.0.113.2", "a": "203.0.113.31",
      "b": "203.0.113.32", "c": "203.0.113.33", "r3": "203.0.113.4", "d": "203.0.113.51",
      "e": "203.0.113.52", "r5": "203.0.113.6", "dst": "198.51.100.10"}
LB_V6 = {k: f"2001:db8:{v.split('.')[-1]}::1" if k != "dst" else "2001:db8:6::10"
      for k, v in LB_V4.items()}
LB_V6["vp"] = "2001:db8::1"
LB_STAGES = (("r1",), ("r2",), ("a", "b", "c"), ("r3",), ("d", "e"), ("r5",))
LB_LINKS = {("r1", "r2"), ("r2", "a"), ("r2", "b"), ("r2", "c"), ("a", "r3"), ("b", "r3"),
         ("c", "r3"), ("r3", "d"), ("r3", "e"), ("d", "r5"), ("e", "r5"), ("r5", "dst")}


# tracelb's double diamond, two hops out (a split right after the first
# hop is a clump to scamper, so the first sits behind r2):
#   vp - r1 - r2 =< a | b | c >= r3 =< d | e >= r5 - dst
# r3 and r5 answer from one address whichever branch a probe came by.
def diamond(*, seed: int = 3, dst: dict[str, object] | None = None,
            **routers: dict[str, object]) -> Topology:
    """The double diamond; keyword arguments change a router's Node fields
    (``b={"loss": 1.0}``), ``dst`` the destination's."""
    nodes = {}
    for name in ("r1", "r2", "a", "b", "c", "r3", "d", "e", "r5"):
        node = Node(name, {"lo": (LB_V4[name], LB_V6[name])}, delay_us=DELAY_US)
        nodes[name] = dataclasses.replace(node, **routers.get(name, {}))
    nodes["dst"] = dataclasses.replace(
        Node("dst", {"r5": (LB_V4["dst"], LB_V6["dst"])}, delay_us=DELAY_US), **(dst or {}))
    eth0 = Iface("eth0", 2, 1500, (LB_V4["vp"], LB_V6["vp"]))
    ifaces, lo_routes = loopback((eth0,))
    routes = (*lo_routes, Route("198.51.100.0/24", LB_STAGES, hosts=False),
              Route("2001:db8:6::/48", LB_STAGES, hosts=False))
    return Topology(ifaces, nodes, routes, seed=seed)


def rtt_us(depth: int) -> int:
    """The scripted RTT to the node ``depth`` routers away."""
    return 2 * DELAY_US * (depth + 1)


def fake_io(topology: Topology | None = None) -> Callable[[], PacketIO]:
    """A ``make_io`` for serve() and cli.run(): the fake network (bed() by default)."""
    topo = topology if topology is not None else bed()
    return lambda: FakeIO(topo)


def serve_fake(topology: Topology | None = None) -> Callable[..., Any]:
    """serve(), on a fake network, for ``nursery.start(serve_fake(), cfg)``."""
    return partial(serve, make_io=fake_io(topology))


async def run_tasks(engine: Engine, tasks: list[Any]) -> None:
    """Run ``tasks``, made with ``engine`` as their factories' host, to the
    end on it (a virtual clock makes that take no time)."""
    done: list[object] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        for t in tasks:
            engine.watch(t, lambda t, fault: done.append(t))
            engine.sched.add(t, engine.clock.now())
        engine.poke()
        with trio.fail_after(600):
            while len(done) < len(tasks):
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()


def fakenet_argv(tmp: Path, *args: str, topology: Topology | None = None) -> list[str]:
    """The command line of a scamperd process on a fake network (bed() by default)."""
    path = tmp / "topology.json"
    path.write_text(json.dumps((topology or bed()).to_dict()))
    return [sys.executable, "-m", "scamperd.engine.fakenet", str(path), *args]


def raw_socket_problem() -> str | None:
    """Why the real engine cannot run here (None: it can)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    except OSError as e:
        return f"the engine needs raw sockets (root): {e}"
    return None


# How a test starts scamperd as a process: on the fake network always, and
# on raw sockets too where they can be opened.
LAUNCHERS = ["fakenet", pytest.param("raw", marks=pytest.mark.skipif(
    raw_socket_problem() is not None, reason=str(raw_socket_problem())))]


def scamperd_cmd(launcher: str, tmp: Path) -> list[str]:
    """The start of a scamperd command line for ``launcher`` (LAUNCHERS)."""
    if launcher == "fakenet":
        return fakenet_argv(tmp)
    return [sys.executable, "-m", "scamperd"]
