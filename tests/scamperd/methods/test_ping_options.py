"""ping's datalink options: -O spoof, -M, -O tbt, -O dltx, -O dl, -r, -y, and
icmp-time over IPv6, and the path-MTU send error.

The first half drives PingTask without sockets, with replies from the shared
forger (scamperd/engine/fakenet/forge.py; the datalink view: whole packets
or their first fragments, parsed by ``parse_datalink``), and runs -M on the
fake network, whose hosts fragment after a packet too big.  The second half
runs the real engine in the test bed and compares with Debian's
scamper 20211212 where it has the option (-M, tbt, spoof, -r; it has no
dltx and no -y, for those scamper 20260420's source is the reference).
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from protocol import CLOSED, NEED_DATA, ClientConnection
from protocol.commands.base import CommandContext
from protocol.commands.ping import parse_ping
from protocol.events import Data
from scamperd.config import Config
from scamperd.daemon import Serving
from scamperd.engine import packets as P
from scamperd.engine.driver import Engine
from scamperd.engine.fakenet import FakeIO, forge
from scamperd.engine.senderr import send_error
from scamperd.engine.task import FINISHED, Probe, SendProbe, Wait
from scamperd.methods.ping import PingTask, make_ping_task
from scamperd.methods.ping.probes import ptb_quote
from scamperd.methods.ping.task import PTB
from tests.scamperd import fakenet_helpers as fakenet
from tests.scamperd.methods.test_ping import (
    DST4,
    DST6,
    MS,
    SEC,
    SRC4,
    SRC6,
    T0,
    cmd,
    echo_reply4,
    roundtrip,
    send,
    task,
)
from tests.testbed import Testbed
from warts.types.ping import Ping, PingReplyFlag, PingStop

RF = PingReplyFlag
REAL4 = socket.inet_aton("10.200.1.1")
REAL6 = socket.inet_pton(socket.AF_INET6, "fd00:200:1::1")
SPOOF4 = socket.inet_aton("10.200.1.9")
SPOOF6 = socket.inet_pton(socket.AF_INET6, "fd00:200:1::9")
ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable


def spoof_task(args: str) -> PingTask:
    c = cmd(args)
    v6 = ":" in args.split()[-1]
    return PingTask(c, src=c.src.packed if c.src else (SRC6 if v6 else SRC4),
                    real_src=REAL6 if v6 else REAL4)


# ping -M and -O tbt as the test bed and the fake network run them
PMTU_CASES = [
    ("-c 3 -i 0.2 -s 1300 -M 1000", False),
    ("-c 3 -i 0.2 -s 1350 -M 1300", True),
    ("-O tbt -c 3 -i 0.2 -s 1350 -M 1300", True),
]


def dl_echo(probe: Probe, rx: int, *, fragment: int = 0, ipid: int = 4242,
            frag_id: int = 0xA1B2C3D4) -> P.Reply:
    """The target's echo reply to ``probe`` as the datalink sees it;
    ``fragment`` > 0: only its first fragment, for a path MTU that big."""
    pkt = forge.echo_reply(probe.packet, ttl=59, ipid=ipid)
    if fragment:
        pkt = forge.fragments(pkt, fragment, frag_id)[0]
    r = P.parse_datalink(pkt, rx, 0)
    assert r is not None
    return r


# --------------------------------------------------------------------------
# -O spoof


@pytest.mark.parametrize(("args", "src", "embedded"), [
    ("-O spoof -S 10.200.1.9 10.200.6.2", SPOOF4, REAL4),
    ("-O spoof -S fd00:200:1::9 fd00:200:6::2", SPOOF6, REAL6),
    ("-O spoof -O nosrc -S 10.200.1.9 10.200.6.2", SPOOF4, b""),
    ("-O spoof -S 10.200.1.9 -P tcp-synack 10.200.6.2", SPOOF4, b""),
    ("-O spoof -S 10.200.1.9 -P udp 10.200.6.2", SPOOF4, REAL4),
])
def test_ping_spoof_sends_from_spoofed_source_with_real_source_inside(
        args: str, src: bytes, embedded: bytes) -> None:
    t = spoof_task(args)
    pr = send(t, T0)
    v6 = len(src) == 16
    assert (pr.packet[8:24] if v6 else pr.packet[12:16]) == src
    hdr = 40 if v6 else 20
    thdr = 20 if t.cmd.is_tcp else 8
    payload = pr.packet[hdr + thdr:]
    assert payload[:len(embedded)] == embedded
    # -s counts the embedded address (scamper's cmps)
    assert len(pr.packet) == t.cmd.size
    assert pr.via == (DST6 if v6 else DST4)  # sent on the datalink
    assert roundtrip(t.result()).src.raw == src


def test_ping_spoof_checksum_fixup_where_scamper_puts_it() -> None:
    # do_ping_probe skips 4 bytes for spoof: over IPv6 the fix-up lands in
    # the embedded address, as on the wire from scamper (seen in the test bed)
    t = spoof_task("-O spoof -S fd00:200:1::9 -C 0x1234 fd00:200:6::2")
    pr = send(t, T0)
    icmp = pr.packet[40:]
    assert struct.unpack_from(">H", icmp, 2)[0] == 0x1234
    assert P.checksum(icmp, P.pseudo_sum(SPOOF6, DST6, 58, len(icmp))) == 0
    assert icmp[8:12] == REAL6[:4] and icmp[14:24] == REAL6[6:]
    assert icmp[12:14] != REAL6[4:6] and icmp[24:26] == b"\0\0"
    t4 = spoof_task("-O spoof -S 10.200.1.9 -C 0x1234 10.200.6.2")
    icmp4 = send(t4, T0).packet[20:]
    assert icmp4[8:12] == REAL4 and P.checksum(icmp4) == 0
    assert struct.unpack_from(">H", icmp4, 2)[0] == 0x1234


def test_ping_spoof_records_replies_on_the_datalink_path() -> None:
    t = spoof_task("-O spoof -S 10.200.1.9 -c 1 10.200.6.2")
    pr = send(t, T0)
    t.receive_reply(echo_reply4(pr, T0 + 3 * MS), T0 + 3 * MS)
    (reply,) = roundtrip(t.result()).replies
    assert reply.flags is not None and reply.flags & RF.DLRX
    # with -O sockrx there is no ICMP socket to read from at all
    t2 = spoof_task("-O spoof -O sockrx -S 10.200.1.9 -c 1 10.200.6.2")
    pr2 = send(t2, T0)
    t2.receive_reply(echo_reply4(pr2, T0 + 3 * MS), T0 + 3 * MS)
    assert t2.result().replies == ()


# --------------------------------------------------------------------------
# -r, -O dltx, send errors on the datalink


@pytest.mark.parametrize(("args", "via"), [
    ("-r 10.200.2.2 10.200.6.2", socket.inet_aton("10.200.2.2")),
    ("-r fd00:200:2::2 fd00:200:6::2", socket.inet_pton(socket.AF_INET6, "fd00:200:2::2")),
    ("-O dltx 10.200.6.2", DST4),
    ("-O dltx fd00:200:6::2", DST6),
    ("10.200.6.2", None),
    ("-O dl 10.200.6.2", None),
])
def test_ping_datalink_transmit_goes_via_router_or_destination(args: str,
                                                              via: bytes | None) -> None:
    t = task(args)
    pr = send(t, T0)
    assert pr.via == via
    if via is not None:
        assert pr.txts is None  # no kernel transmit time for frames we send ourselves
    rec = roundtrip(t.result())
    if t.cmd.rtr is not None:
        assert rec.rtr is not None and rec.rtr.raw == via


def test_ping_dltx_send_error_is_scamper_datalink_message() -> None:
    t = task("-O dltx -s 1500 -c 2 10.200.6.2")
    a = t.next_action(T0)
    assert isinstance(a, SendProbe)
    err = send_error(a.probe, OSError(90, "Message too long"))
    t.probe_sent(a.probe, T0, err)
    rec = roundtrip(t.result())
    assert rec.stop_reason == PingStop.ERROR and rec.stop_data == 90
    assert rec.errmsg == "dl_linux_tx 1514 bytes failed: Message too long"


# --------------------------------------------------------------------------
# -O dl: the datalink sees probes leave (DLTX)


@pytest.mark.parametrize(("args", "wants"), [
    ("-O dl 10.200.6.2", True),
    ("-O dl -P udp fd00:200:6::2", True),
    ("-O dl -P icmp-time 10.200.6.2", False),   # scamper only knows echo requests
    ("-P tcp-syn 10.200.6.2", False),           # sent on the datalink itself
    ("-P tcp-syn -O raw 10.200.6.2", True),
    ("-O dltx 10.200.6.2", False),              # Linux never loops our own frames
    ("10.200.6.2", False),
])
def test_ping_dl_asks_kernel_transmit_time_where_scamper_sees_it(args: str,
                                                                 wants: bool) -> None:
    pr = send(task(args), T0)
    assert (pr.txts is not None) is wants


def test_ping_dl_kernel_transmit_time_becomes_tx_with_dltx_flag() -> None:
    t = task("-O dl -c 2 10.200.6.2")
    a = t.next_action(T0)
    assert isinstance(a, SendProbe) and a.probe.txts is not None
    a.probe.txts.append(T0 + 40_000)  # what the engine appends from SO_TIMESTAMPING
    t.probe_sent(a.probe, T0)
    a2 = t.next_action(T0 + SEC)
    assert isinstance(a2, SendProbe)
    t.probe_sent(a2.probe, T0 + SEC)  # no kernel time: no claim
    t.receive_reply(echo_reply4(a.probe, T0 + 140_000), T0 + 140_000)
    t.receive_reply(echo_reply4(a2.probe, T0 + SEC + 140_000), T0 + SEC + 140_000)
    p0, p1 = roundtrip(t.result()).probes()
    assert p0 is not None and p1 is not None
    assert p0.flags & RF.DLTX
    assert p0.tx.sec * SEC + p0.tx.usec * 1000 == (T0 + 40_000) // 1000 * 1000
    assert p0.replies[0].rtt == 100 and (p0.replies[0].flags or 0) & RF.DLTX
    assert not p1.flags & RF.DLTX and p1.replies[0].rtt == 140


# --------------------------------------------------------------------------
# -M: packet too big


@pytest.mark.parametrize("v6", [False, True])
def test_ping_pmtu_sends_one_ptb_quoting_the_big_reply(v6: bool) -> None:
    dst = "fd00:200:6::2" if v6 else "10.200.6.2"
    t = task(f"-M 1000 -s 1300 -c 3 -i 0.5 {dst}")
    assert t.dl_rx
    pr = send(t, T0)
    reply = dl_echo(pr, T0 + MS)
    # what the raw socket gives (reassembled, no datalink view) is not read
    raw_view = P.Reply(**{**{f: getattr(reply, f) for f in reply.__slots__}, "dl": False})
    t.receive_reply(raw_view, T0 + MS)
    assert t.result().replies == () and t.next_action(T0 + MS) == Wait(T0 + SEC // 2)
    t.receive_reply(reply, T0 + MS)
    a = t.next_action(T0 + 2 * MS)
    assert isinstance(a, SendProbe) and a.probe.ident == PTB
    ptb = a.probe.packet
    assert a.probe.via == (DST6 if v6 else DST4)
    if v6:
        first, plen, nxt, hlim = struct.unpack_from(">IHBB", ptb, 0)
        assert (nxt, hlim) == (P.IPPROTO_ICMPV6, 255) and ptb[24:40] == DST6
        typ, code, _, mtu = struct.unpack_from(">BBHI", ptb, 40)
        quote = ptb[48:]
        assert len(quote) == 1280 - 48 and quote == reply.raw[:1232]
        assert P.checksum(ptb[40:], P.pseudo_sum(SRC6, DST6, 58, plen)) == 0
    else:
        assert ptb[8] == 255 and ptb[9] == P.IPPROTO_ICMP and ptb[16:20] == DST4
        assert struct.unpack_from(">H", ptb, 6)[0] == 0  # no DF, as scamper
        typ, code, _, _, mtu = struct.unpack_from(">BBHHH", ptb, 20)
        quote = ptb[28:]
        assert quote == reply.raw[:28] == ptb_quote(reply.raw, False, reply.size)
        assert P.checksum(ptb[20:]) == 0
    assert (typ, code, mtu) == ((2, 0, 1000) if v6 else (3, 4, 1000))
    t.probe_sent(a.probe, T0 + 2 * MS)
    # the next probe waits -i from the PTB, and no second PTB is pending
    assert t.next_action(T0 + 3 * MS) == Wait(T0 + 2 * MS + SEC // 2)
    pr2 = send(t, T0 + 2 * MS + SEC // 2)
    frag = dl_echo(pr2, T0 + SEC, fragment=1000)
    t.receive_reply(frag, T0 + SEC)
    assert t.next_action(T0 + SEC) == Wait(T0 + 2 * MS + SEC)
    rec = roundtrip(t.result())
    assert rec.ping_sent == 2 and [r.size for r in rec.replies] == [reply.size, frag.size]
    assert frag.size <= 1000 and reply.size == 1300
    big_reply, frag_reply = rec.replies
    assert big_reply.flags is not None and frag_reply.flags is not None
    if v6:
        # only a fragmented IPv6 reply has an IP-ID: its fragment id
        assert not big_reply.flags & RF.REPLY_IPID
        assert frag_reply.flags & RF.REPLY_IPID and frag_reply.ipid32 == 0xA1B2C3D4
    assert frag_reply.flags & RF.DLRX


def test_ping_pmtu_ptb_send_error_stops_ping() -> None:
    t = task("-M 1000 -s 1300 -c 3 10.200.6.2")
    pr = send(t, T0)
    t.receive_reply(dl_echo(pr, T0 + MS), T0 + MS)
    a = t.next_action(T0 + MS)
    assert isinstance(a, SendProbe) and a.probe.ident == PTB
    err = send_error(a.probe, OSError(101, "Network is unreachable"))
    t.probe_sent(a.probe, T0 + MS, err)
    assert t.next_action(T0 + MS) is FINISHED
    rec = roundtrip(t.result())
    assert rec.stop_reason == PingStop.ERROR and rec.stop_data == 101
    assert rec.errmsg == f"dl_linux_tx {len(a.probe.packet) + 14} bytes failed: " \
                         "Network is unreachable"


@pytest.mark.parametrize(("args", "v6"), PMTU_CASES)
async def test_ping_pmtu_replies_shrink_on_the_fake_network(
        autojump_clock: trio.testing.MockClock, args: str, v6: bool) -> None:
    # the test bed's case below, on the fake network: its destination learns
    # the path MTU from our packet too big and fragments its replies after
    engine = Engine(pps=100, io=FakeIO(fakenet.bed()))
    t = make_ping_task(parse_ping(f"{args} {fakenet.DST6 if v6 else fakenet.DST4}",
                                  CommandContext(pid=3)), None, engine)
    await fakenet.run_tasks(engine, [t])
    rec = roundtrip(t.result())
    assert [r.size for r in rec.replies] == [int(args.split("-s ")[1].split()[0])] + \
        [(1296 if v6 else 996)] * 2
    if v6:
        assert [bool((r.flags or 0) & RF.REPLY_IPID) for r in rec.replies] == [
            False, True, True]
    assert all((r.flags or 0) & RF.DLRX for r in rec.replies)
    assert rec.stop_reason == PingStop.COMPLETED


# --------------------------------------------------------------------------
# -O tbt


def test_ping_tbt_counts_only_fragmented_replies() -> None:
    t = task("-O tbt -M 1280 -s 1300 -c 4 -o 1 -i 0.5 fd00:200:6::2")
    pr = send(t, T0)
    t.receive_reply(dl_echo(pr, T0 + MS), T0 + MS)  # whole: counts for nothing
    assert t.replies == 0 and t.stop_reason == PingStop.NONE
    a = t.next_action(T0 + MS)
    assert isinstance(a, SendProbe) and a.probe.ident == PTB
    t.probe_sent(a.probe, T0 + MS)
    pr2 = send(t, T0 + MS + SEC // 2)
    t.receive_reply(dl_echo(pr2, T0 + SEC, fragment=1280), T0 + SEC)
    assert t.replies == 1 and t.stop_reason == PingStop.COMPLETED  # -o 1 reached
    rec = roundtrip(t.result())
    assert rec.stop_reason == PingStop.COMPLETED and rec.ping_sent == 2


def test_ping_tbt_first_reply_not_echo_reply_ends_it() -> None:
    t = task("-O tbt -M 1280 -s 1300 -c 4 fd00:200:6::2")
    pr = send(t, T0)
    rtr = socket.inet_pton(socket.AF_INET6, "fd00:200:5::2")
    err = P.parse_datalink(forge.port_unreachable(rtr, pr.packet, ttl=60), T0 + MS)
    assert err is not None
    t.receive_reply(err, T0 + MS)
    assert t.stop_reason == PingStop.COMPLETED and t.replies == 0
    assert t.next_action(T0 + MS) is FINISHED


# --------------------------------------------------------------------------
# icmp-time over IPv6


@pytest.mark.parametrize(("args", "errmsg"), [
    ("-P icmp-time fd00:200:6::2", "no pr_dl and send_func"),
    ("-P icmp-time -O dltx fd00:200:6::2", "no build_func"),
    ("-P icmp-time -r fd00:200:1::2 fd00:200:6::2", "no build_func"),
])
def test_ping_icmp_time_v6_error_result_as_scamper_release_build(args: str,
                                                                 errmsg: str) -> None:
    t = task(args)
    assert t.next_action(T0) is FINISHED
    rec = roundtrip(t.result())
    assert rec.stop_reason == PingStop.ERROR and rec.stop_data == 0
    assert rec.errmsg == errmsg and rec.ping_sent == 0


# --------------------------------------------------------------------------
# -y stream


@pytest.mark.parametrize(("stream", "attempts", "at"), [(1, 3, [1, 2, 3]), (2, 5, [2, 4]),
                                                         (0, 3, [])])
def test_ping_stream_hands_out_inprogress_records(stream: int, attempts: int,
                                                  at: list[int]) -> None:
    got: list[Ping] = []
    t = task(f"-y {stream} -c {attempts} 10.200.6.2", on_progress=got.append)
    for i in range(attempts):
        pr = send(t, T0 + i * SEC)
        t.receive_reply(echo_reply4(pr, T0 + i * SEC + MS), T0 + i * SEC + MS)
    assert [r.ping_sent for r in got] == at
    for r in got:
        r = roundtrip(r)
        assert r.stop_reason == PingStop.INPROGRESS
        # the probe just sent has no reply yet; the earlier ones have theirs
        assert len(r.replies) == r.ping_sent - 1
    assert t.next_action(T0 + attempts * SEC) is FINISHED
    assert roundtrip(t.result()).stop_reason == PingStop.COMPLETED


# --------------------------------------------------------------------------
# the wire layer pieces


def test_packets_parse_datalink_skips_later_fragments_and_keeps_first() -> None:
    pr = send(task("-s 1300 fd00:200:6::2"), T0)
    first = dl_echo(pr, T0, fragment=1000)
    assert first.frag_id == 0xA1B2C3D4 and first.size == 40 + 8 + 952 and first.dl
    assert first.icmp_type == 129 and first.icmp_seq == 0
    later = forge.fragments(forge.echo_reply(pr.packet), 1000, 1)[1]
    assert P.parse_datalink(later) is None
    pr4 = send(task("-s 1300 10.200.6.2"), T0)
    first4 = dl_echo(pr4, T0, fragment=996)
    assert first4.size == 996 and first4.ipid == 4242 and first4.icmp_type == 0
    later4 = forge.fragments(forge.echo_reply(pr4.packet, ipid=4242), 996)[1]
    assert P.parse_datalink(later4) is None


# --------------------------------------------------------------------------
# In the test bed


_ENGINE_SCRIPT = """
import json, sys, time, trio
sys.path.insert(0, ".")
import warts
from protocol.commands.base import CommandContext
from protocol.commands.ping import parse_ping
from scamperd.engine.driver import Engine
from scamperd.methods.ping import make_ping_task

