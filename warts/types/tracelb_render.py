"""What scamper 20260420's tools print for a tracelb record.

| tool | source | what it prints |
|---|---|---|
| sc_warts2json | scamper/tracelb/scamper_tracelb_json.c | one JSON object a line |
| sc_warts2text | scamper/tracelb/scamper_tracelb_text.c | the load-balancer graph |
| sc_wartsdump | utils/sc_wartsdump/sc_wartsdump.c | every node, link, probe, reply |

Facts these renderers reproduce (scamper's C, read on x86-64 Linux):

| fact | effect |
|---|---|
| absent parameters | read as 0 (scamper zeroes the struct) |
| node skipped | JSON and text leave out nodes with no links leaving them |
| node with one link | JSON/text show each hop of the link (a probeset summary |
| | for every hop but the last, then the "to" node) |
| node with several links | JSON shows only the first probeset of each link; text |
| | one ``from -> to`` line per link |
| link with no probesets | JSON and text give up on the whole record (None) |
| probeset summary | distinct reply sources in scamper_addr_cmp order (native |
| | byte order: IPv4 as a little-endian u32, IPv6 as two |
| | little-endian u64s), plus ``*`` when some flow id got no reply |
| fixed buffers | JSON header 1024, JSON reply 2048, text node 2048 bytes: |
| | output is cut to the buffer size less one, as string_concat does |
| json_esc | into 512-byte buffers: at most 511 characters |
| dump ``%d`` | u32 values above 2^31-1 print negative |

Where scamper's tools crash (segfault) we print something reasonable instead:

| input | scamper | here |
|---|---|---|
| JSON: a node with several links, one without a "to" node | NULL dereference | no replies |
| JSON/text: a "to" node without an address | NULL dereference | ``*`` |
| text: an empty probeset before the last hop | NULL dereference | ``()`` |

When scamper's JSON writer fails, sc_warts2json exits; :func:`to_json`
returns None for that record only.  All of the above was checked against
sc_warts2json, sc_warts2text, sc_wartsdump and sc_wartscat built from the
20260420 source, on thousands of generated records.
"""

from __future__ import annotations

from .. import dump as _dump
from ..address import ADDR_IPV4, ADDR_IPV6, Address
from ..jsonfmt import ftime, json_esc
from ..wire import IcmpExt, Timeval
from .tracelb import (
    Tracelb,
    TracelbLink,
    TracelbNode,
    TracelbProbe,
    TracelbProbeset,
    TracelbReply,
    type_tostr,
)

_ZERO_TV = Timeval(0, 0)
_s32 = _dump.s32


def _cmp_key(a: Address) -> tuple[int, bytes]:
    """scamper_addr_cmp() order on a little-endian host."""
    raw = a.raw
    if a.atype == ADDR_IPV4:
        return (1, raw[::-1])
    if a.atype == ADDR_IPV6:
        return (2, raw[7::-1] + raw[:7:-1])
    return (a.atype, raw)


def _summary(ps: TracelbProbeset) -> tuple[list[Address], int]:
    """scamper_tracelb_probeset_summary_alloc(): (sorted distinct reply
    sources, number of flow ids that got no reply at all)."""
    probes = ps.probes
    if not probes:
        return [], 0
    seen: set[Address] = set()
    nullc = 0
    flowid = probes[0].flowid
    x = 0
    for p in probes:
        if p.flowid != flowid:
            if x == 0:
                nullc += 1
            flowid = p.flowid
            x = 0
        if p.rxs:
            for r in p.rxs:
                seen.add(r.reply_from)
            x += 1
    if x == 0:
        nullc += 1
    return sorted(seen, key=_cmp_key), nullc


def _is_icmp_q(r: TracelbReply) -> bool:
    """SCAMPER_TRACELB_REPLY_IS_ICMP_UNREACH || ..._IS_ICMP_TTL_EXP."""
    if (r.reply_flags or 0) & 0x02:
        return False
    t = r.reply_icmp_type or 0
    at = r.reply_from.atype
    if at == ADDR_IPV4:
        return t == 11 or t == 3
    if at == ADDR_IPV6:
        return t == 3 or t == 1
    return False


