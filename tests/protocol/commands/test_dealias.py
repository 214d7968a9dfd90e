"""dealias's grammar: scamper's tests/unit_cmd_dealias.c, plus a golden table
made by scamper 20260420's own parser (tests/protocol/data/README.md)."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import parse_command
from protocol.commands.base import CommandContext
from protocol.commands.dealias import (
    DEALIAS_OPTIONS,
    AllyFlag,
    AllyParams,
    BumpParams,
    DealiasCommand,
    DealiasMethod,
    MercatorParams,
    MidardiscParams,
    MidardiscRound,
    MidarestParams,
    PrefixscanParams,
    Probedef,
    ProbedefMethod,
    RadargunParams,
    parse_dealias,
)
from protocol.errors import CommandError
from tests.protocol.grammar_helpers import ntop, refusal

DATA = Path(__file__).parent.parent / "data"
# The harness that made the golden table stood these in for the do-not-probe list.
DNP = {IPv4Address("192.0.2.66"), IPv6Address("2001:db8::66")}
CTX = CommandContext(pid=0x1234, can_probe=lambda a: a not in DNP)
DEFSPORT = 0x1234 | 0x8000
P = ProbedefMethod
MS, SEC = 1000, 1000000
D1, D2, D3 = "-p '-P tcp-ack'", "-p '-P icmp-echo'", "-p '-P udp'"
MIDAREST3 = f"-m midarest {D1} {D2} {D3} 192.0.2.1 192.0.2.2 192.0.2.3"


def dealias(args: str, ctx: CommandContext = CTX) -> DealiasCommand:
    return parse_dealias(" " + args, ctx)


def reason(args: str) -> str:
    return refusal(dealias, args)



def _probedef(d: Probedef) -> str:
    s = (f" [id={d.id} m={int(d.method)} dst={ntop(d.dst)} src=- ttl={d.ttl} tos={d.tos} "
         f"size={d.size} mtu={d.mtu}")
    if d.is_udp:
        return s + f" sport={d.sport} dport={d.dport}]"
    if d.is_icmp:
        return s + f" csum={d.icmp_csum} icmpid={d.icmp_id}]"
    return s + f" sport={d.sport} dport={d.dport} tcpflags={d.tcp_flags}]"


def describe(args: str) -> str:
    """Render a parse the way the scamper harness printed it."""
    try:
        c = parse_dealias(args, CTX)
    except CommandError as exc:
        return f"ERR {exc}"
    d = c.data
    out = f"OK method={int(c.method)} userid={c.userid}"
    if isinstance(d, MercatorParams):
        out += f" attempts={d.attempts} wt={d.wait_timeout_us}"
    elif isinstance(d, AllyParams):
        out += (f" attempts={d.attempts} fudge={d.fudge} flags={int(d.flags)} "
                f"wp={d.wait_probe_us} wt={d.wait_timeout_us}")
    elif isinstance(d, RadargunParams):
        out += (f" rounds={d.rounds} flags={int(d.flags)} wp={d.wait_probe_us} "
                f"wr={d.wait_round_us} wt={d.wait_timeout_us} defc={len(d.probedefs)}")
    elif isinstance(d, PrefixscanParams):
        out += (f" a={ntop(d.a)} b={ntop(d.b)} prefix={d.prefix} attempts={d.attempts} "
                f"replyc={d.replyc} fudge={d.fudge} flags={int(d.flags)} wp={d.wait_probe_us} "
                f"wt={d.wait_timeout_us} xs={','.join(ntop(x) for x in d.xs)} "
                f"defc={len(d.probedefs)}")
    elif isinstance(d, BumpParams):
        out += f" attempts={d.attempts} bump_limit={d.bump_limit} wp={d.wait_probe_us}"
    elif isinstance(d, MidarestParams):
        out += (f" rounds={d.rounds} wp={d.wait_probe_us} wr={d.wait_round_us} "
                f"wt={d.wait_timeout_us} defc={len(d.probedefs)}")
    else:
        startat = "-" if d.startat_us is None else d.startat_us
        out += (f" wt={d.wait_timeout_us} startat={startat} sched="
                + ",".join(f"{r.start_us}:{r.begin}:{r.end}" for r in d.sched)
                + f" defc={len(d.probedefs)}")
    return out + "".join(_probedef(p) for p in c.probedefs)


def pd(dst: str, id: int, kind: str, ttl: int, size: int | None = None,
       **fields: int) -> dict[str, Any]:
    """What unit_cmd_dealias.c checks of one probedef."""
    out: dict[str, Any] = {"dst": ip_address(dst), "id": id, "kind": kind, "ttl": ttl}
    if size is not None:
        out["size"] = size
    return out | fields


# Every case of scamper's tests/unit_cmd_dealias.c with the fields its
# checker function tests, or, for its isnull cases, scamper's reason (from
# the harness).
ALLY_TTL_UDP = {"wait_probe_us": 150 * MS, "wait_timeout_us": 5 * SEC, "defs": [
    pd("192.0.2.1", 0, "udp", 4, 30, sport=57665, dport=33436),
    pd("192.0.2.2", 1, "udp", 5, 30, sport=57664, dport=33435)]}
ALLY_2DEF = {"wait_probe_us": SEC, "wait_timeout_us": 5 * SEC, "defs": [
    pd("192.0.2.1", 0, "icmp", 255, 30, icmp_csum=59832),
    pd("192.0.2.2", 1, "icmp", 255, 30, icmp_csum=59835)]}
ALLY_1DEF_2DST = {"wait_probe_us": 500 * MS, "wait_timeout_us": 5 * SEC, "defs": [
    pd("192.0.2.1", 0, "tcp", 255, 40, dport=80), pd("192.0.2.2", 1, "tcp", 255, 40, dport=80)]}
MERCATOR = {"wait_timeout_us": 5 * SEC, "defs": [pd("192.0.2.1", 0, "udp", 255, 30, dport=33435)]}
RG_WAITS = {"wait_probe_us": 150 * MS, "wait_timeout_us": 5 * SEC, "wait_round_us": 450 * MS}
SPEEDTRAP = {"userid": 45, "fudge": 65535, "wait_probe_us": SEC, "wait_timeout_us": 2 * SEC,
             "defs": [pd("2001:db8::1", 0, "icmp", 255, 1300, mtu=1280),
                      pd("2001:db8::2", 1, "icmp", 255, 1300, mtu=1280)]}
RADARGUN_LFP = {"rounds": 3, "wait_round_us": 3 * SEC, "wait_probe_us": SEC,
                "wait_timeout_us": 5 * SEC, "defs": [
                    pd("192.0.2.1", 0, "icmp", 255, 84), pd("192.0.2.1", 1, "tcp", 255, 40),
                    pd("192.0.2.1", 2, "udp", 255, 48)]}
MIDAREST_DEFS = [pd(f"192.0.2.{j + 1}", 3 * i + j, kind, 64)
                 for i, kind in enumerate(("tcp", "icmp", "udp")) for j in range(3)]
MIDAREST = {"rounds": 30, "wait_round_us": 10 * SEC, "wait_probe_us": 1111111,
            "wait_timeout_us": SEC, "defs": MIDAREST_DEFS}
MIDARDISC_DEFS = "".join(f" -p '-P {m} -i 192.0.2.{i + 1}'"
                         for i, m in enumerate(("tcp-ack", "icmp-echo", "udp", "tcp-ack")))
ICMP_PAIR = "-p '-P icmp-echo -c 59832 -i 192.0.2.1' -p '-P icmp-echo -c 59835 -i 192.0.2.2'"
LFP = ("-p '-P icmp-echo -s 84 -i 192.0.2.1' -p '-P tcp-ack -s 40 -i 192.0.2.1'"
       " -p '-P udp -s 48 -i 192.0.2.1'")
RG3 = "-p '-P icmp-echo -i 192.0.2.1' -p '-P tcp-ack -i 192.0.2.2' -p '-P udp -i 192.0.2.3'"

UNIT_CMD_DEALIAS: list[tuple[str, dict[str, Any] | str]] = [
    ("-m ally -O inseq -p '-P udp -d 33436 -F 57665 -t 4 -i 192.0.2.1'"
     " -p '-P udp -d 33435 -F 57664 -t 5 -i 192.0.2.2'", ALLY_TTL_UDP),
    ("-m ally -p '-P icmp-echo -d 33436 -i 192.0.2.1' -p '-P icmp-echo -d 33435 -i 192.0.2.2'",
     "dport option not permitted for icmp"),
    ("-m ally -p '-P icmp-echo -F 57665 -i 192.0.2.1' -p '-P icmp-echo -F 57665 -i 192.0.2.2'",
     "sport option not permitted for icmp"),
    (f"-m ally -W 1000 {ICMP_PAIR}", ALLY_2DEF),
    (f"-m ally -W 1s {ICMP_PAIR}", ALLY_2DEF),
    (f"-m ally -W 1000ms {ICMP_PAIR}", ALLY_2DEF),
    ("-m ally -W 500 -p '-P tcp-ack -d 80' 192.0.2.1 192.0.2.2", ALLY_1DEF_2DST),
    ("-m ally -W 0.5s -p '-P tcp-ack -d 80' 192.0.2.1 192.0.2.2", ALLY_1DEF_2DST),
    ("-m ally -W 1000 -p '-P icmp-echo -i 192.0.2.1' 192.0.2.2", "dst IP specified incorrectly"),
    ("-m ally -W 1000 -p '-P icmp-echo -i 192.0.2.1' 192.0.2.1 192.0.2.2",
     "dst IP specified incorrectly"),
    ("-m mercator 192.0.2.1", MERCATOR),
    ("-m mercator -p '-P udp -d 54321' 192.0.2.1",
     MERCATOR | {"defs": [pd("192.0.2.1", 0, "udp", 255, 30, dport=54321)]}),
    ("-m bump 192.0.2.1 192.0.2.2", "invalid parameters for bump"),
    ("-m bump -p '-P udp' 192.0.2.1 192.0.2.2", "invalid parameters for bump"),
    ("-m bump -p '-P udp -i 192.0.2.1' -p '-P udp -i 192.0.2.2'", {
        "wait_probe_us": SEC, "defs": [pd("192.0.2.1", 0, "udp", 255, 30),
                                       pd("192.0.2.2", 1, "udp", 255, 30)]}),
    ("-m prefixscan 192.0.2.69 192.0.2.2/30", "invalid parameters for prefixscan"),
    ("-m prefixscan -p '-P udp -i 192.0.2.69' 192.0.2.69 192.0.2.2/30",
     "unexpected dst in prefixscan probedef"),
    ("-m prefixscan -p '-P udp' 192.0.2.69 192.0.2.2/30", {
        "wait_probe_us": SEC, "wait_timeout_us": 5 * SEC,
        "defs": [pd("192.0.2.69", 0, "udp", 255, 30)]}),
    ("-m radargun -p '-P icmp -i 192.0.2.1' -p '-P tcp-ack -i 192.0.2.2'"
     " -p '-P udp -i 192.0.2.3'", "invalid probedef method"),
    (f"-m radargun {RG3}", RG_WAITS | {"defs": [
        pd("192.0.2.1", 0, "icmp", 255, 30), pd("192.0.2.2", 1, "tcp", 255, 40),
        pd("192.0.2.3", 2, "udp", 255, 30)]}),
    ("-m radargun -p '-P tcp-ack' 192.0.2.1 192.0.2.2 192.0.2.3", RG_WAITS | {"defs": [
        pd(f"192.0.2.{i + 1}", i, "tcp", 255, 40) for i in range(3)]}),
    ("-m radargun -p '-P tcp-ack' -p '-P udp' 192.0.2.1 192.0.2.2 192.0.2.3", RG_WAITS | {
        "wait_round_us": 900 * MS, "defs": [
            pd(f"192.0.2.{j + 1}", 3 * i + j, kind, 255)
            for i, kind in enumerate(("tcp", "udp")) for j in range(3)]}),
    ("-m radargun -q 2 -W 20ms -w 1s -p '-P icmp-echo' 2001:DB8::1 2001:DB8::2 2001:DB8::3", {
        "wait_probe_us": 20 * MS, "wait_timeout_us": SEC, "wait_round_us": 60 * MS, "rounds": 2,
        "defs": [pd(f"2001:db8::{i + 1}", i, "icmp", 255, 50) for i in range(3)]}),
    ("-m ally -U 45 -f 65535 -w 2 -W 1000 -p '-P icmp-echo -s 1300 -M 1280'"
     " 2001:DB8::1 2001:DB8::2", SPEEDTRAP),
    ("-m ally -U 45 -f 65535 -w 2s -W 1s -p '-P icmp-echo -s 1300 -M 1280'"
     " 2001:DB8::1 2001:DB8::2", SPEEDTRAP),
    (f"-m radargun -q 3 -W 1000 -r 3000 {LFP}", RADARGUN_LFP),
    (f"-m radargun -q 3 -W 1s -r 3s {LFP}", RADARGUN_LFP),
    ("-m radargun -q 3 -p '-P icmp-echo -s 29' 192.0.2.1 192.0.2.2 192.0.2.3",
     "probedef size 29 too small"),
    ("-m ally -p '-P tcp-ack -d 80 -s 35' 192.0.2.1 192.0.2.2", "probedef size 35 too small"),
    ("-m prefixscan -p '-P udp -s 29' 192.0.2.69 192.0.2.2/30", "probedef size 29 too small"),
    ("-m bump -p '-P udp -i 192.0.2.1' -p '-P udp -s 29 -i 192.0.2.2'",
     "probedef size 29 too small"),
    (MIDAREST3.replace("midarest", "midarest -r 10000"), MIDAREST),
    (MIDAREST3.replace("midarest", "midarest -r 10s"), MIDAREST),
    (MIDAREST3, MIDAREST),
    (MIDAREST3.replace("midarest", "midarest -W 1s -r 2s"), "invalid wait_round given wait_probe"),
    (MIDAREST3.replace("midarest", "midarest -W 0.3s -r 3s"), {
        "rounds": 30, "wait_round_us": 3 * SEC, "wait_probe_us": 300 * MS,
        "wait_timeout_us": SEC}),
    (MIDAREST3.replace("midarest", "midarest -W 0.2s -w 2s -r 3s"), {
        "rounds": 30, "wait_round_us": 3 * SEC, "wait_probe_us": 200 * MS,
        "wait_timeout_us": 2 * SEC}),
    (f"-m midardisc -@ 1703214000.654321{MIDARDISC_DEFS} -S 0:0:2 -S 0.123:1:3 -S 0.234:2:3", {
        "startat_us": 1703214000654321,
        "sched": (MidardiscRound(0, 0, 2), MidardiscRound(123 * MS, 1, 3),
                  MidardiscRound(234 * MS, 2, 3)),
        "defs": [pd(f"192.0.2.{i + 1}", i, kind, 64)
                 for i, kind in enumerate(("tcp", "icmp", "udp", "tcp"))]}),
    (f"-m midardisc {MIDARDISC_DEFS} -S 0:0:2 -S 0.0:1:3 -S 0.234:2:3",
     "invalid round given round 1"),
    (f"-m midardisc {MIDARDISC_DEFS} -S 0:0:2 -S 0.123:0:1 -S 0.234:2:3",
     "invalid round given round 1"),
    (f"-m midardisc {MIDARDISC_DEFS} -S 0:0:2 -S 0.123:1:3 -S 0.234:0:3",
     "invalid round given round 2"),
]


def test_dealias_unit_cmd_dealias_has_every_case() -> None:
    assert len(UNIT_CMD_DEALIAS) == 41


@pytest.mark.parametrize(("args", "expected"), UNIT_CMD_DEALIAS)
def test_dealias_unit_cmd_dealias_cases(args: str, expected: dict[str, Any] | str) -> None:
    if isinstance(expected, str):
        assert reason(args) == expected
        return
    cmd = dealias(args)
    expected = dict(expected)
    assert cmd.userid == expected.pop("userid", 0)
    defs = expected.pop("defs", None)
    for name, value in expected.items():
        assert getattr(cmd.data, name) == value, name
    if defs is not None:
        assert len(cmd.probedefs) == len(defs)
        for got, want in zip(cmd.probedefs, defs, strict=True):
            want = dict(want)
            kind = want.pop("kind")
            assert (got.is_udp, got.is_icmp, got.is_tcp) == (
                kind == "udp", kind == "icmp", kind == "tcp")
            for name, value in want.items():
                assert getattr(got, name) == value, name


def golden() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (DATA / "dealias_scamper_20260420.jsonl").open()]
    return [(row["args"], row.get("intended", row["scamper"])) for row in rows]


@pytest.mark.parametrize(("args", "scamper"), golden())
def test_dealias_matches_scamper_20260420(args: str, scamper: str) -> None:
    assert describe(args) == scamper


# Each numeric option at both ends of its range and one past each, with
# scamper's wording for the failure.
@pytest.mark.parametrize(("letter", "lo", "hi", "why"), [
    ("f", 1, 65535, "fudge must be within 1-65535"),
    ("o", 3, 255, "replyc must be within 3-255"),
    ("q", 1, 500, "attempts must be within 1-500"),
])
def test_dealias_numeric_range_edges(letter: str, lo: int, hi: int, why: str) -> None:
    for value in (lo, hi):  # validated, then refused by the method
        assert reason(f"-{letter} {value} -m radargun -O nobs 192.0.2.1") == (
            "invalid parameters for radargun")
    for value in (lo - 1, hi + 1):
        assert reason(f"-{letter} {value} 192.0.2.1") == f"-{letter} failed: {why}"


@pytest.mark.parametrize(("args", "attempts"), [
    ("-q 1", 1), ("-q 255", 255), ("-q 256", 5), ("-q 257", 1), ("-q 300", 44), ("-q 500", 244),
    ("-q 0x10", None), ("-q 010", 8),
])
def test_dealias_attempts_keep_their_low_8_bits(args: str, attempts: int | None) -> None:
    # -q is read into scamper's uint8: 256 is "not given", so ally's 5 applies.
    if attempts is None:
        assert reason(f"{args} -m ally 192.0.2.1 192.0.2.2") == "could not parse command"
    else:
        data = dealias(f"{args} -m ally 192.0.2.1 192.0.2.2").data
        assert isinstance(data, AllyParams) and data.attempts == attempts


@pytest.mark.parametrize(("args", "userid"), [
    ("-U 0", 0), ("-U 45", 45), ("-U 4294967295", 4294967295), ("-U 4294967296", 0),
    ("-U 4294967341", 45), ("-U 9223372036854775807", 4294967295),
    ("-U -1", "-U failed: userid must be >= 0"),
    ("-U 9223372036854775808", "-U failed: userid must be >= 0"),
])
def test_dealias_userid_keeps_its_low_32_bits(args: str, userid: int | str) -> None:
    if isinstance(userid, str):
        assert reason(f"{args} 192.0.2.1") == userid
    else:
        assert dealias(f"{args} 192.0.2.1").userid == userid


@pytest.mark.parametrize(("letter", "param", "us"), [
    ("w", "1", SEC), ("w", "255", 255 * SEC), ("w", "255s", 255 * SEC), ("w", "0", None),
    ("w", "256", None), ("w", "1.5", None), ("w", "1000ms", SEC), ("w", "1500ms", None),
    ("W", "1", MS), ("W", "65535", 65535 * MS), ("W", "65.535s", 65535 * MS), ("W", "0", None),
    ("W", "65536", None), ("W", "1.5", None), ("W", "1500us", None), ("W", "2000us", 2 * MS),
    ("W", "0.5s", 500 * MS), ("W", "1.", None), ("W", "x", None),
    ("r", "1", MS), ("r", "180000", 180 * SEC), ("r", "180s", 180 * SEC), ("r", "180001", None),
    ("r", "0", None), ("r", "0.5", None), ("r", "3s", 3 * SEC),
])
def test_dealias_times_whole_units(letter: str, param: str, us: int | None) -> None:
    # radargun takes all three (its -r is kept as given).
    args = f"-{letter} {param} -m radargun 192.0.2.1 192.0.2.2"
    why = {"w": "timeout must be within 1s - 255s",
           "W": "inter-probe delay must be within 1ms - 65s",
           "r": "round time must be within 1ms - 180s"}[letter]
    if us is None:
        assert reason(args) == f"-{letter} failed: {why}"
    else:
        name = {"w": "wait_timeout_us", "W": "wait_probe_us", "r": "wait_round_us"}[letter]
        assert getattr(dealias(args).data, name) == us


@pytest.mark.parametrize(("param", "startat"), [
    ("1703214000.654321", 1703214000654321), ("1.5", 1500000), ("1ms", 1000), ("7us", 7),
    ("10000000000000", 10000000000000 * SEC - (1 << 64)), ("1.", "invalid startat time"),
    ("-1", "invalid startat time"), ("1.5000000", "invalid startat time"),
])
def test_dealias_startat(param: str, startat: int | str) -> None:
    args = f"-m midardisc -@ {param} -p '-i 192.0.2.1' -p '-i 192.0.2.2' -S 0:0:1 -S 1:1:2"
    if isinstance(startat, str):
        assert reason(args) == f"-@ failed: {startat}"
    else:
        data = dealias(args).data
        assert isinstance(data, MidardiscParams) and data.startat_us == startat


def test_dealias_startat_zero_is_no_startat() -> None:
    base = "-p '-i 192.0.2.1' -p '-i 192.0.2.2' -S 0:0:1 -S 1:1:2"
    data = dealias(f"-m midardisc -@ 0 {base}").data
    assert isinstance(data, MidardiscParams) and data.startat_us is None
    # ... so every method takes -@ 0, where any other -@ is refused.
    assert dealias("-@ 0.0 192.0.2.1").method is DealiasMethod.MERCATOR
    assert reason("-@ 1 192.0.2.1") == "invalid parameters for mercator"


def test_dealias_repeats_last_wins_and_lists_accumulate() -> None:
    assert reason("-m ally -x 192.0.2.9 192.0.2.1 192.0.2.2") == "invalid parameters for ally"
    cmd = dealias("-m bump -m radargun -W 5 -W 7 -m ally -p '-P icmp-echo' -O nobs -O NOBS"
                  " 192.0.2.1 192.0.2.2")
    assert isinstance(cmd.data, AllyParams)
    assert (cmd.data.wait_probe_us, cmd.data.flags) == (7 * MS, AllyFlag.NOBS)
    assert not any(spec.repeat for spec in DEALIAS_OPTIONS if spec.letter not in "pxSO")


def test_dealias_parse_command_dispatches() -> None:
    cmd = parse_command("DEALIAS -m radargun -q 2 2001:db8::1 2001:db8::2", CTX)
    assert isinstance(cmd, DealiasCommand)
    assert isinstance(cmd.data, RadargunParams)
    assert (cmd.method, cmd.data.rounds) == (DealiasMethod.RADARGUN, 2)


def test_dealias_option_tables_are_scamper_20260420s() -> None:
    letters = [spec.letter for spec in DEALIAS_OPTIONS]
    assert len(letters) == len(set(letters)) == 13
    assert set(letters) == set("fmoOpqrSUwWx@")


@given(st.text(alphabet=" -fmoOpqrSUwWx@PdFcisMt0123456789.:/abdelrsuxy'\"\\", max_size=50))
def test_dealias_random_text_only_raises_command_error(args: str) -> None:
    try:
        parse_dealias(args, CTX)
    except CommandError as exc:
        assert str(exc)
