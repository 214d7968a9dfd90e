"""Dealias (alias resolution) records, warts object type 0x09.

Layout and reader behaviour follow scamper/dealias/scamper_dealias_warts.c
(20260420); the 20211212 files read and re-encode byte for byte too.

A record is a header flags+params block, then the method's own flags+params
block followed by its probedefs, then ``probec`` probes, each followed by its
replies.  Every optional parameter is kept exactly as it was on the wire
(``None`` = absent), so re-encoding reproduces the input; the renderers apply
scamper's reader defaults.

| header flag | field | type | 20260420 writer emits it |
|---:|---|---|---|
| 1, 2 | list, cycle | u32 warts ids | always (0 when none) |
| 3 | start | timeval | always |
| 4 | method | u8 | always |
| 5 | result | u8 | if not 0 |
| 6 | probec | u32 | if not 0 |
| 7 | userid | u32 | if not 0 |
| 8 | errmsg | string | if set (20260420 only) |

Reader rules kept here (scamper_file_warts_dealias_read):

| situation | what scamper does, and so what we do |
|---|---|
| method absent, 0, or above 7 | header-only record; rest of body kept in ``trailer`` |
| radargun/midarest/midardisc probedefc 0 or absent | error |
| probedef without dst, or with a method that is not ICMP/UDP/TCP | error |
| probe's probedef index (flag 1, default 0) >= number of probedefs | error |
| reply without a source address | error |
| reply proto absent | ICMP (1) for an IPv4 source, ICMPv6 (58) otherwise |
| prefixscan replyc absent | 5 |
| probedef id absent | 0 |
| ICMP probedef with the 4-byte field (old files) | checksum is its bytes 2-3 |

A probe refers to its probedef by index (the wire value is the probedef's
``id``, which scamper keeps equal to its index); :attr:`DealiasProbe.def_id`
keeps the raw value and :meth:`Dealias.probedef_of` resolves it.

To build a record the way scamper 20260420's writer would, use the ``build``
classmethods (:meth:`Dealias.build`, :meth:`DealiasProbedef.build`,
:meth:`DealiasProbe.build`, :meth:`DealiasReply.build` and one per method
block); they take plain values and leave ``None`` whatever that writer omits.

This module holds the model; :mod:`.dealias_wire` the codec and
:mod:`.dealias_render` the JSON, text and dump renderers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import ClassVar, TypeAlias

from ..address import Address
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_DEALIAS
from ..wire import IcmpExt, Timeval

# --------------------------------------------------------------------------
# scamper's numbers (scamper_dealias.h)


class DealiasMethod(IntEnum):
    MERCATOR = 1
    ALLY = 2
    RADARGUN = 3
    PREFIXSCAN = 4
    BUMP = 5
    MIDAREST = 6
    MIDARDISC = 7


class DealiasResult(IntEnum):
    NONE = 0
    ALIASES = 1
    NOTALIASES = 2
    HALTED = 3
    IPIDECHO = 4
    ERROR = 5


class ProbedefMethod(IntEnum):
    ICMP_ECHO = 1
    TCP_ACK = 2
    UDP = 3
    TCP_ACK_SPORT = 4
    UDP_DPORT = 5
    TCP_SYN_SPORT = 6


class AllyFlag(IntFlag):
    NOBS = 0x01


class RadargunFlag(IntFlag):
    SHUFFLE = 0x01


class PrefixscanFlag(IntFlag):
    NOBS = 0x01
    CSA = 0x02


class ReplyFlag(IntFlag):
    IPID32 = 0x01


PD_ICMP = frozenset((ProbedefMethod.ICMP_ECHO,))
PD_UDP = frozenset((ProbedefMethod.UDP, ProbedefMethod.UDP_DPORT))
PD_TCP = frozenset((ProbedefMethod.TCP_ACK, ProbedefMethod.TCP_ACK_SPORT,
                    ProbedefMethod.TCP_SYN_SPORT))

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_ICMPV6 = 58


def _nz(v: int) -> int | None:
    """The writer's "emit only if not 0" rule."""
    return v if v else None


# --------------------------------------------------------------------------
# Probedefs, probes, replies


