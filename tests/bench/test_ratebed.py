"""bench/_ratebed.py's arithmetic and its loose reading of a daemon's counters.

The counters reader meets scamperd's drop and rate reports before their
format is fixed (issue 11), so these pin the shapes it must read."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import _ratebed as rb  # noqa: E402


@pytest.mark.parametrize(("text", "drops"), [
    # scamperd a6786c4: the stats line, and a one-shot run's stderr
    ("OK stats probes=32000 replies=20000 pps=17000.5 target-pps=50000 slots-skipped=9 "
     "kernel-drops=12 malformed=0 send-errors=0 tasks-queued=0 tasks-active=0", 12),
    ("scamperd: could not hold -p 50000: 32000 probes at 17000 pps, 123 send slots "
     "skipped, 456 replies dropped by the kernel", 456),
    ("sent 32000 probes at 49,980 pps; 31990 replies; 10 kernel drops, 0 malformed", 10),
    ("kernel-dropped 7 of 32000 replies", 7),
    ("OK probes_sent=32000 replies=31000 kernel_drops=1000 malformed=0", 1000),
    ("kernel drops: 3\nmalformed: 0\nOK", 3),
    ('DATA 40\n{"probes": 5, "drops": {"kernel": 4, "rxq": 1}}', 5),
    ("sent 32000 probes, 31990 replies", None),
    ("", None),
])
def test_kernel_drops_reads_each_shape(text: str, drops: int | None) -> None:
    assert rb.kernel_drops(rb.counters(text)) == drops


@pytest.mark.parametrize(("text", "pps"), [
    ("achieved 49,980 pps of -p 50000", 49980.0),
    ("OK stats probes=32000 replies=20000 pps=17000.5 target-pps=50000 kernel-drops=1",
     17000.5),
    ("scamperd: could not hold -p 50000: 32000 probes at 17000 pps, 0 send slots "
     "skipped, 456 replies dropped by the kernel", 17000.0),
    ("achieved_rate=15000.5 target_rate=50000", 15000.5),
    ("sent 100 probes", None),
])
def test_reported_rate_reads_each_shape(text: str, pps: float | None) -> None:
    assert rb.reported_rate(rb.counters(text)) == pps


def test_largest_burst_counts_within_one_ms() -> None:
    ms = 1_000_000
    assert rb.largest_burst([]) == 0
    assert rb.largest_burst([0, ms, 2 * ms]) == 1
    assert rb.largest_burst([0, 1, 2, ms - 1, ms, 5 * ms]) == 4


def test_rate_is_first_to_last() -> None:
    assert rb.rate([0]) is None
    assert rb.rate([0, 500_000_000, 1_000_000_000]) == pytest.approx(2.0)


def test_wire_figures_match_replies_to_probes() -> None:
    peer = b"\x0a\xc8\x40\x01"
    echoes = [rb.Echo(0, True, peer, 1, 0), rb.Echo(10, False, peer, 1, 0),
              rb.Echo(1_000_000_000, True, peer, 1, 1), rb.Echo(5, False, peer, 9, 9)]
    w = rb.wire_figures(echoes, 0, True)
    assert (w.probes, w.answered, w.burst) == (2, 1, 1)
    assert w.rate == pytest.approx(1.0)
