"""scamper's C string helpers: strtoll base 0, isnumber, nextword, params_get,
timeval_fromstr (the table of scamper's tests/unit_timeval.c), addrport."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.cstrings import (
    inet_pton,
    params_get,
    string_addrport,
    string_ishex,
    string_isnumber,
    string_nextword,
    string_tollong,
    strtoll,
    timeval_fromstr,
    tollong,
)


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0), ("15", 15), ("-1", -1), ("+5", 5), ("010", 8), ("08", 0), ("0x10", 16),
    ("0X1f", 31), ("0x", 0), ("0xg", 0), ("  7", 7), ("12abc", 12), ("-0x1", -1),
    ("9223372036854775807", 9223372036854775807),
    ("-9223372036854775808", -9223372036854775808),
    ("", None), ("+", None), ("-", None), ("x", None), ("9223372036854775808", None),
    ("-9223372036854775809", None), ("99999999999999999999", None),
])
def test_tollong_base0_matches_strtoll(text: str, value: int | None) -> None:
    assert tollong(text) == value


def test_strtoll_reports_end_and_overflow() -> None:
    assert strtoll("12ab", 10) == (12, 2, False)
    assert strtoll("0x1z", 0) == (1, 3, False)
    assert strtoll("99999999999999999999", 10) == (2**63 - 1, 20, True)
    assert string_tollong("  ", 10) is None


@pytest.mark.parametrize(("text", "ok"), [
    ("5", True), ("-5", True), ("+5", True), ("+", True), ("-", True), ("010", True),
    ("", False), ("5 ", False), ("x", False), ("0x5", False), ("5-", False),
])
def test_isnumber_follows_scamper(text: str, ok: bool) -> None:
    assert string_isnumber(text) is ok


@pytest.mark.parametrize(("text", "n"), [("00ff", 4), ("ABCdef", 6), ("", 0), ("0g", 0)])
def test_ishex_counts_digits(text: str, n: int) -> None:
    assert string_ishex(text) == n


@pytest.mark.parametrize(("text", "word", "rest"), [
    ("get pps", "get", "pps"), ("get   pps  x", "get", "pps  x"), ("get", "get", None),
    ("get   ", "get", None), (" get", "", "get"), ("", "", None),
])
def test_nextword_splits_at_whitespace(text: str, word: str, rest: str | None) -> None:
    assert string_nextword(text) == (word, rest)


@pytest.mark.parametrize(("line", "count", "words"), [
    (None, 4, []),
    ("a b", 4, ["a", "b"]),
    ("a   b", 4, ["a", "b"]),
    ('descr "my list" name x', 4, ["descr", "my list", "name", "x"]),
    ('"a b"c', 4, ["a b", "c"]),
    ('ab"c', 4, ['ab"c']),
    ('""', 4, [""]),
    ('"unterminated', 4, None),
    ("a b c", 2, None),
    ("a b ", 2, ["a", "b"]),
    ("a\tb", 2, ["a\tb"]),
])
def test_params_get_words_quotes_and_limits(line: str | None, count: int,
                                            words: list[str] | None) -> None:
    assert params_get(line, count) == words


# scamper's tests/unit_timeval.c fromstr table: (text, unit, microseconds or None).
TIMEVAL_CASES = [
    ("10s", 1000000, 10000000), ("10", 1000000, 10000000), ("10.", 1000000, None),
    ("1.1s", 1000000, 1100000), ("1.1", 1000000, 1100000),
    ("1.01s", 1000000, 1010000), ("1.01", 1000000, 1010000),
    ("2.003000s", 1000000, 2003000), ("2.003000", 1000000, 2003000),
    ("2.0030001s", 1000000, None), ("2.0030001", 1000000, None),
    ("3.000450s", 1000000, 3000450), ("3.000450", 1000000, 3000450),
    ("4.342542s", 1000000, 4342542), ("4.342542", 1000000, 4342542),
    ("6.9ms", 1000, 6900), ("6.9", 1000, 6900),
    ("69", 100, 6900), ("69.00", 100, 6900), ("690", 10, 6900),
    ("50us", 1, 50), ("50", 1, 50), ("50.0us", 1, 50), ("0.1us", 1, None), ("0.1", 1, None),
    ("0.05ms", 1000, 50), ("0.05", 1000, 50), ("0.004ms", 1000, 4), ("0.004", 1000, 4),
    ("0.045ms", 1000, 45), ("0.045", 1000, 45), ("0.0004ms", 1000, None),
    ("0.0004", 1000, None), ("0.0400ms", 1000, None), ("0.0400", 1000, None),
    ("0.4ms", 1000, 400), ("0.4", 1000, 400),
    ("1708459200.654321", 1000000, 1708459200654321),
    # Quirks of strtoll inside timeval_fromstr, checked against scamper's code.
    ("+1", 1000000, 1000000), (" 1", 1000000, 1000000), ("1.+5", 1000000, 1500000),
    ("1. 5", 1000000, 1500000), ("-0", 1000000, 0), ("-1", 1000000, None),
    ("1.-5", 1000000, None), ("0x1", 1000000, None), ("1sec", 1000000, None),
    ("", 1000000, None), (".5", 1000000, None), ("1.5000000", 1000000, None),
    ("1.500", 1000000, 1500000), ("1.0999ms", 1000000, None),
]


@pytest.mark.parametrize(("text", "unit", "us"), TIMEVAL_CASES)
def test_timeval_fromstr_matches_scamper(text: str, unit: int, us: int | None) -> None:
    assert timeval_fromstr(text, unit) == us


@given(st.integers(0, 10**9), st.integers(0, 999999))
def test_timeval_fromstr_reads_six_decimals_exactly(sec: int, usec: int) -> None:
    assert timeval_fromstr(f"{sec}.{usec:06d}", 1000000) == sec * 1000000 + usec
    assert timeval_fromstr(f"{sec}.{usec:06d}s", 1000) == sec * 1000000 + usec


@pytest.mark.parametrize(("text", "result"), [
    ("host:80", ("host", 80)), ("[::1]:80", ("::1", 80)), ("8080", (None, 8080)),
    ("host:0x50", ("host", 80)), ("host:80abc", ("host", 80)), ("host:0", None),
    ("host:65536", None), ("host", None), ("[::1]80", None), ("::1:80", None), ("0", None),
])
def test_addrport_parses_like_scamper(text: str, result: tuple[str | None, int] | None) -> None:
    assert string_addrport(text) == result


@pytest.mark.parametrize(("text", "family", "addr"), [
    ("192.0.2.1", socket.AF_UNSPEC, IPv4Address("192.0.2.1")),
    ("2001:db8::1", socket.AF_UNSPEC, IPv6Address("2001:db8::1")),
    ("::ffff:1.2.3.4", socket.AF_UNSPEC, IPv6Address("::ffff:1.2.3.4")),
    ("01.2.3.4", socket.AF_UNSPEC, None), ("1.2.3", socket.AF_UNSPEC, None),
    ("fe80::1%eth0", socket.AF_UNSPEC, None), ("192.0.2.1 ", socket.AF_UNSPEC, None),
    ("example.com", socket.AF_UNSPEC, None), ("", socket.AF_UNSPEC, None),
    ("2001:db8::1", socket.AF_INET, None), ("192.0.2.1", socket.AF_INET6, None),
    ("a\x00b", socket.AF_UNSPEC, None),
])
def test_inet_pton_accepts_literals_only(text: str, family: int,
                                         addr: IPv4Address | IPv6Address | None) -> None:
    assert inet_pton(text, family) == addr
