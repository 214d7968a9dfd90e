"""Are these IP-IDs one counter?  scamper_dealias_ipid_inseq().

The test behind ally, prefixscan and bump: replies to probes sent in turn to
two addresses carry IP-IDs from one counter if each reply's IP-ID follows
the one before, modulo 2^16 (IPv4) or 2^32 (IPv6 fragment ids), never
repeating, and (with a fudge) never jumping further than the fudge.

``bs`` says how byte order is treated: 0 native only, 1 byte-swapped only
(routers that write the IP-ID in host order), 2 either (in sequence one way
or the other), 3 for a final verdict: with fudge 0 the byte order is chosen
from the per-address gaps (:func:`_byte_order`), otherwise as 2.

A series is a list of ``(def_id, seq, ipid)``: the probe's definition and
round (the order the byte-order choice sorts by) and its one reply's IP-ID.
"""

from __future__ import annotations

from collections.abc import Sequence

Sample = tuple[int, int, int]  # (def id, seq, reply ip-id)


def _swap(v: int, bits: int) -> int:
    return int.from_bytes(v.to_bytes(bits // 8, "big"), "little")


def _diff(a: int, b: int, mod: int) -> int:
    return b - a if a <= b else (mod - a) + b


def _inseq2(a: int, b: int, fudge: int, mod: int) -> bool:
    return a != b and _diff(a, b, mod) <= fudge


def _inseq3(a: int, b: int, c: int, fudge: int, mod: int) -> bool:
    if a == b or b == c or a == c:
        return False
    if a > b:
        b += mod
    if a > c:
        c += mod
    if a > b or b > c:
        return False
    return not (fudge != 0 and (b - a > fudge or c - b > fudge))


def _inseq(ids: list[int], fudge: int, swap: bool, bits: int) -> bool:
    mod = 1 << bits
    if swap:
        ids = [_swap(v, bits) for v in ids]
    if len(ids) == 2:
        # two samples under a strict test say nothing either way
        return True if fudge == 0 else _inseq2(ids[0], ids[1], fudge, mod)
    return all(_inseq3(ids[i], ids[i + 1], ids[i + 2], fudge, mod)
               for i in range(len(ids) - 2))


def _byte_order(samples: Sequence[Sample], bits: int) -> int:
    """dealias_ipid16_bo(): per definition with three or more samples, the
    largest step native and byte-swapped; the smaller wins.  0 native, 1
    swapped, 2 undecided."""
    mod = 1 << bits
    s = sorted(samples, key=lambda x: (x[0], x[1]))
    rc = 2
    c = 1
    max_bs = max_nobs = 0
    for i in range(len(s)):
        if i + 1 == len(s) or s[i][0] != s[i + 1][0]:
            if c >= 3:
                if max_nobs < max_bs:
                    rc = 0
                elif max_nobs > max_bs:
                    rc = 1
                if rc == 0:
                    return rc
            c = 1
            max_nobs = max_bs = 0
        else:
            a, b = s[i][2], s[i + 1][2]
            d = _diff(a, b, mod)
            if d > max_nobs or max_nobs == 0:
                max_nobs = d
            d = _diff(_swap(a, bits), _swap(b, bits), mod)
            if d > max_bs or max_bs == 0:
                max_bs = d
            c += 1
    return rc


def ipid_inseq(samples: Sequence[Sample], fudge: int, bs: int, *, v6: bool = False) -> bool:
    """scamper_dealias_ipid_inseq() for at least two samples."""
    if len(samples) < 2:
        raise ValueError("an IP-ID sequence needs two samples")
    bits = 32 if v6 else 16
    ids = [s[2] for s in samples]
    if bs == 3 and fudge == 0:
        # scamper's inseq swaps for any order but native, so an undecided
        # order (2) tests the byte-swapped series
        return _inseq(ids, fudge, _byte_order(samples, bits) != 0, bits)
    if bs in (2, 3):
        return _inseq(ids, fudge, False, bits) or _inseq(ids, fudge, True, bits)
    return _inseq(ids, fudge, bs == 1, bits)
