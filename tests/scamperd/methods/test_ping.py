"""PingTask without sockets: probes, timing, matching, stop rules, records.

Replies are synthetic packets built with scamperd.engine.packets around the
exact probe bytes the task produced, parsed as the engine would parse them.
"""

from __future__ import annotations

import errno
import json
import random
import socket
import struct
import sys
from pathlib import Path

import pytest

import warts
from protocol.commands.base import CommandContext
from protocol.commands.ping import PingCommand, parse_ping
from scamperd.engine import packets as P
from scamperd.engine.fakenet import forge
from scamperd.engine.options import tcp_mss_option
from scamperd.engine.scheduler import reply_keys
from scamperd.engine.senderr import send_error
from scamperd.engine.task import FINISHED, Probe, SendProbe, Wait
from scamperd.methods.ping import PingTask
from scamperd.methods.ping.probes import icmp_time_originate
from tests.testbed import Testbed
from warts.types.ping import Ping, PingReplyFlag, PingStop

SRC4 = socket.inet_aton("10.200.1.1")
DST4 = socket.inet_aton("10.200.6.2")
RTR4 = socket.inet_aton("10.200.2.2")
SRC6 = socket.inet_pton(socket.AF_INET6, "fd00:200:1::1")
DST6 = socket.inet_pton(socket.AF_INET6, "fd00:200:6::2")
RTR6 = socket.inet_pton(socket.AF_INET6, "fd00:200:2::2")

T0 = 1_700_000_000_123_456_789  # ns
SEC = 1_000_000_000
MS = 1_000_000
CTX = CommandContext(pid=0x1234, random_u32=lambda: 0x11223344)


def cmd(args: str) -> PingCommand:
    return parse_ping(args, CTX)


def task(args: str, **kw: object) -> PingTask:
    c = cmd(args)
    src = SRC6 if ":" in args.split()[-1] else SRC4
    return PingTask(c, src=src, list=None, cycle=None, rng=random.Random(7),
                    **kw)  # type: ignore[arg-type]


def send(t: PingTask, now: int) -> Probe:
    """Ask for the next probe at ``now`` and report it sent then."""
    a = t.next_action(now)
    assert isinstance(a, SendProbe), a
    t.probe_sent(a.probe, now)
    return a.probe


# Replies forged with the fake network's forger, with this file's defaults.

def echo_reply4(probe: Probe, rx: int, *, ttl: int = 60, ipid: int = 777,
                tos: int = 0, options: bytes = b"") -> P.Reply:
    """The target's echo reply to an IPv4 echo probe (same id/seq/payload)."""
    return forge.as_received(forge.echo_reply(probe.packet, ttl=ttl, ipid=ipid, tos=tos,
                                              options=options), rx)


def error4(probe: Probe, rx: int, *, frm: bytes = RTR4, typ: int = 11, code: int = 0,
           rest: bytes = bytes(4)) -> P.Reply:
    """An ICMP error from ``frm`` quoting the whole IPv4 probe."""
    return forge.as_received(forge.icmp_error(frm, probe.packet, typ, code, rest=rest,
                                              ttl=250, ipid=5), rx)


def echo_reply6(probe: Probe, rx: int, *, hlim: int = 61, tclass: int = 0) -> P.Reply:
    return forge.as_received(forge.echo_reply(probe.packet, ttl=hlim, tos=tclass), rx)


def error6(probe: Probe, rx: int, *, frm: bytes = RTR6, typ: int = 1, code: int = 4,
           rest: bytes = bytes(4)) -> P.Reply:
    return forge.as_received(forge.icmp_error(frm, probe.packet, typ, code, rest=rest,
                                              ttl=63), rx)


def tcp_reply4(probe: Probe, rx: int, flags: int, *, ipid: int = 999) -> P.Reply:
    return forge.as_received(forge.tcp_reply(probe.packet, flags, seq=12345, ttl=59,
                                             ipid=ipid), rx)


def roundtrip(rec: Ping) -> Ping:
    """Encode, decode, and render JSON: the record must survive all three."""
    data = warts.encode([rec])
    back = [r for r in warts.decode(data) if isinstance(r, Ping)]
    assert len(back) == 1
    assert back[0] == rec
    text = warts.to_json(back[0])
    assert text is not None
    json.loads(text)
    return back[0]


def ip4_ok(pkt: bytes) -> None:
    ihl = (pkt[0] & 0x0F) * 4
    assert P.checksum(pkt[:ihl]) == 0
    assert struct.unpack_from(">H", pkt, 2)[0] == len(pkt)


# --------------------------------------------------------------------------
# probes


