"""sc_warts2json, sc_warts2text and sc_wartsdump output for dealias records.

Each function reproduces scamper 20260420 exactly:

| renderer | scamper source | prints |
|---|---|---|
| :func:`dealias_json` | scamper_dealias_json.c | one line; nothing for midar* or unknown methods |
| :func:`dealias_text` | scamper_dealias_text.c | ``DST0 DST1 RESULT`` for ally; else nothing |
| :func:`dealias_dump` | sc_wartsdump.c dump_dealias() | a block ending in a blank line |

(scamper's JSON writer fails for midarest, midardisc and unknown methods,
and sc_warts2json then stops reading; we just print nothing for them.)

Units as scamper's reader turns them into timevals:

| value | stored as | seen by the renderers as |
|---|---|---|
| mercator/ally/radargun/prefixscan wait_timeout | u8 seconds | (s, 0) |
| ally/bump/radargun/prefixscan wait_probe, radargun wait_round | ms | (ms/1000, ms%1000*1000) |
| midarest waits, midardisc wait_timeout | u32 us | (us/1e6, us%1e6) |

The JSON prints the ms values through a u16 (so radargun wait_round above
65535 wraps), and the seconds of the second-valued waits.
"""

from __future__ import annotations

from ..address import Address
from ..dump import ctime, cycle_summary, list_summary, s32
from ..jsonfmt import json_esc
from ..wire import Timeval
from .dealias import (
    Dealias,
    DealiasAlly,
    DealiasBump,
    DealiasMercator,
    DealiasMidardisc,
    DealiasMidarest,
    DealiasPrefixscan,
    DealiasProbe,
    DealiasProbedef,
    DealiasRadargun,
    DealiasReply,
)

_METHOD_NAMES = {1: "mercator", 2: "ally", 3: "radargun", 4: "prefixscan", 5: "bump",
                 6: "midarest", 7: "midardisc"}
_RESULT_NAMES = {0: "none", 1: "aliases", 2: "not-aliases", 3: "halted", 4: "ipid-echo",
                 5: "error"}
_PD_METHOD_NAMES = {1: "icmp-echo", 2: "tcp-ack", 3: "udp", 4: "tcp-ack-sport",
                    5: "udp-dport", 6: "tcp-syn-sport"}
_PD_ICMP = (1,)
_PD_UDP = (3, 5)
_PD_TCP = (2, 4, 6)

# dealias_flags_encode() names for each bit, per method.
_ALLY_FLAGS = ("nobs",)
_RADARGUN_FLAGS = ("nobs",)  # sic: scamper's JSON names the shuffle bit "nobs"
_PREFIXSCAN_FLAGS = ("nobs", "csa")

_TV0 = Timeval(0, 0)


def method_name(method: int) -> str:
    """scamper_dealias_method_tostr()."""
    return _METHOD_NAMES.get(method) or str(method)


def result_name(result: int) -> str:
    """scamper_dealias_result_tostr()."""
    return _RESULT_NAMES.get(result) or str(result)


def probedef_method_name(method: int) -> str:
    """scamper_dealias_probedef_method_tostr()."""
    return _PD_METHOD_NAMES.get(method) or str(method)


def prefixhosts(a: Address, b: Address) -> int:
    """scamper_addr_prefixhosts(): the longest prefix holding both addresses
    in which neither is the network or broadcast address (-1 unless IPv4)."""
    if a.atype != b.atype or a.atype != 1:
        return -1
    x = int.from_bytes(a.raw, "big")
    y = int.from_bytes(b.raw, "big")
    v = x ^ y
    i = 32 - v.bit_length()
    if i >= 31:
        return i
    while i > 0:
        mask = 0xFFFFFFFF >> i
        c = x & mask
        if c == 0 or c == mask:
            i -= 1
            continue
        c = y & mask
        if c == 0 or c == mask:
            i -= 1
            continue
        break
    return i


def _flags_json(flags: int, names: tuple[str, ...]) -> str:
    out = []
    for i in range(8):
        bit = flags & (1 << i)
        if bit:
            out.append(f'"{names[i]}"' if i < len(names) else str(bit))
    return ', "flags":[' + ",".join(out) + "]"


