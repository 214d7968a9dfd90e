"""Traceroute text as sc_warts2text 20260420 prints it
(scamper/trace/scamper_trace_text.c), and the trace part of sc_wartsdump
20260420 (utils/sc_wartsdump/sc_wartsdump.c).

Text: a header line, then one line for every TTL from 1 to the hop count
(below ``firsthop`` and above ``stop_hop`` included), with ``[mtu: N]``
annotations for PMTUD versions 1 and 2 up to the stop hop.
"""

from __future__ import annotations

import time

from ..address import ADDR_IPV4, ADDR_IPV6
from .trace import Trace, TracePmtud, TraceProbe, TraceReply, flag_name, gapaction_name, stop_name
from .trace_json import first_reply_at, prefix_len

# --------------------------------------------------------------------------
# sc_warts2text

_V4_UNREACH = {13: " !X", 1: " !H", 4: " !F", 5: " !S", 2: " !P", 0: " !N", 3: ""}
_V6_UNREACH = {3: " !A", 2: " !S", 1: " !P", 0: " !N", 4: ""}
# TCP header flag bits (TH_*) and their names in icmp_tostr()'s order.
_TH_NAMES = ((0x04, " RST"), (0x02, " SYN"), (0x10, " ACK"), (0x08, " PSH"),
             (0x01, " FIN"), (0x20, " URG"), (0x80, " CWR"), (0x40, " ECE"))


def _icmp_str(r: TraceReply) -> str:
    """icmp_tostr(): the annotation after a reply's RTT."""
    rf = r.flags or 0
    if rf & 0x20:
        tf = r.icmp_type_eff
        if tf & 0x04:
            return " [closed]"
        if tf & 0x12 == 0x12:
            return " [open, ecn]" if tf & 0x40 else " [open]"
        if tf == 0:
            return " [unknown, no flags]"
        return " [unknown," + "".join(n for bit, n in _TH_NAMES if tf & bit) + "]"
    if rf & 0x60:
        return ""
    if r.is_icmp_ttl_exp or r.is_icmp_echo_reply:
        return ""
    t = r.icmp_type_eff
    c = r.icmp_code or 0
    at = r.addr.atype
    if at == ADDR_IPV4:
        if t == 3:
            s = _V4_UNREACH.get(c)
            return s if s is not None else f" !<{c}>"
        return f" !<{t},{c}>"
    if at == ADDR_IPV6:
        if t == 1:
            s = _V6_UNREACH.get(c)
            return s if s is not None else f" !<{c}>"
        if t == 2:
            return " !F"
        return f" !<{t},{c}>"
    return ""


def _rtt(us: int) -> str:
    us &= 0xFFFFFFFF
    return f"{us // 1000}.{us % 1000:03d}"


def _hop_line(tr: Trace, h: int, replies: list[TraceReply]) -> str:
    """hop_tostr() for TTL ``h``."""
    if not replies:
        if not tr.flags & 0x01:
            return f"{h:2d}  *"
        # scamper snprintf()s the TTL into a buffer of 4 + 2 * attempts
        # bytes, writes "* " pairs from offset 4 and ends the string at
        # offset 2 * attempts + 3 (so "%2d  " may be cut for 0 attempts or
        # overwritten for TTLs of three digits).
        attempts = tr.attempts or 0
        n = 4 + 2 * attempts
        buf = bytearray(n)
        head = f"{h:2d}  ".encode()[:n - 1]
        buf[:len(head)] = head
        for i in range(attempts):
            buf[4 + i * 2] = 0x2A
            buf[5 + i * 2] = 0x20
        buf[2 * attempts + 3] = 0
        return buf.split(b"\x00", 1)[0].decode()
    if len(replies) == 1:
        r = replies[0]
        return f"{h:2d}  {r.addr}  {_rtt(r.rtt or 0)} ms{_icmp_str(r)}"
    parts = [f"{h:2d}  "]
    last = None
    for r in replies:
        a = str(r.addr)
        rtt = f"{_rtt(r.rtt or 0)} ms{_icmp_str(r)}"
        if last is not None and a == last:
            parts.append(f"{rtt}  ")
        else:
            last = a
            parts.append(f"{a}  {rtt}  ")
    return "".join(parts).rstrip(" ")


