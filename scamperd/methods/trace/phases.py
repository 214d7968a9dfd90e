"""scamper's trace modes as objects: what a reply or a timeout does in each.

scamper_trace_do.c dispatches every matched reply and every expired wait on
the trace's mode, through arrays of handlers indexed by MODE_*
(do_trace_handle_icmp, _tp, _timeout).  :data:`BASE_PHASES` is that table:
one :class:`Phase` per mode, each acting on the :class:`~.state.TraceState`
through its public API.  Doubletree adds its modes in :mod:`.dtree`.

MODE_TRACE (:class:`TracePhase`): the working hop moves on to ttl+1 on its
answer, unless ``-Q`` (every attempt is sent) or ``-c`` (``k(n)`` probes for
``n`` distinct interfaces seen, scamper's confidence table) asks for more;
late replies for earlier hops are recorded and can stop the trace too.
After the last attempt times out the hop is given up, then the hop limit
and the gap limit are checked; with ``-G lastditch`` a dead path gets
``-q`` last-ditch probes at TTL 255 (:class:`LastditchPhase`).  PMTUD
(:mod:`.pmtud`) and ``-N`` (:mod:`.parallel`) keep their own state and
handlers, which their phases call.
"""

from __future__ import annotations

from collections.abc import Mapping

from warts.types.trace import TraceGapAction, TraceStop

from ...engine.packets import Reply
from .modes import Mode
from .records import SentProbe, icmp_hop, tcp_hop
from .state import CONFIDENCE_MAX_N, TraceState

# probes whose replies handleicmp_trace() takes
_TRACE_PROBE_MODES = frozenset((Mode.TRACE, Mode.DTREE_FWD, Mode.DTREE_BACK))


class Phase:
    """One mode's handlers; the default does nothing (scamper's NULL entry)."""

    def icmp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        """An ICMP reply matched probe ``tp``."""

    def tcp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        """The target answered TCP probe ``tp``."""

    def timeout(self, t: TraceState, now: int) -> None:
        """Every attempt at the working hop (or size) went unanswered."""

    def expired(self, t: TraceState, now: int) -> None:
        """do_trace_handle_timeout(): a wait ran out.  If the last probe has
        no answer and it was the last attempt, the phase's timeout runs."""
        if not t.sent:
            return
        tp = t.sent[-1]
        if tp.replies:
            return  # the wait was -W's; the next probe goes now
        limit = t.conf_k() if t.cmd.confidence else t.cmd.attempts
        if t.attempt == limit:
            t.attempt = 0
            self.timeout(t, now)


class TracePhase(Phase):
    """MODE_TRACE: handleicmp_trace, handletp_trace, timeout_trace."""

    def icmp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        """handleicmp_trace()."""
        if tp.mode not in _TRACE_PROBE_MODES:
            return
        hop = icmp_hop(r, tp, now, t.tcp_dl)
        tp.replies.append(hop)
        if tp.ttl != t.ttl and not t.back:
            # a late reply for an earlier hop: recorded, and may stop the trace
            got = t.reason_to_stop(hop, tp.ttl)
            if got is not None:
                t.stop(*got)
                t.next_mode(now)
            return
        if t.allattempts:
            if tp.attempt != t.attempt:
                return  # out of order: keep waiting for the latest probe
            if t.attempt < t.cmd.attempts:
                t.queue(now)
                return
        elif t.cmd.confidence:
            t.conf_add(hop.addr.raw)
            if t.conf_n <= CONFIDENCE_MAX_N:
                if tp.attempt != t.attempt:
                    return
                if t.attempt < t.conf_k():
                    t.queue(now)
                    return
            t.conf_reset()
        t.attempt = 0
        if t.hop_answered(hop, now):
            return
        if t.back:
            t.back_step(now)
            return
        t.ttl += 1
        if not t.cmd.confidence and not t.allattempts:
            got = t.reason_to_stop(hop, tp.ttl)
            if got is not None:
                t.stop(*got)
                t.next_mode(now)
                return
        elif t.check_hop_count():
            t.next_mode(now)
            return
        if t.hoplimit_reached():
            t.end(TraceStop.HOPLIMIT, now)
            return
        t.queue(now)

    def tcp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        """handletp_trace(): the target answered a TCP probe."""
        if tp.mode != Mode.TRACE:
            return
        hop = tcp_hop(r, tp, now)
        tp.replies.append(hop)
        if t.allattempts:
            if tp.attempt != t.cmd.attempts:
                t.queue(now)
                return
        elif t.cmd.confidence:
            t.conf_add(hop.addr.raw)
            if t.conf_n <= CONFIDENCE_MAX_N and t.attempt < t.conf_k():
                t.queue(now)
                return
        if t.back:
            t.back_step(now)
            return
        t.end(TraceStop.COMPLETED, now)

    def timeout(self, t: TraceState, now: int) -> None:
        """timeout_trace(): every attempt at this hop went unanswered."""
        t.conf_reset()
        if t.back:
            if t.ttl <= t.firsthop:
                t.end(TraceStop.COMPLETED, now)
                return
            t.ttl -= 1
            return
        t.ttl += 1
        if (t.allattempts or t.cmd.confidence) and t.check_hop_count():
            t.next_mode(now)
            return
        if t.hoplimit_reached():
            t.end(TraceStop.HOPLIMIT, now)
            return
        g = t.cmd.gaplimit
        if t.hop_count - (t.firsthop - 1) >= g:
            if any(t.has_reply(t.hop_count - i) for i in range(g)):
                return
            if int(t.cmd.gapaction) == TraceGapAction.LASTDITCH:
                t.lastditch = []
                t.mode = Mode.LASTDITCH
                t.ttl = 255
                return
            t.end(TraceStop.GAPLIMIT, now)