# --------------------------------------------------------------------------
# JSON


def _header_json(d: Dealias) -> str:
    start = d.start or Timeval(0, 0)
    parts = [f'{{"type":"dealias","version":"0.2","method":"{method_name(d.method or 0)}", '
             f'"userid":{d.userid or 0}, "result":"{result_name(d.result or 0)}", '
             f'"start":{{"sec":{start.sec}, "usec":{start.usec}}}']
    if d.errmsg is not None:
        parts.append(f',"errmsg":"{json_esc(d.errmsg)}"')
    data = d.data
    if isinstance(data, DealiasMercator):
        parts.append(f', "attempts":{data.attempts or 0}, '
                     f'"wait_timeout":{data.wait_timeout or 0}')
    elif isinstance(data, DealiasAlly):
        parts.append(f', "wait_probe":{data.wait_probe or 0}, '
                     f'"wait_timeout":{data.wait_timeout or 0}, '
                     f'"attempts":{data.attempts or 0}, "fudge":{data.fudge or 0}')
        if data.flags:
            parts.append(_flags_json(data.flags, _ALLY_FLAGS))
    elif isinstance(data, DealiasRadargun):
        parts.append(f', "attempts":{data.rounds or 0}, '
                     f'"wait_probe":{data.wait_probe or 0}, '
                     f'"wait_round":{(data.wait_round or 0) & 0xFFFF}, '
                     f'"wait_timeout":{data.wait_timeout or 0}')
        if data.flags:
            parts.append(_flags_json(data.flags, _RADARGUN_FLAGS))
    elif isinstance(data, DealiasPrefixscan):
        parts.append(_prefixscan_json(data))
    elif isinstance(data, DealiasBump):
        parts.append(f', "wait_probe":{data.wait_probe or 0}, '
                     f'"bump_limit":{data.bump_limit or 0}, '
                     f'"attempts":{data.attempts or 0}')
    lst = d.list
    if lst is not None and lst.monitor is not None:
        parts.append(f',"monitor":"{json_esc(lst.monitor)}"')
    return "".join(parts)


def _prefixscan_json(pf: DealiasPrefixscan) -> str:
    parts = []
    if pf.a is not None:
        parts.append(f', "a":"{pf.a}"')
    if pf.b is not None:
        parts.append(f', "b":"{pf.b}/{pf.prefix or 0}"')
        if pf.ab is not None:
            x = prefixhosts(pf.b, pf.ab)
            if x >= 0:
                parts.append(f', "ab":"{pf.ab}/{x}"')
    if pf.xs:
        parts.append(', "xs":[' + ",".join(f'"{x}"' for x in pf.xs) + "]")
    parts.append(f', "attempts":{pf.attempts or 0}, "replyc":{pf.replyc_read}, '
                 f'"fudge":{pf.fudge or 0}, "wait_probe":{pf.wait_probe or 0}, '
                 f'"wait_timeout":{pf.wait_timeout or 0}')
    if pf.flags:
        parts.append(_flags_json(pf.flags, _PREFIXSCAN_FLAGS))
    return "".join(parts)


def _probedef_json(pd: DealiasProbedef) -> str:
    src = f', "src":"{pd.src}"' if pd.src is not None else ""
    s = (f'{{"id":{pd.id or 0}{src}, "dst":"{pd.dst}", "ttl":{pd.ttl or 0}, '
         f'"size":{pd.size or 0}, "method":"{probedef_method_name(pd.method)}"')
    m = pd.method
    if m in _PD_ICMP:
        s += f', "icmp_id":{pd.icmp_id or 0}, "icmp_csum":{pd.csum}'
    elif m in _PD_UDP:
        s += f', "udp_sport":{pd.sport}, "udp_dport":{pd.dport}'
    elif m in _PD_TCP:
        s += (f', "tcp_sport":{pd.sport}, "tcp_dport":{pd.dport}, '
              f'"tcp_flags":{pd.tcp_flags or 0}')
    if pd.mtu:
        s += f', "mtu":{pd.mtu}'
    return s + "}"


