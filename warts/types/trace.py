"""Traceroute records (warts object 0x06): enums, model and builder.

| module | what |
|---|---|
| ``trace.py`` | enum tables, the record classes, :meth:`Trace.build`, registration |
| ``trace_wire.py`` | parameter tables and the reader (hop records on a fast path) |
| ``trace_write.py`` | the writer |
| ``trace_json.py`` | sc_warts2json output |
| ``trace_text.py`` | sc_warts2text and sc_wartsdump output |

The model follows scamper 20260420's structs: a :class:`Trace` holds
:class:`TraceProbe` objects (one per probe that got an answer) whose
``replies`` are :class:`TraceReply` objects.  On the wire each reply is one
hop record carrying its probe's ttl/id/size/tx; the reader folds consecutive
hop records with the same (ttl, id, size) into one probe, as scamper does.

Every parameter field holds the value exactly as read and ``None`` when the
parameter was absent, so ``encode(decode(b)) == b`` for files from either the
20211212 or the 20260420 writer.  scamper's reader defaults are applied only
by helpers (which the renderers use):

| value | scamper's reader makes it | helper |
|---|---|---|
| firsthop absent or 0 | 1 | ``Trace.firsthop_eff`` |
| squeries absent or < 2 | 1 | ``Trace.squeries_eff`` |
| trace flags | flag 32 if present, else flag 8, else 0 | ``Trace.flags`` |
| hop_count absent or 0 | the highest probe TTL | ``Trace.hop_count_eff`` |
| pmtud ver absent | 1 | ``TracePmtud.ver_eff`` |
| quoted TTL absent (quoting ICMP) | 1 | ``TraceReply.q_ttl_eff()`` |
| quoted length absent (quoting ICMP) | the probe's size | ``TraceReply.q_ipl_eff()`` |
| ICMP type when TCP flags present | the TCP flags (one union byte) | ``TraceReply.icmp_type_eff`` |

Units are the wire's: ``wait_timeout`` in seconds, ``wait_probe`` in
centiseconds, ``rtt`` in microseconds, times as :class:`Timeval`.  To make a
record the way scamper 20260420 would write it, use :meth:`Trace.build`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from ..address import ADDR_IPV4, ADDR_IPV6, Address
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_TRACE
from ..wire import (
    IcmpExt,
    Timeval,
)

# --------------------------------------------------------------------------
# Enum tables (scamper_trace.h numbers)


class TraceType(IntEnum):
    """SCAMPER_TRACE_TYPE_*: the probe method (trace flag 11)."""

    ICMP_ECHO = 0x01
    UDP = 0x02
    TCP = 0x03
    ICMP_ECHO_PARIS = 0x04
    UDP_PARIS = 0x05
    TCP_ACK = 0x06


class TraceStop(IntEnum):
    """SCAMPER_TRACE_STOP_*: why the trace finished (trace flag 6)."""

    NONE = 0
    COMPLETED = 1
    UNREACH = 2
    ICMP = 3
    LOOP = 4
    GAPLIMIT = 5
    ERROR = 6
    HOPLIMIT = 7
    GSS = 8
    HALTED = 9
    INPROGRESS = 10


class TraceFlag(IntEnum):
    """SCAMPER_TRACE_FLAG_*: bits of the trace flags (trace flags 8 and 32)."""

    ALLATTEMPTS = 0x01
    PMTUD = 0x02
    DL = 0x04
    IGNORETTLDST = 0x08
    DOUBLETREE = 0x10
    ICMPCSUMDP = 0x20
    CONSTPAYLOAD = 0x40
    RXERR = 0x80
    PTR = 0x100
    RAW = 0x200
    BACK = 0x400


class TraceReplyFlag(IntEnum):
    """SCAMPER_TRACE_REPLY_FLAG_*: bits of a hop record's flags (hop flag 4).

    0x08 was the old TSC flag; nothing reads it any more."""

    TS_SOCK_RX = 0x01
    TS_DL_TX = 0x02
    TS_DL_RX = 0x04
    TSC = 0x08
    REPLY_TTL = 0x10
    TCP = 0x20
    UDP = 0x40
    PENDING = 0x80


class TraceGapAction(IntEnum):
    """SCAMPER_TRACE_GAPACTION_* (trace flag 21)."""

    STOP = 0x01
    LASTDITCH = 0x02


class TracePmtudNoteType(IntEnum):
    """SCAMPER_TRACE_PMTUD_NOTE_TYPE_* (pmtud note flag 1)."""

    PTB = 1
    PTB_BAD = 2
    SILENCE = 3


class TraceDtreeFlag(IntEnum):
    """SCAMPER_TRACE_DTREE_FLAG_* (doubletree flag 7)."""

    NOBACK = 0x01


# Attribute types (the top 4 bits of an attribute header).
ATTR_EOF = 0
ATTR_PMTUD = 1
ATTR_LASTDITCH = 2
ATTR_DTREE = 3

# Names as scamper's *_tostr() print them.
TYPE_NAMES = {1: "icmp-echo", 2: "udp", 3: "tcp", 4: "icmp-echo-paris", 5: "udp-paris",
              6: "tcp-ack"}
STOP_NAMES = ("NONE", "COMPLETED", "UNREACH", "ICMP", "LOOP", "GAPLIMIT", "ERROR",
              "HOPLIMIT", "GSS", "HALTED", "INPROGRESS")
GAPACTION_NAMES = {1: "stop", 2: "lastditch"}
NOTE_TYPE_NAMES = {1: "ptb", 2: "ptb-bad", 3: "silence"}
FLAG_NAMES = {0x01: "all-attempts", 0x02: "pmtud", 0x04: "dl", 0x08: "ignorettldst",
              0x10: "doubletree", 0x20: "icmp-csum-dport", 0x40: "const-payload",
              0x80: "rxerr", 0x100: "ptr", 0x200: "raw", 0x400: "back"}


def type_name(t: int) -> str:
    """scamper_trace_type_tostr()."""
    return TYPE_NAMES.get(t) or str(t)


def stop_name(r: int) -> str:
    """scamper_trace_stop_tostr()."""
    return STOP_NAMES[r] if r < len(STOP_NAMES) else str(r)


def gapaction_name(g: int) -> str:
    """scamper_trace_gapaction_tostr()."""
    return GAPACTION_NAMES.get(g) or str(g)


def note_type_name(t: int) -> str:
    """scamper_trace_pmtud_note_type_tostr()."""
    return NOTE_TYPE_NAMES.get(t) or str(t)


def flag_name(bit: int) -> str:
    """scamper_trace_flag_tostr() for one bit."""
    return FLAG_NAMES.get(bit) or f"0x{bit:08x}"


_TV0 = Timeval(0, 0)
_List = list  # Trace has a field named "list"

# --------------------------------------------------------------------------
# Model


@dataclass(frozen=True, slots=True)
class TraceReply:
    """One reply to a probe (scamper_trace_reply_t); one hop record on the wire.

    Fields are the hop-record parameters as read (``None`` = absent).
    ``icmp_type``/``icmp_code`` are hop flag 7 (both set or both None).
    ``probe_wire`` is normally None; the reader sets it to this record's own
    ``(probe id, probe size, tx)`` only when they differ on the wire from the
    probe it was folded into (same effective key, different bytes), so that
    re-encoding reproduces the input exactly.
    """

    addr: Address
    ttl: int | None = None
    flags: int | None = None
    rtt: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    size: int | None = None
    ipid: int | None = None
    tos: int | None = None
    icmp_nhmtu: int | None = None
    icmp_q_ipl: int | None = None
    icmp_q_ttl: int | None = None
    tcp_flags: int | None = None
    icmp_q_tos: int | None = None
    icmp_exts: tuple[IcmpExt, ...] | None = None
    name: str | None = None
    probe_wire: tuple[int | None, int | None, Timeval | None] | None = \
        field(default=None, repr=False)

    # Predicates: SCAMPER_TRACE_REPLY_IS_* (scamper_trace_int.h).
    @property
    def is_tcp(self) -> bool:
        return bool((self.flags or 0) & 0x20)

    @property
    def is_udp(self) -> bool:
        return bool((self.flags or 0) & 0x40)

    @property
    def is_icmp(self) -> bool:
        return not (self.flags or 0) & 0x60

    @property
    def icmp_type_eff(self) -> int:
        """The ICMP type scamper sees: the tcp_flags byte shares its storage
        in scamper's union and is read later, so it wins when present."""
        if self.tcp_flags is not None:
            return self.tcp_flags
        return self.icmp_type or 0

    @property
    def is_icmp_q(self) -> bool:
        if (self.flags or 0) & 0x60:
            return False
        t = self.icmp_type_eff
        at = self.addr.atype
        if at == ADDR_IPV4:
            return t == 3 or t == 11
        return at == ADDR_IPV6 and 1 <= t <= 3

    @property
    def is_icmp_ptb(self) -> bool:
        if (self.flags or 0) & 0x60:
            return False
        t = self.icmp_type_eff
        at = self.addr.atype
        if at == ADDR_IPV4:
            return t == 3 and (self.icmp_code or 0) == 4
        return at == ADDR_IPV6 and t == 2

    @property
    def is_icmp_ttl_exp(self) -> bool:
        if (self.flags or 0) & 0x60:
            return False
        t = self.icmp_type_eff
        at = self.addr.atype
        return (at == ADDR_IPV4 and t == 11) or (at == ADDR_IPV6 and t == 3)

    @property
    def is_icmp_echo_reply(self) -> bool:
        if (self.flags or 0) & 0x60:
            return False
        t = self.icmp_type_eff
        at = self.addr.atype
        return (at == ADDR_IPV4 and t == 0) or (at == ADDR_IPV6 and t == 129)

    def q_ttl_eff(self) -> int:
        """Quoted TTL after the reader's default (1 for quoting ICMP)."""
        if self.icmp_q_ttl is not None:
            return self.icmp_q_ttl
        return 1 if self.is_icmp_q else 0

    def q_ipl_eff(self, probe_size: int) -> int:
        """Quoted IP length after the reader's default (the probe's size)."""
        if self.icmp_q_ipl is not None:
            return self.icmp_q_ipl
        return probe_size if self.is_icmp_q else 0


