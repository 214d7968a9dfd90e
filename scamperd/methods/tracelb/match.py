"""Which probe a reply answers: do_tracelb_handle_icmp() and _handle_dl().

The engine hands a tracelb the replies filed under its keys (see
:func:`match_keys`); these functions do the exact check and recover the
probe id from the reply, or from the probe an ICMP error quotes.
"""

from __future__ import annotations

from protocol.commands.tracelb import TracelbCommand

from ...engine.packets import IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, Reply, TcpFlag
from ...engine.task import MatchKey, PortRange
from .probes import TCP_METHODS, UDP_METHODS, VARY_SPORT, LbSpec, M, probe_proto


def match_keys(method: int, sport: int, dst: bytes) -> tuple[MatchKey, ...]:
    """The task's signature, as scamper_do_tracelb_alloctask() declares it:
    a fixed source port (or ICMP id), or every source port towards ``dst``
    when the flow id is the source port."""
    proto = probe_proto(method, len(dst) == 16)
    if method in VARY_SPORT:
        return (PortRange(proto, 0, 0xFFFF, dst),)
    return ((proto, sport, dst),)


def command_keys(cmd: TracelbCommand) -> tuple[MatchKey, ...]:
    return match_keys(int(cmd.method), cmd.sport, cmd.dst.packed)


def match_icmp(spec: LbSpec, r: Reply, id_next: int) -> int | None:
    """The probe id an ICMP reply is for, or None (do_tracelb_handle_icmp)."""
    if id_next == 0:
        return None
    m = spec.method
    q = r.quote
    echo = m == M.ICMP_ECHO and q is None and r.is_echo_reply()
    if not echo:
        if q is None or not (r.is_ttl_exceeded() or r.is_unreach() or r.is_ptb()) \
                or q.offset != 0 or not q.has_transport:
            return None
    pid: int
    if m in UDP_METHODS:
        assert q is not None
        if q.proto != IPPROTO_UDP:
            return None
        if m == M.UDP_DPORT:
            if q.sport != spec.sport:
                return None
        elif q.dport != spec.dport:
            return None
        if not spec.v6:
            if q.udp_sum == q.ipid and q.udp_sum != 0:
                pid = q.udp_sum - 1
            elif q.ipid != 0:
                pid = q.ipid - 1
            else:
                return None
        else:
            if q.udp_sum == 0:
                return None
            pid = q.udp_sum - 1
    elif m == M.ICMP_ECHO:
        if echo:
            if r.icmp_id != spec.sport or r.icmp_seq >= id_next:
                return None
            pid = r.icmp_seq
        else:
            assert q is not None
            want = IPPROTO_ICMPV6 if spec.v6 else IPPROTO_ICMP
            if q.proto != want or q.icmp_id != spec.sport or q.icmp_seq >= id_next:
                return None
            pid = q.icmp_seq
    else:
        assert q is not None
        if q.proto != IPPROTO_TCP or q.dport != spec.dport or q.ipid == 0:
            return None
        pid = q.ipid - 1
    return pid if pid < id_next else None


def match_tcp(spec: LbSpec, r: Reply, id_next: int, last_flowid: int) -> bool:
    """do_tracelb_handle_dl() for a TCP segment: from the target's port to
    the latest probe's flow (nothing says which probe it answers, so
    scamper takes the latest), and not one of our own probes."""
    if spec.method not in TCP_METHODS or r.proto != IPPROTO_TCP or id_next == 0:
        return False
    if spec.method == M.TCP_SPORT and r.tcp_flags == TcpFlag.SYN:
        return False
    if spec.method == M.TCP_ACK_SPORT and r.tcp_flags == TcpFlag.ACK:
        return False
    return r.sport == spec.dport and r.dport == last_flowid
