"""The ping command grammar of scamper 20260420 (scamper_ping_cmd.c).

:data:`PING_OPTIONS` states every option with its scamper name, range and
default; :func:`parse_ping` applies scamper's cross-option checks in scamper's
order, so the first error reported is the one scamper reports, and resolves
every derived value (probe size, payload size, ports, timeouts) into a frozen
:class:`PingCommand`.
"""

from __future__ import annotations

import dataclasses
import socket
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from ipaddress import IPv4Address, IPv6Address

from ..cstrings import UINT32_MAX, IPAddress, inet_pton, string_ishex, tollong
from ..errors import CommandError
from ..options import (
    MS,
    SEC,
    ArgType,
    OptionError,
    OptionSpec,
    choice,
    duration,
    parse_options,
    text,
)
from .base import CommandContext


class PingMethod(IntEnum):
    """SCAMPER_PING_METHOD_*."""

    ICMP_ECHO = 0
    TCP_ACK = 1
    TCP_ACK_SPORT = 2
    UDP = 3
    UDP_DPORT = 4
    ICMP_TIME = 5
    TCP_SYN = 6
    TCP_SYNACK = 7
    TCP_RST = 8
    TCP_SYN_SPORT = 9
    UDP_SPORT = 10


class PingFlag(IntFlag):
    """SCAMPER_PING_FLAG_*."""

    V4RR = 0x01  # -R
    SPOOF = 0x02  # -O spoof
    PAYLOAD = 0x04  # data is a payload (-B), not a pattern (-p)
    TSONLY = 0x08  # -T tsonly
    TSANDADDR = 0x10  # -T tsandaddr
    ICMPSUM = 0x20  # -C
    DL = 0x40  # -O dl
    TBT = 0x80  # -O tbt
    NOSRC = 0x100  # -O nosrc
    RAW = 0x200  # -O raw
    SOCKRX = 0x400  # -O sockrx
    DLTX = 0x800  # -O dltx


M = PingMethod
METHOD_NAMES: dict[str, PingMethod] = {
    "icmp-echo": M.ICMP_ECHO,
    "tcp-ack": M.TCP_ACK,
    "tcp-ack-sport": M.TCP_ACK_SPORT,
    "udp": M.UDP,
    "udp-dport": M.UDP_DPORT,
    "udp-sport": M.UDP_SPORT,
    "icmp-time": M.ICMP_TIME,
    "tcp-syn": M.TCP_SYN,
    "tcp-synack": M.TCP_SYNACK,
    "tcp-rst": M.TCP_RST,
    "tcp-syn-sport": M.TCP_SYN_SPORT,
}
ICMP_METHODS = frozenset({M.ICMP_ECHO, M.ICMP_TIME})
TCP_METHODS = frozenset({M.TCP_ACK, M.TCP_ACK_SPORT, M.TCP_SYN, M.TCP_SYNACK, M.TCP_RST,
                         M.TCP_SYN_SPORT})
UDP_METHODS = frozenset({M.UDP, M.UDP_SPORT, M.UDP_DPORT})
VARY_SPORT_METHODS = frozenset({M.TCP_ACK_SPORT, M.TCP_SYN_SPORT, M.UDP_SPORT})
VARY_DPORT_METHODS = frozenset({M.UDP_DPORT})
# -A sets the sequence number for these; the acknowledgement for the others.
TCP_SEQ_METHODS = frozenset({M.TCP_SYN, M.TCP_SYN_SPORT, M.TCP_RST})
# -O mss is only meaningful on a SYN.
MSS_METHODS = frozenset({M.TCP_SYN, M.TCP_SYNACK, M.TCP_SYN_SPORT})
# Methods that embed the source address in a spoofed probe's payload.
NO_EMBED_METHODS = frozenset({M.TCP_SYNACK, M.TCP_RST})

O_FLAGS: dict[str, PingFlag] = {
    "dl": PingFlag.DL,
    "dltx": PingFlag.DLTX,
    "nosrc": PingFlag.NOSRC,
    "raw": PingFlag.RAW,
    "sockrx": PingFlag.SOCKRX,
    "spoof": PingFlag.SPOOF,
    "tbt": PingFlag.TBT,
}

