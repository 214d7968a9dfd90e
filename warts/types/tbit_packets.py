"""tbit packets: reading the IP and TCP headers of a tbit record's stored
packets, and the analyses of scamper_tbit.c built on them (the server's
fast-open cookie, the initial congestion window estimate).  Split from
:mod:`warts.types.tbit_render`, whose JSON, text and dump renderers use them.

scamper reads the IP and TCP headers straight out of each stored packet
without checking the packet's length.  Here a packet is padded with zero
bytes so that such reads past its end see zeros.
"""

from __future__ import annotations

from .misc_common import cint, u8, u16, u32
from .tbit import PKT_DIR_RX, RESULT_ICW_SUCCESS, Tbit, TbitIcw, TbitPkt

_PAD = bytes(1024)


TH_FIN = 0x01


TH_SYN = 0x02


TH_RST = 0x04


TH_ACK = 0x10


IPPROTO_HOPOPTS = 0


IPPROTO_ICMP = 1


IPPROTO_TCP = 6


IPPROTO_ROUTING = 43


IPPROTO_FRAGMENT = 44


IPPROTO_ICMPV6 = 58


IPPROTO_DSTOPTS = 60


EXT_HDRS = (IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING)


def pkt_data(pkt: TbitPkt) -> bytes:
    d = pkt.data or b""
    return d[:pkt.len] + _PAD if pkt.len is not None else d + _PAD


def be16(d: bytes, i: int) -> int:
    return (d[i] << 8) | d[i + 1]


def be32(d: bytes, i: int) -> int:
    return (d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3]


def isnoff(isn: int, seq: int) -> int:
    return (seq - isn) & 0xFFFFFFFF


def _seq_lt(a: int, b: int) -> bool:
    return cint(a - b) < 0


def _seq_leq(a: int, b: int) -> bool:
    return cint(a - b) <= 0


def _data_inrange(rcv_nxt: int, seq: int, length: int) -> bool:
    """scamper_tbit_data_inrange()."""
    top = u32(rcv_nxt + 65535)
    last = u32(seq + length - 1)
    return ((_seq_leq(rcv_nxt, seq) and _seq_lt(seq, top))
            or (_seq_leq(rcv_nxt, last) and _seq_lt(last, top)))


def _iph(d: bytes) -> tuple[int, int, int] | None:
    """scamper_tbit_pkt_iph(): (proto, iphlen, iplen) or None."""
    v = d[0] >> 4
    if v == 4:
        return d[9], (d[0] & 0xF) * 4, be16(d, 2)
    if v != 6:
        return None
    iphlen = 40
    iplen = u16(be16(d, 4) + 40)
    proto = d[6]
    while True:
        if proto in EXT_HDRS:
            if d[iphlen + 1] == 0 or 255 - iphlen <= d[iphlen + 1] * 8 + 8:
                return None
            proto = d[iphlen]
            iphlen = u8(iphlen + d[iphlen + 1] * 8 + 8)
            continue
        if proto == IPPROTO_FRAGMENT:
            if 255 - iphlen <= 8:
                return None
            proto = d[iphlen]
            if be16(d, iphlen + 2) & 0xFFF8 or d[iphlen + 3] & 0x1:
                return None
            iphlen = u8(iphlen + 8)
            continue
        break
    return proto, iphlen, iplen


def server_icw_size(rec: Tbit) -> int | None:
    """scamper_tbit_server_icw_size_get(): bytes the server sent in its
    initial window, or None."""
    if (rec.result or 0) != RESULT_ICW_SUCCESS or not isinstance(rec.data, TbitIcw):
        return None
    pkts = rec.pkts
    i = 1
    while i < len(pkts) and (pkts[i].dir or 0) != PKT_DIR_RX:
        i += 1
    if i >= len(pkts):
        return None
    d = pkt_data(pkts[i])
    h = _iph(d)
    if h is None or h[0] != IPPROTO_TCP or d[h[1] + 13] & (TH_SYN | TH_ACK) != TH_SYN | TH_ACK:
        return None
    start_seq = u32(be32(d, h[1] + 4) + (rec.data.start_seq or 0))
    edges: list[int] = []
    seen = 0
    for pkt in pkts[i + 1:]:
        if (pkt.dir or 0) != PKT_DIR_RX:
            continue
        d = pkt_data(pkt)
        h = _iph(d)
        if h is None or h[0] != IPPROTO_TCP:
            break
        proto, iphlen, iplen = h
        seq = be32(d, iphlen + 4)
        tcphlen = ((d[iphlen + 12] & 0xF0) >> 4) * 4
        flags = d[iphlen + 13]
        datalen = u16(iplen - iphlen - tcphlen)
        if datalen == 0 and not flags & TH_FIN:
            continue
        if not _data_inrange(start_seq, seq, datalen):
            continue
        if seq == start_seq:
            seen += 1
            if seen == 2:
                # scamper_tbit_tcpq_tail(): the furthest right edge queued
                rng = max(((e - start_seq) & 0xFFFFFFFF for e in edges), default=0)
                return rng
        edges.append(u32(seq + datalen))
    return None


