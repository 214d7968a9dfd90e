"""The trace command grammar of scamper 20260420 (scamper_trace_cmd.c).

:data:`TRACE_OPTIONS` states every option with scamper's parameter kind (which
decides tokenizing: ``-d`` and ``-t`` are STR so ``-d 0x10`` passes), name,
range and default; :func:`parse_trace` then applies scamper's cross-option
checks in scamper's order, so the first error reported is the one scamper
reports, and resolves every value the trace method needs into a frozen
:class:`TraceCommand`.

Where scamper's code and its man page disagree, the code wins: ``-g 0`` is
rejected, ``-s`` is the source port (not a probe size), ``-w`` counts whole
seconds and ``-W`` counts 10 ms units.  Facts the code implies but does not
say outright are noted at the check that implies them.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from ipaddress import IPv4Address, IPv6Address

from ..cstrings import UINT32_MAX, IPAddress, inet_pton, string_ishex, timeval_fromstr, tollong
from ..errors import CommandError
from ..options import SEC, ArgType, OptionError, OptionSpec, choice, parse_options, text
from .base import CommandContext


class TraceMethod(IntEnum):
    """SCAMPER_TRACE_TYPE_*: the probe method, with scamper's numbers."""

    ICMP_ECHO = 0x01
    UDP = 0x02
    TCP = 0x03
    ICMP_ECHO_PARIS = 0x04
    UDP_PARIS = 0x05
    TCP_ACK = 0x06


class TraceFlag(IntFlag):
    """SCAMPER_TRACE_FLAG_*."""

    ALLATTEMPTS = 0x01  # -Q
    PMTUD = 0x02  # -M
    DL = 0x04  # -O dl
    IGNORETTLDST = 0x08  # -T
    DOUBLETREE = 0x10  # set when -z or -Z is given
    ICMPCSUMDP = 0x20  # icmp-paris: the ICMP checksum is in dport
    CONSTPAYLOAD = 0x40  # -O const-payload
    RXERR = 0x80  # set by the daemon when it probes through an rxerr socket
    PTR = 0x100  # -O ptr
    RAW = 0x200  # -O raw
    BACK = 0x400  # -O back


class TraceDtreeFlag(IntFlag):
    """SCAMPER_TRACE_DTREE_FLAG_*."""

    NOBACK = 0x01  # -O dtree-noback


class TraceGapAction(IntEnum):
    """SCAMPER_TRACE_GAPACTION_* (-G)."""

    STOP = 0x01
    LASTDITCH = 0x02  # probe at TTL 255 once the gap limit is reached


M = TraceMethod
# strcasecmp against these words, in scamper's order.
METHOD_NAMES: dict[str, TraceMethod] = {
    "udp": M.UDP,
    "tcp": M.TCP,
    "icmp": M.ICMP_ECHO,
    "icmp-paris": M.ICMP_ECHO_PARIS,
    "udp-paris": M.UDP_PARIS,
    "tcp-ack": M.TCP_ACK,
}
ICMP_METHODS = frozenset({M.ICMP_ECHO, M.ICMP_ECHO_PARIS})
UDP_METHODS = frozenset({M.UDP, M.UDP_PARIS})
TCP_METHODS = frozenset({M.TCP, M.TCP_ACK})
PARIS_METHODS = frozenset({M.UDP_PARIS, M.ICMP_ECHO_PARIS})

# -O words.  "ptr" needs scamper built with host support, which is the default
# build and what this daemon offers.
O_FLAGS: dict[str, TraceFlag | TraceDtreeFlag] = {
    "back": TraceFlag.BACK,
    "const-payload": TraceFlag.CONSTPAYLOAD,
    "dl": TraceFlag.DL,
    "dtree-noback": TraceDtreeFlag.NOBACK,
    "ptr": TraceFlag.PTR,
    "raw": TraceFlag.RAW,
}

DEFAULT_DPORT = 32768 + 666 + 1  # 33435, traceroute's traditional base port
DEFAULT_WAIT_TIMEOUT = 5 * SEC
MAX_HOPLIMIT = 255  # what hoplimit 0 means
GSS_MAX = 65535  # a gss of this many entries or more is refused
TCP_HEADER, UDP_HEADER, ICMP_ECHO_HEADER = 20, 8, 8
V6_FRAG_HEADER = 8
FRAG_MATCH_BYTES = 4  # fragment traceroute's payload starts with the probe counter


def _wait_timeout(spec: OptionSpec, param: str) -> object:
    """-w: whole seconds, 1..10 (the default unit is seconds)."""
    us = timeval_fromstr(param, SEC)
    if us is None:
        raise OptionError("malformed timeout")
    if us % SEC:
        raise OptionError("timeout cannot have fractions of second")
    if not 1 * SEC <= us <= 10 * SEC:
        raise OptionError("timeout must be within 1s - 10s")
    return us