async def main():
    engine = Engine(pps=100)
    results = {}
    done = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        args = sys.argv[1]
        task = make_ping_task(parse_ping(args, CommandContext()), None, engine)
        progress = []
        task.on_progress = progress.append
        def finished(t, fault):
            results[0] = t.result()
            done.set()
        engine.watch(task, finished)
        engine.sched.add(task, time.time_ns())
        engine.poke()
        with trio.fail_after(20):
            await done.wait()
        nursery.cancel_scope.cancel()
    for rec in [*progress, results[0]]:
        sys.stdout.write(warts.to_json(rec))

trio.run(main)
"""


_TWO_TASKS_SCRIPT = """
import json, sys, time, trio
sys.path.insert(0, ".")
import warts
from protocol.commands.base import CommandContext
from protocol.commands.ping import parse_ping
from scamperd.engine.driver import Engine
from scamperd.methods.ping import make_ping_task

async def main():
    engine = Engine(pps=100)
    results = {}
    done = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        tasks = [make_ping_task(parse_ping(a, CommandContext()), None, engine)
                 for a in sys.argv[1:]]
        reading = engine.io.dl_rx is not None
        for i, task in enumerate(tasks):
            def finished(t, fault, i=i):
                results[i] = t.result()
                if len(results) == len(tasks):
                    done.set()
            engine.watch(task, finished)
            engine.sched.add(task, time.time_ns())
        engine.poke()
        with trio.fail_after(20):
            await done.wait()
        await trio.sleep(0.05)
        print(json.dumps({"reading": reading, "closed": engine.io.dl_rx is None}))
        nursery.cancel_scope.cancel()
    for i in sorted(results):
        sys.stdout.write(warts.to_json(results[i]))