def test_ping_icmp_echo_v4_probe_bytes() -> None:
    t = task("-c 3 10.200.6.2")
    probes = [send(t, T0 + i * SEC) for i in range(3)]
    ipids = set()
    for i, pr in enumerate(probes):
        pkt = pr.packet
        ip4_ok(pkt)
        assert len(pkt) == 84  # scamper's default echo probe size
        assert pkt[8] == 64 and pkt[9] == P.IPPROTO_ICMP
        assert struct.unpack_from(">H", pkt, 6)[0] == 0x4000  # DF, no offset
        ipid = struct.unpack_from(">H", pkt, 4)[0]
        assert ipid != 0
        ipids.add(ipid)
        typ, code, _, ident, seq = struct.unpack_from(">BBHHH", pkt, 20)
        assert (typ, code, ident, seq) == (8, 0, 0x1234, i)
        assert P.checksum(pkt[20:]) == 0
        assert pkt[28:] == bytes(56)
        assert pr.dst == DST4 and pkt[12:16] == SRC4
        assert pr.ident.ipid == ipid
    assert len(ipids) == 3


def test_ping_icmp_echo_v6_probe_bytes() -> None:
    t = task("-c 2 -d 65535 -m 9 -z 0x20 fd00:200:6::2")
    probes = [send(t, T0 + i * SEC) for i in range(2)]
    for i, pr in enumerate(probes):
        pkt = pr.packet
        assert len(pkt) == 104
        first, plen, nxt, hlim = struct.unpack_from(">IHBB", pkt, 0)
        assert first >> 28 == 6 and (first >> 20) & 0xFF == 0x20 and first & 0xFFFFF == 0
        assert (plen, nxt, hlim) == (64, P.IPPROTO_ICMPV6, 9)
        typ, _, _, ident, seq = struct.unpack_from(">BBHHH", pkt, 40)
        assert (typ, ident, seq) == (128, 0x1234, (65535 + i) & 0xFFFF)
        assert P.checksum(pkt[40:], P.pseudo_sum(SRC6, DST6, 58, 64)) == 0


@pytest.mark.parametrize(("args", "payload"), [
    ("-p 0a0b0c -s 40", bytes.fromhex("0a0b0c") * 4),          # pattern repeated, cut
    ("-p abc -s 34", bytes.fromhex("0abc") * 3),               # odd digits: leading 0
    ("-B 0102030405", bytes.fromhex("0102030405")),           # the payload, sized by it
])
def test_ping_icmp_echo_payload_rules(args: str, payload: bytes) -> None:
    pr = send(task(f"{args} 10.200.6.2"), T0)
    assert pr.packet[28:] == payload


def test_ping_icmp_checksum_option() -> None:
    pr = send(task("-C 0x2323 10.200.6.2"), T0)
    assert struct.unpack_from(">H", pr.packet, 22)[0] == 0x2323
    assert P.checksum(pr.packet[20:]) == 0
    pr6 = send(task("-C 4660 fd00:200:6::2"), T0)
    assert struct.unpack_from(">H", pr6.packet, 42)[0] == 4660
    assert P.checksum(pr6.packet[40:], P.pseudo_sum(SRC6, DST6, 58, 64)) == 0


