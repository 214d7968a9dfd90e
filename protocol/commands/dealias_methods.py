"""dealias's seven methods: what each makes of the command's options
(scamper 20260420's ``dealias_alloc_<method>``, scamper_dealias_cmd.c).

The command's options are gathered first into a :class:`DealiasArgs`,
scamper's ``dealias_options_t``, in which 0 (or nothing) means "not given",
as in scamper: no option takes 0, and where one can still end up 0 (``-@ 0``,
or ``-q 256`` once cut to 8 bits) scamper takes it as absent too.  Each
method then checks, in scamper's order (so the first error is scamper's),
which options and how many targets and probedefs it takes, fills in its
defaults, and returns its frozen ``*Params``, named after scamper's
per-method structs and fields (times in microseconds).

| method | targets after the options | probedefs (-p) | default TTL |
|---|---|---|---|
| mercator | one address | at most one, udp, no -i | 255 |
| ally | two addresses, or none if both defs have -i | 0, 1 or 2 (-i in both or none) | 255 |
| radargun | >= 2 addresses (1 with 2+ defs), or none | each x each address, or 2+ with -i | 255 |
| prefixscan | ``a b/len``, len 24..31 | exactly one, no -i | 255 |
| bump | none | exactly two, each with an IPv4 -i | 255 |
| midarest | >= 1 IPv4 address | >= 2, no -i, each x each address | 64 |
| midardisc | none | >= 2, each with -i, plus >= 2 -S rounds | 64 |

The "invalid parameters for <method>" tests (which options each method
refuses) are the rows of :data:`REFUSED`; what the others do with an option
a method does not use is nothing: scamper ignores it (mercator ``-r``,
radargun ``-f``, midardisc ``-q``...).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from ipaddress import IPv4Address
from typing import ClassVar

from ..cstrings import (
    IPAddress,
    inet_pton,
    string_nextword,
    string_tollong,
    timeval_fromstr,
    tollong,
)
from ..errors import CommandError
from ..options import MS, SEC
from .base import CommandContext
from .dealias_probedef import (
    Probedef,
    ProbedefArgs,
    ProbedefMethod,
    default_probedef,
    parse_probedef,
)


class DealiasMethod(IntEnum):
    """SCAMPER_DEALIAS_METHOD_*."""

    MERCATOR = 1
    ALLY = 2
    RADARGUN = 3
    PREFIXSCAN = 4
    BUMP = 5
    MIDAREST = 6
    MIDARDISC = 7


class AllyFlag(IntFlag):
    NOBS = 0x01  # -O nobs, and always for IPv6: no byte-swapped IP-ID test


class RadargunFlag(IntFlag):
    SHUFFLE = 0x01  # -O shuffle: a new probe order each round


class PrefixscanFlag(IntFlag):
    NOBS = 0x01  # -O nobs
    # CSA (0x02) is a result, set by the measurement, never by the command.


@dataclass(frozen=True)
class DealiasArgs:
    """The options as given, before a method reads them (dealias_options_t).

    ``attempts`` is already scamper's uint8: ``-q`` takes 1..500 but keeps
    the low 8 bits, so ``-q 256`` is "not given" and ``-q 300`` is 44.
    ``addr`` is the text after the options (None when they use up the
    line); ``probedefs``, ``xs`` and ``sched`` the texts of every ``-p``,
    ``-x`` and ``-S`` in order.  ``startat`` is signed, as scamper's
    ``long long`` makes it.
    """

    addr: str | None = None
    attempts: int = 0
    replyc: int = 0
    wait_timeout: int = 0
    wait_probe: int = 0
    wait_round: int = 0
    startat: int = 0
    fudge: int = 0
    probedefs: tuple[str, ...] = ()
    xs: tuple[str, ...] = ()
    sched: tuple[str, ...] = ()
    nobs: bool = False
    shuffle: bool = False
    inseq: bool = False


@dataclass(frozen=True)
class MercatorParams:
    """scamper_dealias_mercator_t: probe one address, up to ``attempts``
    times, each waited for ``wait_timeout_us``."""

    METHOD: ClassVar[DealiasMethod] = DealiasMethod.MERCATOR
    probedef: Probedef
    attempts: int = 3
    wait_timeout_us: int = 5 * SEC

    @property
    def probedefs(self) -> tuple[Probedef, ...]:
        return (self.probedef,)


@dataclass(frozen=True)
class AllyParams:
    """scamper_dealias_ally_t: ``attempts`` probes in all, alternating the two
    probedefs ``wait_probe_us`` apart.  ``fudge`` 0 (only with ``-O inseq``)
    asks for a strict sequence."""

    METHOD: ClassVar[DealiasMethod] = DealiasMethod.ALLY
    probedefs: tuple[Probedef, Probedef]
    wait_probe_us: int = 150 * MS
    wait_timeout_us: int = 5 * SEC
    attempts: int = 5
    flags: AllyFlag = AllyFlag(0)
    fudge: int = 200


@dataclass(frozen=True)
class RadargunParams:
    """scamper_dealias_radargun_t: ``rounds`` rounds, one probe per probedef
    per round, ``wait_probe_us`` apart, a round lasting ``wait_round_us``."""

    METHOD: ClassVar[DealiasMethod] = DealiasMethod.RADARGUN
    probedefs: tuple[Probedef, ...]
    rounds: int = 30
    flags: RadargunFlag = RadargunFlag(0)
    wait_probe_us: int = 150 * MS
    wait_round_us: int = 0
    wait_timeout_us: int = 5 * SEC


@dataclass(frozen=True)
class PrefixscanParams:
    """scamper_dealias_prefixscan_t: look in ``b``'s /``prefix`` for an alias
    of ``a``, skipping ``xs``.  ``probedefs`` is the one probedef, aimed at
    ``a`` (the measurement adds one per candidate).  ``xs`` holds no
    duplicates and is in scamper's order, which its binary search needs and
    its warts record keeps: that of a 64-bit little-endian build, which
    reads the address's bytes as native integers (see ``_xs_key``)."""

    METHOD: ClassVar[DealiasMethod] = DealiasMethod.PREFIXSCAN
    a: IPAddress
    b: IPAddress
    prefix: int
    probedefs: tuple[Probedef]
    xs: tuple[IPAddress, ...] = ()
    attempts: int = 2
    replyc: int = 5
    fudge: int = 200
    wait_probe_us: int = 1 * SEC
    wait_timeout_us: int = 5 * SEC
    flags: PrefixscanFlag = PrefixscanFlag(0)