PATTERN_MAX = 32  # hex digits (SCAMPER_DO_PING_PATTERN_MAX)
PAYLOAD_MAX = 1000  # bytes
TSPRESPEC_MAX = 4  # prespecified IPv4 timestamp addresses

# Default payload sizes when neither -b, -B nor -s says otherwise.
DEFAULT_PAYLOAD = {M.ICMP_ECHO: 56, M.ICMP_TIME: 44}
DEFAULT_PAYLOAD_UDP = 12


@dataclass(frozen=True)
class Mss:
    """The value of ``-O mss=N``."""

    value: int


def _option(spec: OptionSpec, param: str) -> object:
    lowered = param.lower()
    if lowered in O_FLAGS:
        return O_FLAGS[lowered]
    if lowered.startswith("mss="):
        mss = tollong(param[4:])
        if mss is None or not 0 <= mss <= 65535:
            raise OptionError("expected valid MSS value")
        return Mss(mss)
    raise OptionError("unknown option")


def _payload(spec: OptionSpec, param: str) -> object:
    digits = string_ishex(param)
    if digits == 0:
        raise OptionError("payload must be specified in hex")
    if digits % 2:
        raise OptionError("expected even number of hex characters")
    if digits // 2 > PAYLOAD_MAX:
        raise OptionError(f"payload limit is {PAYLOAD_MAX} bytes")
    return bytes.fromhex(param)


def _pattern(spec: OptionSpec, param: str) -> object:
    digits = string_ishex(param)
    if digits == 0:
        raise OptionError("pattern must be specified in hex")
    if digits > PATTERN_MAX:
        raise OptionError(f"pattern can be at most {PATTERN_MAX} hex chars")
    # An odd number of digits gets a leading zero nibble.
    return bytes.fromhex(param if digits % 2 == 0 else "0" + param)


_N, _S, _F = ArgType.NUM, ArgType.STR, ArgType.NULL

PING_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("A", "tcp-seq/ack", _N, 0, UINT32_MAX),
    OptionSpec("b", "payload-size", _N, 0, 65535),
    OptionSpec("B", "payload", _S, convert=_payload),
    OptionSpec("c", "attempts", _N, 1, 65535, default=4),
    # -C and -z are STR so that hex such as 0x2323 passes the tokenizer.
    OptionSpec("C", "icmp-sum", _S, 0, 65535, default=0),
    OptionSpec("d", "dport", _N, 0, 65535),
    OptionSpec("F", "sport", _N, 0, 65535),
    OptionSpec("i", "wait-probe", _S, 1 * MS, 20 * SEC, default=1 * SEC,
               convert=duration(SEC, "malformed inter-probe delay",
                                "inter-probe delay must be within 1ms - 20s")),
    OptionSpec("m", "ttl", _N, 1, 255, default=64),
    OptionSpec("M", "path-mtu", _N, 0, 65535, default=0),
    OptionSpec("o", "stop-count", _N, 0, 65535, default=0),
    OptionSpec("O", "option", _S, convert=_option, repeat=True),
    OptionSpec("p", "pattern", _S, convert=_pattern),
    OptionSpec("P", "method", _S, default=M.ICMP_ECHO,
               convert=choice(METHOD_NAMES, "invalid ping method")),
    OptionSpec("r", "rtr-addr", _S, convert=text),
    OptionSpec("R", "record-route", _F),
    OptionSpec("s", "probe-size", _N, 0, 65535, default=0),
    OptionSpec("S", "src-addr", _S, convert=text),
    OptionSpec("T", "timestamp", _S, convert=text),
    OptionSpec("U", "userid", _N, 0, UINT32_MAX, default=0),
    OptionSpec("W", "wait-timeout", _S, 1 * MS, 255 * SEC, default=1 * SEC,
               convert=duration(SEC, "malformed timeout", "timeout must be within 1ms - 255s")),
    OptionSpec("y", "stream", _N, 0, 20, default=0),
    OptionSpec("z", "tos", _S, 0, 255, default=0),
)


