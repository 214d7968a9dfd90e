"""tracelb (MDA) over the test bed's load-balanced diamond, held to one rule.

The rule (from the tracelb issue): for every method whose flows the routers
hash, at -c 99, tracelb finds exactly the diamond's nodes and links
(tests/testbed_lb.py) in at least 19 runs of 20, ending by convergence
(probec < probec_max), not by -Q.  Sets are compared, never probe counts.
icmp-echo varies only the ICMP checksum, which Linux does not hash, so it
finds one path through the diamond, on IPv4 and on IPv6 alike (the flow
label of scamper's IPv6 echo probes is constant too).  TCP methods are IPv4
only: scamper refuses them over IPv6.

One prober process runs all 160 tracelbs at once (8 cases x 20 runs), each
to a destination address of its own on lbdst: scamper 20211212 runs one
tracelb per destination at a time (its task signature is the address pair),
and a reply from a destination matches only the tasks probing it.  Measured
alone, one run takes 16.5-18.5 s for ~110-125 probes at -W 15 (150 ms
between probes, the minimum) and 27-29 s at the default -W 25; icmp-echo
(42 probes) 6 s and 10 s.  The batch of 160 at -W 15 takes ~22 s.

What was learned building it (more in tests/testbed_lb.py):

* Debian's scamper 20211212 ignores tracelb's -s: its source port (the
  first flow id of udp-sport and the TCP methods, the ICMP id of icmp-echo,
  the fixed sport of udp-dport) is always pid16 | 0x8000.  The prober runs
  in a PID namespace of its own (pid 1, port 32769), so that with the
  diamond's fixed hash seeds every run's outcome is reproducible.  With
  random seeds and ports Debian's scamper misses a branch in ~2% of runs
  (27 of 1,320), which fails "19 of 20" for some case in about one batch
  in three or four.  Two probers in PID namespaces at once share port
  32769 and spoil each other's runs, so only one runs at a time.
* With fixed seeds and port every run meets the rule but one (udp-sport
  over IPv4: 19 of 20), and the batch is deterministic: two batches gave
  identical graphs and probe counts.
* The diamond's routers answer every probe (no ICMP rate limit); nothing is
  lost at ~1,100 probes/s.

The prober is a parameter: Debian's scamper and scamperd's one-shot CLI,
given the same flags, are held to the same rule.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

import warts
from tests.testbed import Testbed
from tests.testbed_lb import (
    LB_STAGES,
    LbGraph,
    lb_dsts,
    lb_graph,
    lb_hashing_problem,
    lb_paths,
    tracelb_graph,
)
from warts.address import Address
from warts.types.tracelb import Tracelb, TracelbLink, TracelbNode

ROOT = Path(__file__).resolve().parents[3]
SCAMPER = "/usr/bin/scamper"

# How each prober is started (then: -O warts -O cmdfile -p PPS -o OUT -f CMDS).
PROBERS: dict[str, list[str]] = {
    "debian": [SCAMPER],
    "scamperd": [sys.executable, "-m", "scamperd"],
}
PROBER_PARAMS = ["debian", "scamperd"]

RUNS = 20
OPTIONS = "-c 99 -W 15"
METHODS4 = ("udp-dport", "udp-sport", "tcp-sport", "tcp-ack-sport", "icmp-echo")
METHODS6 = ("udp-dport", "udp-sport", "icmp-echo")
CASES = [("4", m) for m in METHODS4] + [("6", m) for m in METHODS6]
ONE_PATH = frozenset({"icmp-echo"})  # no Linux hash reads what it varies
PPS = 5000  # 160 tracelbs x one probe per 150 ms ~ 1,100 probes/s

Case = tuple[str, str]


def plan() -> dict[int, tuple[Case, str]]:
    """userid -> (case, destination): 20 destinations of its own per case."""
    out: dict[int, tuple[Case, str]] = {}
    used = {"4": 0, "6": 0}
    for i, (family, method) in enumerate(CASES):
        dsts = lb_dsts(family == "6")[used[family]:used[family] + RUNS]
        used[family] += RUNS
        assert len(dsts) == RUNS, "lbdst has too few addresses for the plan"
        for j, dst in enumerate(dsts):
            out[100 * (i + 1) + j] = ((family, method), dst)
    return out


def command(uid: int, method: str, dst: str) -> str:
    return f"tracelb -P {method} {OPTIONS} -U {uid} {dst}"


# each prober's batch, run once per session and shared by the tests below
_BATCHES: dict[str, dict[Case, list[Tracelb]]] = {}


@pytest.fixture(scope="module", params=PROBER_PARAMS)
def tracelbs(request: pytest.FixtureRequest, testbed: Testbed,
             tmp_path_factory: pytest.TempPathFactory) -> dict[Case, list[Tracelb]]:
    """Every case's 20 records, from one run of the prober in the vp namespace."""
    return batch(request.param, testbed, tmp_path_factory)


