"""The test bed's load-balanced diamond, and the graph tracelb (MDA) should find in it.

A branch of the namespace test bed (tests/testbed.py) hangs off r1::

                          +-131- lb3a -141-+           +-151- lb5a -161-+
    vp -1- r1 -102- lb2 --+-132- lb3b -142-+-- lb4 ----+                +-- lb6 -107- lbdst
                          +-133- lb3c -143-+           +-152- lb5b -162-+

Link N is 10.200.N.0/24 and fd00:200:N::/64, the near node .1 / ::1, the
far one .2 / ::2, as in the rest of the bed (a link's number is 100 plus
the hop of its far node, with the branch as last digit).  lb2 splits three
ways and lb4 two ways; lb4 and lb6 rejoin the branches.  lbdst holds
``LB_DSTS`` addresses on its link (10.200.107.2 up, fd00:200:107::2 up) so
that concurrent tracelbs each get a destination of their own (scamper runs
one task per destination at a time); no port is open on it.

What was found by experiment, and is built in:

* Which address answers.  Every router answers from its interface toward
  the first router of the stage before: r1 10.200.1.2, lb2 10.200.102.2,
  lb3x 10.200.13x.2, lb4 10.200.141.2, lb5x 10.200.15x.2, lb6
  10.200.161.2 (the same ::2 on IPv6).  For a branch router that is the
  inbound interface, as everywhere in the bed (Linux sources IPv6 errors
  from the inbound interface too, unless the route back has a preferred
  source).  The joins get that preferred source (``src``) on their routes
  and, on IPv4, ``icmp_errors_use_inbound_ifaddr=0``: each join is then
  one node whatever branch a probe came in on, and MDA sees a real
  diamond (three links into lb4, two into lb6).  lbdst answers from the
  address probed: port unreachable to UDP, echo reply to ICMP echo, RST to
  TCP SYN and ACK (the port is closed).
* Independent hashing.  All namespaces share one ECMP hash function unless
  each has its own seed (``fib_multipath_hash_seed``, Linux >= 6.11).  With
  one function lb4's choice follows lb2's (a flow in lb2's first third is
  in lb4's first half), and scamper, which probes past a join with the
  flows of one incoming branch, then misses a branch of the second split.
  On IPv6 the seed alone changed nothing (lb4 sent the same flows the same
  way under three seeds): hash policy 1 reuses a hash the packet already
  carries, most likely the one the vantage point's kernel computed for
  the flow label, which veth keeps across namespaces.  Policy 3 (custom
  fields: addresses, protocol, ports) hashes afresh, with the seed, at
  each router; it is used for both families.
* ICMP echo is not spread by Linux on either family: tracelb varies the
  ICMP checksum, which no hash policy reads, and the flow label of its
  IPv6 probes is constant.  icmp-echo finds one path, v4 and v6.
* No ICMP rate limits (the bed switches them off everywhere): 160
  concurrent tracelbs, ~1,100 probes/s, lose nothing.

The seeds are fixed (``LB_SEED``), so the hashing is reproducible.  MDA at
-c 99 misses a branch of a 3-way or 2-way split in ~0.7% of runs each (k
probes all landing on the branches already seen), ~2% of runs over this
diamond (measured: 27 of 1,320 with Debian's scamper over seven seeds);
with a prober's source port also fixed (see the tracelb test) each run's
outcome is fixed too.  ``LB_SEED`` 2 is the seed under which Debian's
scamper meets the tracelb rule with the most to spare (one miss in 120).

``lb_graph`` gives the nodes and links tracelb should report, ``lb_paths``
the single paths (what a flow that every router hashes alike, ICMP echo,
can see), and ``tracelb_graph`` what a warts tracelb record reports, in
the same shape.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from itertools import product
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # testbed.py imports this module and stays stdlib-only
    from warts.types.tracelb import Tracelb

# (near node, far node, link number, MTU), as testbed.LINKS
LB_LINKS: tuple[tuple[str, str, int, int], ...] = (
    ("r1", "lb2", 102, 1500),
    ("lb2", "lb3a", 131, 1500),
    ("lb2", "lb3b", 132, 1500),
    ("lb2", "lb3c", 133, 1500),
    ("lb3a", "lb4", 141, 1500),
    ("lb3b", "lb4", 142, 1500),
    ("lb3c", "lb4", 143, 1500),
    ("lb4", "lb5a", 151, 1500),
    ("lb4", "lb5b", 152, 1500),
    ("lb5a", "lb6", 161, 1500),
    ("lb5b", "lb6", 162, 1500),
    ("lb6", "lbdst", 107, 1500),
)
LB_HOST = "lbdst"
LB_DST_LINK = 107
LB_DSTS = 100  # addresses on lbdst, from .2 / ::2 up: 20 runs x 5 methods at once


def _stages(links: Iterable[tuple[str, str, int, int]], root: str = "r1"
            ) -> tuple[tuple[str, ...], ...]:
    """The nodes by hop from ``root``; a stage of several routers is an ECMP split."""
    nbrs: dict[str, set[str]] = {}
    for a, b, _, _ in links:
        nbrs.setdefault(a, set()).add(b)
        nbrs.setdefault(b, set()).add(a)
    stages: list[tuple[str, ...]] = [(root,)]
    seen = {root}
    while nxt := sorted({n for s in stages[-1] for n in nbrs.get(s, ())} - seen):
        stages.append(tuple(nxt))
        seen.update(nxt)
    return tuple(stages)


LB_STAGES = _stages(LB_LINKS)  # (r1,), (lb2,), (lb3a, lb3b, lb3c), ..., (lbdst,)
LB_ROUTERS = tuple(n for stage in LB_STAGES[1:-1] for n in stage)
# Routers where branches rejoin: they answer from one address, a preferred
# source on their routes (testbed._route_lines), whatever branch a probe took.
LB_JOINS = frozenset(s[0] for prev, s in zip(LB_STAGES, LB_STAGES[1:], strict=False)
                     if len(prev) > 1 and len(s) == 1)


# How the lb routers hash (see the module docstring).  Policy 3 hashes the
# fields below (0x37: source and destination address, protocol, ports) with
# the namespace's seed, and never reuses a hash the packet already carries;
# IPv4 needs only the seed, but both families hash alike this way.
LB_SEED = 2  # base of the routers' seeds; Testbed(lb_seed=None) draws one
HASH_SEED = "net.ipv4.fib_multipath_hash_seed"  # v4 and v6, Linux >= 6.11
LB_ROUTER_SYSCTLS: dict[str, str] = {
    "net.ipv4.fib_multipath_hash_policy": "3",
    "net.ipv4.fib_multipath_hash_fields": "0x0037",
    "net.ipv6.fib_multipath_hash_policy": "3",
    "net.ipv6.fib_multipath_hash_fields": "0x0037",
}
# A join answers from its routes' preferred source (testbed._route_lines):
# IPv4 takes it only with inbound_ifaddr off; IPv6 prefers it by itself.
LB_JOIN_SYSCTLS: dict[str, str] = {"net.ipv4.icmp_errors_use_inbound_ifaddr": "0"}


def lb_hash_seed(role: str, base: int = LB_SEED) -> int:
    """Router ``role``'s multipath hash seed: fixed by ``base``, never 0
    (0 means Linux's one global seed)."""
    digest = hashlib.sha256(f"{base}:{role}".encode()).digest()
    return int.from_bytes(digest[:4], "big") or 1


def _has_sysctl(key: str) -> bool:
    return os.path.exists("/proc/sys/" + key.replace(".", "/"))


def lb_hashing_problem() -> str | None:
    """Why the diamond's routers cannot hash independently here, or None."""
    if not _has_sysctl(HASH_SEED):
        return f"no {HASH_SEED} (Linux < 6.11): the diamond's splits would be correlated"
    return None


def lb_sysctls(role: str, base: int = LB_SEED) -> dict[str, str]:
    """The sysctls that make ``role`` behave as the diamond needs ({} off
    it); the hashing ones only where this kernel has them."""
    if role not in LB_ROUTERS:
        return {}
    out = {**LB_ROUTER_SYSCTLS, HASH_SEED: str(lb_hash_seed(role, base))}
    if role in LB_JOINS:
        out.update(LB_JOIN_SYSCTLS)
    return {k: v for k, v in out.items() if _has_sysctl(k)}


class LbGraph(NamedTuple):
    """What tracelb reports, as sets: node addresses and (from, to) links.

    A link's ``to`` is None where scamper's link ends in unresponsive hops.
    """

    nodes: frozenset[str]
    links: frozenset[tuple[str, str | None]]


def _addr(link: int, host: int, v6: bool) -> str:
    return f"fd00:200:{link}::{host:x}" if v6 else f"10.200.{link}.{host}"


def lb_dsts(v6: bool) -> list[str]:
    """The destination addresses on lbdst, one per concurrent tracelb."""
    return [_addr(LB_DST_LINK, 2 + i, v6) for i in range(LB_DSTS)]


def lb_answers(v6: bool) -> dict[str, str]:
    """Router -> the address it answers a probe from (see the module docstring)."""
    ends = {(a, b): (link, 1) for a, b, link, _ in LB_LINKS}
    ends.update({(b, a): (link, 2) for a, b, link, _ in LB_LINKS})
    out = {"r1": _addr(1, 2, v6)}  # r1 answers from its link to vp
    for prev, stage in zip(LB_STAGES, LB_STAGES[1:-1], strict=False):
        # toward the first router of the stage before: the inbound interface
        # of a branch router, the preferred source of a join
        for node in stage:
            out[node] = _addr(*ends[(node, prev[0])], v6)
    return out


def _graph(paths: Iterable[Sequence[str]]) -> LbGraph:
    nodes: set[str] = set()
    links: set[tuple[str, str | None]] = set()
    for path in paths:
        nodes.update(path)
        links.update(zip(path, path[1:], strict=False))
    return LbGraph(frozenset(nodes), frozenset(links))


def lb_paths(v6: bool, dst: str) -> list[LbGraph]:
    """Every single path from r1 to ``dst`` through the diamond (3 x 2)."""
    ans = lb_answers(v6)
    return [_graph([[*(ans[n] for n in path), dst]])
            for path in product(*LB_STAGES[:-1])]


def lb_graph(v6: bool, dst: str) -> LbGraph:
    """The whole diamond from r1 to ``dst``: what MDA should find."""
    ans = lb_answers(v6)
    return _graph([*(ans[n] for n in path), dst] for path in product(*LB_STAGES[:-1]))


def tracelb_graph(rec: Tracelb) -> LbGraph:
    """The nodes and links a warts tracelb record reports, as address sets."""
    nodes = [str(n.addr) if n.addr is not None else "*" for n in rec.nodes]
    links = {(nodes[lk.from_], None if lk.to is None else nodes[lk.to]) for lk in rec.links}
    return LbGraph(frozenset(nodes), frozenset(links))
