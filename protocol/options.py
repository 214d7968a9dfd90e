"""Table-driven option parsing for measurement commands (scamper_options.c).

A measurement's options are a table of :class:`OptionSpec`; one tokenizer and
one validator interpret every table, as scamper's ``scamper_options_parse``
plus each command's ``*_arg_param_validate`` do.

Tokenizer rules (scamper_options.c), kept exactly:

* Options are read while the next word starts with ``-``.  The first word
  that does not begins the target text, returned untouched (trailing spaces
  included).  When the options use up the whole string there is no target
  (None); an empty or all-space string gives an empty target ("").
* Flags without a parameter may be grouped (``-MQ``); an option that takes a
  parameter must end its word, and its parameter is the next word.  A lone
  ``-`` is skipped.  ``--name`` selects an option by long name; scamper
  defines none for any measurement today, so ``--anything`` is an error.
* A NUM parameter is ``-?[0-9]+`` ending at whitespace or the end.
* A STR parameter is a word, or a ``'``/``"`` quoted string in which ``\\``
  escapes only ``\\`` and the quote in use; an unterminated quote is an error.
  After a closing quote the next word starts at once (no space needed).

Validation then converts each parameter in command-line order and reports the
first failure as ``-X failed: <reason>``, then rejects a repeated option with
``repeated option -X`` unless the table allows repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from .cstrings import WHITESPACE, timeval_fromstr, tollong
from .errors import CommandError

# Microseconds per unit, for time options.
US = 1
MS = 1000
SEC = 1000000


class ArgType(IntEnum):
    """Parameter kinds of scamper_options.h (SCAMPER_OPTION_TYPE_*)."""

    NULL = 0x00  # a flag, no parameter
    STR = 0x01
    NUM = 0x02


class OptionError(Exception):
    """A parameter failed validation; str() is the text after ``-X failed: ``."""


class TokenizeError(Exception):
    """scamper_options_parse rejected the string."""


Convert = Callable[["OptionSpec", str], object]


def integer(spec: OptionSpec, param: str) -> object:
    """scamper's common numeric check: strtoll base 0, then the table's range.

    Base 0 means ``0x10`` is 16 and ``010`` is 8, and text after the digits is
    ignored (that only matters for STR options such as ping ``-C`` and ``-z``).
    """
    value = tollong(param)
    assert spec.lo is not None and spec.hi is not None
    if value is None or not spec.lo <= value <= spec.hi:
        raise OptionError(f"{spec.name} must be within {spec.lo} - {spec.hi}")
    return value


def ranged(message: str) -> Convert:
    """:func:`integer`'s check (strtoll base 0, then lo..hi; either bound may
    be None) for commands that word the failure their own way, as dealias
    does (``fudge must be within 1-65535``, ``userid must be >= 0``)."""

    def convert(spec: OptionSpec, param: str) -> object:
        value = tollong(param)
        if (value is None or (spec.lo is not None and value < spec.lo)
                or (spec.hi is not None and value > spec.hi)):
            raise OptionError(message)
        return value

    return convert


def text(spec: OptionSpec, param: str) -> object:
    """The parameter as given (checked later by the command)."""
    return param


def duration(unit: int, malformed: str, out_of_range: str, *, step: int = US,
             too_fine: str = "") -> Convert:
    """A time option: ``N[.F][s|ms|us]`` with default ``unit``, in microseconds,
    a multiple of ``step`` (else ``too_fine``), inside the table's lo..hi
    (microseconds).  The checks run in that order, as in scamper's
    validators that have all three (trace and tracelb ``-w``/``-W``)."""

    def convert(spec: OptionSpec, param: str) -> object:
        us = timeval_fromstr(param, unit)
        if us is None:
            raise OptionError(malformed)
        if us % step:
            raise OptionError(too_fine)
        if (spec.lo is not None and us < spec.lo) or (spec.hi is not None and us > spec.hi):
            raise OptionError(out_of_range)
        return us

    return convert


def choice(table: Mapping[str, object], error: str) -> Convert:
    """One of a table of words, matched without case (strcasecmp)."""

    def convert(spec: OptionSpec, param: str) -> object:
        try:
            return table[param.lower()]
        except KeyError:
            raise OptionError(error) from None

    return convert


@dataclass(frozen=True)
class OptionSpec:
    """One option of a measurement command.

    ``name`` is scamper's name for the option in range errors
    (``attempts must be within 1 - 65535``).  ``lo``/``hi`` bound the value
    (microseconds for time options).  ``default`` is what the command uses
    when the option is absent.  ``convert`` turns the parameter into a value
    or raises :class:`OptionError`; by default a parameter is an integer in
    lo..hi.  ``repeat`` marks options scamper lets appear more than once.
    """

    letter: str
    name: str
    kind: ArgType
    lo: int | None = None
    hi: int | None = None
    default: object = None
    convert: Convert = field(default=integer, compare=False)
    repeat: bool = False
    long: str | None = None


Token = tuple[OptionSpec, str | None]


def _skip_space(s: str, i: int) -> int | None:
    """Index of the next non-space character, None at the end."""
    while i < len(s) and s[i] in WHITESPACE:
        i += 1
    return i if i < len(s) else None


def _param(kind: ArgType, s: str, p: int) -> tuple[str, int | None]:
    """scamper's opt_parse_param: the parameter at ``p`` and where the next
    word starts."""
    n = len(s)
    if kind is ArgType.NUM:
        q = p + 1 if s[p] == "-" else p
        start = q
        while q < n and s[q] in "0123456789":
            q += 1
        if q == start or (q < n and s[q] not in WHITESPACE):
            raise TokenizeError
        return s[p:q], (None if q >= n else _skip_space(s, q + 1))
    if s[p] in "\"'":
        delim = s[p]
        q = p + 1
        out = []
        while q < n and s[q] != delim:
            if s[q] == "\\":
                q += 1
                if q >= n or s[q] not in ("\\", delim):
                    raise TokenizeError
            out.append(s[q])
            q += 1
        if q >= n:
            raise TokenizeError
        return "".join(out), _skip_space(s, q + 1)
    q = p
    while q < n and s[q] not in WHITESPACE:
        q += 1
    return s[p:q], _skip_space(s, q)


class _TableIndex:
    """A table's lookups (first spec per letter, long names, defaults), built
    once per table rather than on every parse.  Rebuilding them, and
    scanning the items for each ``get``, was most of a ``ping -c 1 ADDR``
    parse: 30 us per command before, 18 us after this and ParsedOptions'
    per-letter values (timeit over 400 commands; bench/daemon_bench's
    profile had pointed at protocol.parse_command)."""

    __slots__ = ("table", "by_letter", "by_long", "defaults")

    def __init__(self, table: Sequence[OptionSpec]) -> None:
        self.table = table  # kept alive, so its id() is not reused
        self.by_letter: dict[str, OptionSpec] = {}
        for spec in table:
            self.by_letter.setdefault(spec.letter, spec)
        self.by_long = {spec.long: spec for spec in table if spec.long is not None}
        self.defaults = {letter: spec.default for letter, spec in self.by_letter.items()}


_INDEXES: dict[int, _TableIndex] = {}


def _index(table: Sequence[OptionSpec]) -> _TableIndex:
    idx = _INDEXES.get(id(table))
    if idx is None or idx.table is not table:
        idx = _TableIndex(table)
        if isinstance(table, tuple):  # immutable: safe to remember
            if len(_INDEXES) >= 64:
                _INDEXES.clear()  # callers making new tables per parse
            _INDEXES[id(table)] = idx
    return idx


def tokenize(s: str, table: Sequence[OptionSpec]) -> tuple[list[Token], str | None]:
    """scamper_options_parse: the options in order, and the target text."""
    idx = _index(table)
    by_letter = idx.by_letter
    by_long = idx.by_long
    tokens: list[Token] = []
    pos = _skip_space(s, 0)
    if pos is None:
        return tokens, ""
    while pos is not None:
        if s[pos] != "-":
            return tokens, s[pos:]
        end = pos
        while end < len(s) and s[end] not in WHITESPACE:
            end += 1
        nxt = _skip_space(s, end)
        if s[pos + 1:pos + 2] == "-":
            long_spec = by_long.get(s[pos + 2:end])
            if long_spec is None:
                raise TokenizeError
            if long_spec.kind is ArgType.NULL:
                tokens.append((long_spec, None))
            else:
                if nxt is None:
                    raise TokenizeError
                param, nxt = _param(long_spec.kind, s, nxt)
                tokens.append((long_spec, param))
        else:
            for j in range(pos + 1, end):
                letter_spec = by_letter.get(s[j])
                if letter_spec is None:
                    raise TokenizeError
                if letter_spec.kind is ArgType.NULL:
                    tokens.append((letter_spec, None))
                    continue
                if j + 1 != end or nxt is None:
                    raise TokenizeError
                param, nxt = _param(letter_spec.kind, s, nxt)
                tokens.append((letter_spec, param))
        pos = nxt
    return tokens, None


@dataclass(frozen=True)
class ParsedOptions:
    """Validated options in command-line order, plus the target text."""

    table: tuple[OptionSpec, ...]
    items: tuple[tuple[OptionSpec, object], ...]
    target: str | None
    # the values given for each letter, in order (derived from items)
    _values: dict[str, list[object]] = field(init=False, repr=False, compare=False)
    _defaults: dict[str, object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values: dict[str, list[object]] = {}
        for spec, value in self.items:
            got = values.get(spec.letter)
            if got is None:
                values[spec.letter] = [value]
            else:
                got.append(value)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_defaults", _index(self.table).defaults)

    def given(self, letter: str) -> bool:
        return letter in self._values

    def all(self, letter: str) -> list[object]:
        return list(self._values.get(letter, ()))

    def get(self, letter: str) -> object:
        """The last value given for the option, else the table's default."""
        values = self._values.get(letter)
        if values:
            return values[-1]
        return self._defaults[letter]  # KeyError(letter) for a letter not in the table

    def get_int(self, letter: str) -> int:
        # get(), inlined: a ping parse asks for a dozen values
        values = self._values.get(letter)
        value = values[-1] if values else self._defaults[letter]
        if not isinstance(value, int):
            raise TypeError(f"-{letter} is not an integer option")
        return value

    def get_str(self, letter: str) -> str | None:
        value = self.get(letter)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"-{letter} is not a string option")
        return value


