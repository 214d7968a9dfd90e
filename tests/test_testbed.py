"""The namespace test bed works, and real scamper sees in it what the vectors show.

Debian's scamper 20211212 runs inside the vantage point's namespace; its warts
output is decoded with sc_warts2json (sc_warts2text where the JSON of that
version leaves something out).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.testbed import (
    Testbed,
    clean_leftovers,
    list_namespaces,
    netns_unavailable_reason,
    owner_alive,
)
from tests.testbed_lb import lb_sysctls

pytestmark = pytest.mark.netns

SCAMPER = "/usr/bin/scamper"
WARTS2JSON = "/usr/bin/sc_warts2json"
WARTS2TEXT = "/usr/bin/sc_warts2text"

_skip_no_scamper = pytest.mark.skipif(
    not all(os.access(p, os.X_OK) for p in (SCAMPER, WARTS2JSON, WARTS2TEXT)),
    reason="Debian's scamper is not installed")


def needs_scamper(f: Callable[..., None]) -> Callable[..., None]:
    """Mark a test as running Debian's scamper tools (skipped without them)."""
    return pytest.mark.interop(_skip_no_scamper(f))  # type: ignore[no-any-return]

Result = dict[str, Any]


def scamper(tb: Testbed, out: Path, cmds: Iterable[str]) -> list[Result]:
    """Run scamper in the vp namespace with `cmds`; return its records.

    scamper runs the commands in parallel except that it probes one
    destination with one task at a time.  -p 1000: the default 20 packets/s
    would make the batch take ~10 s.
    """
    argv = [SCAMPER, "-O", "warts", "-o", str(out), "-p", "1000"]
    for c in cmds:
        argv += ["-I", c]
    tb.exec("vp", argv, timeout=60)
    text = subprocess.run([WARTS2JSON, str(out)], capture_output=True, text=True,
                          check=True).stdout
    return [r for r in map(json.loads, text.splitlines())
            if r["type"] not in ("cycle-start", "cycle-stop", "list")]


def by_userid(results: list[Result]) -> dict[int, Result]:
    return {r["userid"]: r for r in results}


def hop_addrs(trace: Result, ttl: int) -> list[str]:
    """Every address that answered probes with this TTL, in probe order."""
    return [h["addr"] for h in trace.get("hops", []) if h["probe_ttl"] == ttl]


def first_addrs(trace: Result) -> list[str]:
    """The first address per TTL, like scamper's text output."""
    seen: dict[int, str] = {}
    for h in trace["hops"]:
        seen.setdefault(h["probe_ttl"], h["addr"])
    return [seen[t] for t in sorted(seen)]


# --- the test bed itself --------------------------------------------------


def test_build(testbed: Testbed) -> None:
    names = set(list_namespaces())
    assert set(testbed.ns.values()) <= names
    assert testbed.build_seconds < 10
    for role, node in testbed.nodes.items():
        # no default route anywhere: nothing can leave the test bed
        for fam in ("-4", "-6"):
            routes = testbed.exec(role, ["ip", fam, "route", "show", "default"]).stdout
            assert routes.strip() == "", (role, fam, routes)
        for ifc in node.ifaces.values():
            feats = testbed.exec(role, ["ethtool", "-k", ifc.name]).stdout
            assert re.search(r"^tx-checksumming: off", feats, re.M), (role, ifc.name)
            link = testbed.exec(role, ["ip", "-o", "link", "show", ifc.name]).stdout
            assert f" mtu {ifc.mtu} " in link
    r4 = testbed.exec("r4", ["sysctl", "-n", "net.ipv4.icmp_errors_use_inbound_ifaddr",
                             "net.ipv4.fib_multipath_hash_policy",
                             "net.ipv6.fib_multipath_hash_policy", "net.ipv4.icmp_ratelimit",
                             "net.ipv6.icmp.ratelimit", "net.ipv4.ip_forward"]).stdout.split()
    assert r4 == ["1", "1", "1", "0", "0", "1"]
    # the diamond's routers: a hash seed of their own, and one answering
    # address at the joins (tests/testbed_lb.py)
    for role in ("lb2", "lb4"):
        want = lb_sysctls(role, testbed.lb_seed)
        got = testbed.exec(role, ["sysctl", "-n", *want]).stdout.split()
        assert [int(v, 0) for v in got] == [int(v, 0) for v in want.values()], role
    assert lb_sysctls("lb4")["net.ipv4.icmp_errors_use_inbound_ifaddr"] == "0"
    assert testbed.nodes["r5"].ifaces["dst"].mtu == testbed.mtu_last == 1400
    assert testbed.nodes["r6"].ifaces["dst2"].mtu == testbed.mtu_blackhole == 1280