trio.run(main)
"""


@pytest.mark.netns
def test_engine_datalink_replies_reach_only_the_task_that_reads_it(testbed: Testbed) -> None:
    # A -M ping reads the datalink while a plain ping to the same target
    # runs: the plain one still gets each reply once (from its raw socket),
    # and the datalink socket closes when the -M ping is done.
    tb = testbed
    tb.flush_pmtu()
    out = tb.exec("vp", [PY, "-c", _TWO_TASKS_SCRIPT, f"-c 3 -i 0.1 -s 1300 -M 1000 {tb.dst4}",
                         f"-c 3 -i 0.1 {tb.dst4}"], cwd=ROOT, timeout=60).stdout
    state, mtu, plain = (json.loads(ln) for ln in out.splitlines())
    assert state == {"reading": True, "closed": True}
    assert sizes(mtu) == [1300, 996, 996]
    assert [r["seq"] for r in plain["responses"]] == [0, 1, 2]
    assert all("dlrxts" not in r.get("reply_flags", []) for r in plain["responses"])


def ours(tb: Testbed, ns: str, args: str) -> list[dict[str, Any]]:
    """Run one ping with our engine in ``ns``; its records as sc_warts2json-style JSON."""
    tb.flush_pmtu()
    out = tb.exec(ns, [PY, "-c", _ENGINE_SCRIPT, args], cwd=ROOT, timeout=60).stdout
    return [json.loads(ln) for ln in out.splitlines()]


def debian(tb: Testbed, ns: str, args: str) -> tuple[dict[str, Any], str]:
    """Debian's scamper 20211212 running the same ping: its record and stderr."""
    tb.flush_pmtu()
    opts, dst = args.rsplit(" ", 1)
    r = tb.exec(ns, ["sh", "-c", f"scamper -O json -c 'ping {opts}' -i {dst}"], timeout=60)
    recs = [json.loads(ln) for ln in r.stdout.splitlines()]
    (rec,) = [x for x in recs if x["type"] == "ping"]
    return rec, r.stderr