def _rtt(tx: Timeval | None, rx: Timeval | None) -> tuple[int, int]:
    """timeval_diff_tv(rx - tx): seconds and microseconds, borrowing once."""
    tx = tx or _ZERO_TV
    rx = rx or _ZERO_TV
    sec = rx[0] - tx[0]
    usec = rx[1] - tx[1]
    if usec < 0:
        sec -= 1
        usec += 1000000
    return sec, usec


# --------------------------------------------------------------------------
# JSON (scamper_tracelb_json.c)


def _exts_json(exts: tuple[IcmpExt, ...]) -> str:
    items = []
    for ie in exts:
        s = f'{{"ie_cn":{ie.cls},"ie_ct":{ie.ctype},"ie_dl":{len(ie.data)}'
        if ie.is_mpls:
            labels = ",".join(
                f'{{"mpls_ttl":{ttl},"mpls_s":{s_},"mpls_exp":{exp},"mpls_label":{label}}}'
                for label, exp, s_, ttl in ie.mpls_labels())
            s += f',"mpls_labels":[{labels}]'
        items.append(s + "}")
    return ',"icmpext":[' + ",".join(items) + "]"


# _reply_json and _probe_json run once per probe of the record (625,148
# times in bench/warts_bench's file): each builds its text with as few
# f-strings and calls as it can (rtt_ms() inlined, the one-reply case without
# a list, one f-string for the result); to_json() on that file's tracelb
# records went from 1.62 to 1.25 CPU-s.


def _reply_json(tx: Timeval, r: TracelbReply) -> str:
    rx = r.reply_rx or _ZERO_TV
    at = r.reply_from.atype
    rtt = ((rx[0] - tx[0]) * 1000000 + rx[1] - tx[1]) & 0xFFFFFFFF
    ipid = f', "ipid":{r.reply_ipid or 0}' if at == ADDR_IPV4 else ""
    if (r.reply_flags or 0) & 0x02:
        kind = f', "tcp_flags":{r.reply_tcp_flags or 0}'
    else:
        t = r.reply_icmp_type or 0
        kind = (f', "icmp_type":{t}, "icmp_code":{r.reply_icmp_code or 0}'
                f', "icmp_q_tos":{r.reply_icmp_q_tos or 0}')
        if (t == 11 or t == 3) if at == ADDR_IPV4 else \
                (t == 3 or t == 1) if at == ADDR_IPV6 else False:
            kind += f', "icmp_q_ttl":{r.reply_icmp_q_ttl or 0}'
    exts = "" if r.reply_icmp_exts is None else _exts_json(r.reply_icmp_exts)
    s = (f'{{"rx":{{"sec":{rx[0]}, "usec":{rx[1]}}}, "ttl":{r.reply_ttl or 0}, '
         f'"rtt":{rtt // 1000}.{rtt % 1000:03d}{ipid}{kind}{exts}}}')
    # reply_tostr() builds it in a 2048-byte buffer
    return s if len(s) < 2048 else s[:2047]


def _probe_json(p: TracelbProbe, addr: Address | None) -> str:
    """probe_tostr(): the probe, with only the replies that came from ``addr``."""
    tx = p.tx or _ZERO_TV
    rxs = p.rxs
    if addr is None or not rxs:
        n, replies = 0, ""
    elif len(rxs) == 1:
        frm = rxs[0].reply_from
        if frm is addr or frm == addr:
            n, replies = 1, f', "replies":[{_reply_json(tx, rxs[0])}]'
        else:
            n, replies = 0, ""
    else:
        sel = [_reply_json(tx, r) for r in rxs if r.reply_from is addr or r.reply_from == addr]
        n, replies = len(sel) & 0xFFFF, f', "replies":[{",".join(sel)}]' if sel else ""
    return (f'{{"tx":{{"sec":{tx[0]}, "usec":{tx[1]}}}, "replyc":{n}, "ttl":{p.ttl or 0}, '
            f'"attempt":{p.attempt or 0}, "flowid":{p.flowid or 0}{replies}}}')


