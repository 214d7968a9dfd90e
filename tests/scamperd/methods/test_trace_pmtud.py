"""trace -M (scamperd.methods.trace.pmtud): every PMTUD path on a synthetic
path of routers with PTBs, bad suggestions and silences, then real runs in
the test bed next to Debian's scamper.

The synthetic path forwards each probe hop by hop as Linux does (TTL is
checked before the MTU of the next link) and answers with packets built
around the probe's own bytes, parsed as the engine would parse them.
"""

from __future__ import annotations

import base64
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import warts
from protocol.commands.trace import parse_trace
from scamperd.engine import packets as P
from scamperd.engine.fakenet import forge
from scamperd.engine.io import KernelNetwork
from scamperd.engine.task import FINISHED, Probe, SendProbe, Wait
from scamperd.methods.trace import Mode, TraceTask
from scamperd.methods.trace.pmtud import L2_MTUS
from tests.scamperd.methods.test_trace import (
    _NETNS_SCRIPT,
    CTX,
    MS,
    SRC4,
    SRC6,
    T0,
    deliver,
    echo_reply,
    error,
    roundtrip,
    rtr,
    tcp_reply,
    unreach,
)
from tests.testbed import Testbed
from warts.types.trace import Trace, TracePmtudNoteType, TraceReplyFlag, TraceStop

NT = TracePmtudNoteType
DST4 = "10.200.99.2"
DST6 = "fd00:200:99::2"
IFMTU = 1500


# --------------------------------------------------------------------------
# a synthetic path


@dataclass
class FakePath:
    """Routers 1..n-1, the target at hop n.  ``links[k]`` is the link out of
    router k (0: the host's own) as (mtu, what its router does with a packet
    too big): "ptb" sends a PTB with the MTU, "bad" a PTB with next-hop MTU
    0, "same" a PTB suggesting the packet's own size, "silent" nothing,
    "ptb-ttl" a PTB only for TTL-limited probes (silent at TTL 255)."""

    n: int
    links: dict[int, tuple[int, str]] = field(default_factory=dict)
    method: str = "udp-paris"

    def answer(self, p: Probe, rx: int) -> P.Reply | None:
        v6 = p.v6
        ttl = p.packet[7] if v6 else p.packet[8]
        size = len(p.packet)
        for k in range(0, self.n):
            if k and ttl == k:
                return error(p, rx, rtr(k, v6), typ=3 if v6 else 11,
                             quote=_quote(p, 1))
            mtu, how = self.links.get(k, (65535, ""))
            if size <= mtu or not k and how != "silent":
                continue
            if how == "silent" or (how == "ptb-ttl" and ttl == 255):
                return None
            nh = {"bad": 0, "same": size}.get(how, mtu)
            return forge.as_received(forge.too_big(rtr(k, v6), _quote(p, ttl - k), nh,
                                                   ttl=250, ipid=5), rx)
        if self.method.startswith("icmp"):
            return echo_reply(p, rx)
        if self.method == "tcp-ack":
            return tcp_reply(p, rx, P.TcpFlag.RST)
        return unreach(p, rx, p.dst)


def _quote(p: Probe, ttl: int) -> bytes:
    """What a Linux router quotes: the probe as it arrived, TTL lowered (the
    forger cuts it to fit a 576-byte or 1280-byte ICMP error)."""
    return forge.with_ttl(p.packet, ttl)


@dataclass
class Run:
    rec: Trace
    sent: list[tuple[Mode, int, int]]   # (mode, ttl, size) per probe
    probes: list[Probe]

    def pmtud_sent(self) -> list[tuple[int, int]]:
        """(size, ttl) of the PMTUD probes, in order."""
        return [(s, t) for m, t, s in self.sent if m != Mode.TRACE]


