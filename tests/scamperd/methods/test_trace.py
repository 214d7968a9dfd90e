"""TraceTask without sockets: probes per method, matching, the per-hop state
machine, every stop reason, records; then real runs next to Debian's scamper.

Replies are synthetic packets built with scamperd.engine.packets around the
exact probe bytes the task produced, parsed as the engine would parse them.
"""

from __future__ import annotations

import base64
import errno
import socket
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import warts
from protocol.commands.base import CommandContext
from protocol.commands.trace import parse_trace
from scamperd.engine import packets as P
from scamperd.engine.fakenet import forge
from scamperd.engine.scheduler import reply_keys
from scamperd.engine.senderr import send_error
from scamperd.engine.task import FINISHED, Probe, SendProbe, Wait
from scamperd.methods.trace import Mode, TraceTask
from scamperd.methods.trace.match import ipid_fudge
from scamperd.methods.trace.probes import byteswap16
from tests.testbed import Testbed
from warts.types.trace import Trace, TraceReplyFlag, TraceStop, TraceType

SRC4 = socket.inet_aton("10.200.1.1")
DST4 = socket.inet_aton("10.200.6.2")
SRC6 = socket.inet_pton(socket.AF_INET6, "fd00:200:1::1")
DST6 = socket.inet_pton(socket.AF_INET6, "fd00:200:6::2")


def rtr(n: int, v6: bool) -> bytes:
    """The router at hop n of the synthetic path."""
    if v6:
        return socket.inet_pton(socket.AF_INET6, f"fd00:200:{n}::2")
    return socket.inet_aton(f"10.200.{n}.2")


T0 = 1_700_000_000_123_456_789  # ns
SEC = 1_000_000_000
MS = 1_000_000
CTX = CommandContext(pid=0x1234, random_u32=lambda: 0x11223344)
METHODS = ("udp", "udp-paris", "icmp", "icmp-paris", "tcp", "tcp-ack")


def task(args: str) -> TraceTask:
    c = parse_trace(args, CTX)
    src = SRC6 if ":" in args.split()[-1] else SRC4
    return TraceTask(c, src=src)


def send(t: TraceTask, now: int) -> Probe:
    """Ask for the next probe at ``now`` and report it sent then."""
    a = t.next_action(now)
    assert isinstance(a, SendProbe), a
    t.probe_sent(a.probe, now)
    return a.probe


def deliver(t: TraceTask, r: P.Reply, now: int) -> None:
    """Hand a reply over only if the engine's keys would route it to ``t``."""
    keys = set(t.match_keys())
    assert any(k in keys for k in reply_keys(r)), r
    t.receive_reply(r, now)


# Replies forged with the fake network's forger, with this file's defaults.

def error(probe: Probe, rx: int, frm: bytes, *, typ: int | None = None, code: int = 0,
          rest: bytes = bytes(4), quote: bytes | None = None, ttl: int = 250,
          exts: bytes = b"") -> P.Reply:
    """An ICMP error from ``frm`` quoting the probe (TTL exceeded by default)."""
    if typ is None:
        typ = 3 if probe.v6 else 11
    pkt = quote if quote is not None else probe.packet
    src = probe.packet[8:24] if probe.v6 else probe.packet[12:16]  # back to the prober
    return forge.as_received(forge.icmp_error(frm, pkt, typ, code, rest=rest, ttl=ttl,
                                              ipid=5, to=src, exts=exts), rx)


def unreach(probe: Probe, rx: int, frm: bytes, code: int | None = None) -> P.Reply:
    """Destination unreachable; port unreachable unless ``code`` is given."""
    if probe.v6:
        return error(probe, rx, frm, typ=1, code=4 if code is None else code)
    return error(probe, rx, frm, typ=3, code=3 if code is None else code)


def echo_reply(probe: Probe, rx: int) -> P.Reply:
    return forge.as_received(forge.echo_reply(probe.packet, ttl=59, ipid=77), rx)


def tcp_reply(probe: Probe, rx: int, flags: int) -> P.Reply:
    return forge.as_received(forge.tcp_reply(probe.packet, flags, seq=99, ack=1, ttl=59,
                                             ipid=88), rx)


def dest_reply(method: str, probe: Probe, rx: int) -> P.Reply:
    """How the destination answers each method."""
    if method.startswith("icmp"):
        return echo_reply(probe, rx)
    if method == "tcp":
        return tcp_reply(probe, rx, P.TcpFlag.SYN | P.TcpFlag.ACK)
    if method == "tcp-ack":
        return tcp_reply(probe, rx, P.TcpFlag.RST)
    return unreach(probe, rx, probe.dst)


