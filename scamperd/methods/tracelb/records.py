"""tracelb's warts record: what scamper stores for replies, probes, nodes
and links, and the record of a tracelb that failed inside scamperd."""

from __future__ import annotations

from typing import Any

from protocol.commands.tracelb import TracelbCommand
from warts.address import ADDR_IPV4, ADDR_IPV6, Address
from warts.types.tracelb import (
    Tracelb,
    TracelbLink,
    TracelbNode,
    TracelbProbe,
    TracelbProbeset,
    TracelbReply,
)
from warts.wire import IcmpExt

from ...engine.icmpext import parse_icmp_extensions
from ...engine.packets import Reply
from ...engine.task import NS_PER_US, timeval
from .graph import LbProbe, LbReply, Link, Node

US_PER_CS = 10_000


def _addr(raw: bytes) -> Address:
    return Address(ADDR_IPV6 if len(raw) == 16 else ADDR_IPV4, raw)


def icmp_reply(r: Reply, now: int) -> LbReply:
    """handleicmp_reply(): an ICMP reply as tracelb keeps it."""
    q = r.quote
    return LbReply(r.src, r.rx_ns or now, ipid=0 if r.v6 else r.ipid, ttl=r.ttl,
                   icmp_type=r.icmp_type, icmp_code=r.icmp_code,
                   q_ttl=q.ttl if q is not None else 0, q_tos=q.tos if q is not None else 0,
                   exts=r.exts)


def tcp_reply(r: Reply, now: int) -> LbReply:
    """handletcp_reply(): a TCP segment from the target."""
    return LbReply(r.src, r.rx_ns or now, ipid=0 if r.v6 else r.ipid, ttl=r.ttl, tcp=True,
                   tcp_flags=r.tcp_flags)


def _reply(r: LbReply) -> TracelbReply:
    rx = timeval(r.rx)
    if r.tcp:
        return TracelbReply.build(_addr(r.src), rx, r.ipid, ttl=r.ttl, tcp_flags=r.tcp_flags)
    exts = None
    if r.exts is not None:
        objs = parse_icmp_extensions(r.exts)
        exts = [IcmpExt(c, t, d) for c, t, d in objs] if objs else None
    return TracelbReply.build(_addr(r.src), rx, r.ipid, ttl=r.ttl, icmp_type=r.icmp_type,
                              icmp_code=r.icmp_code, icmp_q_ttl=r.q_ttl, icmp_q_tos=r.q_tos,
                              icmp_exts=exts)


def _probe(p: LbProbe) -> TracelbProbe:
    return TracelbProbe.build(timeval(p.tx), p.flowid, p.ttl, p.attempt,
                              [_reply(r) for r in p.rxs])


def _node(n: Node) -> TracelbNode:
    return TracelbNode.build(_addr(n.addr) if n.addr is not None else None,
                             n.q_ttl if n.qttl else None, n.name)


def graph_record(nodes: list[Node], links: list[Link]) -> tuple[tuple[TracelbNode, ...],
                                                                tuple[TracelbLink, ...]]:
    """The record's nodes (in discovery order) and links (in link order),
    links naming their nodes by index."""
    index = {id(n): i for i, n in enumerate(nodes)}
    out = []
    for link in links:
        to = index[id(link.to)] if link.to is not None else None
        sets = tuple(TracelbProbeset(tuple(_probe(p) for p in s)) for s in link.sets)
        out.append(TracelbLink(index[id(link.from_)], to, sets))
    return tuple(_node(n) for n in nodes), tuple(out)


def command_fields(cmd: TracelbCommand) -> dict[str, Any]:
    """The record's parameters that come from the command alone."""
    return dict(
        dst=_addr(cmd.dst.packed), type=int(cmd.method), sport=cmd.sport, dport=cmd.dport,
        probe_size=cmd.probe_size, firsthop=cmd.firsthop,
        wait_timeout=cmd.wait_timeout_us // 1_000_000,
        wait_probe=cmd.wait_probe_us // US_PER_CS, attempts=cmd.attempts,
        confidence=cmd.confidence, tos=cmd.tos, gaplimit=cmd.gaplimit,
        probec_max=cmd.probec_max, userid=cmd.userid, flags=int(cmd.flags),
        rtr=_addr(cmd.rtr.packed) if cmd.rtr is not None else None)


def failed_record(command: TracelbCommand, source: Any, errmsg: str, now: int) -> Tracelb:
    """The record of a tracelb that failed inside scamperd: nothing found,
    the error said.  The source address is not known without the task: the
    unspecified address stands for it (the record must carry one)."""
    return Tracelb.build(src=_addr(bytes(len(command.dst.packed))), start=timeval(now),
                         probec=0, errmsg=errmsg, list=getattr(source, "list_info", None),
                         cycle=getattr(source, "cycle_info", None), **command_fields(command))


__all__ = ["NS_PER_US", "command_fields", "failed_record", "graph_record", "icmp_reply",
           "tcp_reply"]
