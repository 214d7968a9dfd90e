"""Trace hop records: what scamper stores for a probe and each reply.

trace_icmp_hop() and trace_dl_hop() in scamper_trace_do.c, and the error
message of a failed send.  The state machine in :mod:`.task` decides when;
this module decides what is recorded.
"""

from __future__ import annotations

import builtins
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from protocol.commands.trace import TraceCommand
from warts.address import ADDR_IPV4, ADDR_IPV6, Address
from warts.types.trace import Trace, TraceProbe, TraceReply, TraceReplyFlag, TraceStop
from warts.wire import IcmpExt

from ...engine.icmpext import parse_icmp_extensions
from ...engine.packets import Reply
from ...engine.task import NS_PER_US, timeval
from .modes import Mode

RF = TraceReplyFlag


@dataclass(slots=True, eq=False)
class SentProbe:
    """trace_probe_t with its scamper_trace_probe_t: one probe sent."""

    pid: int
    ttl: int
    attempt: int      # scamper's probe->id: 1-based attempt at this ttl
    mode: Mode
    tx: int           # ns
    size: int
    replies: builtins.list[TraceReply] = field(default_factory=list)
    dl_rx: bool = False  # the datalink already saw an answer (TCP methods)
    dl_tx: bool = False  # the datalink saw it leave; tx is that time (-M, -O dl)
    dl_rxts: bool = False  # the datalink is open (-r, -o, -O dl) and times replies

    def record(self) -> TraceProbe:
        return TraceProbe(self.ttl, self.attempt, self.size, timeval(self.tx),
                          tuple(self.replies))


def rtt_us(tp: SentProbe, r: Reply, now: int) -> int:
    """timeval_diff_tv(tx, rx) in microseconds, both truncated as
    gettimeofday() gives them."""
    rx = r.rx_ns or now
    return max(rx // NS_PER_US - tp.tx // NS_PER_US, 0)


def icmp_hop(r: Reply, tp: SentProbe, now: int, tcp_method: bool) -> TraceReply:
    """trace_icmp_hop()."""
    flags = int(RF.REPLY_TTL)
    if tp.dl_tx:
        # the datalink saw the probe leave (-O dl, -M's trace phase): its
        # time is the probe's (dlout_apply).  The reply is the socket's
        # until the datalink's copy of it arrives (:func:`dl_seen`).
        flags |= RF.TS_DL_TX | RF.TS_SOCK_RX
    elif tcp_method or tp.dl_rxts:
        # TCP traces read scamper's datalink, whose receive time wins, as
        # with -r.  (It sends on that datalink too, but Linux does not loop
        # a packet socket's own sends back to it, so no TS_DL_TX: measured
        # against Debian's scamper in the test bed.)
        flags |= RF.TS_DL_RX
    else:
        flags |= RF.TS_SOCK_RX
    q = r.quote
    exts = None
    if r.exts is not None:
        objs = parse_icmp_extensions(r.exts)
        exts = tuple(IcmpExt(c, t, d) for c, t, d in objs) if objs else None
    return TraceReply(
        Address(ADDR_IPV6 if r.v6 else ADDR_IPV4, r.src), ttl=r.ttl, flags=int(flags),
        rtt=rtt_us(tp, r, now), icmp_type=r.icmp_type, icmp_code=r.icmp_code,
        size=r.size, ipid=None if r.v6 else r.ipid, tos=r.tos,
        icmp_nhmtu=r.icmp_nhmtu if r.is_ptb() else None,
        icmp_q_ipl=q.size if q is not None else None,
        icmp_q_ttl=q.ttl if q is not None else None,
        icmp_q_tos=q.tos if q is not None else None, icmp_exts=exts)


def dl_seen(tp: SentProbe) -> None:
    """dlin_trace(): the datalink's copy of the first reply to a probe it saw
    leave arrives after the socket's, and its time replaces the socket's.
    scamper handles it only while the trace runs, so the reply that ends a
    trace keeps TS_SOCK_RX (measured against Debian's scamper, -O dl)."""
    if not tp.replies or tp.dl_rx:
        return
    tp.dl_rx = True
    first = tp.replies[0]
    flags = ((first.flags or 0) & ~RF.TS_SOCK_RX) | RF.TS_DL_RX
    tp.replies[0] = dataclasses.replace(first, flags=int(flags))


def tcp_hop(r: Reply, tp: SentProbe, now: int) -> TraceReply:
    """trace_dl_hop() for a TCP segment from the target."""
    flags = RF.REPLY_TTL | RF.TS_DL_RX | RF.TCP
    return TraceReply(
        Address(ADDR_IPV6 if r.v6 else ADDR_IPV4, r.src), ttl=r.ttl, flags=int(flags),
        rtt=rtt_us(tp, r, now), size=r.size, ipid=None if r.v6 else r.ipid,
        tos=r.tos, tcp_flags=r.tcp_flags)


def is_unreach(hop: TraceReply) -> bool:
    t = hop.icmp_type_eff
    return t == 1 if hop.addr.atype == ADDR_IPV6 else t == 3


def is_unreach_port(hop: TraceReply) -> bool:
    if not is_unreach(hop):
        return False
    return (hop.icmp_code or 0) == (4 if hop.addr.atype == ADDR_IPV6 else 3)


def named(probe: TraceProbe, names: dict[bytes, str | None]) -> TraceProbe:
    """``probe`` with the PTR names known so far in its replies (-O ptr)."""
    if not names or all(names.get(r.addr.raw) is None for r in probe.replies):
        return probe
    return dataclasses.replace(probe, replies=tuple(
        r if (name := names.get(r.addr.raw)) is None else dataclasses.replace(r, name=name)
        for r in probe.replies))


def command_fields(cmd: TraceCommand) -> dict[str, Any]:
    """Trace.build's arguments that are the command's options."""
    atype = ADDR_IPV6 if cmd.dst.version == 6 else ADDR_IPV4
    return {
        "dst": Address(atype, cmd.dst.packed),
        "rtr": Address(atype, cmd.rtr.packed) if cmd.rtr is not None else None,
        "userid": cmd.userid, "type": int(cmd.method), "attempts": cmd.attempts,
        "hoplimit": cmd.hoplimit, "squeries": cmd.squeries, "gaplimit": cmd.gaplimit,
        "gapaction": int(cmd.gapaction), "tos": cmd.tos,
        "wait_timeout": cmd.wait_timeout_us // 1_000_000,
        "wait_probe": cmd.wait_probe_us // 10_000, "loops": cmd.loops,
        "confidence": cmd.confidence, "probe_size": cmd.probe_size, "dport": cmd.dport,
        "offset": cmd.offset,
    }


def failed_record(cmd: TraceCommand, source: Any, errmsg: str, now: int) -> Trace:
    """A trace that stopped with ERROR before sending anything."""
    atype = ADDR_IPV6 if cmd.dst.version == 6 else ADDR_IPV4
    return Trace.build(
        src=Address(atype, cmd.src.packed) if cmd.src is not None else None,
        list=getattr(source, "list_info", None), cycle=getattr(source, "cycle_info", None),
        start=timeval(now), stop_reason=TraceStop.ERROR, flags=int(cmd.flags),
        firsthop=cmd.firsthop, sport=cmd.sport, errmsg=errmsg, **command_fields(cmd))