def sizes(rec: dict[str, Any]) -> list[int]:
    return [r["reply_size"] for r in rec["responses"]]


@pytest.mark.netns
@pytest.mark.parametrize("branch", [0, 1, 2])
@pytest.mark.parametrize("v6", [False, True])
def test_ping_rtr_leaves_through_chosen_router_in_testbed(testbed: Testbed, branch: int,
                                                          v6: bool) -> None:
    # From r2, three ECMP next hops lead to the destination; with -m 2 the
    # reply comes from r4's interface on the branch the probe took.
    tb = testbed
    rtr = (tb.branches6 if v6 else tb.branches4)[branch][0]
    hop = (tb.branches6 if v6 else tb.branches4)[branch][1]
    args = f"-c 2 -i 0.1 -m 2 -r {rtr} {tb.dst6 if v6 else tb.dst4}"
    (rec,) = ours(tb, "r2", args)
    assert [r["from"] for r in rec["responses"]] == [hop, hop], rec
    deb, _ = debian(tb, "r2", args)
    assert [r["from"] for r in deb["responses"]] == [hop, hop]


@pytest.mark.netns
@pytest.mark.parametrize(("args", "v6"), PMTU_CASES)
def test_ping_pmtu_replies_shrink_like_scamper_in_testbed(testbed: Testbed, args: str,
                                                          v6: bool) -> None:
    tb = testbed
    full = f"{args} {tb.dst6 if v6 else tb.dst4}"
    (rec,) = ours(tb, "vp", full)
    deb, _ = debian(tb, "vp", full)
    # the first reply is whole, then the destination fragments for us
    assert sizes(rec) == sizes(deb) == [int(args.split("-s ")[1].split()[0])] + \
        [(1296 if v6 else 996)] * 2
    if v6:
        assert [("reply_ipid" in r) for r in rec["responses"]] == [False, True, True]
        assert [("reply_ipid" in r) for r in deb["responses"]] == [False, True, True]
    assert all("dlrxts" in r["reply_flags"] for r in rec["responses"])
    assert rec["stop_reason"] == "done"


