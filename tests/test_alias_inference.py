"""MIDAR's Monotonic Bounds Test (tests/alias_inference.py) on series made by hand.

The bed tests trust it to say which recorded series share a counter; here
it is held to the cases that matter: one counter sampled through several
addresses, two counters, wraps, and series that are no counter at all.
"""

from __future__ import annotations

import random

import pytest

from tests.alias_inference import Sample, is_counter, mbt_aliases, monotonic_bounds
from warts.address import Address
from warts.cursor import Timeval
from warts.types.dealias import (
    Dealias,
    DealiasProbe,
    DealiasProbedef,
    DealiasRadargun,
    DealiasReply,
    ProbedefMethod,
    ReplyFlag,
)

RTT = 100  # us


def interleaved(start_ids: list[int], n: int = 10, step: int = 3) -> list[list[Sample]]:
    """Series of addresses probed in turn, each address's ID from its own
    counter ``start_ids[i]`` (equal starts = one counter)."""
    counters: dict[int, int] = {}
    out: list[list[Sample]] = [[] for _ in start_ids]
    for rnd in range(n):
        for i, start in enumerate(start_ids):
            counters.setdefault(start, start)
            counters[start] = (counters[start] + step) % 65536
            t = rnd * 10_000 + i * 1000
            out[i].append(Sample(t, t + RTT, counters[start]))
    return out


def test_alias_inference_one_counter_passes() -> None:
    a, b, c = interleaved([100, 100, 100])
    assert monotonic_bounds(a, b) and monotonic_bounds(b, c) and monotonic_bounds(a, c)


def test_alias_inference_one_counter_across_the_wrap() -> None:
    a, b = interleaved([65500, 65500], n=30)
    assert a[-1].ipid < a[0].ipid  # it wrapped
    assert is_counter(a) and is_counter(b)
    assert monotonic_bounds(a, b)


@pytest.mark.parametrize("offset", [3, 10, 1000, 32768, 65000])
def test_alias_inference_two_counters_fail(offset: int) -> None:
    a, b = interleaved([100, 100 + offset], step=3)
    assert not monotonic_bounds(a, b)


def test_alias_inference_two_counters_in_step_pass() -> None:
    """The method's limit: two counters that start within a step of each
    other and move alike interleave as one would."""
    a, b = interleaved([100, 101], step=3)
    assert monotonic_bounds(a, b)


def test_alias_inference_samples_overlapping_in_time_are_not_tested() -> None:
    a, b = interleaved([100, 40000])
    # b's samples all overlap a's in time: nothing to test, no verdict
    b = [Sample(x.tx - 500, x.rx + 10_000, x.ipid) for x in b]
    assert not monotonic_bounds(a, b)
    assert not monotonic_bounds(a, b[:0])


def test_alias_inference_counter_test() -> None:
    rng = random.Random(1)
    a, _ = interleaved([100, 100])
    assert is_counter(a)
    assert not is_counter([Sample(i, i + 1, 0) for i in range(10)])  # DF: ID 0
    assert not is_counter([Sample(i, i + 1, 7) for i in range(10)])  # constant
    assert not is_counter([Sample(i, i + 1, rng.randrange(65536)) for i in range(10)])
    assert not is_counter(a[:1])
    big = [Sample(i, i + 1, (i * 6000) % 65536) for i in range(10)]
    assert not is_counter(big) and is_counter(big, fudge=6000)
    # 32-bit fragment IDs wrap at 2**32
    frag = [Sample(i, i + 1, (2**32 - 5 + i * 3000) % 2**32) for i in range(10)]
    assert is_counter(frag, bits=32)


def _record(series: dict[str, list[int]], v6: bool = False) -> Dealias:
    """A radargun record: one ICMP echo probedef per address, probed in turn,
    one reply each with the given IDs."""
    addrs = list(series)
    defs = tuple(DealiasProbedef.build(dst=Address.from_string(a), method=ProbedefMethod.ICMP_ECHO,
                                       id=i) for i, a in enumerate(addrs))
    probes = []
    rounds = len(next(iter(series.values())))
    for rnd in range(rounds):
        for i, a in enumerate(addrs):
            t = 1_000_000 + rnd * 100_000 + i * 10_000
            src = Address.from_string(a)
            reply = (DealiasReply.build(src=src, rx=Timeval.from_us(t + RTT), ttl=64, proto=58,
                                        ipid32=series[a][rnd], flags=ReplyFlag.IPID32)
                     if v6 else
                     DealiasReply.build(src=src, rx=Timeval.from_us(t + RTT), ttl=64, proto=1,
                                        ipid=series[a][rnd]))
            probes.append(DealiasProbe.build(probedef=defs[i], tx=Timeval.from_us(t),
                                             seq=rnd, replies=(reply,)))
    data = DealiasRadargun.build(probedefs=defs, rounds=rounds, wait_probe=10, wait_round=100,
                                 wait_timeout=1)
    return Dealias.build(data=data, start=Timeval(1, 0), probes=tuple(probes))


def test_alias_inference_pairs_from_a_record() -> None:
    ids = {a: [x.ipid for x in s] for a, s in zip(
        ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"),
        interleaved([100, 100, 100, 30000]), strict=True)}
    ids["192.0.2.5"] = [0] * 10  # DF replies: no counter, no pair
    rec = _record(ids)
    want = {frozenset(p) for p in (("192.0.2.1", "192.0.2.2"), ("192.0.2.1", "192.0.2.3"),
                                   ("192.0.2.2", "192.0.2.3"))}
    assert mbt_aliases([rec]) == want


def test_alias_inference_fragment_ids() -> None:
    rng = random.Random(2)
    one = interleaved([5, 5])
    rec = _record({"2001:db8::1": [x.ipid + 2**31 for x in one[0]],
                   "2001:db8::2": [x.ipid + 2**31 for x in one[1]],
                   "2001:db8::3": [rng.randrange(2**32) for _ in range(10)]}, v6=True)
    assert mbt_aliases([rec], bits=32) == {frozenset(("2001:db8::1", "2001:db8::2"))}