@dataclass(frozen=True, slots=True)
class DealiasProbedef:
    """scamper_dealias_probedef_t.

    | flag | field | type | 20260420 writer emits it |
    |---:|---|---|---|
    | 1, 2 | (dst, src GIDs) | u32 | never; read into dst/src |
    | 3 | id | u32 | if not 0 |
    | 4 | method | u8 | always |
    | 5 | ttl | u8 | always |
    | 6 | tos | u8 | if not 0 |
    | 7 | ports | 2 x u16 | UDP and TCP: (sport, dport) |
    | 8 | tcp_flags | u8 | TCP |
    | 9 | icmp_id | u16 | ICMP |
    | 10 | dst | addr | always |
    | 11 | src | addr | if set |
    | 12 | size | u16 | if not 0 |
    | 13 | mtu | u16 | if not 0 |
    | 14 | icmp_csum | u16 | ICMP, if not 0 |
    """

    dst: Address
    method: int
    id: int | None = None
    ttl: int | None = None
    tos: int | None = None
    ports: tuple[int, int] | None = None
    tcp_flags: int | None = None
    icmp_id: int | None = None
    src: Address | None = None
    size: int | None = None
    mtu: int | None = None
    icmp_csum: int | None = None

    @property
    def is_icmp(self) -> bool:
        return self.method in PD_ICMP

    @property
    def is_udp(self) -> bool:
        return self.method in PD_UDP

    @property
    def is_tcp(self) -> bool:
        return self.method in PD_TCP

    @property
    def sport(self) -> int:
        """UDP/TCP source port as scamper reads it (0 if the field is absent)."""
        return self.ports[0] if self.ports is not None else 0

    @property
    def dport(self) -> int:
        return self.ports[1] if self.ports is not None else 0

    @property
    def csum(self) -> int:
        """ICMP checksum as scamper reads it: the old 4-byte field wins."""
        if self.ports is not None:
            return self.ports[1]
        return self.icmp_csum or 0

    @classmethod
    def build(cls, *, dst: Address, method: int, id: int = 0, ttl: int = 255,
              tos: int = 0, src: Address | None = None, size: int = 0, mtu: int = 0,
              sport: int = 0, dport: int = 0, tcp_flags: int = 0, icmp_id: int = 0,
              icmp_csum: int = 0) -> DealiasProbedef:
        """A probedef as scamper 20260420 writes it (``id`` is its index)."""
        icmp = method in PD_ICMP
        tcp = method in PD_TCP
        if not (icmp or tcp or method in PD_UDP):
            raise ValueError(f"unknown probedef method {method}")
        return cls(dst=dst, method=method, id=_nz(id), ttl=ttl, tos=_nz(tos),
                   ports=None if icmp else (sport, dport),
                   tcp_flags=tcp_flags if tcp else None,
                   icmp_id=icmp_id if icmp else None, src=src, size=_nz(size),
                   mtu=_nz(mtu), icmp_csum=_nz(icmp_csum) if icmp else None)