def validate(tokens: Sequence[Token], table: Sequence[OptionSpec], target: str | None,
             *, check_repeats: bool = True) -> ParsedOptions:
    """Convert each parameter in order; the first failure wins."""
    seen: set[str] = set()
    items: list[tuple[OptionSpec, object]] = []
    for spec, param in tokens:
        value: object = True
        if param is not None:
            try:
                value = spec.convert(spec, param)
            except OptionError as exc:
                raise CommandError(f"-{spec.letter} failed: {exc}") from None
        if check_repeats and spec.letter in seen and not spec.repeat:
            raise CommandError(f"repeated option -{spec.letter}")
        seen.add(spec.letter)
        items.append((spec, value))
    return ParsedOptions(tuple(table), tuple(items), target)


def parse_options(s: str, table: Sequence[OptionSpec], *, parse_error: str,
                  missing_target: str | None = None,
                  check_repeats: bool = True) -> ParsedOptions:
    """Tokenize and validate, with scamper's order of errors.

    ``parse_error`` is the command's message for a tokenizer failure (``could
    not parse ping command``); ``missing_target``, if given, is raised when no
    target follows the options, before any parameter is validated.
    """
    try:
        tokens, target = tokenize(s, table)
    except TokenizeError:
        raise CommandError(parse_error) from None
    if missing_target is not None and target is None:
        raise CommandError(missing_target)
    return validate(tokens, table, target, check_repeats=check_repeats)