@dataclass(frozen=True, slots=True)
class TraceProbe:
    """One probe that got replies (scamper_trace_probe_t).

    ``id`` is scamper's in-memory attempt number (1-based; the wire stores
    ``id - 1``), None when the hop records had no probe-id parameter (scamper
    then uses 0).  ``size`` and ``tx`` likewise: None = absent.  A probe with
    no replies has no hop record and is not written.
    """

    ttl: int
    id: int | None = None
    size: int | None = None
    tx: Timeval | None = None
    replies: tuple[TraceReply, ...] = ()


@dataclass(frozen=True, slots=True)
class TracePmtudNote:
    """A PMTUD annotation (scamper_trace_pmtud_note_t).

    ``reply_index`` is the 0-based index of the related reply among the PMTUD
    replies (in probe order), as stored on the wire; None = no reply.
    """

    type: int | None = None
    nhmtu: int | None = None
    reply_index: int | None = None


@dataclass(frozen=True, slots=True)
class TracePmtud:
    """PMTUD attribute (scamper_trace_pmtud_t).  ``notec`` is the raw note
    count parameter; ``len(notes)`` must equal ``notec or 0``.  ``pad`` holds
    bytes inside the attribute's length that the parser did not consume."""

    ifmtu: int | None = None
    pmtu: int | None = None
    outmtu: int | None = None
    ver: int | None = None
    notec: int | None = None
    probes: tuple[TraceProbe, ...] = ()
    notes: tuple[TracePmtudNote, ...] = ()
    pad: bytes = field(default=b"", repr=False)

    @property
    def ver_eff(self) -> int:
        return 1 if self.ver is None else self.ver

    def replies(self) -> Iterator[tuple[TraceProbe, TraceReply]]:
        for p in self.probes:
            for r in p.replies:
                yield p, r

    def note_reply(self, note: TracePmtudNote) -> tuple[TraceProbe, TraceReply] | None:
        """The (probe, reply) a note refers to, or None."""
        if note.reply_index is None:
            return None
        i = note.reply_index
        for p in self.probes:
            if i < len(p.replies):
                return p, p.replies[i]
            i -= len(p.replies)
        return None