def _mtu_str(mtu: int, size: int) -> str:
    return f" [*mtu: {size}]" if mtu != size else f" [mtu: {mtu}]"


def _pmtud_ver1(tr: Trace, pm: TracePmtud, by_ttl: dict[int, list[TraceProbe]],
                mtus: list[str | None]) -> None:
    it = iter(list(pm.replies()))
    cur = next(it, None)
    if cur is None:
        mtu = size = pm.pmtu or 0
    else:
        mtu = size = pm.ifmtu or 0
        if pm.outmtu:
            size = pm.outmtu
    for i in range(len(mtus)):
        th = first_reply_at(by_ttl, i + 1)
        if th is None:
            mtus[i] = None
            continue
        if cur is None:
            continue
        probe, hop = cur
        if hop.addr == th.addr:
            mtus[i] = _mtu_str(mtu, size)
            if hop.is_icmp_ptb:
                mtu = hop.icmp_nhmtu or 0
            cur = next(it, None)
            size = (cur[0].size or 0) if cur is not None else (pm.pmtu or 0)
            continue
        if i >= probe.ttl - hop.q_ttl_eff():
            if hop.is_icmp_ptb:
                size = mtu = hop.icmp_nhmtu or 0
            mtus[i] = _mtu_str(mtu, size)
            cur = next(it, None)
            size = (cur[0].size or 0) if cur is not None else (pm.pmtu or 0)
            continue
        mtus[i] = _mtu_str(mtu, size)


def _note_dist(tr: Trace, by_ttl: dict[int, list[TraceProbe]], start: int,
               note_type: int | None, pr: tuple[TraceProbe, TraceReply] | None) -> int:
    """scamper_trace_pmtud_noteiter_dist_get() (the text renderer's variant)."""
    hc = tr.hop_count_eff
    sh = tr.stop_hop or 0
    if sh == 0 or sh > hc:
        if hc > 255:
            return 0
        hop_count = hc
    else:
        hop_count = sh
    if hop_count == 0:
        return 0
    if note_type == 3:
        if pr is not None and pr[0].ttl < hop_count:
            return pr[0].ttl
        return 0
    if pr is None:
        return 0
    probe, hop = pr
    ttl = (start + 1) & 0xFF
    if ttl != 0 and ttl <= hop_count:
        for t in range(ttl, hop_count + 1):
            for p in by_ttl.get(t, ()):
                for r in p.replies:
                    if r.addr == hop.addr:
                        return p.ttl
    qttl = hop.q_ttl_eff()
    if probe.ttl <= qttl:
        return 0
    i = probe.ttl - qttl
    th = first_reply_at(by_ttl, i + 1) if i < hop_count else None
    if th is not None:
        pl = prefix_len(th.addr, hop.addr)
        ok = (hop.addr.atype == ADDR_IPV4 and pl >= 30) or \
            (hop.addr.atype == ADDR_IPV6 and pl >= 126)
    else:
        ok = False
    dist = i if ok else (i + 1) & 0xFF  # a uint8_t in scamper
    if dist >= hop_count:
        dist = hop_count - 1
    return dist


