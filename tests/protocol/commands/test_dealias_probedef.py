"""dealias probe definitions: the text of one ``-p`` (scamper's
dealias_probedef_args), and where a method places it (probedef_size_check).
Through the whole command they are checked against scamper 20260420 in
test_dealias.py's golden table."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from protocol.commands.base import CommandContext
from protocol.commands.dealias_probedef import (
    PROBEDEF_OPTIONS,
    Probedef,
    ProbedefArgs,
    ProbedefMethod,
    default_probedef,
    parse_probedef,
)
from protocol.errors import CommandError

CTX = CommandContext(pid=0x1234)
DEFSPORT = 0x1234 | 0x8000
P = ProbedefMethod
V4, V6 = IPv4Address("192.0.2.1"), IPv6Address("2001:db8::1")


def reason(text: str) -> str:
    with pytest.raises(CommandError) as exc:
        parse_probedef(text, CTX).place(V4, 0, 255)
    return str(exc.value)


@pytest.mark.parametrize(("text", "args"), [
    ("-P udp", ProbedefArgs(P.UDP, sport=DEFSPORT, dport=33435)),
    ("-t 9", ProbedefArgs(P.UDP, ttl=9, sport=DEFSPORT, dport=33435)),
    ("-P UDP-dport -d 7 -F 8", ProbedefArgs(P.UDP_DPORT, sport=8, dport=7)),
    ("-P icmp-echo -c 59832 -s 1300 -M 1280",
     ProbedefArgs(P.ICMP_ECHO, size=1300, mtu=1280, icmp_csum=59832, icmp_id=DEFSPORT)),
    ("-P tcp-ack -i 2001:db8::1", ProbedefArgs(P.TCP_ACK, dst=V6, sport=DEFSPORT, dport=33435,
                                               tcp_flags=0x10)),
    ("-P tcp-ack-sport", ProbedefArgs(P.TCP_ACK_SPORT, sport=DEFSPORT, dport=33435,
                                      tcp_flags=0x10)),
    ("-P tcp-syn-sport", ProbedefArgs(P.TCP_SYN_SPORT, sport=DEFSPORT, dport=33435,
                                      tcp_flags=0x02)),
])
def test_dealias_probedef_parses(text: str, args: ProbedefArgs) -> None:
    assert parse_probedef(text, CTX) == args


def test_dealias_probedef_default_is_udp_from_the_daemons_port() -> None:
    assert default_probedef(CTX) == ProbedefArgs(P.UDP, sport=DEFSPORT, dport=33435)


@pytest.mark.parametrize(("text", "dst", "size"), [
    ("-P udp", V4, 30), ("-P icmp-echo", V4, 30), ("-P tcp-ack", V4, 40),
    ("-P udp", V6, 50), ("-P icmp-echo", V6, 50), ("-P tcp-syn-sport", V6, 60),
    ("-P udp -s 31", V4, 31), ("-P tcp-ack -s 60", V6, 60),
])
def test_dealias_probedef_size_defaults_to_the_least(text: str, dst: IPv4Address | IPv6Address,
                                                     size: int) -> None:
    pd = parse_probedef(text, CTX).place(dst, 3, 64)
    assert (pd.dst, pd.id, pd.size, pd.ttl, pd.tos) == (dst, 3, size, 64, 0)


def test_dealias_probedef_place_keeps_a_given_ttl() -> None:
    assert parse_probedef("-t 4", CTX).place(V4, 0, 255).ttl == 4


@pytest.mark.parametrize(("probedef", "why"), [
    ("-P udp -d 5 -d 6", "-d repeated in probedef"),
    ("-P udp -d 0 -d 6", "dport must be within 1-65535"),  # in order: the value first
    ("-d 6 -d 0", "-d repeated in probedef"),  # the repeat before its value
    ("-P udp -c 1", "csum option not permitted for udp"),
    ("-P udp-dport -c 1", "csum option not permitted for udp"),
    ("-P tcp-ack -c 1", "csum option not permitted for tcp"),
    ("-P icmp-echo -F 1 -d 1", "sport option not permitted for icmp"),
    ("-P icmp-echo -d 1", "dport option not permitted for icmp"),
    ("-P icmp", "invalid probedef method"),
    ("-P udp x", "invalid option string"),
    ("", "invalid option string"),
    (" ", "invalid option string"),
    ("-P", "could not parse probedef options"),
    ("-q 1", "could not parse probedef options"),
    ("-d 0x10", "could not parse probedef options"),
    ("-c 65536", "csum must be within 0-65535"),
    ("-c -1", "csum must be within 0-65535"),
    ("-c x", "csum must be within 0-65535"),
    ("-F 0", "sport must be within 1-65535"),
    ("-F 65536", "sport must be within 1-65535"),
    ("-s 27", "probe size must be within 28-65535"),
    ("-s 65536", "probe size must be within 28-65535"),
    ("-t 0", "ttl must be within 1-255"),
    ("-t 256", "ttl must be within 1-255"),
    ("-M 99", "mtu size must be within 100-65535"),
    ("-M 65536", "mtu size must be within 100-65535"),
    ("-i 192.0.2.300", "invalid destination in probedef"),
    ("-s 28", "probedef size 28 too small"),
    ("-s 29 -P tcp-ack", "probedef size 29 too small"),
    ("-s 39 -P tcp-ack", "probedef size 39 too small"),
])
def test_dealias_probedef_rejects_with_scamper_reason(probedef: str, why: str) -> None:
    assert reason(probedef) == why


@pytest.mark.parametrize(("probedef", "field", "value"), [
    # -c is a STR option: strtol base 0 on the text, spaces and junk and all.
    ("-P icmp-echo -c 0xe9b8", "icmp_csum", 59832), ("-P icmp-echo -c ' 5zz'", "icmp_csum", 5),
    ("-P icmp-echo -c 010", "icmp_csum", 8), ("-P Tcp-Syn-Sport", "method", P.TCP_SYN_SPORT),
    ("-d 1 -F 65535", "sport", 65535), ("-d 0177777", "dport", 65535), ("-s 30", "size", 30),
    ("-t 1", "ttl", 1), ("-M 100", "mtu", 100), ("-s 65535", "size", 65535),
    ("-t 255", "ttl", 255), ("-c 0 -P icmp-echo", "icmp_csum", 0),
])
def test_dealias_probedef_values(probedef: str, field: str, value: int) -> None:
    pd: Probedef = parse_probedef(probedef, CTX).place(V4, 0, 64)
    assert getattr(pd, field) == value


def test_dealias_probedef_option_table() -> None:
    assert [spec.letter for spec in PROBEDEF_OPTIONS] == list("cdFiPstM")



