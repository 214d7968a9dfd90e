"""A fake network's topology, as data: the prober's interfaces, the nodes
(routers and hosts) with their addresses and behaviours, and routes.

A route maps a prefix to a path: a sequence of *stages*, each a tuple of
node names.  A stage of one node is a plain hop; a stage of several is an
ECMP split, where the node before it (or the prober, for the first) picks
one by its balancer.  A probe to an address a node owns ends at that node:
on its route, where the node sits in a stage, or after the route's stages
otherwise.  A probe to an address nobody owns ends at an implicit host
when the route says ``hosts`` (every address of the prefix answers), and
is dropped after the last stage when not.

Link properties -- one-way delay, MTU, loss -- belong to the link *into* a
node, so they are fields of the node.  Everything is JSON-able
(:meth:`Topology.to_dict`, :meth:`Topology.from_dict`), so a daemon in
another process can be started on the same topology as a test.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Iface:
    """One of the prober's interfaces."""

    name: str
    index: int
    mtu: int = 1500
    addrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Node:
    """A router or host.  ``ifaces`` maps an interface's name to its
    addresses; an interface named after a neighbour (or ``vp``, the prober)
    is the one that neighbour's packets come in by, whose address a router
    sends ICMP errors from (Linux's icmp_errors_use_inbound_ifaddr)."""

    name: str
    ifaces: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ttl: int = 64            # initial TTL / hop limit of what it sends
    ipid: str = "counter"    # IP-ID behaviour (behaviour.IPID)
    balancer: str = "per-flow"  # how it picks among ECMP next hops (behaviour.BALANCERS)
    silent: bool = False     # sends no time exceeded
    delay_us: int = 0        # one-way delay of the link into it
    mtu: int = 1500          # MTU of the link into it
    loss: float = 0.0        # share of probes lost on the link into it
    tcp_open: tuple[int, ...] = (80,)  # as a destination: ports that answer a SYN
    duplicate: bool = False  # as a destination: every answer arrives twice
    # IPv6 fragment ids: "random" per packet (Linux since 5.13), or
    # "counter", one shared counter (older kernels; what speedtrap needs)
    fragid: str = "random"

    def addrs(self) -> list[str]:
        return [a for addrs in self.ifaces.values() for a in addrs]


@dataclass(frozen=True)
class Route:
    prefix: str
    stages: tuple[tuple[str, ...], ...] = ()
    iface: str = "eth0"
    hosts: bool = True       # addresses nobody owns answer as hosts
    host: Node | None = None  # how such an implicit host behaves (None: defaults)

    def network(self) -> Network:
        return ipaddress.ip_network(self.prefix)


@dataclass(frozen=True)
class Topology:
    ifaces: tuple[Iface, ...]
    nodes: Mapping[str, Node]
    routes: tuple[Route, ...]
    # destinations the kernel has no source address for: (prefix, errno)
    unroutable: tuple[tuple[str, int], ...] = ()
    seed: int = 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Topology:
        def node(n: Mapping[str, Any]) -> Node:
            return Node(**{**n, "ifaces": {k: tuple(v) for k, v in n["ifaces"].items()},
                           "tcp_open": tuple(n.get("tcp_open", (80,)))})

        routes = tuple(
            Route(**{**r, "stages": tuple(tuple(s) for s in r["stages"]),
                     "host": node(r["host"]) if r.get("host") else None})
            for r in d["routes"])
        return cls(ifaces=tuple(Iface(**{**i, "addrs": tuple(i["addrs"])}) for i in d["ifaces"]),
                   nodes={k: node(v) for k, v in d["nodes"].items()}, routes=routes,
                   unroutable=tuple((p, e) for p, e in d.get("unroutable", ())),
                   seed=d.get("seed", 1))


def loopback(ifaces: tuple[Iface, ...] = ()) -> tuple[tuple[Iface, ...], tuple[Route, ...]]:
    """The host's own loopback, as Linux has it: lo (MTU 65536), every
    127/8 address and ::1 answering at once."""
    lo = Iface("lo", 1, 65536, ("127.0.0.1", "::1"))
    return (lo, *ifaces), (Route("127.0.0.0/8", iface="lo"), Route("::1/128", iface="lo"))
