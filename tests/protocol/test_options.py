"""The option tokenizer and validator (scamper_options.c, tests/unit_options.c)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import CommandError
from protocol.options import (
    MS,
    SEC,
    ArgType,
    OptionError,
    OptionSpec,
    TokenizeError,
    choice,
    duration,
    parse_options,
    text,
    tokenize,
)

# The two-option table of scamper's tests/unit_options.c, in both flavours.
C_NUM = OptionSpec("c", "count", ArgType.NUM, 0, 100)
D_NULL = OptionSpec("d", "flag", ArgType.NULL)
D_STR = OptionSpec("d", "text", ArgType.STR, convert=text)


@pytest.mark.parametrize(("s", "table", "options", "target"), [
    ("-c 1 foo", (C_NUM, D_NULL), [("c", "1")], "foo"),
    ("-d 'bar' baz", (C_NUM, D_STR), [("d", "bar")], "baz"),
    ("-d 'zz\\'zz' bar", (C_NUM, D_STR), [("d", "zz'zz")], "bar"),
    ("-d zz'zz bar", (C_NUM, D_STR), [("d", "zz'zz")], "bar"),
    ("-d 'zz\\'\\\\\\'zz' foo", (C_NUM, D_STR), [("d", "zz'\\'zz")], "foo"),
    ("-c 15", (C_NUM, D_STR), [("c", "15")], None),
])
def test_tokenize_unit_options_cases(s: str, table: tuple[OptionSpec, ...],
                                     options: list[tuple[str, str]], target: str | None) -> None:
    tokens, rest = tokenize(s, table)
    assert [(spec.letter, param) for spec, param in tokens] == options
    assert rest == target


@pytest.mark.parametrize(("s", "options", "target"), [
    ("", [], ""),
    ("   ", [], ""),
    ("foo", [], "foo"),
    ("  foo bar  ", [], "foo bar  "),
    ("-d -c 5 x", [("d", None), ("c", "5")], "x"),
    ("-dc 5 x", [("d", None), ("c", "5")], "x"),
    ("-dd x", [("d", None), ("d", None)], "x"),
    ("- x", [], "x"),
    ("-c -5 x", [("c", "-5")], "x"),
    ("-c 5", [("c", "5")], None),
    ("-c 5   ", [("c", "5")], None),
    ("-d", [("d", None)], None),
])
def test_tokenize_groups_flags_and_returns_target(s: str, options: list[tuple[str, str | None]],
                                                  target: str | None) -> None:
    tokens, rest = tokenize(s, (C_NUM, D_NULL))
    assert [(spec.letter, param) for spec, param in tokens] == options
    assert rest == target


S_STR = OptionSpec("s", "text", ArgType.STR, convert=text)


@pytest.mark.parametrize(("s", "param", "target"), [
    ('-s "a b" x', "a b", "x"),
    ("-s 'a\\\\b' x", "a\\b", "x"),
    ('-s "a"x', "a", "x"),
    ("-s '' x", "", "x"),
    ('-s "it\'s" x', "it's", "x"),
    ("-s -c x", "-c", "x"),
])
def test_tokenize_str_quoting(s: str, param: str, target: str) -> None:
    tokens, rest = tokenize(s, (C_NUM, S_STR))
    assert tokens == [(S_STR, param)]
    assert rest == target


@pytest.mark.parametrize("s", [
    "-c 15a", "-c", "-c x", "-c 1.5 x", "-c - x", "-c '5' x", "-x", "-cd 5", "-dc", "--",
    "--c 5", "-s 'abc", "-s 'a\\b' x", "-s 'a\\", "-s",
])
def test_tokenize_rejects(s: str) -> None:
    with pytest.raises(TokenizeError):
        tokenize(s, (C_NUM, D_NULL, S_STR))


def test_tokenize_long_names_when_the_table_has_them() -> None:
    # No scamper measurement defines long names, but the tokenizer supports them.
    count = OptionSpec("c", "count", ArgType.NUM, 0, 9, long="count")
    verbose = OptionSpec("v", "verbose", ArgType.NULL, long="verbose")
    tokens, rest = tokenize("--count 3 --verbose x", (count, verbose))
    assert tokens == [(count, "3"), (verbose, None)]
    assert rest == "x"
    with pytest.raises(TokenizeError):
        tokenize("--count=3 x", (count, verbose))
    with pytest.raises(TokenizeError):
        tokenize("--count", (count, verbose))


WAIT = OptionSpec("i", "wait", ArgType.STR, 1 * MS, 20 * SEC, default=SEC,
                  convert=duration(SEC, "malformed wait", "wait out of range"))
MODE = OptionSpec("m", "mode", ArgType.STR, default="a",
                  convert=choice({"alpha": "a", "beta": "b"}, "bad mode"))
TABLE = (C_NUM, D_NULL, WAIT, MODE, OptionSpec("O", "opt", ArgType.STR, convert=text,
                                               repeat=True))


def test_parse_options_values_and_defaults() -> None:
    opts = parse_options("-c 010 -i 500ms -m BETA -O a -O b x", TABLE, parse_error="bad")
    assert opts.get_int("c") == 8  # strtoll base 0: octal
    assert opts.get_int("i") == 500000
    assert opts.get("m") == "b"
    assert opts.all("O") == ["a", "b"]
    assert opts.given("c") and not opts.given("d")
    assert opts.target == "x"
    defaults = parse_options("x", TABLE, parse_error="bad")
    assert defaults.get("i") == SEC and defaults.get("c") is None


@pytest.mark.parametrize(("s", "error"), [
    ("-c 101 x", "-c failed: count must be within 0 - 100"),
    ("-c 1 -c 2 x", "repeated option -c"),
    ("-c 1 -c 200 x", "-c failed: count must be within 0 - 100"),
    ("-c 200 -c 1 x", "-c failed: count must be within 0 - 100"),
    ("-d -d x", "repeated option -d"),
    ("-d -d -c 200 x", "repeated option -d"),
    ("-i 1. x", "-i failed: malformed wait"),
    ("-i 21 x", "-i failed: wait out of range"),
    ("-i 0.0009 x", "-i failed: wait out of range"),
    ("-m gamma x", "-m failed: bad mode"),
    ("-q x", "bad"),
    ("-c 1", "no target"),
    ("-c 200", "no target"),
])
def test_parse_options_errors_in_scamper_order(s: str, error: str) -> None:
    with pytest.raises(CommandError) as exc:
        parse_options(s, TABLE, parse_error="bad", missing_target="no target")
    assert str(exc.value) == error


@pytest.mark.parametrize(("param", "result"), [
    ("20", 200000), ("1s", SEC), ("150ms", 150000), ("155ms", "too fine"), ("15.5", "too fine"),
    ("1", "out of range"), ("201", "out of range"), ("2.05s", "out of range"),
    ("2.055s", "too fine"), ("x", "malformed"),
])
def test_duration_checks_form_then_step_then_range(param: str, result: int | str) -> None:
    # tracelb's -W: 10 ms units, a multiple of 10 ms, 150 ms .. 2 s.
    spec = OptionSpec("W", "wait", ArgType.STR, 150 * MS, 2 * SEC,
                      convert=duration(10 * MS, "malformed", "out of range", step=10 * MS,
                                       too_fine="too fine"))
    if isinstance(result, int):
        assert spec.convert(spec, param) == result
    else:
        with pytest.raises(OptionError, match=f"^{result}$"):
            spec.convert(spec, param)


def test_parse_options_repeats_allowed_when_not_checked() -> None:
    # dealias, sting and tbit do not check repeats: the last value wins.
    opts = parse_options("-c 1 -c 2 x", TABLE, parse_error="bad", check_repeats=False)
    assert opts.get_int("c") == 2


@given(st.text(alphabet=" -cdimO'\"\\0123456789abx.s", max_size=30))
def test_parse_options_only_raises_command_error(s: str) -> None:
    try:
        parse_options(s, TABLE, parse_error="bad", missing_target="no target")
    except CommandError:
        pass