def roundtrip(rec: Trace) -> Trace:
    """Encode, decode, and render: the record must survive all three."""
    back = [r for r in warts.decode(warts.encode([rec])) if isinstance(r, Trace)]
    assert back == [rec]
    assert warts.to_json(rec)
    return rec


def hop_addrs(rec: Trace) -> list[tuple[int, int | None, bytes]]:
    return [(p.ttl, p.id, r.addr.raw) for p, r in rec.replies()]


def transport_sum_ok(pkt: bytes) -> None:
    """The transport checksum of a whole probe verifies."""
    if pkt[0] >> 4 == 6:
        src, dst, nxt, body = pkt[8:24], pkt[24:40], pkt[6], pkt[40:]
    else:
        src, dst, nxt, body = pkt[12:16], pkt[16:20], pkt[9], pkt[20:]
        assert P.checksum(pkt[:20]) == 0
    init = 0 if nxt == P.IPPROTO_ICMP else P.pseudo_sum(src, dst, nxt, len(body))
    assert P.checksum(body, init) == 0


# --------------------------------------------------------------------------
# probes


@pytest.mark.parametrize("v6", [False, True])
@pytest.mark.parametrize("method", METHODS)
def test_trace_probe_fields_per_method(method: str, v6: bool) -> None:
    dst = "fd00:200:6::2" if v6 else "10.200.6.2"
    t = task(f"-P {method} -q 1 -w 1 -t 32 {dst}")
    cmd = t.cmd
    hl = 40 if v6 else 20
    seen_sums = set()
    for i in range(4):
        pr = send(t, T0 + i * SEC)
        t.next_action(T0 + i * SEC + SEC)  # time out: on to the next ttl
        pkt = pr.packet
        assert len(pkt) == cmd.probe_size
        transport_sum_ok(pkt)
        if v6:
            first, _, _, hlim = struct.unpack_from(">IHBB", pkt, 0)
            tclass, flow = (first >> 20) & 0xFF, first & 0xFFFFF
            assert (hlim, tclass) == (i + 1, 32)
            # the flow label carries the id for TCP only (scamper's choice)
            assert flow == (i + 1 if method.startswith("tcp") else 0)
        else:
            ipid, frag, ttl = struct.unpack_from(">HHB", pkt, 4)
            assert (ipid, frag, ttl, pkt[1]) == (i + 1, 0x4000, i + 1, 32)
        if method.startswith("udp"):
            sport, dport, _, csum = struct.unpack_from(">HHHH", pkt, hl)
            assert sport == cmd.sport
            if method == "udp":
                assert dport == cmd.dport + i  # classic: the port is the id
            else:
                assert dport == cmd.dport and csum == i + 1  # paris: the checksum is
        elif method.startswith("icmp"):
            typ, _, csum, ident, seq = struct.unpack_from(">BBHHH", pkt, hl)
            assert (typ, ident, seq) == (128 if v6 else 8, cmd.sport, i)
            seen_sums.add(csum)
        else:
            sport, dport, seq, ack, off, flags, win = struct.unpack_from(">HHIIBBH", pkt, hl)
            want = P.TcpFlag.SYN if method == "tcp" else P.TcpFlag.ACK
            assert (sport, dport, seq, ack, off >> 4, flags, win) == \
                (cmd.sport, cmd.dport, 0, 0, 5, want, 0)
    if method == "icmp-paris":
        assert seen_sums == {cmd.dport}  # the checksum held at -d
    elif method == "icmp":
        assert len(seen_sums) == 4


def test_trace_probe_payload_and_paris_checksum_bytes() -> None:
    t = task("-P udp-paris -p 0102030405060708 10.200.6.2")
    pr = send(t, T0)
    assert len(pr.packet) == 36
    # bytes 0-1 carry the value that steers the checksum to id + 1
    assert pr.packet[30:36] == bytes.fromhex("030405060708")
    assert struct.unpack_from(">H", pr.packet, 26)[0] == 1
    transport_sum_ok(pr.packet)


@pytest.mark.parametrize(("ipid", "id_next", "want"), [
    (0, 5, None),            # a zeroed IP-ID is refused
    (3, 5, 2),
    (6, 5, 4),               # incremented by the router
    (byteswap16(4), 5, 3),   # byte-swapped
    (0x7777, 5, None),
])
def test_trace_ipid_fudge(ipid: int, id_next: int, want: int | None) -> None:
    assert ipid_fudge(ipid, id_next) == want


# --------------------------------------------------------------------------
# a whole trace per method