def run(args: str, path: FakePath, *, ifmtu: int | None = IFMTU, limit: int = 400) -> Run:
    c = parse_trace(args, CTX)
    t = TraceTask(c, src=SRC6 if ":" in args.split()[-1] else SRC4, ifmtu=ifmtu)
    now = T0
    sent: list[tuple[Mode, int, int]] = []
    probes: list[Probe] = []
    for _ in range(limit):
        a = t.next_action(now)
        if a is FINISHED:
            break
        if isinstance(a, Wait):
            now = a.until
            continue
        assert isinstance(a, SendProbe)
        t.probe_sent(a.probe, now)
        mode = a.probe.ident[3]
        sent.append((mode, a.probe.ident[1], len(a.probe.packet)))
        probes.append(a.probe)
        r = path.answer(a.probe, now + MS)
        if r is not None:
            deliver(t, r, now + MS)
        now += 10 * MS
    assert t.next_action(now) is FINISHED
    return Run(roundtrip(t.result()), sent, probes)


def note_view(rec: Trace) -> list[tuple[int, int | None, int | None, bytes | None]]:
    """Per note: type, nhmtu, and its reply's probe TTL and address."""
    pm = rec.pmtud
    assert pm is not None
    out = []
    for n in pm.notes:
        got = pm.note_reply(n)
        out.append((n.type or 0, n.nhmtu, got[0].ttl if got else None,
                    got[1].addr.raw if got else None))
    return out


# --------------------------------------------------------------------------
# the PTB path and the record


@pytest.mark.parametrize("v6", [False, True])
def test_trace_pmtud_ptb_gives_path_mtu(v6: bool) -> None:
    dst = DST6 if v6 else DST4
    r = run(f"-M {dst}", FakePath(6, {5: (1400, "ptb")}))
    rec, pm = r.rec, r.rec.pmtud
    assert rec.stop_reason == TraceStop.COMPLETED and pm is not None
    assert (pm.ver, pm.ifmtu, pm.pmtu, pm.outmtu) == (2, 1500, 1400, None)
    assert note_view(rec) == [(NT.PTB, 1400, 255, rtr(5, v6))]
    assert r.pmtud_sent() == [(1500, 255), (1400, 255)]
    # PMTUD probes leave on the datalink towards the target (no kernel
    # path-MTU check); the trace's own do not
    assert [p.via for p in r.probes] == [None] * 6 + [r.probes[0].dst] * 2
    assert rec.probec == 8 and rec.hop_count == 6
    text = warts.to_text(rec)
    assert " 5  " in text and text.splitlines()[6].endswith("[mtu: 1400]"), text
    assert text.splitlines()[5].endswith("[mtu: 1500]"), text


def test_trace_pmtud_successive_ptbs() -> None:
    r = run(f"-M {DST4}", FakePath(6, {2: (1480, "ptb"), 4: (1400, "ptb")}))
    pm = r.rec.pmtud
    assert pm is not None and pm.pmtu == 1400
    assert note_view(r.rec) == [(NT.PTB, 1480, 255, rtr(2, False)),
                                (NT.PTB, 1400, 255, rtr(4, False))]
    assert [s for s, _ in r.pmtud_sent()] == [1500, 1480, 1400]


@pytest.mark.parametrize("method", ["udp", "icmp-paris", "tcp-ack"])
def test_trace_pmtud_zero_payload_and_method_replies(method: str) -> None:
    """The PMTUD probes carry zeros, not the -p payload; the path MTU is the
    size the target answered, whatever form the answer takes."""
    port = "-d 81 " if method == "tcp-ack" else ""
    pay = "" if method == "tcp-ack" else "-p 4142434445464748 "
    r = run(f"-M -P {method} {port}{pay}{DST4}", FakePath(4, {2: (1400, "ptb")}, method))
    pm = r.rec.pmtud
    assert pm is not None and pm.pmtu == 1400
    last = r.probes[-1]
    assert len(last.packet) == 1400
    body = last.packet[28:] if method != "tcp-ack" else last.packet[40:]
    # udp/icmp-paris bytes 0-1 may carry scamper's checksum steering
    assert not any(body[2:]) and b"CDEFGH" not in last.packet
    if method != "tcp-ack":
        assert b"CDEFGH" in r.probes[0].packet  # the trace itself used -p