def _summary_json(ps: TracelbProbeset) -> str:
    addrs, nullc = _summary(ps)
    if nullc > 0 and not addrs:
        return '{"addr":"*"}'
    parts = []
    for i, a in enumerate(addrs):
        probes = ",".join([_probe_json(p, a) for p in ps.probes
                           if any(r.reply_from == a for r in p.rxs)])
        parts.append(f'{", " if i else ""}{{"addr":"{a}", "probes":[{probes}]}}')
    if nullc > 0:
        parts.append(', {"addr":"*"}')
    return "".join(parts)


def _node_json(rec: Tracelb, node: TracelbNode, links: list[TracelbLink]) -> str | None:
    addr = str(node.addr) if node.addr is not None else "*"
    parts = [f'{{"addr":"{addr}"']
    if node.name is not None:
        parts.append(f', "name":"{json_esc(node.name)}"')
    if node.has_q_ttl:
        parts.append(f', "q_ttl":{node.q_ttl or 0}')
    parts.append(f', "linkc":{len(links)}, "links":[')
    if len(links) > 1:
        parts.append("[")
        for j, link in enumerate(links):
            to = rec.node_addr(link.to)
            head = "," if j else ""
            head += f'{{"addr":"{to}", ' if to is not None else "{"
            parts.append(head + '"probes":[')
            if link.sets:
                parts.append(",".join([_probe_json(p, to) for p in link.sets[0].probes]))
            parts.append("]}")
        parts.append("]")
    else:
        link = links[0]
        hopc = len(link.sets)
        if hopc < 1:
            return None
        for j in range(hopc - 1):
            parts.append(("," if j else "") + "[" + _summary_json(link.sets[j]) + "]")
        if hopc > 1:
            parts.append(",")
        if link.to is not None:
            # scamper assumes the "to" node has an address
            to = rec.nodes[link.to].addr
            probes = ",".join([_probe_json(p, to) for p in link.sets[-1].probes])
            parts.append(f'[{{"addr":"{to if to is not None else "*"}", '
                         f'"probes":[{probes}]}}]')
        else:
            parts.append('[{"addr":"*"}]')
    parts.append("]}")
    return "".join(parts)


def _header_json(rec: Tracelb) -> str:
    t = rec.type or 0
    parts = [f'"type":"tracelb", "version":"0.1", "userid":{rec.userid or 0}, '
             f'"method":"{type_tostr(t)}"']
    if rec.src is not None:
        parts.append(f', "src":"{rec.src}"')
    if rec.dst is not None:
        parts.append(f', "dst":"{rec.dst}"')
    if rec.rtr is not None:
        parts.append(f', "rtr":"{rec.rtr}"')
    if 1 <= t <= 5 and t != 2:
        parts.append(f', "sport":{rec.sport or 0}, "dport":{rec.dport or 0}')
    start = rec.start or _ZERO_TV
    parts.append(
        f', "start":{{"sec":{start[0]}, "usec":{start[1]}, "ftime":"{ftime(start[0])}"}}'
        f', "probe_size":{rec.probe_size or 0}, "firsthop":{rec.firsthop or 0}'
        f', "attempts":{rec.attempts or 0}, "confidence":{rec.confidence or 0}'
        f', "tos":{rec.tos or 0}, "gaplimit":{rec.gaplimit or 0}'
        f', "wait_timeout":{rec.wait_timeout or 0}, "wait_probe":{rec.wait_probe or 0}'
        f', "probec":{rec.probec or 0}, "probec_max":{rec.probec_max or 0}'
        f', "nodec":{len(rec.nodes)}, "linkc":{len(rec.links)}')
    if rec.errmsg is not None:
        parts.append(f',"errmsg":"{json_esc(rec.errmsg)}"')
    if rec.list is not None and rec.list.monitor is not None:
        parts.append(f',"monitor":"{json_esc(rec.list.monitor)}"')
    return "".join(parts)[:1023]


