"""The warts ping record (object type 0x07): model, codec and builder.

Layout (scamper/ping/scamper_ping_warts.c, 20260420; warts.md §3.5): a
flags+params block of 34 parameters, a u16 reply count, then one
flags+params block of 21 parameters per reply.

Decoded records keep every parameter exactly as it was on the wire, ``None``
meaning "absent", so ``encode(decode(b)) == b`` holds for both the 20211212
writer (which always wrote flag 14, and the IPID quirks: flag 15 for every
IPv4 reply, flags 8 and 9 for every IPv6 reply) and the 20260420 writer.
Where scamper's reader would fill in a default, the model offers a property
or helper that applies it (:attr:`Ping.flags`, :attr:`Ping.wait_timeout`,
:func:`reply_proto`, :func:`reply_ipid32`, :meth:`Ping.probes`, ...).

Replies are kept flat, in file order, each with the probe-level values the
wire stores beside it (probe id, probe IPID, probe tx, probe sport).  scamper
groups them per probe, and takes the probe's values from the first reply of
that probe; :meth:`Ping.probes` builds that grouping for the renderers.

Records the daemon writes are built with :meth:`Ping.build`, which follows
the 20260420 writer's rules for what it leaves out.

scamper 20260420 also has a TCP MSS option (``ping->tcpmss``, reply
``tcp_mss``) that its JSON prints when not 0, but its warts writer does not
store either, so read back they are always 0 and never printed.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, fields
from math import sqrt
from operator import attrgetter
from typing import Any, ClassVar

from ..address import ADDR_IPV4, ADDR_IPV6, Address
from ..fastobj import constructor
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_PING
from ..wire import Timeval
from .ping_enums import (
    FLAG_NAMES,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    METHOD_NAMES,
    METHODS_ICMP,
    METHODS_TCP,
    METHODS_UDP,
    METHODS_VARY_DPORT,
    METHODS_VARY_SPORT,
    STOP_NAMES,
    PingFlag,
    PingMethod,
    PingReplyFlag,
    PingStop,
    method_name,
    stop_name,
)

# scamper's numbers and names are part of this module's interface.
__all__ = [
    "FLAG_NAMES", "IPPROTO_ICMP", "IPPROTO_ICMPV6", "IPPROTO_TCP", "IPPROTO_UDP",
    "METHODS_ICMP", "METHODS_TCP", "METHODS_UDP", "METHODS_VARY_DPORT",
    "METHODS_VARY_SPORT", "METHOD_NAMES", "Ping", "PingFlag", "PingMethod", "PingProbe",
    "PingReply", "PingReplyFlag", "PingReplyTSReply", "PingReplyV4TS", "PingStats",
    "PingStop", "STOP_NAMES", "build_probes", "build_reply", "method_name", "ping_stats",
    "reply_from_target", "reply_groups", "reply_ipid32", "reply_is_icmp", "reply_is_ptb",
    "reply_proto", "stop_name",
]

_WAIT_DEFAULT = Timeval(1, 0)


# --------------------------------------------------------------------------
# Model


@dataclass(frozen=True, slots=True)
class PingReplyV4TS:
    """scamper_ping_reply_v4ts_t: the IPv4 timestamp option of a reply.

    ``ips`` is None when the reply carried timestamps only (wire ipc 0);
    otherwise it has one address per timestamp.
    """

    tss: tuple[int, ...]
    ips: tuple[Address, ...] | None = None


@dataclass(frozen=True, slots=True)
class PingReplyTSReply:
    """scamper_ping_reply_tsreply_t: ICMP timestamp reply originate/receive/transmit."""

    tso: int
    tsr: int
    tst: int


@dataclass(frozen=True, slots=True)
class PingReply:
    """One reply block, as stored (reply flag numbers in the comments).

    The probe-level values (``probe_id``, ``probe_ipid``, ``probe_tx``,
    ``probe_sport``) are stored with each reply on the wire; scamper's reader
    takes them from the first reply of each probe.  ``reply_ipid`` (flag 8)
    is the 16-bit IPID; ``ipid32`` (flag 15) the 32-bit one: see
    :func:`reply_ipid32` for which the reader uses.  Deprecated flag 1 (a
    global address id) is resolved into ``addr``.
    """

    flags: int | None = None                  # 2
    ttl: int | None = None                    # 3
    size: int | None = None                   # 4
    icmp_type: int | None = None              # 5 (with icmp_code)
    icmp_code: int | None = None              # 5
    rtt: int | None = None                    # 6, microseconds
    probe_id: int | None = None               # 7, 0-based
    reply_ipid: int | None = None             # 8
    probe_ipid: int | None = None             # 9
    proto: int | None = None                  # 10
    tcp_flags: int | None = None              # 11
    addr: Address | None = None               # 12 (required)
    v4rr: tuple[Address, ...] | None = None   # 13
    v4ts: PingReplyV4TS | None = None         # 14
    ipid32: int | None = None                 # 15
    probe_tx: Timeval | None = None           # 16
    tsreply: PingReplyTSReply | None = None   # 17
    probe_sport: int | None = None            # 18
    tos: int | None = None                    # 19
    ifname: str | None = None                 # 20
    icmp_nhmtu: int | None = None             # 21


@dataclass(frozen=True, slots=True)
class PingProbe:
    """scamper_ping_probe_t: one probe and the replies it got.

    :meth:`Ping.probes` derives these from the stored replies; they are
    also the input of :meth:`Ping.build`.  ``flags`` holds the probe bits of
    scamper's reply flags (PROBE_IPID, DLTX, PENDING).
    """

    id: int
    tx: Timeval = Timeval(0, 0)
    ipid: int = 0
    sport: int = 0
    flags: int = 0
    replies: tuple[PingReply, ...] = ()


@dataclass(frozen=True, slots=True)
class PingStats:
    """scamper_ping_stats_t as scamper_ping_stats_alloc() computes it (RTTs in µs)."""

    nreplies: int = 0
    ndups: int = 0
    nloss: int = 0
    nerrs: int = 0
    npend: int = 0
    min_rtt: int = 0
    max_rtt: int = 0
    avg_rtt: int = 0
    stddev_rtt: int = 0


@dataclass(frozen=True, slots=True)
class Ping:
    """scamper_ping_t, with each parameter as stored (flag numbers in comments).

    Split or renamed relative to scamper's struct: the wait between probes
    and the timeout are stored as their wire halves (``wait_probe_sec`` /
    ``wait_probe_usec``, ``wait_timeout_sec`` / ``wait_timeout_usec``), the
    flags as ``flags8`` (low byte, flag 22) and ``flags32`` (flag 30).  The
    properties :attr:`flags`, :attr:`wait_probe` and :attr:`wait_timeout`
    give the values scamper's reader derives.  ``src_gid``/``dst_gid`` are
    the deprecated global address ids; decoding resolves them into
    ``src``/``dst`` and leaves them None.
    """

    OBJ_TYPE: ClassVar[int] = OBJ_PING

    list: ListInfo | None = None              # 1
    cycle: CycleInfo | None = None            # 2
    src_gid: int | None = None                # 3 (deprecated)
    dst_gid: int | None = None                # 4 (deprecated)
    start: Timeval | None = None              # 5
    stop_reason: int | None = None            # 6
    stop_data: int | None = None              # 7
    datalen: int | None = None                # 8
    data: bytes | None = None                 # 9
    attempts: int | None = None               # 10
    size: int | None = None                   # 11
    wait_probe_sec: int | None = None         # 12
    ttl: int | None = None                    # 13
    stop_count: int | None = None             # 14
    ping_sent: int | None = None              # 15
    method: int | None = None                 # 16
    sport: int | None = None                  # 17
    dport: int | None = None                  # 18
    userid: int | None = None                 # 19
    src: Address | None = None                # 20
    dst: Address | None = None                # 21 (required)
    flags8: int | None = None                 # 22
    tos: int | None = None                    # 23
    tsps: tuple[Address, ...] | None = None   # 24
    icmpsum: int | None = None                # 25
    pmtu: int | None = None                   # 26
    wait_timeout_sec: int | None = None       # 27
    wait_probe_usec: int | None = None        # 28
    tcpack: int | None = None                 # 29
    flags32: int | None = None                # 30
    tcpseq: int | None = None                 # 31
    rtr: Address | None = None                # 32
    wait_timeout_usec: int | None = None      # 33
    errmsg: str | None = None                 # 34
    replies: tuple[PingReply, ...] = ()

    # -- values as scamper's reader derives them ---------------------------

    @property
    def flags(self) -> int:
        """The ping flags: flag 30 if present, else flag 22, else 0."""
        if self.flags32 is not None:
            return self.flags32
        return self.flags8 if self.flags8 is not None else 0

    @property
    def wait_probe(self) -> Timeval:
        return Timeval(self.wait_probe_sec or 0, self.wait_probe_usec or 0)

    @property
    def wait_timeout(self) -> Timeval:
        """The timeout; its seconds default to the wait's when flag 27 is absent."""
        sec = self.wait_timeout_sec
        if sec is None:
            sec = self.wait_probe_sec or 0
        return Timeval(sec, self.wait_timeout_usec or 0)

    def probes(self) -> builtins.list[PingProbe | None]:
        """scamper's ``ping->probes`` array: ``ping_sent`` slots, each None or
        the probe with its replies in file order.  The probe's tx, IPID,
        sport and flags come from its first reply, as in
        warts_ping_reply_read_int(); its flags keep the PROBE_IPID and DLTX
        bits of that reply's flags."""
        return build_probes(self)

    def stats(self) -> PingStats:
        return ping_stats(self)

    # -- builder -----------------------------------------------------------

    @classmethod
    def build(cls, *, dst: Address, start: Timeval, ping_sent: int,
              probes: Sequence[PingProbe] = (),
              list: ListInfo | None = None, cycle: CycleInfo | None = None,
              userid: int = 0, src: Address | None = None, rtr: Address | None = None,
              stop_reason: int = PingStop.NONE, stop_data: int = 0,
              errmsg: str | None = None, data: bytes = b"",
              wait_probe: Timeval = _WAIT_DEFAULT, wait_timeout: Timeval | None = None,
              attempts: int = 4, size: int = 84, method: int = PingMethod.ICMP_ECHO,
              ttl: int = 64, tos: int = 0, sport: int = 0, dport: int = 0,
              icmpsum: int = 0, tcpseq: int = 0, tcpack: int = 0, stop_count: int = 0,
              pmtu: int = 0, tsps: Sequence[Address] | None = None,
              flags: int = 0) -> Ping:
        """A ping as scamper 20260420's writer would store it.

        Arguments are scamper's struct values (``wait_timeout`` defaults to
        ``wait_probe``).  ``probes`` are the probes that got replies (warts
        has no place for a probe without one); each reply's own values are
        read with None as 0, and its probe-level fields are taken from the
        probe (``PingProbe.flags`` is not stored: scamper derives it from
        the first reply's flags).  What the 20260420 writer leaves out
        is set to None:

        | param | stored only when |
        |---|---|
        | 1, 2 list/cycle | set |
        | 8, 9 data length and bytes | data is not empty |
        | 14 stop count, 16 method, 17 sport, 18 dport, 19 userid | not 0 |
        | 23 tos, 26 pmtu, 29 TCP ack, 31 TCP seq | not 0 |
        | 20 src, 24 tsps, 32 rtr, 34 errmsg | set |
        | 22 flags8 | ``flags & 0xff`` is not 0 (stored as that byte) |
        | 30 flags32 | ``flags`` has bits above 0xff |
        | 25 icmpsum | not 0 and flags has ICMPSUM |
        | 27 timeout seconds | differs from the wait seconds |
        | 28, 33 wait/timeout microseconds | not 0 |

        See :func:`build_reply` for the reply rules.  (scamper 20211212's
        reader, unlike 20260420's, also rejects a ping without ``src``.)
        """
        if wait_timeout is None:
            wait_timeout = wait_probe
        dst_v4 = dst.atype == ADDR_IPV4
        dst_v6 = dst.atype == ADDR_IPV6
        replies = []
        for probe in sorted(probes, key=lambda p: p.id):
            if probe.id >= ping_sent:
                raise ValueError(f"probe id {probe.id} is not below ping_sent {ping_sent}")
            for r in probe.replies:
                replies.append(build_reply(r, probe, method, dst_v4, dst_v6))
        datalen = len(data)
        return cls(
            list=list, cycle=cycle, start=start, stop_reason=stop_reason,
            stop_data=stop_data,
            datalen=datalen or None, data=data if datalen else None,
            attempts=attempts, size=size, wait_probe_sec=wait_probe.sec, ttl=ttl,
            stop_count=stop_count or None, ping_sent=ping_sent, method=method or None,
            sport=sport or None, dport=dport or None, userid=userid or None,
            src=src, dst=dst, flags8=(flags & 0xFF) or None, tos=tos or None,
            tsps=tuple(tsps) if tsps is not None else None,
            icmpsum=icmpsum if icmpsum and flags & PingFlag.ICMPSUM else None,
            pmtu=pmtu or None,
            wait_timeout_sec=(wait_timeout.sec if wait_timeout.sec != wait_probe.sec
                              else None),
            wait_probe_usec=wait_probe.usec or None, tcpack=tcpack or None,
            flags32=flags if flags & ~0xFF else None, tcpseq=tcpseq or None, rtr=rtr,
            wait_timeout_usec=wait_timeout.usec or None, errmsg=errmsg,
            replies=tuple(replies))


