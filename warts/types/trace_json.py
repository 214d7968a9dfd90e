"""Traceroute JSON exactly as sc_warts2json 20260420 prints it
(scamper/trace/scamper_trace_json.c).

Quirks kept on purpose, as scamper prints them:

| what | scamper's output |
|---|---|
| PTB next-hop MTU key in a hop | ``"icmp_nhmtu:"`` (colon inside the key) |
| ``hop_count`` | ``stop_hop`` when set and below the hop count |
| hops below ``firsthop`` | not printed |
| hops above ``stop_hop`` | in ``"extra_hops"`` |
| rxerr traces | no ``reply_ipid``/``reply_size``/quoted fields |
| ``"pmtud"`` object | only for PMTUD version 2 |
| PMTUD notes | left out when ``outmtu`` is set and the first note is not a reply-less silence |
| escaped strings | cut to scamper's buffer (name 127, errmsg/monitor 511 chars) |
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter
from typing import Any

from ..address import Address
from ..fastobj import constructor
from ..jsonfmt import ftime, json_esc
from ..objtypes import OBJ_TRACE
from ..wire import Cursor, IcmpExt, Timeval
from .trace import (
    ADDR_IPV4,
    ADDR_IPV6,
    Trace,
    TracePmtud,
    TracePmtudNote,
    TraceProbe,
    TraceReply,
    flag_name,
    note_type_name,
    stop_name,
    type_name,
)
from .trace_wire import check_hops, probes_from_values, read_attrs, read_head, read_hop_values

_RXERR = 0x80
_ICMPCSUMDP = 0x20


def prefix_len(a: Address, b: Address) -> int:
    """scamper_addr_prefix(): leading bits in common, -1 for different types."""
    if a.atype != b.atype:
        return -1
    x = int.from_bytes(a.raw, "big") ^ int.from_bytes(b.raw, "big")
    return len(a.raw) * 8 - x.bit_length()


def _probe_part(p: TraceProbe) -> str:
    """The probe's keys inside each of its replies' objects."""
    return probe_part(p.ttl, p.id, p.size, p.tx)


def probe_part(ttl: int, pid: int | None, size: int | None, tx: Timeval | None) -> str:
    """:func:`_probe_part` of a probe given by its values."""
    if tx is not None and tx.sec != 0:
        return (f',"probe_ttl":{ttl},"probe_id":{pid or 0},"probe_size":{size or 0}'
                f',"tx":{{"sec":{tx.sec},"usec":{tx.usec}}}')
    return f',"probe_ttl":{ttl},"probe_id":{pid or 0},"probe_size":{size or 0}'


def _exts_json(exts: tuple[IcmpExt, ...]) -> str:
    out = []
    for ie in exts:
        s = f'{{"ie_cn":{ie.cls},"ie_ct":{ie.ctype},"ie_dl":{len(ie.data)}'
        if ie.cls == 1 and ie.ctype == 1:
            labels = ",".join(
                f'{{"mpls_ttl":{ttl},"mpls_s":{s_},"mpls_exp":{exp},"mpls_label":{lab}}}'
                for lab, exp, s_, ttl in ie.mpls_labels())
            s += f',"mpls_labels":[{labels}]'
        out.append(s + "}")
    return f',"icmpext":[{",".join(out)}]'


_RFLAG_NAMES = tuple(
    ",".join(n for bit, n in ((0x02, '"dltxts"'), (0x04, '"dlrxts"'), (0x01, '"sockrxts"'))
             if f & bit)
    for f in range(8))


# A reply's fields in declaration order but probe_wire: what hop_values() takes.
_reply_values = attrgetter(*(f.name for f in fields(TraceReply) if f.name != "probe_wire"))


def hop_json(rxerr: int, probe_part: str, probe_size: int, r: TraceReply) -> str:
    """hop_tostr(): one reply; ``probe_part`` is :func:`_probe_part` of its probe."""
    return hop_values(rxerr, probe_part, probe_size, *_reply_values(r))


def hop_values(rxerr: int, probe_part: str, probe_size: int, addr: Address, ttl: int | None,
               rf: int | None, rtt: int | None, icmp_type: int | None, icmp_code: int | None,
               size: int | None, ipid: int | None, tos: int | None, nhmtu: int | None,
               q_ipl: int | None, q_ttl: int | None, tcp_flags: int | None, q_tos: int | None,
               exts: tuple[IcmpExt, ...] | None, name: str | None) -> str:
    """:func:`hop_json` of a reply given by its field values (TraceReply's
    order, without probe_wire), as the trace JSON fast path reads them."""
    rtt = (rtt or 0) & 0xFFFFFFFF
    s = (f'{{"addr":"{addr}"'
         + (f',"name":"{json_esc(name, 128)}"' if name is not None else "")
         + f'{probe_part},"rtt":{rtt // 1000}.{rtt % 1000:03d},"reply_ttl":{ttl or 0}'
         f',"reply_tos":{tos or 0}')
    rf = rf or 0
    if rf & 0x07:
        s += f',"flags":[{_RFLAG_NAMES[rf & 0x07]}]'
    if not rxerr:
        s += f',"reply_ipid":{ipid or 0},"reply_size":{size or 0}'
    # icmp_type_eff: the tcp_flags byte shares the type's storage and wins
    t = (icmp_type if tcp_flags is None else tcp_flags) or 0
    if not rf & 0x60:
        c = icmp_code or 0
        s += f',"icmp_type":{t},"icmp_code":{c}'
        at = addr.atype
        if at == ADDR_IPV4:
            q = t == 3 or t == 11
            ptb = t == 3 and c == 4
        elif at == ADDR_IPV6:
            q = 1 <= t <= 3
            ptb = t == 2
        else:
            q = ptb = False
        if q and not rxerr:
            qttl = 1 if q_ttl is None else q_ttl
            qipl = probe_size if q_ipl is None else q_ipl
            s += f',"icmp_q_ttl":{qttl},"icmp_q_ipl":{qipl},"icmp_q_tos":{q_tos or 0}'
        if ptb:
            s += f',"icmp_nhmtu:":{nhmtu or 0}'
    elif rf & 0x20:
        s += f',"tcp_flags":{t}'
    if exts is not None:
        s += _exts_json(exts)
    return s + "}"


def _hops_json(rxerr: int, p: TraceProbe, dest: list[str]) -> None:
    pp = _probe_part(p)
    size = p.size or 0
    for r in p.replies:
        dest.append(hop_json(rxerr, pp, size, r))


def probe_json(p: TraceProbe) -> str:
    """probe_tostr(): a probe without replies (never read from warts)."""
    s = f'{{"probe_ttl":{p.ttl},"probe_id":{p.id or 0},"probe_size":{p.size or 0}'
    if p.tx is not None and p.tx.sec != 0:
        s += f',"tx":{{"sec":{p.tx.sec},"usec":{p.tx.usec}}}'
    return s + "}"


def _header(tr: Trace, flags: int, hop_count: int) -> str:
    t = tr.type or 0
    parts = [f'"type":"trace","version":"0.1","userid":{tr.userid or 0},'
             f'"method":"{type_name(t)}"']
    if tr.src is not None:
        parts.append(f',"src":"{tr.src}"')
    parts.append(f',"dst":"{tr.dst}"')
    if tr.rtr is not None:
        parts.append(f',"rtr":"{tr.rtr}"')
    if 2 <= t <= 3 or 5 <= t <= 6:
        parts.append(f',"sport":{tr.sport or 0},"dport":{tr.dport or 0}')
    elif flags & _ICMPCSUMDP:
        parts.append(f',"icmp_sum":{tr.dport or 0}')
    parts.append(f',"stop_reason":"{stop_name(tr.stop_reason or 0)}",'
                 f'"stop_data":{tr.stop_data or 0}')
    if tr.errmsg is not None:
        parts.append(f',"errmsg":"{json_esc(tr.errmsg)}"')
    start = tr.start
    sec, usec = (start.sec, start.usec) if start is not None else (0, 0)
    parts.append(f',"start":{{"sec":{sec},"usec":{usec},"ftime":"{ftime(sec)}"}}'
                 f',"hop_count":{hop_count},"attempts":{tr.attempts or 0}'
                 f',"hoplimit":{tr.hoplimit or 0},"firsthop":{tr.firsthop_eff}'
                 f',"wait":{tr.wait_timeout or 0},"wait_probe":{tr.wait_probe or 0}'
                 f',"tos":{tr.tos or 0},"probe_size":{tr.probe_size or 0}'
                 f',"probe_count":{tr.probec or 0}')
    if tr.list is not None and tr.list.monitor is not None:
        parts.append(f',"monitor":"{json_esc(tr.list.monitor)}"')
    if flags:
        names = [f'"{flag_name(1 << i)}"' for i in range(32) if flags & (1 << i)]
        parts.append(f',"flags":[{",".join(names)}]')
    return "".join(parts)


def first_reply_at(tr_by_ttl: dict[int, list[TraceProbe]], ttl: int) -> TraceReply | None:
    """scamper_trace_probettl_reply_get(hops[ttl - 1])."""
    for p in tr_by_ttl.get(ttl, ()):
        if p.replies:
            return p.replies[0]
    return None


def _note_dist(tr: Trace, by_ttl: dict[int, list[TraceProbe]], hop_count: int, start: int,
               note: TracePmtudNote, pr: tuple[TraceProbe, TraceReply] | None) -> int:
    """pmtud_note_dist() of scamper_trace_json.c."""
    if note.type == 3:
        return pr[0].ttl if pr is not None else 0
    if pr is None:
        return -1
    probe, hop = pr
    if start == 0:
        start = 1
    for i in range(start - 1, hop_count):
        th = first_reply_at(by_ttl, i + 1)
        if th is not None and th.addr == hop.addr:
            return i + 1
    qttl = hop.q_ttl_eff()
    if probe.ttl <= qttl:
        return -1
    i = probe.ttl - qttl
    if i >= hop_count:
        return -1
    th = first_reply_at(by_ttl, i + 1)
    if th is not None:
        pl = prefix_len(th.addr, hop.addr)
        if (hop.addr.atype == ADDR_IPV4 and pl >= 30) or \
                (hop.addr.atype == ADDR_IPV6 and pl >= 126):
            return i
    return i + 1


def _pmtud(tr: Trace, pm: TracePmtud, flags: int, hop_count: int) -> str:
    ifmtu = pm.ifmtu or 0
    outmtu = pm.outmtu or 0
    parts = [f',"pmtud":{{"if_mtu":{ifmtu},"out_mtu":{outmtu or ifmtu},'
             f'"path_mtu":{pm.pmtu or 0},"probec":{len(pm.probes)},"notec":{pm.notec or 0}']
    notes = pm.notes
    if notes and outmtu != 0 and (notes[0].type != 3 or notes[0].reply_index is not None):
        notes = ()
    if notes:
        by_ttl = tr.probes_by_ttl()
        d = 0
        out = []
        for n in notes:
            pr = pm.note_reply(n)
            dist = _note_dist(tr, by_ttl, hop_count, d, n, pr)
            s = f'{{"nhmtu":{n.nhmtu or 0}'
            if pr is not None:
                s += f',"hop_id":{n.reply_index}'
            if dist >= 0:
                s += f',"dist":{dist & 0xFF}'
            s += f',"type":"{note_type_name(n.type or 0)}"'
            if pr is not None:
                r = pr[1]
                if r.is_icmp_ptb:
                    s += f',"icmp_nhmtu":{r.icmp_nhmtu or 0}'
                s += f',"addr":"{r.addr}"'
            out.append(s + "}")
            if dist > d:
                d = dist
        parts.append(f',"notes":[{",".join(out)}]')
    hops: list[str] = []
    for p in pm.probes:
        _hops_json(flags & _RXERR, p, hops)
    if hops:
        parts.append(f',"hops":[{",".join(hops)}]')
    no_hops = [probe_json(p) for p in pm.probes if not p.replies]
    if no_hops:
        parts.append(f',"no_hops":[{",".join(no_hops)}]')
    parts.append("}")
    return "".join(parts)


def trace_to_json(tr: Trace) -> str:
    """scamper_trace_tojson() plus the newline sc_warts2json adds."""
    flags = tr.flags
    full = tr.hop_count_eff
    hop_count = tr.stop_hop_count
    first = tr.firsthop_eff
    rxerr = flags & _RXERR
    hops: list[str] = []
    extra: list[str] = []
    no_hops: list[str] = []
    extra_no: list[str] = []
    for p in tr.probes:
        ttl = p.ttl
        if ttl < first or ttl > full:
            continue
        main = ttl <= hop_count
        if p.replies:
            _hops_json(rxerr, p, hops if main else extra)
        else:
            (no_hops if main else extra_no).append(probe_json(p))
    parts = ["{", _header(tr, flags, hop_count)]
    if hops:
        parts.append(f',"hops":[{",".join(hops)}]')
    if extra:
        parts.append(f',"extra_hops":[{",".join(extra)}]')
    if no_hops:
        parts.append(f',"no_hops":[{",".join(no_hops)}]')
    if extra_no:
        parts.append(f',"extra_no_hops":[{",".join(extra_no)}]')
    if tr.pmtud is not None and tr.pmtud.ver == 2:
        parts.append(_pmtud(tr, tr.pmtud, flags, hop_count))
    parts.append("}\n")
    return "".join(parts)


_new_trace = constructor(Trace)


def trace_json_body(body: bytes, state: Any, offset: int = 0) -> str | None:
    """:func:`trace_to_json` of the trace whose object body is ``body`` (at
    file offset ``offset``, read with the file's ReadState ``state``),
    without building its probes and replies: each hop record is read into
    its values (trace_wire.read_hop_values) and rendered from them; a
    trace with attributes (PMTUD, doubletree, last-ditch) is built from
    those values and rendered by trace_to_json().  None when the body does
    not decode (the caller's decode then raises the error)."""
    cur = Cursor(body, base=offset, obj_type=OBJ_TRACE, state=state)
    try:
        vals = read_head(cur)
        hops = [read_hop_values(cur) for _ in range(cur.u16())]
        check_hops(cur, [h[0] for h in hops], vals.get("hop_count"))
        if cur.pos + 2 <= cur.end and cur.buf[cur.pos] | cur.buf[cur.pos + 1]:
            rest = read_attrs(cur)
            return trace_to_json(_new_trace(**vals, probes=tuple(probes_from_values(hops)),
                                            **rest))
        cur.u16()  # the end of the attributes (raises when it is missing)
    except Exception:  # any fault: the caller decodes it and raises
        return None
    # The header, from a trace without its probes: hop_count_eff would take
    # the highest TTL from them, so it is taken from the hops here.
    tr = _new_trace(**vals)
    flags = tr.flags
    full = tr.hop_count or (hops[-1][0] if hops else 0)
    sh = tr.stop_hop or 0
    hop_count = full if sh == 0 or sh > full else sh
    first = tr.firsthop_eff
    rxerr = flags & _RXERR
    main: list[str] = []
    extra: list[str] = []
    key = None
    pp = ""
    psize = 0
    for h in hops:
        # Consecutive records of one (ttl, id, size) are one probe, whose
        # values are the first record's (trace_wire._read_probes).
        ttl, pid, size, tx = h[0], h[1], h[2], h[3]
        k = (ttl, pid or 0, size or 0)
        if k != key:
            key = k
            pp = probe_part(ttl, pid, size, tx)
            psize = size or 0
        if ttl < first or ttl > full:
            continue
        (main if ttl <= hop_count else extra).append(hop_values(rxerr, pp, psize, *h[4:]))
    parts = ["{", _header(tr, flags, hop_count)]
    if main:
        parts.append(f',"hops":[{",".join(main)}]')
    if extra:
        parts.append(f',"extra_hops":[{",".join(extra)}]')
    parts.append("}\n")
    return "".join(parts)