@pytest.mark.parametrize("v6", [False, True])
@pytest.mark.parametrize("method", METHODS)
def test_trace_completes_per_method(method: str, v6: bool) -> None:
    dst = "fd00:200:6::2" if v6 else "10.200.6.2"
    t = task(f"-P {method} {dst}")
    now = T0
    for ttl in (1, 2):
        pr = send(t, now)
        deliver(t, error(pr, now + 3 * MS, rtr(ttl, v6)), now + 3 * MS)
        now += 10 * MS
    pr = send(t, now)
    deliver(t, dest_reply(method, pr, now + 5 * MS), now + 5 * MS)
    assert t.next_action(now + 6 * MS) is FINISHED
    rec = roundtrip(t.result())
    assert rec.stop_reason == TraceStop.COMPLETED
    assert rec.type == TraceType[method.upper().replace("-", "_").replace(
        "ICMP", "ICMP_ECHO")]
    assert hop_addrs(rec) == [(1, 1, rtr(1, v6)), (2, 1, rtr(2, v6)), (3, 1, pr.dst)]
    assert rec.probec == 3 and rec.hop_count == 3
    last = rec.probes[-1].replies[0]
    assert last.rtt == 5000
    if method.startswith("tcp"):
        assert last.is_tcp and last.tcp_flags is not None
    else:
        assert last.is_icmp
    first = rec.probes[0].replies[0]
    assert first.is_icmp_ttl_exp and first.rtt == 3000
    # the quoted probe: TTL 1 when it expired, its length, its TOS
    assert first.q_ttl_eff() == 1 and first.q_ipl_eff(rec.probe_size or 0) == rec.probe_size


def test_trace_reply_record_fields_v4() -> None:
    t = task("-P icmp-paris 10.200.6.2")
    pr = send(t, T0)
    r = error(pr, T0 + 1234 * 1000, rtr(1, False), ttl=254)
    deliver(t, r, T0 + 2 * MS)
    (hop,) = t.result().probes[0].replies
    assert hop.addr.raw == rtr(1, False)
    assert (hop.ttl, hop.ipid, hop.size, hop.rtt) == (254, 5, 20 + 8 + 44, 1234)
    assert hop.flags == TraceReplyFlag.REPLY_TTL | TraceReplyFlag.TS_SOCK_RX
    assert (hop.icmp_type, hop.icmp_code) == (11, 0)


def test_trace_reply_records_mpls_extension() -> None:
    """An RFC 4884/4950 extension after the 128-byte quote becomes the hop's
    icmp_exts (one MPLS label stack object)."""
    t = task("-P icmp 10.200.6.2")
    pr = send(t, T0)
    r = error(pr, T0 + MS, rtr(1, False), exts=forge.mpls_extension((16001, 0, 1, 1)))
    deliver(t, r, T0 + MS)
    (hop,) = t.result().probes[0].replies
    assert hop.icmp_exts is not None
    (e,) = hop.icmp_exts
    assert (e.cls, e.ctype) == (1, 1) and e.mpls_labels() == [(16001, 0, 1, 1)]
    roundtrip(t.result())


@pytest.mark.parametrize("change", ["zeroed-sum", "ipid+1", "ipid-swapped"])
def test_trace_udp_paris_v4_matches_changed_quotes(change: str) -> None:
    """Routers that rewrite the quoted IP-ID or zero the UDP checksum still
    have their replies matched to the right probe."""
    t = task("-P udp-paris -q 1 -w 1 10.200.6.2")
    probes = []
    for i in range(3):
        probes.append(send(t, T0 + i * SEC))
        t.next_action(T0 + i * SEC + SEC)
    pr = send(t, T0 + 3 * SEC)  # probe id 3 at ttl 4, IP-ID 4
    q = bytearray(pr.packet)
    if change == "zeroed-sum":
        q[26:28] = b"\0\0"
    elif change == "ipid+1":
        # also the checksum != IP-ID now, so the IP-ID decides: 5 = id_next + 1
        struct.pack_into(">H", q, 4, 5)
        q[26:28] = b"\0\0"
    else:
        struct.pack_into(">H", q, 4, byteswap16(4))
        q[26:28] = b"\0\0"
    deliver(t, error(pr, T0 + 3 * SEC + MS, rtr(4, False), quote=bytes(q)), T0 + 3 * SEC + MS)
    rec = t.result()
    assert [(p.ttl, r.addr.raw) for p, r in rec.replies()] == [(4, rtr(4, False))]


