"""Debian's sc_ally and sc_radargun, driving a daemon over the test bed's alias corner.

Both connect to the daemon's unix socket (``-U``), which lives in the file
system, so they run here while the daemon probes from the vp namespace.
Both classify each address first with pings (udp-dport, icmp-echo and
tcp-ack-sport: is the IP-ID a counter?), then sc_ally runs ``dealias -m
ally`` per pair and sc_radargun one ``dealias -m radargun`` over the set.
Over the corner's 8 candidate addresses (tests/testbed_alias.py) each must
complete and report exactly the true alias pairs: ``sc_ally -d 1`` and
``sc_radargun -d 1`` read back the warts files they wrote.

Settings, and why:

* sc_ally: one pair per line (lines run in parallel; one line of 8
  addresses runs its 28 pairs one after another: 93 s); ``-i 200`` (the
  least gap it allows), ``-w 1``, ``-q 5``, and ``-f 200``: with its
  default fudge of 5000 and its byte-swap test, al1 and al2 were once
  called aliases when their counters' low bytes met (tests/testbed_alias.py
  tells how); 200 is scamper's own ally default and rules that out.
* sc_radargun: ``-q 2`` pings per method (1 s apart, not settable), rounds
  of 1 s (``-r 1``), 5 of them (``-R 5``, the least), ``-P 1000``.
* The two run at once, against one daemon: 37 s for both with Debian's
  scamper (26 s and 16 s alone: sc_ally's three al1 pairs take 6 s each,
  one after another, as ally waits out its default 5 s -w).  Each one's
  probes only move the shared counters further along, which neither
  inference minds.

The daemon is a parameter: Debian's scamper, and scamperd once it has
dealias (one skip mark away); the same drivers must report the same
aliases against both.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import warts
from tests.alias_inference import mbt_aliases
from tests.scamperd.daemon_helpers import START_TIMEOUT, running_daemon
from tests.testbed import Testbed
from tests.testbed_alias import closure
from warts.types.dealias import Dealias, DealiasMethod

SCAMPER = "/usr/bin/scamper"
SC_ALLY = "/usr/bin/sc_ally"
SC_RADARGUN = "/usr/bin/sc_radargun"
PPS = 1000

DAEMON_PARAMS = [
    "debian",
    "scamperd",
]


@contextlib.contextmanager
def daemon(which: str, tb: Testbed, tmp: Path) -> Iterator[str]:
    """A daemon in the vp namespace; yields its unix socket's path."""
    if which == "scamperd":
        # Debian's drivers (20211212) cannot read 20260420's "DATA N id-M"
        with running_daemon(tb, tmp, "-O", "nodataid", "-p", str(PPS)) as d:
            yield d.unix
        return
    unix = str(tmp / "scamper.sock")
    with open(tmp / "scamper.stderr", "wb") as err:
        proc = tb.popen("vp", [SCAMPER, "-U", unix, "-p", str(PPS)],
                        stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(unix):
            assert proc.poll() is None, f"scamper exited {proc.returncode}"
            assert time.monotonic() < deadline, "scamper made no socket"
            time.sleep(0.05)
        yield unix
    finally:
        tb.stop(proc)


class Runs(NamedTuple):
    ally: Path  # sc_ally's warts file
    radargun: Path  # sc_radargun's


_RUNS: dict[str, Runs] = {}


@pytest.fixture(scope="module", params=DAEMON_PARAMS)
def drivers(request: pytest.FixtureRequest, testbed: Testbed,
            tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """sc_ally and sc_radargun, at once, against one daemon over the corner."""
    which = str(request.param)
    if which in _RUNS:
        return _RUNS[which]
    for tool in (SCAMPER, SC_ALLY, SC_RADARGUN):
        if not os.access(tool, os.X_OK):
            pytest.skip(f"Debian's {os.path.basename(tool)} is not installed")
    tmp = tmp_path_factory.mktemp(f"drivers-{which}")
    truth = testbed.alias4
    (tmp / "pairs").write_text("".join(f"{a} {b}\n" for a, b in truth.pairs()))
    (tmp / "addrs").write_text("".join(f"{a}\n" for a in truth.addrs))
    runs = Runs(tmp / "ally.warts", tmp / "radargun.warts")
    argvs = {
        "sc_ally": [SC_ALLY, "-a", str(tmp / "pairs"), "-o", str(runs.ally),
                    "-i", "200", "-w", "1", "-q", "5", "-f", "200"],
        "sc_radargun": [SC_RADARGUN, "-a", str(tmp / "addrs"), "-o", str(runs.radargun),
                        "-q", "2", "-r", "1", "-R", "5", "-P", str(PPS)],
    }
    with daemon(which, testbed, tmp) as unix:
        t0 = time.monotonic()
        procs: dict[str, subprocess.Popen[Any]] = {
            name: subprocess.Popen([*argv, "-U", unix], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for name, argv in argvs.items()}
        try:
            for name, p in procs.items():
                _, err = p.communicate(timeout=180)
                print(f"{which}: {name} done in {time.monotonic() - t0:.1f}s")
                assert p.returncode == 0, (name, p.returncode, err)
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
                    p.wait()
    _RUNS[which] = runs
    return runs


def dump(tool: str, path: Path, *opts: str) -> list[frozenset[str]]:
    """A driver's own reading of its warts file: one set per line."""
    out = subprocess.run([tool, *opts, str(path)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return [frozenset(line.split()) for line in out.splitlines() if line.strip()]


@pytest.mark.netns
@pytest.mark.interop
def test_dealias_drivers_bed_sc_ally(testbed: Testbed, drivers: Runs) -> None:
    truth = testbed.alias4
    pairs = dump(SC_ALLY, drivers.ally, "-d", "1")
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == truth.true_pairs()
    routers = dump(SC_ALLY, drivers.ally, "-d", "3", "-O", "tc")
    assert sorted(routers, key=sorted) == sorted(truth.sets, key=sorted)


@pytest.mark.netns
@pytest.mark.interop
def test_dealias_drivers_bed_sc_radargun(testbed: Testbed, drivers: Runs) -> None:
    truth = testbed.alias4
    assert set(dump(SC_RADARGUN, drivers.radargun, "-d", "1")) == truth.true_pairs()
    # one radargun over every address (all classified "incr"), whose series
    # the MBT reads alike
    recs = [r for r in warts.decode(drivers.radargun.read_bytes())
            if isinstance(r, Dealias) and r.method == DealiasMethod.RADARGUN]
    assert len(recs) == 1
    assert sorted(str(d.dst) for d in recs[0].probedefs) == sorted(truth.addrs)
    assert mbt_aliases(recs) == truth.true_pairs()
    assert closure(mbt_aliases(recs)) == sorted(truth.sets, key=lambda s: (-len(s), sorted(s)))
