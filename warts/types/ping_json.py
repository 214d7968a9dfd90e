"""Ping JSON exactly as sc_warts2json 20260420 prints it
(scamper/ping/scamper_ping_json.c), from a decoded Ping or straight from
an object body.

Quirks reproduced:

| quirk |
|---|
| ``probe_tsps`` addresses are not separated by commas |
| the header is cut at 1023 characters (a 1024-byte buffer) |
| when cut, the payload hex still ends on a whole byte |
| each reply is cut at 511 characters |
| errmsg and monitor are escaped into 512-byte buffers |
| ``udp_sport``/``tcp_sport`` is followed by ``", "`` (with a space) |
| ``loss`` is a C ``float`` printed with ``%.2f`` |

Replies are rendered from their field values (a list or tuple in
PingReply's field order, :data:`warts.types.ping.R_FLAGS` ...), which is
what the ping codec's compiled reply reader returns: :func:`ping_json_body`,
the path ``python -m warts json`` takes, renders a ping from its object body
without building a PingReply per reply (about a third of the time a ping
took), and :func:`ping_json` renders a decoded Ping through the same code
from ``reply_values()`` of its replies.  Values absent on the wire are
rendered with scamper's reader defaults (see :mod:`warts.types.ping`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from ..address import ADDR_IPV4, ADDR_IPV6
from ..fastobj import constructor
from ..jsonfmt import json_esc
from ..objtypes import OBJ_PING
from ..wire import Cursor, Timeval
from .ping import (
    FLAG_NAMES,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    METHODS_ICMP,
    METHODS_TCP,
    METHODS_UDP,
    METHODS_VARY_DPORT,
    METHODS_VARY_SPORT,
    R_PROBE_ID,
    R_PROBE_TX,
    Ping,
    PingFlag,
    PingReplyFlag,
    PingStats,
    group_values,
    method_name,
    reply_values,
    stats_of_values,
    stop_name,
)
from .ping_codec import read_head, read_reply_count, read_reply_values

_F32 = struct.Struct("f")
_REPLY_IPID = int(PingReplyFlag.REPLY_IPID)
_PROBE_IPID = int(PingReplyFlag.PROBE_IPID)
_DLTX = int(PingReplyFlag.DLTX)
_DLRX = int(PingReplyFlag.DLRX)
_REPLY_TOS = int(PingReplyFlag.REPLY_TOS)
_new_ping = constructor(Ping)


def _c_float_2f(num: int, den: int) -> str:
    """``printf("%.2f", (float)num / den)`` with C's single-precision divide."""
    q = _F32.unpack(_F32.pack(num / den))[0]
    return f"{q:.2f}"


# --------------------------------------------------------------------------
# JSON (scamper_ping_json.c)

_JSON_HDR_SIZE = 1024
_JSON_REPLY_SIZE = 512


