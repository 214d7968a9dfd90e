"""SendError: scamper's errmsg for a probe the kernel would not send."""

from __future__ import annotations

import errno

import pytest

from scamperd.engine import packets as P
from scamperd.engine.senderr import SendError, send_errmsg, send_error
from scamperd.engine.task import Probe

DST4 = bytes((192, 0, 2, 9))
DST6 = bytes.fromhex("20010db8000000000000000000000009")
UNREACH = OSError(errno.ENETUNREACH, "Network is unreachable")


def _probe(dst: bytes, proto: int, ttl: int, payload: int = 0) -> bytes:
    """A probe of ``proto`` from the unspecified address, ``payload`` bytes of data."""
    src, data = bytes(len(dst)), bytes(payload)
    if proto == P.IPPROTO_UDP:
        body = P.build_udp(src, dst, 40000, 33435, data)
    elif proto == P.IPPROTO_TCP:
        body = P.build_tcp(src, dst, 40000, 80, seq=1, ack=0, flags=P.TcpFlag.SYN, win=0)
    else:
        body = P.build_icmp_echo(0x8123, 7, data, v6=len(dst) == 16, src=src, dst=dst)
    return P.build_ip(src, dst, proto, body, ttl=ttl)


@pytest.mark.parametrize(("probe", "message"), [
    (Probe(DST4, _probe(DST4, P.IPPROTO_UDP, 3, 12)),
     "udp4_probe could not send to 192.0.2.9 (3 ttl, 33435 dport, 40 len)"),
    (Probe(DST6, _probe(DST6, P.IPPROTO_UDP, 4, 12)),
     "udp6_probe could not send to 2001:db8::9 (4 hlim, 33435 dport, 12 len)"),
    (Probe(DST4, _probe(DST4, P.IPPROTO_ICMP, 64, 56)),
     "icmp4_probe could not send to 192.0.2.9 (64 ttl, 7 seq, 84 len)"),
    (Probe(DST6, _probe(DST6, P.IPPROTO_ICMPV6, 64, 56)),
     "icmp6_probe could not send to 2001:db8::9 (64 ttl, 7 seq, 64 len)"),
    (Probe(DST4, _probe(DST4, P.IPPROTO_TCP, 5, 0)), "dl_linux_tx 54 bytes failed"),
    (Probe(DST4, _probe(DST4, P.IPPROTO_ICMP, 64, 56), via=DST4), "dl_linux_tx 98 bytes failed"),
])
def test_senderr_message_is_scampers_for_each_probe_kind(probe: Probe, message: str) -> None:
    assert send_errmsg(probe, UNREACH) == f"{message}: Network is unreachable"
    err = send_error(probe, UNREACH)
    assert isinstance(err, SendError) and isinstance(err, OSError)
    assert (err.errno, err.message) == (errno.ENETUNREACH, f"{message}: Network is unreachable")
    assert send_error(probe, err) is err


def test_senderr_without_errno_is_the_message_alone() -> None:
    probe = Probe(DST4, _probe(DST4, P.IPPROTO_TCP, 5, 0))
    assert send_errmsg(probe, OSError(0, "")) == "dl_linux_tx 54 bytes failed"
