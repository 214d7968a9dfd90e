"""1,000 traces from 10 clients at once: the workload, the clients, the checks.

Shared by tests/scamperd/test_trace_scale.py (scamperd in the test bed) and
bench/trace_bench (the same workload through scamperd and through Debian's
scamper, timed).  Issue 4's scale criterion: every trace returns, none cut
short by the daemon, each client gets exactly its own.

The workload: every client sends ``attach`` and its 100 ``trace`` commands
back to back, then ``done`` (sc_attach -O impatient), and reads until EOF.
Targets are addresses all over the test bed (both destinations, routers,
the old router's loopback; IPv4 and IPv6), so each trace has a known path:
per TTL, the addresses that may answer (:func:`targets`).  Every target
answers every method (dst and dst2 listen on TCP port 80, trace's default
for the TCP methods; routers reset it), so every trace must end COMPLETED
at the hop where the target sits.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import warts
from protocol import CLOSED, NEED_DATA, ClientConnection
from protocol.events import Attach, Command, Data, Done, Err, Ok, OkId
from tests.testbed import Testbed
from warts.types.trace import Trace, TraceStop

CLIENTS = 10
TRACES = 100  # per client
# Priorities of the ten clients (attach priority N): weighted round robin
# over unequal weights, plus the default 1.
PRIORITIES = (1, 1, 2, 3, 5, 8, 13, 1, 4, 10)
# -q 1 -w 1: one probe per hop and a 1 s wait (scamper's defaults are 2 and
# 5 s) keep the 1,000 traces short; every hop answers in the test bed, so
# the wait is only spent when a reply is lost.
COMMON = "-q 1 -w 1"
# (-P value or None for scamper's default udp-paris).  icmp-paris, Ark's
# method, is every third trace; the other five share the rest.
METHODS: tuple[str | None, ...] = (
    "icmp-paris", None, "icmp", "icmp-paris", "udp", "tcp",
    "icmp-paris", "tcp-ack", None)


class Target(NamedTuple):
    """A trace destination and, per TTL from 1, the addresses that may answer."""

    addr: str
    path: tuple[frozenset[str], ...]


def targets(tb: Testbed) -> list[Target]:
    """Fourteen destinations, seven per family, with their paths from vp.

    ICMP errors leave a v4 router from the interface the probe came in on
    (icmp_errors_use_inbound_ifaddr) and a v6 router from the address its
    route back to vp picks; tb.hops4 / tb.hops6 list both per TTL for the
    path to dst.  A target answers from the address probed (Linux replies
    from the destination of a packet delivered locally; r4's loopback is the
    address its nft rule rewrites port-unreachables to, so it is consistent
    there too).
    """
    out = []
    for v6 in (False, True):
        hops = [frozenset(h) for h in (tb.hops6 if v6 else tb.hops4)]

        def addr(node: str, peer: str, v6: bool = v6) -> str:
            ifc = tb.nodes[node].ifaces[peer]
            return ifc.v6 if v6 else ifc.v4

        r6 = addr("r6", "r5")  # dst2's path: r5 then r6 then dst2
        dst, bh, old = (tb.dst6, tb.bh_dst6, tb.old6) if v6 else (tb.dst4, tb.bh_dst4, tb.old4)
        for dest, prefix in (
                (dst, hops[:5]),
                (bh, [*hops[:5], frozenset({r6})]),
                (addr("r1", "vp"), []),
                (addr("r2", "r1"), hops[:1]),
                (old, hops[:3]),
                (addr("r5", "r4"), hops[:4]),
                (r6, hops[:5])):
            out.append(Target(dest, (*prefix, frozenset({dest}))))
    return out


def userid(client: int, i: int) -> int:
    # never 0: scamper does not write a zero userid
    return client * 1000 + i + 1


def workload(tb: Testbed, common: str = COMMON) -> list[list[tuple[int, str, Target]]]:
    """Per client, its (userid, command line, target) in the order sent;
    ``common`` are the options every trace gets.

    Methods and targets are spread so that every client has every method
    and most targets, and the 1,000 traces cover each (method, target)
    pair several times.
    """
    tgts = targets(tb)
    out = []
    for n in range(CLIENTS):
        cmds = []
        for i in range(TRACES):
            k = n * TRACES + i
            method = METHODS[k % len(METHODS)]
            tgt = tgts[(k * 5 + n) % len(tgts)]
            uid = userid(n, i)
            words = ["trace", *(["-P", method] if method else []), common, f"-U {uid}",
                     tgt.addr]
            cmds.append((uid, " ".join(w for w in words if w), tgt))
        out.append(cmds)
    return out


def command_file(work: Sequence[Sequence[tuple[int, str, Target]]]) -> str:
    """All 1,000 commands, one a line, interleaved across clients (what one
    scamper process given ``-f`` gets)."""
    lines = [cmds[i][1] for i in range(TRACES) for cmds in work]
    return "\n".join(lines) + "\n"


# --- clients --------------------------------------------------------------------------


@dataclass
class Client:
    """One attached control connection, everything it sent and received."""

    n: int
    sock: socket.socket
    commands: list[tuple[int, str, Target]]
    priority: int = 1
    conn: ClientConnection = field(default_factory=ClientConnection)
    events: list[object] = field(default_factory=list)
    eof: bool = False
    finished_at: float = 0.0

    def start(self) -> None:
        """attach, every command, done: one write, as sc_attach -O impatient
        would send them as fast as the socket takes them."""
        out = [self.conn.send(Attach(priority=self.priority))]
        out += [self.conn.send(Command(line)) for _, line, _ in self.commands]
        out.append(self.conn.send(Done()))
        self.sock.sendall(b"".join(out))

    def readable(self) -> None:
        data = self.sock.recv(1 << 16)
        self.conn.receive_data(data)
        while True:
            ev = self.conn.next_event()
            if ev is NEED_DATA:
                return
            if ev is CLOSED:
                self.eof = True
                self.finished_at = time.monotonic()
                return
            self.events.append(ev)

    def records(self) -> list[object]:
        return warts.decode(b"".join(ev.payload for ev in self.events if isinstance(ev, Data)))


def run_clients(connect: Callable[[int], socket.socket],
                work: Sequence[Sequence[tuple[int, str, Target]]],
                deadline: float) -> tuple[list[Client], float]:
    """Connect every client, start them all, read until every one is at EOF.

    One thread and ``selectors`` drive the ten, so they are really
    concurrent.  A client's whole input (about 4 kB) fits in the socket's
    buffer, so writing it all before reading anything cannot block.
    """
    clients = [Client(n, connect(n), list(cmds), PRIORITIES[n % len(PRIORITIES)])
               for n, cmds in enumerate(work)]
    t0 = time.monotonic()
    for c in clients:
        c.start()
    sel = selectors.DefaultSelector()
    for c in clients:
        sel.register(c.sock, selectors.EVENT_READ, c)
    open_ = len(clients)
    try:
        while open_:
            left = t0 + deadline - time.monotonic()
            if left <= 0:
                stuck = [(c.n, len(c.events)) for c in clients if not c.eof]
                raise AssertionError(f"clients without EOF after {deadline}s "
                                     f"(client, events so far): {stuck}")
            for key, _ in sel.select(timeout=left):
                c = key.data
                c.readable()
                if c.eof:
                    sel.unregister(c.sock)
                    open_ -= 1
    finally:
        sel.close()
    return clients, time.monotonic() - t0


# --- checks ---------------------------------------------------------------------------


def trace_problems(tr: Trace, tgt: Target) -> list[str]:
    """What is wrong with one trace of ``tgt``: its stop reason, and any hop
    address that is not one the test bed has at that TTL."""
    out = []
    if tr.stop_reason != TraceStop.COMPLETED:
        stops = {int(s): s.name for s in TraceStop}
        name = stops.get(tr.stop_reason or 0, str(tr.stop_reason))
        out.append(f"stop {name} (data {tr.stop_data})")
    for p in tr.probes:
        for r in p.replies:
            a = str(r.addr)
            if not 1 <= p.ttl <= len(tgt.path) or a not in tgt.path[p.ttl - 1]:
                out.append(f"ttl {p.ttl} from {a}")
    last = max((p.ttl for p in tr.probes if p.replies), default=0)
    if last != len(tgt.path):
        out.append(f"last answering ttl {last}, target is at {len(tgt.path)}")
    return out


def missing_hops(tr: Trace, tgt: Target) -> int:
    """TTLs before the target's without any reply (a reply lost somewhere)."""
    answered = {p.ttl for p in tr.probes if p.replies}
    return sum(1 for ttl in range(1, len(tgt.path) + 1) if ttl not in answered)


