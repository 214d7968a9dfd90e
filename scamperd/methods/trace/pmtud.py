"""trace -M: path MTU discovery after the trace (scamper's MODE_PMTUD_*).

Theory of operation
-------------------
scamper_trace_do.c, "pmtud version 2".  When the trace has reached a
responsive end (not HOPLIMIT, GAPLIMIT, LOOP or NONE) trace_next_mode
records the interface MTU towards the target and probes with TTL 255, a
zeroed payload and a packet as big as that MTU.  The probes leave on the
datalink, as scamper's do, so the kernel neither checks them against a path
MTU it has learned nor fragments them.  Four modes follow (:class:`Mode`):

DEFAULT
    A "fragmentation needed" / "packet too big" (PTB) with a usable next-hop
    MTU adds a PTB note and the next probe has that size.  Any other answer
    (TTL expired, unreachable, echo reply, a TCP segment) ends PMTUD: the
    path MTU is the size of the probe answered.  A PTB whose next-hop MTU is
    0 or not below the probe's size adds a PTB_BAD note and starts BADSUGG;
    one below the header size ends PMTUD with a PTB_BAD note.  No answer
    starts a SILENCE note and SILENT_L2.
SILENT_L2
    Someone drops big packets without a PTB.  Search the MTU of the link
    with the table of common media MTUs (:data:`L2_MTUS`,
    pmtud_L2_set_probesize), narrowing [lower, upper) on answers and
    timeouts.  When lower + 1 is the size that failed, the link's MTU
    (``out``) is lower; then SILENT_TTL.
SILENT_TTL
    Find where the silence starts: probes of the failing size with limited
    TTLs, a binary search between the TTL the last PTB came from and the
    trace TTL of the address that answered the L2 search.  The farthest
    TTL-expired answer becomes the note's reply.  A PTB with next-hop MTU
    ``out`` goes back to DEFAULT.
BADSUGG
    A bad suggestion: binary search on size; an answer from the PTB's
    sender lowers the upper bound, any other answer (or a timeout) raises
    the lower bound.

pmtud_L2_search_end closes a search: the pending note gets ``out`` (and the
TTL search's reply), ``outmtu`` is set when even TTL 1 stayed silent (the
host's own link is mismatched), and PMTUD ends with pmtu = the size that got
a non-PTB answer, or resumes DEFAULT at ``out``.

The trace's state keeps the probe plumbing (ids, ``attempt``, ``ttl``,
waits); this module keeps scamper's trace_pmtud_state_t and its handlers,
and reaches the trace only through :class:`PmtudTrace`: ``mode``, ``ttl``,
``attempt``, ``done``, ``queue()`` and the trace's hops.  Where scamper 20260420's code differs
from its comments, the code is followed (noted below).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Protocol

from warts.types.trace import (
    TracePmtud,
    TracePmtudNote,
    TracePmtudNoteType,
    TraceReply,
    TraceStop,
)

from ...engine.packets import Reply
from .modes import Mode
from .records import SentProbe, icmp_hop, tcp_hop


class PmtudTrace(Protocol):
    """What PMTUD reads and drives of a trace (its TraceState)."""

    mode: Mode
    ttl: int
    attempt: int
    done: bool
    firsthop: int
    hop_count: int
    header_size: int
    tcp_dl: bool
    ifmtu: int | None
    stop_reason: TraceStop
    hops: dict[int, builtins.list[SentProbe]]

    @property
    def pmtud(self) -> Pmtud | None: ...
    @pmtud.setter
    def pmtud(self, value: Pmtud | None) -> None: ...

    def queue(self, now: int) -> None: ...

# Media MTUs (scamper's L2 table, from NetBSD traceroute and RFC 1191): the
# sizes tried when a router drops big packets without saying so.
L2_MTUS = (68, 296, 508, 512, 544, 552, 576, 1006, 1280, 1454, 1480, 1492, 1500, 1514,
           1536, 2002, 2048, 4352, 4464, 4470, 8166, 9000, 9192, 16110, 17914, 65535)
L2_1454 = L2_MTUS.index(1454)  # PPPoE over DSL: first guess below 1500
L2_1500 = L2_MTUS.index(1500)  # Ethernet: first guess above it
PMTUD_VERSION = 2


def _cdiv2(n: int) -> int:
    """C's int n / 2 (truncates towards zero; the bounds can be -1)."""
    return int(n / 2)