def _pmtud_ver2(tr: Trace, pm: TracePmtud, by_ttl: dict[int, list[TraceProbe]],
                mtus: list[str | None]) -> None:
    mtu = size = pm.ifmtu or 0
    notes = list(pm.notes)
    if pm.outmtu:
        size = pm.outmtu
        notes = notes[1:]
    hop_count = tr.stop_hop_count & 0xFF
    h = 0
    start = 0
    for n in notes:
        pr = pm.note_reply(n)
        if pr is None:
            size = n.nhmtu or 0
            continue
        hop = pr[1]
        i = _note_dist(tr, by_ttl, start, n.type, pr)
        if i == 0:
            continue
        start = i
        i -= 1
        while h <= i:
            if first_reply_at(by_ttl, h + 1) is not None:
                mtus[h] = _mtu_str(mtu, size)
            h += 1
        if hop.is_icmp_ptb:
            th = first_reply_at(by_ttl, i + 1)
            if th is None:
                mtus[i] = _mtu_str(mtu, size)
            addr = str(hop.addr) if th is None or th.addr != hop.addr else ""
            nhmtu = hop.icmp_nhmtu or 0
            if addr or (n.nhmtu or 0) != nhmtu:
                s = mtus[i] or ""
                if addr:
                    s += f" ptb {addr}"
                if (n.nhmtu or 0) != nhmtu:
                    s += f" nhmtu {nhmtu}!"
                mtus[i] = s
            mtu = nhmtu
        size = n.nhmtu or 0
    while h < hop_count:
        if first_reply_at(by_ttl, h + 1) is not None:
            mtus[h] = _mtu_str(mtu, size)
        h += 1


def trace_to_text(tr: Trace) -> str:
    """scamper_trace_totext() with the newline sc_warts2text adds."""
    head = ["traceroute"]
    if tr.src is not None:
        head.append(f" from {tr.src}")
    head.append(f" to {tr.dst}")
    if tr.rtr is not None:
        head.append(f" via {tr.rtr}")
    lines = ["".join(head)]
    full = tr.hop_count_eff
    if full > 0:
        by_ttl = tr.probes_by_ttl()
        hops = []
        for h in range(1, full + 1):
            replies = [r for p in by_ttl.get(h, ()) for r in p.replies]
            hops.append(_hop_line(tr, h, replies))
        pm = tr.pmtud
        mtus: list[str | None] | None = None
        if pm is not None and pm.ver_eff in (1, 2):
            mtus = [None] * full
            if pm.ver_eff == 1:
                _pmtud_ver1(tr, pm, by_ttl, mtus)
            else:
                _pmtud_ver2(tr, pm, by_ttl, mtus)
        hop_count = tr.stop_hop_count
        for i, s in enumerate(hops):
            if mtus is not None and i < hop_count and mtus[i] is not None:
                s += mtus[i]  # type: ignore[operator]
            lines.append(s)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# sc_wartsdump


def _ctime(sec: int) -> str:
    return time.asctime(time.localtime(sec))


def _i32(v: int) -> int:
    """printf("%d") of an unsigned 32-bit value."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _wait(label: str, sec: int, usec: int) -> str:
    """dump_wait(): seconds with the microseconds' trailing zeros dropped."""
    s = f"{label}: {sec}"
    if usec > 0:
        x = 6
        while usec % 10 == 0:
            usec //= 10
            x -= 1
        s += f".{usec:0{x}d}"
    return s + "s"


_V4_UNREACH_NAMES = {0: "net", 1: "host", 2: "protocol", 3: "port", 5: "src-rt failed",
                     6: "net unknown", 7: "host unknown", 8: "isolated", 9: "net prohib",
                     10: "host prohib", 11: "tos net", 12: "tos host", 13: "admin prohib",
                     4: "need frag"}
_V6_UNREACH_NAMES = {0: "no route", 1: "admin prohib", 2: "beyond scope", 3: "addr",
                     4: "port"}
_TCP_FLAG_NAMES = ((0x01, " fin"), (0x02, " syn"), (0x04, " rst"), (0x08, " psh"),
                   (0x10, " ack"), (0x20, " urg"), (0x40, " ece"), (0x80, " cwr"))
_TYPE_DUMP = {1: "icmp, echo id: {sport}", 4: "icmp paris, echo id: {sport}",
              2: "udp, sport: {sport}, base dport: {dport}",
              5: "udp paris, sport: {sport}, dport: {dport}",
              3: "tcp, sport: {sport}, dport: {dport}",
              6: "tcp-ack, sport: {sport}, dport: {dport}"}


