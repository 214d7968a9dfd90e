"""dealias probe definitions: the text of one ``-p`` (scamper 20260420's
``dealias_probedef_args`` and ``probedef_size_check``, scamper_dealias_cmd.c).

A probedef is parsed in two steps, because scamper fills it in two: the
``-p`` text alone gives a :class:`ProbedefArgs` (the destination only if
``-i`` named one), and the method then places it, with
:meth:`ProbedefArgs.place`, at its destination and index, which applies the
method's default TTL and checks the size against the destination's family.
Where the method does that decides the order of its errors, so each method
calls ``place`` where scamper calls ``probedef_size_check``.

The text has its own small option table, :data:`PROBEDEF_OPTIONS`, and its
own rules, unlike the command's:

* a repeated option is an error (``-d repeated in probedef``), noticed
  before the repeat's parameter is checked; the command itself never checks
  repeats;
* errors carry no ``-X failed:`` prefix (``dport must be within 1-65535``);
* anything left after the options is an error (``invalid option string``),
  and so is an empty text: ``-p ''`` leaves "" behind, not nothing;
* without ``-P`` the probe is ``udp``; ICMP refuses ``-d`` and ``-F``, UDP
  and TCP refuse ``-c``; the TCP flags follow from the method (ACK for the
  tcp-ack methods, SYN for tcp-syn-sport);
* the default source port and the ICMP id are the daemon's
  (``scamper_sport_default()``); the default destination port is 33435;
* numbers are C's ``strtol`` with base 0.  ``-c`` is a STR option, so it
  alone takes hex (``-c 0xe9b8``), leading spaces and trailing junk.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv4Address, IPv6Address

from ..cstrings import IPAddress, inet_pton
from ..errors import CommandError
from ..options import (
    ArgType,
    OptionError,
    OptionSpec,
    TokenizeError,
    choice,
    ranged,
    tokenize,
)
from .base import CommandContext


class ProbedefMethod(IntEnum):
    """SCAMPER_DEALIAS_PROBEDEF_METHOD_*."""

    ICMP_ECHO = 1
    TCP_ACK = 2
    UDP = 3
    TCP_ACK_SPORT = 4
    UDP_DPORT = 5
    TCP_SYN_SPORT = 6


P = ProbedefMethod
# strcasecmp against scamper's names; "icmp" alone is not one of them.
PROBEDEF_METHOD_NAMES: dict[str, ProbedefMethod] = {
    "icmp-echo": P.ICMP_ECHO,
    "tcp-ack": P.TCP_ACK,
    "udp": P.UDP,
    "tcp-ack-sport": P.TCP_ACK_SPORT,
    "udp-dport": P.UDP_DPORT,
    "tcp-syn-sport": P.TCP_SYN_SPORT,
}
ICMP_METHODS = frozenset({P.ICMP_ECHO})
UDP_METHODS = frozenset({P.UDP, P.UDP_DPORT})
TCP_METHODS = frozenset({P.TCP_ACK, P.TCP_ACK_SPORT, P.TCP_SYN_SPORT})
VARY_TCP_SPORT_METHODS = frozenset({P.TCP_ACK_SPORT, P.TCP_SYN_SPORT})

TH_SYN, TH_ACK = 0x02, 0x10
DEFAULT_DPORT = 33435
MIN_SIZE = 20 + 8  # -s's own floor, before the family and protocol are known
# probedef_size_check: IP header, then the UDP or ICMP header plus the two
# payload bytes scamper keeps for its checksum games, or the TCP header.
IP_HEADER = {4: 20, 6: 40}
UDP_ICMP_EXTRA, TCP_EXTRA = 8 + 2, 20

_N, _S = ArgType.NUM, ArgType.STR


def _address(spec: OptionSpec, param: str) -> object:
    addr = inet_pton(param)
    if addr is None:
        raise OptionError("invalid destination in probedef")
    return addr


# In scamper's table order; the messages are scamper's, range and all.
PROBEDEF_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("c", "csum", _S, 0, 65535, convert=ranged("csum must be within 0-65535")),
    OptionSpec("d", "dport", _N, 1, 65535, convert=ranged("dport must be within 1-65535")),
    OptionSpec("F", "sport", _N, 1, 65535, convert=ranged("sport must be within 1-65535")),
    OptionSpec("i", "ip", _S, convert=_address),
    OptionSpec("P", "method", _S, convert=choice(PROBEDEF_METHOD_NAMES,
                                                 "invalid probedef method")),
    OptionSpec("s", "size", _N, MIN_SIZE, 65535,
               convert=ranged(f"probe size must be within {MIN_SIZE}-65535")),
    OptionSpec("t", "ttl", _N, 1, 255, convert=ranged("ttl must be within 1-255")),
    OptionSpec("M", "mtu", _N, 100, 65535, convert=ranged("mtu size must be within 100-65535")),
)


@dataclass(frozen=True)
class Probedef:
    """scamper_dealias_probedef_t as a parsed command leaves it.

    ``id`` is the index among the measurement's probedefs.  ``size`` is the
    whole probe, IP header included (never below the family's and protocol's
    minimum, which is also the default); ``mtu`` (0: none) is the ``-M``
    pseudo-MTU.  scamper keeps the ports, the ICMP checksum and id, and the
    TCP flags in a union by protocol; here they are separate fields, 0 where
    the protocol has none: ``sport``/``dport`` for UDP and TCP,
    ``icmp_csum``/``icmp_id`` for ICMP, ``tcp_flags`` for TCP.  ``tos`` is
    always 0: no option sets it.  The source address is the daemon's to
    choose when the probe is sent.
    """

    dst: IPAddress
    id: int
    method: ProbedefMethod
    ttl: int
    size: int
    mtu: int = 0
    tos: int = 0
    sport: int = 0
    dport: int = 0
    icmp_csum: int = 0
    icmp_id: int = 0
    tcp_flags: int = 0

    @property
    def is_icmp(self) -> bool:
        return self.method in ICMP_METHODS

    @property
    def is_udp(self) -> bool:
        return self.method in UDP_METHODS

    @property
    def is_tcp(self) -> bool:
        return self.method in TCP_METHODS

    @property
    def is_vary_tcp_sport(self) -> bool:
        return self.method in VARY_TCP_SPORT_METHODS


@dataclass(frozen=True)
class ProbedefArgs:
    """A probedef as its ``-p`` text gives it, before its method places it.

    ``dst`` is the ``-i`` address (None without one); ``ttl`` and ``size``
    are 0 when not given, which :meth:`place` resolves.
    """

    method: ProbedefMethod
    dst: IPAddress | None = None
    ttl: int = 0
    size: int = 0
    mtu: int = 0
    sport: int = 0
    dport: int = 0
    icmp_csum: int = 0
    icmp_id: int = 0
    tcp_flags: int = 0

    def place(self, dst: IPAddress, id: int, default_ttl: int) -> Probedef:
        """The probedef at ``dst``, index ``id``: the TTL defaulted and the
        size checked against (or defaulted to) the smallest probe of the
        destination's family and the protocol."""
        least = IP_HEADER[dst.version] + (TCP_EXTRA if self.method in TCP_METHODS
                                          else UDP_ICMP_EXTRA)
        if self.size == 0:
            size = least
        elif self.size < least:
            raise CommandError(f"probedef size {self.size} too small")
        else:
            size = self.size
        return Probedef(dst=dst, id=id, method=self.method, ttl=self.ttl or default_ttl,
                        size=size, mtu=self.mtu, sport=self.sport, dport=self.dport,
                        icmp_csum=self.icmp_csum, icmp_id=self.icmp_id,
                        tcp_flags=self.tcp_flags)