def test_trace_pmtud_late_reply_for_other_size_is_ignored() -> None:
    """pmtud_default_pre(): an answer to a probe of another size (a late
    duplicate PTB) changes nothing."""
    t = TraceTask(parse_trace(f"-M -q 1 {DST4}", CTX), src=SRC4, ifmtu=IFMTU)
    path = FakePath(2, {1: (1400, "ptb")})
    now = T0
    first_big: Probe | None = None
    for _ in range(6):
        a = t.next_action(now)
        assert isinstance(a, SendProbe)
        t.probe_sent(a.probe, now)
        if len(a.probe.packet) == 1500:
            first_big = a.probe
        if len(a.probe.packet) == 1400:
            assert first_big is not None
            late = path.answer(first_big, now + MS)
            assert late is not None
            deliver(t, late, now + MS)
            assert t.pmtud is not None and len(t.pmtud.notes) == 1
            assert t.pmtud.size == 1400
            break
        r = path.answer(a.probe, now + MS)
        assert r is not None
        deliver(t, r, now + MS)
        now += 10 * MS
    else:
        pytest.fail("no 1400-byte probe")


def test_trace_pmtud_ptb_below_header_size_stops() -> None:
    r = run(f"-M {DST4}", FakePath(4, {2: (20, "ptb")}))
    pm = r.rec.pmtud
    assert pm is not None and pm.pmtu is None
    assert note_view(r.rec) == [(NT.PTB_BAD, None, 255, rtr(2, False))]
    assert r.pmtud_sent() == [(1500, 255)]


# --------------------------------------------------------------------------
# silences: the L2 table search and the TTL search


@pytest.mark.parametrize("v6", [False, True])
def test_trace_pmtud_black_hole_found_by_ttl_search(v6: bool) -> None:
    """The test bed's case: the last link is 1280 and its router sends no
    PTB.  Two silences at 1500, two at 1454 (the first table guess below
    1500), 1280 answered, 1281 silent twice: the link is 1280; then 1500-byte
    probes at TTL 3, 5, 6 find the farthest router that still answers."""
    dst = DST6 if v6 else DST4
    r = run(f"-M {dst}", FakePath(7, {6: (1280, "silent")}))
    pm = r.rec.pmtud
    assert pm is not None
    assert r.pmtud_sent() == [(1500, 255)] * 2 + [(1454, 255)] * 2 + [(1280, 255)] + \
        [(1281, 255)] * 2 + [(1500, 3), (1500, 5), (1500, 6)]
    assert (pm.pmtu, pm.outmtu) == (1280, None)
    assert note_view(r.rec) == [(NT.SILENCE, 1280, 6, rtr(6, v6))]
    assert [m for m, _, _ in r.sent[-3:]] == [Mode.PMTUD_SILENT_TTL] * 3
    # sc_warts2text: hops up to the silent router at the interface MTU, the
    # target behind it at the inferred 1280 (starred: probes were bigger)
    lines = warts.to_text(r.rec).splitlines()
    assert lines[6].endswith("[mtu: 1500]") and lines[7].endswith("[*mtu: 1280]"), lines


def test_trace_pmtud_own_link_silent_sets_outmtu() -> None:
    """No TTL-limited probe gets past the first link: the host's own link
    is mismatched (outmtu)."""
    r = run(f"-M {DST4}", FakePath(3, {0: (1280, "silent")}))
    pm = r.rec.pmtud
    assert pm is not None and (pm.pmtu, pm.outmtu) == (1280, 1280)
    assert note_view(r.rec) == [(NT.SILENCE, 1280, None, None)]
    assert r.pmtud_sent()[-1] == (1500, 1)


def test_trace_pmtud_nothing_answers_down_to_68() -> None:
    """The table is walked down to its smallest entry; then PMTUD gives up
    with no note and no path MTU."""
    r = run(f"-M -q 1 {DST4}", FakePath(3, {0: (60, "silent")}))
    pm = r.rec.pmtud
    assert pm is not None and pm.pmtu is None and pm.notes == () and pm.probes == ()
    sizes = [s for s, _ in r.pmtud_sent()]
    assert sizes == [1500, *reversed(L2_MTUS[:L2_MTUS.index(1454) + 1])]


