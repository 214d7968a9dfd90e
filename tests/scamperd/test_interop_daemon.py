"""scamperd driven by Debian's sc_attach 20211212, checked against Debian's scamper.

Issue 3's first acceptance test: a file of 100 ping commands (every probe
method, IPv4 and IPv6, to the destinations and routers of the test bed) goes
through ``sc_attach`` to ``scamperd -O nodataid`` in the vantage point's
namespace; ``sc_warts2json`` must read the warts file it writes without a
complaint, and every command must get the replies Debian's scamper gets for
it in the same namespace.  The 20260420 framing (``DATA N id-M``) is checked
with our own client code against the daemon in its default mode.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import warts
from protocol import Attach, Command, Data, Done, More, Ok, OkId
from tests.scamperd.daemon_helpers import (
    SC_ATTACH,
    LineClient,
    Record,
    needs_debian,
    results,
    run_scamper,
    running_daemon,
    warts2json,
)
from tests.testbed import Testbed

pytestmark = pytest.mark.netns

# Every method the daemon must carry; icmp-time exists for IPv4 only.
# (method, options): tcp-syn to the open and the closed port, the others to
# the port whose answer they provoke.
METHODS: tuple[tuple[str, str], ...] = (
    ("icmp-echo", ""),
    ("udp", ""),
    ("udp-dport", "-d 33435"),
    ("tcp-syn", "-d 80"),
    ("tcp-syn", "-d 81"),
    ("tcp-ack", "-d 80"),
    ("tcp-ack-sport", "-d 80"),
    ("tcp-synack", "-d 80"),
    ("tcp-rst", "-d 81"),
    ("icmp-time", ""),
)
# -c 2 -i 0.1: each task lasts ~1.1 s (the 1 s wait after the last probe),
# and both scampers run one task per destination at a time, so 10 targets
# keep each run near 12 s.
PING = "ping -c 2 -i 0.1"


@dataclass(frozen=True)
class Cmd:
    userid: int
    method: str
    target: str  # the role of the address, for messages
    dst: str
    ttl: int | None  # -m: probes that expire at a router on the way
    line: str


def targets(tb: Testbed, v6: bool) -> list[tuple[str, str]]:
    """(role, address): both destinations, the first router, the old router's
    loopback (its port-unreachables come from there) and the last router."""
    def a(role: str, peer: str) -> str:
        i = tb.nodes[role].ifaces[peer]
        return i.v6 if v6 else i.v4
    return [("dst", tb.dst6 if v6 else tb.dst4),
            ("dst2", tb.bh_dst6 if v6 else tb.bh_dst4),
            ("r1", a("r1", "vp")),
            ("r4-lo", tb.old6 if v6 else tb.old4),
            ("r5", a("r5", "r4"))]


def commands(tb: Testbed) -> list[Cmd]:
    """The 100 commands: 10 methods x 5 targets on IPv4, 9 x 5 on IPv6, and
    5 TTL-limited probes whose replies are time-exceeded from routers (matched
    from the probe quoted inside the ICMP error)."""
    plan: list[tuple[str, str, str, str, int | None]] = []
    for v6 in (False, True):
        for role, addr in targets(tb, v6):
            for method, opts in METHODS:
                if v6 and method == "icmp-time":
                    continue
                plan.append((method, opts, role, addr, None))
    # TTL 1, 2 and 5 expire at r1, r2 and r5; TTL 3 and 4 inside the ECMP
    # fan-out, where the branch depends on the flow (see the comparison).
    plan += [("icmp-echo", "", "dst", tb.dst4, 2), ("udp", "", "dst", tb.dst6, 3),
             ("tcp-syn", "-d 80", "dst", tb.dst4, 4), ("icmp-echo", "", "dst", tb.dst6, 1),
             ("udp-dport", "-d 33435", "dst", tb.dst4, 5)]
    out = []
    for uid, (method, opts, role, addr, ttl) in enumerate(plan, start=1):
        words = [PING, f"-U {uid}", f"-P {method}", opts, f"-m {ttl}" if ttl else "", addr]
        out.append(Cmd(uid, method, role, addr, ttl, " ".join(w for w in words if w)))
    assert len(out) == 100
    return out


def by_userid(records: list[Record]) -> dict[int, Record]:
    res = results(records)
    uids = Counter(r["userid"] for r in res)
    assert all(n == 1 for n in uids.values()), f"duplicated results: {uids}"
    return {r["userid"]: r for r in res}


def summary(ping: Record, exact_from: bool) -> tuple[object, ...]:
    """What two correct scampers must agree on for one ping."""
    resp = ping.get("responses", [])
    froms = Counter(r["from"] for r in resp) if exact_from else None
    # the kind of every reply: ICMP type/code, or the TCP flags minus ECE/CWR
    kinds = Counter((r.get("icmp_type"), r.get("icmp_code"),
                     None if "tcp_flags" not in r else r["tcp_flags"] & 0x3F) for r in resp)
    return (ping["method"], ping["dst"], ping["ping_sent"], len(resp), froms, kinds)


@pytest.fixture(scope="module")
def scamper_results(testbed: Testbed, tmp_path_factory: pytest.TempPathFactory
                    ) -> tuple[list[Cmd], dict[int, Record]]:
    """Debian's scamper on the command file (the oracle), run once."""
    tmp = tmp_path_factory.mktemp("scamper")
    cmds = commands(testbed)
    cmdfile = tmp / "cmds.txt"
    cmdfile.write_text("".join(c.line + "\n" for c in cmds))
    return cmds, by_userid(run_scamper(testbed, tmp / "scamper.warts", cmdfile))


