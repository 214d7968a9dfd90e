"""The graph tracelb builds: the record's nodes, links and probes, and the
path segments MDA walks over them.

Two layers, as in scamper_tracelb_do.c:

* **What is recorded** (:class:`Node`, :class:`Link`, :class:`LbProbe`,
  :class:`LbReply`): the measurement's interfaces and the links between
  them, each link holding one probeset per hop it spans (``sets``), each
  probe its replies.  A node is identified by its address *and* the TTL
  quoted in the ICMP errors it sent (``q_ttl``), so a router seen with two
  quoted TTLs is two nodes, as in scamper (``scamper_tracelb_node_cmp``).
* **How it is walked** (:class:`PathLink`, :class:`Path`): path segments are
  runs of links with no branching inside them; a segment has the segments
  leading into it (``back``) and out of it (``fwd``), and its ``distance``
  from the root in segments.  Each link also keeps the flow ids (with the
  TTL they were sent at) known to cross it, so that probes for a later hop
  can reuse them instead of searching for new ones ("bringing a flow id
  forward").  When a newly found link ends at a node already known, the
  segment holding that node is split in two (:func:`splice_by_node`).

Everything here is pure data and graph surgery; the decisions are in
:mod:`.process` and :mod:`.mda`.
"""

from __future__ import annotations

import builtins
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# ICMP types tracelb tells apart (SCAMPER_TRACELB_REPLY_IS_*)
_TIMXCEED = {False: 11, True: 3}
_UNREACH = {False: 3, True: 1}


@dataclass(slots=True, eq=False)
class LbReply:
    """scamper_tracelb_reply_t: one reply to a probe."""

    src: bytes               # reply_from
    rx: int                  # ns
    ipid: int = 0
    ttl: int | None = None   # None: not known (REPLY_TTL clear)
    tcp: bool = False
    tcp_flags: int = 0
    icmp_type: int = 0
    icmp_code: int = 0
    q_ttl: int = 0
    q_tos: int = 0
    exts: bytes | None = None

    @property
    def v6(self) -> bool:
        return len(self.src) == 16

    def is_ttl_exp(self) -> bool:
        return not self.tcp and self.icmp_type == _TIMXCEED[self.v6]

    def is_unreach(self) -> bool:
        return not self.tcp and self.icmp_type == _UNREACH[self.v6]

    def quotes_ttl(self) -> bool:
        """Whether a node found by this reply carries its quoted TTL."""
        return self.is_ttl_exp() or self.is_unreach()


@dataclass(slots=True, eq=False)
class LbProbe:
    """scamper_tracelb_probe_t: one probe as recorded."""

    flowid: int = 0
    ttl: int = 0
    attempt: int = 0
    tx: int = 0              # ns
    rxs: builtins.list[LbReply] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Node:
    """scamper_tracelb_node_t.  ``addr`` None: the first hop never answered."""

    addr: bytes | None
    qttl: bool = False
    q_ttl: int = 0
    name: str | None = None
    links: builtins.list[Link] = field(default_factory=list)

    def key(self) -> tuple[int, ...] | tuple[int, int, bytes, int, int]:
        return node_key(self.addr, self.qttl, self.q_ttl)


def node_key(addr: bytes | None, qttl: bool, q_ttl: int
             ) -> tuple[int, ...] | tuple[int, int, bytes, int, int]:
    """The order scamper_tracelb_node_cmp() puts nodes in: no address first,
    then by address (family, then value), then quoted TTL present before
    absent, then by quoted TTL."""
    if addr is None:
        return (0,)
    return (1, len(addr), addr, 0 if qttl else 1, q_ttl if qttl else 0)


def reply_node_key(reply: LbReply) -> tuple[int, ...] | tuple[int, int, bytes, int, int]:
    """The key of the node a reply stands for (tracelb_cmp_node2reply)."""
    qttl = reply.quotes_ttl()
    return node_key(reply.src, qttl, reply.q_ttl if qttl else 0)


def node_for_reply(reply: LbReply) -> Node:
    qttl = reply.quotes_ttl()
    return Node(reply.src, qttl, reply.q_ttl if qttl else 0)