def test_trace_tcp_v4_matches_byteswapped_ipid() -> None:
    t = task("-P tcp -q 1 -w 1 10.200.6.2")
    for i in range(2):
        send(t, T0 + i * SEC)
        t.next_action(T0 + i * SEC + SEC)
    pr = send(t, T0 + 2 * SEC)
    q = bytearray(pr.packet)
    struct.pack_into(">H", q, 4, byteswap16(3))
    deliver(t, error(pr, T0 + 2 * SEC + MS, rtr(3, False), quote=bytes(q)), T0 + 2 * SEC + MS)
    assert [p.ttl for p, _ in t.result().replies()] == [3]


def test_trace_ignores_foreign_quotes() -> None:
    t = task("-P udp -q 1 10.200.6.2")
    pr = send(t, T0)
    q = bytearray(pr.packet)
    struct.pack_into(">H", q, 22, 40000)  # a dport we never sent
    t.receive_reply(error(pr, T0 + MS, rtr(1, False), quote=bytes(q)), T0 + MS)
    t2 = task("-P icmp 10.200.6.2")
    pr2 = send(t2, T0)
    q2 = bytearray(pr2.packet)
    struct.pack_into(">H", q2, 26, 9)  # a sequence number not sent yet
    t2.receive_reply(error(pr2, T0 + MS, rtr(1, False), quote=bytes(q2)), T0 + MS)
    assert not list(t.result().replies()) and not list(t2.result().replies())


# --------------------------------------------------------------------------
# timing and the per-hop state machine


def test_trace_attempts_and_wait_timeout() -> None:
    t = task("-q 3 -w 2 -g 2 10.200.6.2")
    now = T0
    ttls = []
    for _ in range(6):
        pr = send(t, now)
        ttls.append(pr.packet[8])
        a = t.next_action(now + MS)
        assert a == Wait(now + 2 * SEC)  # -w from the probe's send time
        now += 2 * SEC
    assert ttls == [1, 1, 1, 2, 2, 2]
    assert t.next_action(now) is FINISHED
    rec = t.result()
    assert rec.stop_reason == TraceStop.GAPLIMIT and rec.probec == 6 and rec.hop_count == 2


def test_trace_wait_probe_spaces_probes() -> None:
    t = task("-W 50 10.200.6.2")  # 500 ms
    pr = send(t, T0)
    deliver(t, error(pr, T0 + MS, rtr(1, False)), T0 + MS)
    assert t.next_action(T0 + 2 * MS) == Wait(T0 + 500 * MS)
    a = t.next_action(T0 + 500 * MS)
    assert isinstance(a, SendProbe) and a.probe.packet[8] == 2


def test_trace_all_attempts_sends_every_probe() -> None:
    t = task("-Q -q 3 -m 1 10.200.6.2")
    for i in range(3):
        pr = send(t, T0 + i * SEC)
        deliver(t, error(pr, T0 + i * SEC + MS, rtr(1, False)), T0 + i * SEC + MS)
    assert t.next_action(T0 + 3 * SEC) is FINISHED
    rec = t.result()
    assert [p.id for p in rec.probes] == [1, 2, 3]
    assert rec.stop_reason == TraceStop.HOPLIMIT


@pytest.mark.parametrize(("conf", "addrs", "want"), [
    (95, 1, 6),    # k(2) at 95%
    (95, 2, 11),   # a second interface: k(3)
    (99, 1, 8),
    (99, 3, 21),
])
def test_trace_confidence_probes_per_hop(conf: int, addrs: int, want: int) -> None:
    t = task(f"-c {conf} -m 1 10.200.6.2")
    now = T0
    n = 0
    while t.next_action(now) is not FINISHED:
        pr = send(t, now)
        frm = socket.inet_aton(f"10.200.1.{2 + n % addrs}")
        deliver(t, error(pr, now + MS, frm), now + MS)
        n += 1
        now += 10 * MS
    assert n == want
    assert len({r.addr for _, r in t.result().replies()}) == addrs


def test_trace_confidence_unresponsive_hop_gets_k_probes() -> None:
    """With -c the attempt limit of a silent hop is k(2), not -q (scamper's
    do_trace_handle_timeout)."""
    rec = _run_path("-c 95 -q 2 -g 1 -w 1 10.200.6.2", lambda ttl, p, rx: None)
    assert rec.stop_reason == TraceStop.GAPLIMIT and rec.probec == 6


def test_trace_firsthop_and_late_reply() -> None:
    t = task("-f 3 -q 1 -w 1 10.200.6.2")
    pr3 = send(t, T0)
    assert pr3.packet[8] == 3
    assert t.next_action(T0 + SEC) != FINISHED
    pr4 = send(t, T0 + SEC)
    assert pr4.packet[8] == 4
    # ttl 3's answer arrives late: recorded, and it stops the trace
    # because it comes from the destination
    deliver(t, unreach(pr3, T0 + SEC + MS, DST4), T0 + SEC + MS)
    assert t.next_action(T0 + SEC + MS) is FINISHED
    rec = t.result()
    assert rec.firsthop == 3 and rec.stop_reason == TraceStop.COMPLETED
    assert [(p.ttl, p.id) for p in rec.probes] == [(3, 1)]