def _wait_probe(spec: OptionSpec, param: str) -> object:
    """-W: counted in 10 ms units without a suffix (``-W 69`` is 690 ms), a
    multiple of 10 ms, at most 2 s."""
    us = timeval_fromstr(param, 10000)
    if us is None:
        raise OptionError("malformed inter-probe delay")
    if us % 10000:
        raise OptionError("inter-probe granularity limited to 10ms")
    if us > 2 * SEC:
        raise OptionError("inter-probe delay cannot be > 2s")
    return us


def _wait_probe_hop(spec: OptionSpec, param: str) -> object:
    """-H: seconds by default, any granularity, at most 2 s."""
    us = timeval_fromstr(param, SEC)
    if us is None:
        raise OptionError("malformed wait-probe-hop delay")
    if us > 2 * SEC:
        raise OptionError("wait-probe-hop delay cannot be > 2s")
    return us


def _confidence(spec: OptionSpec, param: str) -> object:
    value = tollong(param)
    if value not in (95, 99):
        raise OptionError("confidence must be 95 or 99")
    return value


def _payload(spec: OptionSpec, param: str) -> object:
    digits = string_ishex(param)
    if digits == 0:
        raise OptionError("payload must be specified in hex")
    if digits % 2:
        raise OptionError("expected even number of hex characters")
    return bytes.fromhex(param)


def _squeries(spec: OptionSpec, param: str) -> object:
    """-N: scamper's limits table has no name for squeries, so its range error
    prints glibc's rendering of a NULL string."""
    value = tollong(param)
    if value is None or not 1 <= value <= 255:
        raise OptionError("(null) must be within 1 - 255")
    return value


_N, _S, _F = ArgType.NUM, ArgType.STR, ArgType.NULL

TRACE_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("c", "confidence", _N, default=0, convert=_confidence),
    # -d and -t are STR in scamper's table, so hex passes the tokenizer.
    OptionSpec("d", "dport", _S, 1, 65535, default=DEFAULT_DPORT),
    OptionSpec("f", "firsthop", _N, 1, 255, default=1),
    # scamper's man page says -g 0 disables the gap limit; the code rejects it.
    OptionSpec("g", "gaplimit", _N, 1, 255, default=5),
    OptionSpec("G", "gapaction", _N, 1, 2, default=TraceGapAction.STOP),
    OptionSpec("H", "wait-probe-hop", _S, 0, 2 * SEC, default=0, convert=_wait_probe_hop),
    OptionSpec("l", "loops", _N, 0, 255, default=1),
    OptionSpec("m", "hoplimit", _N, 0, 255, default=0),
    OptionSpec("M", "pmtud", _F),
    OptionSpec("N", "squeries", _N, 1, 255, default=1, convert=_squeries),
    OptionSpec("o", "offset", _N, 0, 8190, default=0),
    OptionSpec("O", "option", _S, repeat=True,
               convert=choice(O_FLAGS, "unknown option")),
    OptionSpec("p", "payload", _S, convert=_payload),
    OptionSpec("P", "method", _S, default=M.UDP_PARIS,
               convert=choice(METHOD_NAMES, "invalid trace method")),
    OptionSpec("q", "attempts", _N, 1, 20, default=2),
    OptionSpec("Q", "all-attempts", _F),
    OptionSpec("r", "rtr-addr", _S, convert=text),
    OptionSpec("s", "sport", _N, 0, 65535),
    OptionSpec("S", "src-addr", _S, convert=text),
    OptionSpec("t", "tos", _S, 0, 255, default=0),
    OptionSpec("T", "ttl-dst", _F),
    OptionSpec("U", "userid", _N, 0, UINT32_MAX, default=0),
    OptionSpec("w", "wait-timeout", _S, 1 * SEC, 10 * SEC, default=DEFAULT_WAIT_TIMEOUT,
               convert=_wait_timeout),
    OptionSpec("W", "wait-probe", _S, 0, 2 * SEC, default=0, convert=_wait_probe),
    OptionSpec("y", "stream", _N, 0, 20, default=0),
    OptionSpec("z", "gss-entry", _S, repeat=True, convert=text),
    OptionSpec("Z", "lss-name", _S, convert=text),
)


