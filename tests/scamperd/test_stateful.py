"""A stateful property test: random interleavings of clients against one scamperd.

Theory of operation
-------------------
One real daemon runs in a namespace of its own (:mod:`tests.scamperd.
stateful_bed`: loopback, silent, unreachable and blackhole routes, no default
route).  A hypothesis :class:`RuleBasedStateMachine` opens control clients
(unix and TCP), attaches them (warts or JSON, with priorities, sometimes
with a bad attach line), and interleaves measurement commands drawn from
every ping and trace option (:mod:`tests.scamperd.stateful_commands`),
``halt`` of known and unknown ids, ``done``, abrupt disconnects (close,
half-close, reset), garbage lines (some fatal), and interactive commands.
The rules only write; the invariant, run after every step, reads everything
the daemon sent and checks it against a model of each client
(:class:`Client`):

* the daemon process is alive and a separate interactive connection gets
  ``OK pid N`` for ``get pid``;
* replies come in the order of the lines that asked for them: ``OK`` to a
  good attach and to ``done``, ``OK id-N`` (ids new on the connection) or
  ``ERR`` to a measurement, ``OK halted N`` only for a task the client owns
  and that has not reported yet, ``ERR no task id-N`` only for one that has
  (results precede later replies on the stream);
* every ``ERR`` carries a reason (``command not accepted`` says why);
* every ``OK id-N`` is followed by exactly one result for id-N, carrying the
  userid the test put on that command (each command gets a unique ``-U``),
  in the attach format, ``inprog`` snapshots only before it; no result for
  an id the client was not given, no record that another client asked for;
* results are due within the command's own duration plus :data:`SLACK`, and
  a halted task's within :data:`HALT_SLACK`;
* ``MORE`` only while attached and not after ``done`` was acknowledged;
  after ``done``: every result, then cycle-stop, then EOF, and nothing after
  cycle-stop; an EOF before that only after the client hung up, sent a
  fatal line or ``exit`` (a client that left is owed nothing);
* no packet in the namespace has a source address that is not ours, apart
  from the addresses only ``-O spoof`` commands use.

At the end of each example every attached client sends ``done``; tasks still
running after :data:`GRACE` are halted, so an example ends quickly, and each
client must then see its results, cycle-stop and EOF.  A daemon that died is
replaced at the start of the next example, so hypothesis can shrink a crash.
"""

from __future__ import annotations

import functools
import json
import select
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import warts
from protocol import CLOSED, NEED_DATA, ClientConnection, Data, Err, Info, More, Ok, OkId
from protocol.errors import RemoteProtocolError
from tests.scamperd.stateful_bed import Stage
from tests.scamperd.stateful_commands import (
    SPOOF_ADDRS,
    accepted,
    budget,
    edge_lines,
    ping_lines,
    trace_lines,
    with_userid,
)
from tests.testbed import netns_unavailable_reason
from warts.file import ReadState, decode_object

pytestmark = pytest.mark.netns

MIN_STEPS = 2000  # rule steps per run, over all examples
EXAMPLES, STEPS_PER_EXAMPLE = 70, 35  # short examples shrink in reasonable time
MAX_RUNS = 4  # hypothesis runs to reach MIN_STEPS, at most
MAX_CLIENTS = 5  # open at once
SLACK = 5.0  # seconds a result may be later than its command's own duration
HALT_SLACK = 3.0  # seconds from OK halted N to the result of N
REPLY_SLACK = 3.0  # seconds from a line to its reply
GRACE = 0.2  # seconds at the end of an example before running tasks are halted
END_TIMEOUT = 8.0  # seconds after that for results, cycle-stop and EOF

STEPS = 0  # rule steps run, over every example of the session
STAGE: Stage | None = None

_HDR = struct.Struct(">HHI")
WARTS_LIST, WARTS_CYCLE_START, WARTS_CYCLE_STOP = 1, 2, 4
FATAL_REASONS = ("invalid character in line", "line too long")

