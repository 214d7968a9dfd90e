"""A real ``scamperd`` process inside the test bed, and ways to talk to it.

The daemon runs in the vantage point's namespace (``tb.popen``), so its
probes go to the test bed's addresses and nowhere else.  Its unix socket
lives in the file system and is reachable from the test process as is; its
TCP socket listens on 127.0.0.1 *of that namespace*, which the test process
reaches by creating its client socket inside the namespace (:func:`ns_socket`:
a socket keeps the namespace it was created in).

Also here: running Debian's scamper and sc_attach in the namespace, reading
warts files through ``sc_warts2json``, and a line-and-DATA reader for plain
blocking sockets (:class:`LineClient`) built on
:class:`protocol.ClientConnection`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from protocol import CLOSED, NEED_DATA, ClientConnection
from protocol.events import ServerEvent
from scamperd.engine.fakenet import Topology
from tests.scamperd import fakenet_helpers as fn
from tests.scamperd.fakenet_helpers import fakenet_argv
from tests.testbed import Testbed

SCAMPER = "/usr/bin/scamper"
SC_ATTACH = "/usr/bin/sc_attach"
SC_WARTS2JSON = "/usr/bin/sc_warts2json"
CLONE_NEWNET = 0x40000000
# The daemon's TCP control port inside the vp namespace: the namespace is
# ours alone, so a fixed port cannot clash with anything else on the machine.
CTRL_PORT = 31337
START_TIMEOUT = 15.0

Record = dict[str, Any]


def debian_tools_problem() -> str | None:
    for tool in (SCAMPER, SC_ATTACH, SC_WARTS2JSON):
        if not os.access(tool, os.X_OK):
            return f"Debian's {os.path.basename(tool)} is not installed"
    return None


needs_debian = pytest.mark.skipif(debian_tools_problem() is not None,
                                  reason=str(debian_tools_problem()))


# --- the daemon -----------------------------------------------------------------


@dataclass
class Daemon:
    """A running scamperd: its process, sockets and stderr log; in the test
    bed's namespace ``ns``, or (``tb`` None) on a fake network here."""

    tb: Testbed | None
    proc: subprocess.Popen[Any]
    unix: str
    port: int
    log: Path
    ns: str  # the namespace's role in the test bed ("vp")

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def tcp_connect(self, timeout: float = 10.0) -> socket.socket:
        """A TCP connection to the daemon's -P socket (inside its namespace)."""
        if self.tb is None:
            return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        sock = ns_socket(self.tb.ns[self.ns], socket.AF_INET)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", self.port))
        return sock

    def unix_connect(self, timeout: float = 10.0) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(self.unix)
        return sock


def scamperd_argv(*args: str) -> list[str]:
    """The daemon's command line: this interpreter, so the venv's code runs."""
    return [sys.executable, "-m", "scamperd", *args]


@contextlib.contextmanager
def running_daemon(tb: Testbed, tmp: Path, *args: str, ns: str = "vp",
                   port: int = CTRL_PORT) -> Iterator[Daemon]:
    """scamperd -U tmp/scamperd.sock -P 127.0.0.1:port ARGS in namespace ``ns``;
    yields once both sockets accept, stops it (SIGTERM) afterwards and checks
    that it removed its unix socket, as scamper's man page promises."""
    unix = str(tmp / "scamperd.sock")
    log = tmp / "scamperd.stderr"
    with open(log, "wb") as err:
        proc = tb.popen(ns, scamperd_argv("-U", unix, "-P", f"127.0.0.1:{port}", *args),
                        stdout=subprocess.DEVNULL, stderr=err)
    with _serving(Daemon(tb, proc, unix, port, log, ns),
                  lambda: tb.wait_listening(ns, port, timeout=START_TIMEOUT),
                  lambda: tb.stop(proc)) as d:
        yield d


