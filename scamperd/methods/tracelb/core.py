"""tracelb's measurement state: branches, probes in flight, scheduling.

Theory of operation (scamper_tracelb_do.c)
-------------------------------------------
MDA discovers the interfaces at each hop by sending probes that differ only
in their flow identifier (a port, or the ICMP checksum) until, with ``n-1``
interfaces seen, ``k(n)`` probes in a row have shown nothing new: then there
is less than a 5% (or 1%, ``-c 99``) chance of a missed interface.

The work is split into **branches**, one per path segment whose next hop is
being enumerated.  Exactly one branch is probed at a time (``active``):
one probe in flight, the next sent ``wait_probe`` after the last, or
``wait_timeout`` after it when no reply came.  The other branches queue in
``waiting``, the one nearest the root first.  A branch goes through modes:

* FIRSTADDR: one flow at ``firsthop`` to learn the first interface;
* FIRSTHOP / HOPPROBE: new flows one hop further, until confidence;
* BRINGFWD / BRINGFWD0: when no flow id is known to reach the segment
  (after a split), flows are sent into the split at a lower TTL until one
  comes out on the wanted side, then reused one hop further;
* PERPACKET: with more than one next hop, one flow is re-sent ``k(2)`` times:
  if its answers differ the balancing is per packet;
* CLUMP: per-packet balancing, anomalies or silence: the next hops are
  recorded as one hop of a link with no single far end, and probing goes on
  a hop further until a single interface shows again.

Everything happens in callbacks as in scamper (a reply, a timeout, a probe
sent); each ends with :meth:`State.queue`, which decides whether a probe is
due (``want_probe``), when to wake up (``wait_until``), or that the
measurement is over (``done``).  Times are integer ns.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum

from .graph import Graph, LbProbe, Link, Node, Path, PathLink, node_key


class Mode(IntEnum):
    """MODE_* in scamper_tracelb_do.c (route and datalink modes have no
    counterpart here: the engine resolves those)."""

    FIRSTADDR = 2
    FIRSTHOP = 3
    HOPPROBE = 4
    PERPACKET = 5
    BRINGFWD = 6
    BRINGFWD0 = 7
    CLUMP = 8


# Probes needed to rule out an n-th next hop with n-1 seen (n = 2..99), for
# 95% and 99% confidence: Augustin et al.'s table, extended as scamper does.
K_TABLE = (
    (0, 0), (0, 0), (6, 8), (11, 15), (16, 21), (21, 28), (27, 36), (33, 43),
    (38, 51), (44, 58), (51, 66), (57, 74), (63, 82), (70, 90), (76, 98),
    (83, 106), (90, 115), (96, 123), (103, 132), (110, 140), (117, 149),
    (124, 157), (131, 166), (138, 175), (145, 183), (152, 192), (159, 201),
    (167, 210), (174, 219), (181, 228), (189, 237), (196, 246), (203, 255),
    (211, 264), (218, 273), (226, 282), (233, 291), (241, 300), (248, 309),
    (256, 319), (264, 328), (271, 337), (279, 347), (287, 356), (294, 365),
    (302, 375), (310, 384), (318, 393), (326, 403), (333, 412), (341, 422),
    (349, 431), (357, 441), (365, 450), (373, 460), (381, 470), (389, 479),
    (397, 489), (405, 499), (413, 508), (421, 518), (429, 528), (437, 537),
    (445, 547), (453, 557), (462, 566), (470, 576), (478, 586), (486, 596),
    (494, 606), (502, 616), (511, 625), (519, 635), (527, 645), (535, 655),
    (544, 665), (552, 675), (560, 685), (569, 695), (577, 705), (585, 715),
    (594, 725), (602, 735), (610, 745), (619, 755), (627, 765), (635, 775),
    (644, 785), (652, 795), (661, 805), (669, 815), (678, 825), (686, 835),
    (695, 845), (703, 855), (712, 866), (720, 876), (729, 886), (737, 896),
    (746, 906),
)
MAX_N = 99


def nlimit(n: int) -> int:
    return min(n, MAX_N)


@dataclass(slots=True, eq=False)
class BringFwd:
    """tracelb_bringfwd_t: tries so far at bringing a flow id past ``path``."""

    path: Path
    k: int = 0


@dataclass(slots=True, eq=False)
class NewNode:
    """tracelb_newnode_t: a next hop seen by a branch, and the probe that
    first found it."""

    node: Node
    probe: LbProbe


@dataclass(slots=True, eq=False)
class Branch:
    """tracelb_branch_t: the probing of one segment's next hop."""

    path: Path | None
    mode: Mode
    last_tx: int = 0
    next_tx: int = 0
    k: int = 0               # probes answered
    l: int = 0               # probes lost  # noqa: E741 (scamper's name)
    n: int = 2               # next hops to rule out
    bringfwd: builtins.list[BringFwd] | None = None
    bringfwd0: int = 0
    newnodes: builtins.list[NewNode] = field(default_factory=list)
    probes: builtins.list[SentProbe] = field(default_factory=list)

    def reset(self) -> None:
        """tracelb_branch_reset(): keep what was found, restart counting."""
        self.l = 0
        self.k = 0
        self.n = 2
        if self.mode != Mode.PERPACKET:
            for pr in self.probes:
                pr.branch = None
            self.probes = []
        self.bringfwd = None

    def detach(self) -> None:
        """tracelb_branch_free(): its probes no longer belong to a branch."""
        for pr in self.probes:
            pr.branch = None
        self.probes = []
        self.bringfwd = None

    def find_newnode(self, key: tuple[object, ...]) -> NewNode | None:
        for nn in self.newnodes:
            if nn.node.key() == key:
                return nn
        return None

    def add_newnode(self, nn: NewNode) -> None:
        """array_insert(): kept in node order (newnodes[0] is the least)."""
        key = nn.node.key()
        i = len(self.newnodes)
        while i > 0 and self.newnodes[i - 1].node.key() > key:
            i -= 1
        self.newnodes.insert(i, nn)