@dataclass(frozen=True)
class BumpParams:
    """scamper_dealias_bump_t: ``bump_limit`` is ``-f``."""

    METHOD: ClassVar[DealiasMethod] = DealiasMethod.BUMP
    probedefs: tuple[Probedef, Probedef]
    wait_probe_us: int = 1 * SEC
    bump_limit: int = 30
    attempts: int = 3


@dataclass(frozen=True)
class MidarestParams:
    """scamper_dealias_midarest_t: every probedef at every address,
    probedef-major."""

    METHOD: ClassVar[DealiasMethod] = DealiasMethod.MIDAREST
    probedefs: tuple[Probedef, ...]
    rounds: int = 30
    wait_probe_us: int = 0
    wait_round_us: int = 0
    wait_timeout_us: int = 1 * SEC


@dataclass(frozen=True)
class MidardiscRound:
    """scamper_dealias_midardisc_round_t: probe ``probedefs[begin:end]``
    starting ``start_us`` after the measurement's start."""

    start_us: int
    begin: int
    end: int


@dataclass(frozen=True)
class MidardiscParams:
    """scamper_dealias_midardisc_t: ``startat_us`` (microseconds since the
    epoch) is None without ``-@``."""

    METHOD: ClassVar[DealiasMethod] = DealiasMethod.MIDARDISC
    probedefs: tuple[Probedef, ...]
    sched: tuple[MidardiscRound, ...]
    startat_us: int | None = None
    wait_timeout_us: int = 1 * SEC


DealiasParams = (MercatorParams | AllyParams | RadargunParams | PrefixscanParams | BumpParams
                 | MidarestParams | MidardiscParams)

M = DealiasMethod
# Which given options make each method answer "invalid parameters for
# <method>" (scamper tests them all at once, so their order does not
# matter).  The counts of -p, -S and targets are checked in the builders.
REFUSED: dict[DealiasMethod, tuple[str, ...]] = {
    M.MERCATOR: ("xs", "sched", "wait_probe", "startat", "fudge", "nobs", "replyc", "shuffle",
                 "inseq"),
    M.ALLY: ("xs", "sched", "startat", "replyc", "shuffle"),
    M.RADARGUN: ("xs", "sched", "startat", "nobs", "replyc", "inseq"),
    M.PREFIXSCAN: ("sched", "startat", "shuffle"),
    M.BUMP: ("xs", "sched", "startat", "replyc", "shuffle", "wait_timeout"),
    M.MIDAREST: ("xs", "sched", "startat", "nobs", "replyc", "inseq"),
    M.MIDARDISC: ("xs", "nobs", "replyc", "inseq", "wait_probe", "wait_round"),
}
# ally, prefixscan and bump also refuse -O inseq together with -f.
INSEQ_EXCLUDES_FUDGE = frozenset({M.ALLY, M.PREFIXSCAN, M.BUMP})
# midarest keeps its probedef count in scamper's uint16.
MIDAREST_PROBEDEFS_MAX = 65535


