"""trace's grammar: scamper's tests/unit_cmd_trace.c, plus a golden table made by
scamper 20260420's own parser (tests/protocol/data/README.md)."""

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
from protocol.commands.trace import (
    TRACE_OPTIONS,
    TraceCommand,
    TraceDtreeFlag,
    TraceFlag,
    TraceGapAction,
    TraceMethod,
    parse_trace,
)
from protocol.errors import CommandError
from tests.protocol.grammar_helpers import ntop, refusal

DATA = Path(__file__).parent / "data"
V4 = IPv4Address("192.0.2.1")
V6 = IPv6Address("2001:db8::1")
# The harness that made the golden table stood these in for the do-not-probe list.
DNP = {IPv4Address("192.0.2.66"), IPv6Address("2001:db8::66")}
CTX = CommandContext(pid=0x1234, random_u32=lambda: 0, can_probe=lambda a: a not in DNP)
DEFSPORT = 0x1234 | 0x8000
F = TraceFlag
M = TraceMethod


def trace(args: str, ctx: CommandContext = CTX) -> TraceCommand:
    return parse_trace(" " + args, ctx)


def reason(args: str) -> str:
    return refusal(trace, args)



def describe(args: str) -> str:
    """Render a parse the way the scamper harness printed it (gss in numeric
    order; scamper keeps it sorted in host byte order, which only its binary
    search cares about)."""
    try:
        t = parse_trace(args, CTX)
    except CommandError as exc:
        return f"ERR {exc}"
    if t.is_doubletree:
        dtree = (f"dtree_firsthop={t.firsthop} dtree_flags={int(t.dtree_flags)} "
                 f"lss={'-' if t.lss is None else t.lss} gss="
                 + "".join(f"{ntop(a)}," for a in sorted(t.gss, key=int)))
    else:
        dtree = "dtree=-"
    return (f"OK dst={ntop(t.dst)} type={int(t.method)} flags={int(t.flags)} "
            f"attempts={t.attempts} hoplimit={t.hoplimit} squeries={t.squeries} "
            f"gaplimit={t.gaplimit} gapaction={int(t.gapaction)} firsthop={t.firsthop} "
            f"tos={t.tos} loops={t.loops} sport={t.sport} dport={t.dport} "
            f"confidence={t.confidence} offset={t.offset} userid={t.userid} "
            f"stream={t.stream} hop_count={t.hop_count} probe_size={t.probe_size} "
            f"wt={t.wait_timeout_us} wp={t.wait_probe_us} wph={t.wait_probe_hop_us} "
            f"payload={t.payload.hex()} src={ntop(t.src)} rtr={ntop(t.rtr)} {dtree}")


# The defaults unit_cmd_trace.c checks on most accepted commands.
WAITS = {"wait_timeout_us": 5000000, "wait_probe_us": 0}

