"""SendError: scamper's errmsg for a probe the kernel would not send."""

from __future__ import annotations

import errno
import struct

import pytest

from scamperd.engine.packets import IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP
from scamperd.engine.senderr import SendError, send_errmsg, send_error
from scamperd.engine.task import Probe

DST4 = bytes((192, 0, 2, 9))
DST6 = bytes.fromhex("20010db8000000000000000000000009")
UNREACH = OSError(errno.ENETUNREACH, "Network is unreachable")


def _v4(proto: int, ttl: int, transport: bytes, payload: int) -> bytes:
    total = 20 + len(transport) + payload
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 1, 0, ttl, proto, 0,
                       bytes(4), DST4) + transport + bytes(payload)


def _v6(proto: int, hlim: int, transport: bytes, payload: int) -> bytes:
    return (struct.pack(">IHBB16s16s", 6 << 28, len(transport) + payload, proto, hlim,
                        bytes(16), DST6) + transport + bytes(payload))


UDP = struct.pack(">HHHH", 40000, 33435, 0, 0)
ICMP = struct.pack(">BBHHH", 8, 0, 0, 0x8123, 7)
TCP = struct.pack(">HHIIBBHHH", 40000, 80, 1, 0, 0x50, 2, 0, 0, 0)


@pytest.mark.parametrize(("probe", "message"), [
    (Probe(DST4, _v4(IPPROTO_UDP, 3, UDP, 12)),
     "udp4_probe could not send to 192.0.2.9 (3 ttl, 33435 dport, 40 len)"),
    (Probe(DST6, _v6(IPPROTO_UDP, 4, UDP, 12)),
     "udp6_probe could not send to 2001:db8::9 (4 hlim, 33435 dport, 12 len)"),
    (Probe(DST4, _v4(IPPROTO_ICMP, 64, ICMP, 56)),
     "icmp4_probe could not send to 192.0.2.9 (64 ttl, 7 seq, 84 len)"),
    (Probe(DST6, _v6(IPPROTO_ICMPV6, 64, ICMP, 56)),
     "icmp6_probe could not send to 2001:db8::9 (64 ttl, 7 seq, 64 len)"),
    (Probe(DST4, _v4(IPPROTO_TCP, 5, TCP, 0)), "dl_linux_tx 54 bytes failed"),
    (Probe(DST4, _v4(IPPROTO_ICMP, 64, ICMP, 56), via=DST4), "dl_linux_tx 98 bytes failed"),
])
def test_senderr_message_is_scampers_for_each_probe_kind(probe: Probe, message: str) -> None:
    assert send_errmsg(probe, UNREACH) == f"{message}: Network is unreachable"
    err = send_error(probe, UNREACH)
    assert isinstance(err, SendError) and isinstance(err, OSError)
    assert (err.errno, err.message) == (errno.ENETUNREACH, f"{message}: Network is unreachable")
    assert send_error(probe, err) is err


def test_senderr_without_errno_is_the_message_alone() -> None:
    probe = Probe(DST4, _v4(IPPROTO_TCP, 5, TCP, 0))
    assert send_errmsg(probe, OSError(0, "")) == "dl_linux_tx 54 bytes failed"