def test_http_server(testbed: Testbed) -> None:
    code = ("import sys, urllib.request\n"
            "for h in sys.argv[1:]:\n"
            "    print(urllib.request.urlopen(f'http://{h}/', timeout=5).status)\n")
    hosts = [testbed.dst4, f"[{testbed.dst6}]", testbed.bh_dst4, f"[{testbed.bh_dst6}]"]
    out = testbed.exec("vp", [sys.executable, "-c", code, *hosts]).stdout.split()
    assert out == ["200"] * 4


def test_lifecycle_and_leftovers(tmp_path: Path) -> None:
    """A second, throw-away test bed: popen()ed processes die and namespaces go on close();
    leftovers of a dead run are removed while a live run's are kept."""
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    prefix = "sdtbtest"
    clean_leftovers(prefix)
    with Testbed(prefix) as tb:
        p = tb.popen("r1", ["sleep", "600"])
        # `ip netns exec` enters the namespace just after it starts
        deadline = time.monotonic() + 5
        while str(p.pid) not in subprocess.run(["ip", "netns", "pids", tb.ns["r1"]],
                                               capture_output=True, text=True).stdout.split():
            assert time.monotonic() < deadline, "popen()ed process never entered r1"
            time.sleep(0.01)
        names = set(tb.ns.values())
        assert names <= set(list_namespaces())
    assert p.poll() is not None
    assert not names & set(list_namespaces())
    assert tb.teardown_seconds < 10

    now = int(time.time())
    # pid 1 predates `now`: a live owner.  pid 1 "creating" a namespace in
    # 1970 means the pid was reused: a leftover, as is a pid that is gone.
    dead = subprocess.Popen(["true"])
    dead.wait()
    tag = secrets.token_hex(2)  # so a parallel run of this test uses other names
    live = f"{prefix}-1-{now:x}-{tag}-vp"
    stale = [f"{prefix}-1-0-{tag}-vp", f"{prefix}-{dead.pid}-{now:x}-{tag}-vp"]
    assert owner_alive(1, now) and not owner_alive(1, 0)
    try:
        for ns in (live, *stale):
            subprocess.run(["ip", "netns", "add", ns], check=True)
        sleeper = subprocess.Popen(["ip", "netns", "exec", stale[0], "sleep", "600"],
                                   start_new_session=True)
        removed = clean_leftovers(prefix)
        assert set(stale) <= set(removed) and live not in removed
        assert sleeper.wait(timeout=5) is not None
        left = set(list_namespaces())
        assert live in left and not set(stale) & left
    finally:
        for ns in (live, *stale):
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


# --- what real scamper sees -----------------------------------------------


@needs_scamper
def test_scamper_trace_icmp_paris(testbed: Testbed, tmp_path: Path) -> None:
    """The command line from the brief, verbatim: -c 'trace -P icmp-paris' -i DST."""
    out = tmp_path / "t.warts"
    testbed.exec("vp", [SCAMPER, "-O", "warts", "-o", str(out), "-c", "trace -P icmp-paris",
                        "-i", testbed.dst4])
    text = subprocess.run([WARTS2JSON, str(out)], capture_output=True, text=True,
                          check=True).stdout
    (trace,) = [r for r in map(json.loads, text.splitlines()) if r["type"] == "trace"]
    assert trace["src"] == testbed.vp4 and trace["dst"] == testbed.dst4
    assert trace["stop_reason"] == "COMPLETED"
    hops = first_addrs(trace)
    assert len(hops) >= 6 and hops[-1] == testbed.dst4
    for addr, allowed in zip(hops, testbed.hops4, strict=True):
        assert addr in allowed
    # ICMP errors come from the inbound interface, so hop 4 names the branch of hop 3
    assert (hops[2], hops[3]) in testbed.branches4