def to_json(rec: Tracelb) -> str | None:
    """sc_warts2json's line for the record, or None where scamper fails."""
    nodes = []
    for node, links in zip(rec.nodes, rec.node_links(), strict=True):
        if not links:
            continue
        s = _node_json(rec, node, links)
        if s is None:
            return None
        nodes.append(s)
    body = _header_json(rec)
    if nodes:
        body += ', "nodes":[' + ",".join(nodes) + "]"
    return "{" + body + "}\n"


# --------------------------------------------------------------------------
# Text (scamper_tracelb_text.c)


def _summary_text(ps: TracelbProbeset) -> str:
    addrs, nullc = _summary(ps)
    if nullc > 0 and not addrs:
        return "*"
    # scamper reads addrs[0] unconditionally; an empty probeset prints "()"
    s = "(" + ", ".join([str(a) for a in addrs])
    return s + (", *)" if nullc > 0 else ")")


def _node_text(rec: Tracelb, node: TracelbNode, links: list[TracelbLink]) -> str | None:
    src = str(node.addr) if node.addr is not None else "*"
    if len(links) > 1:
        lines = []
        for link in links:
            to = rec.node_addr(link.to)
            lines.append(f"{src} -> {to if to is not None else '*'}\n")
        s = "".join(lines)
    else:
        link = links[0]
        hopc = len(link.sets)
        if hopc < 1:
            return None
        parts = [src, " -> "]
        for j in range(hopc - 1):
            parts.append(_summary_text(link.sets[j]))
            parts.append(" -> ")
        if link.to is not None:
            to = rec.nodes[link.to].addr
            parts.append(str(to) if to is not None else "*")
        else:
            parts.append(_summary_text(link.sets[-1]))
        parts.append("\n")
        s = "".join(parts)
    return s[:2047]


def to_text(rec: Tracelb) -> str | None:
    """sc_warts2text's output for the record (None where scamper fails)."""
    head = "tracelb"
    if rec.src is not None:
        head += f" from {rec.src}"
    if rec.dst is not None:
        head += f" to {rec.dst}"
    if rec.src is not None or rec.dst is not None:
        head += ","
    head += (f" {len(rec.nodes)} nodes, {len(rec.links)} links, {rec.probec or 0} probes, "
             f"{rec.confidence or 0}%\n")
    parts = [head]
    for node, links in zip(rec.nodes, rec.node_links(), strict=True):
        if not links:
            continue
        s = _node_text(rec, node, links)
        if s is None:
            return None
        parts.append(s)
    out = "".join(parts)
    # scamper replaces the last character with the newline it writes
    return out[:-1] + "\n"


# --------------------------------------------------------------------------
# sc_wartsdump


def _dump_timeval(label: str, tv: Timeval | None) -> str:
    tv = tv or _ZERO_TV
    return f" {label}: {_dump.ctime(tv[0])} {_s32(tv[1]):06d}\n"


def _dump_wait(label: str, sec: int, usec: int) -> str:
    """sc_wartsdump's dump_wait(): seconds, then the fraction without
    trailing zeros."""
    s = f"{label}: {sec & 0xFFFFFFFF}"
    u = usec & 0xFFFFFFFF
    if u > 0:
        x = 6
        while u % 10 == 0:
            u //= 10
            x -= 1
        s += f".{u:0{x}d}" if x > 0 else f".{u}"
    return s + "s"


def _tcp_flags(f: int) -> str:
    if not f:
        return ""
    names = ("fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr")
    return " (" + "".join(f" {n}" for i, n in enumerate(names) if f & (1 << i)) + " )"


