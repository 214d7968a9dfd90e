"""dealias over the test bed's alias corner, held to the truth and to Debian's scamper.

The corner (tests/testbed_alias.py) has two "old" routers, al1 with three
IPv4 candidate addresses and al2 with two, each with an IP-ID counter of its
own and port-unreachables from one address, beside a stock router and two
stock hosts with one candidate each: 8 addresses, 28 pairs, 4 of them true
aliases.  Each method runs one-shot over every pair (or every address) and
must report exactly the true alias pairs:

* mercator (IPv4 and IPv6): ALIASES for every address of an old router but
  the one it answers from, with that address as the reply's source; NONE
  for the rest.  The pairs found close, transitively, into the alias sets.
* ally and bump (IPv4, ICMP echo): ALIASES for exactly the true pairs.
* prefixscan (IPv4): from the next hop of each link of an old router, the
  router's own address on that link (its /31 or /30 mate), and nothing for
  an address of another node.
* radargun, midarest, midardisc: no verdict (NONE), the series are for
  offline inference: MIDAR's Monotonic Bounds Test (tests/alias_inference.py)
  over them finds exactly the true pairs, and so does Debian's
  ``sc_radargun -d 1`` reading the same radargun file.

Debian's scamper 20211212 has no midarest or midardisc (its man page lists
mercator, ally, radargun, prefixscan and bump; it refuses the others, see
the last test), so those two run on scamperd only.

Measured with Debian's scamper on an idle bed: mercator (16 addresses) 0.1 s,
ally (28 pairs, -W 100) 4.3 s, bump (-W 50) 4.2 s, prefixscan (6 cases)
1.4 s, radargun (8 addresses, 10 rounds of 200 ms) 3 s.  The small -W and
-w keep the file short; the verdicts do not depend on them.

Why these verdicts cannot come by chance (more in tests/testbed_alias.py):
the old routers' counters start half a round apart, so ally's fudge (200)
never bridges them, natively or byte-swapped; a stock counter starts at
random and moves by a random 0-49 per 200 ms, so it passes ally or bump
beside another only if the two start within a step of each other and keep
interleaving (under one in a thousand per bed for the three stock pairs).

The prober is a parameter: Debian's scamper and scamperd's one-shot CLI,
given the same commands, are held to the same truth, and each verdict of
scamperd's to Debian's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import warts
from tests.alias_inference import mbt_aliases
from tests.testbed import Testbed
from tests.testbed_alias import AliasTruth, closure
from warts.types.dealias import Dealias, DealiasResult

ROOT = Path(__file__).resolve().parents[3]
SCAMPER = "/usr/bin/scamper"
SC_RADARGUN = "/usr/bin/sc_radargun"

PROBERS: dict[str, list[str]] = {
    "debian": [SCAMPER],
    "scamperd": [sys.executable, "-m", "scamperd"],
}
PROBER_PARAMS = ["debian", "scamperd"]
# Methods Debian's scamper 20211212 does not have: scamperd alone runs them.
MIDAR_PARAMS = [
    pytest.param("debian", marks=pytest.mark.skip(reason="Debian's scamper 20211212 "
                                                         "has no midarest or midardisc")),
    "scamperd",
]
PPS = 1000

ICMP = "-P icmp-echo"
# Per method: its options (short waits: see the docstring).  ally keeps its
# fudge of 200, bump its limit of 30.
OPTIONS = {
    "mercator": "-q 3 -w 1",
    "ally": "-W 100 -w 1 -q 5",
    "bump": "-W 50",
    "prefixscan": "-W 100 -w 1",
    "radargun": "-q 10 -W 20 -r 200 -w 1",  # 8 defs x 20 ms within a 200 ms round
    "midarest": "-q 10 -W 10 -r 200 -w 1",  # 2 defs x 8 addresses x 10 ms
    "midardisc": "-w 1",
}
ROUNDS = 10  # midardisc's schedule: every def, one round per 200 ms


def _defs(*addrs: str) -> str:
    return " ".join(f"-p '{ICMP} -i {a}'" for a in addrs)


def commands(tb: Testbed, method: str) -> dict[int, str]:
    """userid -> command, every case of one method over the corner."""
    t4, t6 = tb.alias4, tb.alias6
    if method == "mercator":
        args = t4.addrs + t6.addrs
    elif method in ("ally", "bump"):
        args = [_defs(a, b) for a, b in t4.pairs()]
    elif method == "prefixscan":
        args = [f"-p '{ICMP}' {a} {b}/{plen}" for a, b, plen, _ in t4.prefixscans()]
    elif method == "radargun":
        args = [_defs(*t4.addrs)]
    elif method == "midarest":
        args = [f"-p '{ICMP}' -p '-P tcp-ack-sport' " + " ".join(t4.addrs)]
    elif method == "midardisc":
        n = len(t4.addrs)
        sched = " ".join(f"-S {i * 0.2:.1f}:0:{n}" for i in range(ROUNDS))
        args = [f"{_defs(*t4.addrs)} {sched}"]
    else:
        raise ValueError(method)
    return {uid: f"dealias -U {uid} -m {method} {OPTIONS[method]} {arg}"
            for uid, arg in enumerate(args, 1)}


# each (prober, method)'s records by userid and warts file, run once per session
_RUNS: dict[tuple[str, str], tuple[dict[int, Dealias], Path]] = {}


def run(prober: str, method: str, tb: Testbed, tmp_path_factory: pytest.TempPathFactory,
        ) -> tuple[dict[int, str], dict[int, Dealias], Path]:
    """The prober, one-shot in the vp namespace, on every command of a method:
    (commands, records, warts file), both by userid."""
    cmds = commands(tb, method)
    if (prober, method) not in _RUNS:
        if prober == "debian" and not os.access(SCAMPER, os.X_OK):
            pytest.skip("Debian's scamper is not installed")
        tmp = tmp_path_factory.mktemp(f"dealias-{prober}-{method}")
        out = tmp / "out.warts"
        (tmp / "cmds").write_text("".join(c + "\n" for c in cmds.values()))
        t0 = time.monotonic()
        tb.exec("vp", [*PROBERS[prober], "-O", "warts", "-O", "cmdfile", "-p", str(PPS),
                       "-o", str(out), "-f", str(tmp / "cmds")], cwd=ROOT, timeout=120)
        print(f"{prober} {method}: {len(cmds)} commands in {time.monotonic() - t0:.1f}s")
        recs = {r.userid or 0: r for r in warts.decode(out.read_bytes())
                if isinstance(r, Dealias)}
        _RUNS[(prober, method)] = recs, out
    recs, out = _RUNS[(prober, method)]
    assert sorted(recs) == sorted(cmds), f"{method}: records for {sorted(recs)}"
    return cmds, recs, out


def verdict(rec: Dealias) -> str:
    return DealiasResult(rec.result or 0).name


def pair_of(rec: Dealias) -> frozenset[str]:
    return frozenset(str(d.dst) for d in rec.probedefs)


@pytest.fixture(params=PROBER_PARAMS)
def prober(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=MIDAR_PARAMS)
def midar_prober(request: pytest.FixtureRequest) -> str:
    return str(request.param)


Run = Callable[[str], tuple[dict[int, str], dict[int, Dealias], Path]]


@pytest.fixture
def dealias(prober: str, testbed: Testbed, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return lambda method: run(prober, method, testbed, tmp_path_factory)


# --- verdicts --------------------------------------------------------------------


@pytest.mark.netns
@pytest.mark.interop
def test_dealias_bed_mercator(testbed: Testbed, dealias: Run) -> None:
    _, recs, _ = dealias("mercator")
    found: dict[bool, list[frozenset[str]]] = {False: [], True: []}
    wrong = []
    for rec in recs.values():
        dst = str(rec.probedefs[0].dst)
        truth: AliasTruth = testbed.alias6 if ":" in dst else testbed.alias4
        srcs = {str(rp.src) for p in rec.probes for rp in p.replies}
        want_src = truth.fixed.get(dst, dst)
        want = "ALIASES" if want_src != dst else "NONE"
        if verdict(rec) != want or srcs != {want_src}:
            wrong.append(f"{dst}: {verdict(rec)} from {sorted(srcs)}, want {want} from {want_src}")
        if verdict(rec) == "ALIASES":
            found[":" in dst].append(frozenset({dst, *srcs}))
    assert not wrong, "\n".join(wrong)
    for truth in (testbed.alias4, testbed.alias6):
        pairs = found[truth.v6]
        assert set(pairs) <= truth.true_pairs()
        assert closure(pairs) == sorted(truth.sets, key=lambda s: (-len(s), sorted(s)))


@pytest.mark.netns
@pytest.mark.interop
@pytest.mark.parametrize("method", ["ally", "bump"])
def test_dealias_bed_pairs(testbed: Testbed, dealias: Run, method: str) -> None:
    """ALIASES for exactly the true pairs; every false pair NOTALIASES."""
    _, recs, _ = dealias(method)
    truth = testbed.alias4
    got = {pair_of(r): verdict(r) for r in recs.values()}
    assert set(got) == {frozenset(p) for p in truth.pairs()}
    wrong = [f"{sorted(p)}: {v}" for p, v in got.items()
             if v != ("ALIASES" if p in truth.true_pairs() else "NOTALIASES")]
    assert not wrong, "\n".join(wrong)


@pytest.mark.netns
@pytest.mark.interop
def test_dealias_bed_prefixscan(testbed: Testbed, dealias: Run) -> None:
    _, recs, _ = dealias("prefixscan")
    wrong = []
    for uid, (a, b, plen, want) in enumerate(testbed.alias4.prefixscans(), 1):
        rec = recs[uid]
        assert rec.data is not None and str(getattr(rec.data, "a", None)) == a
        ab = getattr(rec.data, "ab", None)
        got = (verdict(rec), None if ab is None else str(ab))
        if got != (("ALIASES", want) if want else ("NONE", None)):
            wrong.append(f"{a} {b}/{plen}: {got}, want {want}")
    assert not wrong, "\n".join(wrong)


def sc_radargun_pairs(path: Path) -> set[frozenset[str]]:
    """What Debian's sc_radargun infers from a warts file of radargun records."""
    out = subprocess.run([SC_RADARGUN, "-d", "1", str(path)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return {frozenset(line.split()) for line in out.splitlines() if line.strip()}


@pytest.mark.netns
@pytest.mark.interop
def test_dealias_bed_radargun(testbed: Testbed, dealias: Run) -> None:
    """No verdict of its own; MBT over its series finds exactly the true
    pairs, as sc_radargun does reading the same file."""
    _, recs, out = dealias("radargun")
    (rec,) = recs.values()
    assert verdict(rec) == "NONE"
    assert len(rec.probes) == 10 * len(testbed.alias4.addrs)
    assert mbt_aliases([rec]) == testbed.alias4.true_pairs()
    if os.access(SC_RADARGUN, os.X_OK):
        assert sc_radargun_pairs(out) == testbed.alias4.true_pairs()


@pytest.mark.netns
@pytest.mark.interop
@pytest.mark.parametrize("method", ["midarest", "midardisc"])
def test_dealias_bed_midar(testbed: Testbed, midar_prober: str, method: str,
                           tmp_path_factory: pytest.TempPathFactory) -> None:
    _, recs, _ = run(midar_prober, method, testbed, tmp_path_factory)
    (rec,) = recs.values()
    assert verdict(rec) == "NONE"
    assert mbt_aliases([rec]) == testbed.alias4.true_pairs()


@pytest.mark.netns
@pytest.mark.interop
@pytest.mark.parametrize("method", ["mercator", "ally", "bump", "prefixscan", "radargun"])
def test_dealias_bed_scamperd_decides_as_debian(
        testbed: Testbed, tmp_path_factory: pytest.TempPathFactory, method: str) -> None:
    """The same command, the same verdict (and the same alias found by
    prefixscan, and the same reply source for mercator)."""
    _, theirs, _ = run("debian", method, testbed, tmp_path_factory)
    _, ours, _ = run("scamperd", method, testbed, tmp_path_factory)

    def key(r: Dealias) -> tuple[str, str | None]:
        return verdict(r), str(getattr(r.data, "ab", None))

    diffs = [f"{uid}: scamperd {key(ours[uid])}, debian {key(theirs[uid])}"
             for uid in theirs if key(ours[uid]) != key(theirs[uid])]
    assert not diffs, "\n".join(diffs)


@pytest.mark.netns
@pytest.mark.interop
def test_dealias_bed_debian_has_no_midar(testbed: Testbed, tmp_path: Path) -> None:
    """What the midar skip marks rest on: Debian's scamper 20211212 refuses
    midarest and midardisc commands, and runs the same radargun."""
    if not os.access(SCAMPER, os.X_OK):
        pytest.skip("Debian's scamper is not installed")
    a, b = testbed.alias4.addrs[:2]
    cases = {
        "midarest": (f"dealias -m midarest -q 2 -W 10 -r 100 -p '{ICMP}' "
                     f"-p '-P tcp-ack-sport' {a} {b}"),
        "midardisc": f"dealias -m midardisc {_defs(a, b)} -S 0:0:2 -S 0.1:0:2",
        "radargun": f"dealias -m radargun -q 2 -W 10 -r 100 {_defs(a, b)}",
    }
    for method, cmd in cases.items():
        out = tmp_path / f"{method}.warts"
        r = testbed.exec("vp", [SCAMPER, "-O", "warts", "-o", str(out), "-I", cmd], check=False)
        recs = [x for x in warts.decode(out.read_bytes()) if isinstance(x, Dealias)]
        if method == "radargun":
            assert r.returncode == 0 and len(recs) == 1, r.stderr
        else:
            assert r.returncode != 0 and recs == [], (method, r.returncode)