# Every case of scamper's tests/unit_cmd_trace.c: accepted commands with the
# fields the C test checks, rejected ones with scamper's reason.
UNIT_CMD_TRACE: list[tuple[str, dict[str, Any] | str]] = [
    ("-c 95 192.0.2.1", {**WAITS, "confidence": 95}),
    ("-c 99 192.0.2.1", {**WAITS, "confidence": 99}),
    ("-c 69 192.0.2.1", "-c failed: confidence must be 95 or 99"),
    ("-d 443 192.0.2.1", {**WAITS, "dport": 443}),
    ("-f 5 192.0.2.1", {**WAITS, "firsthop": 5}),
    ("-f 0 192.0.2.1", "-f failed: firsthop must be within 1 - 255"),
    ("-f 256 192.0.2.1", "-f failed: firsthop must be within 1 - 255"),
    ("-g 4 192.0.2.1", {**WAITS, "gaplimit": 4}),
    ("-g 0 192.0.2.1", "-g failed: gaplimit must be within 1 - 255"),
    ("-g 256 192.0.2.1", "-g failed: gaplimit must be within 1 - 255"),
    ("-G 2 192.0.2.1", {**WAITS, "gapaction": TraceGapAction.LASTDITCH}),
    ("-l 4 192.0.2.1", {**WAITS, "loops": 4}),
    ("-m 69 192.0.2.1", {**WAITS, "hoplimit": 69}),
    ("-M 192.0.2.1", {**WAITS, "flags": F.PMTUD}),
    ("-N 4 -g 6 192.0.2.1", {**WAITS, "squeries": 4, "gaplimit": 6}),
    ("-N 6 -g 4 192.0.2.1", "squeries cannot be greater than gaplimit"),
    ("-o 4 192.0.2.1", "can only do fragment traceroute with IPv6"),
    ("-o 4 2001:db8::1", {**WAITS, "offset": 4}),
    ("-p 0123456789abcdef 192.0.2.1",
     {**WAITS, "payload": bytes.fromhex("0123456789abcdef"), "probe_size": 28 + 8}),
    ("-p 0123 -p 456789abcdef 192.0.2.1", "repeated option -p"),
    ("-q 5 -Q 192.0.2.1", {**WAITS, "attempts": 5, "flags": F.ALLATTEMPTS}),
    ("-q 1 192.0.2.1", {**WAITS, "attempts": 1}),
    ("-r 192.0.2.69 192.0.2.1", {**WAITS, "rtr": IPv4Address("192.0.2.69")}),
    ("-s 40000 192.0.2.1", {**WAITS, "sport": 40000}),
    ("-S 192.0.2.44 192.0.2.1", {**WAITS, "src": IPv4Address("192.0.2.44")}),
    ("-t 45 192.0.2.1", {**WAITS, "tos": 45}),
    ("-U 686 -P tcp -W 0 -m 30 -Q -q 3 -d 6969 -g 30 -w 1 -t 0 -s 0 192.0.2.1",
     {"userid": 686, "method": M.TCP, "wait_probe_us": 0, "hoplimit": 30,
      "flags": F.ALLATTEMPTS, "attempts": 3, "dport": 6969, "gaplimit": 30,
      "wait_timeout_us": 1000000, "tos": 0, "sport": 0, "dst": V4}),
    ("-w 1 -W 69 192.0.2.1", {"wait_timeout_us": 1000000, "wait_probe_us": 690000}),
    ("-W 0 192.0.2.1", {"wait_probe_us": 0}),
    ("-z 192.0.2.5 -z 192.0.2.8 192.0.2.1",
     {"gss": frozenset({IPv4Address("192.0.2.5"), IPv4Address("192.0.2.8")}),
      "flags": F.DOUBLETREE}),
]


@pytest.mark.parametrize(("args", "expected"), UNIT_CMD_TRACE)
def test_trace_unit_cmd_trace_cases(args: str, expected: dict[str, Any] | str) -> None:
    if isinstance(expected, str):
        assert reason(args) == expected
        return
    result = trace(args)
    for name, value in expected.items():
        assert getattr(result, name) == value, name


def golden() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (DATA / "trace_scamper_20260420.jsonl").open()]
    return [(row["args"], row["scamper"]) for row in rows]


@pytest.mark.parametrize(("args", "scamper"), golden())
def test_trace_matches_scamper_20260420(args: str, scamper: str) -> None:
    assert describe(args) == scamper


def test_trace_defaults_are_scamper_defaults() -> None:
    t = trace("192.0.2.1")
    assert t == TraceCommand(dst=V4, sport=DEFSPORT)
    assert (t.method, t.attempts, t.firsthop, t.gaplimit, t.gapaction, t.loops, t.squeries,
            t.dport, t.wait_timeout_us, t.wait_probe_us, t.probe_size) == (
        M.UDP_PARIS, 2, 1, 5, TraceGapAction.STOP, 1, 1, 33435, 5000000, 0, 44)
    assert t.flags == TraceFlag(0) and t.max_ttl == 255 and t.hop_count == 0