def test_trace_parallel_window_of_hops() -> None:
    """-N 3: three hops in flight at once; a reply opens the window for the
    next TTL; a stop found at a lower hop than the highest probed is settled
    when the record is made, with stop_hop (trace_stop_process)."""
    t = task("-N 3 -q 1 -w 1 10.200.6.2")
    p1, p2, p3 = (send(t, T0 + i) for i in range(3))
    assert [p.packet[8] for p in (p1, p2, p3)] == [1, 2, 3]
    assert t.next_action(T0 + 3) == Wait(T0 + SEC)  # window full
    deliver(t, error(p1, T0 + MS, rtr(1, False)), T0 + MS)
    p4 = send(t, T0 + MS)
    assert p4.packet[8] == 4
    # the destination answers ttl 4 first, then ttl 3 turns out to be it too
    deliver(t, unreach(p4, T0 + 2 * MS, DST4), T0 + 2 * MS)
    assert t.mode == Mode.PARALLEL_FINISH  # still waiting for ttls 2 and 3
    deliver(t, error(p2, T0 + 3 * MS, rtr(2, False)), T0 + 3 * MS)
    deliver(t, unreach(p3, T0 + 4 * MS, DST4), T0 + 4 * MS)
    assert t.next_action(T0 + 5 * MS) is FINISHED
    rec = roundtrip(t.result())
    assert rec.stop_reason == TraceStop.COMPLETED and rec.stop_hop == 3
    assert rec.squeries == 3 and rec.hop_count == 4


def test_trace_parallel_retries_and_gaplimit() -> None:
    """Unanswered hops are retried -q times, then the gap limit ends it."""
    rec = _run_path("-N 2 -q 2 -g 2 -w 1 10.200.6.2", lambda ttl, p, rx: error(
        p, rx, rtr(1, False)) if ttl == 1 else None)
    assert rec.stop_reason == TraceStop.GAPLIMIT
    assert [(p.ttl, p.id) for p in rec.probes] == [(1, 1)]
    assert rec.probec == 1 + 2 * 2 and rec.hop_count == 3


# --------------------------------------------------------------------------
# stop reasons


def _run_path(args: str, answer: Callable[[int, Probe, int], P.Reply | None],
              limit: int = 40) -> Trace:
    """Run a trace where ``answer(ttl, probe, rx)`` gives each probe's reply."""
    t = task(args)
    now = T0
    for _ in range(limit):
        a = t.next_action(now)
        if a is FINISHED:
            break
        if isinstance(a, Wait):
            now = a.until
            continue
        assert isinstance(a, SendProbe)
        t.probe_sent(a.probe, now)
        ttl = a.probe.packet[7] if a.probe.v6 else a.probe.packet[8]
        r = answer(ttl, a.probe, now + MS)
        if r is not None:
            deliver(t, r, now + MS)
        now += 10 * MS
    assert t.next_action(now) is FINISHED
    return roundtrip(t.result())


@pytest.mark.parametrize("v6", [False, True])
def test_trace_stop_unreach(v6: bool) -> None:
    dst = "fd00:200:6::2" if v6 else "10.200.6.2"
    rec = _run_path(f"-P icmp {dst}", lambda ttl, p, rx: unreach(p, rx, rtr(ttl, v6), code=1)
                    if ttl == 2 else error(p, rx, rtr(ttl, v6)))
    assert (rec.stop_reason, rec.stop_data) == (TraceStop.UNREACH, 1)


def test_trace_stop_icmp_on_v6_packet_too_big() -> None:
    rec = _run_path("fd00:200:6::2", lambda ttl, p, rx: forge.as_received(
        forge.too_big(rtr(ttl, True), p.packet, 1280), rx) if ttl == 2
        else error(p, rx, rtr(ttl, True)))
    assert (rec.stop_reason, rec.stop_data) == (TraceStop.ICMP, 2)
    assert rec.probes[-1].replies[0].icmp_nhmtu == 1280