@dataclass(frozen=True, slots=True)
class DealiasReply:
    """scamper_dealias_reply_t.

    | flag | field | type | 20260420 writer emits it |
    |---:|---|---|---|
    | 1 | (src GID) | u32 | never; read into src |
    | 2 | rx | timeval | always |
    | 3 | ipid | u16 | IPv4 source and not 0 |
    | 4 | ttl | u8 | always |
    | 5 | icmp_type, icmp_code | u8, u8 | ICMP |
    | 6 | icmp_q_ttl | u8 | ICMP |
    | 7 | icmp_exts | icmpext | ICMP, if any |
    | 8 | proto | u8 | not ICMP (absent reads as ICMP/ICMPv6 by src family) |
    | 9 | tcp_flags | u8 | TCP |
    | 10 | src | addr | always |
    | 11 | ipid32 | u32 | IPv6 source and not 0 |
    | 12 | flags | u8 | if not 0 (0x01: ipid32 valid) |
    | 13 | size | u16 | if not 0 (20260420 only) |
    """

    src: Address
    rx: Timeval | None = None
    ipid: int | None = None
    ttl: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    icmp_q_ttl: int | None = None
    icmp_exts: tuple[IcmpExt, ...] | None = None
    proto: int | None = None
    tcp_flags: int | None = None
    ipid32: int | None = None
    flags: int | None = None
    size: int | None = None

    @property
    def proto_read(self) -> int:
        """The protocol as scamper's reader sets it (default by src family)."""
        if self.proto is not None:
            return self.proto
        return IPPROTO_ICMP if self.src.atype == 1 else IPPROTO_ICMPV6

    @property
    def is_icmp(self) -> bool:
        return self.proto_read in (IPPROTO_ICMP, IPPROTO_ICMPV6)

    @property
    def is_tcp(self) -> bool:
        return self.proto_read == IPPROTO_TCP

    @property
    def is_icmp_q(self) -> bool:
        """An ICMP error that quotes the probe (unreachable or TTL expired)."""
        p = self.proto_read
        t = self.icmp_type or 0
        return (p == IPPROTO_ICMP and t in (3, 11)) or (p == IPPROTO_ICMPV6 and t in (1, 3))

    @classmethod
    def build(cls, *, src: Address, rx: Timeval, ttl: int, proto: int, size: int = 0,
              ipid: int = 0, ipid32: int = 0, flags: int = 0, icmp_type: int = 0,
              icmp_code: int = 0, icmp_q_ttl: int = 0,
              icmp_exts: tuple[IcmpExt, ...] | None = None,
              tcp_flags: int = 0) -> DealiasReply:
        """A reply as scamper 20260420 writes it."""
        icmp = proto in (IPPROTO_ICMP, IPPROTO_ICMPV6)
        return cls(src=src, rx=rx,
                   ipid=ipid if src.atype == 1 and ipid else None, ttl=ttl,
                   icmp_type=icmp_type if icmp else None,
                   icmp_code=icmp_code if icmp else None,
                   icmp_q_ttl=icmp_q_ttl if icmp else None,
                   icmp_exts=icmp_exts if icmp and icmp_exts else None,
                   proto=None if icmp else proto,
                   tcp_flags=tcp_flags if proto == IPPROTO_TCP else None,
                   ipid32=ipid32 if src.atype == 2 and ipid32 else None,
                   flags=_nz(flags), size=_nz(size))


@dataclass(frozen=True, slots=True)
class DealiasProbe:
    """scamper_dealias_probe_t.

    | flag | field | type | 20260420 writer emits it |
    |---:|---|---|---|
    | 1 | def_id | u32 | the probedef's id (= its index), if not 0 |
    | 2 | tx | timeval | always |
    | 3 | (replyc) | u16 | if there are replies; ``len(replies)`` |
    | 4 | ipid | u16 | when the probedef's dst is IPv4 |
    | 5 | seq | u32 | if not 0 |
    """

    def_id: int | None = None
    tx: Timeval | None = None
    ipid: int | None = None
    seq: int | None = None
    replies: tuple[DealiasReply, ...] = ()

    @property
    def def_index(self) -> int:
        """The index into the method's probedefs (absent reads as 0)."""
        return self.def_id or 0

    @classmethod
    def build(cls, *, probedef: DealiasProbedef, tx: Timeval, seq: int = 0, ipid: int = 0,
              replies: tuple[DealiasReply, ...] = ()) -> DealiasProbe:
        """A probe of ``probedef`` as scamper 20260420 writes it."""
        return cls(def_id=probedef.id, tx=tx,
                   ipid=ipid if probedef.dst.atype == 1 else None,
                   seq=_nz(seq), replies=tuple(replies))


# --------------------------------------------------------------------------
# Method data blocks


@dataclass(frozen=True, slots=True)
class DealiasMercator:
    """Flag 1 attempts (u8), 2 wait_timeout (u8 seconds); then one probedef.
    The writer emits both flags always."""

    METHOD: ClassVar[int] = DealiasMethod.MERCATOR
    probedefs: tuple[DealiasProbedef, ...]
    attempts: int | None = None
    wait_timeout: int | None = None

    @property
    def probedef(self) -> DealiasProbedef:
        return self.probedefs[0]

    @classmethod
    def build(cls, *, probedef: DealiasProbedef, attempts: int,
              wait_timeout: int) -> DealiasMercator:
        return cls((probedef,), attempts, wait_timeout)