# Lines an attached client may send that must be refused with an ERR and
# leave the session as it was.
GARBAGE = (
    "frobnicate", "ping", "ping -c", "trace -Z", "ping -c 1 not-an-address",
    "ping -c 1 -P bogus 127.0.0.1", "trace -q 99 127.0.0.1", "tracelb -c 50 127.0.0.1",
    "dealias -m mercator -q 9 127.0.0.1", "dealias -m ally 127.0.0.1",
    "halt", "halt x", "halt 0", "halt 4294967296", "attach", "attach format json",
    "get version", "exit", "help", "DONE ", " done", "done please", "ping\x00 127.0.0.1",
    "~" + "x" * 300,
)
# Lines after which the daemon must drop the session (then close it).
FATAL = ("ping\t-c 1 127.0.0.1", "\x01", "done\x7f", "x" * 70000)
INTERACTIVE = ("get version", "get pid", "get window", "get pps", "get command",
               "get monitorname", "get nameserver", "help", "source list",
               "lss-clear nosuch", "frobnicate", "get", "get foo", "exit")


class Violation(AssertionError):
    """A promise the daemon broke.  One subclass per kind, so that hypothesis
    (which tells failures apart by exception type) shrinks each on its own."""


class DaemonDied(Violation):
    pass


class DaemonUnresponsive(Violation):
    pass


class ResultLost(Violation):
    """An ``OK id-N`` whose result never came."""


class ResultWrong(Violation):
    """A result twice, for an id never given, or carrying another's userid."""


class SpoofedPacket(Violation):
    pass


class ProtocolBroken(Violation):
    """A reply out of order or of the wrong kind, a MORE or EOF out of place."""


Rule = TypeVar("Rule", bound=Callable[..., None])


def guarded(fn: Rule) -> Rule:
    """Run a rule (or the invariant), keeping the first violation for
    :meth:`DaemonMachine.teardown` to raise.

    Raising in the middle of an example would make the steps hypothesis
    draws depend on when the daemon's output happened to be read (hypothesis
    then reports inconsistent data generation instead of the bug).  So
    violations are raised only at the end, and rules keep updating the model
    after one (their I/O may fail; the model never depends on it), so that
    the rules enabled at each step depend on the drawn steps alone.
    """

    @functools.wraps(fn)
    def run(self: DaemonMachine, *args: Any, **kwargs: Any) -> None:
        global STEPS
        if fn.__name__ != "daemon_keeps_its_promises":
            STEPS += 1
            self.steps += 1
        elif self.violation is not None:
            return  # checked enough: the example is failing already
        try:
            fn(self, *args, **kwargs)
        except Violation as v:
            self.violation = v
        except OSError as e:  # a socket call failed: the daemon hung up or is gone
            self.violation = ProtocolBroken(f"step {self.steps}: {fn.__name__}: {e!r}")

    return cast(Rule, run)


@dataclass
class Task:
    """An ``OK id-N``: the promise of one result."""

    tid: int
    line: str
    userid: int
    due: float  # monotonic time by which the result must have come
    halted_at: float | None = None
    results: int = 0
    inprog: int = 0


@dataclass
class Pending:
    """A line that is owed a reply."""

    kind: str  # attach, bad-attach, measure, halt, done, garbage, fatal, interactive
    line: str
    sent: float
    userid: int = 0
    budget: float = 0.0
    halt_id: int = 0


@dataclass
class Client:
    n: int
    sock: socket.socket | None  # None: the connect failed
    transport: str
    conn: ClientConnection = field(default_factory=ClientConnection)
    # new -> attached -> done (sent) -> eof; left: we closed or half-closed,
    # sent exit or a fatal line: owed nothing, reading (if any) until EOF.
    state: str = "new"
    json: bool = False
    replies: deque[Pending] = field(default_factory=deque)
    tasks: dict[int, Task] = field(default_factory=dict)
    max_tid: int = 0
    # ids the daemon should give the lines sent so far (those our copy of
    # the grammar accepts): halt targets that do not depend on timing
    predicted: list[int] = field(default_factory=list)
    done_acked: bool = False
    cycle_started: bool = False
    cycle_stopped: bool = False
    reading: bool = True  # False once we closed our socket
    eof: bool = False
    warts_state: ReadState = field(default_factory=ReadState)
    log: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"client {self.n} ({self.transport}, {self.state})"

    def send(self, line: str, pending: Pending | None) -> None:
        self.log.append(line if len(line) < 80 else line[:60] + f"...({len(line)} bytes)")
        if pending is not None:
            self.replies.append(pending)
        if self.sock is None or not self.reading:
            return
        try:
            self.sock.sendall(line.encode("latin-1") + b"\n")
        except OSError as e:  # the daemon went away: the invariant says why
            self.log.append(f"[send failed: {e!r}]")

    def owed(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.results == 0]