@dataclass(frozen=True)
class TraceCommand:
    """A parsed trace, every value resolved as scamper resolves it.

    Field names are scamper's (``hoplimit``, ``gaplimit``, ``squeries``...);
    ``method`` is scamper's ``type``.  Times are microseconds.  ``hoplimit`` 0
    means 255 (:attr:`max_ttl`).  ``sport`` is the UDP/TCP source port or the
    ICMP id; 0 (``-s 0``) leaves the choice to the daemon when the task
    starts: the kernel's ephemeral port for UDP and TCP, ``pid16 | 0x8000``
    (or a random id if another task holds it) for ICMP.  For icmp-paris
    ``dport`` is the constant ICMP checksum (TraceFlag.ICMPCSUMDP).
    ``probe_size`` is the whole probe, IP header included, a uint16 as in
    scamper; ``payload`` is the ``-p`` bytes (empty: zeros).  ``gss`` is the
    doubletree global stop set (duplicates are refused while parsing), ``lss``
    the local stop set's name; ``dtree_flags`` is kept only for a doubletree
    trace, as scamper keeps it in the doubletree attribute.
    """

    dst: IPAddress
    method: TraceMethod = TraceMethod.UDP_PARIS
    flags: TraceFlag = TraceFlag(0)
    attempts: int = 2
    hoplimit: int = 0
    squeries: int = 1
    gaplimit: int = 5
    gapaction: TraceGapAction = TraceGapAction.STOP
    firsthop: int = 1
    tos: int = 0
    loops: int = 1
    sport: int = 0
    dport: int = DEFAULT_DPORT
    confidence: int = 0
    offset: int = 0
    userid: int = 0
    stream: int = 0
    wait_timeout_us: int = DEFAULT_WAIT_TIMEOUT
    wait_probe_us: int = 0
    wait_probe_hop_us: int = 0
    probe_size: int = 44
    payload: bytes = b""
    src: IPAddress | None = None
    rtr: IPAddress | None = None
    gss: frozenset[IPAddress] = frozenset()
    lss: str | None = None
    dtree_flags: TraceDtreeFlag = TraceDtreeFlag(0)

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
    def is_paris(self) -> bool:
        """udp-paris or icmp-paris: one flow identifier for every probe."""
        return self.method in PARIS_METHODS

    @property
    def is_doubletree(self) -> bool:
        return TraceFlag.DOUBLETREE in self.flags

    @property
    def is_ipv6(self) -> bool:
        return isinstance(self.dst, IPv6Address)

    @property
    def max_ttl(self) -> int:
        """The TTL at which the trace stops with HOPLIMIT (-m 0 means 255)."""
        return self.hoplimit or MAX_HOPLIMIT

    @property
    def start_ttl(self) -> int:
        """The first TTL probed: -f, or -m when probing backwards (-O back)."""
        return self.hoplimit if TraceFlag.BACK in self.flags else self.firsthop

    @property
    def hop_count(self) -> int:
        """scamper's initial ``hop_count``: this far into the path already."""
        return self.firsthop - 1

    @property
    def icmp_csum(self) -> int | None:
        """The ICMP checksum every icmp-paris probe carries, else None."""
        return self.dport if self.method is M.ICMP_ECHO_PARIS else None

    @property
    def header_size(self) -> int:
        """scamper's ``trace_probe_headerlen``: IP plus transport header; with a
        fragment offset (-o) only the IPv6 header counts, the rest being
        payload of the fragment."""
        size = 40 if self.is_ipv6 else 20
        if self.offset:
            return size
        if self.is_udp:
            return size + UDP_HEADER
        if self.is_icmp:
            return size + ICMP_ECHO_HEADER
        return size + TCP_HEADER

    @property
    def payload_size(self) -> int:
        """Bytes after :attr:`header_size` in every trace probe (zeros unless
        -p gave them; paris methods rewrite the first two)."""
        return self.probe_size - self.header_size


def _probe_size(dst: IPAddress, method: TraceMethod, offset: int, payload_len: int) -> int:
    """scamper's probe size: the default leaves 16 payload bytes over IPv4 UDP
    or ICMP (44) and 12 over IPv6 (60); a TCP probe has no payload (40/60)."""
    if isinstance(dst, IPv4Address):
        if method in TCP_METHODS:
            return 40
        return 44 if payload_len == 0 else (20 + UDP_HEADER + payload_len) & 0xFFFF
    if offset:
        return (40 + V6_FRAG_HEADER + FRAG_MATCH_BYTES + payload_len) & 0xFFFF
    if payload_len == 0 or method in TCP_METHODS:
        return 60
    return (40 + UDP_HEADER + payload_len) & 0xFFFF


def _gss(entries: list[str], family: int) -> frozenset[IPAddress]:
    """The global stop set, each entry an address of the target's family."""
    gss: set[IPAddress] = set()
    for entry in entries:
        addr = inet_pton(entry, family)
        if addr is None:
            raise CommandError("cannot resolve gss")
        if addr in gss:
            raise CommandError("cannot store gss entry")
        gss.add(addr)
    if len(gss) >= GSS_MAX:
        raise CommandError(f"gss limited to {GSS_MAX} entries")
    return frozenset(gss)