def test_trace_pmtud_silent_ttl_ptb_returns_to_default() -> None:
    """A router silent at TTL 255 but sending a PTB with the inferred MTU
    to a TTL-limited probe: back to the default mode at that size (scamper
    drops the SILENCE note)."""
    r = run(f"-M {DST4}", FakePath(4, {2: (1400, "ptb-ttl")}))
    pm = r.rec.pmtud
    assert pm is not None and pm.pmtu == 1400 and pm.notes == ()
    modes = [m for m, _, _ in r.sent]
    assert Mode.PMTUD_SILENT_TTL in modes and modes[-1] == Mode.PMTUD_DEFAULT
    assert r.pmtud_sent()[-2:] == [(1500, 3), (1400, 255)]


# --------------------------------------------------------------------------
# bad suggestions


@pytest.mark.parametrize("how", ["bad", "same"])
def test_trace_pmtud_bad_suggestion_searches_size(how: str) -> None:
    """A PTB with next-hop MTU 0 (or not below the probe): search by size;
    the sender's PTBs lower the upper bound, the target's answers raise the
    lower one."""
    r = run(f"-M {DST4}", FakePath(4, {2: (1400, how)}))
    pm = r.rec.pmtud
    assert pm is not None and pm.pmtu == 1400
    assert note_view(r.rec) == [(NT.PTB_BAD, 1400, 255, rtr(2, False))]
    assert [s for s, _ in r.pmtud_sent()] == [1500, 1454, 1280, 1281, 1367, 1410, 1388,
                                              1399, 1404, 1401, 1400]


def test_trace_pmtud_bad_suggestion_then_black_hole() -> None:
    """Timeouts during the bad-suggestion search raise its lower bound; the
    search ends without an answer past the router, so the default mode
    resumes at the size found, meets the silent link, and the TTL search
    (with the larger size) finds its router."""
    r = run(f"-M {DST4}", FakePath(5, {2: (1480, "bad"), 4: (1400, "silent")}))
    pm = r.rec.pmtud
    assert pm is not None and pm.pmtu == 1400 and pm.outmtu is None
    assert note_view(r.rec) == [(NT.PTB_BAD, 1480, 255, rtr(2, False)),
                                (NT.SILENCE, 1400, 4, rtr(4, False))]
    assert r.pmtud_sent()[-3:] == [(1480, 2), (1480, 3), (1480, 4)]


# --------------------------------------------------------------------------
# when PMTUD does not run, and the datalink times of the trace


@pytest.mark.parametrize(("args", "stop"), [("-m 3", TraceStop.HOPLIMIT),
                                            ("-g 1 -q 1", TraceStop.GAPLIMIT)])
def test_trace_pmtud_skipped_without_responsive_end(args: str, stop: TraceStop) -> None:
    r = run(f"-M {args} {DST4}", FakePath(6, {1: (40, "silent")} if "-g" in args else {}))
    assert r.rec.stop_reason == stop and r.rec.pmtud is None
    assert all(m == Mode.TRACE for m, _, _ in r.sent)


@pytest.mark.parametrize(("ifmtu", "want"), [(None, False), (28, True)])
def test_trace_pmtud_unusable_interface_mtu(ifmtu: int | None, want: bool) -> None:
    """No interface MTU: no PMTUD record; one no bigger than the headers:
    the record holds it and nothing is probed ("ifmtu too small")."""
    r = run(f"-M {DST4}", FakePath(3), ifmtu=ifmtu)
    assert r.rec.stop_reason == TraceStop.COMPLETED
    assert (r.rec.pmtud is not None) == want and len(r.sent) == 3
    if want:
        assert r.rec.pmtud is not None and r.rec.pmtud.ifmtu == 28


