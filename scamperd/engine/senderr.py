"""A probe the kernel would not send: :class:`SendError`, with scamper's text.

The engine builds it where the send fails (the scheduler) and hands it to
the task, so every method records the same message for the same failure
and no raw OSError reaches a method.  The text is what scamper records as
the measurement's errmsg: the message of the probe function that failed
(scamper_icmp4.c, scamper_icmp6.c, scamper_udp4.c, scamper_udp6.c, or the
datalink's dl_linux_tx for TCP probes and anything sent on the datalink),
then scamper_err_render()'s ``: <strerror>``.

| probe | scamper's message | len |
|---|---|---|
| ICMP v4 | icmp4_probe could not send to A (T ttl, S seq, L len) | IP packet |
| ICMP v6 | icmp6_probe could not send to A (T ttl, S seq, L len) | ICMPv6 message |
| UDP v4 | udp4_probe could not send to A (T ttl, D dport, L len) | IP packet |
| UDP v6 | udp6_probe could not send to A (T hlim, D dport, L len) | UDP payload |
| TCP, or sent on the datalink | dl_linux_tx L bytes failed | Ethernet frame |

Every value comes from the packet itself, so the message is the same
whichever method built the probe.
"""

from __future__ import annotations

import ipaddress

from .packets import IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP
from .task import Probe

ETHER_HDR = 14  # dl_linux_tx counts the Ethernet header


class SendError(OSError):
    """An OSError from sending, with the message scamper records for it."""

    def __init__(self, errno: int, strerror: str, message: str) -> None:
        super().__init__(errno, strerror)
        self.message = message


def send_errmsg(probe: Probe, err: OSError) -> str:
    """scamper's errmsg for ``probe`` failing with ``err`` (see the table)."""
    pkt = probe.packet
    n = len(pkt)
    v6 = len(probe.dst) == 16
    if v6:
        hl, proto, ttl = 40, pkt[6] if n > 6 else 0, pkt[7] if n > 7 else 0
    else:
        hl = (pkt[0] & 0x0F) * 4 if n else 20
        proto, ttl = (pkt[9], pkt[8]) if n > 9 else (0, 0)
    dst = str(ipaddress.ip_address(probe.dst))
    if probe.via is not None or proto not in (IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP):
        what = f"dl_linux_tx {n + ETHER_HDR} bytes failed"
    elif proto == IPPROTO_UDP:
        dport = int.from_bytes(pkt[hl + 2:hl + 4], "big")
        if v6:
            what = f"udp6_probe could not send to {dst} ({ttl} hlim, {dport} dport, {n - 48} len)"
        else:
            what = f"udp4_probe could not send to {dst} ({ttl} ttl, {dport} dport, {n} len)"
    else:
        seq = int.from_bytes(pkt[hl + 6:hl + 8], "big")
        fam = "icmp6" if v6 else "icmp4"
        size = n - hl if v6 else n
        what = f"{fam}_probe could not send to {dst} ({ttl} ttl, {seq} seq, {size} len)"
    return f"{what}: {err.strerror}" if err.errno else what


def send_error(probe: Probe, err: OSError) -> SendError:
    """The SendError for ``probe`` failing with ``err``."""
    if isinstance(err, SendError):
        return err
    return SendError(err.errno or 0, err.strerror or str(err), send_errmsg(probe, err))