def _json_header(p: Ping) -> str:
    method = p.method or 0
    flags = p.flags
    start = p.start or Timeval(0, 0)
    parts = [f'{{"type":"ping","version":"0.4","method":"{method_name(method)}"']
    if p.src is not None:
        parts.append(f',"src":"{p.src}"')
    parts.append(f',"dst":"{p.dst}"')
    if p.rtr is not None:
        parts.append(f',"rtr":"{p.rtr}"')
    parts.append(f',"start":{{"sec":{start.sec},"usec":{start.usec}}},"stop_reason":"'
                 f'{stop_name(p.stop_reason or 0)}","stop_data":{p.stop_data or 0}')
    if p.errmsg is not None:
        parts.append(f',"errmsg":"{json_esc(p.errmsg)}"')
    wait = p.wait_probe
    timeout = p.wait_timeout
    parts.append(f',"ping_sent":{p.ping_sent or 0},"probe_size":{p.size or 0}'
                 f',"userid":{p.userid or 0},"ttl":{p.ttl or 0},"tos":{p.tos or 0}'
                 f',"wait":{wait.sec}')
    if wait.usec:
        parts.append(f',"wait_us":{wait.usec}')
    parts.append(f',"timeout":{timeout.sec}')
    if timeout.usec:
        parts.append(f',"timeout_us":{timeout.usec}')
    is_tcp = method in METHODS_TCP
    if is_tcp or method in METHODS_UDP:
        parts.append(f',"sport":{p.sport or 0},"dport":{p.dport or 0}')
    if is_tcp:
        parts.append(f',"tcp_seq":{p.tcpseq or 0},"tcp_ack":{p.tcpack or 0}')
    head = "".join(parts)
    hexdata = ""
    if p.datalen and p.data:
        head += ',"payload":"' if flags & PingFlag.PAYLOAD else ',"pattern":"'
        hexdata = p.data.hex()
    tail = []
    if hexdata:
        tail.append('"')
    if flags:
        names = ",".join(f'"{n}"' for i, n in enumerate(FLAG_NAMES) if flags & (1 << i))
        tail.append(f',"flags":[{names}]')
    if method in METHODS_ICMP and flags & PingFlag.ICMPSUM:
        tail.append(f',"icmp_csum":{p.icmpsum or 0}')
    if p.tsps is not None:
        # scamper never puts the commas between these addresses.
        tail.append(',"probe_tsps":[' + "".join(f'"{a}"' for a in p.tsps) + "]")
    lst = p.list
    if lst is not None and lst.monitor is not None:
        tail.append(f',"monitor":"{json_esc(lst.monitor)}"')
    rest = "".join(tail)
    limit = _JSON_HDR_SIZE - 1
    if len(head) + len(hexdata) + len(rest) <= limit:
        return head + hexdata + rest
    # Overflow: string_concat() truncates; string_byte2hex() writes whole
    # bytes only while at least three bytes of the buffer are left.
    out = head[:limit]
    left = _JSON_HDR_SIZE - len(out)
    if hexdata and left >= 3:
        nbytes = min(len(hexdata) // 2, (left - 3) // 2 + 1)
        out += hexdata[:nbytes * 2]
    return out + rest[:max(0, limit - len(out))]


_PROTO_JSON = {IPPROTO_ICMP: '"icmp"', IPPROTO_ICMPV6: '"icmp"', IPPROTO_TCP: '"tcp"',
               IPPROTO_UDP: '"udp"'}
_REPLY_FLAGS_JSON = {_DLTX: ',"reply_flags":["dltxts"]', _DLRX: ',"reply_flags":["dlrxts"]',
                     _DLTX | _DLRX: ',"reply_flags":["dltxts","dlrxts"]'}


def _json_replies(p: Ping, groups: list[list[Sequence[Any]]], dst_v4: bool) -> str:
    """The ``responses`` items, from the replies' values grouped per probe.
    (``no_responses`` lists probes without replies, which a stored ping
    cannot hold, so it is always empty.)"""
    method = p.method or 0
    icmp = method in METHODS_ICMP
    pt = "udp" if method in METHODS_UDP else "tcp" if method in METHODS_TCP else "bug"
    vary_sport = method in METHODS_VARY_SPORT
    vary_dport = method in METHODS_VARY_DPORT
    psport = p.sport or 0
    pdport = p.dport or 0
    tsonly = p.flags & PingFlag.TSONLY
    default_proto = IPPROTO_ICMP if dst_v4 else IPPROTO_ICMPV6
    out = []
    for rs in groups:
        # The probe part: from the first reply, as scamper's reader keeps it.
        first = rs[0]
        pid = first[R_PROBE_ID] or 0
        tx = first[R_PROBE_TX]
        txsec, txusec = tx if tx is not None else (0, 0)
        pj = f'"seq":{pid}'
        if txsec:
            pj += f',"tx":{{"sec":{txsec},"usec":{txusec}}}'
        if icmp:
            pj += f',"icmp_id":{psport},"icmp_seq":{(pdport + pid) & 0xFFFF}'
        else:
            sport = first[17] or 0  # R_PROBE_SPORT
            if sport == 0:
                sport = (psport + pid) & 0xFFFF if vary_sport else psport
            dport = (pdport + pid) & 0xFFFF if vary_dport else pdport
            pj += f',"{pt}_sport":{sport}, "{pt}_dport":{dport}'
        if (first[0] or 0) & _PROBE_IPID:
            pj += f',"probe_ipid":{first[8] or 0}'  # R_FLAGS, R_PROBE_IPID
        for (rflags, ttl, size, icmp_type, icmp_code, rtt, _pid, reply_ipid, _pipid, proto,
             tcp_flags, addr, v4rr, v4ts, ipid32, _tx, _tsr, _psport, tos, ifname,
             nhmtu) in rs:
            # Optional pieces first, then one f-string: fewer string copies.
            atype = addr.atype
            rflags = rflags or 0
            if proto is None:
                proto = default_proto
            rtt = rtt or 0
            ifname = "" if ifname is None else f',"ifname":"{ifname}"'
            if txsec:
                # timeval_add_tv3(tx, rtt)
                rxsec = txsec + rtt // 1000000
                rxusec = txusec + rtt % 1000000
                if rxusec >= 1000000:
                    rxsec += 1
                    rxusec -= 1000000
                rx = f',"rx":{{"sec":{rxsec & 0xFFFFFFFF},"usec":{rxusec & 0xFFFFFFFF}}}'
            else:
                rx = ""
            if atype == ADDR_IPV4:
                ipid = reply_ipid if dst_v4 and reply_ipid is not None else ipid32
                ipids = f',"reply_ipid":{(ipid or 0) & 0xFFFF}'
            elif atype == ADDR_IPV6 and rflags & _REPLY_IPID:
                # reply_ipid32()
                ipid = reply_ipid if dst_v4 and reply_ipid is not None else ipid32
                ipids = f',"reply_ipid":{ipid or 0}'
            else:
                ipids = ""
            tos = f',"reply_tos":{tos or 0}' if rflags & _REPLY_TOS else ""
            if (atype == ADDR_IPV4 and proto == IPPROTO_ICMP) or \
               (atype == ADDR_IPV6 and proto == IPPROTO_ICMPV6):
                t = icmp_type or 0
                c = icmp_code or 0
                kind = f',"icmp_type":{t},"icmp_code":{c}'
                # SCAMPER_PING_REPLY_IS_ICMP_PTB
                if (t == 3 and c == 4) if atype == ADDR_IPV4 else t == 2:
                    kind += f',"icmp_nhmtu":{nhmtu or 0}'
            elif proto == IPPROTO_TCP:
                kind = f',"tcp_flags":{tcp_flags or 0}'
            else:
                kind = ""
            opts = "" if v4rr is None and v4ts is None else _json_options(v4rr, v4ts, tsonly)
            s = (f'{{"from":"{addr}","reply_size":{size or 0},"reply_ttl":{ttl or 0},'
                 f'{pj},"reply_proto":{_PROTO_JSON.get(proto) or proto}{ifname}'
                 f'{_REPLY_FLAGS_JSON.get(rflags & 0x18, "")}{rx}'
                 f',"rtt":{rtt // 1000}.{rtt % 1000:03d}{ipids}{tos}{kind}{opts}}}')
            if len(s) >= _JSON_REPLY_SIZE:
                s = s[:_JSON_REPLY_SIZE - 1]
            out.append(s)
    return ",".join(out)


def _json_options(v4rr: Any, ts: Any, tsonly: int) -> str:
    s = ""
    if v4rr is not None:
        s += ',"RR":[' + ",".join(f'"{a}"' for a in v4rr) + "]"
    if ts is not None and ts.tss:
        if not tsonly:
            ips = ts.ips
            if ips is not None:
                pairs = zip(ts.tss, ips, strict=False)
                items = ",".join(f'{{"ts":{t},"ip":"{a}"}}' for t, a in pairs)
            else:
                items = ",".join(f'{{"ts":{t}}}' for t in ts.tss)
            s += f',"tsandaddr":[{items}]'
        else:
            s += ',"tsonly":[' + ",".join(str(t) for t in ts.tss) + "]"
    return s


def _json_stats(p: Ping, st: PingStats) -> str:
    s = f'"statistics":{{"replies":{st.nreplies}'
    sent = p.ping_sent or 0
    if sent > st.npend:
        total = sent - st.npend
        if st.nreplies == 0:
            s += ',"loss":1'
        elif st.nreplies == total:
            s += ',"loss":0'
        else:
            s += f',"loss":{_c_float_2f(total - st.nreplies, total)}'
    if st.nreplies > 0:
        lo, hi, avg, sd = st.min_rtt, st.max_rtt, st.avg_rtt, st.stddev_rtt
        s += (f',"min":{lo // 1000}.{lo % 1000:03d},"max":{hi // 1000}.{hi % 1000:03d}'
              f',"avg":{avg // 1000}.{avg % 1000:03d},"stddev":{sd // 1000}.{sd % 1000:03d}')
    if st.ndups > 0:
        s += f',"ndups":{st.ndups}'
    if st.nerrs > 0:
        s += f',"nerrs":{st.nerrs}'
    if st.npend > 0:
        s += f',"npend":{st.npend}'
    return s + "}"


def _json(p: Ping, groups: list[list[Sequence[Any]]]) -> str:
    dst = p.dst
    dst_v4 = dst is not None and dst.atype == ADDR_IPV4
    st = stats_of_values(p.method or 0, dst, groups)
    return (f'{_json_header(p)},"responses":[{_json_replies(p, groups, dst_v4)}],'
            f'"no_responses":[],{_json_stats(p, st)}}}\n')


def ping_json(p: Ping) -> str:
    """The line sc_warts2json prints for a ping."""
    return _json(p, group_values([reply_values(r) for r in p.replies]))


def ping_json_body(body: bytes, state: Any, offset: int = 0) -> str | None:
    """:func:`ping_json` of the ping whose object body is ``body`` (at file
    offset ``offset``, read with the file's ReadState ``state``), without
    building its replies; None when the body does not decode, so that the
    caller's decode raises the error it would have."""
    cur = Cursor(body, base=offset, obj_type=OBJ_PING, state=state)
    try:
        v = read_head(cur)
        count = read_reply_count(cur)
        ping_sent = v[14] or 0
        vals = [read_reply_values(cur, ping_sent) for _ in range(count)]
    except Exception:  # any fault: the caller decodes it and raises
        return None
    v[34] = ()
    return _json(_new_ping(*v), group_values(vals))
