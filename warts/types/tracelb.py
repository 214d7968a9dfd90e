"""tracelb (object 0x08): MDA load-balancer traceroute records.

Layout (scamper/tracelb/scamper_tracelb_warts.c, identical in 20211212 and
20260420 apart from flag 26): the record's flags+params, then ``nodec`` node
blocks, then ``linkc`` link blocks; each link is followed by its ``hopc``
probesets, each probeset by its probes, each probe by its replies.  Every
block is a flags+params block; the counts come from parameters.

| block | flag: field (type) |
|---|---|
| record | 1 list id, 2 cycle id (u32, always written); 3, 4 src/dst GID (u32, old); |
| | 5 start (timeval); 6 sport, 7 dport, 8 probe_size (u16); 9 type, |
| | 10 firsthop, 11 wait_timeout (s), 12 wait_probe (cs), 13 attempts, |
| | 14 confidence, 15 tos (u8); 16 nodec, 17 linkc (u16); 18 probec, |
| | 19 probec_max (u32); 20 gaplimit (u8); 21 src, 22 dst (addr); |
| | 23 userid (u32); 24 flags (u8); 25 rtr (static addr); 26 errmsg (string) |
| node | 1 addr GID (old); 2 flags (u8); 3 linkc (u16); 4 q_ttl (u8); 5 addr; 6 name |
| link | 1 from (u16 node index); 2 to (u16 node index, absent: no "to" node); 3 hopc |
| probeset | 1 probec (u16) |
| probe | 1 tx (timeval); 2 flowid (u16); 3 ttl, 4 attempt (u8); 5 rxc (u16) |
| reply | 1 rx (timeval); 2 ipid (u16); 3 ttl; 4 flags; 5 icmp type, code (u8,u8); |
| | 6 tcp flags; 7 icmp extensions; 8 quoted ttl; 9 quoted tos (u8); |
| | 10 from GID (old); 11 from (addr, required) |

Modelling choices:

* Counts (nodec, linkc, node linkc, hopc, probec, rxc) are not stored: they
  are the lengths of the tuples and are always written, as every scamper
  writer does.  A count parameter missing on the wire reads as 0 (scamper's
  zeroed struct) and is written back as 0.
* Links refer to nodes by their index in :attr:`Tracelb.nodes` (``from_`` and
  ``to``), which is what the file stores.  scamper's reader then gives each
  node the links leaving it, in file order, and rejects the record when the
  node's linkc parameter disagrees; :meth:`Tracelb.node_links` rebuilds the
  same lists, and the decoder makes the same count checks.
* List and cycle ids (flags 1, 2) are always written, 0 for none, as both
  writers do.  GID parameters are resolved into the address fields.
* The C reader's timevals for wait_timeout and wait_probe are kept in their
  wire units (seconds and centiseconds).

Modules: this one holds the model and builders; :mod:`.tracelb_wire` reads
and writes it, :mod:`.tracelb_render` prints it as scamper's tools do.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import ClassVar

from ..address import Address
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_TRACELB
from ..wire import IcmpExt, Timeval


class TracelbType(IntEnum):
    """SCAMPER_TRACELB_TYPE_*: which header field varies the flow."""

    UDP_DPORT = 0x01
    ICMP_ECHO = 0x02
    UDP_SPORT = 0x03
    TCP_SPORT = 0x04
    TCP_ACK_SPORT = 0x05


class TracelbFlag(IntFlag):
    """SCAMPER_TRACELB_FLAG_*: record flags (flag 24)."""

    PTR = 0x01


class TracelbNodeFlag(IntFlag):
    """SCAMPER_TRACELB_NODE_FLAG_*: node flags (node flag 2)."""

    QTTL = 0x01


class TracelbReplyFlag(IntFlag):
    """SCAMPER_TRACELB_REPLY_FLAG_*: reply flags (reply flag 4)."""

    REPLY_TTL = 0x01
    TCP = 0x02


# Plain-int copies of the flags for hot paths (IntFlag arithmetic is slow).
_REPLY_TTL = 0x01
_REPLY_TCP = 0x02
_NODE_QTTL = 0x01

# scamper_tracelb_type_tostr()
TYPE_NAMES = {1: "udp-dport", 2: "icmp-echo", 3: "udp-sport", 4: "tcp-sport",
              5: "tcp-ack-sport"}


def type_tostr(t: int | None) -> str:
    t = t or 0
    return TYPE_NAMES.get(t, str(t))


# --------------------------------------------------------------------------
# The model


@dataclass(frozen=True, slots=True)
class TracelbReply:
    """scamper_tracelb_reply_t.  ``reply_from`` is required on the wire.

    ``reply_icmp_type`` and ``reply_icmp_code`` share one parameter (flag 5):
    set both or neither.
    """

    reply_from: Address
    reply_rx: Timeval | None = None
    reply_ipid: int | None = None
    reply_ttl: int | None = None
    reply_flags: int | None = None
    reply_icmp_type: int | None = None
    reply_icmp_code: int | None = None
    reply_tcp_flags: int | None = None
    reply_icmp_exts: tuple[IcmpExt, ...] | None = None
    reply_icmp_q_ttl: int | None = None
    reply_icmp_q_tos: int | None = None

    @property
    def is_tcp(self) -> bool:
        return bool((self.reply_flags or 0) & _REPLY_TCP)

    @classmethod
    def build(cls, reply_from: Address, rx: Timeval, ipid: int, *,
              ttl: int | None = None, tcp_flags: int | None = None,
              icmp_type: int = 0, icmp_code: int = 0, icmp_q_ttl: int = 0,
              icmp_q_tos: int = 0, icmp_exts: Sequence[IcmpExt] | None = None
              ) -> TracelbReply:
        """A reply as scamper 20260420 writes it.

        ``ttl`` None means the reply TTL was not available (REPLY_TTL flag
        clear, flag 3 omitted); ``tcp_flags`` not None makes a TCP reply
        (TCP flag set; flag 6 written, the ICMP flags 5, 7, 8, 9 omitted).
        """
        flags = 0
        if ttl is not None:
            flags |= _REPLY_TTL
        if tcp_flags is not None:
            return cls(reply_from, rx, ipid, ttl, flags | _REPLY_TCP,
                       reply_tcp_flags=tcp_flags)
        return cls(reply_from, rx, ipid, ttl, flags, icmp_type, icmp_code,
                   reply_icmp_exts=tuple(icmp_exts) if icmp_exts else None,
                   reply_icmp_q_ttl=icmp_q_ttl, reply_icmp_q_tos=icmp_q_tos)


@dataclass(frozen=True, slots=True)
class TracelbProbe:
    """scamper_tracelb_probe_t: one probe and its replies (``rxs``)."""

    tx: Timeval | None = None
    flowid: int | None = None
    ttl: int | None = None
    attempt: int | None = None
    rxs: tuple[TracelbReply, ...] = ()

    @classmethod
    def build(cls, tx: Timeval, flowid: int, ttl: int, attempt: int,
              rxs: Sequence[TracelbReply] = ()) -> TracelbProbe:
        """A probe as scamper writes it (all five flags)."""
        return cls(tx, flowid, ttl, attempt, tuple(rxs))


@dataclass(frozen=True, slots=True)
class TracelbProbeset:
    """scamper_tracelb_probeset_t: the probes sent at one hop of a link."""

    probes: tuple[TracelbProbe, ...] = ()


@dataclass(frozen=True, slots=True)
class TracelbNode:
    """scamper_tracelb_node_t, without its links (see :meth:`Tracelb.node_links`)."""

    addr: Address | None = None
    flags: int | None = None
    q_ttl: int | None = None
    name: str | None = None

    @property
    def has_q_ttl(self) -> bool:
        return bool((self.flags or 0) & _NODE_QTTL)

    @classmethod
    def build(cls, addr: Address | None, q_ttl: int | None = None,
              name: str | None = None) -> TracelbNode:
        """A node as scamper writes it: flags always, q_ttl only with QTTL."""
        if q_ttl is None:
            return cls(addr, 0, None, name)
        return cls(addr, _NODE_QTTL, q_ttl, name)


@dataclass(frozen=True, slots=True)
class TracelbLink:
    """scamper_tracelb_link_t.

    ``from_`` and ``to`` are indexes into :attr:`Tracelb.nodes` (``to`` None:
    the link ends in unresponsive hops); ``sets`` holds one probeset per hop
    (scamper's ``hopc`` is its length).
    """

    from_: int
    to: int | None = None
    sets: tuple[TracelbProbeset, ...] = ()


@dataclass(frozen=True, slots=True)
class Tracelb:
    """scamper_tracelb_t.  Parameters are None when absent on the wire.

    ``wait_timeout`` is in seconds and ``wait_probe`` in centiseconds, as
    stored.  Build records to write with :meth:`build`.
    """

    OBJ_TYPE: ClassVar[int] = OBJ_TRACELB

    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    userid: int | None = None
    src: Address | None = None
    dst: Address | None = None
    rtr: Address | None = None
    start: Timeval | None = None
    sport: int | None = None
    dport: int | None = None
    probe_size: int | None = None
    type: int | None = None
    firsthop: int | None = None
    wait_timeout: int | None = None
    wait_probe: int | None = None
    attempts: int | None = None
    confidence: int | None = None
    tos: int | None = None
    gaplimit: int | None = None
    probec: int | None = None
    probec_max: int | None = None
    flags: int | None = None
    errmsg: str | None = None
    nodes: tuple[TracelbNode, ...] = ()
    links: tuple[TracelbLink, ...] = ()

    def node_links(self) -> builtins.list[builtins.list[TracelbLink]]:
        """For each node, the links leaving it in file order (scamper's
        ``node->links``, rebuilt the way its reader does)."""
        out: builtins.list[builtins.list[TracelbLink]] = [[] for _ in self.nodes]
        for link in self.links:
            out[link.from_].append(link)
        return out

    def node_addr(self, i: int | None) -> Address | None:
        return self.nodes[i].addr if i is not None else None

    @classmethod
    def build(cls, *, src: Address, dst: Address, start: Timeval, type: int,
              sport: int, dport: int, probe_size: int, firsthop: int,
              wait_timeout: int, wait_probe: int, attempts: int, confidence: int,
              tos: int, gaplimit: int, probec: int, probec_max: int,
              nodes: Sequence[TracelbNode] = (), links: Sequence[TracelbLink] = (),
              list: ListInfo | None = None, cycle: CycleInfo | None = None,
              userid: int = 0, flags: int = 0, rtr: Address | None = None,
              errmsg: str | None = None) -> Tracelb:
        """A record as scamper 20260420's writer emits it.

        That writer always writes flags 1, 2 and 5-22, and omits userid and
        flags when 0, rtr and errmsg when unset (those become None here).
        ``wait_timeout`` is whole seconds, ``wait_probe`` centiseconds.
        Nodes and links should follow scamper's order (nodes in discovery
        order, links sorted by from/to node).
        """
        return cls(list=list, cycle=cycle, userid=userid or None, src=src, dst=dst,
                   rtr=rtr, start=start, sport=sport, dport=dport,
                   probe_size=probe_size, type=type, firsthop=firsthop,
                   wait_timeout=wait_timeout, wait_probe=wait_probe,
                   attempts=attempts, confidence=confidence, tos=tos,
                   gaplimit=gaplimit, probec=probec, probec_max=probec_max,
                   flags=flags or None, errmsg=errmsg, nodes=tuple(nodes),
                   links=tuple(links))