@needs_debian
def test_sc_attach_drives_daemon_like_scamper(
        testbed: Testbed, tmp_path: Path,
        scamper_results: tuple[list[Cmd], dict[int, Record]]) -> None:
    cmds, theirs = scamper_results
    cmdfile = tmp_path / "cmds.txt"
    cmdfile.write_text("".join(c.line + "\n" for c in cmds))
    out = tmp_path / "sc_attach.warts"
    with running_daemon(testbed, tmp_path, "-O", "nodataid", "-p", "1000") as d:
        r = testbed.exec("vp", [SC_ATTACH, "-U", d.unix, "-i", str(cmdfile), "-o", str(out)],
                         check=False, timeout=90)
        # sc_attach reports protocol trouble on stderr but exits 0 anyway
        assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr, d.stderr())
    records = warts2json(out)
    # one list (no JSON form), cycle-start first, cycle-stop last
    assert records[0]["type"] == "cycle-start" and records[-1]["type"] == "cycle-stop"
    assert records[0]["list_name"] == f"{d.unix}:0"
    ours = by_userid(records)
    assert set(ours) == {c.userid for c in cmds}

    mismatches = []
    for c in cmds:
        # Inside the ECMP fan-out (TTL 3 and 4) the router that answers
        # depends on the flow hash of each probe's ports and ICMP id, which
        # each scamper draws for itself: only the count and kind must agree.
        exact = c.ttl not in (3, 4)
        a, b = summary(ours[c.userid], exact), summary(theirs[c.userid], exact)
        if a != b:
            mismatches.append(f"{c.line}: scamperd {a} != scamper {b}")
    assert not mismatches, "\n".join(mismatches)
    # the comparison is not vacuous: most commands are answered, by both
    answered = sum(1 for c in cmds if ours[c.userid].get("responses"))
    assert answered >= 80


@needs_debian
def test_sc_attach_tcp_control_socket(testbed: Testbed, tmp_path: Path) -> None:
    """sc_attach over -P (TCP): the source is named after the client's address."""
    cmdfile = tmp_path / "cmds.txt"
    cmdfile.write_text(f"ping -c 1 -U 5 {testbed.dst4}\nping -c 1 -U 6 {testbed.dst6}\n")
    out = tmp_path / "tcp.warts"
    with running_daemon(testbed, tmp_path, "-O", "nodataid", "-p", "1000") as d:
        r = testbed.exec("vp", [SC_ATTACH, "-p", str(d.port), "-i", str(cmdfile),
                                "-o", str(out)], check=False, timeout=30)
        assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr, d.stderr())
    records = warts2json(out)
    assert records[0]["list_name"].startswith("127.0.0.1:")
    ours = by_userid(records)
    assert {u: [x["from"] for x in p["responses"]] for u, p in ours.items()} == {
        5: [testbed.dst4], 6: [testbed.dst6]}


@needs_debian
def test_sc_attach_20211212_cannot_read_data_ids(testbed: Testbed, tmp_path: Path) -> None:
    """Why -O nodataid exists: without it the daemon speaks 20260420's
    ``DATA N id-M``, which Debian's sc_attach refuses ("could not parse DATA",
    contrary to what control-protocol.md §7 supposes), losing every result."""
    cmdfile = tmp_path / "cmds.txt"
    cmdfile.write_text(f"ping -c 1 -U 5 {testbed.dst4}\n")
    out = tmp_path / "ids.warts"
    with running_daemon(testbed, tmp_path, "-p", "1000") as d:
        r = testbed.exec("vp", [SC_ATTACH, "-U", d.unix, "-i", str(cmdfile), "-o", str(out)],
                         check=False, timeout=30)
    assert "could not parse DATA" in r.stderr and " id-1" in r.stderr
    # the blocks without an id (list, cycle-start, cycle-stop) still got through
    assert [x["type"] for x in warts2json(out)] == ["cycle-start", "cycle-stop"]


# --- 20260420 framing: DATA N id-M, read with protocol.ClientConnection ------------------


def events(client: LineClient) -> Iterator[object]:
    while (ev := client.next()) is not None:
        yield ev


def test_data_ids_name_the_task(testbed: Testbed, tmp_path: Path) -> None:
    tb = testbed
    lines = {uid: f"ping -c 1 -U {uid} {dst}"
             for uid, dst in enumerate((tb.dst4, tb.dst6, tb.old4, tb.bh_dst6, tb.dst4), 1)}
    with running_daemon(tb, tmp_path, "-p", "1000") as d:
        client = LineClient(d.unix_connect())
        conn = client.conn
        client.sock.sendall(conn.send(Attach()))
        for line in lines.values():
            client.sock.sendall(conn.send(Command(line)))
        client.sock.sendall(conn.send(Done()))
        seen = list(events(client))
        client.close()

    # Replies to our lines come in order: OK (attach), OK id-1.., OK (done)
    replies = [ev for ev in seen if isinstance(ev, Ok | OkId)]
    assert replies == [Ok(), *(OkId(i) for i in range(1, len(lines) + 1)), Ok()]
    assert More() in seen
    data = [ev for ev in seen if isinstance(ev, Data)]
    recs = warts.decode(b"".join(ev.payload for ev in data))
    assert len(recs) == len(data)  # one record per DATA block
    kinds = [type(r) for r in recs]
    assert kinds[:2] == [warts.ListInfo, warts.CycleStart] and kinds[-1] is warts.CycleStop
    # list, cycle-start and cycle-stop belong to no task; every result names
    # the task its command was accepted as (task N = the Nth command = userid N)
    for ev, rec in zip(data, recs, strict=True):
        if isinstance(rec, warts.ListInfo | warts.CycleStart | warts.CycleStop):
            assert ev.task_id is None, rec
        else:
            assert ev.task_id == rec.userid and not ev.inprog, (ev.task_id, rec)
    assert sorted(ev.task_id for ev in data if ev.task_id is not None) == sorted(lines)