def _batch(tb: Testbed) -> dict[int, str]:
    """userid -> command; userids key the results."""
    cmds = {
        1: f"trace -P icmp-paris {tb.dst6}",
        2: f"ping -c 2 -i 0.2 {tb.dst4}",
        3: f"ping -c 2 -i 0.2 {tb.dst6}",
        4: f"ping -P tcp-syn -d {tb.tcp_open} -c 2 -i 0.2 {tb.dst4}",
        5: f"ping -P tcp-syn -d {tb.tcp_closed} -c 2 -i 0.2 {tb.dst4}",
        6: f"ping -P tcp-syn -d {tb.tcp_open} -c 2 -i 0.2 {tb.dst6}",
        7: f"ping -P tcp-syn -d {tb.tcp_closed} -c 2 -i 0.2 {tb.dst6}",
        8: f"ping -c 5 -i 0.1 {tb.old_addrs4[0]}",
        9: (f"dealias -m ally -W 100 -w 1 -p '-P icmp-echo -i {tb.old_addrs4[0]}'"
            f" -p '-P icmp-echo -i {tb.nodes['r4'].ifaces['r5'].v4}'"),
        10: f"dealias -m mercator {tb.nodes['r4'].ifaces['r3b'].v4}",
        11: f"dealias -m mercator {tb.nodes['r4'].ifaces['r3b'].v6}",
        12: f"dealias -m mercator {tb.nodes['r5'].ifaces['r4'].v4}",
        13: f"trace -P udp-paris -q 3 -Q {tb.dst4}",
        14: f"trace -P udp-paris -q 3 -Q {tb.dst6}",
    }
    # paris traces keep the flow fixed, so each stays on one branch ...
    for i in range(3):
        cmds[20 + i] = f"trace -P icmp-paris -q 3 -Q -d {1000 + i} {tb.dst4}"
    # ... while classic UDP changes the destination port with every probe.
    # 4 traces x 3 probes at TTL 3: all on one branch by chance is 3**-11.
    for i in range(4):
        cmds[30 + i] = f"trace -P udp -q 3 -Q -s {40000 + i} {tb.dst4}"
        cmds[40 + i] = f"trace -P udp -q 3 -Q -s {40000 + i} {tb.dst6}"
    return {uid: f"{c.split(' ', 1)[0]} -U {uid} {c.split(' ', 1)[1]}" for uid, c in cmds.items()}


@pytest.fixture(scope="module")
def batch(testbed: Testbed, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Result]:
    """One scamper run with every small-packet measurement (~4 s)."""
    if not os.access(SCAMPER, os.X_OK):
        pytest.skip("Debian's scamper is not installed")
    out = tmp_path_factory.mktemp("scamper") / "batch.warts"
    cmds = _batch(testbed)
    res = by_userid(scamper(testbed, out, cmds.values()))
    assert set(res) == set(cmds)
    return res


@needs_scamper
def test_trace_v6(testbed: Testbed, batch: dict[int, Result]) -> None:
    trace = batch[1]
    assert trace["stop_reason"] == "COMPLETED"
    hops = first_addrs(trace)
    assert len(hops) == len(testbed.hops6) and hops[-1] == testbed.dst6
    for addr, allowed in zip(hops, testbed.hops6, strict=True):
        assert addr in allowed


@needs_scamper
def test_ping(testbed: Testbed, batch: dict[int, Result]) -> None:
    for uid, dst in ((2, testbed.dst4), (3, testbed.dst6)):
        ping = batch[uid]
        assert [r["from"] for r in ping["responses"]] == [dst, dst]
        # five routers on the way back
        assert {r["reply_ttl"] for r in ping["responses"]} == {59}


@needs_scamper
def test_tcp_ports(batch: dict[int, Result]) -> None:
    syn, ack, rst = 0x02, 0x10, 0x04
    for uid in (4, 6):  # port 80, v4 and v6: the HTTP server answers SYN-ACK
        flags = [r["tcp_flags"] for r in batch[uid]["responses"]]
        assert len(flags) == 2 and all(f & (syn | ack) == syn | ack for f in flags), flags
    for uid in (5, 7):  # port 81 is closed: RST
        flags = [r["tcp_flags"] for r in batch[uid]["responses"]]
        assert len(flags) == 2 and all(f & rst for f in flags), flags


@needs_scamper
def test_old_router_ipid(testbed: Testbed, batch: dict[int, Result]) -> None:
    # echo replies from one interface of r4: one counter, counting up by
    # small steps (other probes at r4 in the same batch also take IDs)
    ids = [r["reply_ipid"] for r in batch[8]["responses"]]
    assert len(ids) == 5
    steps = [(b - a) % 65536 for a, b in zip(ids, ids[1:], strict=False)]
    assert all(0 < s < 1000 for s in steps), ids
    # ally probes two of r4's addresses in turn: the shared counter makes them aliases
    assert batch[9]["result"] == "aliases"
    ally_ids = [rep["ipid"] for p in batch[9]["probes"] for rep in p["replies"]]
    assert len(ally_ids) >= 4
    # mercator: a port-unreachable from r4 always comes from its loopback
    for uid, lo in ((10, testbed.old4), (11, testbed.old6)):
        rep = batch[uid]["probes"][0]["replies"][0]
        assert rep["src"] == lo and batch[uid]["result"] == "aliases"
    # a stock router answers from the address probed
    assert batch[12]["result"] == "none"