@pytest.mark.parametrize("pmtud", [False, True])
def test_trace_pmtud_trace_probes_take_datalink_times(pmtud: bool) -> None:
    """With -M scamper reads its datalink during the trace: the trace's
    replies carry TS_DL_TX and RTTs from the time the probe left; the reply
    that ends the trace (here -m 1, so no PMTUD follows) keeps the socket's
    TS_SOCK_RX, the datalink's copy coming too late (Debian's scamper gives
    0x13 for trace -M -m 1 in the test bed)."""
    flag = "-M " if pmtud else ""
    t = TraceTask(parse_trace(f"{flag}-m 1 {DST4}", CTX), src=SRC4, ifmtu=IFMTU)
    a = t.next_action(T0)
    assert isinstance(a, SendProbe)
    assert (a.probe.txts is not None) == pmtud
    if a.probe.txts is not None:
        a.probe.txts.append(T0 + 20_000)  # what the engine reports
    t.probe_sent(a.probe, T0)
    r = error(a.probe, T0 + 100_000, rtr(1, False), quote=_quote(a.probe, 1))
    deliver(t, r, T0 + 100_000)
    (hop,) = t.result().probes[0].replies
    F = TraceReplyFlag
    if pmtud:
        assert hop.flags == F.TS_DL_TX | F.TS_SOCK_RX | F.REPLY_TTL and hop.rtt == 80
    else:
        assert hop.flags == F.TS_SOCK_RX | F.REPLY_TTL and hop.rtt == 100


def test_engine_ifmtu_for_loopback() -> None:
    """KernelNetwork.ifmtu_for: the MTU of the interface the route uses (lo here),
    or, as scamper_if_getmtu() says, "invalid MTU" when it is more than an
    IP packet can hold (lo's default 65536): PMTUD is then skipped."""
    want = int(Path("/sys/class/net/lo/mtu").read_text())
    for dst in (socket.inet_aton("127.0.0.1"), socket.inet_pton(socket.AF_INET6, "::1")):
        if want <= 65535:
            assert KernelNetwork().ifmtu_for(dst) == want
        else:
            with pytest.raises(OSError, match=f"invalid MTU {want}"):
                KernelNetwork().ifmtu_for(dst)


# --------------------------------------------------------------------------
# real runs in the test bed, next to Debian's scamper

def _canon(tb: Testbed) -> dict[str, str]:
    """ECMP branch addresses -> one name per hop: paris flows of two
    probers hash onto different branches, everything else must agree."""
    out: dict[str, str] = {}
    for branches in (tb.branches4, tb.branches6):
        for a, b in branches:
            out[a], out[b] = "ecmp3", "ecmp4"
    return out


def _view(rec: Trace, canon: dict[str, str]) -> dict[str, object]:
    """Everything of a trace -M record but times, IP-IDs and ECMP choice."""
    def a(addr: object) -> str:
        return canon.get(str(addr), str(addr))

    def hops(probes: tuple) -> list[tuple]:  # type: ignore[type-arg]
        return [(p.ttl, p.id, p.size, a(r.addr), r.flags, r.ttl, r.size, r.icmp_type,
                 r.icmp_code, r.q_ttl_eff(), r.q_ipl_eff(rec.probe_size), r.icmp_nhmtu)
                for p in probes for r in p.replies]
    pm = rec.pmtud
    assert pm is not None
    notes = []
    for n in pm.notes:
        got = pm.note_reply(n)
        notes.append((n.type, n.nhmtu, got[0].ttl if got else None,
                      a(got[1].addr) if got else None))
    # sc_warts2text's per-hop [mtu: N] annotations
    mtus = [line.rsplit("ms", 1)[-1].strip() for line in warts.to_text(rec).splitlines()[1:]]
    return {"stop": (rec.stop_reason, rec.stop_data), "hop_count": rec.hop_count,
            "probec": rec.probec, "hops": hops(rec.probes),
            "pmtud": (pm.ver, pm.ifmtu, pm.pmtu, pm.outmtu), "notes": notes,
            "pmtud_hops": hops(pm.probes), "mtus": mtus}