@dataclass(slots=True, eq=False)
class Link:
    """scamper_tracelb_link_t: ``from_`` -> ``to`` (None: into silence),
    with one probeset per hop spanned (``len(sets)`` is scamper's hopc)."""

    from_: Node
    to: Node | None = None
    sets: builtins.list[builtins.list[LbProbe]] = field(default_factory=list)

    def key(self) -> tuple[object, ...]:
        """scamper_tracelb_link_cmp(): by from, then to (a missing to last)."""
        if self.to is None:
            return (self.from_.key(), 1)
        return (self.from_.key(), 0, self.to.key())

    @property
    def hopc(self) -> int:
        return len(self.sets)


@dataclass(slots=True, eq=False)
class PathLink:
    """tracelb_link_t: a recorded link, where it lies, and the flow ids
    (id, ttl) known to cross it, oldest first."""

    link: Link
    path: Path
    flowids: deque[tuple[int, int]] = field(default_factory=deque)

    def take_flowid(self) -> tuple[int, int] | None:
        return self.flowids.popleft() if self.flowids else None

    def add_flowids(self, new: list[tuple[int, int]]) -> None:
        """tracelb_link_flowids_add_list(): the newly found flows go ahead
        of those already held."""
        self.flowids = deque(new) + self.flowids

    def flowids_inc(self) -> None:
        """A clump grew by a hop: its flow ids now reach one TTL further."""
        self.flowids = deque((fid, ttl + 1) for fid, ttl in self.flowids)


@dataclass(slots=True, eq=False)
class Path:
    """tracelb_path_t: a segment of links with no branching inside."""

    back: builtins.list[Path] = field(default_factory=list)
    links: builtins.list[PathLink] = field(default_factory=list)
    fwd: builtins.list[Path] = field(default_factory=list)
    visited: int = 0
    distance: int = 0

    def last(self) -> PathLink:
        return self.links[-1]

    def add_back(self, back: Path) -> None:
        self.back.append(back)
        back.fwd.append(self)

    def length(self) -> int:
        """tracelb_path_length(): links back to the root along the shortest
        chain of segments."""
        n = len(self.links)
        path = self
        while path.back:
            shortest = min(path.back, key=lambda p: len(p.links))
            n += len(shortest.links)
            path = shortest
        return n

    def reaching_link(self) -> PathLink:
        """The link whose far node this segment starts from."""
        if self.links:
            return self.links[-1]
        return self.back[0].links[-1]


class Graph:
    """The links and segments found so far (state->links, state->paths)."""

    def __init__(self, reorder: Callable[[], None] | None = None) -> None:
        self.paths: list[Path] = []
        self.links: list[PathLink] = []   # kept in link order
        # called whenever segment distances change: the queue of waiting
        # branches is rebuilt then (heap_remake in tracelb_path_distance)
        self.reorder = reorder

    def new_path(self) -> Path:
        path = Path()
        self.paths.append(path)
        return path

    def add_link(self, link: Link, path: Path) -> PathLink:
        """tracelb_link_alloc(): remember ``link`` as lying in ``path``."""
        pl = PathLink(link, path)
        key = link.key()
        i = len(self.links)
        while i > 0 and self.links[i - 1].link.key() > key:
            i -= 1
        self.links.insert(i, pl)
        return pl

    def find_link(self, from_: Node, to_key: tuple[object, ...]) -> PathLink | None:
        """tracelb_link_find(): the recorded link from ``from_`` to the node
        with key ``to_key``."""
        want = (from_.key(), 0, to_key)
        for pl in self.links:
            if pl.link.to is not None and pl.link.key() == want:
                return pl
        return None

    def set_visited0(self) -> None:
        for p in self.paths:
            p.visited = 0

    def set_distance(self, path: Path, distance: int) -> None:
        """tracelb_path_distance(): push ``distance`` forward from ``path``."""
        self.set_visited0()
        _distance(path, distance)
        if self.reorder is not None:
            self.reorder()

    def splice(self, path0: Path, path: Path, linkc: int) -> None:
        """tracelb_paths_splice(): ``path0`` has reached the node after the
        first ``linkc`` links of ``path``; cut ``path`` there, so that its
        second part has two segments behind it (its first part and path0)."""
        newp = self.new_path()
        newp.back, path.back = path.back, []
        for b in newp.back:
            b.fwd = [newp if f is path else f for f in b.fwd]
        newp.links = path.links[:linkc]
        for pl in newp.links:
            pl.path = newp
        path.links = path.links[linkc:]
        path.add_back(newp)
        path.add_back(path0)
        newp.distance = path.distance
        d = max(path0.distance, path.distance) + 1
        self.set_distance(path, d)

    def splice_by_node(self, path0: Path) -> None:
        """tracelb_paths_splice_bynode(): the link path0 just got ends at a
        node already known; join path0 into the graph there."""
        tlbl = path0.last()
        to_key = tlbl.link.to.key() if tlbl.link.to is not None else None
        found = None
        for pl in self.links:
            if pl is not tlbl and pl.link.to is not None and pl.link.to.key() == to_key:
                found = pl
                break
        if found is None:
            return
        path = found.path
        i = path.links.index(found)
        if i + 1 == len(path.links) and path.fwd:
            for f in list(path.fwd):
                f.add_back(path0)
                self.set_distance(f, path0.distance + 1)
        else:
            self.splice(path0, path, i + 1)