# PingStats is made per record by the renderers: see warts.fastobj.
_new_stats = constructor(PingStats)


def reply_is_icmp(addr: Address | None, proto: int) -> bool:
    """SCAMPER_PING_REPLY_IS_ICMP: ICMP from a v4 address or ICMPv6 from a v6 one."""
    if addr is None:
        return False
    return ((addr.atype == ADDR_IPV4 and proto == IPPROTO_ICMP)
            or (addr.atype == ADDR_IPV6 and proto == IPPROTO_ICMPV6))


def reply_is_ptb(addr: Address | None, proto: int, icmp_type: int, icmp_code: int) -> bool:
    """SCAMPER_PING_REPLY_IS_ICMP_PTB."""
    if addr is None:
        return False
    if addr.atype == ADDR_IPV4:
        return proto == IPPROTO_ICMP and icmp_type == 3 and icmp_code == 4
    return addr.atype == ADDR_IPV6 and proto == IPPROTO_ICMPV6 and icmp_type == 2


def reply_proto(reply: PingReply, dst: Address | None) -> int:
    """The reply protocol; when flag 10 is absent scamper's reader assumes
    ICMP for an IPv4 destination and ICMPv6 otherwise."""
    if reply.proto is not None:
        return reply.proto
    return IPPROTO_ICMP if dst is not None and dst.atype == ADDR_IPV4 else IPPROTO_ICMPV6