@pytest.mark.parametrize(("loops", "want_ttl"), [(1, 4), (2, 5)])
def test_trace_stop_loop(loops: int, want_ttl: int) -> None:
    # hops 1..3 distinct, then 2,3,2,3...: ttl 4 repeats ttl 2's router (not
    # adjacent, one loop), ttl 5 repeats ttl 3's (a second)
    def answer(ttl: int, p: Probe, rx: int) -> P.Reply:
        n = ttl if ttl <= 3 else 2 + (ttl % 2)
        return error(p, rx, rtr(n, False))
    rec = _run_path(f"-l {loops} 10.200.6.2", answer)
    assert rec.stop_reason == TraceStop.LOOP and rec.hop_count == want_ttl


def test_trace_loop_detection_off_and_adjacent() -> None:
    # the same router at two adjacent hops is not a loop (a third time, two
    # hops away from the first, would be: scamper compares from firsthop up)
    rec = _run_path("-m 3 10.200.6.2", lambda ttl, p, rx: error(p, rx, rtr(min(ttl, 2), False)))
    assert rec.stop_reason == TraceStop.HOPLIMIT
    rec = _run_path("-l 0 -m 6 10.200.6.2", lambda ttl, p, rx: error(p, rx, rtr(ttl % 2, False)))
    assert rec.stop_reason == TraceStop.HOPLIMIT


def test_trace_stop_gaplimit_lastditch() -> None:
    def answer(ttl: int, p: Probe, rx: int) -> P.Reply | None:
        if ttl == 1:
            return error(p, rx, rtr(1, False))
        if ttl == 255:
            return unreach(p, rx, DST4)
        return None
    rec = _run_path("-g 2 -G 2 -q 1 -w 1 10.200.6.2", answer)
    assert rec.stop_reason == TraceStop.GAPLIMIT and rec.hop_count == 3
    assert rec.lastditch is not None
    assert [(p.ttl, r.addr.raw) for p in rec.lastditch.probes for r in p.replies] == \
        [(255, DST4)]


def test_trace_lastditch_without_answer() -> None:
    rec = _run_path("-g 1 -G 2 -q 2 -w 1 10.200.6.2", lambda ttl, p, rx: None)
    assert rec.stop_reason == TraceStop.GAPLIMIT and rec.probec == 4
    assert rec.lastditch is not None and rec.lastditch.probes == ()


def test_trace_stop_hoplimit() -> None:
    rec = _run_path("-m 3 10.200.6.2", lambda ttl, p, rx: error(p, rx, rtr(ttl, False)))
    assert rec.stop_reason == TraceStop.HOPLIMIT and rec.hop_count == 3


@pytest.mark.parametrize(("flag", "want"), [("", TraceStop.COMPLETED), ("-T ", None)])
def test_trace_ttl_expired_from_destination(flag: str, want: TraceStop | None) -> None:
    rec = _run_path(f"{flag}-m 4 10.200.6.2", lambda ttl, p, rx: error(
        p, rx, DST4 if ttl == 2 else rtr(ttl, False)))
    assert rec.stop_reason == (want or TraceStop.HOPLIMIT)


def test_trace_echo_reply_ignored_by_udp_trace() -> None:
    t = task("-P udp-paris 10.200.6.2")
    pr = send(t, T0)
    echo = P.build_ip(SRC4, DST4, P.IPPROTO_ICMP, P.build_icmp_echo(t.sport, 0, b""), ttl=64)
    r = forge.as_received(forge.echo_reply(echo, ttl=60), T0 + MS)
    t.receive_reply(r, T0 + MS)
    assert not list(t.result().replies()) and pr is not None


def test_trace_stop_error_on_send_failure() -> None:
    t = task("-P udp 10.200.6.2")
    a = t.next_action(T0)
    assert isinstance(a, SendProbe)
    err = send_error(a.probe, OSError(errno.ENETUNREACH, "Network is unreachable"))
    t.probe_sent(a.probe, T0, err)
    assert t.next_action(T0) is FINISHED
    rec = roundtrip(t.result())
    assert (rec.stop_reason, rec.stop_data) == (TraceStop.ERROR, errno.ENETUNREACH)
    assert rec.errmsg == ("udp4_probe could not send to 10.200.6.2 (1 ttl, 33435 dport, 44 len): "
                          "Network is unreachable")


def test_trace_halted() -> None:
    t = task("10.200.6.2")
    pr = send(t, T0)
    deliver(t, error(pr, T0 + MS, rtr(1, False)), T0 + MS)
    t.halt()
    assert t.next_action(T0 + 2 * MS) is FINISHED
    rec = roundtrip(t.result())
    assert rec.stop_reason == TraceStop.HALTED and len(rec.probes) == 1


