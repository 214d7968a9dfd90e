"""trace -y, -r, -O dl, -o and -O ptr: the task without sockets, then real
runs in the test bed next to Debian's scamper (which has all but -y).

Replies are synthetic packets around the exact probe bytes the task made
(helpers from test_trace); the real runs use one Engine in the vantage
point's namespace and a tiny DNS responder on its loopback.
"""

from __future__ import annotations

import base64
import errno
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import warts
from protocol import Attach, Command, Data, Done, Ok
from protocol.commands.trace import parse_trace
from scamperd.engine import packets as P
from scamperd.engine.scheduler import reply_keys
from scamperd.engine.senderr import send_error
from scamperd.engine.task import SendProbe
from scamperd.methods.trace import TraceTask
from scamperd.methods.trace.match import match_icmp
from tests.scamperd.daemon_helpers import LineClient, running_daemon
from tests.scamperd.methods.test_trace import (
    CTX,
    DST4,
    DST6,
    MS,
    SRC4,
    SRC6,
    T0,
    deliver,
    dest_reply,
    error,
    roundtrip,
    rtr,
    send,
    unreach,
)
from tests.testbed import Testbed
from warts.types.trace import Trace, TraceReplyFlag, TraceStop

F = TraceReplyFlag
V4 = "10.200.6.2"
V6 = "fd00:200:6::2"


def task(args: str) -> TraceTask:
    c = parse_trace(args, CTX)
    return TraceTask(c, src=SRC6 if ":" in args.split()[-1] else SRC4)


def run_path(t: TraceTask, *, hops: int = 3, v6: bool = False, limit: int = 50) -> Trace:
    """Drive ``t`` over a path of ``hops`` routers then the target, every
    probe answered 1 ms after it left (TTL exceeded, or the target's
    port unreachable)."""
    now = T0
    for _ in range(limit):
        a = t.next_action(now)
        if not isinstance(a, SendProbe):
            if t.done:
                break
            now = a.until  # type: ignore[union-attr]
            continue
        p = a.probe
        if p.txts is not None:
            p.txts.append(now + 10_000)  # the kernel's transmit time
        t.probe_sent(p, now)
        ttl = p.ident[1]
        if ttl <= hops:
            r = error(p, now + MS, rtr(ttl, v6))
        else:
            r = dest_reply("udp", p, now + MS)
        deliver(t, r, now + MS)
        now += 2 * MS
    return t.result()


# --------------------------------------------------------------------------
# -y: in-progress copies


@pytest.mark.parametrize(("args", "want_probec"), [
    ("-y 1 -q 1", [1, 2, 3, 4]),
    ("-y 2 -q 1", [2, 4]),
    ("-y 3 -q 1", [3]),
    ("-y 2 -N 2 -q 1", [2, 4]),
    ("-q 1", []),
])
def test_trace_stream_hands_over_copies_every_n_probes(args: str,
                                                       want_probec: list[int]) -> None:
    t = task(f"{args} {V4}")
    snaps: list[Trace] = []
    t.on_progress = snaps.append
    final = run_path(t)
    assert [s.probec for s in snaps] == want_probec
    for s in snaps:
        # taken right after the probe left: that probe has no reply yet
        assert s.stop_reason == TraceStop.INPROGRESS
        assert len(list(s.replies())) <= s.probec - 1
        roundtrip(s)
    assert final.stop_reason == TraceStop.COMPLETED and final.probec == 4


# --------------------------------------------------------------------------
# -r: through a chosen first-hop router


@pytest.mark.parametrize("v6", [False, True])
def test_trace_rtr_sends_through_router_and_datalink_times_replies(v6: bool) -> None:
    router = "fd00:200:1::9" if v6 else "10.200.1.9"
    t = task(f"-r {router} -q 1 {V6 if v6 else V4}")
    first = t.next_action(T0)
    assert isinstance(first, SendProbe)
    assert first.probe.via == socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET,
                                               router)
    assert first.probe.txts is None  # Linux never shows the datalink its own sends
    rec = roundtrip(run_path(t, v6=v6))
    assert rec.rtr is not None and str(rec.rtr) == router
    # every reply, the last included, is the datalink's (as Debian's scamper)
    assert {r.flags for _, r in rec.replies()} == {F.TS_DL_RX | F.REPLY_TTL}