def _dump_hop(tr: Trace, flags: int, p: TraceProbe, r: TraceReply, out: list[str]) -> None:
    """dump_trace_hop()."""
    a = r.addr
    out.append(f"hop {p.ttl:2d}  {a}")
    if r.name is not None:
        out.append(f" name {r.name}")
    out.append(f"\n attempt: {p.id or 0}")
    tx = p.tx
    if tx is not None and tx.sec != 0:
        st = tr.start
        ssec, susec = (st.sec, st.usec) if st is not None else (0, 0)
        sec = tx.sec - ssec
        usec = tx.usec - susec
        if usec < 0:
            sec -= 1
            usec += 1000000
        out.append(f", tx: {_i32(sec)}.{_i32(usec):06d}s")
    rtt = r.rtt or 0
    out.append(f", rtt: {rtt // 1000000}.{rtt % 1000000:06d}s, probe-size: {p.size or 0}\n")
    rf = r.flags or 0
    comma = ""
    if rf & 0x10:
        out.append(f" reply-ttl: {r.ttl or 0}")
        comma = ","
    if not flags & 0x80:
        out.append(f"{comma} reply-size: {r.size or 0}")
        comma = ","
        if a.atype == ADDR_IPV4:
            out.append(f", reply-ipid: 0x{r.ipid or 0:04x}")
    out.append(f"{comma} reply-tos: 0x{r.tos or 0:02x}\n")
    if not rf & 0x60:
        out.append(f" icmp-type: {r.icmp_type_eff}, icmp-code: {r.icmp_code or 0}")
        if r.is_icmp_q:
            out.append(f", q-ttl: {r.q_ttl_eff()}, q-len: {r.q_ipl_eff(p.size or 0)}, "
                       f"q-tos {r.icmp_q_tos or 0}")
        if r.is_icmp_ptb:
            out.append(f", nhmtu: {r.icmp_nhmtu or 0}")
        out.append("\n")
    elif rf & 0x20:
        tf = r.icmp_type_eff
        out.append(f" tcp-flags: 0x{tf:02x}")
        if tf:
            out.append(" (" + "".join(n for b, n in _TCP_FLAG_NAMES if tf & b) + " )")
        out.append("\n")
    out.append(f" flags: 0x{rf:02x}")
    if rf:
        names = []
        if rf & 0x01:
            names.append(" sockrxts")
        if rf & 0x02:
            names.append(" dltxts")
        if rf & 0x04:
            names.append(" dlrxts")
        if rf & 0x10:
            names.append(" replyttl")
        out.append(" (" + "".join(names) + " )")
    out.append("\n")
    if r.icmp_exts is not None:
        for ie in r.icmp_exts:
            if ie.cls == 1 and ie.ctype == 1:
                for m, (lab, exp, s, ttl) in enumerate(ie.mpls_labels()):
                    lead = "mpls ext" if m == 0 else ""
                    out.append(f"{lead:>9s} ttl: {ttl}, s: {s}, exp: {exp}, label: {lab}\n")