def reply_ipid32(reply: PingReply, dst: Address | None) -> int:
    """scamper's ``reply->ipid32``: flag 8 for an IPv4 destination (the
    reader copies it over flag 15), else flag 15, else 0."""
    if reply.reply_ipid is not None and dst is not None and dst.atype == ADDR_IPV4:
        return reply.reply_ipid
    return reply.ipid32 if reply.ipid32 is not None else 0


def build_reply(r: PingReply, probe: PingProbe, method: int, dst_v4: bool,
                dst_v6: bool) -> PingReply:
    """One reply as the 20260420 writer stores it (None in ``r`` reads as 0).

    | reply param | stored only when |
    |---|---|
    | 1 address gid | never |
    | 2 flags, 19 tos, 18 probe sport | not 0 |
    | 3 ttl | flags has REPLY_TTL |
    | 5 ICMP type/code | the reply is ICMP (v4 proto 1, v6 proto 58) |
    | 8 reply IPID (``ipid32 & 0xffff``) | IPv4 dst and flags has REPLY_IPID |
    | 9 probe IPID | IPv4 dst and flags has PROBE_IPID |
    | 10 proto | the method is not ICMP |
    | 11 TCP flags | proto is TCP |
    | 15 IPID32 | IPv6 dst and flags has REPLY_IPID |
    | 16 probe tx | its seconds are not 0 |
    | 21 next-hop MTU | the reply is an ICMP packet-too-big |
    | 4 size, 6 rtt, 7 probe id, 12 addr | always |
    """
    if r.addr is None:
        raise ValueError("a ping reply needs an address")
    flags = r.flags or 0
    proto = r.proto
    if proto is None:
        proto = IPPROTO_ICMP if dst_v4 else IPPROTO_ICMPV6
    is_icmp = reply_is_icmp(r.addr, proto)
    ipid32 = r.ipid32 or 0
    icmp_type = r.icmp_type or 0
    icmp_code = r.icmp_code or 0
    return PingReply(
        flags=flags or None,
        ttl=(r.ttl or 0) if flags & PingReplyFlag.REPLY_TTL else None,
        size=r.size or 0,
        icmp_type=icmp_type if is_icmp else None,
        icmp_code=icmp_code if is_icmp else None,
        rtt=r.rtt or 0,
        probe_id=probe.id,
        reply_ipid=ipid32 & 0xFFFF if dst_v4 and flags & PingReplyFlag.REPLY_IPID else None,
        probe_ipid=probe.ipid if dst_v4 and flags & PingReplyFlag.PROBE_IPID else None,
        proto=None if method in METHODS_ICMP else proto,
        tcp_flags=(r.tcp_flags or 0) if proto == IPPROTO_TCP else None,
        addr=r.addr,
        v4rr=r.v4rr,
        v4ts=r.v4ts,
        ipid32=ipid32 if dst_v6 and flags & PingReplyFlag.REPLY_IPID else None,
        probe_tx=probe.tx if probe.tx.sec != 0 else None,
        tsreply=r.tsreply,
        probe_sport=probe.sport or None,
        tos=r.tos or None,
        ifname=r.ifname,
        icmp_nhmtu=((r.icmp_nhmtu or 0)
                    if reply_is_ptb(r.addr, proto, icmp_type, icmp_code) else None),
    )