def result_record(c: Client, payload: bytes) -> tuple[str, int | None]:
    """(kind, userid) of one DATA payload in the client's format."""
    if c.json:
        if not payload.startswith(b"{"):
            raise Violation(f"{c}: non-JSON DATA on a JSON session: {payload[:40]!r}")
        obj = json.loads(payload)
        return str(obj.get("type")), obj.get("userid")
    if not payload.startswith(b"\x12\x05"):
        raise Violation(f"{c}: non-warts DATA on a warts session: {payload[:40]!r}")
    _, obj_type, length = _HDR.unpack_from(payload)
    if length != len(payload) - 8:
        raise Violation(f"{c}: DATA holds {len(payload)} bytes for a {length}-byte object")
    rec = decode_object(obj_type, payload[8:], c.warts_state)
    kinds = {WARTS_LIST: "list", WARTS_CYCLE_START: "cycle-start",
             WARTS_CYCLE_STOP: "cycle-stop"}
    if obj_type in kinds:
        return kinds[obj_type], None
    return type(rec).__name__.lower(), getattr(rec, "userid", None)


class DaemonMachine(RuleBasedStateMachine):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        assert STAGE is not None
        self.stage = STAGE
        self.clients: list[Client] = []
        self.owner: dict[int, int] = {}  # userid -> client number
        self.next_userid = 1  # never 0: warts does not store a zero userid
        self.violation: Violation | None = None
        self.steps = 0
        # Each example starts with a live daemon (a new one if the last
        # example killed it), so that a crash can be shrunk.
        self.stage.ensure_daemon()
        self.stage.new_stderr()
        self.stage.foreign_sources(set(SPOOF_ADDRS))  # what came before is not ours

    # -- helpers ------------------------------------------------------------------

    def fail(self, kind: type[Violation], msg: str) -> NoReturn:
        raise kind(f"step {self.steps}: {msg}")

    def pick(self, k: int, *states: str) -> Client | None:
        cands = [c for c in self.clients if c.state in states]
        return cands[k % len(cands)] if cands else None

    def has(self, *states: str) -> bool:
        return any(c.state in states for c in self.clients)

    # -- rules: they only write; the invariant reads ---------------------------------

    @precondition(lambda self: sum(c.state in ("new", "attached") for c in self.clients)
                  < MAX_CLIENTS)
    @rule(tcp=st.booleans())
    @guarded
    def open_client(self, tcp: bool) -> None:
        try:
            sock = self.stage.tcp_connect() if tcp else self.stage.unix_connect()
        except OSError as e:
            sock = None
            if self.violation is None:
                self.violation = ProtocolBroken(f"step {self.steps}: connect: {e!r}")
        c = Client(len(self.clients), sock, "tcp" if tcp else "unix")
        c.reading = sock is not None
        self.clients.append(c)

    @precondition(lambda self: self.has("new"))
    @rule(k=st.integers(0, 7), fmt=st.sampled_from(["", "json", "warts", "xml"]),
          priority=st.sampled_from([None, 1, 7, 100000, 0, 100001]))
    @guarded
    def attach(self, k: int, fmt: str, priority: int | None) -> None:
        c = self.pick(k, "new")
        assert c is not None
        words = ["attach"]
        if fmt:
            words += ["format", fmt]
        if priority is not None:
            words += ["priority", str(priority)]
        good = fmt != "xml" and (priority is None or 1 <= priority <= 100000)
        c.send(" ".join(words), Pending("attach" if good else "bad-attach",
                                        " ".join(words), time.monotonic()))
        if good:
            c.state, c.json = "attached", fmt == "json"

    def _measure(self, k: int, line: str) -> None:
        c = self.pick(k, "attached")
        assert c is not None
        uid = self.next_userid
        self.next_userid += 1
        self.owner[uid] = c.n
        full = with_userid(line, uid)
        if accepted(full):
            c.predicted.append(len(c.predicted) + 1)
        c.send(full, Pending("measure", full, time.monotonic(), userid=uid,
                             budget=budget(full)))

    @precondition(lambda self: self.has("attached"))
    @rule(k=st.integers(0, 7), line=ping_lines())
    @guarded
    def ping(self, k: int, line: str) -> None:
        self._measure(k, line)

    @precondition(lambda self: self.has("attached"))
    @rule(k=st.integers(0, 7), line=trace_lines())
    @guarded
    def trace(self, k: int, line: str) -> None:
        self._measure(k, line)

    @precondition(lambda self: self.has("attached"))
    @rule(k=st.integers(0, 7), line=edge_lines())
    @guarded
    def edge(self, k: int, line: str) -> None:
        self._measure(k, line)

    @precondition(lambda self: self.has("attached"))
    @rule(k=st.integers(0, 7), which=st.integers(0, 15), unknown=st.booleans())
    @guarded
    def halt(self, k: int, which: int, unknown: bool) -> None:
        c = self.pick(k, "attached")
        assert c is not None
        # a known id (running or finished), or one never given out
        ids = c.predicted
        tid = ids[which % len(ids)] if ids and not unknown else len(ids) + 50 + which
        c.send(f"halt {tid}", Pending("halt", f"halt {tid}", time.monotonic(), halt_id=tid))

    @precondition(lambda self: self.has("attached"))
    @rule(k=st.integers(0, 7), word=st.sampled_from(["done", "DONE", "Done\r"]))
    @guarded
    def done(self, k: int, word: str) -> None:
        c = self.pick(k, "attached")
        assert c is not None
        c.send(word, Pending("done", word, time.monotonic()))
        c.state = "done"

    @precondition(lambda self: self.has("new", "attached", "done"))
    @rule(k=st.integers(0, 7), how=st.sampled_from(["close", "half-close", "reset"]))
    @guarded
    def disconnect(self, k: int, how: str) -> None:
        c = self.pick(k, "new", "attached", "done")
        assert c is not None
        c.log.append(f"[{how}]")
        c.state = "left"
        if c.sock is None or not c.reading:
            return
        if how == "half-close":
            c.sock.shutdown(socket.SHUT_WR)  # keep reading: EOF must follow
            return
        if how == "reset" and c.transport == "tcp":
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.sock.close()
        c.reading = False
        c.replies.clear()

    @precondition(lambda self: self.has("attached"))
    @rule(k=st.integers(0, 7), line=st.one_of(
        st.sampled_from(GARBAGE), st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e),
                                          max_size=40).map(lambda s: "~" + s)))
    @guarded
    def garbage(self, k: int, line: str) -> None:
        c = self.pick(k, "attached")
        assert c is not None
        c.send(line, Pending("garbage", line, time.monotonic()))

    @precondition(lambda self: self.has("attached"))
    @rule(k=st.integers(0, 7), line=st.sampled_from(FATAL))
    @guarded
    def fatal(self, k: int, line: str) -> None:
        c = self.pick(k, "attached")
        assert c is not None
        c.send(line, Pending("fatal", line, time.monotonic()))
        c.state = "left"

    @precondition(lambda self: self.has("new"))
    @rule(k=st.integers(0, 7), line=st.sampled_from(INTERACTIVE))
    @guarded
    def interactive(self, k: int, line: str) -> None:
        c = self.pick(k, "new")
        assert c is not None
        if line == "exit":
            c.send(line, None)
            c.state = "left"
            return
        c.send(line, Pending("interactive", line, time.monotonic()))

    @rule(seconds=st.sampled_from([0.005, 0.02, 0.05, 0.15]))
    @guarded
    def wait(self, seconds: float) -> None:
        if self.violation is not None:
            return
        time.sleep(seconds)

    # -- reading and checking ------------------------------------------------------

    @invariant()
    @guarded
    def daemon_keeps_its_promises(self) -> None:
        self.check()

    def check(self) -> None:
        now = time.monotonic()
        self.check_alive()
        for c in self.clients:
            self.read(c)
        for c in self.clients:
            if c.reading and c.replies and now - c.replies[0].sent > REPLY_SLACK:
                p = c.replies[0]
                self.fail(ProtocolBroken, f"{c}: no reply to {p.line!r} after {now - p.sent:.1f}s")
            if c.state == "left" or c.eof:
                continue
            for t in c.owed():
                if t.halted_at is not None and now > t.halted_at + HALT_SLACK:
                    self.fail(ResultLost, f"{c}: no result for halted id-{t.tid} ({t.line!r}) "
                              f"{now - t.halted_at:.1f}s after OK halted")
                if t.halted_at is None and now > t.due:
                    self.fail(ResultLost, f"{c}: no result for id-{t.tid} ({t.line!r}), overdue by "
                              f"{now - t.due:.1f}s")
        bad = self.stage.foreign_sources(set(SPOOF_ADDRS))
        if bad:
            self.fail(SpoofedPacket, "packets from addresses that are not ours on the wire "
                      f"(no -O spoof asked for them): {bad[:5]}")

    def check_alive(self) -> None:
        """The daemon runs and answers ``get pid`` on a connection of its own."""
        stage = self.stage
        if stage.exited():
            rc = stage.proc.returncode if stage.proc is not None else None
            self.fail(DaemonDied, f"scamperd died (exit status {rc}); stderr:\n"
                      f"{stage.stderr_tail()}")
        if not stage.answers():
            self.fail(DaemonUnresponsive, "scamperd runs but does not answer `get pid`")

    def read(self, c: Client) -> None:
        if not c.reading or c.eof:
            return
        while select.select([c.sock], [], [], 0)[0]:
            try:
                data = c.sock.recv(1 << 16)
            except ConnectionResetError:
                data = b""
            try:
                c.conn.receive_data(data)
                while True:
                    ev = c.conn.next_event()
                    if ev is NEED_DATA:
                        break
                    if ev is CLOSED:
                        self.closed(c)
                        return
                    self.absorb(c, ev)
            except RemoteProtocolError as e:
                self.fail(ProtocolBroken, f"{c}: the daemon's byte stream is malformed: {e}")
            if not data:
                return

    def closed(self, c: Client) -> None:
        c.eof = True
        if c.state == "left" or c.cycle_stopped:
            return
        # An EOF nobody asked for: a crash shows as the connection closing
        # a moment before the process is gone.
        self.check_alive()
        self.fail(ResultLost, f"{c}: the daemon closed the connection without cycle-stop; "
                  f"owed {[t.tid for t in c.owed()]}, sent {c.log[-6:]}")

    def absorb(self, c: Client, ev: Any) -> None:
        if isinstance(ev, Data):
            self.data(c, ev)
        elif isinstance(ev, More):
            if c.state == "new" or c.done_acked or c.cycle_stopped:
                when = "after done" if c.done_acked else "before attach"
                self.fail(ProtocolBroken, f"{c}: MORE {when}")
        else:
            self.reply(c, ev)

    def reply(self, c: Client, ev: Ok | OkId | Err | Info) -> None:
        if isinstance(ev, Err) and not ev.text.strip():
            self.fail(ProtocolBroken, f"{c}: ERR without a reason")
        if isinstance(ev, Err) and ev.text.startswith("command not accepted") \
                and not ev.text.partition(":")[2].strip():
            self.fail(ProtocolBroken, f"{c}: {ev.text!r} does not say why")
        if not c.replies:
            if c.state == "left":
                return  # the reply to a line sent before hanging up
            self.fail(ProtocolBroken, f"{c}: unsolicited {ev!r}; sent {c.log[-6:]}")
        p = c.replies[0]
        if not (isinstance(ev, Info) and p.kind == "interactive"):
            c.replies.popleft()
        ok = self.expected(c, p, ev)
        if not ok:
            self.fail(ProtocolBroken, f"{c}: {ev!r} in reply to {p.line!r}")

    def expected(self, c: Client, p: Pending, ev: Any) -> bool:
        kind = p.kind
        if kind == "attach":
            return ev == Ok()
        if kind in ("bad-attach", "garbage"):
            return isinstance(ev, Err)
        if kind == "fatal":
            return isinstance(ev, Err) and ev.text in FATAL_REASONS
        if kind == "done":
            c.done_acked = True
            return ev == Ok()
        if kind == "interactive":
            word = p.line.split()
            if word[0] == "get" and len(word) == 2 and word[1] != "foo":
                text = ev.text or "" if isinstance(ev, Ok) else ""
                return text.startswith(word[1] + " ") or text == f"null {word[1]}"
            if word[0] == "source":
                return isinstance(ev, Info | Ok) and (not isinstance(ev, Ok) or ev.text is None)
            return isinstance(ev, Err | Ok) and not isinstance(ev, OkId)
        if kind == "measure":
            if isinstance(ev, Err):
                return True
            if not isinstance(ev, OkId) or ev.task_id <= c.max_tid:
                return False
            c.max_tid = ev.task_id
            due = time.monotonic() + p.budget + SLACK
            c.tasks[ev.task_id] = Task(ev.task_id, p.line, p.userid, due)
            return True
        if kind == "halt":
            t = c.tasks.get(p.halt_id)
            if ev == Ok(f"halted {p.halt_id}"):
                if t is None or t.results:
                    self.fail(ResultWrong, f"{c}: OK halted {p.halt_id} for "
                              f"{'a finished task' if t else 'an id it never gave out'}")
                assert t is not None
                t.halted_at = time.monotonic()
                return True
            if ev == Err(f"no task id-{p.halt_id}"):
                if t is not None and not t.results:
                    self.fail(ResultLost, f"{c}: `ERR no task id-{t.tid}` but id-{t.tid} "
                              f"({t.line!r}) never reported a result")
                return True
            return False
        raise AssertionError(kind)

    def data(self, c: Client, ev: Data) -> None:
        if c.state == "new" or c.cycle_stopped:
            when = "before attach" if c.state == "new" else "after cycle-stop"
            self.fail(ProtocolBroken, f"{c}: DATA {when}")
        try:
            kind, userid = result_record(c, ev.payload)
        except (ValueError, warts.WartsError) as e:
            self.fail(ResultWrong, f"{c}: undecodable DATA id-{ev.task_id}: {e!r}")
        if ev.task_id is None:
            if kind == "cycle-start":
                if c.cycle_started:
                    self.fail(ProtocolBroken, f"{c}: a second cycle-start")
                c.cycle_started = True
            elif kind == "cycle-stop":
                self.cycle_stop(c)
            elif kind != "list" or c.json:
                self.fail(ProtocolBroken, f"{c}: a {kind} record without a task id")
            return
        t = c.tasks.get(ev.task_id)
        if t is None:
            self.fail(ResultWrong, f"{c}: DATA id-{ev.task_id} ({kind}, userid {userid}) but "
                      f"it was never given OK id-{ev.task_id}")
        assert t is not None
        if userid != t.userid:
            who = self.owner.get(userid) if isinstance(userid, int) else None
            self.fail(ResultWrong, f"{c}: DATA id-{t.tid} carries userid {userid} "
                      f"(client {who}'s), not {t.userid} of {t.line!r}")
        if kind not in ("ping", "trace"):
            self.fail(ResultWrong, f"{c}: DATA id-{t.tid} is a {kind} record")
        if t.results:
            what = "snapshot" if ev.inprog else "result"
            self.fail(ResultWrong, f"{c}: a second {what} for id-{t.tid} ({t.line!r}) "
                      "after its result")
        if ev.inprog:
            t.inprog += 1
        else:
            t.results += 1

    def cycle_stop(self, c: Client) -> None:
        if c.state == "left":
            # after a fatal line scamper finishes the source: cycle-stop may
            # come, and the client is owed nothing
            c.cycle_stopped = True
            return
        if not c.done_acked:
            self.fail(ProtocolBroken, f"{c}: cycle-stop before done was acknowledged")
        owed = c.owed()
        if owed:
            self.fail(ResultLost, f"{c}: cycle-stop while owing results for "
                      + ", ".join(f"id-{t.tid} ({t.line!r})" for t in owed))
        c.cycle_stopped = True
        # halts sent after done may have crossed the cycle-stop: the daemon
        # discards what it reads while flushing
        c.replies = deque(p for p in c.replies if p.kind != "halt")

    # -- the end of an example -----------------------------------------------------

    def teardown(self) -> None:
        try:
            if self.violation is None:
                self.finish()
        except Violation as v:
            self.violation = v
        except OSError as e:
            self.violation = ProtocolBroken(f"at the end: {e!r}")
        finally:
            for c in self.clients:
                if c.sock is not None and c.reading:
                    c.sock.close()
                    c.reading = False
        if self.stage.exited():
            # a crash explains whatever else went wrong
            rc = self.stage.proc.returncode if self.stage.proc is not None else None
            raise DaemonDied(f"scamperd died (exit status {rc}), first noticed as: "
                             f"{self.violation}\nits stderr ends:\n{self.stage.stderr_tail()}")
        if self.violation is not None:
            # what the daemon logged about its own failures is the best clue
            logged = self.stage.new_stderr()
            if logged:
                self.violation.args = (f"{self.violation}\nscamperd logged:\n{logged[-1500:]}",)
            raise self.violation

    def finish(self) -> None:
        self.check_alive()
        for c in self.clients:
            if c.state == "new":
                if c.sock is not None and c.reading:
                    c.sock.close()
                c.reading = False
                c.state = "left"
            elif c.state == "attached":
                c.send("done", Pending("done", "done", time.monotonic()))
                c.state = "done"
        self.settle(time.monotonic() + GRACE, halt=False)
        for c in self.clients:
            if c.state == "done" and not c.eof and not c.cycle_stopped:
                for t in c.owed():
                    if t.halted_at is None:
                        line = f"halt {t.tid}"
                        c.send(line, Pending("halt", line, time.monotonic(), halt_id=t.tid))
        self.settle(time.monotonic() + END_TIMEOUT, halt=True)
        time.sleep(0.02)
        self.check()

    def settle(self, deadline: float, halt: bool) -> None:
        """Read until every client that is still read has reached EOF."""
        while True:
            self.check()
            waiting = [c for c in self.clients if c.reading and not c.eof]
            if not waiting:
                return
            if time.monotonic() > deadline:
                if not halt:
                    return
                self.fail(ResultLost, "no EOF at the end: " + "; ".join(
                    f"{c} owes {[t.tid for t in c.owed()]}, cycle-stop "
                    f"{'seen' if c.cycle_stopped else 'not seen'}, sent {c.log[-4:]}"
                    for c in waiting))
            select.select([c.sock for c in waiting], [], [], 0.05)


def test_stateful_daemon_keeps_every_promise(tmp_path: Path) -> None:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    global STAGE
    t0 = time.monotonic()
    with Stage(tmp_path) as stage:
        STAGE = stage
        try:
            cfg = settings(max_examples=EXAMPLES, stateful_step_count=STEPS_PER_EXAMPLE,
                           deadline=None, database=None, print_blob=True,
                           # one bug at a time: shrinking several at once
                           # against a real daemon runs out of time
                           report_multiple_bugs=False,
                           suppress_health_check=list(HealthCheck))
            runs = 0
            while STEPS < MIN_STEPS and runs < MAX_RUNS:
                run_state_machine_as_test(DaemonMachine, settings=cfg)
                runs += 1
        finally:
            STAGE = None
            print(f"\nstateful: {STEPS} steps in {time.monotonic() - t0:.1f}s, "
                  f"{stage.restarts} daemon restarts")
            for text in stage.obituaries:
                print(f"a daemon died; its stderr ended:\n{text[-1500:]}")
    assert STEPS >= MIN_STEPS, f"only {STEPS} steps ran"