def default_probedef(ctx: CommandContext) -> ProbedefArgs:
    """The probedef a method makes up when given none: UDP from the daemon's
    source port to 33435 (TTL and size left to :meth:`ProbedefArgs.place`)."""
    return ProbedefArgs(method=P.UDP, sport=ctx.default_sport, dport=DEFAULT_DPORT)


def parse_probedef(s: str, ctx: CommandContext) -> ProbedefArgs:
    """One ``-p`` text; raise CommandError with scamper's reason."""
    try:
        tokens, rest = tokenize(s, PROBEDEF_OPTIONS)
    except TokenizeError:
        raise CommandError("could not parse probedef options") from None
    given: dict[str, object] = {}
    for spec, param in tokens:
        if spec.letter in given:
            raise CommandError(f"-{spec.letter} repeated in probedef")
        assert param is not None  # every probedef option takes a parameter
        try:
            given[spec.letter] = spec.convert(spec, param)
        except OptionError as exc:
            raise CommandError(str(exc)) from None
    if rest is not None:
        raise CommandError("invalid option string")

    def number(letter: str, default: int) -> int:
        value = given.get(letter, default)
        assert isinstance(value, int)
        return value

    method = ProbedefMethod(number("P", P.UDP))
    dst = given.get("i")
    assert dst is None or isinstance(dst, IPv4Address | IPv6Address)
    sport = dport = icmp_csum = icmp_id = tcp_flags = 0
    if method in UDP_METHODS or method in TCP_METHODS:
        if "c" in given:
            raise CommandError("csum option not permitted for "
                               + ("udp" if method in UDP_METHODS else "tcp"))
        sport, dport = number("F", ctx.default_sport), number("d", DEFAULT_DPORT)
        if method in TCP_METHODS:
            tcp_flags = TH_SYN if method is P.TCP_SYN_SPORT else TH_ACK
    else:
        if "F" in given:
            raise CommandError("sport option not permitted for icmp")
        if "d" in given:
            raise CommandError("dport option not permitted for icmp")
        icmp_csum, icmp_id = number("c", 0), ctx.default_sport
    return ProbedefArgs(method=method, dst=dst, ttl=number("t", 0), size=number("s", 0),
                        mtu=number("M", 0), sport=sport, dport=dport, icmp_csum=icmp_csum,
                        icmp_id=icmp_id, tcp_flags=tcp_flags)