@contextlib.contextmanager
def running_fake_daemon(tmp: Path, *args: str,
                        topology: Topology | None = None) -> Iterator[Daemon]:
    """As :func:`running_daemon`, without root: scamperd on the fake network
    (fakenet_helpers.bed() by default) in a process of its own here, its
    TCP socket on a free port of 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    unix = str(tmp / "scamperd.sock")
    log = tmp / "scamperd.stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            fakenet_argv(tmp, "-U", unix, "-P", f"127.0.0.1:{port}", *args, topology=topology),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)

    def listening() -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    with _serving(Daemon(None, proc, unix, port, log, ""), listening, stop) as d:
        yield d


@contextlib.contextmanager
def _serving(d: Daemon, listening: Callable[[], None], stop: Callable[[], None]
             ) -> Iterator[Daemon]:
    """Wait for a started daemon's sockets, yield it, stop it and check it
    stopped as it should."""
    proc = d.proc
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(d.unix):
            if proc.poll() is not None:
                raise AssertionError(f"scamperd exited {proc.returncode}: {d.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"scamperd made no socket in {START_TIMEOUT}s")
            time.sleep(0.05)
        listening()
        yield d
    finally:
        alive = proc.poll() is None
        stop()
    # Checked after the stop, outside the finally, so a failing test's own
    # error is not masked by these.
    assert alive, f"scamperd died during the test ({proc.returncode}): {d.stderr()}"
    assert not os.path.exists(d.unix), "scamperd left its unix socket behind"
    # The daemon logs its own bugs (a failed task, a result it could not
    # write, an internal error in a session) and goes on: none is expected.
    assert d.stderr() == "", d.stderr()


# --- sockets inside a namespace ---------------------------------------------------


def ns_socket(ns: str, family: int, kind: int = socket.SOCK_STREAM,
              proto: int = 0) -> socket.socket:
    """A socket created inside network namespace ``ns`` (a full name);
    ``proto`` as for :class:`socket.socket` (a packet socket needs one).

    setns(2) changes only the calling thread's namespace, so a throw-away
    thread enters the namespace and creates the socket there; the socket
    keeps that namespace for its whole life, whatever thread uses it.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    made: list[socket.socket] = []
    errors: list[BaseException] = []

    def enter_and_create() -> None:
        try:
            fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {ns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            made.append(socket.socket(family, kind, proto))
        except BaseException as e:  # handed to the caller's thread
            errors.append(e)

    t = threading.Thread(target=enter_and_create)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return made[0]


# --- a blocking client: lines and DATA blocks -----------------------------------------


class LineClient:
    """Reads scamper's replies off a blocking socket as protocol events.

    :class:`protocol.ClientConnection` does the framing (``DATA N[ id-M]``
    by its length, uudecoding); ``raw`` keeps every byte received, for
    tests that compare the byte stream itself.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.conn = ClientConnection()
        self.raw = bytearray()
        self.eof = False

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\n")

    def next(self) -> ServerEvent | None:
        """The next event, or None once the daemon has closed the connection."""
        while True:
            ev = self.conn.next_event()
            if ev is CLOSED:
                return None
            if ev is not NEED_DATA:
                return ev  # type: ignore[return-value]
            data = self.sock.recv(65536)
            self.raw += data
            self.eof = not data
            self.conn.receive_data(data)

    def close(self) -> None:
        self.sock.close()


# --- Debian's tools ------------------------------------------------------------------


def warts2json(path: Path) -> list[Record]:
    """Every record of a warts file as sc_warts2json prints it; its stderr must
    be empty (no complaint about the file)."""
    r = subprocess.run([SC_WARTS2JSON, str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", f"sc_warts2json: rc {r.returncode} {r.stderr}"
    return [json.loads(line) for line in r.stdout.splitlines()]


def results(records: Sequence[Record]) -> list[Record]:
    """The measurement records, without list and cycle records."""
    return [r for r in records if r["type"] not in ("list", "cycle-start", "cycle-stop")]


def run_scamper(tb: Testbed, out: Path, cmdfile: Path, *, pps: int = 1000,
                timeout: float = 120) -> list[Record]:
    """Debian's scamper, one-shot in the vp namespace, on a file of commands."""
    tb.exec("vp", [SCAMPER, "-O", "warts", "-O", "cmdfile", "-p", str(pps), "-o", str(out),
                   "-f", str(cmdfile)], timeout=timeout)
    return warts2json(out)


# --- where a daemon test runs: the fake network, or the namespace test bed ---------


@dataclass(frozen=True)
class Site:
    """Addresses a daemon test sends to, wherever it runs."""

    vp4: str
    dst4: str
    dsts: tuple[str, ...]  # addresses that answer every ping method


# Parameters for a ``where`` fixture: the fake network always (no root), the
# test bed too where namespaces can be built (the proof on real packets).
WHERE = ["fakenet", pytest.param("testbed", marks=pytest.mark.netns)]


@contextlib.contextmanager
def daemon_at(where: str, request: pytest.FixtureRequest, tmp: Path,
              *args: str) -> Iterator[tuple[Daemon, Site]]:
    """scamperd with ``args``, on the fake network or in the test bed."""
    if where == "fakenet":
        r1, r5 = (n.ifaces for n in (fn.bed().nodes["r1"], fn.bed().nodes["r5"]))
        site = Site(fn.VP4, fn.DST4, (fn.DST4, fn.DST6, fn.BIG4, fn.BIG6, *r1["vp"],
                                      *r5["r4a"]))
        with running_fake_daemon(tmp, *args) as d:
            yield d, site
        return
    tb: Testbed = request.getfixturevalue("testbed")
    site = Site(tb.vp4, tb.dst4, (
        tb.dst4, tb.dst6, tb.bh_dst4, tb.bh_dst6, tb.old4, tb.old6,
        tb.nodes["r1"].ifaces["vp"].v4, tb.nodes["r1"].ifaces["vp"].v6,
        tb.nodes["r5"].ifaces["r4"].v4, tb.nodes["r5"].ifaces["r4"].v6))
    with running_daemon(tb, tmp, *args) as d:
        yield d, site
