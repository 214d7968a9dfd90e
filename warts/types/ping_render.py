"""Ping renderers: sc_warts2text and sc_wartsdump (20260420); the JSON one
(sc_warts2json) is :mod:`warts.types.ping_json`.

The formats follow scamper/ping/scamper_ping_text.c and
utils/sc_wartsdump/sc_wartsdump.c, quirks included:

| renderer | quirk reproduced |
|---|---|
| text | each reply is cut at 255 characters (a 256-byte buffer) |
| text | the last character of the whole text becomes a newline |
| dump | v4ts stamps without addresses crash sc_wartsdump; we print them as stamps only |

Values that were absent on the wire are rendered with scamper's reader
defaults (see :mod:`warts.types.ping`).
"""

from __future__ import annotations

import time

from ..address import ADDR_IPV4, ADDR_IPV6
from ..jsonfmt import rtt_ms
from ..wire import Timeval
from .ping import (
    FLAG_NAMES,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    METHODS_ICMP,
    METHODS_TCP,
    METHODS_VARY_DPORT,
    METHODS_VARY_SPORT,
    Ping,
    PingFlag,
    PingReply,
    PingReplyFlag,
    PingStop,
    method_name,
    ping_stats,
    reply_groups,
    stop_name,
)

_REPLY_TTL = int(PingReplyFlag.REPLY_TTL)
_REPLY_IPID = int(PingReplyFlag.REPLY_IPID)
_PROBE_IPID = int(PingReplyFlag.PROBE_IPID)
_DLTX = int(PingReplyFlag.DLTX)
_DLRX = int(PingReplyFlag.DLRX)
_REPLY_TOS = int(PingReplyFlag.REPLY_TOS)


def _reply_proto(r: PingReply, dst_v4: bool) -> int:
    p = r.proto
    if p is None:
        return IPPROTO_ICMP if dst_v4 else IPPROTO_ICMPV6
    return p


def _ipid32(r: PingReply, dst_v4: bool) -> int:
    if dst_v4 and r.reply_ipid is not None:
        return r.reply_ipid
    return r.ipid32 if r.ipid32 is not None else 0


def _is_icmp(atype: int, proto: int) -> bool:
    return (atype == ADDR_IPV4 and proto == IPPROTO_ICMP) or \
        (atype == ADDR_IPV6 and proto == IPPROTO_ICMPV6)


def _is_ptb(atype: int, proto: int, t: int, c: int) -> bool:
    if atype == ADDR_IPV4:
        return proto == IPPROTO_ICMP and t == 3 and c == 4
    return atype == ADDR_IPV6 and proto == IPPROTO_ICMPV6 and t == 2


# --------------------------------------------------------------------------
# text (scamper_ping_text.c)

_TEXT_REPLY_SIZE = 256
_TH_RST = 0x04
_TH_SYN = 0x02
_TH_ACK = 0x10
_TH_ECE = 0x40


def _tsreply_str(val: int) -> str:
    ms = val % 1000
    ss = val // 1000
    hh = ss // 3600
    ss -= hh * 3600
    mm = ss // 60
    ss -= mm * 60
    return f"{hh:02d}:{mm:02d}:{ss:02d}.{ms:03d}"


def _text_reply(pid: int, r: PingReply, dst_v4: bool) -> str:
    addr = r.addr
    assert addr is not None
    atype = addr.atype
    proto = _reply_proto(r, dst_v4)
    is_icmp = _is_icmp(atype, proto)
    s = f"{r.size or 0} bytes from {addr}, seq={pid} "
    if is_icmp or proto == IPPROTO_UDP:
        s += f"ttl={r.ttl or 0} time={rtt_ms(r.rtt or 0)} ms"
    tsr = r.tsreply
    if is_icmp and tsr is not None:
        s += (f" tso={_tsreply_str(tsr.tso)} tsr={_tsreply_str(tsr.tsr)}"
              f" tst={_tsreply_str(tsr.tst)}")
    elif proto == IPPROTO_TCP:
        f = r.tcp_flags or 0
        if f & _TH_RST:
            tcp = "closed"
        elif f & (_TH_SYN | _TH_ACK) == (_TH_SYN | _TH_ACK):
            tcp = "open,ecn" if f & _TH_ECE else "open"
        else:
            tcp = f"0x{f:02x}"
        s += f"tcp={tcp} ttl={r.ttl or 0} time={rtt_ms(r.rtt or 0)} ms"
    s += "\n"
    if r.v4rr is not None:
        rr = r.v4rr
        s += f" RR: {rr[0]}\n" + "".join(f"     {a}\n" for a in rr[1:])
    ts = r.v4ts
    if ts is not None and ts.tss:
        ips = ts.ips
        lines = []
        for i, t in enumerate(ts.tss):
            lead = " TS: " if i == 0 else "     "
            if ips is not None:
                lines.append(f"{lead}{str(ips[i]):<15} {t}\n")
            else:
                lines.append(f"{lead}{t}\n")
        s += "".join(lines)
    if len(s) >= _TEXT_REPLY_SIZE:
        s = s[:_TEXT_REPLY_SIZE - 1]
    return s


