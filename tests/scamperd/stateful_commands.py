"""Command lines for tests/scamperd/test_stateful.py, and how long each may take.

Every option of ping and trace has a generator here, one table per command
(:data:`PING_ARGS`, :data:`TRACE_ARGS`); an import-time check keeps the
tables in step with the grammars' option tables, so a new option cannot be
left out.  Values are mostly valid and short-lived (ping ``-c 1..2``, small
``-i`` and ``-W``; trace ``-q 1..2 -w 1 -m 1..3``), sometimes invalid, so
both ``OK id-N`` and ``ERR`` paths are taken.  Destinations are every kind
the namespace of :mod:`tests.scamperd.stateful_bed` offers: loopback, its
own addresses, silent ones, unreachable and blackhole routes, broadcasts and
multicast.  No address outside that namespace is ever named.

The ``-U`` userid is not drawn: the test inserts a unique one when it sends
the line, to map each record back to its command and client.
"""

from __future__ import annotations

from hypothesis import strategies as st

from protocol import (
    PING_OPTIONS,
    TRACE_OPTIONS,
    CommandError,
    PingCommand,
    TraceFlag,
    parse_command,
)
from protocol.commands.ping import METHOD_NAMES as PING_METHODS
from protocol.commands.ping import O_FLAGS as PING_O_FLAGS
from protocol.commands.trace import METHOD_NAMES as TRACE_METHODS
from protocol.commands.trace import O_FLAGS as TRACE_O_FLAGS
from tests.scamperd.stateful_bed import (
    BLACKHOLE4,
    BLACKHOLE6,
    NOT_OURS4,
    NOT_OURS6,
    OURS4,
    OURS6,
    SILENT4,
    SILENT6,
    SPOOF4,
    SPOOF6,
    UNREACH4,
    UNREACH6,
)
from tests.strategies import u8, u16, u32

BROADCAST4 = ("127.255.255.255", "255.255.255.255", "192.0.2.255")
# Destinations where something (a reply, an error, a send failure) happens
# at once, or where nothing ever answers.
EDGE4 = ("127.0.0.1", OURS4, UNREACH4, BLACKHOLE4, *BROADCAST4, "224.0.0.1", "0.0.0.0")
EDGE6 = ("::1", OURS6, UNREACH6, BLACKHOLE6, "ff02::1")
DSTS4 = (*EDGE4, "127.0.0.2", *SILENT4)
DSTS6 = (*EDGE6, *SILENT6)
OURS_SRC4 = (OURS4, "127.0.0.1")
OURS_SRC6 = (OURS6, "::1")
SPOOF_ADDRS = frozenset({SPOOF4, SPOOF6})

_hex = st.binary(min_size=1, max_size=12).map(bytes.hex)

# option letter -> strategy for its argument ("" for a flag); family-dependent
# ones (-S, -r, -z, -T) are drawn in :func:`_line`.
PING_ARGS: dict[str, st.SearchStrategy[str]] = {
    "A": u32.map(str),
    "b": st.integers(0, 64).map(str),
    "B": _hex,
    "c": st.sampled_from(["1", "2"]),
    "C": st.one_of(st.just("0x2323"), u16.map(str)),
    "d": u16.map(str),
    "F": u16.map(str),
    "i": st.sampled_from(["0.01", "0.05", "0.1", "20ms", "0.2s"]),
    "m": st.integers(1, 255).map(str),
    "M": st.sampled_from(["0", "576", "1280", "1500"]),
    "o": st.integers(0, 2).map(str),
    "O": st.sampled_from(sorted(PING_O_FLAGS) + ["mss=1460"]),
    "p": st.text("0123456789abcdef", min_size=1, max_size=32),
    "P": st.sampled_from(sorted(PING_METHODS)),
    "r": st.just("router"),
    "R": st.just(""),
    "s": st.integers(0, 160).map(str),
    "S": st.just("src"),
    "T": st.sampled_from(["tsonly", "tsandaddr", f"tsprespec={OURS4},127.0.0.1"]),
    "W": st.sampled_from(["0.05", "0.1", "0.3", "1"]),
    "y": st.integers(0, 2).map(str),
    "z": u8.map(str),
}
TRACE_ARGS: dict[str, st.SearchStrategy[str]] = {
    "c": st.sampled_from(["95", "99"]),
    "d": st.integers(1, 65535).map(str),
    "f": st.integers(1, 3).map(str),
    "g": st.integers(1, 3).map(str),
    "G": st.sampled_from(["1", "2"]),
    "H": st.sampled_from(["0", "0.05"]),
    "l": st.integers(0, 3).map(str),
    "m": st.integers(1, 3).map(str),
    "M": st.just(""),
    "N": st.integers(1, 2).map(str),
    "o": st.integers(0, 64).map(str),
    "O": st.sampled_from(sorted(TRACE_O_FLAGS)),
    "p": _hex,
    "P": st.sampled_from(sorted(TRACE_METHODS)),
    "q": st.sampled_from(["1", "2"]),
    "Q": st.just(""),
    "r": st.just("router"),
    "s": u16.map(str),
    "S": st.just("src"),
    "t": u8.map(str),
    "T": st.just(""),
    "w": st.just("1"),
    "W": st.sampled_from(["0", "1", "5"]),
    "y": st.integers(0, 2).map(str),
    "z": st.just("gss"),
    "Z": st.sampled_from(["lssA", "lssB"]),
}
# Given on every line so that no measurement runs for long: ping's default
# is 4 probes a second apart, trace's 2 attempts of 5 s up to TTL 255.
PING_ALWAYS = ("c",)
TRACE_ALWAYS = ("q", "w", "m")