@dataclass(slots=True, eq=False)
class SentProbe:
    """tracelb_probe_t: a probe in flight; ``id`` is what travels in the
    packet; ``link`` the link one hop before the probed one."""

    probe: LbProbe
    mode: Mode
    id: int = 0
    link: PathLink | None = None
    branch: Branch | None = None


@dataclass(frozen=True, slots=True)
class Params:
    """The command's numbers the algorithm uses (times in ns)."""

    dst: bytes
    firsthop: int
    attempts: int
    confidence: int          # 0: 95%, 1: 99%
    gaplimit: int
    probec_max: int
    wait_probe: int
    wait_timeout: int
    flowid_start: int


class BranchHeap:
    """The queue of waiting branches, ordered as scamper's mjl_heap orders
    them: a binary heap whose first item is the branch nearest the root.
    Branches at the same distance come out in the order the heap's sifting
    leaves them, which is scamper's probing order, so it is kept exactly
    (sift-up moves an item above an equal parent; ``remake`` sifts every
    item up again)."""

    def __init__(self) -> None:
        self.a: list[Branch] = []

    @staticmethod
    def _cmp(a: Branch, b: Branch) -> int:
        """tracelb_branch_waiting_cmp(): positive when ``a`` goes first."""
        return _length(b) - _length(a)

    def __len__(self) -> int:
        return len(self.a)

    def __iter__(self) -> Iterator[Branch]:
        return iter(self.a)

    def _up(self, k: int) -> None:
        a = self.a
        v = a[k - 1]
        while k > 1 and self._cmp(a[k // 2 - 1], v) <= 0:
            a[k - 1] = a[k // 2 - 1]
            k //= 2
        a[k - 1] = v

    def _down(self, k: int) -> None:
        a = self.a
        n = len(a)
        v = a[k - 1]
        while k <= n // 2:
            j = k + k
            if j < n and self._cmp(a[j - 1], a[j]) < 0:
                j += 1
            if self._cmp(v, a[j - 1]) >= 0:
                break
            a[k - 1] = a[j - 1]
            k = j
        a[k - 1] = v

    def insert(self, br: Branch) -> None:
        self.a.append(br)
        self._up(len(self.a))

    def remove(self) -> Branch:
        a = self.a
        top = a[0]
        last = a.pop()
        if a:
            a[0] = last
            self._down(1)
        return top

    def remake(self) -> None:
        for i in range(1, len(self.a) + 1):
            self._up(i)


def _length(br: Branch) -> int:
    return br.path.length() if br.path is not None else 0


class LbError(Exception):
    """The measurement cannot go on; the message is its errmsg."""


class State:
    """tracelb_state_t together with the record's growing nodes and links."""

    def __init__(self, params: Params, on_node: Callable[[Node], None] | None = None) -> None:
        self.p = params
        self.on_node = on_node  # told of every node recorded (-O ptr)
        self.waiting = BranchHeap()
        self.graph = Graph(self.waiting.remake)
        self.nodes: list[Node] = []        # trace->nodes, in discovery order
        self.links: list[Link] = []        # trace->links, in link order
        self.probec = 0
        self.probes: list[SentProbe] = []  # by id
        self.flowid_next = params.flowid_start
        self.active: Branch | None = None
        self.next_tx = 0
        self.done = False
        self.errmsg: str | None = None
        self.want_probe = False
        self.wait_until = 0
        self.waiting.insert(self.new_branch(None, Mode.FIRSTADDR))
        self.want_probe = True

    # -- bookkeeping ------------------------------------------------------

    def k(self, n: int) -> int:
        return K_TABLE[n][self.p.confidence]

    @property
    def id_next(self) -> int:
        return len(self.probes)

    def new_branch(self, path: Path | None, mode: Mode) -> Branch:
        return Branch(path, mode)

    def set_active(self, br: Branch) -> None:
        """tracelb_branch_active(): at most one branch is in flight."""
        self.active = br

    def set_waiting(self, br: Branch) -> None:
        self.waiting.insert(br)

    def unset_active(self, br: Branch) -> None:
        if self.active is br:
            self.active = None

    def take_branch(self) -> Branch:
        """heap_remove(active), else the waiting branch nearest the root."""
        br = self.active
        if br is not None:
            self.active = None
            return br
        return self.waiting.remove()

    def add_node(self, node: Node) -> None:
        self.nodes.append(node)
        if self.on_node is not None and node.addr is not None:
            self.on_node(node)

    def find_node(self, key: tuple[object, ...]) -> Node | None:
        """scamper_tracelb_node_find(): an answering node already recorded."""
        for node in self.nodes:
            if node.addr is not None and node.key() == key:
                return node
        return None

    def add_record_link(self, link: Link) -> None:
        """tracelb_link_add(): record a link with its from node and in the
        trace, both kept in link order."""
        link.from_.links.append(link)
        link.from_.links.sort(key=Link.key)
        self.links.append(link)
        self.links.sort(key=Link.key)

    def add_path(self, path: Path) -> None:
        """tracelb_path_add(): a new segment to probe past."""
        br = self.new_branch(path, Mode.HOPPROBE)
        br.reset()
        self.set_waiting(br)

    def fail(self, msg: str) -> None:
        """tracelb_handleerror()."""
        if self.errmsg is None:
            self.errmsg = msg
        self.done = True
        self.want_probe = False

    def queue(self, now: int) -> None:
        """tracelb_queue(): probe now, wait, or finish."""
        if self.done:
            return
        if self.active is None and not self.waiting:
            self.done = True
            self.want_probe = False
            return
        next_tx = self.active.next_tx if self.active is not None else self.next_tx
        if next_tx <= now:
            if self.probec >= self.p.probec_max:
                self.done = True
                self.want_probe = False
                return
            self.want_probe = True
            return
        self.want_probe = False
        self.wait_until = next_tx


__all__ = ["Branch", "BringFwd", "K_TABLE", "LbError", "Mode", "NewNode", "Params",
           "SentProbe", "State", "nlimit", "node_key"]
