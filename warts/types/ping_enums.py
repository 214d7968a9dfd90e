"""scamper's numbers and names for ping (scamper_ping.h, scamper_ping.c):
the probe methods, stop reasons and flag bits, as IntEnums and name tables.
Split from :mod:`warts.types.ping`, which re-exports them.
"""

from __future__ import annotations

from enum import IntEnum

# --------------------------------------------------------------------------
# scamper's numbers (scamper_ping.h)


class PingMethod(IntEnum):
    """SCAMPER_PING_METHOD_*: the probe method (``-P``)."""

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


class PingStop(IntEnum):
    """SCAMPER_PING_STOP_*: why the measurement ended."""

    NONE = 0
    COMPLETED = 1
    ERROR = 2
    HALTED = 3
    INPROGRESS = 4


class PingFlag(IntEnum):
    """SCAMPER_PING_FLAG_*: bits of the ping's flags (params 22 and 30)."""

    V4RR = 0x01
    SPOOF = 0x02
    PAYLOAD = 0x04
    TSONLY = 0x08
    TSANDADDR = 0x10
    ICMPSUM = 0x20
    DL = 0x40
    TBT = 0x80
    NOSRC = 0x100
    RAW = 0x200
    SOCKRX = 0x400
    DLTX = 0x800


class PingReplyFlag(IntEnum):
    """SCAMPER_PING_REPLY_FLAG_*: bits of a reply's flags (reply param 2)."""

    REPLY_TTL = 0x01
    REPLY_IPID = 0x02
    PROBE_IPID = 0x04
    DLTX = 0x08
    DLRX = 0x10
    REPLY_TOS = 0x20
    PENDING = 0x40


# Names as scamper_ping_method_tostr() / scamper_ping_stop_tostr() give them;
# a number past the end of a table prints as the number.
METHOD_NAMES = ("icmp-echo", "tcp-ack", "tcp-ack-sport", "udp", "udp-dport", "icmp-time",
                "tcp-syn", "tcp-synack", "tcp-rst", "tcp-syn-sport", "udp-sport")
STOP_NAMES = ("none", "done", "error", "halted", "inprogress")
# Flag names in bit order, as the JSON and dump renderers list them.
FLAG_NAMES = ("v4rr", "spoof", "payload", "tsonly", "tsandaddr", "icmpsum", "dl", "tbt",
              "nosrc", "raw", "sockrx", "dltx")

# Method classes (SCAMPER_PING_METHOD_IS_*).
METHODS_ICMP = frozenset((0, 5))
METHODS_TCP = frozenset((1, 2, 6, 7, 8, 9))
METHODS_UDP = frozenset((3, 4, 10))
METHODS_VARY_SPORT = frozenset((2, 9, 10))
METHODS_VARY_DPORT = frozenset((4,))

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58


def method_name(method: int) -> str:
    return METHOD_NAMES[method] if method < len(METHOD_NAMES) else str(method)


def stop_name(reason: int) -> str:
    return STOP_NAMES[reason] if reason < len(STOP_NAMES) else str(reason)
