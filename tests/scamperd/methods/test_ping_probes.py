"""EchoTemplate: icmp-echo probes written into a template are byte for byte
the probes build_probe makes from scratch."""

from __future__ import annotations

import socket

import pytest

from protocol.commands.base import CommandContext
from protocol.commands.ping import parse_ping
from scamperd.engine import packets as P
from scamperd.methods.ping.probes import EchoTemplate, ProbeFields, base_payload, build_probe

SRC4 = socket.inet_aton("10.200.1.1")
DST4 = socket.inet_aton("10.200.6.2")
SRC6 = socket.inet_pton(socket.AF_INET6, "fd00:200:1::1")
DST6 = socket.inet_pton(socket.AF_INET6, "fd00:200:6::2")
CTX = CommandContext(pid=0x1234, random_u32=lambda: 0x11223344)

# (options, ICMP id, IP-ID, probe number): defaults, odd sizes, patterns,
# payloads, IPv4 options, TTL/TOS, a sequence that wraps, ids that carry in
# the one's complement sums.
CASES = [
    ("", 0x1234, 0x5678, 0),
    ("-s 85", 0xFFFF, 0xFFFF, 3),
    ("-s 99 -p abcdef", 0x0001, 0x0001, 1),
    ("-B 0011223344556677 -m 3 -z 0xb8", 0x8000, 0xFFFE, 2),
    ("-d 65534", 0xFFFE, 0x1, 5),
    ("-R", 0x4242, 0x1234, 0),
    ("-T tsonly", 0x4242, 0x1234, 1),
    ("-T tsandaddr -s 120", 0x4242, 0x1234, 1),
    ("-T tsprespec=10.200.2.2,10.200.3.3", 0x4242, 0x1234, 1),
    ("-s 0 -b 0", 0xABCD, 0xDCBA, 0),
    ("-O dl -s 1400", 0xFFFF, 0x0000, 9),
]


# IPv4 options (-R, -T) have no IPv6 form: those cases run over IPv4 only.
FAMILY_CASES = [(v6, *case) for v6 in (False, True) for case in CASES
                if not (v6 and ("-T" in case[0] or "-R" in case[0]))]


@pytest.mark.parametrize(("v6", "opts", "ident", "ipid", "seq"), FAMILY_CASES)
def test_echo_template_matches_build_probe(v6: bool, opts: str, ident: int, ipid: int,
                                           seq: int) -> None:
    src, dst = (SRC6, DST6) if v6 else (SRC4, DST4)
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    cmd = parse_ping(f" {opts} -c 10 {socket.inet_ntop(fam, dst)}", CTX)
    assert EchoTemplate.fits(cmd)
    base = bytes(base_payload(cmd, v6))
    ipid = 0 if v6 else ipid
    dport = (cmd.dport + seq) & 0xFFFF
    want = build_probe(cmd, src, dst, base, ProbeFields(seq, ipid, ident, dport), 0)
    # twice: the second comes from the cached shape
    for _ in range(2):
        tmpl = EchoTemplate.for_ping(cmd, src, dst, ident)
        assert tmpl.build(ipid, dport) == want
    # and its checksums verify on their own (a sum over a valid one is 0)
    hl = 40 if v6 else (want[0] & 0x0F) * 4
    init = P.pseudo_sum(src, dst, P.IPPROTO_ICMPV6, len(want) - hl) if v6 else 0
    assert P.checksum(want[hl:], init) == 0
    if not v6:
        assert P.checksum(want[:hl]) == 0


def test_echo_template_skips_csum_and_spoof() -> None:
    for opts in ("-C 0x1234", "-O spoof", "-P icmp-time"):
        assert not EchoTemplate.fits(parse_ping(f" {opts} 10.200.6.2", CTX))