@dataclass(frozen=True)
class PingCommand:
    """A parsed ping, every value resolved as scamper resolves it.

    Times are microseconds.  ``size`` is the whole probe packet, IP header
    included; like scamper's uint16 field it wraps when ``-b`` asks for a
    payload larger than fits.  ``data`` is the pattern (``-p``) or, with
    PingFlag.PAYLOAD, the payload (``-B``); empty means zeros.
    """

    dst: IPAddress
    method: PingMethod = PingMethod.ICMP_ECHO
    attempts: int = 4
    wait_probe_us: int = 1 * SEC
    wait_timeout_us: int = 1 * SEC
    size: int = 84
    payload_size: int = 56
    ttl: int = 64
    tos: int = 0
    sport: int = 0
    dport: int = 0
    icmpsum: int = 0
    stop_count: int = 0
    pmtu: int = 0
    userid: int = 0
    flags: PingFlag = PingFlag(0)
    stream: int = 0
    tcpseq: int = 0
    tcpack: int = 0
    tcpmss: int = 0
    data: bytes = b""
    tsps: tuple[IPv4Address, ...] = ()
    src: IPAddress | None = None
    rtr: IPAddress | None = None

    @property
    def is_icmp(self) -> bool:
        return self.method in ICMP_METHODS

    @property
    def is_tcp(self) -> bool:
        return self.method in TCP_METHODS

    @property
    def is_udp(self) -> bool:
        return self.method in UDP_METHODS

    @property
    def is_vary_sport(self) -> bool:
        return self.method in VARY_SPORT_METHODS

    @property
    def is_vary_dport(self) -> bool:
        return self.method in VARY_DPORT_METHODS


def _timestamp(tsopt: str) -> tuple[PingFlag, tuple[IPv4Address, ...]] | None:
    """scamper's ping_tsopt: tsonly, tsandaddr or tsprespec=IP[,IP...]."""
    eq = tsopt.find("=")
    if tsopt[:9].lower() == "tsprespec" and eq >= 0:
        rest = tsopt[eq + 1:]
        words: list[str] = []
        p = 0
        while True:
            if len(words) == TSPRESPEC_MAX:
                return None
            start = p
            while p < len(rest) and (rest[p] in "0123456789."):
                p += 1
            words.append(rest[start:p])
            if p == len(rest):
                break
            if rest[p] != ",":
                return None
            p += 1
        ips = []
        for word in words:
            ip = inet_pton(word, socket.AF_INET)
            if not isinstance(ip, IPv4Address):
                return None
            ips.append(ip)
        return PingFlag(0), tuple(ips)
    if eq < 0 and tsopt.lower() == "tsonly":
        return PingFlag.TSONLY, ()
    if eq < 0 and tsopt.lower() == "tsandaddr":
        return PingFlag.TSANDADDR, ()
    return None


# PingFlag's bits as plain ints: parse_ping works on an int and makes the
# PingFlag once, since every IntFlag operation (|, in) goes through the enum
# machinery (~0.2-0.3 us each, a dozen per ping; bench/daemon_bench profile).
_V4RR, _SPOOF, _PAYLOAD, _TSONLY = (int(PingFlag.V4RR), int(PingFlag.SPOOF),
                                    int(PingFlag.PAYLOAD), int(PingFlag.TSONLY))
_TSANDADDR, _ICMPSUM, _TBT, _NOSRC = (int(PingFlag.TSANDADDR), int(PingFlag.ICMPSUM),
                                      int(PingFlag.TBT), int(PingFlag.NOSRC))
_RAW, _SOCKRX = int(PingFlag.RAW), int(PingFlag.SOCKRX)


def _min_size(dst: IPAddress, method: PingMethod, flags: int, tsps: int,
              mss: int) -> int:
    """The smallest probe the options allow (scamper's ``cmps``)."""
    embeds_src = (flags & _SPOOF and not flags & _NOSRC
                  and method not in NO_EMBED_METHODS)
    if isinstance(dst, IPv4Address):
        size = 20
        if flags & _V4RR:
            size += 40  # record route option
        elif tsps:
            size += 8 * tsps + 4
        elif flags & _TSONLY:
            size += 40
        elif flags & _TSANDADDR:
            size += 36
        size += 4 if embeds_src else 0
    else:
        size = 40 + (16 if embeds_src else 0)
    if method in ICMP_METHODS:
        size += 8 + (12 if method is M.ICMP_TIME else 0)
    elif method in TCP_METHODS:
        size += 20 + (4 if mss > 0 else 0)
    else:
        size += 8
    return size