@dataclass(frozen=True, slots=True)
class TraceLastditch:
    """Last-ditch attribute (scamper_trace_lastditch_t).  ``head`` is the
    (always empty in practice) flags block that starts the attribute."""

    probes: tuple[TraceProbe, ...] = ()
    head: bytes = field(default=b"\x00", repr=False)
    pad: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class TraceDtree:
    """Doubletree attribute (scamper_trace_dtree_t)."""

    firsthop: int | None = None
    lss_stop: Address | None = None
    gss_stop: Address | None = None
    lss: str | None = None
    flags: int | None = None
    pad: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class TraceAttr:
    """An attribute of a type this codec does not know, kept verbatim."""

    type: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Trace:
    """A traceroute (scamper_trace_t).

    Parameter fields are named after scamper's struct fields and hold the
    wire values (None = absent).  Trace flags travel in two parameters:
    ``flags8`` (flag 8, the low byte) and ``flags32`` (flag 32, all bits);
    :attr:`flags` is the value scamper's reader ends up with.  ``has_list_id``
    / ``has_cycle_id`` say whether the list/cycle id parameters were on the
    wire (scamper always writes them, 0 for none).  ``attr_order`` is None
    when attributes were in the writer's order (pmtud, last-ditch, doubletree,
    then unknown ones), else the order read (1/2/3 for known types, -1 for the
    next of ``unknown_attrs``).  ``trailer`` holds bytes after the end marker.
    """

    OBJ_TYPE: ClassVar[int] = OBJ_TRACE

    dst: Address
    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    start: Timeval | None = None
    stop_reason: int | None = None
    stop_data: int | None = None
    flags8: int | None = None
    attempts: int | None = None
    hoplimit: int | None = None
    type: int | None = None
    probe_size: int | None = None
    sport: int | None = None
    dport: int | None = None
    firsthop: int | None = None
    tos: int | None = None
    wait_timeout: int | None = None
    loops: int | None = None
    hop_count: int | None = None
    gaplimit: int | None = None
    gapaction: int | None = None
    loopaction: int | None = None
    probec: int | None = None
    wait_probe: int | None = None
    confidence: int | None = None
    src: Address | None = None
    userid: int | None = None
    offset: int | None = None
    rtr: Address | None = None
    squeries: int | None = None
    flags32: int | None = None
    stop_hop: int | None = None
    errmsg: str | None = None
    probes: tuple[TraceProbe, ...] = ()
    pmtud: TracePmtud | None = None
    lastditch: TraceLastditch | None = None
    dtree: TraceDtree | None = None
    unknown_attrs: tuple[TraceAttr, ...] = ()
    has_list_id: bool = field(default=True, repr=False)
    has_cycle_id: bool = field(default=True, repr=False)
    attr_order: tuple[int, ...] | None = field(default=None, repr=False)
    trailer: bytes = field(default=b"", repr=False)

    # -- values after scamper's reader defaults ---------------------------

    @property
    def flags(self) -> int:
        """Trace flags as scamper's reader sets them: flag 32 if present,
        else flag 8, else 0."""
        if self.flags32 is not None:
            return self.flags32
        return self.flags8 or 0

    @property
    def firsthop_eff(self) -> int:
        return self.firsthop or 1

    @property
    def squeries_eff(self) -> int:
        s = self.squeries or 0
        return s if s >= 2 else 1

    @property
    def hop_count_eff(self) -> int:
        """hop_count as read: the parameter if non-zero, else the highest TTL."""
        if self.hop_count:
            return self.hop_count
        return max((p.ttl for p in self.probes), default=0)

    @property
    def stop_hop_count(self) -> int:
        """The hop count the renderers use: stop_hop when set and smaller."""
        hc = self.hop_count_eff
        sh = self.stop_hop or 0
        return hc if sh == 0 or sh > hc else sh

    def replies(self) -> Iterator[tuple[TraceProbe, TraceReply]]:
        """Every (probe, reply) in hop order (scamper_trace_hopiter_next)."""
        for p in self.probes:
            for r in p.replies:
                yield p, r

    def probes_by_ttl(self) -> dict[int, _List[TraceProbe]]:
        """Probes grouped by TTL (scamper's hops[ttl - 1] probettl arrays)."""
        out: dict[int, _List[TraceProbe]] = {}
        for p in self.probes:
            out.setdefault(p.ttl, []).append(p)
        return out

    # -- builder -----------------------------------------------------------

    @classmethod
    def build(cls, dst: Address, *, src: Address | None = None, rtr: Address | None = None,
              list: ListInfo | None = None, cycle: CycleInfo | None = None,
              userid: int = 0, start: Timeval = _TV0, type: int = TraceType.UDP_PARIS,
              stop_reason: int = TraceStop.NONE, stop_data: int = 0, flags: int = 0,
              attempts: int = 2, hoplimit: int = 0, squeries: int = 1, gaplimit: int = 5,
              gapaction: int = TraceGapAction.STOP, firsthop: int = 1, tos: int = 0,
              wait_timeout: int = 5, wait_probe: int = 0, loops: int = 1,
              loopaction: int = 0, confidence: int = 0, probe_size: int = 44,
              sport: int = 0, dport: int = 0, offset: int = 0, probec: int = 0,
              hop_count: int | None = None, stop_hop: int = 0, errmsg: str | None = None,
              probes: Iterable[TraceProbe] = (), pmtud: TracePmtud | None = None,
              lastditch: TraceLastditch | None = None,
              dtree: TraceDtree | None = None) -> Trace:
        """A trace as scamper 20260420's writer would store it.

        Takes plain values (None in a probe/reply field counts as 0) and sets
        to None every parameter that writer leaves out: flags8 unless the low
        byte of ``flags`` is set, flags32 unless a higher bit is, userid and
        offset when 0, squeries below 2, stop_hop 0, src/rtr/errmsg unset; per
        reply the ICMP type/code unless ICMP, TCP flags unless TCP, next-hop
        MTU unless a PTB, quoted TTL when 1 and quoted length when it equals
        ``probe_size`` (both only for quoting ICMP), IPID 0, tx with sec 0;
        pmtud ifmtu/pmtu/outmtu/notec when 0; note type/nhmtu when 0; dtree
        lss/stops when unset and flags when 0.  Probes are sorted by TTL and
        probes without replies dropped (they have no hop record).
        ``hop_count`` defaults to the highest probe TTL.
        """
        ps = tuple(sorted((_norm_probe(p, probe_size) for p in probes if p.replies),
                          key=lambda p: p.ttl))
        if hop_count is None:
            hop_count = max((p.ttl for p in ps), default=0)
        if pmtud is not None:
            notes = tuple(TracePmtudNote(n.type or None, n.nhmtu or None, n.reply_index)
                          for n in pmtud.notes)
            pmtud = TracePmtud(ifmtu=pmtud.ifmtu or None, pmtu=pmtud.pmtu or None,
                               outmtu=pmtud.outmtu or None, ver=pmtud.ver_eff,
                               notec=len(notes) or None,
                               probes=tuple(_norm_probe(p, probe_size) for p in pmtud.probes
                                            if p.replies),
                               notes=notes)
        if lastditch is not None:
            lastditch = TraceLastditch(tuple(_norm_probe(p, probe_size)
                                             for p in lastditch.probes if p.replies))
        if dtree is not None:
            dtree = TraceDtree(firsthop=dtree.firsthop or 0, lss_stop=dtree.lss_stop,
                               gss_stop=dtree.gss_stop, lss=dtree.lss,
                               flags=dtree.flags or None)
        return cls(dst=dst, list=list, cycle=cycle, start=start, stop_reason=stop_reason,
                   stop_data=stop_data, flags8=(flags & 0xFF) or None, attempts=attempts,
                   hoplimit=hoplimit, type=type, probe_size=probe_size, sport=sport,
                   dport=dport, firsthop=firsthop, tos=tos, wait_timeout=wait_timeout,
                   loops=loops, hop_count=hop_count, gaplimit=gaplimit, gapaction=gapaction,
                   loopaction=loopaction, probec=probec, wait_probe=wait_probe,
                   confidence=confidence, src=src, userid=userid or None,
                   offset=offset or None, rtr=rtr,
                   squeries=squeries if squeries >= 2 else None,
                   flags32=flags if flags & ~0xFF else None, stop_hop=stop_hop or None,
                   errmsg=errmsg, probes=ps, pmtud=pmtud, lastditch=lastditch, dtree=dtree)


