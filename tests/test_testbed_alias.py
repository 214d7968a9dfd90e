"""The test bed's alias corner (tests/testbed_alias.py) is built as it says.

Its ground truth, the old routers' nftables rules as the kernel holds them,
the counters Debian's scamper sees, and what IPv6 fragment IDs look like.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import warts
from tests.alias_inference import is_counter, series
from tests.testbed import Testbed
from tests.testbed_alias import AL_OLD, alias_truth, closure
from warts.types.dealias import Dealias, DealiasResult

SCAMPER = "/usr/bin/scamper"
needs_scamper = pytest.mark.skipif(not os.access(SCAMPER, os.X_OK),
                                   reason="Debian's scamper is not installed")


def test_testbed_alias_truth() -> None:
    t4, t6 = alias_truth(False), alias_truth(True)
    assert t4.nodes["al1"] == ("10.200.201.2", "10.200.202.0", "10.200.203.1")
    assert t4.nodes["al2"] == ("10.200.202.1", "10.200.204.1")
    assert t4.nodes["al3"] == ("10.200.203.2",)  # 10.200.205.1 is hidden
    assert len(t4.addrs) == len(set(t4.addrs)) == 8 and len(t6.addrs) == 8
    assert len(t4.pairs()) == 28
    assert len(t4.true_pairs()) == 4 and len(t4.false_pairs()) == 24
    assert t4.sets == [frozenset(t4.nodes["al1"]), frozenset(t4.nodes["al2"])]
    assert t6.fixed["fd00:200:204::1"] == "fd00:200:202::2"
    assert t4.fixed["10.200.203.1"] == "10.200.201.2"
    assert t4.prefixscans() == [
        ("10.200.201.2", "10.200.202.1", 31, "10.200.202.0"),
        ("10.200.203.2", "10.200.202.1", 31, None),
        ("10.200.201.2", "10.200.203.2", 30, "10.200.203.1"),
        ("10.200.202.1", "10.200.203.2", 30, None),
        ("10.200.202.1", "10.200.204.2", 30, "10.200.204.1"),
        ("10.200.201.2", "10.200.204.2", 30, None),
    ]
    assert closure([("a", "b"), ("c", "d"), ("b", "e")]) == [
        frozenset("abe"), frozenset("cd")]


@pytest.mark.netns
def test_testbed_alias_built(testbed: Testbed) -> None:
    for role, (offset, _) in AL_OLD.items():
        rules = testbed.exec(role, ["nft", "--debug=netlink", "list", "ruleset"]).stdout
        # the IP-ID really written: numgen, shifted into the high half,
        # converted to network order, 2 bytes at offset 4 with the checksum
        assert f"numgen reg 1 = inc mod 65536 offset {offset} ]" in rules, role
        assert "( reg 1 << 0x00000010 )" in rules
        assert "payload write reg 1 => 2b @ network header + 4 csum_type 1" in rules
    addrs = testbed.exec("al1", ["ip", "-4", "-o", "addr", "show"]).stdout
    assert "10.200.202.0/31" in addrs and "10.200.203.1/30" in addrs
    assert "nft" not in testbed.exec("al3", ["nft", "list", "ruleset"]).stdout


def _dealias(tb: Testbed, tmp: Path, cmds: list[str]) -> list[Dealias]:
    out = tmp / "out.warts"
    argv = [SCAMPER, "-O", "warts", "-p", "1000", "-o", str(out)]
    for c in cmds:
        argv += ["-I", c]
    tb.exec("vp", argv, timeout=60)
    return [r for r in warts.decode(out.read_bytes()) if isinstance(r, Dealias)]


@pytest.mark.netns
@pytest.mark.interop
@needs_scamper
def test_testbed_alias_counters(testbed: Testbed, tmp_path: Path) -> None:
    """radargun over every candidate: one counter per old router, near its
    offset, shared by its addresses; a counter per stock address."""
    t4 = testbed.alias4
    defs = " ".join(f"-p '-P icmp-echo -i {a}'" for a in t4.addrs)
    (rec,) = _dealias(testbed, tmp_path, [f"dealias -m radargun -q 4 -W 10 -r 100 -w 1 {defs}"])
    got = {addr: s for (addr, _), s in series([rec]).items()}
    assert sorted(got) == sorted(t4.addrs)
    for addr, s in got.items():
        assert is_counter(s, fudge=200), (addr, [x.ipid for x in s])
    for role, (offset, _) in AL_OLD.items():
        ids = [x.ipid for a in t4.nodes[role] for x in got[a]]
        # one counter: its addresses never repeat a value, all near its start
        assert len(set(ids)) == len(ids), (role, ids)
        assert all((i - offset) % 65536 < 16384 for i in ids), (role, ids)


@pytest.mark.netns
@pytest.mark.interop
@needs_scamper
def test_testbed_alias_ipv6_fragment_ids_are_random(testbed: Testbed, tmp_path: Path) -> None:
    """The claim in tests/testbed_alias.py: after a packet-too-big every
    reply is fragmented, and its fragment IDs are no counter, on an old
    router as on a stock one; ally over two of al1's addresses cannot say
    ALIASES."""
    t6 = testbed.alias6
    addrs = [*t6.nodes["al1"], *t6.nodes["al3"]]
    big = "-P icmp-echo -s 1300 -M 1280"
    defs = " ".join(f"-p '{big} -i {a}'" for a in addrs)
    a, b = t6.nodes["al1"][:2]
    recs = _dealias(testbed, tmp_path, [
        f"dealias -m radargun -q 6 -W 50 -r 300 -w 1 {defs}",
        f"dealias -m ally -W 200 -w 1 -p '{big} -i {a}' -p '{big} -i {b}'"])
    rg, ally = sorted(recs, key=lambda r: r.method or 0, reverse=True)
    frag = series([rg])
    assert sorted(addr for addr, _ in frag) == sorted(addrs)
    for key, s in frag.items():
        assert len(s) >= 4, key  # fragmented replies after the first
        assert not is_counter(s, bits=32, fudge=1 << 24), (key, [x.ipid for x in s])
    assert DealiasResult(ally.result or 0) != DealiasResult.ALIASES