# _reply_json and _probe_json run once per probe (362,799 times in
# bench/warts_bench's file): locals instead of repeated attribute reads, one
# shared zero timeval, no list for the usual single reply, one f-string for
# a reply; with the memoised json_esc(), dealias_json() on that file's dealias
# records went from 0.73 to 0.59 CPU-s.


def _reply_json(r: DealiasReply) -> str:
    rx = r.rx or _TV0
    src = r.src
    v4 = src.atype == 1
    size = f', "size":{r.size}' if r.size else ""
    if v4:
        ipid = f', "ipid":{r.ipid or 0}'
    elif (r.flags or 0) & 0x01:
        ipid = f', "ipid":{r.ipid32 or 0}'
    else:
        ipid = ""
    proto = r.proto
    if proto is None:
        proto = 1 if v4 else 58
    if proto == 1 or proto == 58:
        t = r.icmp_type or 0
        kind = f', "icmp_type":{t}, "icmp_code":{r.icmp_code or 0}'
        if (proto == 1 and (t == 3 or t == 11)) or (proto == 58 and (t == 1 or t == 3)):
            kind += f', "icmp_q_ttl":{r.icmp_q_ttl or 0}'
    elif proto == 6:
        kind = f', "tcp_flags":{r.tcp_flags or 0}'
    else:
        kind = ""
    return (f'{{"src":"{src}","rx":{{"sec":{rx[0]},"usec":{rx[1]}}},"ttl":{r.ttl or 0}'
            f'{size}{ipid}, "proto":{proto}{kind}}}')


def _probe_json(p: DealiasProbe, defs: tuple[DealiasProbedef, ...]) -> str:
    pd = defs[p.def_id or 0]
    tx = p.tx or _TV0
    s = f'{{"probedef_id":{pd.id or 0},"seq":{p.seq or 0},"tx":{{"sec":{tx[0]},"usec":{tx[1]}}}'
    if pd.dst.atype == 1:
        s += f', "ipid":{p.ipid or 0}'
    replies = p.replies
    if len(replies) == 1:
        return f'{s}, "replies":[{_reply_json(replies[0])}]}}'
    return s + ', "replies":[' + ", ".join([_reply_json(r) for r in replies]) + "]}"


def dealias_json(d: Dealias) -> str | None:
    """The sc_warts2json line for ``d``, or None where scamper's fails."""
    if d.method not in (1, 2, 3, 4, 5) or d.data is None:
        return None
    defs = d.data.probedefs
    return (_header_json(d) + ', "probedefs":[' + ", ".join([_probedef_json(pd) for pd in defs])
            + '], "probes":[' + ", ".join([_probe_json(p, defs) for p in d.probes])
            + "]}\n")


# --------------------------------------------------------------------------
# text


def dealias_text(d: Dealias) -> str | None:
    """sc_warts2text: one line for ally, nothing for the other methods."""
    if d.method != 2 or d.data is None:
        return None
    pds = d.data.probedefs
    res = d.result or 0
    rs = {1: "aliases", 2: "not aliases", 0: "none"}.get(res) or str(res)
    return f"{pds[0].dst} {pds[1].dst} {rs}\n"


# --------------------------------------------------------------------------
# sc_wartsdump


def _wait(label: str, sec: int, usec: int) -> str:
    """dump_wait(): seconds, then the microseconds without trailing zeros."""
    if usec > 0:
        x = 6
        while usec % 10 == 0:
            usec //= 10
            x -= 1
        return f"{label}: {sec}.{usec:0{x}d}s"
    return f"{label}: {sec}s"