@dataclass(slots=True, eq=False)
class Hop:
    """A reply with the probe it answers (scamper's hop->probe)."""

    probe: SentProbe
    reply: TraceReply

    @property
    def q_ttl(self) -> int:
        return self.reply.icmp_q_ttl or 0


@dataclass(slots=True, eq=False)
class Note:
    """scamper_trace_pmtud_note_t while being filled in."""

    type: TracePmtudNoteType
    nhmtu: int = 0
    hop: Hop | None = None


@dataclass(slots=True, eq=False)
class L2State:
    """pmtud_L2_state_t: the media MTU search."""

    idx: int           # into L2_MTUS
    lower: int         # largest size answered (-1: none yet)
    upper: int         # smallest size that failed
    in_: int           # the size that first went unanswered
    out: int = -1      # the inferred MTU
    hop: Hop | None = None  # the last answer


@dataclass(slots=True, eq=False)
class TtlState:
    """pmtud_TTL_state_t: where the silence starts."""

    lower: int = 0
    upper: int = 0
    hop: Hop | None = None  # the farthest TTL-expired answer


class Pmtud:
    """trace_pmtud_state_t plus the recorded scamper_trace_pmtud_t."""

    def __init__(self, ifmtu: int) -> None:
        self.ifmtu = ifmtu
        self.pmtu = 0
        self.outmtu = 0
        self.size = ifmtu                        # header_size + payload_size
        self.probes: builtins.list[SentProbe] = []
        self.notes: builtins.list[Note] = []
        self.l2: L2State | None = None
        self.ttls: TtlState | None = None
        self.last_fragmsg: Hop | None = None
        self.note: Note | None = None            # being filled in

    # -- the record ----------------------------------------------------------

    def record(self) -> TracePmtud:
        """scamper_trace_pmtud_t: a note's reply is stored as its index
        among the PMTUD replies, in probe order."""
        index: dict[int, int] = {}
        for p in self.probes:
            for r in p.replies:
                index[id(r)] = len(index)
        notes = tuple(
            TracePmtudNote(int(n.type), n.nhmtu,
                           index.get(id(n.hop.reply)) if n.hop is not None else None)
            for n in self.notes)
        return TracePmtud(ifmtu=self.ifmtu, pmtu=self.pmtu, outmtu=self.outmtu,
                          ver=PMTUD_VERSION, probes=tuple(p.record() for p in self.probes),
                          notes=notes)

    # -- searches ------------------------------------------------------------

    def l2_init(self, t: PmtudTrace) -> None:
        """pmtud_L2_init(): the first media MTU below the size that failed."""
        size = self.size
        if size > 1500:
            idx = L2_1500  # most likely plain Ethernet
        elif size > 1454:
            idx = L2_1454  # the lower end of X-over-Ethernet
        else:
            idx = next((i for i in range(len(L2_MTUS) - 1)
                        if L2_MTUS[i] < size <= L2_MTUS[i + 1]), len(L2_MTUS) - 1)
        self.l2 = L2State(idx, -1, size, size)
        self.size = L2_MTUS[idx]
        t.attempt = 0

    def l2_set_probesize(self, t: PmtudTrace, lower: int, upper: int) -> None:
        """pmtud_L2_set_probesize(): the next size within (lower, upper)."""
        l2 = self.l2
        assert l2 is not None and lower + 1 != upper
        idx = l2.idx
        if lower == 1500 or (lower == L2_MTUS[idx] and upper <= L2_MTUS[idx + 1]):
            # between two table entries: the lower is likely the MTU, and
            # one byte more proves it (Ethernet is too likely to skip)
            size = lower + 1
        elif lower >= L2_MTUS[idx] and L2_MTUS[idx + 1] < upper:
            idx += 1
            size = L2_MTUS[idx]
        elif idx > 0 and upper == L2_MTUS[idx] and lower < L2_MTUS[idx - 1]:
            idx -= 1
            size = L2_MTUS[idx]
        else:
            size = _cdiv2(lower + upper)
        t.attempt = 0
        self.size = size
        l2.idx, l2.lower, l2.upper = idx, lower, upper

    def ttl_init(self, t: PmtudTrace) -> bool:
        """pmtud_TTL_init(): bounds of the TTL search; False if it is empty."""
        l2 = self.l2
        assert l2 is not None and l2.hop is not None
        self.ttls = TtlState()
        self.size = l2.in_
        # scamper 20260420 takes 0 whenever the PTB's probe TTL exceeds its
        # quoted TTL (the usual case), so the search starts at 0.
        hop = self.last_fragmsg
        if hop is None or hop.probe.ttl > hop.q_ttl:
            lower = 0
        else:
            lower = hop.probe.ttl - hop.q_ttl
        found = _hop_find(t, l2.hop.reply)
        if found is not None:
            upper = found.ttl
        else:
            upper = l2.hop.probe.ttl - l2.hop.q_ttl + 1
        return self.ttl_set_probettl(t, lower, upper)

    def ttl_set_probettl(self, t: PmtudTrace, lower: int, upper: int) -> bool:
        """pmtud_TTL_set_probettl(): halve [lower, upper); False when done."""
        ttls = self.ttls
        assert ttls is not None
        while lower + 1 < upper:
            cur = _cdiv2(lower + upper)
            # skip TTLs the trace has no hop for (scamper 20260420 tests
            # trace->hops[ttl-1], which exists for every TTL it probed)
            while cur < upper and not t.hops.get(cur):
                cur += 1
            if cur != upper:
                ttls.lower, ttls.upper = lower, upper
                t.ttl = cur
                t.attempt = 0
                return True
            upper = _cdiv2(lower + upper)
        return False

    def l2_search_end(self, t: PmtudTrace) -> bool:
        """pmtud_L2_search_end(): file the note; True when PMTUD is over."""
        l2 = self.l2
        note = self.note
        assert l2 is not None and note is not None and l2.out >= 0
        out, hop = l2.out, l2.hop
        self.l2 = None
        note.nhmtu = out
        self.notes.append(note)
        self.note = None
        if self.ttls is not None:
            if self.ttls.hop is not None:
                note.hop = self.ttls.hop  # where the silence begins
            elif self.ttls.lower == 0:
                self.outmtu = out  # even TTL 1 was silent: our own link
            self.ttls = None
        if hop is not None:
            self.last_fragmsg = hop
            if not hop.reply.is_icmp_ptb:
                self.pmtu = hop.probe.size
                t.done = True
                return True
        self.size = out
        t.mode = Mode.PMTUD_DEFAULT
        t.attempt = 0
        t.ttl = 255
        return False

    def _silent_l2_post(self, t: PmtudTrace, tp: SentProbe, hop: Hop, now: int) -> None:
        l2 = self.l2
        assert l2 is not None
        l2.hop = hop
        if tp.size + 1 != l2.upper:
            self.l2_set_probesize(t, tp.size, l2.upper)
        else:
            l2.lower = l2.out = tp.size
            if not self.ttl_init(t):
                t.done = True
                return
            t.mode = Mode.PMTUD_SILENT_TTL
        t.queue(now)

    def _badsugg_post(self, t: PmtudTrace, lower: int, upper: int, now: int) -> None:
        l2 = self.l2
        assert l2 is not None
        if lower + 1 != upper:
            self.l2_set_probesize(t, lower, upper)
        else:
            l2.lower = l2.out = lower
            l2.upper = upper
            if self.l2_search_end(t):
                return
        t.queue(now)

    # -- timeouts (every attempt at this size/TTL went unanswered) -------------

    def timeout(self, t: PmtudTrace, now: int) -> None:
        mode = t.mode
        if mode == Mode.PMTUD_DEFAULT:
            self.note = Note(TracePmtudNoteType.SILENCE)
            self.l2_init(t)
            t.mode = Mode.PMTUD_SILENT_L2
        elif mode == Mode.PMTUD_SILENT_L2:
            l2 = self.l2
            assert l2 is not None
            if l2.idx == 0:
                t.done = True  # nothing answers even 68 bytes: PMTUD failed
            elif l2.lower + 1 != self.size:
                self.l2_set_probesize(t, l2.lower, self.size)
            else:
                l2.out = l2.lower
                if self.ttl_init(t):
                    t.mode = Mode.PMTUD_SILENT_TTL
                else:
                    t.done = True
        elif mode == Mode.PMTUD_SILENT_TTL:
            assert self.ttls is not None
            if not self.ttl_set_probettl(t, self.ttls.lower, t.ttl):
                self.l2_search_end(t)
        elif mode == Mode.PMTUD_BADSUGG:
            l2 = self.l2
            assert l2 is not None
            lower, upper = self.size, l2.upper
            l2.hop = None
            if lower + 1 != upper:
                self.l2_set_probesize(t, lower, upper)
            else:
                l2.lower = l2.out = lower
                self.l2_search_end(t)

    # -- ICMP replies ------------------------------------------------------------

    def handle_icmp(self, t: PmtudTrace, r: Reply, tp: SentProbe, now: int) -> None:
        mode = t.mode
        if mode == Mode.PMTUD_DEFAULT:
            self._icmp_default(t, r, tp, now)
        elif mode == Mode.PMTUD_SILENT_L2:
            if self._l2_pre(tp):
                self._silent_l2_post(t, tp, self._hop(t, r, tp, now), now)
        elif mode == Mode.PMTUD_SILENT_TTL:
            self._icmp_silent_ttl(t, r, tp, now)
        elif mode == Mode.PMTUD_BADSUGG:
            # scamper takes any matched reply here, whatever probe it answers
            hop = self._hop(t, r, tp, now)
            l2 = self.l2
            assert l2 is not None
            fm = self.last_fragmsg
            if fm is not None and fm.reply.addr == hop.reply.addr:
                lower, upper = l2.lower, tp.size  # the PTB's sender: too big
            else:
                lower, upper = tp.size, l2.upper  # got past it
                l2.hop = hop
            self._badsugg_post(t, lower, upper, now)

    def _default_pre(self, tp: SentProbe) -> bool:
        """pmtud_default_pre(): only answers to the size being probed."""
        return tp.mode == Mode.PMTUD_DEFAULT and tp.size == self.size

    def _l2_pre(self, tp: SentProbe) -> bool:
        """pmtud_silent_l2_pre(): answers outside the window are late; ignored."""
        l2 = self.l2
        assert l2 is not None
        return l2.lower <= tp.size < l2.upper

    def _hop(self, t: PmtudTrace, r: Reply, tp: SentProbe, now: int) -> Hop:
        """trace_icmp_hop(): record the reply with its probe."""
        reply = icmp_hop(r, tp, now, t.tcp_dl)
        tp.replies.append(reply)
        return Hop(tp, reply)

    def _icmp_default(self, t: PmtudTrace, r: Reply, tp: SentProbe, now: int) -> None:
        if not self._default_pre(tp):
            return
        hop = self._hop(t, r, tp, now)
        self.last_fragmsg = hop
        if r.is_ptb():
            nhmtu = r.icmp_nhmtu
            note = Note(TracePmtudNoteType.PTB_BAD, hop=hop)
            if nhmtu == 0 or nhmtu >= tp.size:
                # no useful suggestion: search for the size ourselves; the
                # note is filed when the search ends
                self.note = note
                t.mode = Mode.PMTUD_BADSUGG
                self.l2_init(t)
                t.queue(now)
                return
            self.notes.append(note)
            if nhmtu < t.header_size:
                t.done = True  # too small to probe with
                return
            note.type = TracePmtudNoteType.PTB
            note.nhmtu = nhmtu
            t.attempt = 0
            self.size = nhmtu
            t.queue(now)
        elif r.is_ttl_exceeded() or r.is_unreach() or r.is_echo_reply():
            self.pmtu = tp.size
            t.done = True

    def _icmp_silent_ttl(self, t: PmtudTrace, r: Reply, tp: SentProbe, now: int) -> None:
        ttls, l2 = self.ttls, self.l2
        assert ttls is not None and l2 is not None
        if r.is_ttl_exceeded():
            ttls.hop = self._hop(t, r, tp, now)
            if not self.ttl_set_probettl(t, tp.ttl, ttls.upper) and self.l2_search_end(t):
                return
            t.queue(now)
        elif r.is_ptb() and r.icmp_nhmtu == l2.out:
            # the router does send PTBs for the size inferred: back to the
            # default mode (scamper drops the SILENCE note here)
            self._hop(t, r, tp, now)
            t.attempt = 0
            self.size = r.icmp_nhmtu
            t.ttl = 255
            t.mode = Mode.PMTUD_DEFAULT
            self.l2 = None
            self.ttls = None
            t.queue(now)

    # -- the target answering a TCP probe (tcp-ack) ---------------------------------

    def handle_tcp(self, t: PmtudTrace, r: Reply, tp: SentProbe, now: int) -> None:
        mode = t.mode
        if mode == Mode.PMTUD_SILENT_TTL:
            return  # scamper ignores them here
        if mode == Mode.PMTUD_DEFAULT and not self._default_pre(tp):
            return
        if mode == Mode.PMTUD_SILENT_L2 and not self._l2_pre(tp):
            return
        reply = tcp_hop(r, tp, now)
        tp.replies.append(reply)
        hop = Hop(tp, reply)
        if mode == Mode.PMTUD_DEFAULT:
            self.last_fragmsg = hop
            self.pmtu = tp.size
            t.done = True
        elif mode == Mode.PMTUD_SILENT_L2:
            self._silent_l2_post(t, tp, hop, now)
        elif mode == Mode.PMTUD_BADSUGG:
            l2 = self.l2
            assert l2 is not None
            l2.hop = hop
            self._badsugg_post(t, tp.size, l2.upper, now)


def _hop_find(t: PmtudTrace, reply: TraceReply) -> SentProbe | None:
    """hop_find(): the trace's first probe answered from the same address."""
    if t.firsthop == 0 or t.hop_count == 0:
        return None
    for ttl in sorted(x for x in t.hops if x >= t.firsthop):
        for p in t.hops[ttl]:
            for r in p.replies:
                if r.addr == reply.addr:
                    return p
    return None


def start(t: PmtudTrace, now: int) -> bool:
    """trace_next_mode()'s PMTUD part: True when PMTUD probing starts.

    Only after a trace that reached a responsive end."""
    if t.stop_reason in (TraceStop.HOPLIMIT, TraceStop.GAPLIMIT, TraceStop.LOOP,
                         TraceStop.NONE):
        return False
    if t.ifmtu is None:
        # scamper: "could not get ifindex" (trace_handleerror keeps the
        # earlier stop reason, so nothing else is recorded)
        return False
    t.pmtud = Pmtud(t.ifmtu)
    if t.ifmtu <= t.header_size:
        # "ifmtu too small": trace_handleerror keeps the earlier stop reason
        return False
    t.attempt = 0
    t.mode = Mode.PMTUD_DEFAULT
    t.ttl = 255
    t.queue(now)
    return True