def _reply_dump(tx: Timeval | None, r: TracelbReply) -> str:
    sec, usec = _rtt(tx, r.reply_rx)
    frm = r.reply_from
    s = f"   reply from: {frm}, rtt: {_s32(sec)}.{_s32(usec):06d}, ttl: {r.reply_ttl or 0}"
    if frm.atype == ADDR_IPV4:
        s += f", ipid: 0x{r.reply_ipid or 0:04x}"
    s += "\n"
    if r.is_tcp:
        f = r.reply_tcp_flags or 0
        return s + f"     tcp flags 0x{f:02x}{_tcp_flags(f)}\n"
    s += f"     icmp: {r.reply_icmp_type or 0}/{r.reply_icmp_code or 0}"
    if _is_icmp_q(r):
        s += f", q-tos: 0x{r.reply_icmp_q_tos or 0:02x}, q-ttl: {r.reply_icmp_q_ttl or 0}"
    s += "\n"
    if r.reply_icmp_exts is not None:
        for ie in r.reply_icmp_exts:
            if not ie.is_mpls:
                continue
            for m, (label, exp, s_, ttl) in enumerate(ie.mpls_labels()):
                tag = "  icmp-ext mpls" if m == 0 else ""
                s += f"   {tag:>9s}: label {label} exp {exp} s {s_} ttl {ttl}\n"
    return s


def _probe_dump(p: TracelbProbe) -> str:
    tx = p.tx or _ZERO_TV
    s = (f"  probe flowid: {p.flowid or 0}, ttl: {p.ttl or 0}, attempt: {p.attempt or 0}, "
         f"tx: {_s32(tx[0])}.{_s32(tx[1]):06d}\n")
    if p.rxs:
        s += "".join([_reply_dump(p.tx, r) for r in p.rxs])
    return s


def to_dump(rec: Tracelb) -> str:
    """sc_wartsdump's output for the record."""
    out = ["tracelb"]
    if rec.src is not None:
        out.append(f" from {rec.src}")
    out.append(f" to {rec.dst if rec.dst is not None else ''}\n")
    out.append(_dump.list_summary(rec.list))
    out.append(_dump.cycle_summary(rec.cycle))
    out.append(f" user-id: {_s32(rec.userid or 0)}\n")
    if rec.rtr is not None:
        out.append(f" rtr: {rec.rtr}\n")
    out.append(_dump_timeval("start", rec.start))
    t = rec.type or 0
    if t == 2:
        ty = f"{type_tostr(t)} id: {rec.sport or 0}"
    elif 1 <= t <= 5:
        ty = f"{type_tostr(t)} {rec.sport or 0}:{rec.dport or 0}"
    else:
        ty = str(t)
    out.append(f" type: {ty}, tos: 0x{rec.tos or 0:02x}\n")
    out.append(f" firsthop: {rec.firsthop or 0}, attempts: {rec.attempts or 0}, "
               f"confidence: {rec.confidence or 0}\n")
    wp = rec.wait_probe or 0
    out.append(f" probe-size: {rec.probe_size or 0}"
               f"{_dump_wait(', wait-probe', wp // 100, (wp % 100) * 10000)}"
               f"{_dump_wait(', wait-timeout', rec.wait_timeout or 0, 0)}\n")
    out.append(f" nodec: {len(rec.nodes)}, linkc: {len(rec.links)}, "
               f"probec: {_s32(rec.probec or 0)}, probec_max: {_s32(rec.probec_max or 0)}\n")
    if rec.flags:
        out.append(" flags:" + (" ptr" if rec.flags & 0x01 else "") + "\n")
    if rec.errmsg is not None:
        out.append(f" errmsg: {rec.errmsg}\n")
    nodes = rec.nodes
    for i, (node, links) in enumerate(zip(nodes, rec.node_links(), strict=True)):
        line = f"node {i} {node.addr if node.addr is not None else '*'}"
        if node.has_q_ttl:
            line += f", q-ttl {node.q_ttl or 0}"
        if node.name is not None:
            line += f", name {node.name}"
        out.append(line + "\n")
        for link in links:
            frm = nodes[link.from_].addr
            if link.to is None:
                to = "*"
            else:
                ta = nodes[link.to].addr
                to = str(ta) if ta is not None else "<null>"
            out.append(f" link {frm if frm is not None else '*'} -> {to} "
                       f"hopc {len(link.sets)}\n")
            for ps in link.sets:
                for p in ps.probes:
                    out.append(_probe_dump(p))
    out.append("\n")
    return "".join(out)