def test_trace_rtr_send_failure_names_the_datalink() -> None:
    t = task(f"-r 10.200.1.9 {V4}")
    a = t.next_action(T0)
    assert isinstance(a, SendProbe)
    err = send_error(a.probe, OSError(errno.EHOSTUNREACH, "No route to host"))
    t.probe_sent(a.probe, T0, err)
    rec = t.result()
    assert rec.stop_reason == TraceStop.ERROR and rec.stop_data == errno.EHOSTUNREACH
    assert rec.errmsg == f"dl_linux_tx {len(a.probe.packet) + 14} bytes failed: No route to host"


# --------------------------------------------------------------------------
# -O dl: datalink times


@pytest.mark.parametrize("v6", [False, True])
def test_trace_dl_takes_datalink_times_while_the_trace_runs(v6: bool) -> None:
    """The datalink sees each probe leave (its time is the probe's) and each
    reply arrive after the socket did; the reply that ends the trace keeps
    the socket's time (measured: Debian gives 0x16 ... 0x13)."""
    t = task(f"-O dl -q 1 {V6 if v6 else V4}")
    rec = roundtrip(run_path(t, v6=v6))
    flags = [r.flags for _, r in rec.replies()]
    assert flags == [F.TS_DL_TX | F.TS_DL_RX | F.REPLY_TTL] * 3 + \
        [F.TS_DL_TX | F.TS_SOCK_RX | F.REPLY_TTL]
    # RTTs from the datalink's transmit time, 10 us after the socket's
    assert {r.rtt for _, r in rec.replies()} == {MS // 1000 - 10}
    assert rec.flags is not None and rec.flags & 0x04


def test_trace_dl_leaves_tcp_methods_alone() -> None:
    """TCP probes go out on the datalink already: nothing more to time."""
    t = task(f"-O dl -P tcp {V4}")
    a = t.next_action(T0)
    assert isinstance(a, SendProbe) and a.probe.txts is None


# --------------------------------------------------------------------------
# -o: IPv6 fragments


def frag_fields(pkt: bytes) -> tuple[int, int, int, int, int]:
    """(next header, offset field, identification, payload id, IPv6 payload length)."""
    assert pkt[6] == P.IPPROTO_FRAGMENT
    nxt, _res, off, ident = struct.unpack_from(">BBHI", pkt, 40)
    (pid,) = struct.unpack_from(">I", pkt, 48)
    return nxt, off, ident, pid, struct.unpack_from(">H", pkt, 4)[0]


@pytest.mark.parametrize(("method", "proto"), [
    ("udp-paris", P.IPPROTO_UDP), ("udp", P.IPPROTO_UDP), ("icmp", P.IPPROTO_ICMPV6),
    ("tcp", P.IPPROTO_TCP),
])
def test_trace_offset_probes_are_lone_fragments(method: str, proto: int) -> None:
    t = task(f"-P {method} -o 100 -s 4321 -q 2 {V6}")
    probes = [send(t, T0)]
    # the first attempt times out: next_action runs the timeout and sends again
    probes.append(send(t, T0 + 6_000 * MS))
    for pid, p in enumerate(probes):
        nxt, off, ident, got_pid, plen = frag_fields(p.packet)
        # offset 100 * 8 bytes, M clear; the id names our port and the probe
        assert (nxt, off, ident, got_pid) == (proto, 800, (4321 << 16) | pid, pid)
        # 8 fragment header + 12 payload: scamper's probe size 52 (40 + 12)
        # leaves the fragment header out
        assert plen == 20 and p.ident[2] == 52 == t.cmd.probe_size
        assert p.via == DST6
    assert t.sent[1].attempt == 2


def test_trace_offset_payload_keeps_bytes_after_the_id() -> None:
    """scamper's probe size with -o is 40 + 8 + 4 + the payload, all of it
    after the IPv6 header: the fragment carries 20 bytes here, the payload
    from byte 0 with its first four overwritten by the id (Debian's scamper
    sends 68-byte packets for this command, quoted back as such)."""
    t = task(f"-o 1 -p 0102030405060708 {V6}")
    p = send(t, T0)
    assert p.packet[48:] == bytes(4) + bytes.fromhex("05060708") + bytes(12)
    assert t.cmd.probe_size == 60 and len(p.packet) == 68


@pytest.mark.parametrize(("change", "matched"), [
    ("none", True), ("sport", False), ("offset", False), ("proto", False), ("pid", False),
])
def test_trace_offset_matches_quoted_fragment(change: str, matched: bool) -> None:
    t = task(f"-o 7 -s 4321 {V6}")
    p = send(t, T0)
    q = bytearray(p.packet)
    if change == "sport":
        struct.pack_into(">H", q, 44, 4322)
    elif change == "offset":
        struct.pack_into(">H", q, 42, 8 << 3)
    elif change == "proto":
        q[40] = P.IPPROTO_TCP
    elif change == "pid":
        struct.pack_into(">H", q, 46, 1)  # a probe not sent yet
    r = error(p, T0 + MS, rtr(1, True), quote=bytes(q))
    keys = set(t.match_keys())
    assert any(k in keys for k in reply_keys(r)) == (change != "proto")
    assert (match_icmp(t.spec, r, 1) == 0) == matched


def test_trace_offset_replies_are_socket_timed_and_stop_on_unreach() -> None:
    """No transport header for the datalink to match: socket times (as
    Debian's scamper records them); an unreachable still stops the trace."""
    t = task(f"-o 1 -P tcp -q 1 {V6}")
    p1 = send(t, T0)
    deliver(t, error(p1, T0 + MS, rtr(1, True)), T0 + MS)
    p2 = send(t, T0 + 2 * MS)
    deliver(t, unreach(p2, T0 + 3 * MS, rtr(2, True), code=0), T0 + 3 * MS)
    rec = roundtrip(t.result())
    assert rec.stop_reason == TraceStop.UNREACH and rec.offset == 1
    assert [r.flags for _, r in rec.replies()] == [F.TS_SOCK_RX | F.REPLY_TTL] * 2
    assert [p.size for p, _ in rec.replies()] == [52, 52]


# --------------------------------------------------------------------------
# -O ptr: names of hop addresses


class FakeResolver:
    """Engine.resolver's ptr(): records the lookups; answers when told."""

    def __init__(self, has_nameserver: bool = True) -> None:
        self.has_nameserver = has_nameserver
        self.asked: list[bytes] = []
        self.waiting: dict[bytes, list[Callable[[str | None], None]]] = {}

    def ptr(self, addr: bytes, cb: Callable[[str | None], None]) -> bool:
        self.asked.append(addr)
        if not self.has_nameserver:
            return False
        self.waiting.setdefault(addr, []).append(cb)
        return True

    def answer(self, addr: bytes, name: str | None) -> None:
        for cb in self.waiting.pop(addr):
            cb(name)


def ptr_task(args: str, res: FakeResolver) -> TraceTask:
    t = task(args)
    t.ptr_lookup = res.ptr
    return t


def names(rec: Trace) -> list[tuple[int, str | None]]:
    return [(p.ttl, r.name) for p, r in rec.replies()]


def test_trace_ptr_names_hops_answered_before_the_record() -> None:
    """One lookup per address; a name known when the record is made goes
    with every reply from that address; the trace never waits for one."""
    res = FakeResolver()
    t = ptr_task(f"-O ptr -q 2 -Q {V4}", res)
    now = T0
    for _ in range(2):  # hop 1 answers twice: one lookup
        p = send(t, now)
        deliver(t, error(p, now + MS, rtr(1, False)), now + MS)
        now += 2 * MS
    res.answer(rtr(1, False), "r1.example")
    p = send(t, now)
    deliver(t, error(p, now + MS, rtr(2, False)), now + MS)
    assert res.asked == [rtr(1, False), rtr(2, False)]
    mid = t.result(TraceStop.INPROGRESS)
    assert names(mid) == [(1, "r1.example"), (1, "r1.example"), (2, None)]
    res.answer(rtr(2, False), None)  # no PTR record for it
    rec = roundtrip(t.result())
    assert names(rec) == [(1, "r1.example"), (1, "r1.example"), (2, None)]
    assert rec.flags is not None and rec.flags & 0x100


def test_trace_ptr_name_after_the_record_is_not_in_it() -> None:
    res = FakeResolver()
    t = ptr_task(f"-O ptr -q 1 {V4}", res)
    rec = run_path(t, hops=1)
    assert t.done and res.asked == [rtr(1, False), DST4]
    res.answer(DST4, "late.example")
    assert names(rec) == [(1, None), (2, None)]


@pytest.mark.parametrize(("args", "has_ns", "asked"), [
    ("-q 1", True, 0),          # no -O ptr: no lookups
    ("-O ptr -q 1", False, 2),  # no nameserver: asked, nothing comes back
])
def test_trace_ptr_without_option_or_nameserver(args: str, has_ns: bool, asked: int) -> None:
    res = FakeResolver(has_ns)
    rec = run_path(ptr_task(f"{args} {V4}", res), hops=1)
    assert len(res.asked) == asked and not res.waiting
    assert rec.stop_reason == TraceStop.COMPLETED and names(rec) == [(1, None), (2, None)]


# --------------------------------------------------------------------------
# real runs in the test bed

# A PTR responder for the vantage point's loopback: every address gets the
# name h-<address with dashes>.tb; queries are logged to stdout.
ROOT = Path(__file__).resolve().parents[3]  # the responder imports tests.scamperd.dnsreply

DNS_RESPONDER = r"""
import select, socket
from tests.scamperd.dnsreply import answer
socks = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, 53))
    socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(4096)
        off, labels = 12, []
        while data[off]:
            labels.append(data[off + 1:off + 1 + data[off]].decode())
            off += 1 + data[off]
        print("query", ".".join(labels), flush=True)
        if labels[-2:] == ["in-addr", "arpa"]:
            addr = ".".join(reversed(labels[:4]))
        else:
            addr = socket.inet_ntop(socket.AF_INET6, bytes.fromhex("".join(reversed(labels[:32]))))
        s.sendto(answer(data, ["h-" + addr.replace(".", "-").replace(":", "-") + ".tb"]), peer)
"""

# One Engine in the vantage point, its resolver asking the responder; each
# trace's result, then each -y copy, as base64 warts lines ("R"/"Y" first).
OURS = r"""
import base64, os, sys, time, trio, warts
from protocol.commands.base import CommandContext
from protocol import Attach, Command, Data, Done, Ok
from protocol.commands.trace import parse_trace
from scamperd.engine.driver import Engine
from scamperd.methods.trace import make_trace_task

async def main():
    engine = Engine(pps=100)
    engine.resolver.nameserver = "127.0.0.1"
    done, results, copies = trio.Event(), {}, []
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        args = sys.argv[1:]
        for i, a in enumerate(args):
            task = make_trace_task(parse_trace(a, CommandContext(pid=os.getpid() + i)),
                                   None, engine)
            task.on_progress = copies.append
            def finished(t, fault, i=i):
                results[i] = t.result()
                if len(results) == len(args):
                    done.set()
            engine.watch(task, finished)
            engine.sched.add(task, time.time_ns())
        engine.poke()
        with trio.fail_after(60):
            await done.wait()
        nursery.cancel_scope.cancel()
    for i in sorted(results):
        print("R", base64.b64encode(warts.encode([results[i]])).decode())
    for c in copies:
        print("Y", base64.b64encode(warts.encode([c])).decode())

trio.run(main)
"""


def run_ours(tb: Testbed, cmds: list[str]) -> tuple[list[Trace], list[Trace]]:
    out = tb.exec("vp", [sys.executable, "-c", OURS, *cmds], cwd=ROOT, timeout=120).stdout
    recs: dict[str, list[Trace]] = {"R": [], "Y": []}
    for line in out.splitlines():
        kind, b64 = line.split()
        recs[kind].append(warts.decode(base64.b64decode(b64))[0])
    assert len(recs["R"]) == len(cmds)
    return recs["R"], recs["Y"]


def run_debian(tb: Testbed, cmd: str, tmp: Path) -> Trace:
    out = tmp / f"debian-{abs(hash(cmd))}.warts"
    tb.exec("vp", ["/usr/bin/scamper", "-n", "127.0.0.1", "-p", "100", "-O", "warts",
                   "-o", str(out), "-I", f"trace {cmd}"], timeout=120)
    (rec,) = [r for r in warts.decode(out.read_bytes()) if isinstance(r, Trace)]
    return rec


HopView = tuple[int, int | None, int | None, str, str | None]


def view(rec: Trace, branches: set[str]) -> list[HopView]:
    """Per reply: TTL, flags, probe size, the address (an ECMP branch's
    routers only as '*': flows differ between runs) and the name (likewise)."""
    out = []
    for p, r in rec.replies():
        a = str(r.addr)
        name = r.name
        if a in branches:
            a = "*"
            name = name and "*"
        out.append((p.ttl, r.flags, p.size, a, name))
    return out


@pytest.fixture
def responder(testbed: Testbed):  # type: ignore[no-untyped-def]
    p = testbed.popen("vp", [sys.executable, "-c", DNS_RESPONDER], stdout=subprocess.PIPE,
                      text=True, cwd=ROOT)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    yield p
    testbed.stop(p)


@pytest.mark.netns
@pytest.mark.usefixtures("responder")
@pytest.mark.parametrize("family", ["4", "6"])
def test_trace_options_real_match_debian_scamper(testbed: Testbed, family: str,
                                                 tmp_path: Path) -> None:
    """-O ptr (names from the responder, none for the reply that ends the
    trace: it is written before the answer comes), -O dl, -r and -o give
    the hops, flags, sizes and names Debian's scamper gives."""
    tb = testbed
    dst = tb.dst4 if family == "4" else tb.dst6
    r1 = tb.hops4[0][0] if family == "4" else tb.hops6[0][0]
    branches = {a for b in (tb.branches4 if family == "4" else tb.branches6) for a in b}
    cmds = [f"-O ptr -W 5 -q 1 {dst}", f"-O dl -q 1 {dst}", f"-r {r1} -q 1 {dst}",
            f"-P icmp -O dl -r {r1} -q 1 {dst}"]
    if family == "6":
        cmds += [f"-o 1 -q 1 -w 1 -g 2 {tb.dst6}", f"-o 3 -P tcp -q 1 -w 1 -m 3 {tb.dst6}"]
    ours, _ = run_ours(tb, cmds)
    for cmd, rec in zip(cmds, ours, strict=True):
        theirs = run_debian(tb, cmd, tmp_path)
        assert (rec.stop_reason, rec.probec, rec.hop_count, rec.probe_size) == \
            (theirs.stop_reason, theirs.probec, theirs.hop_count, theirs.probe_size), cmd
        assert str(rec.rtr) == str(theirs.rtr)
        assert view(rec, branches) == view(theirs, branches), cmd
        if "ptr" in cmd:
            got = [r.name for _, r in rec.replies()]
            assert all(got[:-1]) and got[-1] is None, got


@pytest.mark.netns
def test_trace_stream_real_copies(testbed: Testbed) -> None:
    """-y 2 through the real engine: a copy after every second probe."""
    ours, copies = run_ours(testbed, [f"-y 2 -q 1 {testbed.dst4}"])
    (rec,) = ours
    assert [c.probec for c in copies] == list(range(2, rec.probec + 1, 2))
    assert all(c.stop_reason == TraceStop.INPROGRESS for c in copies)
    assert rec.stop_reason == TraceStop.COMPLETED


@pytest.mark.netns
@pytest.mark.usefixtures("responder")
def test_trace_options_through_the_daemon(testbed: Testbed, tmp_path: Path) -> None:
    """The control session's side: -y copies go out as ``DATA N id-M
    inprog`` blocks before the result, and ``set nameserver`` points -O
    ptr at the responder."""
    tb = testbed
    with running_daemon(tb, tmp_path, "-p", "100") as d:
        client = LineClient(d.unix_connect(timeout=60))
        client.send("set nameserver 127.0.0.1")
        assert client.next() == Ok()
        conn = client.conn
        client.sock.sendall(conn.send(Attach()))
        for line in (f"trace -y 2 -q 1 -U 1 {tb.dst4}",
                     f"trace -O ptr -W 5 -q 1 -U 2 {tb.dst4}"):
            client.sock.sendall(conn.send(Command(line)))
        client.sock.sendall(conn.send(Done()))
        seen = []
        while (ev := client.next()) is not None:
            seen.append(ev)
        client.close()
    data = [ev for ev in seen if isinstance(ev, Data)]
    recs = warts.decode(b"".join(ev.payload for ev in data))
    assert len(recs) == len(data)  # one record per DATA block
    got = [(ev, rec) for ev, rec in zip(data, recs, strict=True) if isinstance(rec, Trace)]
    copies = [rec for ev, rec in got if ev.inprog]
    final = {rec.userid: rec for ev, rec in got if not ev.inprog}
    assert all(ev.task_id == 1 for ev, _ in got if ev.inprog)
    assert [c.probec for c in copies] == list(range(2, final[1].probec + 1, 2))
    assert all(c.stop_reason == TraceStop.INPROGRESS for c in copies)
    names = [r.name for _, r in final[2].replies()]
    assert final[2].stop_reason == TraceStop.COMPLETED
    assert all(n and n.startswith("h-10-200-") for n in names[:-1]) and names[-1] is None