@pytest.mark.parametrize(("args", "sport", "dport", "icmp_csum", "flags"), [
    ("-P udp 192.0.2.1", DEFSPORT, 33435, None, F(0)),
    ("-P icmp 192.0.2.1", DEFSPORT, 33435, None, F(0)),
    # icmp-paris carries its constant checksum in dport, by default defsport.
    ("-P icmp-paris 192.0.2.1", DEFSPORT, DEFSPORT, DEFSPORT, F.ICMPCSUMDP),
    ("-P icmp-paris -d 0x2323 192.0.2.1", DEFSPORT, 0x2323, 0x2323, F.ICMPCSUMDP),
    ("-P tcp-ack -s 0 -d 80 192.0.2.1", 0, 80, None, F(0)),
])
def test_trace_ports_by_method(args: str, sport: int, dport: int, icmp_csum: int | None,
                               flags: TraceFlag) -> None:
    t = trace(args)
    assert (t.sport, t.dport, t.icmp_csum, t.flags) == (sport, dport, icmp_csum, flags)


@pytest.mark.parametrize(("args", "probe_size", "header_size", "payload_size"), [
    ("-P udp-paris 192.0.2.1", 44, 28, 16),
    ("-P icmp 192.0.2.1", 44, 28, 16),
    ("-P tcp 192.0.2.1", 40, 40, 0),
    ("-P udp -p 00112233 192.0.2.1", 32, 28, 4),
    ("-P icmp-paris -p 0011 192.0.2.1", 30, 28, 2),
    ("-P udp-paris 2001:db8::1", 60, 48, 12),
    ("-P icmp-paris 2001:db8::1", 60, 48, 12),
    ("-P tcp-ack 2001:db8::1", 60, 60, 0),
    ("-P udp -p 0011223344 2001:db8::1", 53, 48, 5),
    # Fragment traceroute: only the IPv6 header is a header; 8 bytes of
    # fragment header and the 4-byte probe counter lead the payload.
    ("-o 1 2001:db8::1", 52, 40, 12),
    ("-o 1 -p aabb 2001:db8::1", 54, 40, 14),
])
def test_trace_probe_size_by_method_and_family(args: str, probe_size: int, header_size: int,
                                                payload_size: int) -> None:
    t = trace(args)
    assert (t.probe_size, t.header_size, t.payload_size) == (probe_size, header_size,
                                                             payload_size)


@pytest.mark.parametrize(("args", "start_ttl", "max_ttl", "hop_count"), [
    ("192.0.2.1", 1, 255, 0),
    ("-f 4 -m 9 192.0.2.1", 4, 9, 3),
    ("-O back -m 9 -f 2 192.0.2.1", 9, 9, 1),
])
def test_trace_ttl_window(args: str, start_ttl: int, max_ttl: int, hop_count: int) -> None:
    t = trace(args)
    assert (t.start_ttl, t.max_ttl, t.hop_count) == (start_ttl, max_ttl, hop_count)


@pytest.mark.parametrize(("args", "is_icmp", "is_udp", "is_tcp", "is_paris"), [
    ("-P udp 192.0.2.1", False, True, False, False),
    ("-P UDP-PARIS 192.0.2.1", False, True, False, True),
    ("-P Icmp 192.0.2.1", True, False, False, False),
    ("-P icmp-PARIS 192.0.2.1", True, False, False, True),
    ("-P tcp 192.0.2.1", False, False, True, False),
    ("-P TCP-ACK 192.0.2.1", False, False, True, False),
])
def test_trace_method_words_case_insensitive(args: str, is_icmp: bool, is_udp: bool,
                                             is_tcp: bool, is_paris: bool) -> None:
    t = trace(args)
    assert (t.is_icmp, t.is_udp, t.is_tcp, t.is_paris) == (is_icmp, is_udp, is_tcp, is_paris)