def parse_ping(args: str, ctx: CommandContext) -> PingCommand:
    """Parse the text after the word ``ping``; raise CommandError as scamper."""
    opts = parse_options(args, PING_OPTIONS, parse_error="could not parse ping command",
                         missing_target="expected address to ping")
    flags = 0
    mss = 0
    if opts.given("O"):
        for value in opts.all("O"):
            if isinstance(value, Mss):
                mss = value.value
            elif isinstance(value, PingFlag):
                flags |= int(value)
    if opts.given("B"):
        flags |= _PAYLOAD
    if opts.given("C"):
        flags |= _ICMPSUM
    if opts.given("R"):
        flags |= _V4RR

    method = PingMethod(opts.get_int("P"))
    attempts = opts.get_int("c")
    wait_probe = opts.get_int("i")
    wait_timeout = opts.get_int("W")
    # Without -W, the timeout grows to the inter-probe delay.
    if not opts.given("W") and wait_timeout < wait_probe:
        wait_timeout = wait_probe

    if mss > 0 and method not in MSS_METHODS:
        raise CommandError("mss option only valid with tcp-syn probes")

    dst = inet_pton(opts.target or "")
    if dst is None:
        raise CommandError("invalid destination address")
    if ctx.can_probe is not None and not ctx.can_probe(dst):
        raise CommandError("destination in do-not-probe list")

    if opts.given("p") and opts.given("B"):
        raise CommandError("only specify one of pattern or payload")
    payload = opts.get("B")
    payload_len = len(payload) if isinstance(payload, bytes) else 0
    payload_size = opts.get_int("b") if opts.given("b") else -1
    if opts.given("b") and opts.given("B") and payload_len != payload_size:
        raise CommandError("payload size inconsistent with payload")
    if payload_size == -1 and payload_len != 0:
        payload_size = payload_len

    tsps: tuple[IPv4Address, ...] = ()
    tsopt = opts.get_str("T")
    if tsopt is not None:
        if not isinstance(dst, IPv4Address):
            raise CommandError("timestamp option only valid with IPv4 dst")
        if flags & _V4RR:
            raise CommandError("cannot use both TS and RR options")
        ts = _timestamp(tsopt)
        if ts is None:
            raise CommandError("invalid timestamp option")
        flags |= int(ts[0])
        tsps = ts[1]

    cmps = _min_size(dst, method, flags, len(tsps), mss)
    size = opts.get_int("s")
    if size != 0 and size < cmps:
        raise CommandError("specified probe size too small")
    if payload_size == -1:
        if size != 0:
            payload_size = size - cmps
        elif method in DEFAULT_PAYLOAD:
            payload_size = DEFAULT_PAYLOAD[method]
        elif method in UDP_METHODS:
            payload_size = DEFAULT_PAYLOAD_UDP
        else:
            payload_size = 0
    if size == 0:
        size = (cmps + payload_size) & 0xFFFF  # scamper's probe size is a uint16
    elif size != cmps + payload_size:
        raise CommandError("specified probe size inconsistent with payload")

    if flags & _ICMPSUM:
        if method not in ICMP_METHODS:
            raise CommandError("icmp-csum only valid for ICMP methods")
        # Two payload bytes are rewritten to make the checksum come out.
        if payload_size < 2:
            raise CommandError("payload size must allow csum manipulation")

    pmtu = opts.get_int("M")
    if flags & _TBT:
        if not isinstance(dst, IPv6Address):
            raise CommandError("can only do tbt with IPv6 addresses")
        if pmtu == 0 or size <= pmtu:
            raise CommandError("specify valid path-mtu")
    if pmtu != 0 and flags & _SOCKRX:
        raise CommandError("cannot specify -O sockrx with -M")

    family = socket.AF_INET if isinstance(dst, IPv4Address) else socket.AF_INET6
    src = rtr = None
    if (src_text := opts.get_str("S")) is not None:
        if (src := inet_pton(src_text, family)) is None:
            raise CommandError("invalid source address")
    if (rtr_text := opts.get_str("r")) is not None:
        if (rtr := inet_pton(rtr_text, family)) is None:
            raise CommandError("invalid router address")

    pattern = opts.get("p")
    data = pattern if isinstance(pattern, bytes) else payload if isinstance(payload, bytes) else b""

    if not opts.given("F"):
        if method in ICMP_METHODS:
            sport = ctx.pid16
        else:
            sport = ctx.default_sport
            # Keep a scamper-chosen run of source ports from wrapping to 0.
            if (method in VARY_SPORT_METHODS and 65535 - sport < attempts - 1
                    and attempts < 32768):
                sport = max(sport - attempts, 0x8000)
    else:
        sport = opts.get_int("F")
        if sport != 0 and method in VARY_SPORT_METHODS and 65535 - sport < attempts - 1:
            raise CommandError(f"invalid probe_sport {sport} given attempts {attempts}")

    if opts.given("d"):
        dport = opts.get_int("d")
    else:
        dport = 0 if method in ICMP_METHODS else 33435
    if method in VARY_DPORT_METHODS and 65535 - dport < attempts - 1:
        raise CommandError(f"invalid probe_dport {dport} given attempts {attempts}")

    if flags & _RAW and (not isinstance(dst, IPv4Address) or method not in TCP_METHODS):
        raise CommandError("-O raw only works for IPv4 TCP methods")

    tcpseq = tcpack = 0
    if method in TCP_METHODS:
        seqack = opts.get_int("A") if opts.given("A") else ctx.random_u32()
        if method in TCP_SEQ_METHODS:
            tcpseq = seqack
        else:
            tcpack, tcpseq = seqack, ctx.random_u32()

    return PingCommand(
        dst=dst, method=method, attempts=attempts, wait_probe_us=wait_probe,
        wait_timeout_us=wait_timeout, size=size, payload_size=payload_size,
        ttl=opts.get_int("m"), tos=opts.get_int("z"), sport=sport, dport=dport,
        icmpsum=opts.get_int("C"), stop_count=opts.get_int("o"), pmtu=pmtu,
        userid=opts.get_int("U"), flags=PingFlag(flags), stream=opts.get_int("y"),
        tcpseq=tcpseq, tcpack=tcpack, tcpmss=mss, data=data, tsps=tsps, src=src, rtr=rtr,
    )