@needs_scamper
def test_ecmp(testbed: Testbed, batch: dict[int, Result]) -> None:
    branch3 = {b[0] for b in testbed.branches4}
    for uid in (20, 21, 22, 13):
        at3 = hop_addrs(batch[uid], 3)
        assert len(at3) == 3 and len(set(at3)) == 1 and at3[0] in branch3, (uid, at3)
        at4 = hop_addrs(batch[uid], 4)
        assert (at3[0], at4[0]) in testbed.branches4
    at3_v6 = hop_addrs(batch[14], 3)
    assert len(at3_v6) == 3 and len(set(at3_v6)) == 1

    for base, branches in ((30, testbed.branches4), (40, testbed.branches6)):
        seen = [a for i in range(4) for a in hop_addrs(batch[base + i], 3)]
        assert len(seen) == 12
        assert set(seen) <= {b[0] for b in branches}
        assert len(set(seen)) > 1, seen
        for i in range(4):
            assert batch[base + i]["stop_reason"] == "COMPLETED"


@needs_scamper
def test_pmtu(testbed: Testbed, tmp_path: Path) -> None:
    """1400 on the last link to dst; a silent 1280 in front of dst2."""
    def route_mtu(dst: str) -> str | None:
        out = testbed.exec("vp", ["ip", "route", "get", dst]).stdout
        m = re.search(r"\bmtu (\d+)", out)
        return m.group(1) if m else None

    testbed.flush_pmtu()
    try:
        out = tmp_path / "pmtu.warts"
        cmds = [
            f"ping -U 1 -s 1500 -c 1 {testbed.dst4}",  # DF: too big for r5's link to dst
            f"ping -U 2 -s 1500 -c 1 {testbed.dst6}",
            f"ping -U 3 -s 1300 -c 1 {testbed.bh_dst4}",  # black hole: no answer at all
            f"ping -U 4 -s 1300 -c 1 {testbed.bh_dst6}",
            f"ping -U 5 -s 1280 -c 1 {testbed.bh_dst4}",  # small enough
            f"ping -U 6 -s 1280 -c 1 {testbed.bh_dst6}",
        ]
        res = by_userid(scamper(testbed, out, cmds))
        r5 = testbed.nodes["r5"].ifaces["r4"]
        (fn,) = res[1]["responses"]
        assert (fn["from"], fn["icmp_type"], fn["icmp_code"]) == (r5.v4, 3, 4)
        (ptb,) = res[2]["responses"]
        assert (ptb["from"], ptb["icmp_type"], ptb["icmp_code"]) == (r5.v6, 2, 0)
        assert res[3]["responses"] == [] and res[4]["responses"] == []
        assert [r["from"] for r in res[5]["responses"]] == [testbed.bh_dst4]
        assert [r["from"] for r in res[6]["responses"]] == [testbed.bh_dst6]
        # the vantage point's kernel learned the MTU; the black hole taught it nothing
        assert route_mtu(testbed.dst4) == route_mtu(testbed.dst6) == "1400"
        assert route_mtu(testbed.bh_dst4) is None

        # flush_pmtu() forgets it, so PMTUD tests don't depend on their order
        testbed.flush_pmtu()
        assert route_mtu(testbed.dst4) is None and route_mtu(testbed.dst6) is None

        # scamper's own PMTUD finds 1400 at the last hop (sc_warts2json of
        # 20211212 leaves PMTUD out; sc_warts2text prints it)
        out = tmp_path / "tracem.warts"
        scamper(testbed, out, [f"trace -M {testbed.dst4}", f"trace -M {testbed.dst6}"])
        text = subprocess.run([WARTS2TEXT, str(out)], capture_output=True, text=True,
                              check=True).stdout
        last = [ln for ln in text.splitlines() if testbed.dst4 in ln or testbed.dst6 in ln]
        last = [ln for ln in last if not ln.startswith("traceroute")]
        assert len(last) == 2 and all(ln.endswith("[mtu: 1400]") for ln in last), text
    finally:
        testbed.flush_pmtu()