def trace_to_dump(tr: Trace) -> str:
    """dump_trace() of sc_wartsdump."""
    out: list[str] = []
    if tr.src is not None:
        out.append(f"traceroute from {tr.src} to {tr.dst}\n")
    else:
        out.append(f"traceroute to {tr.dst}\n")
    if tr.list is not None:
        lst = tr.list
        s = f" list id: {_i32(lst.id)}, name: {lst.name}"
        if lst.monitor is not None:
            s += f", monitor: {lst.monitor}"
        out.append(s + "\n")
    if tr.cycle is not None:
        out.append(f" cycle id: {_i32(tr.cycle.id)}\n")
    out.append(f" user-id: {_i32(tr.userid or 0)}\n")
    if tr.rtr is not None:
        out.append(f" rtr: {tr.rtr}\n")
    st = tr.start
    ssec, susec = (st.sec, st.usec) if st is not None else (0, 0)
    out.append(f" start: {_ctime(ssec)} {_i32(susec):06d}\n")

    t = tr.type or 0
    sport = tr.sport or 0
    dport = tr.dport or 0
    flags = tr.flags
    fmt = _TYPE_DUMP.get(t)
    s = fmt.format(sport=sport, dport=dport) if fmt is not None else str(t)
    if t == 4 and flags & 0x20:
        s += f", csum: 0x{dport:04x}"
    if tr.offset:
        s += f", offset {tr.offset}"
    out.append(f" type: {s}\n")

    dt = tr.dtree
    if dt is not None:
        s = f" doubletree firsthop: {dt.firsthop or 0}"
        if dt.lss is not None:
            s += f", lss-name: {dt.lss}"
        if dt.lss_stop is not None:
            s += f", lss-stop: {dt.lss_stop}"
        if dt.gss_stop is not None:
            s += f", gss-stop: {dt.gss_stop}"
        out.append(s + "\n")

    out.append(f" attempts: {tr.attempts or 0}, hoplimit: {tr.hoplimit or 0}, "
               f"loops: {tr.loops or 0}, probec: {tr.probec or 0}, "
               f"hopcount: {tr.hop_count_eff}")
    if tr.stop_hop:
        out.append(f", stophop: {tr.stop_hop}")
    out.append("\n")
    out.append(f" squeries: {tr.squeries_eff}, firsthop: {tr.firsthop_eff}, "
               f"gaplimit: {tr.gaplimit or 0}, gapaction: {gapaction_name(tr.gapaction or 0)}\n")
    out.append(_wait(" wait-timeout", tr.wait_timeout or 0, 0))
    wp = tr.wait_probe or 0
    if wp:
        out.append(_wait(", wait-probe", wp // 100, (wp % 100) * 10000))
    if tr.confidence:
        out.append(f", confidence: {tr.confidence}%")
    out.append(f", tos: 0x{tr.tos or 0:x}\n")
    if flags:
        names = "".join(f" {flag_name(1 << i)}" for i in range(32) if flags & (1 << i))
        out.append(f" flags: 0x{flags:08x} ({names} )\n")
    reason = tr.stop_reason or 0
    data = tr.stop_data or 0
    out.append(f" stop reason: {stop_name(reason).lower()}")
    if reason == 2:
        names_ = _V4_UNREACH_NAMES if tr.dst.atype == ADDR_IPV4 else _V6_UNREACH_NAMES
        out.append(f" {names_.get(data, str(data))}")
    elif reason in (3, 6):
        out.append(f" {data}")
    out.append("\n")
    if tr.errmsg is not None:
        out.append(f" errmsg: {tr.errmsg}\n")

    for p in tr.probes:
        for r in p.replies:
            _dump_hop(tr, flags, p, r, out)
    if tr.lastditch is not None:
        for p in tr.lastditch.probes:
            for r in p.replies:
                _dump_hop(tr, flags, p, r, out)
    pm = tr.pmtud
    if pm is not None:
        outmtu = pm.outmtu or 0
        out.append(f"pmtud: ver {pm.ver_eff} ifmtu {pm.ifmtu or 0}, outmtu {outmtu}, "
                   f"pmtu {pm.pmtu or 0}")
        if outmtu:
            out.append(f", outmtu {outmtu}")
        if pm.notec:
            out.append(f", notec {pm.notec}")
        out.append("\n")
        for k, n in enumerate(pm.notes):
            pr = pm.note_reply(n)
            out.append(f" note {k}: nhmtu {n.nhmtu or 0}, ")
            a = str(pr[1].addr) if pr is not None else ""
            nt = n.type or 0
            if nt == 1:
                out.append(f"ptb {a}")
            elif nt == 2:
                if pr is not None:
                    out.append(f"ptb-bad {a} mtu {pr[1].icmp_nhmtu or 0}")
            elif nt == 3:
                out.append(f"silence > ttl {pr[0].ttl if pr is not None else 0}")
            else:
                out.append(f"type-{nt}")
            out.append("\n")
        for p in pm.probes:
            for r in p.replies:
                _dump_hop(tr, flags, p, r, out)
    out.append("\n")
    return "".join(out)
