"""ping's grammar: scamper's tests/unit_cmd_ping.c, plus a golden table made by
scamper 20260420's own parser (tests/protocol/data/README.md)."""

from __future__ import annotations

import json
import socket
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.commands.base import CommandContext
from protocol.commands.ping import PING_OPTIONS, PingCommand, PingFlag, PingMethod, parse_ping
from protocol.errors import CommandError

DATA = Path(__file__).parent.parent / "data"
CTX = CommandContext(pid=0x1234, random_u32=lambda: 0)
F = PingFlag
M = PingMethod


def ping(args: str, ctx: CommandContext = CTX) -> PingCommand | None:
    try:
        return parse_ping(args, ctx)
    except CommandError:
        return None


def ntop(addr: IPv4Address | IPv6Address | None) -> str:
    if addr is None:
        return "-"
    family = socket.AF_INET if addr.version == 4 else socket.AF_INET6
    return socket.inet_ntop(family, addr.packed)


def describe(args: str) -> str:
    """Render a parse the way the scamper harness printed it."""
    try:
        p = parse_ping(args, CTX)
    except CommandError as exc:
        return f"ERR {exc}"
    return (f"OK dst={ntop(p.dst)} method={int(p.method)} attempts={p.attempts} "
            f"wp={p.wait_probe_us} wt={p.wait_timeout_us} size={p.size} ttl={p.ttl} "
            f"tos={p.tos} sport={p.sport} dport={p.dport} icmpsum={p.icmpsum} "
            f"stop={p.stop_count} pmtu={p.pmtu} userid={p.userid} flags={int(p.flags)} "
            f"stream={p.stream} mss={p.tcpmss} seq={p.tcpseq} ack={p.tcpack} "
            f"data={p.data.hex()} src={ntop(p.src)} rtr={ntop(p.rtr)} "
            f"tsps=" + "".join(f"{ntop(a)}," for a in p.tsps))


V4 = IPv4Address("192.0.2.1")
V6 = IPv6Address("2001:db8::1")

