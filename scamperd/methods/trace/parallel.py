"""-N: probing up to ``squeries`` hops at once (scamper's MODE_PARALLEL).

Theory of operation
-------------------
scamper_trace_do.c keeps a *window* of hops with a probe outstanding, in
send order, a *probe queue* of hops due another attempt, and (with ``-H``) a
heap of hops resting until ``-H`` has passed since their last probe.  Each
time the trace is queued (:meth:`Parallel.queue`, trace_queue_parallel):

1. hops whose ``-H`` rest is over move to the probe queue;
2. window hops whose ``-w`` wait has passed with no answer go back on the
   probe queue, or, after their last attempt, are given up (and push the
   lower ``bounds`` of the window up);
3. a queued hop, or else a new TTL while the window is open
   (``ttl - bounds <= squeries``, ``ttl - max_ttl <= gaplimit``, the hop
   limit), is probed; with nothing outstanding the gap limit and hop limit
   are checked; otherwise the trace waits for the earliest deadline.

A reply takes its hop out of the window (back onto the probe queue for
``-Q``) and may stop the trace; outstanding hops are then still waited for
(MODE_PARALLEL_FINISH).  The stop reason and ``stop_hop`` are settled when
the record is written (trace_stop_process).
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from protocol.commands.trace import TraceCommand
from warts.types.trace import TraceReply, TraceStop

from ...engine.packets import Reply
from .modes import Mode
from .records import SentProbe, icmp_hop


class ParallelTrace(Protocol):
    """What -N reads and drives of a trace (its TraceState)."""

    cmd: TraceCommand
    back: bool
    allattempts: bool
    ttl: int
    firsthop: int
    mode: Mode
    stop_reason: TraceStop
    wait_timeout_ns: int

    def queue_probe(self, now: int) -> None: ...
    def wait(self, t: int) -> None: ...
    def next_mode(self, now: int) -> None: ...
    def stop(self, reason: TraceStop, data: int) -> None: ...
    def end(self, reason: TraceStop, now: int) -> None: ...
    def stop_process(self) -> None: ...
    def has_reply(self, ttl: int) -> bool: ...
    def hoplimit_reached(self) -> bool: ...
    def reason_to_stop(self, hop: TraceReply, ttl: int) -> tuple[TraceStop, int] | None: ...


@dataclass(slots=True, eq=False)
class HopState:
    """trace_hop_state_t: one hop being probed."""

    ttl: int
    attempt: int = 0
    pid: int = -1        # the id of its latest probe
    last_tx: int = 0


class Parallel:
    """trace_para_state_t and the MODE_PARALLEL handlers."""

    def __init__(self, t: ParallelTrace) -> None:
        self.window: list[HopState] = []
        self.probeq: deque[HopState] = deque()
        self.hopwait: list[tuple[int, int, HopState]] | None = \
            [] if t.cmd.wait_probe_hop_us else None
        self.wait_probe_hop_ns = t.cmd.wait_probe_hop_us * 1000
        self.max_ttl = 0
        self.bounds = t.cmd.hoplimit if t.back else 0
        self._seq = 0

    def empty(self) -> bool:
        """trace_parallel_isempty()."""
        return not (self.probeq or self.window or self.hopwait)

    def next_ttl(self, t: ParallelTrace) -> int:
        """The TTL of the probe about to be sent: a queued hop, else a new one."""
        return self.probeq[0].ttl if self.probeq else t.ttl

    def sent(self, t: ParallelTrace, pid: int, tx: int) -> int:
        """do_trace_probe()'s bookkeeping; returns the probe's attempt number."""
        if self.probeq:
            hs = self.probeq.popleft()
        else:
            hs = HopState(t.ttl)
            t.ttl += -1 if t.back else 1
        self.window.append(hs)
        hs.last_tx = tx
        hs.attempt += 1
        hs.pid = pid
        return hs.attempt

    def _rest(self, hs: HopState, now: int) -> None:
        """A hop due another attempt: at once, or after -H."""
        if self.hopwait is None or hs.last_tx + self.wait_probe_hop_ns <= now:
            self.probeq.append(hs)
        else:
            self._seq += 1
            heapq.heappush(self.hopwait, (hs.last_tx, self._seq, hs))

    def queue(self, t: ParallelTrace, now: int) -> None:
        """trace_queue_parallel()."""
        cmd = t.cmd
        nxt: list[int] = []
        if self.hopwait is not None:
            while self.hopwait:
                at = self.hopwait[0][0] + self.wait_probe_hop_ns
                if at > now:
                    nxt.append(at)
                    break
                self.probeq.append(heapq.heappop(self.hopwait)[2])
        while self.window:
            hs = self.window[0]
            at = hs.last_tx + t.wait_timeout_ns
            if at > now:
                nxt.append(at)
                break
            self.window.pop(0)
            if hs.attempt < cmd.attempts:
                self.probeq.append(hs)
                continue
            if not t.back:
                self.bounds = max(self.bounds, hs.ttl)
            elif 1 < hs.ttl < self.bounds:
                self.bounds = hs.ttl - 1
        if self.probeq:
            t.queue_probe(now)
            return
        empty = self.empty()
        if t.mode == Mode.PARALLEL:
            if not t.back:
                if t.ttl <= (cmd.hoplimit or 255) and t.ttl - self.bounds <= cmd.squeries \
                        and t.ttl - self.max_ttl <= cmd.gaplimit:
                    t.queue_probe(now)
                    return
            elif t.ttl >= t.firsthop and self.bounds - t.ttl < cmd.squeries:
                t.queue_probe(now)
                return
        elif empty:
            if t.back:
                t.stop_process()
            t.next_mode(now)
            return
        if not t.back and empty:
            g = cmd.gaplimit
            if self.bounds - (t.firsthop - 1) >= g and \
                    not any(t.has_reply(self.bounds - i) for i in range(g)):
                t.end(TraceStop.GAPLIMIT, now)
                return
            if t.hoplimit_reached():
                t.end(TraceStop.HOPLIMIT, now)
                return
        elif t.back and empty and t.ttl <= t.firsthop:
            t.stop_process()
            t.next_mode(now)
            return
        if not nxt:
            # nothing outstanding and nothing to send (scamper asserts this
            # cannot happen); end rather than wait forever
            t.next_mode(now)
            return
        at = min(nxt)
        if at <= now:
            t.queue_probe(now)
        else:
            t.wait(at)

    def handle_icmp(self, t: ParallelTrace, r: Reply, tp: SentProbe, now: int) -> None:
        """handleicmp_parallel()."""
        hop = icmp_hop(r, tp, now, False)
        tp.replies.append(hop)
        if not t.back:
            self.bounds = max(self.bounds, tp.ttl)
            self.max_ttl = max(self.max_ttl, tp.ttl)
        else:
            self.bounds = min(self.bounds, tp.ttl)
        for i, hs in enumerate(self.window):
            if hs.pid == tp.pid:
                del self.window[i]
                if t.allattempts and hs.attempt < t.cmd.attempts:
                    self._rest(hs, now)
                break
        if t.stop_reason == TraceStop.NONE and not t.back:
            got = t.reason_to_stop(hop, tp.ttl)
            if got is not None:
                t.stop(*got)
                t.next_mode(now)
                return
        if t.mode == Mode.PARALLEL_FINISH and self.empty():
            t.next_mode(now)
            return
        self.queue(t, now)