def _wait_ms(label: str, ms: int | None) -> str:
    ms = ms or 0
    return _wait(label, ms // 1000, (ms % 1000) * 1000)


def _wait_us(label: str, us: int | None) -> str:
    us = us or 0
    return _wait(label, us // 1000000, us % 1000000)


def _timeval_line(label: str, tv: Timeval) -> str:
    return f" {label}: {ctime(tv.sec)} {s32(tv.usec):06d}\n"


def _tcp_flags(flags: int) -> str:
    if not flags:
        return ""
    names = ("fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr")
    return " (" + "".join(f" {n}" for i, n in enumerate(names) if flags & (1 << i)) + " )"


def _addr_or(a: Address | None, none: str = "(null)") -> str:
    return str(a) if a is not None else none


def _probedef_dump(pd: DealiasProbedef) -> str:
    s = (f" probedef {s32(pd.id or 0)}: dst: {pd.dst}, ttl: {pd.ttl or 0}, "
         f"tos: 0x{pd.tos or 0:02x}\n  src: {_addr_or(pd.src, '<null>')}")
    if pd.size:
        s += f", size: {pd.size}"
    if pd.mtu:
        s += f", mtu: {pd.mtu}"
    s += "\n"
    m = pd.method
    if m in _PD_ICMP:
        s += f"  icmp-echo csum: 0x{pd.csum:04x}, id: 0x{pd.icmp_id or 0:04x}\n"
    elif m in _PD_UDP:
        name = {3: "udp", 5: "udp-dport"}.get(m) or f"udp-{m}"
        s += f"  {name} {pd.sport}:{pd.dport}\n"
    elif m in _PD_TCP:
        name = {2: "tcp-ack", 4: "tcp-ack-sport", 6: "tcp-syn-sport"}.get(m) or f"tcp-{m}"
        s += f"  {name} {pd.sport}:{pd.dport} {_tcp_flags(pd.tcp_flags or 0)}\n"
    else:
        s += f"{m}\n"
    return s


def _method_dump(d: Dealias) -> list[str]:
    data = d.data
    out = [" method: "]
    if isinstance(data, DealiasMercator):
        out.append(f"mercator, attempts: {data.attempts or 0}")
        out.append(_wait(", timeout", data.wait_timeout or 0, 0) + "\n")
    elif isinstance(data, DealiasAlly):
        out.append(f"ally, attempts: {data.attempts or 0}, fudge: {data.fudge or 0}")
        out.append(_wait_ms(", wait-probe", data.wait_probe))
        out.append(_wait(", wait-timeout", data.wait_timeout or 0, 0))
        out.append(", nobs\n" if (data.flags or 0) & 0x01 else "\n")
    elif isinstance(data, DealiasBump):
        out.append(f"bump, attempts: {data.attempts or 0}")
        out.append(_wait_ms(", wait-probe", data.wait_probe))
        out.append(f", bump-limit: {data.bump_limit or 0}\n")
    elif isinstance(data, DealiasRadargun):
        out.append(f"radargun, rounds: {data.rounds or 0}, "
                   f"probedefc: {s32(len(data.probedefs))}\n")
        out.append(_wait_ms("  wait-probe", data.wait_probe))
        out.append(_wait_ms(", wait-round", data.wait_round))
        out.append(_wait(", wait-timeout", data.wait_timeout or 0, 0) + "\n")
        if data.flags:
            names = ["shuffle" if i == 0 else f"0x{1 << i:02x}"
                     for i in range(8) if data.flags & (1 << i)]
            out.append("  flags: " + ", ".join(names) + "\n")
    elif isinstance(data, DealiasPrefixscan):
        out.append(f"prefixscan, {_addr_or(data.a)}:{_addr_or(data.b)}/{data.prefix or 0}")
        if data.ab is not None:
            hosts = prefixhosts(data.b, data.ab) if data.b is not None else -1
            out.append(f", alias: {data.ab}/{hosts}")
        out.append(f"\n  attempts: {data.attempts or 0}, replyc: {data.replyc_read}, "
                   f"fudge: {data.fudge or 0}")
        out.append(_wait_ms(", wait-probe", data.wait_probe))
        out.append(_wait(", wait-timeout", data.wait_timeout or 0, 0))
        out.append(", nobs\n" if (data.flags or 0) & 0x01 else "\n")
        if data.xs:
            out.append("  exclude:" + "".join(f" {x}" for x in data.xs) + "\n")
    elif isinstance(data, DealiasMidarest):
        out.append("midarest")
        out.append(_wait_us(", wait-probe", data.wait_probe))
        out.append(_wait_us(", wait-round", data.wait_round) + "\n")
        out.append(_wait_us("  wait-timeout", data.wait_timeout))
        out.append(f", rounds: {data.rounds or 0}, probedefc: {s32(len(data.probedefs))}\n")
    elif isinstance(data, DealiasMidardisc):
        out.append("midardisc")
        out.append(_wait_us(", wait-timeout", data.wait_timeout))
        out.append(f", probedefc: {s32(len(data.probedefs))}\n")
        if data.startat is not None:
            out.append(_timeval_line("startat", data.startat))
        probec = 0
        for i, r in enumerate(data.sched or ()):
            span = (r.end - r.begin) & 0xFFFFFFFF
            out.append(f"  round {i}: {r.start.sec}.{r.start.usec:06d} {r.begin} {r.end}, "
                       f"{probec}-{(probec + span) & 0xFFFFFFFF}\n")
            probec = (probec + span + 1) & 0xFFFFFFFF
    else:
        out.append(f"{d.method or 0}\n")
    if data is not None:
        out.extend(_probedef_dump(pd) for pd in data.probedefs)
    return out


def _reply_dump(j: int, r: DealiasReply, tx: Timeval) -> str:
    rx = r.rx or Timeval(0, 0)
    sec = rx.sec - tx.sec
    usec = rx.usec - tx.usec
    if usec < 0:
        sec -= 1
        usec += 1000000
    s = (f"  reply: {j}, src: {r.src}, ttl: {r.ttl or 0}, "
         f"rtt: {s32(sec)}.{s32(usec):06d}")
    if r.size:
        s += f", size: {r.size}"
    if r.src.atype == 1:
        s += f", ipid: 0x{r.ipid or 0:04x}"
    elif (r.flags or 0) & 0x01:
        s += f", ipid32: 0x{r.ipid32 or 0:08x}"
    s += "\n"
    proto = r.proto_read
    if proto == 1 or proto == 58:
        t = r.icmp_type or 0
        s += f"  icmp-type: {t}, icmp-code: {r.icmp_code or 0}"
        if r.is_icmp_q:
            s += f", icmp-q-ttl: {r.icmp_q_ttl or 0}"
        s += "\n"
    elif proto == 6:
        s += f"   tcp flags:{_tcp_flags(r.tcp_flags or 0)}\n"
    else:
        s += f"  reply proto {proto}\n"
    return s


def dealias_dump(d: Dealias) -> str:
    """sc_wartsdump's dump_dealias()."""
    data = d.data
    out = ["dealias"]
    if isinstance(data, DealiasMercator):
        pd = data.probedefs[0]
        out.append(f" from {_addr_or(pd.src)} to {pd.dst}")
    out.append("\n")
    out.append(list_summary(d.list))
    out.append(cycle_summary(d.cycle))
    out.append(f" user-id: {s32(d.userid or 0)}\n")
    out.append(_timeval_line("start", d.start or Timeval(0, 0)))
    out.extend(_method_dump(d))

    # For a method scamper cannot read, the header's probec stands (scamper
    # would then crash walking probes it never read; we print none).
    probec = len(d.probes) if data is not None else (d.probec or 0)
    out.append(f" probes: {s32(probec)}, result: {result_name(d.result or 0)}")
    if isinstance(data, DealiasPrefixscan) and (data.flags or 0) & 0x02:
        out.append(", csa")
    out.append("\n")
    if d.errmsg is not None:
        out.append(f" errmsg: {d.errmsg}\n")

    defs = data.probedefs if data is not None else ()
    for i, p in enumerate(d.probes):
        pd = defs[p.def_id or 0]
        tx = p.tx or Timeval(0, 0)
        s = (f" probe: {i}, def: {s32(pd.id or 0)}, seq: {s32(p.seq or 0)}, "
             f"tx: {s32(tx.sec)}.{s32(tx.usec):06d}")
        if pd.dst.atype == 1:
            s += f", ipid: 0x{p.ipid or 0:04x}"
        out.append(s + "\n")
        for j, r in enumerate(p.replies):
            out.append(_reply_dump(j, r, tx))
    out.append("\n")
    return "".join(out)