def ping_text(p: Ping) -> str:
    """What sc_warts2text prints for a ping."""
    groups = reply_groups(p)
    dst = p.dst
    dst_v4 = dst is not None and dst.atype == ADDR_IPV4
    parts = ["ping"]
    if p.src is not None:
        parts.append(f" from {p.src}")
    parts.append(f" to {dst}: {p.size or 0} byte packets\n")
    for rs in groups:
        pid = rs[0].probe_id or 0
        for r in rs:
            parts.append(_text_reply(pid, r, dst_v4))
    st = ping_stats(p, groups)
    sent = p.ping_sent or 0
    s = (f"--- {dst} ping statistics ---\n"
         f"{sent} packets transmitted, {st.nreplies} packets received")
    if st.ndups > 0:
        s += f", +{st.ndups} duplicates"
    if st.nerrs > 0:
        s += f", +{st.nerrs} errors"
    if st.npend > 0:
        s += f", +{st.npend} pending"
    if sent > st.npend:
        total = sent - st.npend
        s += f", {(total - st.nreplies) * 100 // total}% packet loss"
    s += "\n"
    if st.nreplies > 0:
        s += (f"round-trip min/avg/max/stddev = {rtt_ms(st.min_rtt)}/{rtt_ms(st.avg_rtt)}"
              f"/{rtt_ms(st.max_rtt)}/{rtt_ms(st.stddev_rtt)} ms\n")
    parts.append(s)
    out = "".join(parts)
    # scamper_file_text_ping_write() turns the last character into a newline.
    return out[:-1] + "\n"


# --------------------------------------------------------------------------
# dump (sc_wartsdump.c)


def _i32(v: int) -> int:
    """A u32 printed with %d."""
    return v - (1 << 32) if v & 0x80000000 else v


def _dump_wait(label: str, tv: Timeval) -> str:
    s = f"{label}: {tv.sec}"
    u = tv.usec
    if u > 0:
        x = 6
        while u % 10 == 0:
            u //= 10
            x -= 1
        # printf(".%0<x>u"): a width of 0 or less just prints the digits
        # (a negative x reads as the '-' flag: left-justified).
        if x > 0:
            s += f".{u:0{x}d}"
        elif x == 0:
            s += f".{u}"
        else:
            s += f".{u:<{-x}d}"
    return s + "s"


def _tcp_flags_dump(f: int) -> str:
    if not f:
        return ""
    names = (" fin", " syn", " rst", " psh", " ack", " urg", " ece", " cwr")
    return " (" + "".join(n for i, n in enumerate(names) if f & (1 << i)) + " )"


def _dump_reply(start: Timeval, first: PingReply, r: PingReply, dst_v4: bool) -> str:
    # The probe's values come from the first reply of the probe (``first``).
    addr = r.addr
    assert addr is not None
    atype = addr.atype
    out = [f"reply from {addr}, attempt: {(first.probe_id or 0) + 1}"]
    tx = first.probe_tx or Timeval(0, 0)
    if (tx.sec, tx.usec) >= (start.sec, start.usec):
        sec = tx.sec - start.sec
        usec = tx.usec - start.usec
        if usec < 0:
            sec -= 1
            usec += 1000000
        out.append(f", tx: {sec}.{usec:06d}s")
    rtt = r.rtt or 0
    out.append(f", rtt: {rtt // 1000000}.{rtt % 1000000:06d}s\n")
    flags = r.flags or 0
    out.append(f" size: {r.size or 0}")
    if flags & _REPLY_TTL:
        out.append(f", ttl: {r.ttl or 0}")
    if flags & _REPLY_TOS:
        out.append(f", tos: 0x{r.tos or 0:02x}")
    if first.probe_sport:
        out.append(f", probe-sport: {first.probe_sport}")
    if flags & _PROBE_IPID:
        out.append(f", probe-ipid: 0x{first.probe_ipid or 0:04x}")
    if r.ifname is not None:
        out.append(f", ifname: {r.ifname}")
    if flags & _REPLY_IPID:
        ipid = _ipid32(r, dst_v4)
        if atype == ADDR_IPV4:
            out.append(f", reply-ipid: 0x{ipid & 0xFFFF:04x}")
        else:
            out.append(f", reply-ipid32: 0x{ipid:08x}")
    if flags & _DLTX:
        out.append(", dltx")
    if flags & _DLRX:
        out.append(", dlrx")
    out.append("\n")
    proto = _reply_proto(r, dst_v4)
    if _is_icmp(atype, proto):
        t = r.icmp_type or 0
        c = r.icmp_code or 0
        out.append(f" icmp type: {t}, code: {c}")
        if _is_ptb(atype, proto, t, c):
            out.append(f", nhmtu: {r.icmp_nhmtu or 0}")
        out.append("\n")
    elif proto == IPPROTO_TCP:
        f = r.tcp_flags or 0
        out.append(f" tcp flags: {f:02x}{_tcp_flags_dump(f)}\n")
    tsr = r.tsreply
    if tsr is not None:
        out.append(f" icmp-tsreply: tso={_tsreply_str(tsr.tso)} tsr={_tsreply_str(tsr.tsr)}"
                   f" tst={_tsreply_str(tsr.tst)}\n")
    if r.v4rr is not None:
        out.append(" record route:")
        for i, a in enumerate(r.v4rr):
            if i % 3 == 0 and i != 0:
                out.append("\n              ")
            out.append(f" {str(a):<15}")
        out.append("\n")
    ts = r.v4ts
    if ts is not None:
        tsc = len(ts.tss)
        out.append(f" IP timestamp option: tsc {tsc}")
        if tsc > 0 and ts.ips is not None:
            for i, (t, a) in enumerate(zip(ts.tss, ts.ips, strict=False)):
                if i % 2 == 0:
                    out.append("\n  ")
                else:
                    out.append("    ")
                out.append(f"{str(a):<15} 0x{t:08x}")
        else:
            for i, t in enumerate(ts.tss):
                if i % 3 == 0:
                    out.append("\n  ")
                out.append(f" 0x{t:08x}")
        out.append("\n")
    return "".join(out)


