"""The dealias (alias resolution) command grammar of scamper 20260420
(scamper_dealias_cmd.c).

:data:`DEALIAS_OPTIONS` states every option with scamper's parameter kind,
range and wording; :func:`parse_dealias` validates them in command-line
order, gathers them into a :class:`~.dealias_methods.DealiasArgs` and hands
that to the method's builder (:mod:`.dealias_methods`), which checks what
the method takes in scamper's order and resolves every value into a frozen
:class:`DealiasCommand`.  Probe definitions (``-p``) have their own grammar,
in :mod:`.dealias_probedef`.

Unlike trace, ping and tracelb, dealias never refuses a repeated option:
the last ``-m``, ``-q``, ``-w``... wins, and every ``-p``, ``-x`` and ``-S``
is kept, in order.  Its wording differs too: ranges read ``1-500`` (no
spaces), an unknown ``-O`` word is plain ``unknown option`` (without the
``-O failed:`` prefix, though still reported at its place in the line), and
a tokenizer failure is ``could not parse command``.  Times: ``-w`` in whole
seconds (1..255), ``-W`` and ``-r`` in milliseconds by default, whole
milliseconds (1 ms..65.535 s and 1 ms..180 s), ``-@`` in seconds since the
epoch to the microsecond.  Three values keep only the low bits of what they
were given, as scamper's fields do: ``-q`` (1..500) its low 8 bits, so
``-q 256`` reads as absent, ``-U`` (any number >= 0) its low 32 bits, and a
``-@`` of more than 2^63 microseconds wraps negative.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cstrings import UINT32_MAX, timeval_fromstr
from ..errors import CommandError
from ..options import (
    MS,
    SEC,
    ArgType,
    Convert,
    OptionError,
    OptionSpec,
    choice,
    duration,
    parse_options,
    ranged,
    text,
)
from .base import CommandContext
from .dealias_methods import (
    BUILDERS,
    AllyFlag,
    AllyParams,
    BumpParams,
    DealiasArgs,
    DealiasMethod,
    DealiasParams,
    MercatorParams,
    MidardiscParams,
    MidardiscRound,
    MidarestParams,
    PrefixscanFlag,
    PrefixscanParams,
    RadargunFlag,
    RadargunParams,
)
from .dealias_probedef import Probedef, ProbedefMethod

M = DealiasMethod
# strcasecmp against these words.
METHOD_NAMES: dict[str, DealiasMethod] = {method.name.lower(): method for method in M}
O_WORDS = ("nobs", "shuffle", "inseq")  # -O, without case


def _option(spec: OptionSpec, param: str) -> object:
    """-O: scamper reports an unknown word without the ``-O failed:``
    prefix, so this raises the command's error itself."""
    word = param.lower()
    if word not in O_WORDS:
        raise CommandError("unknown option")
    return word


def _startat(spec: OptionSpec, param: str) -> object:
    """-@: seconds since the epoch, to the microsecond.  scamper stores the
    microseconds in a signed 64-bit integer, so a huge time wraps."""
    us = timeval_fromstr(param, SEC)
    if us is None:
        raise OptionError("invalid startat time")
    return us - (1 << 64) if us >= 1 << 63 else us


def _whole(unit: int, message: str) -> Convert:
    """A time option whose every failure (form, granularity, range) is
    worded the same, as in scamper's dealias validator."""
    return duration(unit, message, message, step=unit, too_fine=message)


_N, _S = ArgType.NUM, ArgType.STR

DEALIAS_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("f", "fudge", _N, 1, 65535, default=0,
               convert=ranged("fudge must be within 1-65535")),
    OptionSpec("m", "method", _S, default=M.MERCATOR,
               convert=choice(METHOD_NAMES, "invalid method")),
    OptionSpec("o", "replyc", _N, 3, 255, default=0, convert=ranged("replyc must be within 3-255")),
    OptionSpec("O", "option", _S, repeat=True, convert=_option),
    OptionSpec("p", "probedef", _S, repeat=True, convert=text),
    OptionSpec("q", "attempts", _N, 1, 500, default=0,
               convert=ranged("attempts must be within 1-500")),
    OptionSpec("r", "wait-round", _S, 1 * MS, 180 * SEC, default=0,
               convert=_whole(MS, "round time must be within 1ms - 180s")),
    OptionSpec("S", "sched", _S, repeat=True, convert=text),
    OptionSpec("U", "userid", _N, 0, None, default=0, convert=ranged("userid must be >= 0")),
    OptionSpec("w", "wait-timeout", _S, 1 * SEC, 255 * SEC, default=0,
               convert=_whole(SEC, "timeout must be within 1s - 255s")),
    OptionSpec("W", "wait-probe", _S, 1 * MS, 65535 * MS, default=0,
               convert=_whole(MS, "inter-probe delay must be within 1ms - 65s")),
    OptionSpec("x", "exclude", _S, repeat=True, convert=text),
    OptionSpec("@", "startat", _S, default=0, convert=_startat),
)


@dataclass(frozen=True)
class DealiasCommand:
    """A parsed dealias: scamper_dealias_t's ``userid`` and method ``data``
    (one of the ``*Params`` of :mod:`.dealias_methods`, whose class says the
    method).  Times in the data are microseconds."""

    data: DealiasParams
    userid: int = 0

    @property
    def method(self) -> DealiasMethod:
        return self.data.METHOD

    @property
    def probedefs(self) -> tuple[Probedef, ...]:
        """The probe definitions, indexed by their ``id``."""
        return self.data.probedefs


def parse_dealias(args: str, ctx: CommandContext) -> DealiasCommand:
    """Parse the text after the word ``dealias``; raise CommandError as scamper."""
    opts = parse_options(args, DEALIAS_OPTIONS, parse_error="could not parse command",
                         check_repeats=False)
    words = set(opts.all("O"))

    def strings(letter: str) -> tuple[str, ...]:
        return tuple(str(value) for value in opts.all(letter))

    given = DealiasArgs(
        addr=opts.target, attempts=opts.get_int("q") & 0xFF, replyc=opts.get_int("o"),
        wait_timeout=opts.get_int("w"), wait_probe=opts.get_int("W"),
        wait_round=opts.get_int("r"), startat=opts.get_int("@"), fudge=opts.get_int("f"),
        probedefs=strings("p"), xs=strings("x"), sched=strings("S"),
        nobs="nobs" in words, shuffle="shuffle" in words, inseq="inseq" in words)
    method = DealiasMethod(opts.get_int("m"))
    return DealiasCommand(data=BUILDERS[method](given, ctx),
                          userid=opts.get_int("U") & UINT32_MAX)


__all__ = [
    "DEALIAS_OPTIONS",
    "AllyFlag",
    "AllyParams",
    "BumpParams",
    "DealiasCommand",
    "DealiasMethod",
    "MercatorParams",
    "MidardiscParams",
    "MidardiscRound",
    "MidarestParams",
    "PrefixscanFlag",
    "PrefixscanParams",
    "Probedef",
    "ProbedefMethod",
    "RadargunFlag",
    "RadargunParams",
    "parse_dealias",
]
