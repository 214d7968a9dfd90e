"""The test bed's alias-resolution corner, and which of its addresses are aliases.

A branch of the namespace test bed (tests/testbed.py) hangs off r1::

    vp -1- r1 -201- al1 -202 (/31)- al2 -204- alh2
                     |
                     +--203 (/30)-- al3 -205- alh3

al1 and al2 are "old" routers, al3 a stock Linux router, alh2 and alh3
stock hosts.  Link N is 10.200.N.0/24 and fd00:200:N::/64 with the near
node at .1 / ::1 and the far one at .2 / ::2, as in the rest of the bed,
except on IPv4 link 202, a /31 (al1 10.200.202.0, al2 10.200.202.1), and
link 203, a /30 (al1 .1, al3 .2): prefixscan finds a router's address as
the /31 or /30 mate of the next hop's.

An old router (``AL_OLD``) has what a router that alias resolution can
see has, emulated with nftables on its output hook (``old_router_nft``):

* one IPv4 IP-ID counter, incremented for every packet it sends, whatever
  the address, protocol or DF bit (``ip id set numgen inc mod 65536 offset
  N << 16``: nftables 1.0.6 writes 0 without the shift; ``nft
  --debug=netlink`` shows ``numgen``, ``<< 16``, ``hton`` and a 2-byte write
  at network header + 4, with the IP checksum fixed).  al1 counts from
  16384 and al2 from 49152 + 128, a quarter and three quarters round from
  r4 (the bed's first old router, from 0), so two counters are never within
  a fudge of each other natively, and their low bytes are half a turn apart
  so they are not byte-swapped either: with equal low bytes (al2 from
  49152), IDs 0x40nn and 0xC0nn read 0xnn40, 0xnnC0, 0x(nn+1)40 ...
  byte-swapped, in sequence within fudge 200 whenever the two counters
  moved in step, and Debian's sc_ally over the corner once called an al1
  and an al2 address aliases that way.
* port-unreachables (IPv4 and IPv6) always from one address, its interface
  toward vp, whatever address was probed: what mercator sees.

Stock Linux (al3, alh2, alh3, and every other node) is not an old router:

* It answers a probe to one of its addresses from that address (mercator
  gets nothing).
* Its IPv4 IP-ID for a DF=0 packet (ICMP echo replies and errors) comes
  from one of Linux's global counters, picked by hashing (source,
  destination, protocol) with a random per-namespace key; a counter first
  jumps by a random amount below the jiffies since its last use, then
  counts the packet.  Measured: echo replies to one address 200 ms apart
  step by 4 to 44 (HZ 250: a jump below 50), from a random start.  To ally
  or radargun probing one address that is a counter (sc_ally's and
  sc_radargun's classification say "incr"), but each address of a stock
  router has one of its own, so its addresses are aliases nobody can see
  (al3's second address, 10.200.205.1, is left out of the candidates).
  Two stock counters pass ally (fudge 200) or bump only if their random
  starts lie within a step (< 50) of each other and their jumps keep them
  interleaved: about 50/65536 x 1/5 per pair, under one in a thousand per
  bed for the corner's three stock pairs.
* DF=1 packets (TCP RSTs) carry IP-ID 0.

The old routers' counters start half a round apart, so ally's fudge
never bridges them natively.  Byte-swapped it can: with sc_ally's default
fudge of 5000 (and its byte-swap test on), al1 and al2 were called aliases
when their counters' low bytes met (16953, 49465, 16954, 49466, 16955
swapped is 14658, 14785, 14914, 15041, 15170).  Any fudge under 256 rules
that out, since a counter that counts moves its swapped value by 256 a
packet; the tests run sc_ally with -f 200, scamper's own ally default.

IPv6 on this kernel (6.18): there is no IP-ID; the only counter would be
the fragment identification of a fragmented reply, which the speedtrap
trick exposes (-M pseudo-MTU: a packet-too-big, after which a large echo
reply comes back in fragments).  Linux has drawn IPv6 fragment IDs at
random for every packet since 5.13 (__ipv6_select_ident returns
get_random_u32_above(0)), and so it does here.  Measured with Debian's
scamper, radargun with ``-p '-P icmp-echo -s 1300 -M 1280 -i ADDR'`` over
al1's three addresses and two stock ones, 6 rounds of 300 ms: the first
reply came unfragmented (or not at all), every later one in fragments
whose 32-bit IDs were scattered over the whole range, for old routers and
stock ones alike (al1's fd00:200:201::2: 2276945407, 3418002868,
1022740217, 1358481864, 3562507341), and ally over two of al1's addresses
said NOTALIASES; tests/test_testbed_alias.py keeps checking it.  nftables
cannot emulate a counter either: it has no ``frag id set`` statement (a
syntax error in 1.0.6), and the kernel fragments after the output and
postrouting hooks.  So IPv6 ally, radargun, prefixscan and speedtrap have
no counter to find in this bed; only IPv6 mercator (port-unreachables from
one address) works here, and the IP-ID verdicts over IPv6 belong on the
fake network.

``alias_truth`` gives the ground truth: each node's candidate addresses,
and from them the true and false alias pairs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

# (near node, far node, link number, MTU), as testbed.LINKS
AL_LINKS: tuple[tuple[str, str, int, int], ...] = (
    ("r1", "al1", 201, 1500),
    ("al1", "al2", 202, 1500),
    ("al1", "al3", 203, 1500),
    ("al2", "alh2", 204, 1500),
    ("al3", "alh3", 205, 1500),
)
AL_ROUTERS = ("al1", "al2", "al3")
AL_HOSTS = ("alh2", "alh3")
AL_NODES = (*AL_ROUTERS, *AL_HOSTS)

# IPv4 links that are not a /24 with .1 and .2: link -> (near host number,
# far host number, prefix length).  IPv6 keeps ::1 and ::2 in a /64.
AL_V4_HOSTS: dict[int, tuple[int, int, int]] = {202: (0, 1, 31), 203: (1, 2, 30)}

# The old routers: role -> (IP-ID counter offset, the link whose address
# every port-unreachable comes from).  r4 (tests/testbed.py) counts from 0.
AL_OLD: dict[str, tuple[int, int]] = {"al1": (16384, 201), "al2": (49152 + 128, 202)}

# Addresses no method can tie to the others of their node (see the docstring).
AL_HIDDEN = frozenset({("al3", 205)})

OLD_ROUTER_NFT = """\
table inet scamperd_oldrouter {
    chain output {
        type filter hook output priority 0; policy accept;
        # mercator: every port-unreachable comes from one address
        icmp type destination-unreachable icmp code port-unreachable ip saddr set %(fix4)s
        icmpv6 type destination-unreachable icmpv6 code port-unreachable ip6 saddr set %(fix6)s
        # ally/radargun: one shared, incrementing IP-ID for everything it
        # sends.  nftables 1.0.6 writes 0 without the "<< 16".
        ip id set numgen inc mod 65536 offset %(offset)d << 16
    }
}
"""

def old_router_nft(fix4: str, fix6: str, offset: int = 0) -> str:
    """The nftables ruleset that makes a router "old" (see the docstring)."""
    return OLD_ROUTER_NFT % {"fix4": fix4, "fix6": fix6, "offset": offset}


def link_hosts4(link: int) -> tuple[int, int, int]:
    """(near host number, far host number, prefix length) of an IPv4 link."""
    return AL_V4_HOSTS.get(link, (1, 2, 24))


def _addr(link: int, near: bool, v6: bool) -> str:
    if v6:
        return f"fd00:200:{link}::{1 if near else 2}"
    h_near, h_far, _ = link_hosts4(link)
    return f"10.200.{link}.{h_near if near else h_far}"


def al_addrs(role: str, v6: bool) -> dict[int, str]:
    """Every address of a corner node, by link."""
    out = {}
    for near, far, link, _ in AL_LINKS:
        if role in (near, far):
            out[link] = _addr(link, role == near, v6)
    return out


def al_fixed(role: str, v6: bool) -> str:
    """The address an old router sends every port-unreachable from."""
    return al_addrs(role, v6)[AL_OLD[role][1]]


Pair = frozenset[str]


@dataclass(frozen=True)
class AliasTruth:
    """Which candidate addresses of the corner belong to one node, per family.

    ``nodes`` maps each node to its candidate addresses (the hidden ones
    left out); ``fixed`` maps each address of an old router to the address
    its port-unreachables come from.
    """

    v6: bool
    nodes: dict[str, tuple[str, ...]]
    fixed: dict[str, str]

    @property
    def addrs(self) -> list[str]:
        """Every candidate address, in node order."""
        return [a for addrs in self.nodes.values() for a in addrs]

    @property
    def sets(self) -> list[frozenset[str]]:
        """The alias sets with more than one address: what a perfect
        resolver reports."""
        return [frozenset(a) for a in self.nodes.values() if len(a) > 1]

    def node_of(self, addr: str) -> str:
        return next(n for n, addrs in self.nodes.items() if addr in addrs)

    def is_alias(self, a: str, b: str) -> bool:
        return a != b and self.node_of(a) == self.node_of(b)

    def pairs(self) -> list[tuple[str, str]]:
        """Every unordered pair of candidates, each once, in a fixed order."""
        return list(combinations(self.addrs, 2))

    def true_pairs(self) -> set[Pair]:
        return {frozenset(p) for p in self.pairs() if self.is_alias(*p)}

    def false_pairs(self) -> set[Pair]:
        return {frozenset(p) for p in self.pairs() if not self.is_alias(*p)}

    def prefixscans(self) -> list[tuple[str, str, int, str | None]]:
        """prefixscan cases (a, b, prefix length, the alias of a it should
        find or None), IPv4: for each link of the corner whose near end is
        an old router, a = another address of that router and b the far
        end, and a = an address of another node with the same b."""
        assert not self.v6, "prefixscan cases are IPv4"
        cases: list[tuple[str, str, int, str | None]] = []
        for near, far, link, _ in AL_LINKS:
            if near not in AL_OLD:
                continue
            plen = max(link_hosts4(link)[2], 30)
            mine = al_addrs(near, False)[link]
            b = al_addrs(far, False)[link]
            a = next(x for x in self.nodes[near] if x != mine)
            cases.append((a, b, plen, mine))
            other = next(x for n, addrs in self.nodes.items() if n not in (near, far)
                         for x in addrs)
            cases.append((other, b, plen, None))
        return cases


def alias_truth(v6: bool) -> AliasTruth:
    """The corner's ground truth for one family."""
    nodes = {role: tuple(a for link, a in sorted(al_addrs(role, v6).items())
                         if (role, link) not in AL_HIDDEN)
             for role in AL_NODES}
    fixed = {a: al_fixed(role, v6) for role in AL_OLD for a in nodes[role]}
    return AliasTruth(v6, nodes, fixed)


def closure(pairs: Iterable[Iterable[str]]) -> list[frozenset[str]]:
    """The transitive closure of alias pairs, as sets, largest first."""
    sets: list[set[str]] = []
    for pair in pairs:
        touching = [s for s in sets if s & set(pair)]
        merged = set(pair).union(*touching)
        sets = [s for s in sets if not s & set(pair)] + [merged]
    return sorted((frozenset(s) for s in sets), key=lambda s: (-len(s), sorted(s)))