def _check(o: DealiasArgs, method: DealiasMethod, ok: bool = True) -> None:
    """Refuse the options ``method`` does not take.  ``ok`` is the rest of
    the same test in scamper, the builder's counts of -p, -S and targets."""
    refused = any(getattr(o, name) for name in REFUSED[method])
    if method in INSEQ_EXCLUDES_FUDGE and o.inseq and o.fudge:
        refused = True
    if refused or not ok:
        raise CommandError(f"invalid parameters for {method.name.lower()}")


def _can_probe(ctx: CommandContext, addr: IPAddress) -> bool:
    return ctx.can_probe is None or ctx.can_probe(addr)


def _dnp(ctx: CommandContext, *addrs: IPAddress) -> None:
    if not all(_can_probe(ctx, a) for a in addrs):
        raise CommandError("destination in do-not-probe list")


def _resolve(text: str, family: int = socket.AF_UNSPEC,
             why: str = "could not resolve address") -> IPAddress:
    addr = inet_pton(text, family)
    if addr is None:
        raise CommandError(why)
    return addr


def _words(addr: str) -> Iterator[str]:
    """The whitespace-separated words of the targets, as scamper walks them
    (an empty text is one empty word, which no address matches)."""
    rest: str | None = addr
    while rest is not None:
        word, rest = string_nextword(rest)
        yield word


def mercator(o: DealiasArgs, ctx: CommandContext) -> MercatorParams:
    if o.addr is None:
        raise CommandError("expected target address for mercator")
    dst = _resolve(o.addr, why="invalid target address")
    _dnp(ctx, dst)
    _check(o, M.MERCATOR, len(o.probedefs) <= 1 and o.attempts <= 3)
    if o.probedefs:
        args = parse_probedef(o.probedefs[0], ctx)
        if args.method is not ProbedefMethod.UDP:
            raise CommandError("expected UDP probedef method for mercator")
        if args.dst is not None:
            raise CommandError("unexpected dst in mercator probedef")
    else:
        args = default_probedef(ctx)
    return MercatorParams(probedef=args.place(dst, 0, 255), attempts=o.attempts or 3,
                          wait_timeout_us=o.wait_timeout or 5 * SEC)


def ally(o: DealiasArgs, ctx: CommandContext) -> AllyParams:
    _check(o, M.ALLY, len(o.probedefs) <= 2)
    parsed = [parse_probedef(s, ctx) for s in o.probedefs]
    if not parsed:
        parsed = [default_probedef(ctx)] * 2
    elif len(parsed) == 1:
        # One probedef serves both addresses, which come after the options.
        if parsed[0].dst is not None or o.addr is None:
            raise CommandError("dst IP specified incorrectly")
        parsed.append(parsed[0])
    if o.addr is None:
        dst0, dst1 = parsed[0].dst, parsed[1].dst
        if dst0 is None or dst1 is None:
            raise CommandError("expected dst in ally probedef")
    else:
        if parsed[0].dst is not None or parsed[1].dst is not None:
            raise CommandError("unexpected dst in ally probedef")
        first, second = string_nextword(o.addr)
        if second is None:
            raise CommandError("expected second address")
        # The second address is all the rest, so a third word (or a
        # trailing space) makes it unresolvable.
        dst0, dst1 = _resolve(first), _resolve(second)
    if dst0.version != dst1.version:
        raise CommandError("dst IP specified incorrectly")
    _dnp(ctx, dst0, dst1)
    flags = AllyFlag.NOBS if o.nobs or dst0.version == 6 else AllyFlag(0)
    return AllyParams(
        probedefs=(parsed[0].place(dst0, 0, 255), parsed[1].place(dst1, 1, 255)),
        wait_probe_us=o.wait_probe or 150 * MS, wait_timeout_us=o.wait_timeout or 5 * SEC,
        attempts=o.attempts or 5, flags=flags, fudge=o.fudge or (0 if o.inseq else 200))