@dataclass
class Verdict:
    problems: list[str]
    traces: int
    missing_hops: int
    probes: int  # sent, over all the client's traces


def check_client(c: Client) -> Verdict:
    """Everything one client must have got: OK for attach, ``OK id-N`` for
    its Nth command (scamperd and Debian's scamper alike), OK for done;
    exactly its own traces, each once, each plausible; the cycle-stop record
    last, then EOF."""
    who = f"client {c.n}"
    problems: list[str] = []
    errs = [ev for ev in c.events if isinstance(ev, Err)]
    if errs:
        problems.append(f"{who}: {errs[:3]}")
    oks = [ev for ev in c.events if isinstance(ev, Ok | OkId)]
    want_oks: list[object] = [Ok(), *(OkId(i) for i in range(1, TRACES + 1)), Ok()]
    if oks != want_oks:
        problems.append(f"{who}: replies {oks[:5]}... ({len(oks)})")
    if not c.eof:
        problems.append(f"{who}: no EOF")
    recs = c.records()
    if not recs or not isinstance(recs[-1], warts.CycleStop):
        problems.append(f"{who}: no cycle-stop record at the end")
    traces = [r for r in recs if isinstance(r, Trace)]
    by_uid = {uid: tgt for uid, _, tgt in c.commands}
    got = Counter(t.userid or 0 for t in traces)
    dup = sorted(u for u, k in got.items() if k > 1)
    alien = sorted(u for u in got if u not in by_uid)
    lost = sorted(set(by_uid) - set(got))
    for what, uids in (("duplicated", dup), ("others'", alien), ("lost", lost)):
        if uids:
            problems.append(f"{who}: {len(uids)} {what} traces {uids[:10]}")
    missing = 0
    probes = sum(len(t.probes) for t in traces)
    for t in traces:
        tgt = by_uid.get(t.userid or 0)
        if tgt is None:
            continue
        if str(t.dst) != tgt.addr:
            problems.append(f"{who}: trace {t.userid} to {t.dst}, asked {tgt.addr}")
            continue
        for p in trace_problems(t, tgt):
            problems.append(f"{who}: trace {t.userid} to {tgt.addr} type {t.type}: {p}")
        missing += missing_hops(t, tgt)
    return Verdict(problems, len(traces), missing, probes)