@pytest.mark.netns
@pytest.mark.parametrize("v6", [False, True])
def test_ping_spoof_probe_on_wire_like_scamper_in_testbed(testbed: Testbed, v6: bool) -> None:
    tb = testbed
    spoofed = "fd00:200:1::9" if v6 else "10.200.1.9"
    dst = tb.dst6 if v6 else tb.dst4
    real = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, tb.vp6 if v6 else tb.vp4)
    args = f"-O spoof -S {spoofed} -c 1 -C 0x1234 {dst}"
    seen = []
    for run in (ours, debian):
        want = "ip6[40] == 128" if v6 else "icmp[0] == 8"  # echo requests only
        cap = tb.popen("dst", ["tcpdump", "-i", "e-r5", "-Q", "in", "-n", "-x", "-c", "1",
                               f"src host {spoofed} and {want}"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(0.5)  # tcpdump has no ready signal
        run(tb, "vp", args)
        try:
            out, _ = cap.communicate(timeout=5)
        finally:
            tb.stop(cap)
        hexes = "".join(ln.split(":", 1)[1] for ln in out.splitlines() if ln.startswith("\t0x"))
        seen.append(bytes.fromhex(hexes.replace(" ", "")))
    for pkt in seen:
        hdr = 40 if v6 else 20
        assert (pkt[8:24] if v6 else pkt[12:16]) == socket.inet_pton(
            socket.AF_INET6 if v6 else socket.AF_INET, spoofed)
        icmp = pkt[hdr:]
        assert struct.unpack_from(">H", icmp, 2)[0] == 0x1234
        # the real source rides in the payload (the 2 bytes at offset 4 are
        # the checksum fix-up, which scamper writes there over IPv6 too)
        assert icmp[8:12] == real[:4] and (not v6 or icmp[14:24] == real[6:])


@pytest.mark.netns
@pytest.mark.parametrize("v6", [False, True])
def test_ping_too_big_then_message_too_long_like_scamper_in_testbed(testbed: Testbed,
                                                                    v6: bool) -> None:
    # The first 1500-byte probe draws a PTB from r5 (1400 MTU link); the
    # kernel learns the path MTU and the second send fails EMSGSIZE, for
    # scamper (the ping_big_v4 vector) and for our raw socket alike.
    tb = testbed
    dst = tb.dst6 if v6 else tb.dst4
    (rec,) = ours(tb, "vp", f"-c 2 -s 1500 {dst}")
    deb, err = debian(tb, "vp", f"-c 2 -s 1500 {dst}")
    fam = "icmp6" if v6 else "icmp4"
    n = 1460 if v6 else 1500
    want = f"{fam}_probe could not send to {dst} (64 ttl, 1 seq, {n} len): Message too long"
    assert rec["stop_reason"] == "error" and rec["errmsg"] == want and rec["stop_data"] == 90
    # Debian prints the same error on stderr
    assert f"scamper_{want.replace('_probe could', '_probe: could')}" in err
    assert rec["ping_sent"] == deb["ping_sent"] == 1
    (r,) = rec["responses"]
    assert r["icmp_nhmtu"] == 1400 and r["from"] == deb["responses"][0]["from"]


@pytest.mark.netns
def test_ping_dltx_ignores_learned_path_mtu_in_testbed(testbed: Testbed) -> None:
    # scamper 20260420 sends -O dltx probes on the datalink: nothing checks
    # the route's path MTU, so both oversize probes leave and draw a PTB each.
    tb = testbed
    (rec,) = ours(tb, "vp", f"-O dltx -c 2 -i 0.2 -s 1500 {tb.dst6}")
    assert rec["stop_reason"] == "done" and rec["ping_sent"] == 2
    assert [r["icmp_type"] for r in rec["responses"]] == [2, 2]
    assert [r["icmp_nhmtu"] for r in rec["responses"]] == [1400, 1400]


@pytest.mark.netns
def test_ping_dl_kernel_transmit_times_in_testbed(testbed: Testbed) -> None:
    tb = testbed
    for dst in (tb.dst4, tb.dst6):
        (rec,) = ours(tb, "vp", f"-O dl -c 3 -i 0.1 {dst}")
        assert len(rec["responses"]) == 3
        for r in rec["responses"]:
            assert set(r["reply_flags"]) == {"dltxts", "dlrxts"}
            assert 0 < r["rtt"] < 5


@pytest.mark.netns
def test_ping_icmp_time_v6_and_stream_in_testbed(testbed: Testbed) -> None:
    tb = testbed
    (rec,) = ours(tb, "vp", f"-P icmp-time -c 1 {tb.dst6}")
    assert rec["stop_reason"] == "error" and rec["errmsg"] == "no pr_dl and send_func"
    recs = ours(tb, "vp", f"-y 2 -c 4 -i 0.1 {tb.dst4}")
    assert [r["stop_reason"] for r in recs] == ["inprogress", "inprogress", "done"]
    assert [r["ping_sent"] for r in recs] == [2, 4, 4]
    assert len(recs[-1]["responses"]) == 4


# --------------------------------------------------------------------------
# -y through the control protocol


async def test_control_stream_sends_inprog_data_blocks(nursery: trio.Nursery,
                                                      tmp_path: Path) -> None:
    cfg = Config(ctrl_unix=str(tmp_path / "ctl.sock"), command="trace", monitorname=None)
    serving: Serving = await nursery.start(fakenet.serve_fake(), cfg)
    assert serving.unix is not None
    stream = await trio.open_unix_socket(serving.unix)
    conn = ClientConnection()
    await stream.send_all(b"attach format json\nping -y 1 -c 2 -i 0.05 -W 0.05 127.0.0.1\n")
    blocks: list[Data] = []
    with trio.fail_after(10):
        while not (blocks and not blocks[-1].inprog and blocks[-1].task_id == 1):
            data = await stream.receive_some(65536)
            assert data
            conn.receive_data(data)
            while (ev := conn.next_event()) is not NEED_DATA:
                assert ev is not CLOSED
                if isinstance(ev, Data):
                    blocks.append(ev)
    await stream.aclose()
    ping = [(b.inprog, json.loads(b.payload)) for b in blocks if b.task_id == 1]
    assert [(inprog, r["stop_reason"], r["ping_sent"]) for inprog, r in ping] == [
        (True, "inprogress", 1), (True, "inprogress", 2), (False, "done", 2)]
    assert len(ping[-1][1]["responses"]) == 2  # loopback answers every probe
