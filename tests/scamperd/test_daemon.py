"""The daemon end to end: serve() on a unix socket and a loopback TCP port,
spoken to line by line the way nc would, DATA blocks decoded with warts.

No packets are sent: measurements run through a fake ping method that only
waits (registered per test), and the engine runs on the fake network
(tests/scamperd/fakenet_helpers.py), so no root is needed.  The tests that
start scamperd as a process run it on the fake network, and once more on
raw sockets when they can be opened (root): the proof on real packets.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

import warts
from protocol import PingCommand, uuencoded_length
from scamperd import cli, control, methods
from scamperd.__main__ import main
from scamperd.config import Config, parse_args
from scamperd.daemon import DaemonError, Serving, serve
from scamperd.engine.io import RawIO
from warts.types.ping import Ping

from .fakenet_helpers import LAUNCHERS, fake_io, scamperd_cmd, serve_fake
from .trio_client import (
    TIMEOUT,
    Client,
    FakePing,
    ask,
    attach_client,
    collect,
)

NO_TYPE = "could not determine command type"


@pytest.fixture
def fake_ping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(methods.METHODS, PingCommand, dataclasses.replace(
        methods.METHODS[PingCommand], factory=lambda cmd, ctx, host: FakePing(cmd, ctx)))


@pytest.fixture
def no_ping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(methods.METHODS, PingCommand, raising=False)


# --- the daemon and a line-oriented client -------------------------------------


@pytest.fixture
async def daemon(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Serving]:
    cfg = Config(ctrl_unix=str(tmp_path / "ctl.sock"), ctrl_inet=("127.0.0.1", 0),
                 command="trace", monitorname=None)
    serving: Serving = await nursery.start(serve_fake(), cfg)
    yield serving


# --- interactive commands --------------------------------------------------------


async def test_daemon_interactive_get_set_help(daemon: Serving) -> None:
    c = await Client.unix(daemon)
    assert await ask(c, "get version") == "OK version 20260420"
    assert await ask(c, "help") == "ERR XXX: todo"
    assert await ask(c, "get pid") == f"OK pid {os.getpid()}"
    assert await ask(c, "get pps") == "OK pps 20"
    assert await ask(c, "get window") == "OK window 0/0"
    assert await ask(c, "get command") == "OK command trace"
    assert await ask(c, "get monitorname") == "OK null monitorname"
    assert await ask(c, "get nameserver") == "OK null nameserver"
    assert await ask(c, "get") == ("ERR usage: get [command | monitorname | nameserver | pid"
                                    " | pps | version | window]")
    assert await ask(c, "get foo") == "ERR unhandled get command 'foo'"
    assert await ask(c, "set pps 0") == "ERR pps: 0 out of range (1, 50000)"
    assert await ask(c, "set pps x") == "ERR set pps argument is not an integer"
    assert await ask(c, "set pps 100") == "OK pps 100"
    assert await ask(c, "GET PPS") == "OK pps 100"
    assert daemon.server.engine.sched.pps == 100
    assert await ask(c, "set window 5") == "OK window 5"
    assert await ask(c, "get window") == "OK window 0/5"
    assert await ask(c, "set monitorname vp1") == "OK"
    assert await ask(c, "get monitorname") == "OK monitorname vp1"
    assert await ask(c, "set command ping -c 1") == "OK"
    assert await ask(c, "get command") == "OK command ping -c 1"
    assert await ask(c, "set nameserver 10.255.255.53") == "OK"
    assert await ask(c, "get nameserver") == "OK nameserver 10.255.255.53"
    assert await ask(c, "source") == "ERR usage: source [cycle | list]"
    assert await ask(c, "source list") == "OK"
    assert await ask(c, "source list nosuch") == "ERR no source 'nosuch'"
    assert await ask(c, "lss-clear foo") == "ERR lss-clear foo failed"
    assert await ask(c, "lss-clear") == "ERR usage: lss-clear [lss-name]"
    assert await ask(c, "shutdown") == "ERR usage: [cancel | done | flush | now]"
    assert await ask(c, "shutdown cancel") == "OK"
    assert await ask(c, "remote list") == "OK"
    await c.send("exit")
    assert await c.eof()


async def test_daemon_bad_lines_get_err_and_daemon_carries_on(daemon: Serving) -> None:
    c = await Client.tcp(daemon)
    assert await ask(c, "foo bar") == "ERR unhandled command 'foo'"
    assert await ask(c, "trace 127.0.0.1") == "ERR unhandled command 'trace'"
    # Empty lines are ignored, \r is stripped, words are case-insensitive.
    await c.send("", "HeLp\r")
    assert await c.line() == "ERR XXX: todo"
    await c.send(b"get\tversion")
    assert await c.line() == "ERR invalid character in line"
    assert await c.eof()
    # The daemon is still there for the next client.
    c2 = await Client.unix(daemon)
    assert await ask(c2, "get version") == "OK version 20260420"
    await c2.close()


async def test_daemon_eof_in_interactive_mode_closes(daemon: Serving) -> None:
    c = await Client.unix(daemon)
    await c.send("get pps")
    assert isinstance(c.stream, trio.SocketStream)
    await c.stream.send_eof()
    assert await c.line() == "OK pps 20"
    assert await c.eof()


# --- attach ------------------------------------------------------------------------


async def test_daemon_attach_warts_list_and_cycle_start(daemon: Serving) -> None:
    c = await Client.unix(daemon)
    assert await ask(c, "attach") == "OK"
    assert await c.line() == "MORE"
    h, lst = await c.record()
    assert isinstance(lst, warts.ListInfo)
    assert lst.name == f"{daemon.unix}:0" and lst.id == 0 and lst.monitor is None
    assert h == f"DATA {uuencoded_length(len(warts.encode([lst])))}"
    h, cs = await c.record()
    assert isinstance(cs, warts.CycleStart)
    assert cs.cycle.id == 1 and cs.cycle.hostname == socket.gethostname()
    assert cs.cycle.list == lst
    # Interactive commands are refused once attached.
    assert await ask(c, "get version") == f"ERR command not accepted: {NO_TYPE}"
    await c.send("done")
    assert await c.line() == "OK"
    _, stop = await c.record()
    assert isinstance(stop, warts.CycleStop) and stop.cycle.id == 1
    assert await c.eof()


async def test_daemon_attach_params_and_source_list(daemon: Serving) -> None:
    c = await Client.tcp(daemon)
    await c.send('attach list_id 7 cycle_id 9 priority 3 descr "my list" monitor vp9 name L1')
    assert await c.line() == "OK"
    assert await c.line() == "MORE"
    _, lst = await c.record()
    assert (lst.id, lst.name, lst.descr, lst.monitor) == (7, "L1", "my list", "vp9")
    _, cs = await c.record()
    assert cs.cycle.id == 9
    other = await Client.unix(daemon)
    assert await ask(other, "source list L1") == (
        f"INFO name 'L1' descr 'my list' list_id 7 cycle_id 9 priority 3 outfile "
        f"'127.0.0.1:{c.port}' type 'control'")
    assert await other.line() == "OK"
    await c.close()
    with trio.fail_after(TIMEOUT):
        while daemon.server.sources.sources:
            await trio.sleep(0.01)
    assert await ask(other, "source list") == "OK"


async def test_daemon_attach_errors(daemon: Serving) -> None:
    c = await Client.unix(daemon)
    assert await ask(c, "attach priority 0") == "ERR invalid priority"
    assert await ask(c, "attach format xml") == "ERR format must be warts or json"
    assert await ask(c, "attach foo 1") == "ERR command attach param 'foo' failed"
    assert await ask(c, "attach list_id 4294967296") == "ERR invalid list_id"
    assert await ask(c, "get version") == "OK version 20260420"


async def test_daemon_attach_json_cycle_start_only(daemon: Serving, fake_ping: None) -> None:
    c = await Client.tcp(daemon)
    assert await ask(c, "attach format json") == "OK"
    assert await c.line() == "MORE"
    h, obj = await c.json()
    assert obj["type"] == "cycle-start" and obj["id"] == 1
    assert obj["list_name"] == f"127.0.0.1:{c.port}"
    assert await ask(c, "ping -c 1 -U 42 127.0.0.1") == "OK id-1"
    assert await c.line() == "MORE"
    h, res = await c.json()
    assert h.endswith(" id-1") and res["type"] == "ping" and res["userid"] == 42
    await c.send("done")
    assert await c.line() == "OK"
    _, stop = await c.json()
    assert stop["type"] == "cycle-stop"
    assert await c.eof()


# --- measurements ----------------------------------------------------------------


async def test_daemon_command_errors(daemon: Serving, no_ping: None) -> None:
    c = await Client.unix(daemon)
    await c.send("attach")
    for _ in range(4):
        await c.line() if _ < 2 else await c.record()
    assert await ask(c, "bogus 1") == f"ERR command not accepted: {NO_TYPE}"
    assert await ask(c, "tbit 127.0.0.1") == "ERR command not accepted: tbit disabled"
    # a malformed dealias gets its grammar's reason
    assert await ask(c, "dealias -m ally 127.0.0.1") == (
        "ERR command not accepted: expected second address")
    # The grammar runs before the method lookup, so its reasons come first.
    assert await ask(c, "tracelb -q 9 127.0.0.1") == (
        "ERR command not accepted: -q failed: attempts must be within 1 - 5")
    # ping parses, but no ping method is registered in this test.
    assert await ask(c, "ping 127.0.0.1") == "ERR command not accepted: ping disabled"
    assert (await ask(c, "ping -c 0 127.0.0.1")).startswith("ERR command not accepted: ")
    assert await ask(c, "halt 5") == "ERR no task id-5"
    assert await ask(c, "halt x") == "ERR usage: halt [id]"
    assert await ask(c, "halt 0") == "ERR halt number invalid"
    assert await ask(c, "halt 4294967296") == "ERR halt number invalid"
    assert await ask(c, "exit") == f"ERR command not accepted: {NO_TYPE}"


async def test_daemon_result_goes_to_client_as_data_with_id(daemon: Serving,
                                                            fake_ping: None) -> None:
    c = await Client.unix(daemon)
    lst = await attach_client(c)
    assert await ask(c, "ping -c 1 -U 7 127.0.0.1") == "OK id-1"
    assert await c.line() == "MORE"
    h, rec = await c.record()
    assert h.endswith(" id-1")
    assert isinstance(rec, Ping) and rec.userid == 7 and rec.list == lst
    assert await ask(c, "ping -c 1 -U 8 127.0.0.1") == "OK id-2"
    assert await c.line() == "MORE"
    h, rec = await c.record()
    assert h.endswith(" id-2") and rec.userid == 8


async def test_daemon_done_waits_for_running_tasks(daemon: Serving, fake_ping: None) -> None:
    c = await Client.tcp(daemon)
    await attach_client(c)
    await c.send("ping -c 5 -U 1 127.0.0.1", "ping -c 2 -U 2 127.0.0.1", "done")
    # MORE comes only if the engine took both commands before reading done.
    lines, got = await collect(c, 3)
    assert [x for x in lines if x != "MORE"] == ["OK id-1", "OK id-2", "OK"]
    assert [(h.split()[-1], r.userid) for h, r in got[:2]] == [("id-2", 2), ("id-1", 1)]
    assert isinstance(got[2][1], warts.CycleStop) and got[2][0].startswith("DATA 28")
    assert await c.eof()
    # The decoded stream is a valid warts file: list, cycle start, 2 pings, stop.
    kinds = [type(r).__name__ for r in warts.decode(bytes(c.warts))]
    assert kinds == ["ListInfo", "CycleStart", "Ping", "Ping", "CycleStop"]


async def test_daemon_halt_running_task_reports_partial_result(daemon: Serving,
                                                               fake_ping: None) -> None:
    c = await Client.unix(daemon)
    await attach_client(c)
    assert await ask(c, "ping -c 1000 127.0.0.1") == "OK id-1"
    assert await c.line() == "MORE"
    assert await ask(c, "halt 1") == "OK halted 1"
    h, rec = await c.record()
    assert h.endswith(" id-1") and rec.stop_reason == 3
    assert await ask(c, "halt 1") == "ERR no task id-1"


async def test_daemon_eof_abandons_tasks(daemon: Serving, fake_ping: None) -> None:
    c = await Client.tcp(daemon)
    await attach_client(c)
    assert await ask(c, "ping -c 1000 127.0.0.1") == "OK id-1"
    assert await c.line() == "MORE"
    assert daemon.server.engine.sched.active == 1
    assert isinstance(c.stream, trio.SocketStream)
    await c.stream.send_eof()
    assert await c.eof()
    assert daemon.server.engine.sched.active == 0
    assert not daemon.server.sources.sources and not daemon.server.sessions


async def test_daemon_nodataid_writes_bare_data_headers(nursery: trio.Nursery, tmp_path: Path,
                                                         fake_ping: None) -> None:
    cfg = Config(ctrl_unix=str(tmp_path / "s"), flags=frozenset({"nodataid"}))
    serving: Serving = await nursery.start(serve_fake(), cfg)
    c = await Client.unix(serving)
    await attach_client(c)
    assert await ask(c, "ping -c 1 127.0.0.1") == "OK id-1"
    assert await c.line() == "MORE"
    h, rec = await c.record()
    assert re.fullmatch(r"DATA \d+", h) and isinstance(rec, Ping)


async def test_daemon_twenty_clients_get_their_own_records(daemon: Serving,
                                                           fake_ping: None) -> None:
    results: dict[int, tuple[str, list[Any]]] = {}

    async def one(k: int) -> None:
        c = await (Client.unix(daemon) if k % 2 else Client.tcp(daemon))
        lst = await attach_client(c, f"attach name client{k} priority {1 + k % 3}")
        assert lst.name == f"client{k}"
        await c.send(f"ping -c 2 -U {k} 127.0.0.1", f"ping -c 1 -U {100 + k} 127.0.0.1")
        # The two lines may arrive in one read or two, so MORE may come
        # after each OK or once after both; the DATA blocks come last.
        lines, blocks = await collect(c, 2)
        recs = [r for _, r in blocks]
        assert [x for x in lines if x != "MORE"] == ["OK id-1", "OK id-2"]
        assert lines[-1] == "MORE"
        await c.send("done")
        assert await c.line() == "OK"
        _, stop = await c.record()
        assert isinstance(stop, warts.CycleStop)
        assert await c.eof()
        results[k] = (lst.name, recs)

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as n:
            for k in range(20):
                n.start_soon(one, k)
    assert len(results) == 20
    for k, (name, recs) in results.items():
        assert sorted(r.userid for r in recs) == [k, 100 + k]
        assert all(r.list.name == name == f"client{k}" for r in recs)


@pytest.mark.parametrize("hard", [False, True])
async def test_daemon_backpressure_keeps_every_result(daemon: Serving, fake_ping: None,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      hard: bool) -> None:
    """A client that writes before it reads: its commands are all read (it
    does not stall, issue 7 defect 5), but no more work starts for it while
    its unsent output is over the bound; past the hard limit (a client that
    never reads) its input waits.  No result is ever dropped."""
    monkeypatch.setattr(control, "PAUSE_AT", 2000)
    monkeypatch.setattr(control, "RESUME_AT", 1000)
    if hard:
        monkeypatch.setattr(control, "HARD_LIMIT", 2000)
    c = await Client.unix(daemon)
    await attach_client(c)
    # Small socket buffers on both sides, so the daemon's output backs up.
    sess = next(iter(daemon.server.sessions))
    sess.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # type: ignore
    c.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # type: ignore
    n = 300
    # Send everything without reading a byte, then read it all.
    async with trio.open_nursery() as nursery:
        nursery.start_soon(c.send, *[f"ping -c 1 -U {i} 127.0.0.1" for i in range(n)] + ["done"])
        await trio.sleep(1.0)
        src = sess.source
        assert src is not None and src.paused
        if hard:
            assert src.next_id - 1 < n  # the daemon stopped reading commands
        else:
            assert src.next_id - 1 == n and src.done  # every command was read
            assert src.waiting > 0  # ... but not all were started
        seen: list[int] = []
        while True:
            ln = await c.line()
            if ln.startswith("DATA"):
                _, rec = await c.record(ln)
                if isinstance(rec, warts.CycleStop):
                    break
                seen.append(rec.userid)
    assert sorted(seen) == list(range(n))
    assert await c.eof()


async def test_daemon_shutdown_done_exits_and_removes_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "ctl.sock"
    cfg = Config(ctrl_unix=str(path), ctrl_inet=("127.0.0.1", 0))
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            serving: Serving = await nursery.start(serve_fake(), cfg)
            assert path.exists()
            c = await Client.tcp(serving)
            assert await ask(c, "shutdown done") == "OK"
    assert not path.exists()


async def test_daemon_sigterm_stops_and_removes_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "ctl.sock"
    pidfile = tmp_path / "pid"
    cfg = Config(ctrl_unix=str(path), pidfile=str(pidfile))
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_fake(), cfg)
            assert path.exists()
            assert pidfile.read_text() == f"{os.getpid()}\n"
            os.kill(os.getpid(), signal.SIGTERM)
    assert not path.exists()


async def test_daemon_shutdown_flush_finishes_running_tasks_only(tmp_path: Path,
                                                                 fake_ping: None) -> None:
    cfg = Config(ctrl_unix=str(tmp_path / "s"), window=1)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            serving: Serving = await nursery.start(serve_fake(), cfg)
            c = await Client.unix(serving)
            await attach_client(c)
            # One write, so all three are queued before the engine takes one.
            await c.send("\n".join(f"ping -c 10 -U {i} 127.0.0.1" for i in range(3)))
            assert [await c.line() for _ in range(3)] == ["OK id-1", "OK id-2", "OK id-3"]
            other = await Client.unix(serving)
            assert await ask(other, "get window") == "OK window 1/1"
            assert await ask(other, "shutdown flush") == "OK"
            # The running task still reports; the queued two are dropped.
            lines, recs = await collect(c, 1)
            assert recs[0][1].userid == 0
    assert serving.server.stop.is_set()


async def test_daemon_shutdown_now_exits_at_once(tmp_path: Path, fake_ping: None) -> None:
    cfg = Config(ctrl_unix=str(tmp_path / "s"))
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            serving: Serving = await nursery.start(serve_fake(), cfg)
            c = await Client.unix(serving)
            await attach_client(c)
            assert await ask(c, "ping -c 1000 127.0.0.1") == "OK id-1"
            other = await Client.unix(serving)
            assert await ask(other, "shutdown now") == "OK"
    assert serving.server.engine.sched.active == 0


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_daemon_main_daemonises_writes_pidfile_and_stops_on_sigterm(tmp_path: Path,
                                                                    launcher: str) -> None:
    sock = tmp_path / "ctl.sock"
    pidfile = tmp_path / "pid"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = subprocess.run([*scamperd_cmd(launcher, tmp_path), "-D", "-e", str(pidfile),
                         "-U", str(sock), "-P", f"127.0.0.1:{port}"], timeout=TIMEOUT).returncode
    assert rc == 0
    deadline = time.monotonic() + TIMEOUT
    while not (pidfile.exists() and sock.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as c:
            c.sendall(b"get pid\nget version\n")
            got = b""
            while got.count(b"\n") < 2:
                got += c.recv(4096)
        assert got == f"OK pid {pid}\nOK version 20260420\n".encode()
    finally:
        os.kill(pid, signal.SIGTERM)
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sock.exists()


def test_daemon_main_reports_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "scamperd", "-P", f"127.0.0.1:{port}"],
                           timeout=TIMEOUT, capture_output=True, text=True)
    assert p.returncode == 255
    assert p.stderr.startswith(f"scamperd: could not bind to 127.0.0.1:{port}")


# --- one-shot runs (-i / -I / -f) -------------------------------------------------


def test_daemon_oneshot_cmdlist_writes_warts_file(tmp_path: Path, fake_ping: None) -> None:
    out = tmp_path / "out.warts"
    cfg = parse_args(["-o", str(out), "-l", "L", "-L", "3", "-C", "4",
                      "-I", "ping -c 1 -U 1 127.0.0.1", "-I", "ping -c 2 -U 2 127.0.0.1"])
    assert cli.run(cfg, make_io=fake_io()) == 0
    recs = warts.decode(out.read_bytes())
    assert [type(r).__name__ for r in recs] == ["ListInfo", "CycleStart", "Ping", "Ping",
                                                "CycleStop"]
    assert (recs[0].id, recs[0].name, recs[0].descr) == (3, "L", "default")
    assert recs[1].cycle.id == 4
    assert [r.userid for r in recs[2:4]] == [1, 2]


def test_daemon_oneshot_file_json(tmp_path: Path, fake_ping: None) -> None:
    addrs = tmp_path / "addrs"
    addrs.write_text("# comment\n127.0.0.1\n\n127.0.0.2\n")
    out = tmp_path / "out.json"
    assert cli.run(parse_args(["-c", "ping -c 1", "-o", str(out), str(addrs)]),
                   make_io=fake_io()) == 0
    objs = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert [o["type"] for o in objs] == ["cycle-start", "ping", "ping", "cycle-stop"]
    assert sorted(o["dst"] for o in objs[1:3]) == ["127.0.0.1", "127.0.0.2"]


def test_daemon_oneshot_refuses_command_without_method(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    cfg = parse_args(["-c", "tbit", "-o", str(tmp_path / "x.warts"), "-i", "127.0.0.1"])
    assert cli.run(cfg) == 255
    assert capsys.readouterr().err == (
        "scamperd: command not accepted: tbit disabled: tbit 127.0.0.1\n")


async def test_daemon_halt_queued_task(tmp_path: Path, fake_ping: None) -> None:
    cfg = Config(ctrl_unix=str(tmp_path / "s"), window=1)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            serving: Serving = await nursery.start(serve_fake(), cfg)
            c = await Client.unix(serving)
            await attach_client(c)
            await c.send("ping -c 1000 -U 1 127.0.0.1\nping -c 1000 -U 2 127.0.0.1")
            assert [await c.line() for _ in range(2)] == ["OK id-1", "OK id-2"]
            assert await ask(c, "halt 2") == "OK halted 2"
            h, rec = await c.record()
            assert h.endswith(" id-2") and rec.userid == 2 and rec.stop_reason == 3
            # Nothing queued now: halting the running task drains the window.
            assert await ask(c, "halt 1") == "OK halted 1"
            lines, recs = await collect(c, 1)
            assert recs[0][1].userid == 1
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize(("addr", "name"), [
    (("127.0.0.1", 38366), "127.0.0.1:38366"),
    (("::1", 5000, 0, 0), "::1.5000"),
    ("", None),
])
def test_daemon_peer_name_as_scamper_writes_it(addr: Any, name: str | None) -> None:
    assert control.peer_name(addr) == name


async def test_daemon_without_raw_sockets_fails_clearly(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(RawIO, "open_send", refuse)
    path = tmp_path / "s"
    with pytest.raises(DaemonError, match="could not open raw socket: Operation not permitted"):
        await serve(Config(ctrl_unix=str(path)))
    assert not path.exists()


@pytest.mark.parametrize("launcher", LAUNCHERS)
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_daemon_main_signal_exit_status_as_scamper(tmp_path: Path, sig: signal.Signals,
                                                   status: int, launcher: str) -> None:
    # Debian's scamper -U, sent SIGTERM or SIGINT: the shell reports 143 or
    # 130.  Ours stops cleanly first (its unix socket removed), then exits so.
    sock = tmp_path / "ctl.sock"
    proc = subprocess.Popen([*scamperd_cmd(launcher, tmp_path), "-U", str(sock)],
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not sock.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no unix socket"
            time.sleep(0.05)
        # A reply means the accept loop runs, so the signal watcher does too.
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(TIMEOUT)
            c.connect(str(sock))
            c.sendall(b"get pid\n")
            assert c.recv(100) == f"OK pid {proc.pid}\n".encode()
        proc.send_signal(sig)
        assert proc.wait(TIMEOUT) == status
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None and proc.stderr.read() == ""
    assert not sock.exists()


@pytest.mark.parametrize("size", [108, 205])
def test_daemon_main_unix_path_too_long(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str], size: int) -> None:
    # scamper: "scamper_control_add_unix: could not open unix socket: ..."
    # and 255; a sockaddr_un holds 107 bytes and the NUL.  Relative, so the
    # length does not depend on where tmp_path is.
    monkeypatch.chdir(tmp_path)
    path = "x" * size
    assert main(["-U", path]) == 255
    assert capsys.readouterr().err == (
        f"scamperd: could not open unix socket {path}: Invalid argument: "
        f"path is {size} bytes, at most 107 fit\n")
    assert not (tmp_path / path[:100]).exists() and os.listdir(tmp_path) == []


async def test_daemon_unix_path_of_107_bytes_binds(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = "x" * 107
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_fake(), Config(ctrl_unix=path))
            assert os.path.exists(path)
            nursery.cancel_scope.cancel()
    assert not os.path.exists(path)


async def test_daemon_stats_counts_probes_and_replies(daemon: Serving) -> None:
    """``stats`` (scamperd's own): one OK line of counters, before attach as
    after a ping has run on the fake network."""
    c = await Client.unix(daemon)
    line = await ask(c, "stats")
    assert line.startswith("OK stats probes=0 replies=0 pps=0.0 target-pps=20 ")
    assert "kernel-drops=0" in line and "tasks-queued=0 tasks-active=0" in line
    assert await ask(c, "stats now") == "ERR usage: stats"
    c2 = await Client.unix(daemon)
    await c2.send("attach")
    for _ in range(4):
        await c2.line() if _ < 2 else await c2.record()
    assert await ask(c2, "ping -c 3 -i 0.1 198.51.100.10") == "OK id-1"
    assert await c2.line() == "MORE"
    await c2.record()
    fields = dict(kv.split("=") for kv in (await ask(c, "stats")).split()[2:])
    assert fields["probes"] == "3" and fields["replies"] == "3"
    assert float(fields["pps"]) > 0 and fields["slots-skipped"] == "0"
