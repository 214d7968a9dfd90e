"""Forwarding in a fake network: what comes back for a packet sent, and when.

Theory of operation
-------------------
:meth:`FakeNetwork.transmit` walks one probe along its route (topology.py),
as routers would forward it, and returns the replies that reach the prober
with their arrival times.  It is pure: no trio, no clock of its own, only
the send time it is given and the per-node state the walk changes (IP-ID
counters, loss draws), so the same probes sent in the same order give the
same replies.

At each stage the node before it (the prober first) picks the next node
(its balancer: ECMP).  On the link into that node the probe may be too big
(the node before answers fragmentation needed / packet too big with the
link's MTU, quoting the probe as it arrived there, as Linux's ip_forward
checks the MTU before it decrements the TTL) or lost.  A node that is not
the destination forwards with the TTL decremented, or answers time
exceeded when the TTL is spent, from the address of the interface the
probe came in by.  The destination answers as a host: echo reply, port
unreachable for UDP, SYN-ACK or reset for TCP.  A host keeps the path MTU a
packet too big tells it (ping -M sends one), and fragments a reply bigger
than that, as Linux does.

Replies travel back over the same links: a reply from the node at depth
``d`` (``d`` routers before it) arrives after twice the one-way delays of
the links up to it, with TTL ``node.ttl - d``.  Replies are built and
parsed as real packets (forge.py), quoting the probe as it arrived.
"""

from __future__ import annotations

import errno
import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ..packetio import checked_ifmtu
from ..packets import Quote, read_probe
from . import forge
from .behaviour import BALANCERS, IPID, Balancer, IpidSource, Loss, seeded
from .topology import Iface, Node, Route, Topology

US = 1000  # ns


@dataclass(frozen=True, slots=True)
class Arrival:
    """A packet reaching the prober: when, what, on which interface.

    ``packet`` is the whole packet, as the raw sockets get it (after
    reassembly); ``wire`` holds its fragments, first first, when it came in
    fragments, as the datalink sees them (empty: it came whole).
    """

    rx_ns: int
    packet: bytes
    ifindex: int
    wire: tuple[bytes, ...] = ()


# A reply on its way back: (one-way delay in ns, packet, its fragments)
_Out = tuple[int, bytes, tuple[bytes, ...]]

# The smallest path MTU a host takes from a packet too big (Linux:
# net.ipv4.route.min_pmtu's default 552; IPv6's minimum link MTU, RFC 8200 5)
MIN_PMTU = {False: 552, True: 1280}


class _NodeState:
    """What a node remembers between packets."""

    def __init__(self, node: Node, seed: int) -> None:
        self.ipid: IpidSource = IPID[node.ipid](seeded(seed, node.name, "ipid"))
        self.balancer: Balancer = BALANCERS[node.balancer](seed, node.name)
        self.loss = Loss(node.loss, seeded(seed, node.name, "loss"))
        self.isn = seeded(seed, node.name, "isn")
        # a host's path MTUs, learned from packets too big (RFC 1191, 8201),
        # and its IPv6 fragment identifications
        self.pmtu: dict[bytes, int] = {}
        self.frag_id = seeded(seed, node.name, "fragid")
        self.frag_counter = self.frag_id.randrange(1 << 32) if node.fragid == "counter" else None

    def next_frag_id(self) -> int:
        if self.frag_counter is None:
            return self.frag_id.randrange(1 << 32)
        self.frag_counter = (self.frag_counter + 1) & 0xFFFFFFFF
        return self.frag_counter


def _packed(addr: str) -> bytes:
    return ipaddress.ip_address(addr).packed


