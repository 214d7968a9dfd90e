"""What a trace does with a reply: scamper's handleicmp_* / handletp_*.

A mixin of :class:`~.task.TraceTask`.  A matched reply is dispatched by the
trace's mode (:meth:`ReplyHandling._dispatch_icmp`,
:meth:`ReplyHandling._dispatch_tcp`); in MODE_TRACE the working hop moves on
to ttl+1 on its answer, unless ``-Q`` (every attempt is sent) or ``-c``
(``k(n)`` probes for ``n`` distinct interfaces seen, scamper's confidence
table) asks for more.  Late replies for earlier hops are recorded and can
stop the trace too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from warts.types.trace import TraceReply, TraceStop

from ...engine.packets import Reply
from .modes import PMTUD_MODES, Mode
from .records import SentProbe, icmp_hop, tcp_hop
from .stop import StopRules

if TYPE_CHECKING:
    from .parallel import Parallel
    from .pmtud import Pmtud
    from .task import TraceTask

_PARALLEL_MODES = frozenset((Mode.PARALLEL, Mode.PARALLEL_FINISH))
# probes whose replies handleicmp_trace() takes
_TRACE_PROBE_MODES = frozenset((Mode.TRACE, Mode.DTREE_FWD, Mode.DTREE_BACK))

# k(n): probes to send at one hop to rule out, at 95% / 99% confidence, a
# load balancer with more than n next hops (scamper's k() table; rows n=2..25).
CONFIDENCE_K = {
    95: (6, 11, 16, 21, 27, 33, 38, 44, 51, 57, 63, 70, 76, 83, 90, 96, 103, 110, 117,
         124, 131, 138, 145, 152),
    99: (8, 15, 21, 28, 36, 43, 51, 58, 66, 74, 82, 90, 98, 106, 115, 123, 132, 140,
         149, 157, 166, 175, 183, 192),
}
CONFIDENCE_MAX_N = 25


class ReplyHandling(StopRules):
    """Reply handling of a trace (mixed into :class:`~.task.TraceTask`)."""

    mode: Mode
    para: Parallel | None
    pmtud: Pmtud | None
    ttl: int
    attempt: int
    back: bool
    allattempts: bool
    conf_ifaces: set[bytes]
    conf_n: int
    tcp_dl: bool

    if TYPE_CHECKING:
        # provided by TraceTask: queueing the next probe, ending the phase
        def queue(self, now: int) -> None: ...
        def next_mode(self, now: int) -> None: ...

    # -- confidence ------------------------------------------------------------

    def conf_k(self) -> int:
        return CONFIDENCE_K[self.cmd.confidence][self.conf_n - 2]

    def conf_add(self, addr: bytes) -> None:
        """conf_iface_add(): each new interface after the first raises n."""
        if addr in self.conf_ifaces:
            return
        self.conf_ifaces.add(addr)
        if len(self.conf_ifaces) > 1:
            self.conf_n += 1

    def conf_reset(self) -> None:
        self.conf_ifaces.clear()
        self.conf_n = 2

    # -- dispatch by mode --------------------------------------------------------

    def _dispatch_icmp(self, r: Reply, tp: SentProbe, now: int) -> None:
        if self.para is not None and self.mode in _PARALLEL_MODES:
            self.para.handle_icmp(cast("TraceTask", self), r, tp, now)
        elif self.mode == Mode.TRACE:
            self._handleicmp_trace(r, tp, now)
        elif self.mode == Mode.LASTDITCH:
            if tp.mode in (Mode.TRACE, Mode.LASTDITCH):
                tp.replies.append(icmp_hop(r, tp, now, self.tcp_dl))
            if tp.mode == Mode.LASTDITCH:
                self.stop(TraceStop.GAPLIMIT, 0)
                self.done = True
        elif self.mode in PMTUD_MODES and self.pmtud is not None:
            self.pmtud.handle_icmp(cast("TraceTask", self), r, tp, now)

    def _dispatch_tcp(self, r: Reply, tp: SentProbe, now: int) -> None:
        if self.mode == Mode.TRACE:
            self._handletp_trace(r, tp, now)
        elif self.mode == Mode.LASTDITCH:
            if tp.mode not in (Mode.TRACE, Mode.LASTDITCH):
                return
            tp.replies.append(tcp_hop(r, tp, now))
            self.stop(TraceStop.GAPLIMIT if tp.mode == Mode.LASTDITCH
                       else TraceStop.COMPLETED, 0)
            self.done = True
        elif self.mode in PMTUD_MODES and self.pmtud is not None:
            self.pmtud.handle_tcp(cast("TraceTask", self), r, tp, now)

    def hop_answered(self, hop: TraceReply, now: int) -> bool:
        """Hook: the working hop has its answer (after -Q / -c).  Return True
        when a later mode took over (doubletree's backward probing, in
        :mod:`.dtree`); the plain trace goes on to the next hop."""
        return False

    # -- MODE_TRACE ----------------------------------------------------------------

    def _handleicmp_trace(self, r: Reply, tp: SentProbe, now: int) -> None:
        """handleicmp_trace()."""
        if tp.mode not in _TRACE_PROBE_MODES:
            return
        hop = icmp_hop(r, tp, now, self.tcp_dl)
        tp.replies.append(hop)
        if tp.ttl != self.ttl and not self.back:
            # a late reply for an earlier hop: recorded, and may stop the trace
            got = self.reason_to_stop(hop, tp.ttl)
            if got is not None:
                self.stop(*got)
                self.next_mode(now)
            return
        if self.allattempts:
            if tp.attempt != self.attempt:
                return  # out of order: keep waiting for the latest probe
            if self.attempt < self.cmd.attempts:
                self.queue(now)
                return
        elif self.cmd.confidence:
            self.conf_add(hop.addr.raw)
            if self.conf_n <= CONFIDENCE_MAX_N:
                if tp.attempt != self.attempt:
                    return
                if self.attempt < self.conf_k():
                    self.queue(now)
                    return
            self.conf_reset()
        self.attempt = 0
        if self.hop_answered(hop, now):
            return
        if self.back:
            if self.ttl > self.firsthop:
                self.ttl -= 1
                self.queue(now)
                return
            self.stop_process()
            self.next_mode(now)
            return
        self.ttl += 1
        if not self.cmd.confidence and not self.allattempts:
            got = self.reason_to_stop(hop, tp.ttl)
            if got is not None:
                self.stop(*got)
                self.next_mode(now)
                return
        elif self.check_hop_count():
            self.next_mode(now)
            return
        if self.hoplimit_reached():
            self.stop(TraceStop.HOPLIMIT, 0)
            self.next_mode(now)
            return
        self.queue(now)

    def _handletp_trace(self, r: Reply, tp: SentProbe, now: int) -> None:
        """handletp_trace(): the target answered a TCP probe."""
        if tp.mode != Mode.TRACE:
            return
        hop = tcp_hop(r, tp, now)
        tp.replies.append(hop)
        if self.allattempts:
            if tp.attempt != self.cmd.attempts:
                self.queue(now)
                return
        elif self.cmd.confidence:
            self.conf_add(hop.addr.raw)
            if self.conf_n <= CONFIDENCE_MAX_N and self.attempt < self.conf_k():
                self.queue(now)
                return
        if self.back:
            if self.ttl > self.firsthop:
                self.attempt = 0
                self.ttl -= 1
                self.queue(now)
                return
            self.stop_process()
            self.next_mode(now)
            return
        self.stop(TraceStop.COMPLETED, 0)
        self.next_mode(now)