_PROBE_FLAG_MASK = PingReplyFlag.PROBE_IPID | PingReplyFlag.DLTX


def reply_groups(ping: Ping) -> builtins.list[builtins.list[PingReply]]:
    """The replies per probe, in probe id order, each group in file order
    (the order scamper's renderers visit them).  Probes without replies do
    not exist in a stored ping, so every group is non-empty."""
    replies = ping.replies
    last = -1
    for r in replies:
        pid = r.probe_id or 0
        if pid <= last:
            break
        last = pid
    else:
        # The usual case: one reply per probe, already in order.
        return [[r] for r in replies]
    slots: dict[int, builtins.list[PingReply]] = {}
    for r in replies:
        pid = r.probe_id or 0
        group = slots.get(pid)
        if group is None:
            slots[pid] = [r]
        else:
            group.append(r)
    return [slots[pid] for pid in sorted(slots)]


def build_probes(ping: Ping) -> builtins.list[PingProbe | None]:
    """scamper's ``ping->probes`` array (see :meth:`Ping.probes`)."""
    out: list[PingProbe | None] = [None] * (ping.ping_sent or 0)
    for rs in reply_groups(ping):
        first = rs[0]
        pid = first.probe_id or 0
        out[pid] = PingProbe(pid, first.probe_tx or Timeval(0, 0), first.probe_ipid or 0,
                             first.probe_sport or 0, (first.flags or 0) & _PROBE_FLAG_MASK,
                             tuple(rs))
    return out


