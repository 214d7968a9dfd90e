"""host renderers: sc_warts2json (scamper_host_json.c) and sc_wartsdump
(dump_host) for the records of :mod:`warts.types.host`, split from it."""

from __future__ import annotations

from ..address import Address
from ..jsonfmt import json_esc
from ..wire import Timeval
from .host import (
    DATA_ADDR,
    DATA_MX,
    DATA_OPT,
    DATA_SOA,
    DATA_STR,
    DATA_SVCB,
    DATA_TXT,
    FLAG_NORECURSE,
    FLAG_NSID,
    FLAG_TCP,
    TYPE_CNAME,
    TYPE_NS,
    TYPE_PTR,
    Host,
    HostQuery,
    HostRR,
    HostRRMx,
    HostRROpt,
    HostRRSoa,
    HostRRSvcb,
    HostRRTxt,
    qclass_str,
    qtype_str,
    rcode_str,
    rr_data_type,
)
from .misc_common import (
    CBuf,
    cint,
    cstr,
    dump_cycle_summary,
    dump_list_summary,
    dump_timeval,
    dump_wait,
    json_monitor,
    tv_diff,
    tv_iszero,
)

# The header flag names, bit 0 first, as the JSON prints them.
_QFLAGS = ("CD", "AD", "Z", "RA", "RD", "TC", "AA", "0x80")
_ZERO = Timeval(0, 0)


# --------------------------------------------------------------------------
# JSON (scamper_host_json.c)


def _rr_json(rr: HostRR) -> str:
    b = CBuf(1024)
    rclass = rr.class_ or 0
    rtype = rr.type or 0
    b.concat(f'{{"class":"{qclass_str(rclass)}", "type":"{qtype_str(rtype)}", '
             f'"ttl":{rr.ttl or 0}')
    if rr.name is not None:
        b.concat(f', "name":"{json_esc(rr.name)}"')
    d = rr.data
    dt = rr_data_type(rclass, rtype)
    if dt == DATA_ADDR and isinstance(d, Address):
        b.concat(f', "address":"{d}"')
    elif dt == DATA_STR and isinstance(d, str):
        key = {TYPE_NS: "nsdname", TYPE_CNAME: "cname", TYPE_PTR: "ptrdname"}[rtype]
        b.concat(f', "{key}":"{json_esc(d)}"')
    elif dt == DATA_MX and isinstance(d, HostRRMx):
        b.concat(f', "preference":{d.preference or 0}')
        if d.exchange is not None:
            b.concat(f', "exchange":"{json_esc(d.exchange)}"')
    elif dt == DATA_SOA and isinstance(d, HostRRSoa):
        if d.mname is not None:
            b.concat(f', "mname":"{json_esc(d.mname)}"')
        if d.rname is not None:
            b.concat(f', "rname":"{json_esc(d.rname)}"')
        b.concat(f', "serial":{d.serial or 0}, "refresh":{d.refresh or 0}'
                 f', "retry":{d.retry or 0}, "expire":{d.expire or 0}'
                 f', "minimum":{d.minimum or 0}')
    elif dt == DATA_TXT and isinstance(d, HostRRTxt):
        # the strings are escaped into a buffer sized for them: no truncation
        b.concat(f', "strc":{d.strc or 0}')
        b.concat(', "strs":[')
        strs = ""
        if d.strc and d.strs is not None:
            strs = ", ".join(f'"{json_esc(cstr(s), 1 << 20)}"' for s in d.strs)
        return b.value() + strs + "]}"
    b.concatc("}")
    return b.value()


def _query_json(q: HostQuery) -> str:
    tx = q.tx or _ZERO
    s = (f'{{"id":{q.id or 0}, "ancount":{q.ancount or 0}, "nscount":{q.nscount or 0}'
         f', "arcount":{q.arcount or 0}, "tx":{{"sec":{tx.sec},"usec":{tx.usec}}}')
    if not tv_iszero(q.rx):
        assert q.rx is not None
        flags = q.flags or 0
        names = ",".join(f'"{_QFLAGS[i]}"' for i in range(8) if flags & (1 << i))
        s += (f', "rx":{{"sec":{q.rx.sec},"usec":{q.rx.usec}}}, "rcode":"'
              f'{rcode_str(q.rcode or 0)}", "flags":[{names}]')
    for key, rrs in (("an", q.an), ("ns", q.ns), ("ar", q.ar)):
        if rrs:
            s += f', "{key}":[' + ",".join(_rr_json(rr) for rr in rrs) + "]"
    return s + "}"


def to_json(rec: Host) -> str:
    """scamper_host_tojson() (sc_warts2json)."""
    b = CBuf(1024)
    b.concat('{"type":"host", "version":"0.1"')
    if rec.src is not None:
        b.concat(f', "src":"{rec.src}"')
    if rec.dst is not None:
        b.concat(f', "dst":"{rec.dst}"')
    start = rec.start or _ZERO
    b.concat(f', "userid":{rec.userid or 0}, "start":{{"sec":{start.sec},"usec":{start.usec}')
    b.concatc("}")
    if rec.errmsg is not None:
        b.concat(f',"errmsg":"{json_esc(rec.errmsg)}"')
    flags = rec.flags or 0
    names = [n for bit, n in ((FLAG_NORECURSE, '"norecurse"'), (FLAG_TCP, '"tcp"'),
                              (FLAG_NSID, '"nsid"')) if flags & bit]
    if names:
        b.concat(', "flags":[' + ", ".join(names) + "]")
    b.concat(f', "wait":{rec.wait_timeout or 0}, "retries":{rec.retries or 0}'
             f', "stop":"{rec.stop_str}"')
    if rec.qname is not None:
        b.concat(f', "qname":"{json_esc(rec.qname)}"')
    b.concat(f', "qclass":"{qclass_str(rec.qclass or 0)}", "qtype":"{qtype_str(rec.qtype or 0)}"'
             f', "qcount":{rec.qcount or 0}')
    if rec.ecs is not None:
        # scamper prints the client subnet unescaped
        b.concat(f', "ecs":"{cstr(rec.ecs)}"')
    b.concat(json_monitor(rec.list))
    return (b.value() + ', "queries":[' + ",".join(_query_json(q) for q in rec.queries)
            + "]}\n")