def test_trace_back_probes_downwards() -> None:
    """-O back: from -m down to -f; the stop reason is decided at the end by
    scanning the hops (trace_stop_process), and a reason found at the last
    hop does not count, so scamper says HOPLIMIT."""
    seen: list[int] = []

    def answer(ttl: int, p: Probe, rx: int) -> P.Reply:
        seen.append(ttl)
        return unreach(p, rx, DST4) if ttl == 3 else error(p, rx, rtr(ttl, False))
    rec = _run_path("-O back -m 3 10.200.6.2", answer)
    assert seen == [3, 2, 1]
    assert rec.stop_reason == TraceStop.HOPLIMIT and rec.hop_count == 3
    rec = _run_path("-O back -m 4 10.200.6.2", lambda ttl, p, rx: unreach(p, rx, DST4)
                    if ttl >= 3 else error(p, rx, rtr(ttl, False)))
    assert rec.stop_reason == TraceStop.COMPLETED


def test_trace_after_trace_hook_takes_over() -> None:
    """The seam for PMTUD/doubletree: a phase after the trace keeps probing."""
    class Extended(TraceTask):
        def after_trace(self, now: int) -> bool:
            if self.mode != Mode.TRACE:
                return False
            self.mode = Mode.PMTUD_DEFAULT
            self.want_probe = True
            return True
    t = Extended(parse_trace("-m 1 10.200.6.2", CTX), src=SRC4)
    pr = send(t, T0)
    deliver(t, error(pr, T0 + MS, rtr(1, False)), T0 + MS)
    a = t.next_action(T0 + 2 * MS)
    assert isinstance(a, SendProbe) and a.probe.ident[3] == Mode.PMTUD_DEFAULT
    assert t.result().stop_reason == TraceStop.HOPLIMIT

# --------------------------------------------------------------------------
# real runs inside the test bed, next to Debian's scamper

# Runs inside the vantage point's namespace: one Engine, the traces given as
# argv, each result printed as one line of base64 warts.
_NETNS_SCRIPT = r"""
import base64, os, sys, time, trio, warts
from protocol.commands.base import CommandContext
from protocol.commands.trace import parse_trace
from scamperd.engine.driver import Engine
from scamperd.methods.trace import make_trace_task

async def main():
    engine = Engine(pps=100)
    done = trio.Event()
    results = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        tasks = []
        for i, args in enumerate(sys.argv[1:]):
            cmd = parse_trace(args, CommandContext(pid=os.getpid() + i))
            task = make_trace_task(cmd, None, engine)
            tasks.append(task)
            def finished(t, fault, i=i):
                results[i] = t.result()
                if len(results) == len(tasks):
                    done.set()
            engine.watch(task, finished)
            engine.sched.add(task, time.time_ns())
        engine.poke()
        with trio.fail_after(60):
            await done.wait()
        nursery.cancel_scope.cancel()
    for i in sorted(results):
        print(base64.b64encode(warts.encode([results[i]])).decode())

trio.run(main)
"""

METHODS = ("udp", "udp-paris", "icmp", "icmp-paris", "tcp", "tcp-ack")


def _first_hops(rec: Trace) -> dict[int, set[str]]:
    """Per TTL, the addresses that answered."""
    out: dict[int, set[str]] = {}
    for p, r in rec.replies():
        out.setdefault(p.ttl, set()).add(str(r.addr))
    return out


def _debian_trace(tb: Testbed, args: str, dst: str, tmp: Path) -> Trace:
    out = tmp / f"debian-{abs(hash(args + dst))}.warts"
    tb.exec("vp", ["/usr/bin/scamper", "-p", "100", "-O", "warts", "-o", str(out),
                   "-c", f"trace {args}", "-i", dst], timeout=120)
    (rec,) = [r for r in warts.decode(out.read_bytes()) if isinstance(r, Trace)]
    return rec