@pytest.mark.parametrize(("args", "us"), [
    ("-W 69", 690000), ("-W 69ms", None), ("-W 70ms", 70000), ("-W 0.5", None),
    ("-W 200", 2000000), ("-W 201", None), ("-W 2s", 2000000), ("-W 1.5s", 1500000),
    ("-W 1.", None),
])
def test_trace_wait_probe_counts_10ms_units(args: str, us: int | None) -> None:
    if us is None:
        with pytest.raises(CommandError, match="^-W failed: "):
            trace(f"{args} 192.0.2.1")
    else:
        assert trace(f"{args} 192.0.2.1").wait_probe_us == us


@pytest.mark.parametrize(("args", "us"), [
    ("-w 1", 1000000), ("-w 10s", 10000000), ("-w 1000ms", 1000000), ("-w 1.5", None),
    ("-w 0", None), ("-w 11", None), ("-H 0.25", 250000), ("-H 1us", 1), ("-H 2.000001", None),
])
def test_trace_wait_timeout_whole_seconds(args: str, us: int | None) -> None:
    field = "wait_timeout_us" if args.startswith("-w") else "wait_probe_hop_us"
    if us is None:
        with pytest.raises(CommandError, match=f"^{args[:2]} failed: "):
            trace(f"{args} 192.0.2.1")
    else:
        assert getattr(trace(f"{args} 192.0.2.1"), field) == us


def test_trace_repeats_allowed_only_for_O_and_z() -> None:
    t = trace("-O dl -O const-payload -O DL -z 192.0.2.7 -z 192.0.2.9 192.0.2.1")
    assert t.flags == F.DL | F.CONSTPAYLOAD | F.DOUBLETREE
    assert t.gss == {IPv4Address("192.0.2.7"), IPv4Address("192.0.2.9")}
    repeatable = {spec.letter for spec in TRACE_OPTIONS if spec.repeat}
    assert repeatable == {"O", "z"}
    assert reason("-MM 192.0.2.1") == "repeated option -M"
    assert reason("-s 1 -s 2 192.0.2.1") == "repeated option -s"


@pytest.mark.parametrize(("args", "gss", "lss", "dtree_flags"), [
    ("-z 2.0.0.1 -z 1.0.0.2 -z 1.0.0.1 192.0.2.1",
     {"1.0.0.1", "1.0.0.2", "2.0.0.1"}, None, 0),
    ("-Z ark -O dtree-noback 192.0.2.1", set(), "ark", TraceDtreeFlag.NOBACK),
    ("-Z '' 192.0.2.1", set(), "", 0),
    ("-z ::1 -Z 'x y' 2001:db8::1", {"::1"}, "x y", 0),
])
def test_trace_doubletree(args: str, gss: set[str], lss: str | None, dtree_flags: int) -> None:
    t = trace(args)
    assert t.is_doubletree
    assert {ntop(a) for a in t.gss} == gss
    assert (t.lss, t.dtree_flags) == (lss, dtree_flags)


def test_trace_dtree_noback_dropped_without_doubletree() -> None:
    t = trace("-O dtree-noback 192.0.2.1")
    assert not t.is_doubletree and t.dtree_flags == 0 and t.flags == 0


