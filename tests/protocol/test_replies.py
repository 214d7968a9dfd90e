"""Reply texts that depend on daemon state."""

from __future__ import annotations

import pytest

from protocol import ControlConnection, Err, GetKey, Ok, ServerEvent, SetKey, replies


@pytest.mark.parametrize(("event", "wire"), [
    (replies.get_value(GetKey.PPS, 20), b"OK pps 20\n"),
    (replies.get_value(GetKey.COMMAND, None), b"OK null command\n"),
    (replies.get_value(GetKey.MONITORNAME, None), b"OK null monitorname\n"),
    (replies.get_value(GetKey.NAMESERVER, "10.255.255.53"), b"OK nameserver 10.255.255.53\n"),
    (replies.get_value(GetKey.VERSION, replies.SCAMPER_VERSION), b"OK version 20260420\n"),
    (replies.get_value(GetKey.WINDOW, replies.window_value(0, 0)), b"OK window 0/0\n"),
    (replies.set_number(SetKey.PPS, 50, True), b"OK pps 50\n"),
    (replies.set_number(SetKey.PPS, 0, False), b"ERR pps: 0 out of range (1, 50000)\n"),
    (replies.set_number(SetKey.WINDOW, -1, False),
     b"ERR window: -1 out of range (0, 65535)\n"),
    (replies.set_failed(SetKey.COMMAND), b"ERR could not set command\n"),
    (replies.HELP, b"ERR XXX: todo\n"),
    (replies.OK, b"OK\n"),
    (replies.source_info("127.0.0.1:38366", 0, 1, 5, "control", outfile="127.0.0.1:38366"),
     b"INFO name '127.0.0.1:38366' list_id 0 cycle_id 1 priority 5 "
     b"outfile '127.0.0.1:38366' type 'control'\n"),
    (replies.source_info("l", 2, 3, 1, "file", descr="d", filename="/tmp/x"),
     b"INFO name 'l' descr 'd' list_id 2 cycle_id 3 priority 1 type 'file' file '/tmp/x'\n"),
    (replies.no_source("x"), b"ERR no source 'x'\n"),
    (replies.lss_clear("a", True), b"OK lss-clear a\n"),
    (replies.lss_clear("a", False), b"ERR lss-clear a failed\n"),
    (replies.remote_exists("h", 1), b"ERR h:1 already exists\n"),
    (replies.remote_not_found(None, 1), b"ERR (null):1 not found\n"),
    (replies.remote_info("h", 4000, "127.0.0.1:5"), b"INFO h:4000 alias 127.0.0.1:5\n"),
    (replies.NO_REMOTES, b"ERR no remote connections\n"),
])
def test_replies_interactive_texts(event: ServerEvent, wire: bytes) -> None:
    assert ControlConnection().send(event) == wire


@pytest.mark.parametrize(("event", "wire"), [
    (replies.command_not_accepted("could not determine command type"),
     b"ERR command not accepted: could not determine command type\n"),
    (replies.command_not_accepted(), b"ERR command not accepted\n"),
    (replies.halted(3), b"OK halted 3\n"),
    (replies.no_task(9), b"ERR no task id-9\n"),
])
def test_replies_attached_texts(event: ServerEvent, wire: bytes) -> None:
    assert ControlConnection(attached=True).send(event) == wire


@pytest.mark.parametrize(("pps", "window", "ok"), [
    (20, 0, True), (0, 10, True), (0, 0, False), (50000, 0, True), (50001, 0, False),
    (20, 65535, True), (20, 65536, False), (-1, 5, False),
])
def test_replies_ppswindow_rule(pps: int, window: int, ok: bool) -> None:
    assert replies.ppswindow_valid(pps, window) is ok


def test_replies_are_plain_events() -> None:
    assert replies.get_value(GetKey.PID, 4967) == Ok("pid 4967")
    assert replies.INTERNAL_ERROR == Err("internal error")