def _unreach_port(addr: Address, proto: int, icmp_type: int, icmp_code: int) -> bool:
    if addr.atype == ADDR_IPV4:
        return proto == IPPROTO_ICMP and icmp_type == 3 and icmp_code == 3
    return addr.atype == ADDR_IPV6 and proto == IPPROTO_ICMPV6 and icmp_type == 1 \
        and icmp_code == 4


def reply_from_target(method: int, dst: Address | None, r: PingReply) -> bool:
    """SCAMPER_PING_REPLY_IS_FROM_TARGET for a stored reply."""
    proto = r.proto
    if proto is None:
        proto = IPPROTO_ICMP if dst is not None and dst.atype == ADDR_IPV4 else IPPROTO_ICMPV6
    return _from_target(method, r.addr, proto, r.icmp_type or 0, r.icmp_code or 0)


def _from_target(method: int, addr: Address | None, proto: int, t: int, c: int) -> bool:
    """reply_from_target() of a reply from ``addr`` of protocol ``proto``
    (the default applied), ICMP type ``t`` and code ``c`` (None as 0)."""
    if addr is None:
        return False
    if method == 0:
        if addr.atype == ADDR_IPV4:
            return proto == IPPROTO_ICMP and t == 0
        return addr.atype == ADDR_IPV6 and proto == IPPROTO_ICMPV6 and t == 129
    if method == 5:
        return addr.atype == ADDR_IPV4 and proto == IPPROTO_ICMP and t == 14
    if method in METHODS_TCP:
        return proto == IPPROTO_TCP
    if method in METHODS_UDP:
        return proto == IPPROTO_UDP or _unreach_port(addr, proto, t, c)
    return False