def _distance(path: Path, distance: int) -> None:
    path.visited += 1
    if path.distance >= distance:
        return
    path.distance = distance
    for f in path.fwd:
        _distance(f, distance + 1)


# --------------------------------------------------------------------------
# Loops and where a branch stops


def isloop_addr(path: Path, addr: bytes | None) -> PathLink | None:
    """tracelb_isloop_addr(): a link on the way back to the root whose from
    node (or a reply inside its clump) has ``addr``."""
    for tlbl in reversed(path.links):
        link = tlbl.link
        if link.from_.addr is None:
            continue
        if link.from_.addr == addr:
            return tlbl
        for probes in link.sets[:-1]:
            for probe in probes:
                for r in probe.rxs:
                    if r.src == addr:
                        return tlbl
    for b in path.back:
        hit = isloop_addr(b, addr)
        if hit is not None:
            return hit
    return None


def zero_ttl_forwarding(link: Link) -> bool:
    """tracelb_link_zerottlfwd(): a router forwarding a packet that arrived
    with TTL 0 shows up twice in a row, quoted TTLs 0 then 1: not a loop."""
    f, t = link.from_, link.to
    return (f.addr is not None and t is not None and f.addr == t.addr and f.qttl
            and t.qttl and f.q_ttl == 0 and t.q_ttl == 1)


def isloop(path: Path) -> bool:
    """tracelb_isloop(): does the link just added to ``path`` close a loop?"""
    link = path.last().link
    if zero_ttl_forwarding(link):
        return False
    return isloop_addr(path, link.to.addr if link.to is not None else None) is not None


def link_continue(dst: bytes, path: Path, link: Link) -> bool:
    """tracelb_link_continue(): whether to probe on past ``link``: not at
    the destination, only time-exceeded replies at its last hop, no loop."""
    if link.to is not None and link.to.addr == dst:
        return False
    for probe in link.sets[-1]:
        for r in probe.rxs:
            if not r.is_ttl_exp():
                return False
    return not isloop(path)


# --------------------------------------------------------------------------
# Flow ids that reach a segment


def path_flowid(path: Path) -> tuple[int, int] | None:
    """tracelb_path_flowid(): a flow id known to reach the end of ``path``
    and the TTL that probes one hop past it, taken (used up) from the link
    that holds it; looks back through segments with a single way forward."""
    for i in range(len(path.links) - 1, -1, -1):
        got = path.links[i].take_flowid()
        if got is not None:
            fid, ttl = got
            ttl += 1
            for pl in path.links[i + 1:]:
                ttl += pl.link.hopc
            return fid, ttl
    for b in path.back:
        if len(b.fwd) == 1:
            got = path_flowid(b)
            if got is not None:
                fid, ttl = got
                for pl in path.links:
                    ttl += pl.link.hopc
                return fid, ttl
    return None


def bringfwd_dft(path: Path, out: list[Path]) -> bool:
    """tracelb_bringfwd_dft(): the segments on every way from the root to
    ``path``, each once, appended to ``out`` (the root first)."""
    if path.visited:
        return True
    if not path.back:
        out.append(path)
        path.visited = 1
        return True
    rc = False
    for b in path.back:
        if bringfwd_dft(b, out):
            rc = True
    if rc:
        out.append(path)
        path.visited = 1
    return rc
