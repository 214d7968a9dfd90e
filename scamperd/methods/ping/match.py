"""Which probe a reply answers: scamper's do_ping_handle_icmp/_dl matching.

Echo and timestamp replies match by ICMP id and sequence, ICMP errors by the
probe they quote, and direct TCP/UDP replies by port, or for fixed-port
methods over IPv4 by the IP-ID looking back at most five probes (the target
may echo our IP-ID), else the latest probe.  Functions of the task's state
(:class:`PingView`), which they only read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from protocol.commands.ping import PingCommand, PingMethod

from ...engine.packets import (
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    Icmp4,
    Icmp6,
    Reply,
)
from ...engine.task import MatchKey
from .probes import probe_proto

M = PingMethod
IPID_LOOKBACK = 5  # match_ipid(): probes examined for an echoed IP-ID

# Quoted ICMP type of our probe, by method and family.
QUOTED_ICMP_TYPE = {
    (M.ICMP_ECHO, False): Icmp4.ECHO,
    (M.ICMP_ECHO, True): Icmp6.ECHO_REQUEST,
    (M.ICMP_TIME, False): Icmp4.TSTAMP,
}
# The reply type each ICMP method wants from the target.
REPLY_ICMP_TYPE = {
    (M.ICMP_ECHO, False): Icmp4.ECHOREPLY,
    (M.ICMP_ECHO, True): Icmp6.ECHO_REPLY,
    (M.ICMP_TIME, False): Icmp4.TSTAMPREPLY,
}



def command_keys(cmd: PingCommand) -> tuple[MatchKey, ...] | None:
    """The keys a ping's task will hold, from the command alone (PingTask's
    match_keys); None when they are drawn as the task is built (-F 0)."""
    if cmd.sport == 0:
        return None
    dst = cmd.dst.packed
    proto = probe_proto(cmd, len(dst) == 16)
    if cmd.is_vary_sport:
        return tuple((proto, cmd.sport + i, dst) for i in range(cmd.attempts))
    return ((proto, cmd.sport, dst),)


class SentIpid(Protocol):
    ipid: int


class PingView(Protocol):
    """What matching reads of a ping task."""

    cmd: PingCommand
    v6: bool
    src: bytes
    dst: bytes
    sport: int
    sports: tuple[int, ...] | None
    dl: bool
    spoof: bool
    sockrx: bool

    @property
    def probes(self) -> Sequence[SentIpid]: ...


def _match_ipid(t: PingView, ipid: int) -> int:
    """match_ipid(): the latest of the last five probes with this IP-ID,
    else the latest probe."""
    n = len(t.probes)
    for seq in range(n - 1, max(n - IPID_LOOKBACK, 0) - 1, -1):
        if t.probes[seq].ipid == ipid:
            return seq
    return n - 1


def _sport_index(t: PingView, sport: int) -> int | None:
    assert t.sports is not None
    n = len(t.probes)
    for i in range(n):
        if t.sports[i] == sport:
            return i
    return None


def _icmp_seq(t: PingView, seq: int) -> int:
    """The probe number of an ICMP sequence number (it wraps at 2^16)."""
    if seq < t.cmd.dport:
        seq += 0x10000
    return seq - t.cmd.dport


def match(t: PingView, r: Reply) -> tuple[int, str] | None:
    """(probe number, receive path) of a reply, or None if not ours."""
    cmd = t.cmd
    q = r.quote
    if r.is_icmp:
        if t.spoof and t.sockrx:
            return None  # a spoofing ping opens no ICMP socket to read from
        path = "dl" if t.dl and not t.sockrx else "icmp"
        if q is None:
            want = REPLY_ICMP_TYPE.get((cmd.method, t.v6))
            if want is None or r.icmp_type != want or r.icmp_id != t.sport:
                return None
            if path == "dl" and r.dst and r.dst != t.src:
                return None
            return _icmp_seq(t, r.icmp_seq), path
        if q.offset != 0 or not q.has_transport or q.dst != t.dst:
            return None
        seq = _match_quote(t, r)
        return None if seq is None else (seq, path)
    if not t.dl or r.src != t.dst or (r.dst and r.dst != t.src):
        # scamper sees direct TCP/UDP replies only on the datalink
        return None
    if r.proto == IPPROTO_TCP and cmd.is_tcp:
        if r.sport != cmd.dport:
            return None
        if t.sports is not None:
            i = _sport_index(t, r.dport)
            return None if i is None else (i, "dl")
        if r.dport != t.sport:
            return None
        return (_match_ipid(t, r.ipid) if not t.v6 else len(t.probes) - 1), "dl"
    if r.proto == IPPROTO_UDP and cmd.is_udp:
        if cmd.method is M.UDP:
            if r.dport == t.sport and r.sport == cmd.dport:
                return len(t.probes) - 1, "dl"
        elif cmd.method is M.UDP_DPORT:
            if r.dport == t.sport and r.sport >= cmd.dport:
                return r.sport - cmd.dport, "dl"
        elif r.sport == cmd.dport:
            i = _sport_index(t, r.dport)
            return None if i is None else (i, "dl")
    return None


def _match_quote(t: PingView, r: Reply) -> int | None:
    """The probe an ICMP error quotes (do_ping_handle_icmp)."""
    cmd = t.cmd
    q = r.quote
    assert q is not None
    if cmd.is_icmp:
        want = QUOTED_ICMP_TYPE.get((cmd.method, t.v6))
        if q.proto not in (IPPROTO_ICMP, IPPROTO_ICMPV6) or q.icmp_type != want \
                or q.icmp_id != t.sport:
            return None
        return _icmp_seq(t, q.icmp_seq)
    if cmd.is_tcp:
        if q.proto != IPPROTO_TCP or q.dport != cmd.dport:
            return None
        if t.sports is not None:
            return _sport_index(t, q.sport)
        if q.sport != t.sport:
            return None
        return _match_ipid(t, q.ipid) if not t.v6 else len(t.probes) - 1
    if q.proto != IPPROTO_UDP:
        return None
    if cmd.method is M.UDP:
        if q.sport != t.sport or q.dport != cmd.dport:
            return None
        return _match_ipid(t, q.ipid) if not t.v6 else len(t.probes) - 1
    if cmd.method is M.UDP_DPORT:
        if q.sport != t.sport or not cmd.dport <= q.dport <= cmd.dport + len(t.probes):
            return None
        return q.dport - cmd.dport
    if q.dport != cmd.dport:
        return None
    return _sport_index(t, q.sport)