@pytest.mark.netns
@pytest.mark.parametrize("family", ["4", "6"])
def test_trace_real_engine_matches_debian_scamper(testbed: Testbed, family: str,
                                                  tmp_path: Path) -> None:
    tb = testbed
    dst = tb.dst4 if family == "4" else tb.dst6
    hops = tb.hops4 if family == "4" else tb.hops6
    branches = tb.branches4 if family == "4" else tb.branches6
    port = {"tcp": f"-d {tb.tcp_open} ", "tcp-ack": f"-d {tb.tcp_closed} "}
    args = [f"-P {m} {port.get(m, '')}-w 1".strip() for m in METHODS]
    root = Path(__file__).resolve().parents[3]
    out = tb.exec("vp", [sys.executable, "-c", _NETNS_SCRIPT, *(f"{a} {dst}" for a in args)],
                  cwd=root, timeout=120).stdout
    ours = [warts.decode(base64.b64decode(line))[0] for line in out.split()]
    assert len(ours) == len(METHODS)
    for method, a, rec in zip(METHODS, args, ours, strict=True):
        theirs = _debian_trace(tb, a, dst, tmp_path)
        assert rec.stop_reason == theirs.stop_reason == TraceStop.COMPLETED, (method, rec)
        mine, deb = _first_hops(rec), _first_hops(theirs)
        assert sorted(mine) == sorted(deb) == list(range(1, len(hops) + 1)), (method, mine, deb)
        for ttl, want in enumerate(hops, 1):
            assert mine[ttl] <= set(want) and deb[ttl] <= set(want), (method, ttl, mine, deb)
            if len(want) == 1:
                assert mine[ttl] == deb[ttl] == set(want)
        if "paris" in method:
            # one flow identifier all the way: one branch of the ECMP split
            # (on v6 hop 4 is chosen by r4's source selection, so only hop 3)
            (h3,) = mine[3]
            assert h3 in {b[0] for b in branches}
            if family == "4":
                assert (h3, *mine[4]) in branches
        assert rec.type == theirs.type and rec.probe_size == theirs.probe_size
        assert rec.hop_count == theirs.hop_count


def _run_ours(tb: Testbed, cmds: list[str]) -> list[Trace]:
    root = Path(__file__).resolve().parents[3]
    out = tb.exec("vp", [sys.executable, "-c", _NETNS_SCRIPT, *cmds], cwd=root,
                  timeout=120).stdout
    recs = [warts.decode(base64.b64decode(line))[0] for line in out.split()]
    assert len(recs) == len(cmds)
    return recs


def _per_ttl_counts(rec: Trace) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for p, r in rec.replies():
        d = out.setdefault(p.ttl, {})
        d[str(r.addr)] = d.get(str(r.addr), 0) + 1
    return out


@pytest.mark.netns
@pytest.mark.parametrize("family", ["4", "6"])
def test_trace_real_confidence_and_stops_match_debian(testbed: Testbed, family: str,
                                                      tmp_path: Path) -> None:
    """-c sends scamper's k(n) probes per hop: classic UDP (a new dport per
    probe) finds every ECMP branch, paris methods keep to one; -m stops with
    HOPLIMIT and an unresolvable neighbour with UNREACH, and -N probes hops in
    parallel, as Debian's scamper does."""
    tb = testbed
    dst = tb.dst4 if family == "4" else tb.dst6
    dead = "10.200.6.99" if family == "4" else "fd00:200:6::99"
    branches = tb.branches4 if family == "4" else tb.branches6
    cmds = [("-P udp -c 99 -m 4", dst), ("-P udp-paris -c 95 -m 4", dst),
            ("-P icmp-paris -c 95 -m 4", dst), ("-m 3", dst), ("-P icmp -q 1", dead),
            ("-N 3", dst)]
    ours = _run_ours(tb, [f"{a} {d}" for a, d in cmds])
    for (a, d), rec in zip(cmds, ours, strict=True):
        theirs = _debian_trace(tb, a, d, tmp_path)
        assert (rec.stop_reason, rec.stop_data) == (theirs.stop_reason, theirs.stop_data), a
        mine, deb = _per_ttl_counts(rec), _per_ttl_counts(theirs)
        assert sorted(mine) == sorted(deb), (a, mine, deb)
        if "-c" in a:
            hop3 = {b[0] for b in branches}
            if "paris" in a:
                # one flow: one branch, and k(2) = 6 probes answered per hop
                assert rec.probec == theirs.probec == 24, a
                assert len(mine[3]) == len(deb[3]) == 1 and set(mine[3]) <= hop3
                assert all(list(c.values()) == [6] for c in mine.values()), mine
            else:
                # a flow per probe (the dport varies): the probes spread over
                # the split.  Which branch a dport takes depends on the
                # namespace's random ECMP hash seed, so 15 probes need not
                # reach all three (Debian's scamper once reached two).
                for seen in (mine[3], deb[3]):
                    assert len(seen) >= 2 and set(seen) <= hop3, (mine, deb)
        elif "-m 3" in a:
            assert rec.stop_reason == TraceStop.HOPLIMIT and rec.probec == 3
        elif "-N" in a:
            # three hops at a time, one answer each, to the destination
            assert rec.stop_reason == TraceStop.COMPLETED and rec.probec == theirs.probec == 6
        else:
            # the last router cannot resolve the target: host (v4) or address
            # (v6) unreachable, after 5 hops of TTL exceeded
            assert rec.stop_reason == TraceStop.UNREACH
            assert rec.stop_data == (1 if family == "4" else 3)
            assert sorted(mine) == list(range(1, 7))
