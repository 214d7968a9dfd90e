"""parse_command: the measurement word dispatch of scamper_sources.c."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

import protocol
from protocol import CommandContext, CommandError, PingCommand, command_word, parse_command
from protocol.commands import GRAMMARS, MEASUREMENTS, register

CTX = CommandContext(pid=0x1234, random_u32=lambda: 0)


@pytest.mark.parametrize(("line", "word"), [
    ("ping 1.2.3.4", "ping"), ("PING 1.2.3.4", "ping"), ("Ping\t1.2.3.4", "ping"),
    ("trace 1.2.3.4", "trace"), ("tracelb 1.2.3.4", "tracelb"), ("TraceLB x", "tracelb"),
    ("owamp x", "owamp"), ("neighbourdisc x", "neighbourdisc"), ("ping ", "ping"),
    ("ping", None), (" ping 1.2.3.4", None), ("pingx 1.2.3.4", None), ("traceroute x", None),
    ("", None), ("done", None), ("attach", None), ("exit", None),
])
def test_command_word_needs_word_then_whitespace(line: str, word: str | None) -> None:
    assert command_word(line) == word


@pytest.mark.parametrize(("line", "reason"), [
    ("ping", "could not determine command type"),
    ("foo 1.2.3.4", "could not determine command type"),
    ("exit", "could not determine command type"),
    ("", "could not determine command type"),
    ("trace -g 0 1.2.3.4", "-g failed: gaplimit must be within 1 - 255"),
    ("TRACELB -q 6 1.2.3.4", "-q failed: attempts must be within 1 - 5"),
    ("TBIT 1.2.3.4", "tbit disabled"),
    ("NEIGHBOURDISC eth0 1.2.3.4", "neighbourdisc disabled"),
    ("dealias -m ally 1.2.3.4", "expected second address"),
    ("sting 1.2.3.4", "sting disabled"),
    ("ping ", "invalid destination address"),
    ("ping -c 1", "expected address to ping"),
    ("ping -c 0 1.2.3.4", "-c failed: attempts must be within 1 - 65535"),
    ("ping 1.2.3.4 ", "invalid destination address"),
])
def test_parse_command_rejects_with_scamper_reason(line: str, reason: str) -> None:
    with pytest.raises(CommandError) as exc:
        parse_command(line, CTX)
    assert str(exc.value) == reason


def test_parse_command_dispatches_ping_case_insensitively() -> None:
    cmd = parse_command("PiNg -c 1 127.0.0.1", CTX)
    assert isinstance(cmd, PingCommand)
    assert cmd.attempts == 1 and cmd.dst == IPv4Address("127.0.0.1")


def test_parse_command_default_context_uses_this_process() -> None:
    cmd = parse_command("ping 127.0.0.1")
    assert isinstance(cmd, PingCommand) and 0 <= cmd.sport <= 0xFFFF


def test_register_plugs_in_a_grammar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GRAMMARS, "ping", GRAMMARS["ping"])
    seen: list[str] = []

    def fake_trace(args: str, ctx: CommandContext) -> PingCommand:
        seen.append(args)
        return PingCommand(dst=IPv4Address("192.0.2.9"))

    monkeypatch.delitem(GRAMMARS, "trace", raising=False)
    register("trace", fake_trace)
    try:
        assert parse_command("trace -q 1 192.0.2.9", CTX).dst == IPv4Address("192.0.2.9")
        assert seen == [" -q 1 192.0.2.9"]
    finally:
        del GRAMMARS["trace"]
    with pytest.raises(ValueError):
        register("traceroute", fake_trace)


def test_measurements_are_scamper_20260420_words() -> None:
    assert set(MEASUREMENTS) == {"trace", "ping", "tracelb", "dealias", "neighbourdisc", "tbit",
                                 "sting", "sniff", "host", "http", "udpprobe", "owamp"}
    assert protocol.MEASUREMENTS is MEASUREMENTS
