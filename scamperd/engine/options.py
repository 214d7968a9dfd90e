"""IPv4 and TCP options (RFC 791, RFC 9293): built for probes, read from replies.

One list walker serves both option spaces (0 ends the list, 1 is a one-byte
no-op, the rest carry their length).  What is built is what scamper's ping
sends (record route, timestamps, an MSS); what is read is what scamper
reads back: ipopt_parse's record-route and timestamp options in a reply,
and the MSS of a TCP answer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")

# What a reply's IPv4 options say, as the Reply fields rr, tsc_flag,
# ts_values and ts_addrs hold it (None / -1: the option is not there).
IpOpts = tuple[tuple[bytes, ...] | None, int, tuple[int, ...] | None, tuple[bytes, ...] | None]
NO_IPOPTS: IpOpts = (None, -1, None, None)


# --------------------------------------------------------------------------
# Building


def tcp_mss_option(mss: int) -> bytes:
    return bytes((2, 4)) + _U16.pack(mss)


def ipopt_record_route(slots: int = 9) -> bytes:
    """An IPv4 record-route option with ``slots`` empty addresses (RFC 791),
    padded with end-of-options to a multiple of 4."""
    opt = bytes((7, 3 + 4 * slots, 4)) + bytes(4 * slots)
    return opt + bytes(-len(opt) % 4)


def ipopt_timestamp(flag: int, addrs: list[bytes] | None = None, slots: int = 9) -> bytes:
    """An IPv4 timestamp option (RFC 791): flag 0 tsonly, 1 tsandaddr, 3 prespecified."""
    if flag == 3 and addrs:
        body = b"".join(a + bytes(4) for a in addrs)
    elif flag == 1:
        body = bytes(8 * 4)
    else:
        body = bytes(4 * slots)
    opt = bytes((68, 4 + len(body), 5, flag & 0x0F)) + body
    return opt + bytes(-len(opt) % 4)


# --------------------------------------------------------------------------
# Reading


def _options(buf: bytes, off: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(kind, offset, length) of each IPv4 or TCP option; stops at a length
    below 2.  The caller checks a length against ``end``."""
    while off < end:
        kind = buf[off]
        if kind == 0:
            return
        if kind == 1:
            off += 1
            continue
        if off + 1 >= end:
            return
        ol = buf[off + 1]
        if ol < 2:
            return
        yield kind, off, ol
        off += ol


def ipv4_options(buf: bytes, start: int, end: int) -> IpOpts:
    """The record-route and timestamp options of the IPv4 header whose
    options are ``buf[start:end]`` (ipopt_parse in scamper; a later option
    of a kind replaces an earlier one)."""
    rr, tsc_flag, ts_values, ts_addrs = NO_IPOPTS
    for kind, off, ol in _options(buf, start, end):
        if off + ol > end:
            break
        if kind == 7 and ol >= 3:
            p = buf[off + 2]
            if p >= 4 and p % 4 == 0 and p // 4 - 1 > 0:
                n = p // 4 - 1
                body = buf[off + 3:off + 3 + 4 * n]
                rr = tuple(body[i:i + 4] for i in range(0, len(body) - 3, 4))
        elif kind == 68 and ol >= 4:
            p = buf[off + 2]
            fl = buf[off + 3] & 0x0F
            if p == 1:
                ts = _ipopt_ts(buf[off + 4:off + ol], fl)
            elif p >= 5 and p - 1 <= ol:
                ts = _ipopt_ts(buf[off + 4:off + p - 1], fl)
            else:
                continue
            if ts is not None:
                tsc_flag, ts_values, ts_addrs = ts
    return rr, tsc_flag, ts_values, ts_addrs


def _ipopt_ts(body: bytes, fl: int
              ) -> tuple[int, tuple[int, ...], tuple[bytes, ...] | None] | None:
    step = 4 if fl == 0 else 8 if fl in (1, 3) else 0
    if step == 0 or len(body) < step or len(body) % step:
        return None
    addrs = []
    values = []
    for i in range(0, len(body), step):
        if step == 8:
            addrs.append(body[i:i + 4])
            values.append(_U32.unpack_from(body, i + 4)[0])
        else:
            values.append(_U32.unpack_from(body, i)[0])
    return fl, tuple(values), tuple(addrs) if step == 8 else None


def tcp_mss(buf: bytes, off: int, end: int) -> int:
    """The MSS option among the TCP options ``buf[off:end]`` (0: none)."""
    for kind, at, ol in _options(buf, off, end):
        if kind == 2 and ol == 4 and at + 4 <= end:
            return int(_U16.unpack_from(buf, at + 2)[0])
    return 0
