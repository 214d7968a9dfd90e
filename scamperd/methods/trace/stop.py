"""Why and when a trace stops: scamper's trace_stop*() rules.

A mixin of :class:`~.task.TraceTask` (it reads the task's state and sets its
stop reason) kept apart from the probing and reply handling.  Every reply is
checked for a reason to stop in scamper's precedence
(:meth:`StopRules.reason_tostop`); the first reason set is kept
(:meth:`StopRules.stop`).  ``-O back`` and ``-N`` settle the reason at the
end by scanning the hops from ``firsthop`` up (:meth:`StopRules.stop_process`).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator

from protocol.commands.trace import TraceCommand
from warts.types.trace import TraceFlag, TraceReply, TraceStop

from ...engine.senderr import SendError
from .probes import ICMP_TYPES, TCP_TYPES, UDP_TYPES
from .records import SentProbe, is_unreach, is_unreach_port


class StopRules:
    """The stop rules of a trace (mixed into :class:`~.task.TraceTask`)."""

    # the TraceTask state these rules read and write
    cmd: TraceCommand
    method: int
    flags: int
    v6: bool
    dst: bytes
    firsthop: int
    hop_count: int
    hops: dict[int, builtins.list[SentProbe]]
    loopc: int
    loop_prior: bool
    stop_reason: TraceStop
    stop_data: int
    stop_hop: int
    errmsg: str | None
    done: bool

    def stop(self, reason: TraceStop, data: int) -> None:
        """trace_stop(): the first reason set is kept."""
        if self.stop_reason == TraceStop.NONE:
            self.stop_reason = reason
            self.stop_data = data

    def stop_error(self, err: SendError) -> None:
        """trace_handleerror(): the send failed (the engine's message)."""
        if self.stop_reason == TraceStop.NONE:
            self.stop_reason = TraceStop.ERROR
            self.stop_data = (err.errno or 0) & 0xFF
            self.errmsg = err.message
        self.done = True

    def reason_to_stop(self, hop: TraceReply, ttl: int) -> tuple[TraceStop, int] | None:
        """trace_stop_reason(): a reason this reply stops the trace, in
        scamper's precedence."""
        m = self.method
        if hop.is_icmp and is_unreach_port(hop) and (m in UDP_TYPES or m in TCP_TYPES):
            return TraceStop.COMPLETED, 0
        if hop.is_icmp and is_unreach(hop):
            return TraceStop.UNREACH, hop.icmp_code or 0
        if hop.is_icmp_echo_reply:
            if m in ICMP_TYPES:
                return TraceStop.COMPLETED, 0
            return None
        if self.v6 and hop.icmp_type_eff == 2:
            return TraceStop.ICMP, 2
        if self.cmd.loops != 0 and self._isloop(hop, ttl):
            return TraceStop.LOOP, 0
        if hop.is_icmp_ttl_exp and not self.flags & TraceFlag.IGNORETTLDST \
                and hop.addr.raw == self.dst:
            return TraceStop.COMPLETED, 0
        if m in TCP_TYPES and hop.is_tcp:
            return TraceStop.COMPLETED, 0
        return None

    def replies_at(self, ttl: int) -> Iterator[TraceReply]:
        for p in self.hops.get(ttl, ()):
            yield from p.replies

    def _isloop(self, hop: TraceReply, ttl: int) -> bool:
        """trace_isloop(): the address turns up again beyond an adjacent hop."""
        if ttl <= self.firsthop:
            return False
        for tmp in self.replies_at(ttl):
            if tmp is hop:
                break
            if tmp.addr == hop.addr:
                return False  # already checked at this hop
        last_hop = ttl if self.loop_prior else self.hop_count
        for i in range(self.firsthop, last_hop + 1):
            if i == ttl:
                continue
            for tmp in self.replies_at(i):
                if tmp.addr == hop.addr:
                    if i + 1 == ttl or i - 1 == ttl:
                        return False
                    self.loopc += 1
                    return self.loopc >= self.cmd.loops
        return False

    def check_hop_count(self) -> bool:
        """Stop on any reply at the hop just finished (-Q and -c look at all)."""
        for hop in list(self.replies_at(self.hop_count)):
            got = self.reason_to_stop(hop, self.hop_count)
            if got is not None:
                self.stop(*got)
                return True
        return False

    def hoplimit_reached(self) -> bool:
        return (self.cmd.hoplimit or 255) <= self.hop_count

    def stop_process(self) -> None:
        """trace_stop_process(): -O back decides the stop reason at the end,
        scanning every hop from firsthop up."""
        self.loopc = 0
        self.loop_prior = True
        for ttl in sorted(t for t in self.hops if t >= self.firsthop):
            for hop in list(self.replies_at(ttl)):
                got = self.reason_to_stop(hop, ttl)
                if got is not None:
                    if self.hop_count > ttl:
                        self.stop_reason, self.stop_data = got
                        if self.cmd.squeries > 1:
                            self.stop_hop = ttl
                    break
            else:
                continue
            break
        if self.stop_reason == TraceStop.NONE:
            g = self.cmd.gaplimit
            if self.hop_count - (self.firsthop - 1) >= g and \
                    not any(self.has_reply(self.hop_count - i) for i in range(g)):
                self.stop_reason = TraceStop.GAPLIMIT
            if self.stop_reason == TraceStop.NONE:
                self.stop_reason = TraceStop.HOPLIMIT

    def has_reply(self, ttl: int) -> bool:
        return any(p.replies for p in self.hops.get(ttl, ()))