def server_fo_cookie(rec: Tbit) -> bytes | None:
    """scamper_tbit_server_fo_cookie_get(): the fast-open cookie in the
    server's SYN/ACK, or None."""
    for pkt in rec.pkts:
        if (pkt.dir or 0) != PKT_DIR_RX:
            continue
        d = pkt_data(pkt)
        v = d[0] >> 4
        if v == 4:
            iphlen = (d[0] & 0xF) * 4
            if d[9] != IPPROTO_TCP or be16(d, 6) & 0x1FFF:
                continue
        elif v == 6:
            iphlen = 40
            proto = d[6]
            while True:
                if proto in EXT_HDRS:
                    if d[iphlen + 1] == 0 or 255 - iphlen <= d[iphlen + 1] * 8 + 8:
                        break
                    proto = d[iphlen]
                    iphlen = u8(iphlen + d[iphlen + 1] * 8 + 8)
                    continue
                if proto == IPPROTO_FRAGMENT:
                    if 255 - iphlen <= 8 or be16(d, iphlen + 2) & 0xFFF8:
                        break
                    proto = d[iphlen]
                    iphlen = u8(iphlen + 8)
                    continue
                break
            if proto != IPPROTO_TCP:
                continue
        else:
            continue
        if d[iphlen + 13] & (TH_SYN | TH_ACK) != TH_SYN | TH_ACK:
            continue
        tcphlen = ((d[iphlen + 12] & 0xF0) >> 4) * 4
        o = 20
        while o < tcphlen:
            p = iphlen + o
            if d[p] == 0:
                break
            if d[p + 1] == 1:
                # scamper tests the length byte, not the kind, for a NOP
                o += 1
                continue
            if d[p + 1] == 0 or o + d[p + 1] > tcphlen:
                break
            if d[p] == 34 and 2 < d[p + 1] <= 18:
                return d[p + 2:p + d[p + 1]]
            if d[p] == 254 and 4 < d[p + 1] <= 20 and d[p + 2] == 0xF9 and d[p + 3] == 0x89:
                return d[p + 4:p + d[p + 1]]
            o += d[p + 1]
    return None


def v6_walk(d: bytes) -> tuple[int, int, bool, int, int, str]:
    """The bounded IPv6 header walk of the text and dump renderers:
    (proto, iphlen, frag, mf, off, ipid)."""
    iphlen = 40
    proto = d[6]
    frag = False
    mf = 0
    off = 0
    ipid = ""
    while True:
        if proto in EXT_HDRS:
            if d[iphlen + 1] == 0 or 255 - iphlen <= d[iphlen + 1] * 8 + 8:
                break
            proto = d[iphlen]
            iphlen = u8(iphlen + d[iphlen + 1] * 8 + 8)
            continue
        if proto == IPPROTO_FRAGMENT:
            if 255 - iphlen <= 8:
                break
            if d[iphlen + 3] & 0x1:
                mf = 1
            ipid = f"{be32(d, iphlen + 4):x}"
            off = be16(d, iphlen + 2) & 0xFFF8
            proto = d[iphlen]
            iphlen = u8(iphlen + 8)
            frag = True
            continue
        break
    return proto, iphlen, frag, mf, off, ipid


def sack_blocks(d: bytes, iphlen: int, tcphlen: int) -> list[tuple[int, int, list[int]]]:
    """The SACK options of a TCP header: (offset, length, edges)."""
    out = []
    o = 20
    while o < tcphlen:
        p = iphlen + o
        if d[p] == 0:
            break
        if d[p] == 1:
            o += 1
            continue
        olen = d[p + 1]
        if olen == 0 or o + olen > tcphlen:
            break
        if d[p] == 5 and olen in (10, 18, 26, 34):
            edges = [be32(d, p + 2 + k * 4) for k in range((olen - 2) // 4)]
            out.append((o, olen, edges))
        o += olen
    return out