for _word, _table, _spec in (("ping", PING_ARGS, PING_OPTIONS),
                             ("trace", TRACE_ARGS, TRACE_OPTIONS)):
    _missing = {o.letter for o in _spec} - set(_table) - {"U"}
    assert not _missing, f"no generator for {_word} options {sorted(_missing)}"


@st.composite
def _line(draw: st.DrawFn, word: str, table: dict[str, st.SearchStrategy[str]],
          always: tuple[str, ...], dsts4: tuple[str, ...], dsts6: tuple[str, ...],
          hot: tuple[str, ...] = ()) -> str:
    v6 = draw(st.booleans())
    dst = draw(st.sampled_from(dsts6 if v6 else dsts4))
    optional = sorted(set(table) - set(always))
    letters = set(draw(st.lists(st.sampled_from(optional), max_size=4)))
    if hot:
        letters |= set(draw(st.lists(st.sampled_from(hot), max_size=2)))
    letters |= set(always)
    words = [word]
    o_values = []
    if "O" in letters:
        o_values = draw(st.lists(table["O"], min_size=1, max_size=2, unique=True))
        if word == "trace":
            o_values = o_values[:1]  # ping and trace allow -O twice; keep it short
        for v in o_values:
            words += ["-O", v]
    for letter in sorted(letters - {"O"}):
        value = draw(table[letter])
        if letter == "S":
            # A spoofed source only with -O spoof, and only from SPOOF_ADDRS;
            # otherwise ours, or not ours (which must never reach the wire).
            ours = OURS_SRC6 if v6 else OURS_SRC4
            if "spoof" in o_values:
                pool = [SPOOF6 if v6 else SPOOF4, *ours, SPOOF4 if v6 else SPOOF6]
            else:
                pool = [NOT_OURS6 if v6 else NOT_OURS4, *ours, NOT_OURS4 if v6 else NOT_OURS6]
            value = draw(st.sampled_from(pool))
        elif letter == "r":
            value = draw(st.sampled_from([SILENT6[0] if v6 else SILENT4[0], OURS4]))
        elif letter == "z":
            gss = draw(st.lists(st.sampled_from(DSTS6 if v6 else DSTS4), min_size=1,
                                max_size=2))
            words += [w for g in gss for w in ("-z", g)]
            continue
        words += [f"-{letter}", value] if value else [f"-{letter}"]
    words.append(dst)
    return " ".join(words)


def ping_lines() -> st.SearchStrategy[str]:
    return _line("ping", PING_ARGS, PING_ALWAYS, DSTS4, DSTS6)


def trace_lines() -> st.SearchStrategy[str]:
    return _line("trace", TRACE_ARGS, TRACE_ALWAYS, DSTS4, DSTS6)


def edge_lines() -> st.SearchStrategy[str]:
    """Destinations where things go wrong at once, with the options most
    likely to matter there (-M, -S, -O) drawn more often."""
    return st.one_of(
        _line("ping", PING_ARGS, PING_ALWAYS, EDGE4, EDGE6, hot=("M", "S", "O", "r")),
        _line("trace", TRACE_ARGS, TRACE_ALWAYS, EDGE4, EDGE6, hot=("M", "S", "P")))


def with_userid(line: str, userid: int) -> str:
    word, _, rest = line.partition(" ")
    return f"{word} -U {userid} {rest}"


def budget(line: str) -> float:
    """Seconds the command may run before its result is overdue (without the
    slack the caller adds); 0 for a line the grammar refuses."""
    try:
        cmd = parse_command(line)
    except CommandError:
        return 0.0
    if isinstance(cmd, PingCommand):
        return ((cmd.attempts - 1) * cmd.wait_probe_us + cmd.wait_timeout_us) / 1e6
    per_hop = max(cmd.attempts, 8 if cmd.confidence else 0)
    hops = cmd.max_ttl
    probes = hops * per_hop * (2 if cmd.is_doubletree else 1) + per_hop  # + last-ditch
    seconds = probes * (cmd.wait_timeout_us + cmd.wait_probe_us + cmd.wait_probe_hop_us) / 1e6
    if TraceFlag.PMTUD in cmd.flags:
        seconds += 30  # PMTUD's searches: many probes, each may time out
    return seconds


def accepted(line: str) -> bool:
    """Whether the grammar takes the line (the daemon then says OK id-N)."""
    try:
        parse_command(line)
    except CommandError:
        return False
    return True