# Every case of scamper's tests/unit_cmd_ping.c: None means rejected, else the
# fields the C test checks.
UNIT_CMD_PING: list[tuple[str, dict[str, Any] | None]] = [
    ("-A -1 -P tcp-ack 192.0.2.1", None),
    ("-A 2323 -P tcp-ack 192.0.2.1", {"tcpack": 2323, "size": 40}),
    ("-A 2323 -P tcp-syn 192.0.2.1", {"tcpseq": 2323, "size": 40}),
    ("-B 0123456789abcdef -s 36 192.0.2.1",
     {"data": bytes.fromhex("0123456789abcdef"), "method": M.ICMP_ECHO, "size": 20 + 8 + 8}),
    ("-B 0123 -B 456789abcdef 192.0.2.1", None),
    ("-d 0 -P icmp-echo -i 1 -z 0 -c 5 -F 0 -O dl 2001:db8::1",
     {"dport": 0, "method": M.ICMP_ECHO, "wait_probe_us": 1000000, "tos": 0, "attempts": 5,
      "flags": F.DL, "dst": V6}),
    ("-i 3 192.0.2.1", {"wait_probe_us": 3000000, "wait_timeout_us": 3000000}),
    ("-i 3s 192.0.2.1", {"wait_probe_us": 3000000, "wait_timeout_us": 3000000}),
    ("-i 3.69 192.0.2.1", {"wait_probe_us": 3690000, "wait_timeout_us": 3690000}),
    ("-i 3.69s 192.0.2.1", {"wait_probe_us": 3690000, "wait_timeout_us": 3690000}),
    ("-i 0.5 192.0.2.1", {"wait_probe_us": 500000, "wait_timeout_us": 1000000}),
    ("-i 0.5s 192.0.2.1", {"wait_probe_us": 500000, "wait_timeout_us": 1000000}),
    ("-i 0.25 -W 0.5 192.0.2.1", {"wait_probe_us": 250000, "wait_timeout_us": 500000}),
    ("-i 0.25s -W 0.5 192.0.2.1", {"wait_probe_us": 250000, "wait_timeout_us": 500000}),
    ("-i 0.25 -W 0.5s 192.0.2.1", {"wait_probe_us": 250000, "wait_timeout_us": 500000}),
    ("-i 0.25s -W 0.5s 192.0.2.1", {"wait_probe_us": 250000, "wait_timeout_us": 500000}),
    ("-i 0.5s -W 0.25s 192.0.2.1", {"wait_probe_us": 500000, "wait_timeout_us": 250000}),
    ("-i 21 192.0.2.1", None),
    ("-i 21s 192.0.2.1", None),
    ("-O dl -O tbt -M 1280 -s 1300 2001:db8::1",
     {"flags": F.TBT | F.DL, "size": 1300, "pmtu": 1280}),
    ("-O sockrx 192.0.2.1", {"flags": F.SOCKRX, "dst": V4}),
    ("-O sockrx -M 1280 -s 1300 2001:db8::1", None),
    ("-O sockrx -O dl 192.0.2.1", {"flags": F.SOCKRX | F.DL, "dst": V4}),
    ("-O raw -P tcp-syn 192.0.2.1", {"method": M.TCP_SYN, "size": 40, "flags": F.RAW}),
    ("-O spoof 192.0.2.1", {"flags": F.SPOOF, "dst": V4}),
    ("-O mss=1460 -P tcp-syn 192.0.2.1", {"tcpmss": 1460, "size": 44}),
    ("-O mss=1460 -P tcp-synack 192.0.2.1", {"tcpmss": 1460, "size": 44}),
    ("-O mss=1460 -P tcp-syn-sport 192.0.2.1", {"tcpmss": 1460, "size": 44}),
    ("-O mss=1460 -P icmp-echo 192.0.2.1", None),
    ("-P icmp-echo 192.0.2.1", {"method": M.ICMP_ECHO, "size": 20 + 8 + 56}),
    ("-P icmp-time 192.0.2.1", {"method": M.ICMP_TIME, "size": 20 + 20 + 44}),
    ("-P tcp-syn 192.0.2.1", {"method": M.TCP_SYN, "size": 20 + 20}),
    ("-P udp 192.0.2.1", {"method": M.UDP, "size": 20 + 8 + 12}),
    ("-P icmp-echo -C 0x2323 192.0.2.1", {"size": 84, "icmpsum": 0x2323}),
    ("-P udp -C 2323 192.0.2.1", None),
    ("-P icmp-echo -b 0 -s 28 192.0.2.1", {"size": 28}),
    ("-P icmp-echo -b 0 -s 29 192.0.2.1", None),
    ("-P icmp-echo -b 0 -C 2323 192.0.2.1", None),
    ("-P icmp-echo -b 0 -s 48 2001:db8::1", {"size": 48}),
    ("-P icmp-echo -b 4 -C 2323 192.0.2.1", {"size": 20 + 8 + 4, "icmpsum": 2323}),
    ("-P udp -B 0000000000000000000000000000000000000000 -c 1 192.0.2.1",
     {"attempts": 1, "method": M.UDP, "size": 20 + 8 + 20, "data": bytes(20)}),
    ("-R 192.0.2.1", {"flags": F.V4RR, "size": 20 + 40 + 8 + 56, "dst": V4}),
    ("-W 1. 192.0.2.1", None),
    ("-W 1 192.0.2.1", {"wait_probe_us": 1000000, "wait_timeout_us": 1000000}),
    ("-W 1s 192.0.2.1", {"wait_probe_us": 1000000, "wait_timeout_us": 1000000}),
    ("-W 1.5 192.0.2.1", {"wait_probe_us": 1000000, "wait_timeout_us": 1500000}),
    ("-W 1.5s 192.0.2.1", {"wait_probe_us": 1000000, "wait_timeout_us": 1500000}),
    ("-W 1.5000000 192.0.2.1", None),
    ("-W 1.5000000s 192.0.2.1", None),
]


@pytest.mark.parametrize(("args", "expected"), UNIT_CMD_PING)
def test_ping_unit_cmd_ping_cases(args: str, expected: dict[str, Any] | None) -> None:
    result = ping(args)
    if expected is None:
        assert result is None
        return
    assert result is not None
    for name, value in expected.items():
        assert getattr(result, name) == value, name


def golden() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (DATA / "ping_scamper_20260420.jsonl").open()]
    return [(row["args"], row["scamper"]) for row in rows]


@pytest.mark.parametrize(("args", "scamper"), golden())
def test_ping_matches_scamper_20260420(args: str, scamper: str) -> None:
    assert describe(args) == scamper


