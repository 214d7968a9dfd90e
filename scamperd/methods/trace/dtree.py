"""Doubletree: a trace that starts mid-path and stops at what others saw.

scamper_trace_do.c's MODE_DTREE_FIRST / MODE_DTREE_FWD / MODE_DTREE_BACK,
as a subclass of :class:`~.task.TraceTask` with three more phases in its
table (:data:`DTREE_PHASES`), and its own ``after_trace``, ``hop_answered``
and stop reason.

Theory of operation
-------------------
``-z ADDR`` (repeatable) is the trace's *global stop set* (GSS); ``-Z NAME``
names a *local stop set* (LSS), a set of addresses shared by every trace
with that name in this process (:mod:`.lss`).

1. **first** -- one hop, TTL ``-f`` (h).  An unreachable, a packet too big,
   an echo reply or any message from the destination means h is too far:
   halve ``-f`` and probe again (the reply is not recorded), or, at TTL 1,
   record it and stop for its reason.  A timeout halves the TTL too; once at
   TTL 1 the trace probes forward from TTL 2.  A reply from an address
   outside the GSS starts forward probing at the next TTL; one inside it
   stops the trace with reason GSS and probing goes backwards.
2. **forward** -- an ordinary trace (:class:`~.phases.TracePhase`) that
   also stops with GSS on a reply
   from a GSS address.  When it ends, backward probing follows unless ``-f``
   has come down to 1 or ``-O dtree-noback`` was given.
3. **backward** -- from TTL ``firsthop-1`` downwards, lowering the trace's
   ``firsthop`` with it.  A reply from an address not yet in the LSS adds it
   (to the shared set and to this trace's own list) and probing goes on; an
   address this trace added itself (a loop) goes on too; any other address
   was seen by an earlier trace, so it is recorded as ``lss_stop`` and the
   trace ends.  Without ``-Z`` there is no LSS and the first reply ends
   backward probing.  TTL 1 always ends it, and a hop that does not answer
   is passed by.

The doubletree attribute records the ``-f`` given, the LSS and GSS
addresses that stopped the trace, the LSS name and ``-O dtree-noback``.
TCP segments from the target are ignored in every doubletree mode (scamper
has no handler for them there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

from protocol.commands.trace import TraceCommand, TraceDtreeFlag
from warts.address import ADDR_IPV4, ADDR_IPV6, Address
from warts.listcycle import CycleInfo, ListInfo
from warts.types.trace import Trace, TraceDtree, TraceReply, TraceStop

from ...engine.packets import Reply
from ...engine.task import Action
from .lss import STORE, LssStore
from .modes import Mode
from .phases import BASE_PHASES, Phase, TracePhase
from .records import SentProbe, icmp_hop
from .state import TraceState
from .task import TraceTask

_WORKING = frozenset((Mode.DTREE_FWD, Mode.DTREE_BACK))


class DtreeFirstPhase(Phase):
    """MODE_DTREE_FIRST: handleicmp_dtree_first, timeout_dtree_first."""

    def icmp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        cast("DtreeTask", t).handleicmp_first(r, tp, now)

    def timeout(self, t: TraceState, now: int) -> None:
        cast("DtreeTask", t).timeout_first()


class DtreeFwdPhase(TracePhase):
    """MODE_DTREE_FWD: handleicmp_trace and timeout_trace, as MODE_TRACE;
    no TCP handler (scamper has none in the doubletree modes)."""

    def tcp(self, t: TraceState, r: Reply, tp: SentProbe, now: int) -> None:
        pass


class DtreeBackPhase(DtreeFwdPhase):
    """MODE_DTREE_BACK: handleicmp_trace (the answer goes to
    :meth:`DtreeTask.hop_answered`), timeout_dtree_back."""

    def timeout(self, t: TraceState, now: int) -> None:
        cast("DtreeTask", t).timeout_back(now)


DTREE_PHASES: Mapping[Mode, Phase] = {
    **BASE_PHASES,
    Mode.DTREE_FIRST: DtreeFirstPhase(),
    Mode.DTREE_FWD: DtreeFwdPhase(),
    Mode.DTREE_BACK: DtreeBackPhase(),
}


class DtreeTask(TraceTask):
    """A doubletree trace (see the module docstring)."""

    phases = DTREE_PHASES

    def __init__(self, command: TraceCommand, *, src: bytes, list: ListInfo | None = None,
                 cycle: CycleInfo | None = None, sport: int | None = None,
                 lss_store: LssStore | None = None, **kw: Any) -> None:
        super().__init__(command, src=src, list=list, cycle=cycle, sport=sport, **kw)
        self.mode = Mode.DTREE_FIRST
        self.gss: frozenset[bytes] = frozenset(a.packed for a in command.gss)
        self.lss_name = command.lss
        self.noback = bool(command.dtree_flags & TraceDtreeFlag.NOBACK)
        self.dtree_firsthop = command.firsthop  # -f as given; firsthop moves
        self.lss_store = STORE if lss_store is None else lss_store
        self.lsst: set[bytes] | None = None  # the shared set, once started
        self.lss_mine: set[bytes] = set()    # what this trace added to it
        self.lss_stop: bytes | None = None
        self.gss_stop: bytes | None = None

    # -- the Task contract ---------------------------------------------------

    def next_action(self, now: int) -> Action:
        if self.start is None and self.lss_name is not None:
            # trace_state_init(): the named set is found, or made, as the
            # trace starts, so lss-clear knows the name from then on
            self.lsst = self.lss_store.get(self.lss_name)
        return super().next_action(now)

    def result(self, stop_reason: TraceStop | None = None) -> Trace:
        rec = super().result(stop_reason)
        atype = ADDR_IPV6 if self.v6 else ADDR_IPV4
        dtree = TraceDtree(
            firsthop=self.dtree_firsthop,
            lss_stop=Address(atype, self.lss_stop) if self.lss_stop is not None else None,
            gss_stop=Address(atype, self.gss_stop) if self.gss_stop is not None else None,
            lss=self.lss_name, flags=int(TraceDtreeFlag.NOBACK) if self.noback else None)
        return dataclasses.replace(rec, dtree=dtree)

    # -- seams of TraceTask ------------------------------------------------------

    def reason_to_stop(self, hop: TraceReply, ttl: int) -> tuple[TraceStop, int] | None:
        """GSS comes last in scamper's precedence; an echo reply to a
        non-ICMP trace is ignored before it is reached."""
        got = super().reason_to_stop(hop, ttl)
        if got is None and not hop.is_icmp_echo_reply and hop.addr.raw in self.gss:
            # recorded here, even when trace_stop() keeps an earlier reason
            self.gss_stop = hop.addr.raw
            return TraceStop.GSS, 0
        return got

    def after_trace(self, now: int) -> bool:
        """trace_next_mode() for doubletree: forward probing is followed by
        backward probing; backward probing ends the trace."""
        if self.mode == Mode.DTREE_FWD and self.firsthop > 1 and not self.noback:
            self.go_back(now)
            return True
        return False

    def hop_answered(self, hop: TraceReply, now: int) -> bool:
        """handleicmp_trace() in MODE_DTREE_BACK: the working hop answered."""
        if self.mode != Mode.DTREE_BACK:
            return False
        if self.ttl == 1:
            self.next_mode(now)
            return True
        addr = hop.addr.raw
        if self.lsst is not None and addr not in self.lsst:
            self.lsst.add(addr)
            self.lss_mine.add(addr)
            self.back_one(now)
        elif addr in self.lss_mine:
            # in the set because this trace loops: not a reason to stop
            self.back_one(now)
        else:
            self.lss_stop = addr
            self.next_mode(now)
        return True

    # -- first ---------------------------------------------------------------------

    def handleicmp_first(self, r: Reply, tp: SentProbe, now: int) -> None:
        """handleicmp_dtree_first(): where to start probing."""
        if tp.mode != Mode.DTREE_FIRST or tp.ttl > self.firsthop:
            return  # late, for a TTL already halved away
        self.attempt = 0
        at_one = False
        if r.is_unreach() or r.is_ptb() or r.is_echo_reply() or r.src == self.dst:
            if tp.ttl > 1:
                self.firsthop //= 2
                self.ttl = self.firsthop
                self.queue(now)
                return
            at_one = True  # nothing before it to probe
        hop = icmp_hop(r, tp, now, self.tcp_dl)
        tp.replies.append(hop)
        if at_one:
            self.firsthop = 1
            got = self.reason_to_stop(hop, tp.ttl)
            if got is not None:
                self.stop(*got)
            self.done = True
            return
        if hop.addr.raw not in self.gss:
            self.ttl = tp.ttl + 1
            self.mode = Mode.DTREE_FWD
            self.queue(now)
            return
        # the first hop probed is already in the global stop set
        self.stop_reason = TraceStop.GSS
        self.stop_data = 0
        self.gss_stop = hop.addr.raw
        if self.firsthop == 1 or self.noback:
            self.done = True
            return
        self.ttl = self.firsthop - 1
        self.mode = Mode.DTREE_BACK
        self.queue(now)

    def timeout_first(self) -> None:
        """timeout_dtree_first(): nothing there; come closer, or go forward
        from TTL 2 once TTL 1 was silent too."""
        if self.ttl == 1:
            self.mode = Mode.DTREE_FWD
            self.ttl += 1
            return
        self.ttl //= 2
        self.firsthop //= 2

    # -- backward ----------------------------------------------------------------------

    def go_back(self, now: int) -> None:
        self.mode = Mode.DTREE_BACK
        self.ttl = self.firsthop - 1
        self.attempt = 0
        self.queue(now)

    def back_one(self, now: int) -> None:
        self.ttl -= 1
        self.firsthop -= 1
        self.queue(now)

    def timeout_back(self, now: int) -> None:
        """timeout_dtree_back(): a silent hop is passed by, unless -Q / -c
        replies at it include an LSS address."""
        # scamper forgets the interfaces seen but not the confidence n here
        self.conf_ifaces.clear()
        if self.ttl == 1:
            self.next_mode(now)
            return
        if self.lsst is not None and (self.allattempts or self.cmd.confidence):
            if any(r.addr.raw in self.lsst for r in self.replies_at(self.ttl)):
                self.next_mode(now)
                return
        self.attempt = 0
        self.back_one(now)