class LastditchPhase(Phase):
    """MODE_LASTDITCH: any answer ends the trace (GAPLIMIT, or COMPLETED for
    a late TCP answer to a trace probe); no answer ends it too."""

    def icmp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        if tp.mode in (Mode.TRACE, Mode.LASTDITCH):
            tp.replies.append(icmp_hop(r, tp, now, t.tcp_dl))
        if tp.mode == Mode.LASTDITCH:
            t.stop(TraceStop.GAPLIMIT, 0)
            t.done = True

    def tcp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        if tp.mode not in (Mode.TRACE, Mode.LASTDITCH):
            return
        tp.replies.append(tcp_hop(r, tp, now))
        t.stop(TraceStop.GAPLIMIT if tp.mode == Mode.LASTDITCH else TraceStop.COMPLETED, 0)
        t.done = True

    def timeout(self, t: TraceState, now: int) -> None:
        t.stop(TraceStop.GAPLIMIT, 0)  # no answer to any last-ditch probe
        t.done = True


class PmtudPhase(Phase):
    """The four PMTUD modes: :class:`~.pmtud.Pmtud` dispatches on the mode."""

    def icmp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        if t.pmtud is not None:
            t.pmtud.handle_icmp(t, r, tp, now)

    def tcp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        if t.pmtud is not None:
            t.pmtud.handle_tcp(t, r, tp, now)

    def timeout(self, t: TraceState, now: int) -> None:
        if t.pmtud is not None:
            t.pmtud.timeout(t, now)


class ParallelPhase(Phase):
    """MODE_PARALLEL and MODE_PARALLEL_FINISH: :class:`~.parallel.Parallel`
    decides what to send and when; scamper has no TCP handler here."""

    def icmp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        if t.para is not None:
            t.para.handle_icmp(t, r, tp, now)

    def expired(self, t: TraceState, now: int) -> None:
        if t.sent and t.para is not None:
            t.para.queue(t, now)


_PMTUD = PmtudPhase()
_PARALLEL = ParallelPhase()
BASE_PHASES: Mapping[Mode, Phase] = {
    Mode.TRACE: TracePhase(),
    Mode.LASTDITCH: LastditchPhase(),
    Mode.PMTUD_DEFAULT: _PMTUD,
    Mode.PMTUD_SILENT_L2: _PMTUD,
    Mode.PMTUD_SILENT_TTL: _PMTUD,
    Mode.PMTUD_BADSUGG: _PMTUD,
    Mode.PARALLEL: _PARALLEL,
    Mode.PARALLEL_FINISH: _PARALLEL,
}