def test_ping_defaults_are_scamper_defaults() -> None:
    p = parse_ping(" 192.0.2.1", CTX)
    assert p == PingCommand(dst=V4, sport=0x1234, dport=0)
    assert (p.attempts, p.wait_probe_us, p.wait_timeout_us, p.ttl, p.size) == (
        4, 1000000, 1000000, 64, 84)
    assert p.is_icmp and not p.is_tcp and not p.is_udp


@pytest.mark.parametrize(("args", "sport", "dport"), [
    ("192.0.2.1", 0x1234, 0),
    ("-P udp 192.0.2.1", 0x9234, 33435),
    ("-P tcp-ack 192.0.2.1", 0x9234, 33435),
    ("-P udp-sport -c 28109 192.0.2.1", 0x8000, 33435),
    ("-P tcp-syn-sport -c 40000 192.0.2.1", 0x9234, 33435),
    ("-F 0 -d 7 -P udp 192.0.2.1", 0, 7),
])
def test_ping_default_ports_follow_pid(args: str, sport: int, dport: int) -> None:
    p = parse_ping(args, CTX)
    assert (p.sport, p.dport) == (sport, dport)


@pytest.mark.parametrize(("method", "seq", "ack"), [
    ("tcp-syn", 111, 0), ("tcp-syn-sport", 111, 0), ("tcp-rst", 111, 0),
    ("tcp-ack", 222, 111), ("tcp-ack-sport", 222, 111), ("tcp-synack", 222, 111),
    ("udp", 0, 0), ("icmp-echo", 0, 0),
])
def test_ping_tcp_seq_ack_drawn_from_context(method: str, seq: int, ack: int) -> None:
    draws = iter([111, 222])
    ctx = CommandContext(pid=1, random_u32=lambda: next(draws))
    p = parse_ping(f"-P {method} 192.0.2.1", ctx)
    assert (p.tcpseq, p.tcpack) == (seq, ack)


def test_ping_do_not_probe_checked_after_address() -> None:
    ctx = CommandContext(pid=1, can_probe=lambda addr: addr != V4)
    with pytest.raises(CommandError, match="^destination in do-not-probe list$"):
        parse_ping("-p 00 -B 00 192.0.2.1", ctx)
    with pytest.raises(CommandError, match="^mss option only valid with tcp-syn probes$"):
        parse_ping("-O mss=5 192.0.2.1", ctx)
    assert parse_ping("192.0.2.2", ctx).dst == IPv4Address("192.0.2.2")


def test_ping_size_wraps_like_scamper_uint16() -> None:
    p = parse_ping("-b 65535 192.0.2.1", CTX)
    assert (p.payload_size, p.size) == (65535, (28 + 65535) & 0xFFFF)


def test_ping_option_table_letters_are_unique() -> None:
    letters = [spec.letter for spec in PING_OPTIONS]
    assert len(letters) == len(set(letters)) == 23


@given(st.text(alphabet=" -AbBcCdFimMoOpPrRsSTUWyz0123456789.:abcdefx'\"\\=,", max_size=40))
def test_ping_random_text_only_raises_command_error(args: str) -> None:
    try:
        parse_ping(args, CTX)
    except CommandError as exc:
        assert str(exc)


def test_ping_cached_parse_equals_a_fresh_parse() -> None:
    """The option cache (parse_ping_cached) returns what parse_ping does,
    address for address; TCP methods draw fresh sequence numbers each time,
    and the do-not-probe list is checked for every address."""
    from protocol.commands.ping import parse_ping, parse_ping_cached
    seq = iter(range(1, 1000))
    ctx = CommandContext(pid=77, random_u32=lambda: next(seq))
    for line in ("-c 1 -o 1 192.0.2.{}", "-P udp-dport -d 5 2001:db8::{}", "-c 2 -i 0.5 10.0.0.{}"):
        for i in range(1, 4):
            args = line.format(i)
            assert parse_ping_cached(args, ctx) == parse_ping(args, CommandContext(pid=77))
    a = parse_ping_cached("-P tcp-ack -d 80 192.0.2.1", ctx)
    b = parse_ping_cached("-P tcp-ack -d 80 192.0.2.2", ctx)
    assert (a.tcpseq, a.tcpack) != (b.tcpseq, b.tcpack)
    banned = CommandContext(pid=77, can_probe=lambda addr: str(addr) != "192.0.2.9")
    parse_ping_cached("-c 1 -o 1 192.0.2.8", banned)
    with pytest.raises(CommandError, match="do-not-probe"):
        parse_ping_cached("-c 1 -o 1 192.0.2.9", banned)
