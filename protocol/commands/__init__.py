"""Measurement command grammars and the dispatcher in front of them.

:func:`parse_command` recognises the command word as scamper's
``command_func_get`` does (the word, case-insensitive, then whitespace) and
hands the rest of the line to the grammar registered for that word.  scamper's
words are all known here; one whose grammar is not registered yet is
reported as ``<word> disabled``, which is what scamper says for a measurement
switched off in its configuration.  Registering a grammar is one entry in
:data:`GRAMMARS` (or a call to :func:`register`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..cstrings import WHITESPACE
from ..errors import CommandError
from .base import CommandContext
from .ping import PingCommand, parse_ping_cached
from .trace import TraceCommand, parse_trace
from .tracelb import TracelbCommand, parse_tracelb

# scamper 20260420's measurement words in its lookup order (scamper_sources.c);
# "trace" is tried before "tracelb" but needs whitespace after it, so the
# order never matters for a well-formed line.
MEASUREMENTS = ("trace", "ping", "tracelb", "dealias", "neighbourdisc", "tbit", "sting",
                "sniff", "host", "http", "udpprobe", "owamp")

if TYPE_CHECKING:
    from .dealias import DealiasCommand

    # The union of command dataclasses grows as grammars are added.
    MeasurementCommand = PingCommand | TraceCommand | TracelbCommand | DealiasCommand
    Grammar = Callable[[str, CommandContext], MeasurementCommand]


def parse_dealias(line: str, context: CommandContext) -> DealiasCommand:
    """dealias's grammar, imported on first use: its module is the largest
    of the grammars (about 14 ms), and a daemon need not load it to start."""
    from .dealias import parse_dealias as parse

    return parse(line, context)


def __getattr__(name: str) -> Any:
    # DealiasCommand and the unions that name it, for run-time users.
    if name == "DealiasCommand":
        from .dealias import DealiasCommand

        return DealiasCommand
    if name == "MeasurementCommand":
        from .dealias import DealiasCommand

        return PingCommand | TraceCommand | TracelbCommand | DealiasCommand
    if name == "Grammar":
        return Callable[[str, CommandContext], __getattr__("MeasurementCommand")]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


GRAMMARS: dict[str, Grammar] = {
    "ping": parse_ping_cached,
    "trace": parse_trace,
    "tracelb": parse_tracelb,
    "dealias": parse_dealias,
}


def register(word: str, grammar: Grammar) -> None:
    """Plug in the grammar for one of scamper's measurement words."""
    if word not in MEASUREMENTS:
        raise ValueError(f"{word!r} is not a scamper measurement")
    GRAMMARS[word] = grammar


def command_word(line: str) -> str | None:
    """The measurement word ``line`` starts with, as scamper matches it."""
    for word in MEASUREMENTS:
        n = len(word)
        if line[:n].lower() == word and line[n:n + 1] != "" and line[n] in WHITESPACE:
            return word
    return None


def parse_command(line: str, context: CommandContext | None = None) -> MeasurementCommand:
    """Parse a measurement command line; raise CommandError with scamper's reason."""
    word = command_word(line)
    if word is None:
        raise CommandError("could not determine command type")
    grammar = GRAMMARS.get(word)
    if grammar is None:
        raise CommandError(f"{word} disabled")
    return grammar(line[len(word):], context if context is not None else CommandContext())


__all__ = [
    "GRAMMARS",
    "MEASUREMENTS",
    "CommandContext",
    "CommandError",
    "DealiasCommand",
    "Grammar",
    "MeasurementCommand",
    "PingCommand",
    "TraceCommand",
    "TracelbCommand",
    "command_word",
    "parse_command",
    "register",
]
