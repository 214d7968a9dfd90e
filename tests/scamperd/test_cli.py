"""The one-shot command line: its progress line, and how an interrupted run ends."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import warts
from scamperd.cli import Progress, run
from scamperd.config import parse_args
from tests.scamperd.daemon_helpers import SC_WARTS2JSON
from tests.scamperd.fakenet_helpers import LAUNCHERS, scamperd_cmd


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_progress_line_on_terminal_only() -> None:
    now = [0.0]
    tty = _Tty()
    p = Progress(4, tty, clock=lambda: now[0])
    p.tick(3)
    now[0] = 0.2
    p.tick(2)  # within the redraw interval: not drawn
    now[0] = 1.0
    p.tick(1)
    now[0] = 1.1
    p.tick(0)  # the last one is always drawn
    p.close()
    assert tty.getvalue() == (
        "\rscamperd: 1/4 done (25%), 3 running, 0s"
        "\rscamperd: 3/4 done (75%), 1 running, 1s"
        "\rscamperd: 4/4 done (100%), 0 running, 1s\n")
    plain = io.StringIO()
    q = Progress(4, plain)
    for _ in range(4):
        q.tick(0)
    q.close()
    assert plain.getvalue() == ""


# --- an interrupted one-shot run ------------------------------------------------


def _records_so_far(path: Path, outtype: str) -> list[str]:
    """The record types in the outfile, or [] while a record is half written."""
    try:
        data = path.read_bytes()
        if outtype == "json":
            return [json.loads(ln)["type"] for ln in data.decode().splitlines()]
        return [type(r).__name__ for r in warts.decode(data)]
    except Exception:
        return []


@pytest.mark.parametrize("launcher", LAUNCHERS)
@pytest.mark.parametrize("outtype", ["warts", "json"])
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_cli_interrupted_run_exits_like_a_signal_with_readable_output(
        tmp_path: Path, outtype: str, sig: signal.Signals, status: int, launcher: str) -> None:
    # Debian's scamper, killed mid-run: the shell reports 143 (SIGTERM) or
    # 130 (SIGINT), and its warts file holds list, cycle-start and the
    # finished results, no cycle-stop; sc_warts2json reads it.
    out = tmp_path / f"out.{outtype}"
    proc = subprocess.Popen(
        [*scamperd_cmd(launcher, tmp_path), "-O", outtype, "-o", str(out),
         "-I", "ping -c 1 127.0.0.1", "-I", "ping -c 100 -i 1 127.0.0.1"],
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        ping = "ping" if outtype == "json" else "Ping"
        while ping not in _records_so_far(out, outtype):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no ping result in 10s"
            time.sleep(0.05)
        proc.send_signal(sig)
        assert proc.wait(10) == status
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None and proc.stderr.read() == ""
    if outtype == "json":
        assert _records_so_far(out, outtype) == ["cycle-start", "ping"]
    else:
        assert _records_so_far(out, outtype) == ["ListInfo", "CycleStart", "Ping"]
        if os.access(SC_WARTS2JSON, os.X_OK):
            r = subprocess.run([SC_WARTS2JSON, str(out)], capture_output=True, text=True,
                               timeout=30)
            assert r.returncode == 0 and r.stderr == ""
            assert [json.loads(ln)["type"] for ln in r.stdout.splitlines()] == [
                "cycle-start", "ping"]


# --- addresses: scamper 20260420's inet_pton, on every path ----------------------


@pytest.mark.parametrize(("argv", "line", "reason"), [
    # scamper before 20250106 resolved with getaddrinfo(AI_NUMERICHOST), so
    # Debian's 20211212 takes these inet_aton forms (127.1 -> 127.0.0.1,
    # 010.1 -> 8.0.0.1); 20260420's sockaddr_compose_str uses inet_pton and
    # refuses them, and the one-shot -i path goes through the same grammar.
    (["-c", "ping -c 1", "-i", "127.1"], "ping -c 1 127.1", "invalid destination address"),
    (["-c", "ping", "-i", "2130706433"], "ping 2130706433", "invalid destination address"),
    (["-i", "0x7f.1"], "trace 0x7f.1", "invalid destination address"),
    (["-I", "trace -S 127.1 127.0.0.1"], "trace -S 127.1 127.0.0.1",
     "invalid source address"),
    (["-I", "ping -r 010.1 127.0.0.1"], "ping -r 010.1 127.0.0.1", "invalid router address"),
])
def test_cli_inet_aton_forms_refused_before_any_probe(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], line: str,
        reason: str) -> None:
    out = tmp_path / "out.warts"
    assert run(parse_args(["-o", str(out), *argv])) == 255
    assert capsys.readouterr().err == f"scamperd: command not accepted: {reason}: {line}\n"
    assert not out.exists()
