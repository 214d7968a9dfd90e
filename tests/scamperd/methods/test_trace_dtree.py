"""Doubletree (trace -z / -Z): DtreeTask without sockets on a synthetic path,
the local stop set store and lss-clear, then real runs in the test bed next
to Debian's scamper.

The synthetic path has routers rtr(1)..rtr(5) and the destination at hop 6;
replies are built around the exact probe bytes, as in test_trace.py.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import pytest

import warts
from protocol.commands.trace import parse_trace
from protocol.events import Data, Err, Ok
from scamperd.engine import packets as P
from scamperd.engine.task import FINISHED, Probe, SendProbe, Wait
from scamperd.methods.trace import Mode, TraceTask, make_trace_task
from scamperd.methods.trace.dtree import DtreeTask
from scamperd.methods.trace.lss import LssStore
from tests.scamperd.daemon_helpers import LineClient, needs_debian, running_daemon
from tests.scamperd.methods.test_trace import (
    CTX,
    DST4,
    MS,
    SRC4,
    T0,
    deliver,
    echo_reply,
    error,
    roundtrip,
    rtr,
    unreach,
)
from tests.testbed import Testbed
from warts.types.trace import Trace, TraceStop

SC_WARTSDUMP = "/usr/bin/sc_wartsdump"
PATH_LEN = 6  # rtr(1)..rtr(5), then the destination
R = {n: socket.inet_ntoa(rtr(n, False)) for n in range(1, PATH_LEN)}


def path_answer(silent: Collection[int] = (),
                addr: Mapping[int, bytes] | None = None) -> Callable[[int, Probe, int],
                                                                     P.Reply | None]:
    """TTL exceeded from rtr(ttl) (or ``addr[ttl]``), port unreachable from
    the destination at hop 6 and beyond; no answer at the ``silent`` hops."""
    def answer(ttl: int, probe: Probe, rx: int) -> P.Reply | None:
        if ttl in silent:
            return None
        if ttl >= PATH_LEN:
            return unreach(probe, rx, DST4)
        frm = (addr or {}).get(ttl, rtr(ttl, False))
        return error(probe, rx, frm)
    return answer


def run(args: str, answer: Callable[[int, Probe, int], P.Reply | None], *,
        store: LssStore | None = None, limit: int = 60) -> tuple[DtreeTask, list[tuple[int, Mode]]]:
    """Run a doubletree trace to the end; the (ttl, mode) of every probe sent."""
    t = DtreeTask(parse_trace(f"{args} 10.200.6.2", CTX), src=SRC4,
                  lss_store=LssStore() if store is None else store)
    sent: list[tuple[int, Mode]] = []
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
        ttl = a.probe.packet[8]
        sent.append((ttl, a.probe.ident[3]))
        r = answer(ttl, a.probe, now + MS)
        if r is not None:
            deliver(t, r, now + MS)
        now += 10 * MS
    assert t.next_action(now) is FINISHED
    roundtrip(t.result())
    return t, sent


def dtree_of(rec: Trace) -> tuple[int | None, str | None, str | None, str | None, int | None]:
    d = rec.dtree
    assert d is not None
    return (d.firsthop, str(d.lss_stop) if d.lss_stop else None,
            str(d.gss_stop) if d.gss_stop else None, d.lss, d.flags)


F, FW, BK = Mode.DTREE_FIRST, Mode.DTREE_FWD, Mode.DTREE_BACK


# --- forward and backward probing ------------------------------------------------


@pytest.mark.parametrize(("args", "want_sent", "want_stop", "want_first", "want_dtree"), [
    # forward from -f, then backwards; without -Z the first backward reply
    # is not in any local stop set, so it stops backward probing
    ("-f 3 -z 10.200.9.9", [(3, F), (4, FW), (5, FW), (6, FW), (2, BK)],
     TraceStop.COMPLETED, 3, (3, R[2], None, None, None)),
    # -O dtree-noback: forward only
    ("-f 3 -z 10.200.9.9 -O dtree-noback", [(3, F), (4, FW), (5, FW), (6, FW)],
     TraceStop.COMPLETED, 3, (3, None, None, None, 1)),
    # a GSS address ahead stops forward probing with GSS; TTL 1 ends
    # backward probing without an lss_stop
    ("-f 2 -z 10.200.4.2", [(2, F), (3, FW), (4, FW), (1, BK)],
     TraceStop.GSS, 2, (2, None, R[4], None, None)),
    # the first hop probed is in the GSS: stop GSS and probe backwards
    ("-f 3 -z 10.200.3.2 -Z a", [(3, F), (2, BK), (1, BK)],
     TraceStop.GSS, 2, (3, None, R[3], "a", None)),
    # ... unless that was TTL 1: nothing before it
    ("-z 10.200.1.2", [(1, F)], TraceStop.GSS, 1, (1, None, R[1], None, None)),
    # -f 1: forward from TTL 2 and no backward probing
    ("-z 10.200.9.9", [(1, F), (2, FW), (3, FW), (4, FW), (5, FW), (6, FW)],
     TraceStop.COMPLETED, 1, (1, None, None, None, None)),
    # beyond the destination: halve -f (the reply is not kept), twice here
    ("-f 13 -z 10.200.9.9", [(13, F), (6, F), (3, F), (4, FW), (5, FW), (6, FW), (2, BK)],
     TraceStop.COMPLETED, 3, (13, R[2], None, None, None)),
])
def test_dtree_forward_backward_and_gss(args: str, want_sent: list[tuple[int, Mode]],
                                        want_stop: TraceStop, want_first: int,
                                        want_dtree: tuple[object, ...]) -> None:
    t, sent = run(args, path_answer())
    rec = t.result()
    assert sent == want_sent
    assert (rec.stop_reason, rec.firsthop, rec.probec) == (want_stop, want_first, len(sent))
    assert dtree_of(rec) == want_dtree
    # every probe is a hop of the trace, but the replies that only moved
    # -f back were not kept
    halved = sum(1 for ttl, m in sent if m == F and ttl >= PATH_LEN)
    assert len(list(rec.replies())) == len(sent) - halved


def test_dtree_first_hop_timeouts_halve_then_forward() -> None:
    """A silent first hop halves the TTL; silent at TTL 1 too: forward from 2."""
    t, sent = run("-f 4 -q 1 -w 1 -z 10.200.9.9 -O dtree-noback", path_answer(silent={1, 2, 4}))
    assert sent[:4] == [(4, F), (2, F), (1, F), (2, FW)]
    assert t.result().stop_reason == TraceStop.COMPLETED and t.result().firsthop == 1


def test_dtree_destination_at_ttl_one_stops() -> None:
    """A reply that cannot be probed past at TTL 1 is recorded and ends the
    trace with its own reason."""
    def answer(ttl: int, probe: Probe, rx: int) -> P.Reply | None:
        return echo_reply(probe, rx)
    t, sent = run("-P icmp -f 2 -z 10.200.9.9", answer)
    rec = t.result()
    assert sent == [(2, F), (1, F)]
    assert (rec.stop_reason, rec.firsthop) == (TraceStop.COMPLETED, 1)
    assert [p.ttl for p, _ in rec.replies()] == [1]


def test_dtree_gss_comes_last_in_precedence() -> None:
    """An unreachable from a GSS address stops with UNREACH, and GSS is not
    the reason, so no gss_stop either; the same address sending TTL exceeded
    stops with GSS."""
    def answer(ttl: int, probe: Probe, rx: int) -> P.Reply | None:
        if ttl == 4:
            return unreach(probe, rx, rtr(4, False), code=1)
        return error(probe, rx, rtr(ttl, False))
    t, _ = run("-f 2 -z 10.200.4.2 -O dtree-noback", answer)
    rec = t.result()
    assert (rec.stop_reason, rec.stop_data) == (TraceStop.UNREACH, 1)
    assert dtree_of(rec)[2] is None
    t, _ = run("-f 2 -z 10.200.4.2 -O dtree-noback", path_answer())
    assert (t.result().stop_reason, dtree_of(t.result())[2]) == (TraceStop.GSS, R[4])


# --- the local stop set ------------------------------------------------------------


def test_dtree_lss_shared_second_trace_stops_early() -> None:
    store = LssStore()
    t1, sent1 = run("-f 5 -Z s", path_answer(), store=store)
    # backward from 4 to 1: 4, 3 and 2 join the set; TTL 1 ends probing
    assert [s for s in sent1 if s[1] == BK] == [(4, BK), (3, BK), (2, BK), (1, BK)]
    assert store.get("s") == {rtr(n, False) for n in (2, 3, 4)}
    rec1 = t1.result()
    assert rec1.firsthop == 2 and dtree_of(rec1) == (5, None, None, "s", None)
    t2, sent2 = run("-f 5 -Z s", path_answer(), store=store)
    rec2 = t2.result()
    # hop 4 is in the set: backward probing stops there
    assert sent2 == [(5, F), (6, FW), (4, BK)]
    assert (rec2.probec or 0) < (rec1.probec or 0)
    assert dtree_of(rec2) == (5, R[4], None, "s", None) and rec2.firsthop == 5
    # another name shares nothing
    _, sent3 = run("-f 5 -Z other", path_answer(), store=store)
    assert sent3 == sent1


def test_dtree_lss_own_loop_does_not_stop() -> None:
    """An address this trace put in the set itself (a loop) lets backward
    probing go on; one put there by another trace stops it."""
    store = LssStore()
    loop = {4: rtr(2, False), 2: rtr(2, False)}
    t, sent = run("-f 5 -Z l", path_answer(addr=loop), store=store)
    assert [s for s in sent if s[1] == BK] == [(4, BK), (3, BK), (2, BK), (1, BK)]
    assert dtree_of(t.result())[1] is None


def test_dtree_backward_silent_hop_passed_by() -> None:
    store = LssStore()
    t, sent = run("-f 5 -q 1 -w 1 -Z q", path_answer(silent={3}), store=store)
    assert [s for s in sent if s[1] == BK] == [(4, BK), (3, BK), (2, BK), (1, BK)]
    assert store.get("q") == {rtr(4, False), rtr(2, False)}
    assert t.result().firsthop == 2


def test_dtree_backward_all_attempts_timeout_checks_lss() -> None:
    """With -Q a hop whose last attempt times out is checked against the
    set: an address another trace put there ends backward probing (with no
    lss_stop, as scamper's timeout path records none)."""
    store = LssStore()
    run("-f 5 -Q -Z qa", path_answer(), store=store)
    seen: dict[int, int] = {}

    def answer(ttl: int, probe: Probe, rx: int) -> P.Reply | None:
        seen[ttl] = seen.get(ttl, 0) + 1
        if ttl == 4 and seen[ttl] == 2:
            return None  # the last attempt at hop 4 goes unanswered
        return path_answer()(ttl, probe, rx)
    t, sent = run("-f 5 -Q -w 1 -Z qa", answer, store=store)
    assert [s for s in sent if s[1] == BK] == [(4, BK), (4, BK)]
    assert dtree_of(t.result())[1] is None and t.result().firsthop == 5


def test_dtree_lss_store_clear() -> None:
    store = LssStore()
    assert not store.clear("x") and "x" not in store
    store.get("x").add(b"\x0a\x00\x00\x01")
    assert store.clear("x") and store.get("x") == set()


def test_dtree_lss_made_when_the_trace_starts() -> None:
    store = LssStore()
    t = DtreeTask(parse_trace("-Z late 10.200.6.2", CTX), src=SRC4, lss_store=store)
    assert "late" not in store
    assert isinstance(t.next_action(T0), SendProbe)
    assert "late" in store


@pytest.mark.parametrize(("args", "cls", "mode"), [
    ("10.200.6.2", TraceTask, Mode.TRACE),
    ("-N 2 10.200.6.2", TraceTask, Mode.PARALLEL),
    ("-z 10.200.2.2 10.200.6.2", DtreeTask, Mode.DTREE_FIRST),
    ("-N 2 -Z n 10.200.6.2", DtreeTask, Mode.DTREE_FIRST),
])
def test_dtree_task_chosen_by_factory(args: str, cls: type, mode: Mode) -> None:
    """make_trace_task picks DtreeTask for -z / -Z, which starts in
    MODE_DTREE_FIRST (before -N's parallel mode, as trace_first_mode())."""
    class FakeNetwork:
        def src_for(self, dst: bytes) -> bytes:
            return SRC4

    class FakeHost:
        net = FakeNetwork()

        def listen_for(self, v6: bool, proto: int) -> None:
            pass

    t = make_trace_task(parse_trace(args, CTX), None, FakeHost())  # type: ignore[arg-type]
    assert type(t) is cls and t.mode == mode


# --- the test bed -------------------------------------------------------------------

# Inside the vantage point's namespace: one Engine, the traces run one after
# another (a later one sees what earlier ones put in the local stop sets),
# each printed as a line of base64 warts.
_SEQ_SCRIPT = r"""
import base64, os, sys, time, trio, warts
from protocol.commands.base import CommandContext
from protocol.commands.trace import parse_trace
from scamperd.engine.driver import Engine
from scamperd.methods.trace import make_trace_task

async def main():
    engine = Engine(pps=100)
    out = []
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        for i, args in enumerate(sys.argv[1:]):
            cmd = parse_trace(args, CommandContext(pid=os.getpid() + i))
            task = make_trace_task(cmd, None, engine)
            done = trio.Event()
            engine.watch(task, lambda t, fault: (out.append(t.result()), done.set()))
            engine.sched.add(task, time.time_ns())
            engine.poke()
            with trio.fail_after(60):
                await done.wait()
        nursery.cancel_scope.cancel()
    for rec in out:
        print(base64.b64encode(warts.encode([rec])).decode())

trio.run(main)
"""


def _ours(tb: Testbed, cmds: list[str]) -> list[Trace]:
    root = Path(__file__).resolve().parents[3]
    out = tb.exec("vp", [sys.executable, "-c", _SEQ_SCRIPT, *cmds], cwd=root,
                  timeout=180).stdout
    recs = [warts.decode(base64.b64decode(line))[0] for line in out.split()]
    assert len(recs) == len(cmds) and all(isinstance(r, Trace) for r in recs)
    return recs  # type: ignore[return-value]


def _debian(tb: Testbed, cmds: list[str], tmp: Path) -> list[Trace]:
    """Debian's scamper on the same commands, one task at a time (-w 1)."""
    cmdfile, out = tmp / "dtree-cmds.txt", tmp / "dtree-debian.warts"
    cmdfile.write_text("".join(f"trace {c}\n" for c in cmds))
    tb.exec("vp", ["/usr/bin/scamper", "-O", "warts", "-O", "cmdfile", "-w", "1", "-p", "100",
                   "-o", str(out), "-f", str(cmdfile)], timeout=180)
    return [r for r in warts.decode(out.read_bytes()) if isinstance(r, Trace)]


def _dump_dtree(path: Path) -> list[str]:
    """The doubletree lines sc_wartsdump prints for every trace of a file."""
    out = subprocess.run([SC_WARTSDUMP, str(path)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return [line for line in out.splitlines() if line.startswith(" doubletree ")]


def _hops(rec: Trace) -> list[tuple[int, str]]:
    return sorted({(p.ttl, str(r.addr)) for p, r in rec.replies()})


@pytest.mark.netns
@needs_debian
@pytest.mark.parametrize("family", ["4", "6"])
def test_dtree_real_matches_debian_scamper(testbed: Testbed, tmp_path: Path,
                                           family: str) -> None:
    """The same doubletree commands, ours and Debian's scamper 20211212: stop
    reason, firsthop, probe count, hops and the doubletree attribute agree;
    the second trace with the same -Z stops at the local stop set and sends
    fewer probes."""
    tb = testbed
    dst = tb.dst4 if family == "4" else tb.dst6
    hops = tb.hops4 if family == "4" else tb.hops6
    r2, r5 = hops[1][0], hops[4][0]
    # one flow (paris, fixed ICMP id and checksum) for every trace, ours and
    # Debian's, so that all take the same branch where the path splits
    flow = "-P icmp-paris -s 4000 -d 77"
    cmds = [f"{flow} {c} {dst}" for c in (
        "-f 5 -Z shared", "-f 5 -Z shared", f"-f 3 -z {r5}", f"-f 8 -w 1 -z {r2}",
        f"-f 3 -z {r5} -O dtree-noback", f"-f 4 -z {r2} -Z other")]
    ours, theirs = _ours(tb, cmds), _debian(tb, cmds, tmp_path)
    assert len(theirs) == len(cmds)
    for c, mine, deb in zip(cmds, ours, theirs, strict=True):
        assert (mine.stop_reason, mine.firsthop, mine.probec) == \
            (deb.stop_reason, deb.firsthop, deb.probec), (c, mine, deb)
        # hop_count is the highest TTL probed in 20260420, whose probes are
        # stored as they are sent; 20211212 counts up to its last reply, so
        # the first probe at TTL 8, beyond the destination, differs
        assert mine.hop_count == (8 if "-f 8" in c else deb.hop_count), (c, deb.hop_count)
        assert _hops(mine) == _hops(deb), c
        assert mine.dtree == deb.dtree, (c, mine.dtree, deb.dtree)
    # and as Debian's sc_wartsdump prints the attribute of each file
    mine_file = tmp_path / "dtree-ours.warts"
    mine_file.write_bytes(warts.encode(ours))
    assert _dump_dtree(mine_file) == _dump_dtree(tmp_path / "dtree-debian.warts")
    assert len(_dump_dtree(mine_file)) == len(cmds)
    first, second = ours[0], ours[1]
    assert (second.probec or 0) < (first.probec or 0)
    assert second.dtree is not None and str(second.dtree.lss_stop) in hops[3]
    assert ours[2].stop_reason == TraceStop.GSS and ours[2].dtree is not None
    assert str(ours[2].dtree.gss_stop) == r5


@pytest.mark.netns
def test_dtree_daemon_lss_shared_and_cleared(testbed: Testbed, tmp_path: Path) -> None:
    """Through the daemon: the local stop set outlives a trace, so a second
    trace with the same -Z stops early; lss-clear (an interactive command, on
    a second connection) empties it, so the third trace probes all the way
    back again; it fails for a name never used."""
    tb = testbed
    cmd = f"trace -P icmp-paris -s 4001 -d 78 -f 5 -Z dsess {tb.dst4}"
    with running_daemon(tb, tmp_path, "-p", "1000") as d:
        ctl = LineClient(d.unix_connect(timeout=60))
        ctl.send("lss-clear dsess")
        assert ctl.next() == Err("lss-clear dsess failed")
        ctl.send("lss-clear")
        assert ctl.next() == Err("usage: lss-clear [lss-name]")
        c = LineClient(d.unix_connect(timeout=60))
        c.send("attach")
        assert c.next() == Ok()
        buf = bytearray()
        traces: list[Trace] = []
        for i in range(3):
            if i == 2:
                # only the first word counts, as in scamper
                ctl.send("lss-clear dsess extra")
                assert ctl.next() == Ok("lss-clear dsess")
            c.send(cmd)
            while len(traces) == i:
                ev = c.next()
                assert ev is not None
                if isinstance(ev, Data):
                    buf += ev.payload
                    traces = [r for r in warts.decode(bytes(buf)) if isinstance(r, Trace)]
        c.send("done")
        c.close()
        ctl.close()
    probecs = [t.probec or 0 for t in traces]
    assert probecs[1] < probecs[0] == probecs[2], probecs
    assert [t.dtree.lss_stop is not None for t in traces if t.dtree] == [False, True, False]


def test_dtree_options_no_longer_refused() -> None:
    """-z/-Z used to stop with an ERROR; now they probe."""
    t, sent = run("-f 2 -z 10.200.9.9", path_answer())
    rec = t.result()
    assert rec.stop_reason == TraceStop.COMPLETED and rec.errmsg is None and len(sent) > 1


def _daemon_traces(c: LineClient, buf: bytearray, want: int) -> list[Trace]:
    """Read DATA into ``buf`` (the session's warts stream) until it holds
    ``want`` traces; all of them."""
    traces: list[Trace] = []
    while len(traces) < want:
        ev = c.next()
        assert ev is not None
        if isinstance(ev, Data):
            buf += ev.payload
            traces = [r for r in warts.decode(bytes(buf)) if isinstance(r, Trace)]
    return traces


@pytest.mark.netns
@needs_debian
def test_dtree_pair_through_one_daemon_gives_scampers_hops_20_of_20(
        testbed: Testbed, tmp_path: Path) -> None:
    """Issue 8: ``trace -f 4 -Z L DST1`` then ``trace -f 4 -Z L DST2`` (DST2
    shares the path up to hop 5, behind the 3-way ECMP split at hop 3),
    both through one daemon: the second trace probes back to the hop-3
    router and stops there or below as Debian's scamper does, in 20 runs of
    20 (each run a fresh stop set).  One flow for every trace, ours and
    Debian's, so all take the same branches.  A run once lost the TTL-3
    reply and ended at TTL 4; 40 runs on the rebuilt trace phases did not."""
    tb = testbed
    flow = "-P icmp-paris -s 4000 -d 77"
    pair = [f"trace {flow} -f 4 -Z {{name}} {dst}" for dst in (tb.dst4, tb.bh_dst4)]
    cmdfile, out = tmp_path / "pair.txt", tmp_path / "pair.warts"
    cmdfile.write_text("".join(p.format(name="deb") + "\n" for p in pair))
    tb.exec("vp", ["/usr/bin/scamper", "-O", "warts", "-O", "cmdfile", "-p", "100", "-o",
                   str(out), "-f", str(cmdfile)], timeout=120)
    want = [r for r in warts.decode(out.read_bytes()) if isinstance(r, Trace)][1]
    with running_daemon(tb, tmp_path, "-p", "100") as d:
        c = LineClient(d.unix_connect(timeout=60))
        c.send("attach")
        assert c.next() == Ok()
        runs = 20
        buf = bytearray()
        for i in range(runs):  # a pair at a time, both sent at once
            for p in pair:
                c.send(p.format(name=f"pair{i}"))
            traces = _daemon_traces(c, buf, 2 * (i + 1))
        c.send("done")
        c.close()
    seconds = [t for t in traces if str(t.dst) == tb.bh_dst4]
    assert len(seconds) == runs
    for t in seconds:
        assert (t.firsthop, t.probec, t.stop_reason) == (want.firsthop, want.probec,
                                                          want.stop_reason)
        assert _hops(t) == _hops(want)
        assert t.dtree is not None and want.dtree is not None
        assert t.dtree.lss_stop == want.dtree.lss_stop
