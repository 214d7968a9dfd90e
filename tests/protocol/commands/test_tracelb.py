"""tracelb's grammar: scamper's tests/unit_cmd_tracelb.c, plus a golden table
made by scamper 20260420's own parser (tests/protocol/data/README.md)."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import parse_command
from protocol.commands.base import CommandContext
from protocol.commands.tracelb import (
    TRACELB_OPTIONS,
    TracelbCommand,
    TracelbFlag,
    TracelbMethod,
    parse_tracelb,
)
from protocol.errors import CommandError
from tests.protocol.grammar_helpers import ntop, refusal

DATA = Path(__file__).parent.parent / "data"
V4 = IPv4Address("192.0.2.1")
V6 = IPv6Address("2001:db8::1")
# The harness that made the golden table stood these in for the do-not-probe list.
DNP = {IPv4Address("192.0.2.66"), IPv6Address("2001:db8::66")}
CTX = CommandContext(pid=0x1234, can_probe=lambda a: a not in DNP)
DEFSPORT = 0x1234 | 0x8000
F = TracelbFlag
M = TracelbMethod


def tracelb(args: str, ctx: CommandContext = CTX) -> TracelbCommand:
    return parse_tracelb(" " + args, ctx)


def reason(args: str) -> str:
    return refusal(tracelb, args)



def describe(args: str) -> str:
    """Render a parse the way the scamper harness printed it."""
    try:
        t = parse_tracelb(args, CTX)
    except CommandError as exc:
        return f"ERR {exc}"
    return (f"OK dst={ntop(t.dst)} type={int(t.method)} flags={int(t.flags)} "
            f"confidence={t.confidence} sport={t.sport} dport={t.dport} firsthop={t.firsthop} "
            f"gaplimit={t.gaplimit} attempts={t.attempts} probec_max={t.probec_max} tos={t.tos} "
            f"userid={t.userid} probe_size={t.probe_size} wt={t.wait_timeout_us} "
            f"wp={t.wait_probe_us} rtr={ntop(t.rtr)}")


# Every case of scamper's tests/unit_cmd_tracelb.c, all accepted, with the
# fields its checker functions test; where it only checks that the command
# parses (notnull), the field the option sets, as the golden table confirms.
UNIT_CMD_TRACELB: list[tuple[str, dict[str, Any]]] = [
    ("192.0.2.1", {}),
    ("-c 95 192.0.2.1", {"confidence": 95}),
    ("-c 99 192.0.2.1", {"confidence": 99}),
    ("-d 22 192.0.2.1", {"dport": 22}),
    ("-f 1 192.0.2.1", {"firsthop": 1}),
    ("-f 254 192.0.2.1", {"firsthop": 254}),
    ("-g 5 192.0.2.1", {"gaplimit": 5}),
    ("-O ptr 192.0.2.1", {"flags": F.PTR}),
    ("-P UDP-dport 192.0.2.1", {"method": M.UDP_DPORT}),
    ("-q 5 192.0.2.1", {"attempts": 5}),
    ("-Q 3050 192.0.2.1", {"probec_max": 3050}),
    ("-r 192.0.2.2 192.0.2.1", {"rtr": IPv4Address("192.0.2.2")}),
    ("-s 3306 192.0.2.1", {"sport": 3306}),
    ("-t 5 192.0.2.1", {"tos": 5}),
    ("-U 2 192.0.2.1", {"userid": 2}),
    ("-w 2 192.0.2.1", {"wait_timeout_us": 2000000}),
    ("-W 100 192.0.2.1", {"wait_probe_us": 1000000}),
]


@pytest.mark.parametrize(("args", "expected"), UNIT_CMD_TRACELB)
def test_tracelb_unit_cmd_tracelb_cases(args: str, expected: dict[str, Any]) -> None:
    result = tracelb(args)
    for name, value in expected.items():
        assert getattr(result, name) == value, name


def golden() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (DATA / "tracelb_scamper_20260420.jsonl").open()]
    return [(row["args"], row["scamper"]) for row in rows]


@pytest.mark.parametrize(("args", "scamper"), golden())
def test_tracelb_matches_scamper_20260420(args: str, scamper: str) -> None:
    assert describe(args) == scamper


def test_tracelb_defaults_are_scamper_defaults() -> None:
    t = tracelb("192.0.2.1")
    assert t == TracelbCommand(dst=V4, sport=DEFSPORT)
    assert (t.method, t.flags, t.confidence, t.dport, t.firsthop, t.gaplimit, t.attempts,
            t.probec_max, t.tos, t.userid, t.wait_timeout_us, t.wait_probe_us, t.probe_size,
            t.rtr) == (M.UDP_DPORT, F(0), 95, 33435, 1, 3, 2, 3000, 0, 0, 5000000, 250000,
                       44, None)


# Each numeric option at both ends of its range and one past each.
@pytest.mark.parametrize(("letter", "field", "name", "lo", "hi"), [
    ("d", "dport", "dport", 1, 65535),
    ("f", "firsthop", "firsthop", 1, 254),
    ("g", "gaplimit", "gaplimit", 1, 5),
    ("q", "attempts", "attempts", 1, 5),
    ("Q", "probec_max", "max-probec", 50, 65535),
    ("s", "sport", "sport", 1, 65535),
    ("t", "tos", "tos", 0, 255),
    ("U", "userid", "userid", 0, 4294967295),
])
def test_tracelb_numeric_range_edges(letter: str, field: str, name: str, lo: int,
                                     hi: int) -> None:
    for value in (lo, hi):
        assert getattr(tracelb(f"-{letter} {value} 192.0.2.1"), field) == value
    for value in (lo - 1, hi + 1):
        assert reason(f"-{letter} {value} 192.0.2.1") == (
            f"-{letter} failed: {name} must be within {lo} - {hi}")


@pytest.mark.parametrize(("args", "confidence"), [
    ("-c 95", 95), ("-c 99", 99), ("-c 095", 95), ("-c 0099", 99), ("-c 94", None),
    ("-c 96", None), ("-c 98", None), ("-c 100", None), ("-c 0", None), ("-c -95", None),
])
def test_tracelb_confidence_95_or_99_in_base_10(args: str, confidence: int | None) -> None:
    if confidence is None:
        assert reason(f"{args} 192.0.2.1") == "-c failed: confidence must be 95 or 99"
    else:
        assert tracelb(f"{args} 192.0.2.1").confidence == confidence


def test_tracelb_other_numbers_take_c_base_0() -> None:
    # NUM parameters are digits only, so base 0 shows as octal; "08" stops
    # converting at the 8 and is 0.
    t = tracelb("-d 010 -t 010 -q 05 192.0.2.1")
    assert (t.dport, t.tos, t.attempts) == (8, 8, 5)
    assert reason("-d 08 192.0.2.1") == "-d failed: dport must be within 1 - 65535"
    assert tracelb("-t 09 192.0.2.1").tos == 0
    # -d and -t are NUM here (STR in trace), so hex does not tokenize.
    assert reason("-d 0x10 192.0.2.1") == "could not parse tracelb command"
    assert reason("-t 0x10 192.0.2.1") == "could not parse tracelb command"


@pytest.mark.parametrize(("args", "us"), [
    ("-W 15", 150000), ("-W 14", None), ("-W 200", 2000000), ("-W 201", None),
    ("-W 25", 250000), ("-W 100", 1000000), ("-W 0.15s", 150000), ("-W 0.14s", None),
    ("-W 150ms", 150000), ("-W 155ms", None), ("-W 2s", 2000000), ("-W 2.01s", None),
    ("-W 15.5", None), ("-W 150000us", 150000), ("-W 0", None), ("-W 1.", None),
])
def test_tracelb_wait_probe_counts_10ms_units(args: str, us: int | None) -> None:
    if us is None:
        with pytest.raises(CommandError, match="^-W failed: "):
            tracelb(f"{args} 192.0.2.1")
    else:
        assert tracelb(f"{args} 192.0.2.1").wait_probe_us == us


@pytest.mark.parametrize(("args", "us"), [
    ("-w 1", 1000000), ("-w 10", 10000000), ("-w 10s", 10000000), ("-w 1000ms", 1000000),
    ("-w 0", None), ("-w 11", None), ("-w 1.5", None), ("-w 999ms", None), ("-w 1.0", 1000000),
])
def test_tracelb_wait_timeout_whole_seconds(args: str, us: int | None) -> None:
    if us is None:
        with pytest.raises(CommandError, match="^-w failed: "):
            tracelb(f"{args} 192.0.2.1")
    else:
        assert tracelb(f"{args} 192.0.2.1").wait_timeout_us == us


@pytest.mark.parametrize(("args", "method", "first_flowid"), [
    ("-P udp-dport -d 22 -s 3306", M.UDP_DPORT, 22),
    ("-P udp-sport -d 22 -s 3306", M.UDP_SPORT, 3306),
    ("-P icmp-echo -d 22 -s 3306", M.ICMP_ECHO, 1),
    ("-P tcp-sport -d 22 -s 3306", M.TCP_SPORT, 3306),
    ("-P Tcp-Ack-Sport -d 22 -s 3306", M.TCP_ACK_SPORT, 3306),
])
def test_tracelb_ports_kept_as_given_for_every_method(args: str, method: TracelbMethod,
                                                      first_flowid: int) -> None:
    t = tracelb(f"{args} 192.0.2.1")
    assert (t.method, t.sport, t.dport, t.first_flowid) == (method, 3306, 22, first_flowid)
    # Without -s and -d: the daemon's default source port and 33435.
    t = tracelb(f"-P {method.name.lower().replace('_', '-')} 192.0.2.1")
    assert (t.sport, t.dport) == (DEFSPORT, 33435)


@pytest.mark.parametrize(("args", "probe_size", "payload_size", "kinds"), [
    ("-P udp-dport 192.0.2.1", 44, 16, "udp"),
    ("-P udp-sport 192.0.2.1", 44, 16, "udp sport"),
    ("-P icmp-echo 192.0.2.1", 44, 16, "icmp"),
    ("-P tcp-sport 192.0.2.1", 40, 0, "tcp sport"),
    ("-P tcp-ack-sport 192.0.2.1", 40, 0, "tcp sport"),
    ("-P udp-dport 2001:db8::1", 60, 12, "udp v6"),
    ("-P udp-sport 2001:db8::1", 60, 12, "udp sport v6"),
    ("-P icmp-echo 2001:db8::1", 60, 12, "icmp v6"),
    # scamper's IPv6 TCP refusal is dead code: these parse (size 60).
    ("-P tcp-sport 2001:db8::1", 60, 0, "tcp sport v6"),
    ("-P tcp-ack-sport 2001:db8::1", 60, 0, "tcp sport v6"),
])
def test_tracelb_probe_size_by_method_and_family(args: str, probe_size: int, payload_size: int,
                                                 kinds: str) -> None:
    t = tracelb(args)
    assert (t.probe_size, t.payload_size) == (probe_size, payload_size)
    words = set(kinds.split())
    assert (t.is_udp, t.is_icmp, t.is_tcp, t.is_vary_sport, t.is_ipv6) == (
        "udp" in words, "icmp" in words, "tcp" in words, "sport" in words, "v6" in words)


@pytest.mark.parametrize(("args", "rtr"), [
    ("-r 192.0.2.2 192.0.2.1", "192.0.2.2"),
    ("-r '192.0.2.2' 192.0.2.1", "192.0.2.2"),
    ("-r fe80::1 2001:db8::1", "fe80::1"),
])
def test_tracelb_router_of_destination_family(args: str, rtr: str) -> None:
    assert ntop(tracelb(args).rtr) == rtr


def test_tracelb_repeats_allowed_only_for_O() -> None:
    assert tracelb("-O ptr -O PTR 192.0.2.1").flags == F.PTR
    assert {spec.letter for spec in TRACELB_OPTIONS if spec.repeat} == {"O"}
    assert reason("-q 1 -q 2 192.0.2.1") == "repeated option -q"
    # Each parameter is validated before its repeat is noticed.
    assert reason("-q 1 -q 9 192.0.2.1") == "-q failed: attempts must be within 1 - 5"


@pytest.mark.parametrize(("args", "why"), [
    ("-O dl 192.0.2.1", "-O failed: unknown option"),
    ("-P udp 192.0.2.1", "-P failed: invalid tracelb method"),
    ("-P udp-paris 192.0.2.1", "-P failed: invalid tracelb method"),
    ("-w 1.5 192.0.2.1", "-w failed: timeout cannot have fractions of second"),
    ("-w 11 192.0.2.1", "-w failed: timeout must be within 1s - 10s"),
    ("-w x 192.0.2.1", "-w failed: malformed timeout"),
    ("-W 155ms 192.0.2.1", "-W failed: inter-probe granularity limited to 10ms"),
    ("-W 14 192.0.2.1", "-W failed: inter-probe delay must be within 0.15s - 2s"),
    ("-W x 192.0.2.1", "-W failed: malformed inter-probe delay"),
    ("-r 2001:db8::2 192.0.2.1", "invalid router address"),
    ("-r 192.0.2.2 2001:db8::1", "invalid router address"),
    ("-r nonsense 192.0.2.1", "invalid router address"),
    # No -S, -m or -y in tracelb, and no flags without a parameter.
    ("-S 192.0.2.2 192.0.2.1", "could not parse tracelb command"),
    ("-m 30 192.0.2.1", "could not parse tracelb command"),
    ("-y 1 192.0.2.1", "could not parse tracelb command"),
    ("-Q 192.0.2.1", "could not parse tracelb command"),
    ("-q 1", "expected address to trace"),
    ("", "invalid destination address"),
    ("192.0.2.1 ", "invalid destination address"),
    ("host.example", "invalid destination address"),
    ("192.0.2.66", "destination in do-not-probe list"),
    # Options first, then the destination, then the router.
    ("-q 9 nonsense", "-q failed: attempts must be within 1 - 5"),
    ("-r nonsense 192.0.2.66", "destination in do-not-probe list"),
    ("-r nonsense -P tcp-sport 2001:db8::1", "invalid router address"),
])
def test_tracelb_rejects_with_scamper_reason(args: str, why: str) -> None:
    assert reason(args) == why


def test_tracelb_parse_command_dispatches() -> None:
    cmd = parse_command("TRACELB -P icmp-echo -q 1 2001:db8::1", CTX)
    assert isinstance(cmd, TracelbCommand)
    assert (cmd.method, cmd.attempts, cmd.dst) == (M.ICMP_ECHO, 1, V6)


def test_tracelb_option_table_is_scamper_20260420s() -> None:
    letters = [spec.letter for spec in TRACELB_OPTIONS]
    assert len(letters) == len(set(letters)) == 14
    assert set(letters) == set("cdfgOPqQrstUwW")


@given(st.text(alphabet=" -cdfgOPqQrstUwW0123456789.:abefx'\"\\ptrudmiks", max_size=40))
def test_tracelb_random_text_only_raises_command_error(args: str) -> None:
    try:
        parse_tracelb(args, CTX)
    except CommandError as exc:
        assert str(exc)