@dataclass(frozen=True, slots=True)
class DealiasAlly:
    """Flags 1 wait_probe (u16 ms), 2 wait_timeout (u8 s), 3 attempts (u8)
    always; 4 fudge (u16) and 5 flags (u8) if not 0.  Then two probedefs."""

    METHOD: ClassVar[int] = DealiasMethod.ALLY
    probedefs: tuple[DealiasProbedef, ...]
    wait_probe: int | None = None
    wait_timeout: int | None = None
    attempts: int | None = None
    fudge: int | None = None
    flags: int | None = None

    @classmethod
    def build(cls, *, probedefs: tuple[DealiasProbedef, DealiasProbedef], wait_probe: int,
              wait_timeout: int, attempts: int, fudge: int = 0,
              flags: int = 0) -> DealiasAlly:
        return cls(tuple(probedefs), wait_probe, wait_timeout, attempts, _nz(fudge), _nz(flags))


@dataclass(frozen=True, slots=True)
class DealiasRadargun:
    """Flags 1 probedefc (u32), 2 rounds (u16), 3 wait_probe (u16 ms),
    4 wait_round (u32 ms), 5 wait_timeout (u8 s) always; 6 flags (u8) if not 0.
    Then probedefc probedefs."""

    METHOD: ClassVar[int] = DealiasMethod.RADARGUN
    probedefs: tuple[DealiasProbedef, ...]
    probedefc: int | None = None
    rounds: int | None = None
    wait_probe: int | None = None
    wait_round: int | None = None
    wait_timeout: int | None = None
    flags: int | None = None

    @classmethod
    def build(cls, *, probedefs: tuple[DealiasProbedef, ...], rounds: int, wait_probe: int,
              wait_round: int, wait_timeout: int, flags: int = 0) -> DealiasRadargun:
        pds = tuple(probedefs)
        return cls(pds, len(pds), rounds, wait_probe, wait_round, wait_timeout, _nz(flags))


@dataclass(frozen=True, slots=True)
class DealiasPrefixscan:
    """Flags 1 a, 2 b, 3 ab (addr, if set), 4 xs (u16 count + addrs, if any),
    5 prefix (u8), 6 attempts (u8), 7 fudge (u16), 8 wait_probe (u16 ms),
    9 wait_timeout (u8 s) always, 10 probedefc (u16) if not 0, 11 flags (u8)
    if not 0, 12 replyc (u8) if not 5 (absent reads as 5).  Then probedefs."""

    METHOD: ClassVar[int] = DealiasMethod.PREFIXSCAN
    probedefs: tuple[DealiasProbedef, ...] = ()
    a: Address | None = None
    b: Address | None = None
    ab: Address | None = None
    xs: tuple[Address, ...] | None = None
    prefix: int | None = None
    attempts: int | None = None
    fudge: int | None = None
    wait_probe: int | None = None
    wait_timeout: int | None = None
    probedefc: int | None = None
    flags: int | None = None
    replyc: int | None = None

    @property
    def replyc_read(self) -> int:
        return 5 if self.replyc is None else self.replyc

    @classmethod
    def build(cls, *, a: Address | None, b: Address | None, prefix: int, attempts: int,
              fudge: int, wait_probe: int, wait_timeout: int, ab: Address | None = None,
              xs: tuple[Address, ...] = (), probedefs: tuple[DealiasProbedef, ...] = (),
              flags: int = 0, replyc: int = 5) -> DealiasPrefixscan:
        pds = tuple(probedefs)
        return cls(pds, a, b, ab, tuple(xs) or None, prefix, attempts, fudge, wait_probe,
                   wait_timeout, _nz(len(pds)), _nz(flags), None if replyc == 5 else replyc)