def radargun(o: DealiasArgs, ctx: CommandContext) -> RadargunParams:
    _check(o, M.RADARGUN)
    addrs = None if o.addr is None else [_resolve(w) for w in _words(o.addr)]
    defs: list[tuple[ProbedefArgs, IPAddress]] = []
    if not o.probedefs:
        if addrs is None or len(addrs) < 2:
            raise CommandError("expected at least two addresses")
        defs = [(default_probedef(ctx), a) for a in addrs]
    elif addrs is not None:
        if len(addrs) < 2 and len(o.probedefs) == 1:
            raise CommandError("expected at least two addresses")
        for text in o.probedefs:
            args = parse_probedef(text, ctx)
            if args.dst is not None:
                raise CommandError("unexpected dst in radargun probedef")
            defs += [(args, a) for a in addrs]
    else:
        if len(o.probedefs) < 2:
            raise CommandError("expected at least two probedefs")
        for text in o.probedefs:
            args = parse_probedef(text, ctx)
            if args.dst is None:
                raise CommandError("expected dst in radargun probedef")
            defs.append((args, args.dst))
    # Definitions towards the do-not-probe list are dropped, not refused,
    # unless fewer than two remain.
    defs = [(args, dst) for args, dst in defs if _can_probe(ctx, dst)]
    if len(defs) < 2:
        raise CommandError("destination in do-not-probe list")
    wait_probe = o.wait_probe or 150 * MS
    placed: list[Probedef] = []
    for i, (args, dst) in enumerate(defs):
        pd = args.place(dst, i, 255)
        if placed and dst.version != placed[0].dst.version:
            raise CommandError("mixed address families")
        placed.append(pd)
    return RadargunParams(
        probedefs=tuple(placed), rounds=o.attempts or 30,
        flags=RadargunFlag.SHUFFLE if o.shuffle else RadargunFlag(0), wait_probe_us=wait_probe,
        wait_round_us=o.wait_round or wait_probe * len(placed),
        wait_timeout_us=o.wait_timeout or 5 * SEC)


def _xs_key(addr: IPAddress) -> tuple[int, ...]:
    """scamper_addr_cmp in a 64-bit little-endian build (x86-64, arm64): an
    IPv4 address compared as one native uint32, an IPv6 address as two
    native uint64s (a build where long has 32 bits compares four uint32s)."""
    b = addr.packed
    return tuple(int.from_bytes(b[i:i + 8], "little") for i in range(0, len(b), 8))


def prefixscan(o: DealiasArgs, ctx: CommandContext) -> PrefixscanParams:
    _check(o, M.PREFIXSCAN, len(o.probedefs) == 1 and o.addr is not None)
    assert o.addr is not None
    first, second = string_nextword(o.addr)
    if second is None:
        raise CommandError("expected second address")
    slash = second.find("/")
    if slash < 0:
        raise CommandError("expected prefix")
    # strtol base 0: "030" is 24, and anything after the number is ignored.
    prefix = tollong(second[slash + 1:])
    if prefix is None or not 24 <= prefix < 32:
        raise CommandError("invalid prefix")
    args = parse_probedef(o.probedefs[0], ctx)
    if args.dst is not None:
        raise CommandError("unexpected dst in prefixscan probedef")
    a = _resolve(first)
    family = socket.AF_INET if a.version == 4 else socket.AF_INET6
    b = _resolve(second[:slash], family)
    _dnp(ctx, a)
    pd = args.place(a, 0, 255)
    # scamper 20260420 adds each -x through the record's method data before
    # it has set it, and so dies at the first resolvable -x: there is no
    # behaviour to copy.  This does what that code means to: a set of
    # addresses of a's family, at most 65535, kept in scamper's order.
    xs: set[IPAddress] = set()
    for text in o.xs:
        x = _resolve(text, family)
        if x not in xs:
            if len(xs) == 65535:
                raise CommandError("could not add address to xs")
            xs.add(x)
    return PrefixscanParams(
        a=a, b=b, prefix=prefix, probedefs=(pd,), xs=tuple(sorted(xs, key=_xs_key)),
        attempts=o.attempts or 2, replyc=o.replyc or 5,
        fudge=o.fudge or (0 if o.inseq else 200), wait_probe_us=o.wait_probe or 1 * SEC,
        wait_timeout_us=o.wait_timeout or 5 * SEC,
        flags=PrefixscanFlag.NOBS if o.nobs else PrefixscanFlag(0))


def bump(o: DealiasArgs, ctx: CommandContext) -> BumpParams:
    _check(o, M.BUMP, len(o.probedefs) == 2 and o.addr is None)
    placed = []
    for i, text in enumerate(o.probedefs):
        args = parse_probedef(text, ctx)
        if not isinstance(args.dst, IPv4Address):
            raise CommandError(f"expected IPv4 dst in probedef {i}")
        placed.append(args.place(args.dst, i, 255))
    _dnp(ctx, placed[0].dst, placed[1].dst)
    # -O inseq has nothing to act on: the limit is 30 whatever it says.
    return BumpParams(probedefs=(placed[0], placed[1]), wait_probe_us=o.wait_probe or 1 * SEC,
                      bump_limit=o.fudge or 30, attempts=o.attempts or 3)