def test_ping_icmp_time_probe() -> None:
    t = task("-P icmp-time 10.200.6.2")
    pr = send(t, T0)
    # scamper counts the 12 timestamp bytes twice (in cmps and in the
    # payload), so its 84-byte icmp-time probe leaves as 72 bytes
    assert len(pr.packet) == 72 and t.result().size == 84
    typ, _, _, ident, seq, orig, rx, tx = struct.unpack_from(">BBHHHIII", pr.packet, 20)
    assert (typ, ident, seq) == (13, 0x1234, 0)
    assert orig == icmp_time_originate(T0) == ((T0 // SEC) % 86400) * 1000 + 123
    assert (rx, tx) == (0, 0)
    assert P.checksum(pr.packet[20:]) == 0


def test_ping_udp_probe_ports() -> None:
    for method, sports, dports in (
        ("udp", [0x9234] * 3, [33435] * 3),
        ("udp-dport", [0x9234] * 3, [33435, 33436, 33437]),
        ("udp-sport", [0x9234, 0x9235, 0x9236], [33435] * 3),
    ):
        t = task(f"-P {method} -c 3 10.200.6.2")
        for i in range(3):
            pkt = send(t, T0 + i * SEC).packet
            ip4_ok(pkt)
            assert len(pkt) == 40 and pkt[9] == P.IPPROTO_UDP
            sp, dp, ln, _ = struct.unpack_from(">HHHH", pkt, 20)
            assert (sp, dp, ln) == (sports[i], dports[i], 20)
            assert P.checksum(pkt[20:], P.pseudo_sum(SRC4, DST4, 17, 20)) == 0


@pytest.mark.parametrize(("method", "flags", "seq", "ack"), [
    ("tcp-syn", 0x02, 0x11223344, 0),
    ("tcp-ack", 0x10, 0x11223344, 0x11223344),
    ("tcp-synack", 0x12, 0x11223344, 0x11223344),
    ("tcp-rst", 0x04, 0x11223344, 0),
])
def test_ping_tcp_probe_header(method: str, flags: int, seq: int, ack: int) -> None:
    pkt = send(task(f"-P {method} -d 80 10.200.6.2"), T0).packet
    ip4_ok(pkt)
    assert len(pkt) == 40 and pkt[9] == P.IPPROTO_TCP
    sp, dp, s, a, doff, fl, win, _, urg = struct.unpack_from(">HHIIBBHHH", pkt, 20)
    assert (sp, dp, s, a, doff >> 4, fl, win, urg) == (0x9234, 80, seq, ack, 5, flags, 65535, 0)
    assert P.checksum(pkt[20:], P.pseudo_sum(SRC4, DST4, 6, 20)) == 0


def test_ping_tcp_mss_option_keeps_scamper_payload() -> None:
    # scamper's payload is size - hdr - 20 even with the 4-byte MSS option
    pkt = send(task("-P tcp-syn -O mss=1400 -d 80 10.200.6.2"), T0).packet
    assert pkt[32] >> 4 == 6
    assert pkt[40:44] == bytes((2, 4)) + struct.pack(">H", 1400)
    assert len(pkt) == 48


def test_ping_record_route_and_timestamp_options() -> None:
    pkt = send(task("-R 10.200.6.2"), T0).packet
    assert pkt[0] == 0x4F and len(pkt) == 124
    assert pkt[20:23] == bytes((7, 39, 4)) and pkt[23:60] == bytes(37)
    ip4_ok(pkt)
    pkt = send(task("-T tsprespec=10.200.1.2,10.200.2.2 10.200.6.2"), T0).packet
    assert pkt[20:24] == bytes((68, 20, 5, 3))
    assert pkt[24:28] == socket.inet_aton("10.200.1.2")
    assert len(pkt) == 84 + 20
    pkt = send(task("-T tsonly 10.200.6.2"), T0).packet
    assert pkt[20:24] == bytes((68, 40, 5, 0)) and len(pkt) == 124


# --------------------------------------------------------------------------
# timing and stop rules


def test_ping_timing_waits_and_completes() -> None:
    t = task("-c 3 -i 0.5 -W 2 10.200.6.2")
    assert list(t.match_keys()) == [(P.IPPROTO_ICMP, 0x1234, DST4)]
    send(t, T0)
    assert t.next_action(T0) == Wait(T0 + 500 * MS)
    assert t.next_action(T0 + 499 * MS) == Wait(T0 + 500 * MS)
    send(t, T0 + 510 * MS)  # the scheduler was late: the next wait runs from tx
    assert t.next_action(T0 + 510 * MS) == Wait(T0 + 1010 * MS)
    send(t, T0 + 1010 * MS)
    assert t.next_action(T0 + 1010 * MS) == Wait(T0 + 3010 * MS)
    assert t.next_action(T0 + 3010 * MS) is FINISHED
    rec = roundtrip(t.result())
    assert rec.stop_reason == PingStop.COMPLETED and rec.ping_sent == 3
    assert rec.replies == ()
    assert rec.start == warts.Timeval(T0 // SEC, 123456)


def test_ping_wait_timeout_defaults_to_wait_probe() -> None:
    t = task("-c 1 -i 3 10.200.6.2")
    send(t, T0)
    assert t.next_action(T0) == Wait(T0 + 3 * SEC)


def test_ping_stop_count_completes_early() -> None:
    t = task("-c 5 -o 2 10.200.6.2")
    p0 = send(t, T0)
    t.receive_reply(echo_reply4(p0, T0 + 5 * MS), T0 + 5 * MS)
    t.receive_reply(echo_reply4(p0, T0 + 6 * MS), T0 + 6 * MS)  # a duplicate: not counted
    assert isinstance(t.next_action(T0 + 6 * MS), Wait)
    p1 = send(t, T0 + SEC)
    t.receive_reply(echo_reply4(p1, T0 + SEC + 5 * MS), T0 + SEC + 5 * MS)
    assert t.next_action(T0 + SEC + 5 * MS) is FINISHED
    rec = roundtrip(t.result())
    assert rec.stop_reason == PingStop.COMPLETED and rec.ping_sent == 2
    assert [r.probe_id for r in rec.replies] == [0, 0, 1]
    assert rec.stats().ndups == 1


def test_ping_send_error_stops_with_scamper_errmsg() -> None:
    t = task("-c 3 10.200.6.2")
    send(t, T0)
    a = t.next_action(T0 + SEC)
    assert isinstance(a, SendProbe)
    err = send_error(a.probe, OSError(errno.ENETUNREACH, "Network is unreachable"))
    t.probe_sent(a.probe, T0 + SEC, err)
    assert t.next_action(T0 + SEC) is FINISHED
    rec = roundtrip(t.result())
    assert rec.stop_reason == PingStop.ERROR and rec.stop_data == errno.ENETUNREACH
    assert rec.errmsg == ("icmp4_probe could not send to 10.200.6.2 (64 ttl, 1 seq, 84 len): "
                          "Network is unreachable")
    assert rec.ping_sent == 1


def test_ping_halt() -> None:
    t = task("-c 3 10.200.6.2")
    send(t, T0)
    t.halt()
    assert t.next_action(T0) is FINISHED
    assert roundtrip(t.result()).stop_reason == PingStop.HALTED


# --------------------------------------------------------------------------
# matching and recording


def test_ping_echo_reply_v4_recorded() -> None:
    t = task("-c 2 10.200.6.2", ifname=lambda i: f"eth{i}")
    p0 = send(t, T0)
    rx = T0 + 1_234_999  # 1.234999 ms; timevals truncate each end to µs
    r = echo_reply4(p0, rx, ttl=60, ipid=4242, tos=0x10)
    r.ifindex = 3
    assert (P.IPPROTO_ICMP, 0x1234, DST4) in set(reply_keys(r))
    t.receive_reply(r, rx + 50 * MS)
    send(t, T0 + SEC)
    t.next_action(T0 + 3 * SEC)
    rec = roundtrip(t.result())
    assert rec.src == warts.Address.from_string("10.200.1.1")
    (rep,) = rec.replies
    assert rep.rtt == (rx // 1000) - (T0 // 1000) == 1235
    assert rep.ttl == 60 and rep.size == 84 and rep.icmp_type == 0 and rep.icmp_code == 0
    assert rep.reply_ipid == 4242 and rep.probe_ipid == p0.ident.ipid
    assert rep.tos == 0x10 and rep.ifname == "eth3"
    assert rep.flags == (PingReplyFlag.REPLY_TTL | PingReplyFlag.REPLY_IPID
                         | PingReplyFlag.PROBE_IPID | PingReplyFlag.REPLY_TOS)
    assert rep.proto is None  # ICMP methods do not store it
    assert rep.probe_tx == warts.Timeval(T0 // SEC, 123456)
    assert rec.stats().nreplies == 1


def test_ping_echo_reply_ignores_other_ids_and_future_seqs() -> None:
    t = task("-c 3 10.200.6.2")
    p0 = send(t, T0)
    bad = echo_reply4(p0, T0 + MS)
    bad.icmp_id = 0x4321
    t.receive_reply(bad, T0 + MS)
    future = echo_reply4(p0, T0 + MS)
    future.icmp_seq = 1  # probe 1 was not sent yet
    t.receive_reply(future, T0 + MS)
    assert all(not p.replies for p in t.probes)


def test_ping_echo_reply_seq_wraps() -> None:
    t = task("-c 2 -d 65535 10.200.6.2")
    send(t, T0)
    p1 = send(t, T0 + SEC)
    assert struct.unpack_from(">H", p1.packet, 26)[0] == 0
    t.receive_reply(echo_reply4(p1, T0 + SEC + MS), T0 + SEC + MS)
    assert len(t.probes[1].replies) == 1


def test_ping_echo_reply_v6_recorded() -> None:
    t = task("-c 1 fd00:200:6::2")
    p0 = send(t, T0)
    t.receive_reply(echo_reply6(p0, T0 + 2 * MS, hlim=61, tclass=0x28), T0 + 2 * MS)
    rec = roundtrip(t.result())
    (rep,) = rec.replies
    assert rep.rtt == 2000 and rep.ttl == 61 and rep.size == 104 and rep.icmp_type == 129
    assert rep.tos == 0x28 and rep.reply_ipid is None and rep.ipid32 is None
    assert rep.flags == PingReplyFlag.REPLY_TTL | PingReplyFlag.REPLY_TOS


def test_ping_icmp_error_quoting_echo_probe() -> None:
    t = task("-c 2 -m 2 10.200.6.2")
    send(t, T0)
    p1 = send(t, T0 + SEC)
    r = error4(p1, T0 + SEC + 3 * MS)
    assert (P.IPPROTO_ICMP, 0x1234, DST4) in set(reply_keys(r))
    t.receive_reply(r, T0 + SEC + 3 * MS)
    (rep,) = t.probes[1].replies
    assert rep.icmp_type == 11 and rep.addr == warts.Address.from_string("10.200.2.2")
    assert rep.rtt == 3000
    rec = roundtrip(t.result())
    assert rec.stats().nerrs == 1


def test_ping_icmp_time_reply() -> None:
    t = task("-P icmp-time -c 1 10.200.6.2")
    p0 = send(t, T0)
    pkt = forge.timestamp_reply(p0.packet, 1000, 1001, ipid=9)
    t.receive_reply(forge.as_received(pkt, T0 + MS), T0 + MS)
    rec = roundtrip(t.result())
    (rep,) = rec.replies
    assert rep.icmp_type == 14
    assert rep.tsreply is not None
    assert (rep.tsreply.tso, rep.tsreply.tsr, rep.tsreply.tst) == (
        icmp_time_originate(T0), 1000, 1001)


def test_ping_record_route_reply() -> None:
    t = task("-R -c 1 10.200.6.2")
    p0 = send(t, T0)
    hops = [socket.inet_aton(f"10.200.{n}.1") for n in (1, 2, 5)]
    opt = bytes((7, 39, 4 + 4 * len(hops))) + b"".join(hops) + bytes(36 - 4 * len(hops)) + b"\0"
    t.receive_reply(echo_reply4(p0, T0 + MS, options=opt), T0 + MS)
    rec = roundtrip(t.result())
    (rep,) = rec.replies
    assert rep.v4rr == tuple(warts.Address(1, h) for h in hops)


def test_ping_udp_port_unreach_matched_by_quoted_ipid() -> None:
    t = task("-P udp -c 7 10.200.6.2")
    probes = [send(t, T0 + i * SEC) for i in range(7)]
    assert list(t.match_keys()) == [(P.IPPROTO_UDP, 0x9234, DST4)]
    now = T0 + 7 * SEC
    # probe 3 is within the last five (2..6): matched by its IP-ID
    r = error4(probes[3], now, frm=DST4, typ=3, code=3)
    assert (P.IPPROTO_UDP, 0x9234, DST4) in set(reply_keys(r))
    t.receive_reply(r, now)
    assert len(t.probes[3].replies) == 1
    # probe 1 is too old: the reply goes to the latest probe
    t.receive_reply(error4(probes[1], now, frm=DST4, typ=3, code=3), now)
    assert len(t.probes[1].replies) == 0 and len(t.probes[6].replies) == 1
    rec = roundtrip(t.result())
    assert all(r.proto == P.IPPROTO_ICMP for r in rec.replies)
    assert rec.stats().nreplies == 2  # port unreachable counts as from the target


def test_ping_udp_v6_unreach_goes_to_latest() -> None:
    t = task("-P udp -c 2 fd00:200:6::2")
    p0 = send(t, T0)
    send(t, T0 + SEC)
    t.receive_reply(error6(p0, T0 + SEC + MS, frm=DST6), T0 + SEC + MS)
    assert len(t.probes[1].replies) == 1
    roundtrip(t.result())


def test_ping_udp_dport_matched_by_quoted_port() -> None:
    t = task("-P udp-dport -c 3 10.200.6.2")
    probes = [send(t, T0 + i * SEC) for i in range(3)]
    t.receive_reply(error4(probes[1], T0 + 3 * SEC, frm=DST4, typ=3, code=3), T0 + 3 * SEC)
    assert len(t.probes[1].replies) == 1


def test_ping_udp_sport_keys_and_matching() -> None:
    t = task("-P udp-sport -c 3 10.200.6.2")
    assert list(t.match_keys()) == [(P.IPPROTO_UDP, 0x9234 + i, DST4) for i in range(3)]
    probes = [send(t, T0 + i * SEC) for i in range(3)]
    t.receive_reply(error4(probes[2], T0 + 3 * SEC, frm=DST4, typ=3, code=3), T0 + 3 * SEC)
    t.receive_reply(error4(probes[0], T0 + 3 * SEC, frm=DST4, typ=3, code=3), T0 + 3 * SEC)
    rec = roundtrip(t.result())
    # scamper records the probe sport from the second probe on only
    assert [(r.probe_id, r.probe_sport) for r in rec.replies] == [(0, None), (2, 0x9236)]


def test_ping_udp_direct_reply_needs_dl() -> None:
    udp = P.build_udp(DST4, SRC4, 33435, 0x9234, b"x")
    pkt = P.build_ipv4(DST4, SRC4, P.IPPROTO_UDP, udp, ttl=64, ipid=1)
    t = task("-P udp -c 1 10.200.6.2")
    send(t, T0)
    t.receive_reply(P.parse_ipv4(pkt, T0 + MS), T0 + MS)
    assert not t.probes[0].replies
    t = task("-P udp -c 1 -O dl 10.200.6.2")
    send(t, T0)
    t.receive_reply(P.parse_ipv4(pkt, T0 + MS), T0 + MS)
    (rep,) = t.probes[0].replies
    assert rep.proto == P.IPPROTO_UDP and rep.flags is not None
    assert rep.flags & PingReplyFlag.DLRX
    roundtrip(t.result())


def test_ping_tcp_syn_synack_matched_by_echoed_ipid_else_latest() -> None:
    t = task("-P tcp-syn -c 3 -d 80 10.200.6.2")
    probes = [send(t, T0 + i * SEC) for i in range(3)]
    now = T0 + 3 * SEC
    r = tcp_reply4(probes[0], now, 0x12, ipid=probes[0].ident.ipid)
    assert (P.IPPROTO_TCP, 0x9234, DST4) in set(reply_keys(r))
    t.receive_reply(r, now)
    assert len(t.probes[0].replies) == 1
    t.receive_reply(tcp_reply4(probes[0], now, 0x14, ipid=(probes[2].ident.ipid + 1) or 1),
                    now)
    assert len(t.probes[2].replies) == 1
    rec = roundtrip(t.result())
    assert [r.tcp_flags for r in rec.replies] == [0x12, 0x14]
    assert all(r.proto == P.IPPROTO_TCP for r in rec.replies)
    assert all((r.flags or 0) & PingReplyFlag.DLRX for r in rec.replies)
    assert rec.tcpseq == 0x11223344 and rec.dport == 80


def test_ping_tcp_ignores_reply_from_wrong_port() -> None:
    t = task("-P tcp-ack -c 1 -d 80 10.200.6.2")
    p0 = send(t, T0)
    r = tcp_reply4(p0, T0 + MS, 0x04)
    r.sport = 81
    t.receive_reply(r, T0 + MS)
    assert not t.probes[0].replies


def test_ping_tcp_dl_drops_reply_before_probe() -> None:
    t = task("-P tcp-syn -c 1 -d 80 10.200.6.2")
    p0 = send(t, T0)
    t.receive_reply(tcp_reply4(p0, T0 - MS, 0x12), T0)
    assert not t.probes[0].replies


def test_ping_tcp_syn_sport_by_port() -> None:
    t = task("-P tcp-syn-sport -c 3 -d 80 10.200.6.2")
    probes = [send(t, T0 + i * SEC) for i in range(3)]
    assert [struct.unpack_from(">H", p.packet, 20)[0] for p in probes] == [
        0x9234, 0x9235, 0x9236]
    t.receive_reply(tcp_reply4(probes[1], T0 + 3 * SEC, 0x12), T0 + 3 * SEC)
    assert len(t.probes[1].replies) == 1


def test_ping_result_carries_command_fields() -> None:
    lst = warts.ListInfo(7, "default")
    c = cmd("-c 2 -i 1.5 -W 3 -o 1 -p aa -U 5 -z 4 10.200.6.2")
    t = PingTask(c, src=SRC4, list=lst, cycle=None, rng=random.Random(1))
    send(t, T0)
    rec = roundtrip(t.result())
    assert rec.list == lst and rec.attempts == 2 and rec.stop_count == 1
    assert rec.wait_probe == warts.Timeval(1, 500000)
    assert rec.wait_timeout == warts.Timeval(3, 0)
    assert rec.data == b"\xaa" and rec.userid == 5 and rec.tos == 4
    assert rec.sport == 0x1234 and rec.size == 84


# --------------------------------------------------------------------------
# against scamper 20260420's own records (tests/data/v20260420/ping_*.warts)

VECTORS = Path(__file__).resolve().parents[2] / "data" / "v20260420"
_METHOD_ARG = ("icmp-echo", "tcp-ack", "tcp-ack-sport", "udp", "udp-dport", "icmp-time",
               "tcp-syn", "tcp-synack", "tcp-rst", "tcp-syn-sport", "udp-sport")


def _vector(name: str) -> Ping:
    recs = [r for r in warts.decode((VECTORS / f"{name}.warts").read_bytes())
            if isinstance(r, Ping)]
    assert len(recs) == 1
    return recs[0]


def _args_of(v: Ping) -> str:
    """A command that asks for what the vector's ping did."""
    method = v.method or 0
    args = [f"-P {_METHOD_ARG[method]}", f"-c {v.attempts}", f"-F {v.sport or 0}",
            f"-m {v.ttl}", f"-s {v.size}"]
    if v.dport:
        args.append(f"-d {v.dport}")
    if v.flags & 1:
        args.append("-R")
    if v.wait_probe_usec:
        args.append(f"-i {v.wait_probe.sec}.{v.wait_probe.usec:06d}")
    if method in (1, 2, 7):
        args.append(f"-A {v.tcpack}")
    elif v.tcpseq:
        args.append(f"-A {v.tcpseq}")
    assert v.dst is not None
    return " ".join(args) + " " + str(v.dst)


def _like(probe: Probe, vr: warts.types.ping.PingReply, rx: int) -> P.Reply:
    """A reply to our ``probe`` of the kind scamper got (``vr``)."""
    assert vr.addr is not None and vr.size is not None
    frm, v6 = vr.addr.raw, len(probe.dst) == 16
    how = {"ttl": vr.ttl or 0, "tos": vr.tos or 0, "ipid": vr.reply_ipid or 0}
    typ, code = vr.icmp_type or 0, vr.icmp_code or 0
    if vr.proto == P.IPPROTO_TCP:
        assert frm == probe.dst
        extra = vr.size - (60 if v6 else 40)
        opts = tcp_mss_option(1360) if extra == 4 else bytes(extra)
        pkt = forge.tcp_reply(probe.packet, vr.tcp_flags or 0, seq=1, options=opts, **how)
    elif typ == 14:
        pkt = forge.timestamp_reply(probe.packet, frm=frm, **how)
    elif typ in (0, 129):  # from the target: echo back id, seq, data
        opts = b""
        if vr.v4rr:
            hops = b"".join(a.raw for a in vr.v4rr)
            opts = bytes((7, 39, 4 + len(hops))) + hops + bytes(36 - len(hops)) + b"\0"
        pkt = forge.echo_reply(probe.packet, frm=frm, options=opts, **how)
    else:
        quote = probe.packet[:vr.size - (48 if v6 else 28)]
        pkt = forge.icmp_error(frm, quote, typ, code,
                               rest=struct.pack(">HH", 0, vr.icmp_nhmtu or 0), **how)
    return forge.as_received(pkt, rx, 2)


# reply fields whose values depend on the run (IDs, clocks, OS-chosen ports)
_RUN_FIELDS = ("reply_ipid", "probe_ipid", "probe_tx", "tsreply", "probe_sport")


@pytest.mark.parametrize("name", sorted(p.stem for p in VECTORS.glob("ping_*.warts")))
def test_ping_records_like_scamper_vectors(name: str) -> None:
    v = _vector(name)
    # the ACK methods draw their sequence number at random while parsing
    ctx = CommandContext(pid=0x1234, random_u32=lambda: v.tcpseq or 0)
    c = parse_ping(_args_of(v), ctx)
    assert v.src is not None
    t = PingTask(c, src=v.src.raw, list=None, cycle=None, rng=random.Random(3),
                 ifname=lambda i: "e-r1" if i == 2 else None)
    by_probe: dict[int, list[warts.types.ping.PingReply]] = {}
    for vr in v.replies:
        by_probe.setdefault(vr.probe_id or 0, []).append(vr)
    for i in range(v.ping_sent or 0):
        tx = T0 + i * SEC
        probe = send(t, tx)
        for vr in by_probe.get(i, []):
            rx = (tx // 1000 + (vr.rtt or 0)) * 1000 + 999  # late in the same µs
            t.receive_reply(_like(probe, vr, rx), rx)
    if v.stop_reason == PingStop.ERROR:
        a = t.next_action(T0 + (v.ping_sent or 0) * SEC)
        assert isinstance(a, SendProbe)
        err = send_error(a.probe, OSError(v.stop_data, "Message too long"))
        t.probe_sent(a.probe, T0 + SEC, err)
    else:
        t.next_action(T0 + 3600 * SEC)
    ours = roundtrip(t.result())
    assert (ours.stop_reason, ours.stop_data, ours.errmsg) == (v.stop_reason, v.stop_data,
                                                               v.errmsg)
    same = ("method", "size", "ttl", "tos", "sport", "dport", "attempts", "ping_sent",
            "flags8", "flags32", "wait_probe_sec", "wait_probe_usec", "wait_timeout_sec",
            "wait_timeout_usec", "src", "dst", "stop_count", "datalen", "data", "tcpack",
            "tcpseq")
    assert {f: getattr(ours, f) for f in same} == {f: getattr(v, f) for f in same}
    assert len(ours.replies) == len(v.replies)
    for mine, theirs in zip(ours.replies, v.replies, strict=True):
        for f in mine.__slots__:
            a, b = getattr(mine, f), getattr(theirs, f)
            if f in _RUN_FIELDS:
                assert (a is None) == (b is None), (f, a, b)
            else:
                assert a == b, (f, a, b)


# --------------------------------------------------------------------------
# a real run inside the test bed

# Runs inside the vantage point's namespace: one Engine, the pings given as
# argv, each result printed as one line of warts JSON.
_NETNS_SCRIPT = r"""
import sys, time, trio, warts
from protocol.commands.base import CommandContext
from protocol.commands.ping import parse_ping
from scamperd.engine.driver import Engine
from scamperd.methods.ping import make_ping_task

async def main():
    engine = Engine(pps=100)
    done = trio.Event()
    results = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        tasks = []
        for i, args in enumerate(sys.argv[1:]):
            cmd = parse_ping(args, CommandContext())
            task = make_ping_task(cmd, None, engine)
            tasks.append(task)
            def finished(t, fault, i=i):
                results[i] = t.result()
                if len(results) == len(tasks):
                    done.set()
            engine.watch(task, finished)
            engine.sched.add(task, time.time_ns())
        engine.poke()
        with trio.fail_after(20):
            await done.wait()
        nursery.cancel_scope.cancel()
    for i in sorted(results):
        sys.stdout.write(warts.to_json(results[i]))

trio.run(main)
"""


@pytest.mark.netns
def test_ping_real_engine_in_testbed(testbed: Testbed) -> None:
    tb = testbed
    cmds = [
        f"-c 2 -i 0.2 {tb.dst4}",
        f"-c 2 -i 0.2 {tb.dst6}",
        f"-P udp -c 2 -i 0.2 {tb.dst4}",
        f"-P udp-dport -c 2 -i 0.2 {tb.dst6}",
        f"-P tcp-syn -d {tb.tcp_open} -c 2 -i 0.2 {tb.dst4}",
        f"-P tcp-syn -d {tb.tcp_closed} -c 2 -i 0.2 {tb.dst4}",
        f"-P icmp-time -c 1 {tb.dst4}",
        f"-P tcp-syn -d {tb.tcp_open} -c 2 -i 0.2 {tb.dst6}",
        f"-P tcp-ack-sport -d {tb.tcp_closed} -c 2 -i 0.2 {tb.dst4}",
        f"-R -c 1 {tb.dst4}",
    ]
    root = Path(__file__).resolve().parents[3]
    out = tb.exec("vp", [sys.executable, "-c", _NETNS_SCRIPT, *cmds], cwd=root,
                  timeout=60).stdout
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == len(cmds)
    echo4, echo6, udp4, udp6, syn_open, syn_closed, tstamp, syn6, acks, rr = recs
    for rec, dst in ((echo4, tb.dst4), (echo6, tb.dst6)):
        assert rec["stop_reason"] == "done", rec
        assert [r["from"] for r in rec["responses"]] == [dst, dst]
        # five routers on the way back, as real scamper sees it
        assert {r["reply_ttl"] for r in rec["responses"]} == {59}
        assert all(0 < r["rtt"] < 1000 for r in rec["responses"])
        assert [r["seq"] for r in rec["responses"]] == [0, 1]
        assert all(r["ifname"] == "e-r1" for r in rec["responses"])
    for rec in (udp4, udp6):  # port unreachable from the target
        assert [r["from"] for r in rec["responses"]] == [rec["dst"]] * 2, rec
        assert rec["statistics"]["replies"] == 2
    syn, ack, rst = 0x02, 0x10, 0x04
    assert [r["tcp_flags"] & (syn | ack) for r in syn_open["responses"]] == [syn | ack] * 2
    assert [r["tcp_flags"] & rst for r in syn_closed["responses"]] == [rst] * 2
    assert [r["tcp_flags"] & (syn | ack) for r in syn6["responses"]] == [syn | ack] * 2
    assert [r["tcp_flags"] & rst for r in acks["responses"]] == [rst] * 2
    assert [r["seq"] for r in acks["responses"]] == [0, 1]
    (ts,) = tstamp["responses"]  # sc_warts2json leaves the timestamps out
    assert ts["icmp_type"] == 14 and ts["from"] == tb.dst4
    (r,) = rr["responses"]
    assert tb.dst4 in r["RR"]