@dataclass(frozen=True, slots=True)
class DealiasBump:
    """Flags 1 wait_probe (u16 ms), 2 bump_limit (u16), 3 attempts (u8),
    always.  Then two probedefs."""

    METHOD: ClassVar[int] = DealiasMethod.BUMP
    probedefs: tuple[DealiasProbedef, ...]
    wait_probe: int | None = None
    bump_limit: int | None = None
    attempts: int | None = None

    @classmethod
    def build(cls, *, probedefs: tuple[DealiasProbedef, DealiasProbedef], wait_probe: int,
              bump_limit: int, attempts: int) -> DealiasBump:
        """``wait_probe`` in ms.  scamper 20260420's bump writer computes the
        stored value as ``sec*1000 + sec/1000`` (it drops the sub-second part
        of the wait), and this builder does the same."""
        sec = wait_probe // 1000
        return cls(tuple(probedefs), (sec * 1000 + sec // 1000) & 0xFFFF, bump_limit, attempts)


@dataclass(frozen=True, slots=True)
class DealiasMidarest:
    """Flags 1 probedefc (u16), 2 rounds (u8), 3 wait_probe, 4 wait_round,
    5 wait_timeout (RTT-coded u32 microseconds), always.  Then probedefs."""

    METHOD: ClassVar[int] = DealiasMethod.MIDAREST
    probedefs: tuple[DealiasProbedef, ...]
    probedefc: int | None = None
    rounds: int | None = None
    wait_probe: int | None = None
    wait_round: int | None = None
    wait_timeout: int | None = None

    @classmethod
    def build(cls, *, probedefs: tuple[DealiasProbedef, ...], rounds: int, wait_probe: int,
              wait_round: int, wait_timeout: int) -> DealiasMidarest:
        pds = tuple(probedefs)
        return cls(pds, len(pds), rounds, wait_probe, wait_round, wait_timeout)


@dataclass(frozen=True, slots=True)
class DealiasMidardiscRound:
    """scamper_dealias_midardisc_round_t: start (relative), begin/end indexes."""

    start: Timeval
    begin: int
    end: int


@dataclass(frozen=True, slots=True)
class DealiasMidardisc:
    """Flags 1 probedefc (u32), 2 wait_timeout (RTT-coded us) always;
    3 sched (u32 count, then timeval + u32 begin + u32 end each) if any;
    4 startat (timeval) if set.  Then probedefs."""

    METHOD: ClassVar[int] = DealiasMethod.MIDARDISC
    probedefs: tuple[DealiasProbedef, ...]
    probedefc: int | None = None
    wait_timeout: int | None = None
    sched: tuple[DealiasMidardiscRound, ...] | None = None
    startat: Timeval | None = None

    @classmethod
    def build(cls, *, probedefs: tuple[DealiasProbedef, ...], wait_timeout: int,
              sched: tuple[DealiasMidardiscRound, ...] = (),
              startat: Timeval | None = None) -> DealiasMidardisc:
        pds = tuple(probedefs)
        return cls(pds, len(pds), wait_timeout, tuple(sched) or None, startat)


MethodData: TypeAlias = (DealiasMercator | DealiasAlly | DealiasRadargun | DealiasPrefixscan
              | DealiasBump | DealiasMidarest | DealiasMidardisc)


# --------------------------------------------------------------------------
# The record


@dataclass(frozen=True, slots=True)
class Dealias:
    """scamper_dealias_t.

    ``data`` is the method block (None for a method number scamper does not
    know; then ``probes`` is empty and ``trailer`` holds the unparsed rest of
    the body).  ``probec`` is the raw header count; for known methods it
    equals ``len(probes)`` (None when 0, as the writer omits it).
    """

    OBJ_TYPE: ClassVar[int] = OBJ_DEALIAS
    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    start: Timeval | None = None
    method: int | None = None
    result: int | None = None
    probec: int | None = None
    userid: int | None = None
    errmsg: str | None = None
    data: MethodData | None = None
    probes: tuple[DealiasProbe, ...] = ()
    trailer: bytes = b""

    @property
    def probedefs(self) -> tuple[DealiasProbedef, ...]:
        return self.data.probedefs if self.data is not None else ()

    def probedef_of(self, probe: DealiasProbe) -> DealiasProbedef:
        """The probedef ``probe`` was sent with."""
        return self.probedefs[probe.def_index]

    @classmethod
    def build(cls, *, data: MethodData, start: Timeval, result: int = 0, userid: int = 0,
              errmsg: str | None = None, probes: tuple[DealiasProbe, ...] = (),
              list: ListInfo | None = None, cycle: CycleInfo | None = None) -> Dealias:
        """A record as scamper 20260420 writes it; ``data`` gives the method."""
        probes = tuple(probes)
        return cls(list=list, cycle=cycle, start=start, method=data.METHOD,
                   result=_nz(result), probec=_nz(len(probes)), userid=_nz(userid),
                   errmsg=errmsg, data=data, probes=probes)