# --------------------------------------------------------------------------
# dump (sc_wartsdump)


def _rr_dump(rr: HostRR, section: str) -> str:
    rclass = rr.class_ or 0
    rtype = rr.type or 0
    name = cstr(rr.name) if rr.name is not None else "<null>"
    s = f"  {section}: {name} {rr.ttl or 0} {qclass_str(rclass)} {qtype_str(rtype)}"
    d = rr.data
    dt = rr_data_type(rclass, rtype)
    # where scamper would dereference missing data, print nothing more
    if dt == DATA_ADDR:
        s += f" {d if isinstance(d, Address) else '(null)'}"
    elif dt == DATA_STR:
        s += f" {cstr(d) if isinstance(d, str) else '(null)'}"
    elif dt == DATA_MX and isinstance(d, HostRRMx):
        s += f" {d.preference or 0} {cstr(d.exchange)}"
    elif dt == DATA_SOA and isinstance(d, HostRRSoa):
        s += (f" {cstr(d.mname)} {cstr(d.rname)} {d.serial or 0} {d.refresh or 0}"
              f" {d.retry or 0} {d.expire or 0} {d.minimum or 0}")
    elif dt == DATA_TXT and isinstance(d, HostRRTxt):
        strc = d.strc or 0
        s += f" {strc}"
        for i in range(strc):
            txt = d.strs[i] if d.strs is not None and i < len(d.strs) else None
            s += f' "{cstr(txt) if txt is not None else "<null>"}"'
    elif dt == DATA_OPT and isinstance(d, HostRROpt):
        s += f" {d.elemc or 0}"
        for e in d.elems or ():
            s += f" {e.code}" + (f":{e.data.hex()}" if e.data else "")
    elif dt == DATA_SVCB and isinstance(d, HostRRSvcb):
        s += f" {d.priority or 0} {cstr(d.target)} {d.paramc or 0}"
        for p in d.params or ():
            s += f" {p.key}" + (f":{p.val.hex()}" if p.val else "")
    return s + "\n"


def to_dump(rec: Host) -> str:
    """sc_wartsdump's dump_host()."""
    out = ["host"]
    if rec.src is not None:
        out.append(f" from {rec.src}")
    out.append(f" to {rec.dst if rec.dst is not None else '(null)'}\n")
    out.append(dump_list_summary(rec.list))
    out.append(dump_cycle_summary(rec.cycle))
    out.append(f" user-id: {cint(rec.userid or 0)}\n")
    start = rec.start or _ZERO
    out.append(dump_timeval("start", start))
    flags = rec.flags or 0
    if flags:
        out.append(" flags:" + (" norecurse" if flags & FLAG_NORECURSE else "")
                   + (" tcp" if flags & FLAG_TCP else "")
                   + (" nsid" if flags & FLAG_NSID else "") + "\n")
    w = rec.wait_timeout or 0
    out.append(dump_wait(" wait", w // 1000, (w % 1000) * 1000))
    out.append(f", retries: {rec.retries or 0}, stop: {rec.stop_str.lower()}\n")
    out.append(f" qname: {cstr(rec.qname)}, qclass: {qclass_str(rec.qclass or 0)}"
               f", qtype: {qtype_str(rec.qtype or 0)}, qcount: {rec.qcount or 0}\n")
    if rec.ecs is not None:
        out.append(f" edns-client-subnet: {cstr(rec.ecs)}\n")
    if rec.errmsg is not None:
        out.append(f" errmsg: {cstr(rec.errmsg)}\n")
    for i, q in enumerate(rec.queries):
        tx = q.tx or _ZERO
        sec, usec = tv_diff(start, tx)
        out.append(f" query: {i}, id: {q.id or 0}, tx: {cint(sec)}.{cint(usec):06d}")
        answered = not tv_iszero(q.rx)
        if answered:
            sec, usec = tv_diff(tx, q.rx or _ZERO)
            out.append(f", rtt: {cint(sec)}.{cint(usec):06d}")
        out.append(f", an: {q.ancount or 0}, ns: {q.nscount or 0}, ar: {q.arcount or 0}\n")
        if answered:
            out.append(f"  rcode: {rcode_str(q.rcode or 0)}")
            qf = q.flags or 0
            if qf:
                out.append(", flags:" + ",".join(f" {_QFLAGS[j]}" for j in range(8)
                                                 if qf & (1 << j)))
            out.append("\n")
        out.extend(_rr_dump(rr, "an") for rr in q.an)
        out.extend(_rr_dump(rr, "ns") for rr in q.ns)
        out.extend(_rr_dump(rr, "ar") for rr in q.ar)
    out.append("\n")
    return "".join(out)