def parse_trace(args: str, ctx: CommandContext) -> TraceCommand:
    """Parse the text after the word ``trace``; raise CommandError as scamper."""
    opts = parse_options(args, TRACE_OPTIONS, parse_error="could not parse trace command",
                         missing_target="expected address to trace")
    flags = TraceFlag(0)
    dtree_flags = TraceDtreeFlag(0)
    for value in opts.all("O"):
        if isinstance(value, TraceDtreeFlag):
            dtree_flags |= value
        elif isinstance(value, TraceFlag):
            flags |= value
    for letter, flag in (("M", TraceFlag.PMTUD), ("Q", TraceFlag.ALLATTEMPTS),
                         ("T", TraceFlag.IGNORETTLDST)):
        if opts.given(letter):
            flags |= flag

    method = TraceMethod(opts.get_int("P"))
    firsthop = opts.get_int("f")
    hoplimit = opts.get_int("m")
    squeries = opts.get_int("N")
    gaplimit = opts.get_int("g")
    confidence = opts.get_int("c")
    offset = opts.get_int("o")
    gss_entries = [str(v) for v in opts.all("z")]
    lss = opts.get_str("Z")
    doubletree = bool(gss_entries) or lss is not None

    # scamper also refuses -O back with doubletree here, but tests the
    # DOUBLETREE flag before setting it, so -O back -z ... is accepted.
    if TraceFlag.BACK in flags and not opts.given("m"):
        raise CommandError("backwards probing must be used with a hoplimit")
    if hoplimit != 0 and firsthop > hoplimit:
        raise CommandError("firsthop cannot be beyond hoplimit")
    if squeries > gaplimit:
        raise CommandError("squeries cannot be greater than gaplimit")
    if TraceFlag.PMTUD in flags:
        if firsthop > 1 or doubletree:
            raise CommandError("cannot do pmtud without all of path")
        # Only SYN: tcp-ack passes this check.
        if method is M.TCP:
            raise CommandError("cannot do pmtud with this probe method")
    if confidence != 0 and TraceFlag.ALLATTEMPTS in flags:
        raise CommandError("cannot set both all-attempts and confidence")

    sport = opts.get_int("s") if opts.given("s") else ctx.default_sport

    dst = inet_pton(opts.target or "")
    if dst is None:
        raise CommandError("invalid destination address")
    if ctx.can_probe is not None and not ctx.can_probe(dst):
        raise CommandError("destination in do-not-probe list")

    payload = opts.get("p")
    data = payload if isinstance(payload, bytes) else b""
    # scamper counts the payload in a uint16.
    data = data[:len(data) & 0xFFFF]
    if method in TCP_METHODS and data:
        raise CommandError("cannot include a payload with TCP traceroute")
    # Replies to TCP probes are matched by ports alone, so one at a time.
    if method in TCP_METHODS and squeries > 1:
        raise CommandError("cannot send parallel probes with TCP methods")
    if TraceFlag.RAW in flags and (not isinstance(dst, IPv4Address)
                                   or method not in TCP_METHODS):
        raise CommandError("-O raw only works for IPv4 TCP methods")
    if offset != 0 and not isinstance(dst, IPv6Address):
        raise CommandError("can only do fragment traceroute with IPv6")

    family = socket.AF_INET if isinstance(dst, IPv4Address) else socket.AF_INET6
    src = rtr = None
    if (src_text := opts.get_str("S")) is not None:
        if (src := inet_pton(src_text, family)) is None:
            raise CommandError("invalid source address")
    if (rtr_text := opts.get_str("r")) is not None:
        if (rtr := inet_pton(rtr_text, family)) is None:
            raise CommandError("invalid router address")

    dport = opts.get_int("d")
    if method is M.ICMP_ECHO_PARIS:
        flags |= TraceFlag.ICMPCSUMDP
        # The default checksum is the default source port.
        if not opts.given("d"):
            dport = ctx.default_sport

    gss: frozenset[IPAddress] = frozenset()
    if doubletree:
        flags |= TraceFlag.DOUBLETREE
        gss = _gss(gss_entries, family)
    else:
        dtree_flags = TraceDtreeFlag(0)

    return TraceCommand(
        dst=dst, method=method, flags=flags, attempts=opts.get_int("q"), hoplimit=hoplimit,
        squeries=squeries, gaplimit=gaplimit,
        gapaction=TraceGapAction(opts.get_int("G")), firsthop=firsthop,
        tos=opts.get_int("t"), loops=opts.get_int("l"), sport=sport, dport=dport,
        confidence=confidence, offset=offset, userid=opts.get_int("U"),
        stream=opts.get_int("y"), wait_timeout_us=opts.get_int("w"),
        wait_probe_us=opts.get_int("W"), wait_probe_hop_us=opts.get_int("H"),
        probe_size=_probe_size(dst, method, offset, len(data)), payload=data,
        src=src, rtr=rtr, gss=gss, lss=lss, dtree_flags=dtree_flags,
    )