@pytest.mark.parametrize(("args", "why"), [
    ("-z 1.2.3.4 -z 1.2.3.4 192.0.2.1", "cannot store gss entry"),
    ("-z 2001:db8::2 192.0.2.1", "cannot resolve gss"),
    ("-z 1.2.3.4 -z nonsense -z 1.2.3.4 192.0.2.1", "cannot resolve gss"),
    ("-M -z 1.2.3.4 192.0.2.1", "cannot do pmtud without all of path"),
    ("-M -f 2 192.0.2.1", "cannot do pmtud without all of path"),
    ("-M -P tcp 192.0.2.1", "cannot do pmtud with this probe method"),
    ("-O back 192.0.2.1", "backwards probing must be used with a hoplimit"),
    ("-c 95 -Q 192.0.2.1", "cannot set both all-attempts and confidence"),
    ("-f 3 -m 2 192.0.2.1", "firsthop cannot be beyond hoplimit"),
    ("-P tcp -p 00 192.0.2.1", "cannot include a payload with TCP traceroute"),
    ("-P tcp-ack -N 2 192.0.2.1", "cannot send parallel probes with TCP methods"),
    ("-O raw 192.0.2.1", "-O raw only works for IPv4 TCP methods"),
    ("-O raw -P tcp 2001:db8::1", "-O raw only works for IPv4 TCP methods"),
    ("-S 2001:db8::2 192.0.2.1", "invalid source address"),
    ("-r 192.0.2.2 2001:db8::1", "invalid router address"),
    ("-N 0 192.0.2.1", "-N failed: (null) must be within 1 - 255"),
    ("-O rxerr 192.0.2.1", "-O failed: unknown option"),
    ("-P icmp-echo 192.0.2.1", "-P failed: invalid trace method"),
    ("-p abc 192.0.2.1", "-p failed: expected even number of hex characters"),
    ("-p '' 192.0.2.1", "-p failed: payload must be specified in hex"),
    ("-q 21 192.0.2.1", "-q failed: attempts must be within 1 - 20"),
    ("-y 21 192.0.2.1", "-y failed: stream must be within 0 - 20"),
    ("-d 0 192.0.2.1", "-d failed: dport must be within 1 - 65535"),
    ("-s 0x10 192.0.2.1", "could not parse trace command"),
    ("-L 1 192.0.2.1", "could not parse trace command"),
    ("-q 1", "expected address to trace"),
    ("-q 1 192.0.2.1 ", "invalid destination address"),
    ("-q 1 192.0.2.66", "destination in do-not-probe list"),
    # Every parameter is checked before any cross-option rule.
    ("-M -P tcp -q 0 192.0.2.1", "-q failed: attempts must be within 1 - 20"),
])
def test_trace_rejects_with_scamper_reason(args: str, why: str) -> None:
    assert reason(args) == why


def test_trace_back_with_doubletree_accepted_like_scamper() -> None:
    # scamper tests the DOUBLETREE flag before it sets it, so this passes.
    t = trace("-O back -m 5 -z 192.0.2.9 192.0.2.1")
    assert t.flags == F.BACK | F.DOUBLETREE


def test_trace_str_numbers_take_c_bases() -> None:
    t = trace("-d 0x10 -t 010 192.0.2.1")
    assert (t.dport, t.tos) == (16, 8)


def test_trace_payload_length_is_uint16_like_scamper() -> None:
    t = trace(f"-p {'00' * 65540} 192.0.2.1")
    assert len(t.payload) == 65540 & 0xFFFF
    assert t.probe_size == (28 + (65540 & 0xFFFF)) & 0xFFFF


def test_trace_do_not_probe_checked_after_cross_option_rules() -> None:
    assert reason("-f 3 -m 2 192.0.2.66") == "firsthop cannot be beyond hoplimit"
    assert reason("-P tcp -p 00 192.0.2.66") == "destination in do-not-probe list"


def test_trace_parse_command_dispatches() -> None:
    cmd = parse_command("TRACE -P icmp-paris -q 1 2001:db8::1", CTX)
    assert isinstance(cmd, TraceCommand)
    assert (cmd.method, cmd.attempts, cmd.dst) == (M.ICMP_ECHO_PARIS, 1, V6)


def test_trace_option_table_is_scamper_20260420s() -> None:
    letters = [spec.letter for spec in TRACE_OPTIONS]
    assert len(letters) == len(set(letters)) == 27
    assert set(letters) == set("cdfgGHlmMNoOpPqQrsStTUwWyzZ")


@given(st.text(alphabet=" -cdfgGHlmMNoOpPqQrsStTUwWyzZ0123456789.:abefx'\"\\", max_size=40))
def test_trace_random_text_only_raises_command_error(args: str) -> None:
    try:
        parse_trace(args, CTX)
    except CommandError as exc:
        assert str(exc)