class FakeNetwork:
    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.nodes = dict(topology.nodes)
        self._ifaces = {i.name: i for i in topology.ifaces}
        self._by_index = {i.index: i.name for i in topology.ifaces}
        self._ours = {_packed(a) for i in topology.ifaces for a in i.addrs}
        self._owner = {_packed(a): n.name for n in topology.nodes.values() for a in n.addrs()}
        # longest prefix first
        self._routes = sorted(((r.network(), r) for r in topology.routes),
                              key=lambda nr: -nr[0].prefixlen)
        self._unroutable = [(ipaddress.ip_network(p), e) for p, e in topology.unroutable]
        self._state: dict[str, _NodeState] = {}
        self.sent = 0

    # -- the host's view: sources, interfaces ---------------------------------------

    def route(self, dst: bytes) -> Route | None:
        a = ipaddress.ip_address(dst)
        for net, r in self._routes:
            if a.version == net.version and a in net:
                return r
        return None

    def _out_iface(self, dst: bytes) -> Iface:
        a = ipaddress.ip_address(dst)
        for net, e in self._unroutable:
            if a.version == net.version and a in net:
                raise OSError(e, os.strerror(e))
        r = self.route(dst)
        if r is None:
            raise OSError(errno.ENETUNREACH, os.strerror(errno.ENETUNREACH))
        return self._ifaces[r.iface]

    def src_for(self, dst: bytes) -> bytes:
        iface = self._out_iface(dst)
        for a in iface.addrs:
            p = _packed(a)
            if len(p) == len(dst):
                return p
        raise OSError(errno.EADDRNOTAVAIL, os.strerror(errno.EADDRNOTAVAIL))

    def local_error(self, src: bytes) -> OSError | None:
        if src in self._ours:
            return None
        return OSError(errno.EADDRNOTAVAIL, os.strerror(errno.EADDRNOTAVAIL))

    def ifmtu_for(self, dst: bytes) -> int:
        return checked_ifmtu(self._out_iface(dst).mtu)

    def ifname(self, ifindex: int) -> str | None:
        return self._by_index.get(ifindex)

    # -- forwarding -------------------------------------------------------------------

    def state(self, node: Node) -> _NodeState:
        st = self._state.get(node.name)
        if st is None:
            st = self._state[node.name] = _NodeState(node, self.topology.seed)
        return st

    def transmit(self, pkt: bytes, tx: int) -> list[Arrival]:
        """Send ``pkt`` at ``tx`` (ns): the replies that will reach us.
        OSError for a packet the kernel would not send (too big for the
        interface, no route)."""
        v = read_probe(pkt)
        iface = self._out_iface(v.dst)
        if v.size > iface.mtu and v.df:
            raise OSError(errno.EMSGSIZE, os.strerror(errno.EMSGSIZE))
        route = self.route(v.dst)
        assert route is not None
        self.sent += 1
        replies = self._walk(v, pkt, route)
        return [Arrival(tx + 2 * delay, out, iface.index, wire) for delay, out, wire in replies
                if read_probe(out).dst in self._ours]

    def _walk(self, v: Quote, pkt: bytes, route: Route) -> list[_Out]:
        """(one-way delay, reply) for what the probe draws along ``route``."""
        owner = self._owner.get(v.dst)
        prev: Node | None = None
        prev_in = "vp"   # the interface the probe came into ``prev`` by
        ttl = v.ttl      # as it arrives at the next node
        delay = 0
        depth = 0
        stages = list(route.stages)
        if owner is not None and not any(owner in s for s in stages):
            stages.append((owner,))
        elif owner is None:
            if not route.hosts:
                stages.append(())
            else:
                host = route.host or Node(f"host-{ipaddress.ip_address(v.dst)}")
                self.nodes.setdefault(host.name, host)
                owner = host.name
                stages.append((owner,))
        for stage in stages:
            if not stage:
                return []
            if owner in stage:
                name = owner
            elif len(stage) == 1:
                name = stage[0]
            else:
                chooser = self.state(prev).balancer if prev is not None else None
                name = chooser.choose(v, stage) if chooser else stage[0]
            node = self.nodes[name]
            if v.size > node.mtu and v.df and prev is not None:
                quote = forge.with_ttl(pkt, ttl + 1)
                err = self._error(prev, prev_in, depth - 1, quote,
                                  partial(forge.too_big, mtu=node.mtu))
                return [(delay, err, ())] if err else []
            delay += node.delay_us * US
            if self.state(node).loss.drops():
                return []
            if name == owner:
                return self._answer(node, depth, delay, forge.with_ttl(pkt, ttl), v)
            if ttl <= 1:
                if node.silent:
                    return []
                err = self._error(node, prev.name if prev else "vp", depth,
                                  forge.with_ttl(pkt, ttl), forge.time_exceeded)
                return [(delay, err, ())] if err else []
            prev, prev_in = node, prev.name if prev else "vp"
            ttl -= 1
            depth += 1
        return []

    def _error(self, node: Node, inbound: str, depth: int, quote: bytes,
               build: Callable[..., bytes]) -> bytes | None:
        """An ICMP error from ``node``, from the address of the interface the
        quoted packet came in by (else its first of the family)."""
        v6 = quote[0] >> 4 == 6
        size = 16 if v6 else 4
        cands = [*node.ifaces.get(inbound, ()), *node.addrs()]
        frm = next((p for p in map(_packed, cands) if len(p) == size), None)
        if frm is None:
            return None
        st = self.state(node)
        return build(frm, quote, ttl=node.ttl - depth, ipid=0 if v6 else st.ipid.next())

    def _answer(self, node: Node, depth: int, delay: int, arrived: bytes,
                v: Quote) -> list[_Out]:
        """What the destination sends back to ``arrived``, addressed to it:
        in fragments when it is bigger than the path MTU the host learned
        towards us (what ping -M and -O tbt make it learn)."""
        st = self.state(node)
        learned = forge.learned_mtu(arrived)
        if learned is not None:
            towards, mtu = learned
            st.pmtu[towards] = max(mtu, MIN_PMTU[v.v6])
            return []
        ipid = 0 if v.v6 else st.ipid.next()
        out = forge.host_answer(arrived, node.tcp_open, st.isn, ttl=node.ttl - depth, ipid=ipid)
        if out is None:
            return []
        pmtu = st.pmtu.get(v.src)
        if pmtu is None or len(out) <= pmtu:
            return [(delay, out, ())] * (2 if node.duplicate else 1)
        ident = st.next_frag_id() if v.v6 else 0  # IPv4 keeps its IP-ID
        return [(delay, out, tuple(forge.fragments(out, pmtu, ident)))]