def batch(prober: str, testbed: Testbed,
          tmp_path_factory: pytest.TempPathFactory) -> dict[Case, list[Tracelb]]:
    if prober in _BATCHES:
        return _BATCHES[prober]
    if prober == "debian" and not os.access(SCAMPER, os.X_OK):
        pytest.skip("Debian's scamper is not installed")
    problem = lb_hashing_problem()
    if problem:
        pytest.skip(problem)
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to give the prober a PID namespace")
    runs = plan()
    tmp = tmp_path_factory.mktemp(f"tracelb-{prober}")
    cmds, out = tmp / "cmds", tmp / "out.warts"
    cmds.write_text("".join(command(uid, case[1], dst) + "\n"
                            for uid, (case, dst) in runs.items()))
    # pid 1 in a PID namespace: a fixed default source port (see the docstring);
    # --kill-child so that a timeout does not leave the prober running
    argv = ["unshare", "--pid", "--kill-child", *PROBERS[prober], "-O", "warts",
            "-O", "cmdfile", "-p", str(PPS), "-o", str(out), "-f", str(cmds)]
    t0 = time.monotonic()
    testbed.exec("vp", argv, cwd=ROOT, timeout=300)
    print(f"{prober}: {len(runs)} tracelbs in {time.monotonic() - t0:.1f}s")
    records = {r.userid: r for r in warts.decode(out.read_bytes()) if isinstance(r, Tracelb)}
    assert set(records) == set(runs)
    by_case: dict[Case, list[Tracelb]] = {c: [] for c in CASES}
    for uid, (case, dst) in runs.items():
        assert str(records[uid].dst) == dst
        by_case[case].append(records[uid])
    _BATCHES[prober] = by_case
    return by_case


def _diff(got: LbGraph, want: LbGraph) -> str:
    return (f"missing nodes {sorted(want.nodes - got.nodes)} links "
            f"{sorted(want.links - got.links, key=str)}; extra nodes "
            f"{sorted(got.nodes - want.nodes)} links {sorted(got.links - want.links, key=str)}")


@pytest.mark.netns
@pytest.mark.interop
@pytest.mark.parametrize(("family", "method"), CASES)
def test_tracelb_bed_finds_the_diamond(tracelbs: dict[Case, list[Tracelb]], family: str,
                                       method: str) -> None:
    recs = tracelbs[(family, method)]
    assert len(recs) == RUNS
    failures = []
    paths = set()
    for rec in recs:
        dst = str(rec.dst)
        got = tracelb_graph(rec)
        assert rec.probec is not None and rec.probec_max is not None
        if method in ONE_PATH:
            ok = got in lb_paths(family == "6", dst)
            paths.add(got.nodes - {dst})
            why = f"not one path: {sorted(got.nodes)}"
        else:
            want = lb_graph(family == "6", dst)
            ok = got == want
            why = _diff(got, want)
        if rec.probec >= rec.probec_max:
            ok, why = False, f"stopped by -Q at {rec.probec} probes"
        if not ok:
            failures.append(f"{dst} ({rec.probec} probes): {why}")
    print(f"IPv{family} {method}: {RUNS - len(failures)} of {RUNS}")
    assert len(failures) <= 1, "\n".join(failures)
    if method in ONE_PATH:
        # different destinations hash onto different paths: the diamond is there
        assert len(paths) > 1


@pytest.mark.netns
@pytest.mark.interop
def test_tracelb_bed_scamperd_decides_as_debian(
        testbed: Testbed, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Same source port, same flows, same hash seeds: the routers send each
    prober's probes down the same branches, so scamperd, deciding as
    scamper decides, finds the same graph with the same number of probes,
    run for run."""
    theirs = batch("debian", testbed, tmp_path_factory)
    ours = batch("scamperd", testbed, tmp_path_factory)
    diffs = []
    for case in CASES:
        for a, b in zip(ours[case], theirs[case], strict=True):
            if (tracelb_graph(a), a.probec) != (tracelb_graph(b), b.probec):
                diffs.append(f"{case} {a.dst}: scamperd {a.probec} probes, "
                             f"debian {b.probec}: {_diff(tracelb_graph(a), tracelb_graph(b))}")
    assert not diffs, "\n".join(diffs)


# --- the graph helpers, without a test bed -------------------------------------


def test_tracelb_bed_expected_graph_is_the_diamond() -> None:
    dst = lb_dsts(False)[0]
    g = lb_graph(False, dst)
    widths = [len(s) for s in LB_STAGES]
    assert widths == [1, 1, 3, 1, 2, 1, 1]
    assert len(g.nodes) == sum(widths)
    # r1-lb2, 3 out of lb2, 3 into lb4, 2 out of lb4, 2 into lb6, lb6-dst
    assert len(g.links) == 1 + 3 + 3 + 2 + 2 + 1
    assert ("10.200.1.2", "10.200.102.2") in g.links and ("10.200.161.2", dst) in g.links
    assert {b for a, b in g.links if a == "10.200.141.2"} == {"10.200.151.2", "10.200.152.2"}
    paths = lb_paths(False, dst)
    assert len(paths) == 3 * 2 and len(set(paths)) == 6
    for p in paths:
        assert p.nodes <= g.nodes and p.links <= g.links and len(p.links) == 6
    g6 = lb_graph(True, lb_dsts(True)[0])
    assert "fd00:200:141::2" in g6.nodes and len(g6.links) == len(g.links)
    assert len(set(lb_dsts(False))) == len(lb_dsts(False)) >= len(plan()) // 2


def test_tracelb_bed_graph_of_a_record() -> None:
    a = [Address.from_string(s) for s in ("10.200.1.2", "10.200.102.2", "10.200.131.2")]
    rec = Tracelb(nodes=tuple(TracelbNode.build(x) for x in a),
                  links=(TracelbLink(0, 1), TracelbLink(1, 2), TracelbLink(2, None)))
    assert tracelb_graph(rec) == LbGraph(
        frozenset(str(x) for x in a),
        frozenset({("10.200.1.2", "10.200.102.2"), ("10.200.102.2", "10.200.131.2"),
                   ("10.200.131.2", None)}))