# -- a cache of parsed option sets ------------------------------------------------
#
# A batch of pings is one option set over many addresses ("ping -c 1 -o 1 A",
# "... B"), and parsing the options was a sixth of a one-shot ping's CPU
# (bench/daemon_bench's profile).  A line's options are parsed once per
# address family; the address is then all that differs.  Only parses that
# drew no random numbers (TCP sequence numbers, fresh per command) are kept,
# and the do-not-probe check runs for every address.

_TEMPLATES: dict[tuple[str, int, int], PingCommand] = {}
_TEMPLATES_MAX = 256


def parse_ping_cached(args: str, ctx: CommandContext) -> PingCommand:
    """parse_ping(), reusing the options parsed for an earlier line that
    differed only in its (final) destination address."""
    head, _, tail = args.rstrip().rpartition(" ")
    dst = inet_pton(tail) if head else None
    if dst is None:
        return parse_ping(args, ctx)
    key = (head, dst.version, ctx.pid)
    cmd = _TEMPLATES.get(key)
    if cmd is not None:
        if ctx.can_probe is not None and not ctx.can_probe(dst):
            raise CommandError("destination in do-not-probe list")
        return dataclasses.replace(cmd, dst=dst)
    draws = 0

    def counted() -> int:
        nonlocal draws
        draws += 1
        return ctx.random_u32()

    cmd = parse_ping(args, dataclasses.replace(ctx, random_u32=counted))
    if draws == 0 and cmd.dst == dst:
        if len(_TEMPLATES) >= _TEMPLATES_MAX:
            _TEMPLATES.clear()
        _TEMPLATES[key] = cmd
    return cmd