def ping_dump(p: Ping) -> str:
    """What sc_wartsdump prints for a ping (ending with its blank line)."""
    flags = p.flags
    method = p.method or 0
    out = ["ping"]
    if p.src is not None:
        out.append(f" from {p.src}")
        if flags & PingFlag.SPOOF:
            out.append(" (spoofed)")
    out.append(f" to {p.dst}\n")
    lst = p.list
    if lst is not None:
        out.append(f" list id: {_i32(lst.id)}, name: {lst.name}")
        if lst.monitor is not None:
            out.append(f", monitor: {lst.monitor}")
        out.append("\n")
    if p.cycle is not None:
        out.append(f" cycle id: {_i32(p.cycle.id)}\n")
    out.append(f" user-id: {_i32(p.userid or 0)}\n")
    if p.rtr is not None:
        out.append(f" rtr: {p.rtr}\n")
    start = p.start or Timeval(0, 0)
    out.append(f" start: {time.ctime(start.sec)} {start.usec:06d}\n")
    out.append(f" probe-count: {p.attempts or 0}")
    if p.stop_count:
        out.append(f", replies-req: {p.stop_count}")
    out.append(f", size: {p.size or 0}")
    if p.pmtu:
        out.append(f", reply-pmtu: {p.pmtu}")
    out.append(_dump_wait(", wait", p.wait_probe))
    out.append(_dump_wait(", timeout", p.wait_timeout))
    out.append(f", ttl: {p.ttl or 0}, tos: 0x{p.tos or 0:02x}\n")
    if p.errmsg is not None:
        out.append(f" errmsg: {p.errmsg}\n")
    if flags:
        names = [n for i, n in enumerate(FLAG_NAMES) if flags & (1 << i)]
        out.append(" flags:" + ",".join(f" {n}" for n in names) + "\n")
    out.append(f" method: {method_name(method)}")
    sport = p.sport or 0
    dport = p.dport or 0
    if method in METHODS_ICMP:
        out.append(f", icmp-id: {sport}")
        if flags & PingFlag.ICMPSUM:
            out.append(f", icmp-csum: 0x{p.icmpsum or 0:04x}")
    elif method in (3, 1, 6, 8, 7):
        out.append(f", sport: {sport}, dport: {dport}")
    elif method in METHODS_VARY_SPORT:
        out.append(f", base-sport: {sport}, dport: {dport}")
    elif method in METHODS_VARY_DPORT:
        out.append(f", sport: {sport}, base-dport {dport}")
    if method in METHODS_TCP:
        out.append(f", seq: {p.tcpseq or 0}, ack: {p.tcpack or 0}")
    out.append("\n")
    if p.tsps is not None:
        out.append(" timestamp-prespec:" + "".join(f" {a}" for a in p.tsps) + "\n")
    if p.datalen and p.data:
        kind = "payload" if flags & PingFlag.PAYLOAD else "pattern"
        out.append(f" {kind} bytes ({p.datalen}): {p.data.hex()}\n")
    reason = p.stop_reason or 0
    out.append(f" probes-sent: {p.ping_sent or 0}, stop-reason: {stop_name(reason)}")
    if reason == PingStop.ERROR:
        out.append(f" {p.stop_data or 0}")
    out.append("\n")
    dst = p.dst
    dst_v4 = dst is not None and dst.atype == ADDR_IPV4
    for rs in reply_groups(p):
        for r in rs:
            out.append(_dump_reply(start, rs[0], r, dst_v4))
    out.append("\n")
    return "".join(out)