def _norm_reply(r: TraceReply, probe_size: int) -> TraceReply:
    """Apply scamper 20260420's hop-record writer rules to one reply."""
    flags = r.flags or 0
    icmp = not flags & 0x60
    tcp = bool(flags & 0x20)
    # Decide the ICMP predicates on the values that will be stored.
    probe = TraceReply(r.addr, flags=flags, icmp_type=(r.icmp_type or 0) if icmp else None,
                       icmp_code=(r.icmp_code or 0) if icmp else None)
    q = probe.is_icmp_q
    ipl = r.icmp_q_ipl or 0
    qttl = r.icmp_q_ttl or 0
    return TraceReply(
        r.addr, ttl=r.ttl or 0, flags=flags, rtt=r.rtt or 0, icmp_type=probe.icmp_type,
        icmp_code=probe.icmp_code, size=r.size or 0, ipid=r.ipid or None, tos=r.tos or 0,
        icmp_nhmtu=(r.icmp_nhmtu or 0) if probe.is_icmp_ptb else None,
        icmp_q_ipl=ipl if q and ipl != probe_size else None,
        icmp_q_ttl=qttl if q and qttl != 1 else None,
        tcp_flags=(r.tcp_flags or 0) if tcp else None,
        icmp_q_tos=(r.icmp_q_tos or 0) if q else None,
        icmp_exts=r.icmp_exts, name=r.name)


def _norm_probe(p: TraceProbe, probe_size: int) -> TraceProbe:
    tx = p.tx if p.tx is not None and p.tx.sec != 0 else None
    return TraceProbe(p.ttl, p.id or 0, p.size or 0, tx,
                      tuple(_norm_reply(r, probe_size) for r in p.replies))