# A reply as a sequence of its fields in declaration order (the lists the
# ping codec's compiled reader returns; ``_reply_values(r)`` for an object),
# and the positions the statistics and the JSON renderer read.
_reply_values = attrgetter(*(f.name for f in fields(PingReply)))
(R_FLAGS, R_TTL, R_SIZE, R_ICMP_TYPE, R_ICMP_CODE, R_RTT, R_PROBE_ID, R_REPLY_IPID,
 R_PROBE_IPID, R_PROTO, R_TCP_FLAGS, R_ADDR, R_V4RR, R_V4TS, R_IPID32, R_PROBE_TX,
 R_TSREPLY, R_PROBE_SPORT, R_TOS, R_IFNAME, R_ICMP_NHMTU) = range(21)


def reply_values(r: PingReply) -> tuple[Any, ...]:
    """``r``'s fields in declaration order (see :func:`stats_of_values`)."""
    return _reply_values(r)  # type: ignore[no-any-return]


def group_values(replies: Sequence[Sequence[Any]]) -> builtins.list[builtins.list[Any]]:
    """:func:`reply_groups` of replies given as their field values."""
    last = -1
    for v in replies:
        pid = v[R_PROBE_ID] or 0
        if pid <= last:
            break
        last = pid
    else:
        return [[v] for v in replies]
    slots: dict[int, builtins.list[Any]] = {}
    for v in replies:
        pid = v[R_PROBE_ID] or 0
        group = slots.get(pid)
        if group is None:
            slots[pid] = [v]
        else:
            group.append(v)
    return [slots[pid] for pid in sorted(slots)]


def ping_stats(ping: Ping,
               groups: Sequence[Sequence[PingReply]] | None = None) -> PingStats:
    """scamper_ping_stats_alloc(), including its double arithmetic: the mean
    and standard deviation are computed in doubles over the from-target
    replies in probe order, then truncated to whole microseconds.

    (scamper counts a probe flagged PENDING apart; a probe read from warts
    never is, as its flags keep only the PROBE_IPID and DLTX bits.)
    """
    if groups is None:
        groups = reply_groups(ping)
    return stats_of_values(ping.method or 0, ping.dst,
                           [[_reply_values(r) for r in rs] for rs in groups])


def stats_of_values(method: int, dst: Address | None,
                    groups: Sequence[Sequence[Sequence[Any]]]) -> PingStats:
    """:func:`ping_stats` of a ping with ``method`` (0 when absent) and
    ``dst``, from its reply groups with each reply as its field values."""
    default_proto = (IPPROTO_ICMP if dst is not None and dst.atype == ADDR_IPV4
                     else IPPROTO_ICMPV6)
    is_tcp = method in METHODS_TCP
    nreplies = ndups = nloss = nerrs = 0
    min_rtt = max_rtt = 0
    total = 0.0
    rtts: builtins.list[int] = []
    for rs in groups:
        rxc = 0
        for v in rs:
            addr = v[R_ADDR]
            proto = v[R_PROTO]
            if proto is None:
                proto = default_proto
            # reply_from_target(), inlined for the two common methods
            if method == 0 and addr is not None:
                t = v[R_ICMP_TYPE] or 0
                atype = addr.atype
                hit = ((t == 0 and proto == IPPROTO_ICMP and atype == ADDR_IPV4)
                       or (t == 129 and proto == IPPROTO_ICMPV6 and atype == ADDR_IPV6))
            elif is_tcp and addr is not None:
                hit = proto == IPPROTO_TCP
            else:
                hit = _from_target(method, addr, proto, v[R_ICMP_TYPE] or 0,
                                   v[R_ICMP_CODE] or 0)
            if hit:
                rtt = v[R_RTT] or 0
                if not rtts:
                    min_rtt = max_rtt = rtt
                elif rtt < min_rtt:
                    min_rtt = rtt
                elif rtt > max_rtt:
                    max_rtt = rtt
                total += rtt
                rtts.append(rtt)
                rxc += 1
        if rxc > 0:
            nreplies += 1
            ndups += rxc - 1
        else:
            nloss += 1
        nerrs += len(rs) - rxc
    avg = stddev = 0
    n = len(rtts)
    if n > 0:
        mean = total / n
        avg = int(mean) & 0xFFFFFFFF
        sq = 0.0
        for rtt in rtts:
            diff = rtt - mean
            sq += diff * diff
        stddev = int(sqrt(sq / n)) & 0xFFFFFFFF
    values = (nreplies, ndups, nloss, nerrs, 0, min_rtt, max_rtt, avg, stddev)
    return _new_stats(*values)