def midarest(o: DealiasArgs, ctx: CommandContext) -> MidarestParams:
    _check(o, M.MIDAREST, len(o.probedefs) >= 2 and o.addr is not None)
    assert o.addr is not None
    parsed = []
    for text in o.probedefs:
        args = parse_probedef(text, ctx)
        if args.dst is not None:
            raise CommandError("unexpected dst in midarest probedef")
        parsed.append(args)
    addrs, dropped = [], 0
    for word in _words(o.addr):
        addr = _resolve(word, socket.AF_INET, "could not resolve IPv4 address")
        if _can_probe(ctx, addr):
            addrs.append(addr)
        else:
            dropped += 1
    if dropped and not addrs:
        raise CommandError("destination in do-not-probe list")
    if not addrs:
        raise CommandError("no addresses to probe")
    count = len(parsed) * len(addrs)
    if count > MIDAREST_PROBEDEFS_MAX:
        # scamper truncates the count to its uint16 and then writes past the
        # array it sized with it; refused here instead.
        raise CommandError("too many midarest probedefs")
    placed = tuple(args.place(addr, i * len(addrs) + j, 64)
                   for i, args in enumerate(parsed) for j, addr in enumerate(addrs))
    if not o.wait_probe:
        wait_round = o.wait_round or 10 * SEC
        wait_probe = wait_round // count
    else:
        wait_probe = o.wait_probe
        wait_round = o.wait_round or wait_probe * count
        if wait_probe * count > wait_round:
            raise CommandError("invalid wait_round given wait_probe")
    return MidarestParams(probedefs=placed, rounds=o.attempts or 30, wait_probe_us=wait_probe,
                          wait_round_us=wait_round, wait_timeout_us=o.wait_timeout or 1 * SEC)


def _round(text: str, probedefc: int) -> MidardiscRound | None:
    """One ``-S start:begin:end``: start a time in seconds by default,
    begin < probedefc, begin <= end <= probedefc, the numbers in base 10
    (strtoll: leading spaces and a sign allowed)."""
    start_text, colon, rest = text.partition(":")
    if not colon:
        return None
    start = timeval_fromstr(start_text, SEC)
    if start is None:
        return None
    parsed = string_tollong(rest, 10)
    if parsed is None or rest[parsed[1]:parsed[1] + 1] != ":" or not 0 <= parsed[0] < probedefc:
        return None
    begin, rest = parsed[0], rest[parsed[1] + 1:]
    parsed = string_tollong(rest, 10)
    if parsed is None or parsed[1] != len(rest) or not begin <= parsed[0] <= probedefc:
        return None
    return MidardiscRound(start_us=start, begin=begin, end=parsed[0])


def midardisc(o: DealiasArgs, ctx: CommandContext) -> MidardiscParams:
    _check(o, M.MIDARDISC, len(o.probedefs) >= 2 and len(o.sched) >= 2 and o.addr is None)
    placed = []
    for i, text in enumerate(o.probedefs):
        args = parse_probedef(text, ctx)
        if args.dst is None:
            raise CommandError("expected dst in midardisc probedef")
        placed.append(args.place(args.dst, i, 64))
    # midardisc alone does not consult the do-not-probe list (20260420).
    sched: list[MidardiscRound] = []
    for i, text in enumerate(o.sched):
        r = _round(text, len(placed))
        if r is None:
            raise CommandError(f"malformed midardisc round {i}")
        if sched and (sched[-1].begin > r.begin or sched[-1].end > r.end
                      or sched[-1].start_us >= r.start_us):
            raise CommandError(f"invalid round given round {i}")
        sched.append(r)
    return MidardiscParams(probedefs=tuple(placed), sched=tuple(sched),
                           startat_us=o.startat or None,
                           wait_timeout_us=o.wait_timeout or 1 * SEC)


Builder = Callable[[DealiasArgs, CommandContext], DealiasParams]
BUILDERS: dict[DealiasMethod, Builder] = {
    M.MERCATOR: mercator,
    M.ALLY: ally,
    M.RADARGUN: radargun,
    M.PREFIXSCAN: prefixscan,
    M.BUMP: bump,
    M.MIDAREST: midarest,
    M.MIDARDISC: midardisc,
}
