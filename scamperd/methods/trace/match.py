"""Which probe a reply answers: scamper's do_trace_handle_icmp/_tcp matching.

Probe ids, which routers quote back, are the 0-based count of probes sent;
they travel in the IPv4 IP-ID, the UDP destination port or checksum (paris),
the ICMP sequence or checksum, or the TCP sequence number, as :mod:`.probes`
put them there.  These functions recover the id from a reply.
"""

from __future__ import annotations

from protocol.commands.trace import TraceCommand

from ...engine.packets import IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, Reply
from ...engine.task import MatchKey
from .probes import ICMP_TYPES, TCP_TYPES, UDP_TYPES, ProbeSpec, T, byteswap16, probe_proto


def command_keys(cmd: TraceCommand) -> tuple[MatchKey, ...] | None:
    """The key a trace's task will hold, from the command alone (TraceTask's
    match_keys); None when its port or ICMP id is drawn as it is built."""
    if cmd.sport == 0:
        return None
    dst = cmd.dst.packed
    proto = probe_proto(int(cmd.method), len(dst) == 16)
    return ((proto, None if cmd.offset else cmd.sport, dst),)


def ipid_fudge(ipid: int, id_next: int) -> int | None:
    """trace_ipid_fudge(): the probe id a quoted IPv4 IP-ID stands for.

    Routers may hand back the IP-ID incremented or byte-swapped; 0 is
    refused (some zero it).  scamper's ids start at 1 for this reason.
    """
    if ipid == 0:
        return None
    if ipid <= id_next:
        return ipid - 1
    if ipid == id_next + 1:
        return ipid - 2
    sw = byteswap16(ipid)
    if sw <= id_next:
        return sw - 1
    return None


def match_icmp(spec: ProbeSpec, r: Reply, id_next: int) -> int | None:
    """do_trace_handle_icmp(): the probe id an ICMP reply is for, or None.

    Accepted: TTL exceeded, unreachable and packet too big quoting a probe
    with offset 0, and for ICMP methods an echo reply.
    """
    m = spec.method
    q = r.quote
    if spec.offset:
        return _match_fragment(spec, r, id_next)
    if q is None:
        if m in ICMP_TYPES and r.is_echo_reply() and r.icmp_id == spec.sport \
                and r.icmp_seq < id_next:
            return r.icmp_seq
        return None
    if not (r.is_ttl_exceeded() or r.is_unreach() or r.is_ptb()) or q.offset != 0 \
            or not q.has_transport:
        return None
    pid: int | None
    if m in UDP_TYPES:
        if q.proto != IPPROTO_UDP or q.sport != spec.sport:
            return None
        if m == T.UDP:
            if not spec.dport <= q.dport < spec.dport + id_next:
                return None
            pid = q.dport - spec.dport
        else:
            if q.dport != spec.dport:
                return None
            if not spec.v6:
                if q.udp_sum == q.ipid and q.udp_sum != 0:
                    pid = q.udp_sum - 1
                else:
                    pid = ipid_fudge(q.ipid, id_next)
            elif not spec.const_payload:
                if q.udp_sum == 0:
                    return None
                pid = q.udp_sum - 1
            else:
                if q.flow == 0:
                    return None
                pid = q.flow - 1
    elif m in ICMP_TYPES:
        want = IPPROTO_ICMPV6 if spec.v6 else IPPROTO_ICMP
        if q.proto != want or q.icmp_id != spec.sport or q.icmp_seq >= id_next:
            return None
        pid = q.icmp_seq
    else:
        if q.proto != IPPROTO_TCP or q.sport != spec.sport or q.dport != spec.dport:
            return None
        if not spec.v6:
            pid = ipid_fudge(q.ipid, id_next)
        else:
            if q.flow == 0:
                return None
            pid = q.flow - 1
    if pid is None or not 0 <= pid < id_next:
        return None
    return pid


def _match_fragment(spec: ProbeSpec, r: Reply, id_next: int) -> int | None:
    """do_trace_handle_icmp() for -o: an error quoting a fragment with our
    offset, protocol and source port in the identification's high bits.

    scamper reads the id from the quoted data's first four bytes; it is also
    the identification's low 16 bits (as built), which is what we read: the
    quote parser keeps no data past a non-first fragment's header.
    """
    q = r.quote
    if q is None or not (r.is_ttl_exceeded() or r.is_unreach() or r.is_ptb()):
        return None
    if q.offset != spec.offset or q.proto != probe_proto(spec.method, True) \
            or q.ipid >> 16 != spec.sport:
        return None
    pid = q.ipid & 0xFFFF
    return pid if pid < id_next else None


def match_tcp(spec: ProbeSpec, r: Reply, id_next: int) -> int | None:
    """do_trace_handle_dl() for an inbound TCP segment: the target answering
    a TCP method.  Nothing tells which probe it answers, so scamper takes the
    latest."""
    if spec.method not in TCP_TYPES or r.proto != IPPROTO_TCP or id_next == 0:
        return None
    if r.src != spec.dst or (r.dst and r.dst != spec.src):
        return None
    if r.sport != spec.dport or r.dport != spec.sport:
        return None
    return id_next - 1
