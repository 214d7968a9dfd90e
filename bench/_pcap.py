"""Just enough of a pcap reader for bench/daemon_bench: ICMP echo probes and replies.

tcpdump writes the classic pcap format (``-w``); with
``--time-stamp-precision=nano`` the magic is 0xa1b23c4d and the fraction
field holds nanoseconds, otherwise 0xa1b2c3d4 and microseconds.  Captures
come from a veth, so the link type is Ethernet (1); a Linux cooked capture
(113, ``-i any``) is read too.  Only IPv4 ICMP and IPv6 ICMPv6 echo
requests/replies are returned; everything else is skipped.  Standard library
only, so the benchmark needs nothing that is not already installed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100

ICMP4_ECHO, ICMP4_ECHOREPLY = 8, 0
ICMP6_ECHO, ICMP6_ECHOREPLY = 128, 129

_GLOBAL = struct.Struct("IHHiIII")  # byte order fixed after reading the magic
_ECHO = struct.Struct("!BBHHH")  # type, code, checksum, id, seq


class Echo(NamedTuple):
    """One echo request (``request`` True) or reply seen on the wire.

    ``peer`` is the far end: the request's destination, the reply's source,
    so a probe and its reply share ``(peer, ident, seq)``.
    """

    ts_ns: int
    request: bool
    peer: bytes
    ident: int
    seq: int


class PcapError(ValueError):
    pass


def _records(f: BinaryIO) -> Iterator[tuple[int, bytes, int]]:
    """(timestamp ns, packet bytes, link type) for every record."""
    head = f.read(24)
    if len(head) < 24:
        raise PcapError("not a pcap file: short header")
    for order in ("<", ">"):
        magic = struct.unpack(order + "I", head[:4])[0]
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise PcapError(f"not a pcap file: magic {head[:4].hex()}")
    scale = 1 if magic == MAGIC_NS else 1000
    linktype = struct.unpack(order + "IHHiIII", head)[6] & 0x0FFFFFFF
    rec = struct.Struct(order + "IIII")
    while True:
        h = f.read(16)
        if len(h) < 16:
            return
        sec, frac, incl, _orig = rec.unpack(h)
        data = f.read(incl)
        if len(data) < incl:
            return  # a capture cut short by the kill: ignore the partial record
        yield sec * 1_000_000_000 + frac * scale, data, linktype


def _l3(data: bytes, linktype: int) -> tuple[int, int] | None:
    """(ethertype, offset of the network header) of a frame."""
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return None
        off = 12
        etype = int.from_bytes(data[off:off + 2], "big")
        off += 2
        while etype == ETH_VLAN and len(data) >= off + 4:
            etype = int.from_bytes(data[off + 2:off + 4], "big")
            off += 4
        return etype, off
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return None
        return int.from_bytes(data[14:16], "big"), 16
    raise PcapError(f"unsupported link type {linktype}")


def echoes(f: BinaryIO) -> Iterator[Echo]:
    """Every ICMP/ICMPv6 echo request and reply in a capture, in file order."""
    for ts, data, linktype in _records(f):
        l3 = _l3(data, linktype)
        if l3 is None:
            continue
        etype, off = l3
        if etype == ETH_IPV4:
            if len(data) < off + 20 or data[off + 9] != 1:
                continue
            ihl = (data[off] & 0x0F) * 4
            # a fragment other than the first holds no ICMP header
            if int.from_bytes(data[off + 6:off + 8], "big") & 0x1FFF:
                continue
            src, dst = data[off + 12:off + 16], data[off + 16:off + 20]
            icmp = off + ihl
            req_type, rep_type = ICMP4_ECHO, ICMP4_ECHOREPLY
        elif etype == ETH_IPV6:
            # probes and echo replies carry no extension headers here
            if len(data) < off + 40 or data[off + 6] != 58:
                continue
            src, dst = data[off + 8:off + 24], data[off + 24:off + 40]
            icmp = off + 40
            req_type, rep_type = ICMP6_ECHO, ICMP6_ECHOREPLY
        else:
            continue
        if len(data) < icmp + 8:
            continue
        typ, _code, _sum, ident, seq = _ECHO.unpack_from(data, icmp)
        if typ == req_type:
            yield Echo(ts, True, dst, ident, seq)
        elif typ == rep_type:
            yield Echo(ts, False, src, ident, seq)


def read_echoes(path: str) -> list[Echo]:
    with open(path, "rb") as f:
        return list(echoes(f))