@pytest.mark.netns
def test_trace_pmtud_real_matches_debian_scamper(testbed: Testbed, tmp_path: Path) -> None:
    """trace -M to the 1400-byte link (a PTB from r5) and to the 1280-byte
    black hole behind r6, v4 and v6, ours and Debian's scamper side by side
    (all eight at once: the black-hole searches wait ~30 s each)."""
    tb = testbed
    dsts = [tb.dst4, tb.dst6, tb.bh_dst4, tb.bh_dst6]
    root = Path(__file__).resolve().parents[3]
    tb.flush_pmtu()
    t0 = time.monotonic()
    try:
        outs = [tmp_path / f"debian-{i}.warts" for i in range(len(dsts))]
        debian = [tb.popen("vp", ["/usr/bin/scamper", "-p", "100", "-O", "warts", "-o",
                                  str(o), "-c", "trace -M", "-i", d])
                  for o, d in zip(outs, dsts, strict=True)]
        # ours: one engine, the test_trace runner
        got = tb.exec("vp", [sys.executable, "-c", _NETNS_SCRIPT,
                             *(f"-M {d}" for d in dsts)], cwd=root, timeout=90).stdout
        for p in debian:
            assert p.wait(timeout=90) == 0
    finally:
        tb.flush_pmtu()
    assert time.monotonic() - t0 < 60
    ours = [warts.decode(base64.b64decode(line))[0] for line in got.split()]
    theirs = [next(r for r in warts.decode(o.read_bytes()) if isinstance(r, Trace))
              for o in outs]
    canon = _canon(tb)
    for d, mine, deb in zip(dsts, ours, theirs, strict=True):
        assert isinstance(mine, Trace)
        assert _view(mine, canon) == _view(deb, canon), d
    # the PTB's sender and the path MTU; the black hole's silent router
    for d, rec, hop5 in ((tb.dst4, ours[0], "10.200.5.2"), (tb.dst6, ours[1], "fd00:200:5::2")):
        assert rec.pmtud is not None and rec.pmtud.pmtu == tb.mtu_last, d
        assert _view(rec, canon)["notes"] == [(NT.PTB, tb.mtu_last, 255, hop5)]
    for d, rec, hop6 in ((tb.bh_dst4, ours[2], "10.200.7.2"),
                         (tb.bh_dst6, ours[3], "fd00:200:7::2")):
        assert rec.pmtud is not None and rec.pmtud.pmtu == tb.mtu_blackhole, d
        assert _view(rec, canon)["notes"] == [(NT.SILENCE, tb.mtu_blackhole, 6, hop6)]


@pytest.mark.netns
def test_trace_pmtud_real_ignores_learned_path_mtu(testbed: Testbed) -> None:
    """After a PTB the kernel caches the path MTU (1400) and refuses bigger
    DF packets on raw IP sockets (EMSGSIZE); scamper's PMTUD probes leave on
    the datalink, so a second trace -M still starts at the interface MTU
    and still meets r5's PTB.  (IPv4 only: measured, Linux learns nothing
    from an ICMPv6 PTB quoting a packet no IPv6 socket of its sent.)"""
    tb = testbed
    dst, family = tb.dst4, "4"
    root = Path(__file__).resolve().parents[3]
    tb.flush_pmtu()
    try:
        recs = []
        for _ in range(2):
            out = tb.exec("vp", [sys.executable, "-c", _NETNS_SCRIPT, f"-M -w 1 {dst}"],
                          cwd=root, timeout=60).stdout
            recs.append(warts.decode(base64.b64decode(out.split()[0]))[0])
            route = tb.exec("vp", ["ip", f"-{family}", "route", "get", dst]).stdout
            assert f"mtu {tb.mtu_last}" in route, route  # learned from the PTB
    finally:
        tb.flush_pmtu()
    for rec in recs:
        assert isinstance(rec, Trace) and rec.pmtud is not None
        assert (rec.pmtud.ifmtu, rec.pmtud.pmtu) == (1500, tb.mtu_last)
        assert [n.type for n in rec.pmtud.notes] == [NT.PTB]
        assert [p.size for p in rec.pmtud.probes] == [1500, tb.mtu_last]
