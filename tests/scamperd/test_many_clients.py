"""50 clients attached to one scamperd at once, 20 pings each.

Issue 3's third acceptance test.  The M-Lab failure the daemon must not
repeat is results getting lost or stuck when many clients share it, so
every client here checks that it got exactly its own 20 results: none lost,
none that another client asked for, none twice, each ping answered by the
address it was sent to (a reply matched to the wrong task would show), each
result's ``DATA N id-M`` naming the task its command was accepted as, and
after ``done`` the cycle-stop record and EOF.

Clients differ in transport (unix and TCP), in priority (``attach priority
N``: the scheduler's weighted round robin is exercised with 50 weights) and
in pacing: half send all their commands at once (sc_attach -O impatient),
half one per MORE (sc_attach's default).  One thread and ``selectors``
drive them all, so the 50 are really concurrent.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import warts
from protocol import (
    CLOSED,
    NEED_DATA,
    Attach,
    ClientConnection,
    Command,
    Data,
    Done,
    Err,
    More,
    Ok,
    OkId,
)
from tests.scamperd.daemon_helpers import WHERE, Daemon, LineClient, daemon_at
from warts.types.ping import Ping

CLIENTS = 50
PINGS = 20
QUITTERS = 10  # more clients, which hang up (EOF) mid-measurement
DEADLINE = 60.0  # seconds for the whole exchange; ~5-10 s are expected
# (method, options): each gets one reply from any test-bed address it is
# sent to.  -o 1 ends a ping at its first reply, so no task waits out the
# 1 s timeout and the 1000 tasks finish in seconds.
METHODS = (("icmp-echo", ""), ("udp", ""), ("tcp-syn", "-d 80"), ("tcp-ack", "-d 81"))


@dataclass
class Client:
    """One attached control connection and everything it received."""

    n: int
    sock: socket.socket
    impatient: bool
    commands: list[tuple[int, str]]  # (userid, line) in the order sent
    conn: ClientConnection = field(default_factory=ClientConnection)
    sent: int = 0
    done_sent: bool = False
    events: list[object] = field(default_factory=list)
    eof: bool = False

    @property
    def priority(self) -> int:
        return 1 + self.n * 3  # 1..148, all different

    def write(self, event: object) -> None:
        self.sock.sendall(self.conn.send(event))  # type: ignore[arg-type]

    def send_next(self) -> None:
        """One more command, or ``done`` once all have gone (sc_attach's rule)."""
        if self.sent < len(self.commands):
            self.write(Command(self.commands[self.sent][1]))
            self.sent += 1
        elif not self.done_sent:
            self.write(Done())
            self.done_sent = True

    def start(self) -> None:
        self.write(Attach(priority=self.priority))
        if self.impatient:
            while not self.done_sent:
                self.send_next()

    def readable(self) -> None:
        data = self.sock.recv(65536)
        self.conn.receive_data(data)
        while True:
            ev = self.conn.next_event()
            if ev is NEED_DATA:
                return
            if ev is CLOSED:
                self.eof = True
                return
            self.events.append(ev)
            if isinstance(ev, More) and not self.impatient:
                self.send_next()


def userid(n: int, i: int) -> int:
    # never 0: scamper does not write a zero userid, so it would read back as None
    return n * 100 + i + 1


def make_clients(dsts: tuple[str, ...], d: Daemon) -> list[Client]:
    clients = []
    for n in range(CLIENTS):
        cmds = []
        for i in range(PINGS):
            method, opts = METHODS[(n + i) % len(METHODS)]
            dst = dsts[(n * PINGS + i) % len(dsts)]
            uid = userid(n, i)
            line = " ".join(w for w in ("ping -c 1 -o 1", f"-U {uid} -P {method}", opts, dst) if w)
            cmds.append((uid, line))
        sock = d.unix_connect(timeout=DEADLINE) if n % 2 else d.tcp_connect(timeout=DEADLINE)
        clients.append(Client(n, sock, impatient=n % 4 < 2, commands=cmds))
    return clients


def quitters(dst4: str, d: Daemon) -> list[socket.socket]:
    """Clients that attach and queue 20 pings, to hang up while they run."""
    socks = []
    for n in range(QUITTERS):
        sock = d.unix_connect() if n % 2 else d.tcp_connect()
        conn = ClientConnection()
        lines = [conn.send(Attach(priority=1 + n))]
        lines += [conn.send(Command(f"ping -c 3 -i 0.2 {dst4}")) for _ in range(PINGS)]
        sock.sendall(b"".join(lines))
        socks.append(sock)
    return socks


def run_all(clients: list[Client], hang_up: list[socket.socket]) -> float:
    """Attach everyone, then serve whichever socket has data until all hit
    EOF; the ``hang_up`` sockets are closed once the others are under way."""
    t0 = time.monotonic()
    sel = selectors.DefaultSelector()
    for c in clients:
        sel.register(c.sock, selectors.EVENT_READ, c)
    for c in clients:
        c.start()
    open_ = len(clients)
    while open_:
        if hang_up and sum(len(c.events) for c in clients) > 10 * CLIENTS:
            for sock in hang_up:
                sock.close()
            hang_up = []
        left = t0 + DEADLINE - time.monotonic()
        if left <= 0:
            stuck = [(c.n, c.sent, len(c.events)) for c in clients if not c.eof]
            raise AssertionError(f"clients without EOF after {DEADLINE}s: {stuck}")
        for key, _ in sel.select(timeout=left):
            c = key.data
            c.readable()
            if c.eof:
                sel.unregister(c.sock)
                open_ -= 1
    sel.close()
    return time.monotonic() - t0


def check(c: Client, dst_of: dict[int, str]) -> None:
    """Everything one client must have seen; raises with the client's number."""
    who = f"client {c.n}"
    errs = [ev for ev in c.events if isinstance(ev, Err)]
    assert not errs, f"{who}: {errs}"
    oks = [ev for ev in c.events if isinstance(ev, Ok | OkId)]
    # attach, one OK id-N per command in order, done
    assert oks == [Ok(), *(OkId(i) for i in range(1, PINGS + 1)), Ok()], f"{who}: {oks}"
    data = [ev for ev in c.events if isinstance(ev, Data)]
    recs = warts.decode(b"".join(ev.payload for ev in data))
    assert len(recs) == len(data), who
    assert isinstance(recs[0], warts.ListInfo) and isinstance(recs[1], warts.CycleStart), who
    assert isinstance(recs[-1], warts.CycleStop), f"{who}: no cycle-stop before EOF"
    name = recs[0].name
    pings = [(ev, r) for ev, r in zip(data, recs, strict=True) if isinstance(r, Ping)]
    got = Counter(r.userid for _, r in pings)
    want = {userid(c.n, i) for i in range(PINGS)}
    assert not [u for u, k in got.items() if k > 1], f"{who}: duplicated {got}"
    assert set(got) - want == set(), f"{who}: others' results {set(got) - want}"
    assert want - set(got) == set(), f"{who}: lost {sorted(want - set(got))}"
    for ev, r in pings:
        assert r.userid is not None
        # task M is the Mth command, whose userid is n*100 + M
        assert ev.task_id == r.userid - c.n * 100, f"{who}: DATA id-{ev.task_id} {r.userid}"
        assert r.list is not None and r.list.name == name, f"{who}: {r.userid} in {r.list}"
        froms = [str(rep.addr) for rep in r.replies]
        assert froms == [dst_of[r.userid]], f"{who}: ping {r.userid} replies from {froms}"


# -p 5000: 1000 probes must not queue behind the default 20 per second.
# With -w 8 the tasks also wait in the clients' queues, where the priority
# round robin decides who goes next.
@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("window", [0, 8])
def test_many_clients_each_get_exactly_their_results(where: str, request: pytest.FixtureRequest,
                                                     tmp_path: Path, window: int) -> None:
    with daemon_at(where, request, tmp_path, "-p", "5000", "-w", str(window)) as (d, site):
        gone = quitters(site.dst4, d)
        clients = make_clients(site.dsts, d)
        try:
            elapsed = run_all(clients, gone)
            # Everyone has finished or hung up: no source may be left over
            # (EOF abandons a source and frees what its tasks held).
            probe = LineClient(d.unix_connect())
            probe.send("source list")
            assert probe.next() == Ok()
            probe.close()
        finally:
            for c in clients:
                c.sock.close()
            for sock in gone:
                sock.close()
    dst_of = {uid: line.rsplit(" ", 1)[1] for c in clients for uid, line in c.commands}
    failures = []
    for c in clients:
        try:
            check(c, dst_of)
        except AssertionError as e:
            failures.append(str(e).splitlines()[0])
    assert not failures, f"{len(failures)} of {CLIENTS} clients wrong:\n" + "\n".join(failures)
    # every client had its own source: 50 different list names
    names = {warts.decode(b"".join(ev.payload for ev in c.events if isinstance(ev, Data)))[0].name
             for c in clients}
    assert len(names) == CLIENTS
    print(f"{CLIENTS} clients x {PINGS} pings in {elapsed:.1f}s")
