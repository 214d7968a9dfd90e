"""Overload on the namespace test bed: no reply that reached the host is lost
to our own slowness.

scamperd one-shot is asked for 50,000 pings a second to 20,000 distinct
targets one hop away (AnyIP on r1, bench/_ratebed.py), more than this
machine's CPU lets it send.  It must send slower rather than drop: every
echo reply a capture on vp's interface saw is either in a result or counted
by the kernel as dropped for want of buffer space (which scamperd reports on
stderr), and when it could not hold the rate it says so.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testbed import Testbed, netns_unavailable_reason

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import _ratebed as rb  # noqa: E402

pytestmark = pytest.mark.netns
ROOT = Path(__file__).resolve().parents[2]
N = 20_000
RATE = 50_000


@pytest.fixture(scope="module")
def bed() -> Iterator[Testbed]:
    reason = netns_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with Testbed(prefix="ovl") as tb:
        yield tb


def test_overload_every_delivered_reply_is_a_result_or_a_counted_drop(
        bed: Testbed, tmp_path: Path) -> None:
    v4, _ = rb.anyip_targets(bed, N, 0)
    cmds = tmp_path / "cmds"
    cmds.write_text("".join(f"ping -c 1 -o 1 {a}\n" for a in v4))
    out = tmp_path / "out.warts"
    cap = rb.Capture(bed, str(tmp_path / "cap.pcap"))
    r = bed.exec("vp", [sys.executable, "-m", "scamperd", "-p", str(RATE), "-O", "warts",
                        "-O", "cmdfile", "-o", str(out), "-f", str(cmds)], cwd=ROOT,
                 timeout=300, check=False)
    wire = rb.wire_figures(cap.stop(), cap.dropped, True)
    assert r.returncode == 0, r.stderr
    if cap.dropped:
        pytest.skip(f"the capture itself dropped {cap.dropped} packets: nothing to compare")
    recs = rb.ping_figures(rb.read_pings(out.read_bytes()))
    assert recs.pings == N and wire.probes == N
    m = re.search(r"(\d+) replies dropped by the kernel", r.stderr)
    kdrops = int(m.group(1)) if m else 0
    # every reply the wire carried to vp is a result, or the kernel says it
    # dropped it for want of room (none since receive buffers were sized)
    assert recs.answered + kdrops >= wire.answered, (recs, wire, r.stderr)
    assert wire.answered == N
    if wire.rate is not None and wire.rate < 0.98 * RATE:
        # it could not keep the pace: it said so
        assert "could not hold -p 50000" in r.stderr
