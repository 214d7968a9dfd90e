"""tbit renderers: sc_warts2json (scamper_tbit_json.c), sc_warts2text
(scamper_tbit_text.c) and sc_wartsdump (dump_tbit).  The packet reading and
analysis they share is in :mod:`warts.types.tbit_packets`.

The JSON renderer's IPv6 extension-header walk, which has no bound at all in
scamper, gives up after 256 headers.
"""

from __future__ import annotations

from ..jsonfmt import json_esc
from ..wire import Timeval
from .misc_common import (
    CBuf,
    cint,
    cstr,
    dump_cycle_summary,
    dump_list_summary,
    dump_timeval,
    json_monitor,
    tv_diff,
    u8,
    u16,
    u32,
)
from .tbit import (
    APP_BGP,
    APP_HTTP,
    APP_HTTP_TYPE_HTTPS,
    BLIND_TYPES,
    PKT_DIR_RX,
    PKT_DIR_TX,
    RESULT_ICW_SUCCESS,
    TYPE_ICW,
    TYPE_NULL,
    TYPE_PMTUD,
    Tbit,
    TbitAppBgp,
    TbitAppHttp,
    TbitBlind,
    TbitIcw,
    TbitNull,
    TbitPkt,
    TbitPmtud,
)
from .tbit_packets import (
    EXT_HDRS,
    IPPROTO_FRAGMENT,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    TH_ACK,
    TH_FIN,
    TH_RST,
    TH_SYN,
    be16,
    be32,
    isnoff,
    pkt_data,
    sack_blocks,
    server_fo_cookie,
    server_icw_size,
    v6_walk,
)

_ZERO = Timeval(0, 0)


_TYPES = (None, "pmtud", "ecn", "null", "sack-rcvr", "icw", "abc", "blind-data",
          "blind-rst", "blind-syn", "blind-fin")
_RESULTS: dict[int, str] = {
    0: "none", 1: "tcp-noconn", 2: "tcp-rst", 3: "tcp-error", 4: "sys-error", 5: "aborted",
    6: "tcp-noconn-rst", 7: "halted", 8: "tcp-badopt", 9: "tcp-fin", 10: "tcp-zerowin",
    20: "pmtud-noack", 21: "pmtud-nodata", 22: "pmtud-toosmall", 23: "pmtud-nodf",
    24: "pmtud-fail", 25: "pmtud-success", 26: "pmtud-cleardf",
    30: "ecn-success", 31: "ecn-incapable", 32: "ecn-badsynack", 33: "ecn-noece",
    34: "ecn-noack", 35: "ecn-nodata", 40: "null-success", 41: "null-nodata",
    50: "sack-incapable", 51: "sack-rcvr-success", 52: "sack-rcvr-shifted",
    53: "sack-rcvr-timeout", 54: "sack-rcvr-nosack", 60: "icw-success", 61: "icw-tooshort",
    70: "abc-success", 71: "abc-tooshort", 72: "abc-badicw", 80: "blind-accepted",
    81: "blind-challenge", 82: "blind-ignored", 83: "blind-rst", 84: "blind-synnew",
}
_TBIT_OPTIONS = ("tcpts", "sack")
_PMTUD_OPTIONS = ("blackhole",)
_NULL_OPTIONS = ("tcpts", "ipts-syn", "iprr-syn", "ipqs-syn", "sack", "fo", "fo-exp")
_NULL_RESULTS = ("tcpts-ok", "sack-ok", "fo-ok")
_TCP_FLAGS = ("fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr")


def type_str(t: int) -> str:
    """scamper_tbit_type_tostr()."""
    name = _TYPES[t] if t < len(_TYPES) else None
    return name if name is not None else str(t)


def result_str(r: int) -> str:
    """scamper_tbit_result_tostr()."""
    return _RESULTS.get(r, str(r))


# --------------------------------------------------------------------------
# JSON


def _bits_json(flags: int, bits: int, names: tuple[str, ...]) -> str:
    out = []
    for i in range(bits):
        v = flags & (1 << i)
        if v:
            out.append(f'"{names[i]}"' if i < len(names) else str(v))
    return ",".join(out)


class _IsnState:
    __slots__ = ("client", "server", "have_client", "have_server")

    def __init__(self) -> None:
        self.client = 0
        self.server = 0
        self.have_client = False
        self.have_server = False


def _pkt_json(rec: Tbit, pkt: TbitPkt, st: _IsnState) -> str:
    direction = pkt.dir or 0
    if direction == PKT_DIR_TX:
        s = ['{"dir":"tx"']
    elif direction == PKT_DIR_RX:
        s = ['{"dir":"rx"']
    else:
        s = [f'{{"dir":{direction}']
    sec, usec = tv_diff(rec.start or _ZERO, pkt.tv or _ZERO)
    s.append(f', "tv_sec":{u32(sec)}, "tv_usec":{u32(usec)}, "len":{pkt.len or 0}')
    d = pkt_data(pkt)
    v = d[0] >> 4
    frag = False
    frag_id = 0
    frag_mf = 0
    frag_off = 0
    if v == 4:
        iphlen = (d[0] & 0xF) * 4
        length = be16(d, 2)
        proto = d[9]
        ecn = d[1] & 0x3
        ttl = d[8]
        if d[6] & 0x20:
            frag_mf = 1
        frag_id = be16(d, 4)
        frag_off = (be16(d, 6) & 0x1FFF) * 8
        frag = bool(frag_mf or frag_off)
    elif v == 6:
        iphlen = 40
        length = u16(be16(d, 4) + 40)
        proto = d[6]
        ecn = (d[1] & 0x30) >> 4
        ttl = d[7]
        for _ in range(256):
            if proto in EXT_HDRS:
                proto, iphlen = d[iphlen], u8(iphlen + d[iphlen + 1] * 8 + 8)
                continue
            if proto == IPPROTO_FRAGMENT:
                if d[iphlen + 3] & 0x1:
                    frag_mf = 1
                frag_off = be16(d, iphlen + 2) & 0xFFF8
                frag_id = be32(d, iphlen + 4)
                proto = d[iphlen]
                iphlen = u8(iphlen + 8)
                frag = True
                continue
            break
    else:
        return "".join(s) + "}"
    s.append(f', "ip_hlen":{iphlen}, "ip_ecn":{ecn}, "ip_ttl":{ttl}')
    if v == 4 or frag:
        s.append(f', "frag_id":{frag_id}, "frag_off":{frag_off}, "frag_mf":{frag_mf}')
    if v == 4:
        # scamper shifts the DF bit (0x40) right by 7, so this is always 0
        s.append(f', "frag_df":{(d[6] & 0x40) >> 7}')
    if frag_off != 0:
        return "".join(s) + "}"
    if proto == IPPROTO_TCP:
        seq = be32(d, iphlen + 4)
        ack = be32(d, iphlen + 8)
        win = be16(d, iphlen + 14)
        flags = d[iphlen + 13]
        tcphlen = ((d[iphlen + 12] & 0xF0) >> 4) * 4
        if flags & (TH_SYN | TH_ACK) == TH_SYN and not st.have_client:
            st.client = seq
            st.have_client = True
        elif flags & (TH_SYN | TH_ACK) == TH_SYN | TH_ACK and not st.have_server:
            st.server = seq
            st.have_server = True
        s.append(f', "tcp_hlen":{tcphlen}, "tcp_flags":[{_bits_json(flags, 8, _TCP_FLAGS)}]')
        s.append(', "tcp_options":[')
        o = 20
        c = 0
        while o < tcphlen:
            p = iphlen + o
            kind = d[p]
            if kind == 0:
                s.append((", " if c else "") + '{"kind":"eol"}')
                break
            if kind == 1:
                s.append((", " if c else "") + '{"kind":"nop"}')
                c += 1
                o += 1
                continue
            olen = d[p + 1]
            if olen == 0 or o + olen > tcphlen:
                break
            if kind == 3 and olen == 3:
                s.append(("," if c else "") + f'{{"kind":"wscale", "shift":{d[p + 2]}}}')
                c += 1
            elif kind == 4 and olen == 2:
                s.append(("," if c else "") + '{"kind":"sack-ok"}')
                c += 1
            elif kind == 5 and olen in (10, 18, 26, 34):
                base = st.server if direction == PKT_DIR_TX else st.client
                blocks = ",".join(
                    f'{{"left":{u32(be32(d, p + 2 + k * 8) - base)}, '
                    f'"right":{u32(be32(d, p + 6 + k * 8) - base)}}}'
                    for k in range((olen - 2) // 8))
                s.append(("," if c else "") + f'{{"kind":"sack", "blocks":[{blocks}]}}')
                c += 1
            elif kind == 8 and olen == 10:
                s.append(("," if c else "") + f'{{"kind":"ts", "val":{be32(d, p + 2)}, '
                         f'"ecr":{be32(d, p + 6)}}}')
                c += 1
            elif kind == 34 and olen >= 2:
                # scamper closes the object only when there is a cookie
                s.append((", " if c else "") + '{"kind":"fo"')
                if olen > 2:
                    s.append(f', "cookie":"{d[p + 2:p + olen].hex()}"}}')
                c += 1
            elif kind == 254 and olen >= 4 and d[p + 2] == 0xF9 and d[p + 3] == 0x89:
                s.append((", " if c else "") + '{"kind":"fo-exp"')
                if olen > 4:
                    s.append(f', "cookie":"{d[p + 4:p + olen].hex()}"}}')
                c += 1
            o += olen
        s.append("]")
        if direction == PKT_DIR_TX:
            seq = isnoff(st.client, seq)
            ack = isnoff(st.server, ack)
        else:
            if not (seq == 0 and flags & TH_RST):
                seq = isnoff(st.server, seq)
            ack = isnoff(st.client, ack)
        s.append(f', "tcp_seq":{seq}')
        if flags & TH_ACK:
            s.append(f', "tcp_ack":{ack}')
        s.append(f', "tcp_datalen":{u16(length - iphlen - tcphlen)}, "tcp_win":{win}')
    body = "".join(s)
    # the packet's text is built in a 1024-byte buffer
    return body + "}" if len(body) < 1022 else body[:1023]


def to_json(rec: Tbit) -> str:
    """scamper_tbit_tojson() (sc_warts2json)."""
    st = _IsnState()
    pkts = [_pkt_json(rec, p, st) for p in rec.pkts]
    b = CBuf(2048)
    start = rec.start or _ZERO
    b.concat(f'{{"type":"tbit", "tbit_type":"{type_str(rec.type or 0)}", '
             f'"userid":{rec.userid or 0}, "src":"{cstr(_s(rec.src))}", '
             f'"dst":"{cstr(_s(rec.dst))}", "sport":{rec.sport or 0}, '
             f'"dport":{rec.dport or 0}, "start":{{"sec":{start.sec},"usec":{start.usec}}}'
             f', "client_mss":{rec.client_mss or 0}, "server_mss":{rec.server_mss or 0}'
             f', "ttl":{rec.ipttl}, "result":"{result_str(rec.result or 0)}"')
    if rec.options:
        b.concat(f', "options":[{_bits_json(rec.options, 16, _TBIT_OPTIONS)}]')
    if rec.errmsg is not None:
        b.concat(f',"errmsg":"{json_esc(rec.errmsg)}"')
    if rec.client_wscale:
        b.concat(f', "wscale":{rec.client_wscale}')
    if rec.client_fo_cookie:
        b.concat(', "fo_cookie":"')
        b.byte2hex(rec.client_fo_cookie)
        b.concatc('"')
    if st.have_client:
        b.concat(f', "client_isn":{st.client}')
    if st.have_server:
        b.concat(f', "server_isn":{st.server}')
    ttype = rec.type or 0
    data = rec.data
    if ttype == TYPE_PMTUD and isinstance(data, TbitPmtud):
        b.concat(f', "mtu":{data.mtu or 0}, "ptb_retx":{data.ptb_retx or 0}')
        if data.ptbsrc is not None:
            b.concat(f', "ptbsrc":"{data.ptbsrc}"')
        b.concat(f', "pmtud_options":[{_bits_json(data.options or 0, 8, _PMTUD_OPTIONS)}]')
    elif ttype == TYPE_NULL and isinstance(data, TbitNull):
        b.concat(f', "null_options":[{_bits_json(data.options or 0, 16, _NULL_OPTIONS)}]')
        b.concat(f', "null_results":[{_bits_json(data.results or 0, 16, _NULL_RESULTS)}]')
    elif ttype == TYPE_ICW:
        icw = server_icw_size(rec)
        if icw is not None:
            b.concat(f', "icw_bytes":{icw}')
    elif ttype in BLIND_TYPES and isinstance(data, TbitBlind):
        b.concaf(f', "blind_off":{cint(data.off or 0)}')
        b.concat(f', "blind_retx":{data.retx or 0}')
    app = rec.app_data
    proto = rec.app_proto or 0
    if proto == APP_HTTP and isinstance(app, TbitAppHttp):
        b.concat(', "app":"http"')
        if app.host is not None:
            scheme = "https" if (app.type or 0) == APP_HTTP_TYPE_HTTPS else "http"
            b.concat(f', "http_url":"{scheme}://')
            b.concat(cstr(app.host))
            if app.file is not None:
                b.concat(cstr(app.file))
            b.concatc('"')
    elif proto == APP_BGP and isinstance(app, TbitAppBgp):
        b.concat(f', "app":"bgp", "bgp_asn":{app.asn or 0}')
    b.concat(json_monitor(rec.list))
    return b.value() + ', "pkts":[' + ", ".join(pkts) + "]}\n"


def _s(a: object) -> str | None:
    return None if a is None else str(a)


# --------------------------------------------------------------------------
# text and dump share the per-packet walk; they differ in small details


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _app_line(rec: Tbit) -> str:
    app = rec.app_data
    if (rec.app_proto or 0) != APP_HTTP or not isinstance(app, TbitAppHttp):
        return ""
    scheme = "https" if (app.type or 0) == APP_HTTP_TYPE_HTTPS else "http"
    if app.host is not None and app.file is not None:
        return f" app: http, url: {scheme}://{cstr(app.host)}{cstr(app.file)}\n"
    if app.host is not None:
        return f" app: http, url: {scheme}://{cstr(app.host)}\n"
    return f" app: http, file: {cstr(app.file)}\n"


def to_text(rec: Tbit) -> str:
    """scamper_tbit_totext() (sc_warts2text)."""
    b = CBuf(131072)
    b.concaf(f"tbit from {cstr(_s(rec.src))} to {cstr(_s(rec.dst))}\n server-mss "
             f"{rec.server_mss or 0}, result: {result_str(rec.result or 0)}\n")
    app = _app_line(rec)
    if app:
        b.concat(app[:-1])
        b.concatc("\n")
    client_isn = 0
    server_isn = 0
    start = rec.start or _ZERO
    for pkt in rec.pkts:
        d = pkt_data(pkt)
        v = d[0] >> 4
        frag = False
        mf = 0
        off = 0
        ipid = ""
        if v == 4:
            iphlen = (d[0] & 0xF) * 4
            length = be16(d, 2)
            proto = d[9]
            ecn = d[1] & 0x3
            if d[6] & 0x20:
                mf = 1
            ipid = f" {be16(d, 4):04x}"
            off = (be16(d, 6) & 0x1FFF) * 8
            frag = bool(mf or off)
        elif v == 6:
            length = u16(be16(d, 4) + 40)
            ecn = (d[1] & 0x30) >> 4
            proto, iphlen, frag, mf, off, ipid = v6_walk(d)
        else:
            continue
        direction = pkt.dir or 0
        sec, usec = tv_diff(start, pkt.tv or _ZERO)
        b.concaf(f" [{cint(sec):3d}.{cint(_cdiv(usec, 1000)):03d}] "
                 f"{'TX' if direction == PKT_DIR_TX else 'RX'} ")
        fstr = f":{off}{' MF' if mf else ''}" if frag else ""
        if off != 0:
            b.concaf(f"{'':<13s} {length:4d}F{'':>22s} {ipid}{fstr}")
        elif proto == IPPROTO_TCP:
            seq = be32(d, iphlen + 4)
            ack = be32(d, iphlen + 8)
            flags = d[iphlen + 13]
            tcphlen = ((d[iphlen + 12] & 0xF0) >> 4) * 4
            tf = ""
            if flags & TH_SYN:
                if flags & TH_ACK:
                    server_isn = seq
                    tf = "SYN/ACK"
                else:
                    client_isn = seq
                    tf = "SYN"
            elif flags & TH_FIN:
                tf = "FIN"
            elif flags & TH_RST:
                tf = "RST"
            if flags & 0x40:
                tf += ("/" if tf else "") + "ECE"
            if flags & 0x80:
                tf += ("/" if tf else "") + "CWR"
            sack = ""
            for _o, _l, edges in sack_blocks(d, iphlen, tcphlen):
                base = server_isn if direction == PKT_DIR_TX else client_isn
                sack += " {" + ",".join(f"{u32(edges[k] - base)}:{u32(edges[k + 1] - base)}"
                                        for k in range(0, len(edges), 2)) + "}"
            if direction == PKT_DIR_TX:
                seq = isnoff(client_isn, seq)
                ack = isnoff(server_isn, ack)
            else:
                seq = isnoff(server_isn, seq)
                ack = isnoff(client_isn, ack)
            datalen = u16(length - iphlen - tcphlen)
            b.concaf(f"{tf:<13s} {length:4d}{'F' if frag else ' '}")
            tmp = f" seq = {seq}:{ack}" + (f"({datalen})" if datalen else "") + sack
            b.concaf(f"{tmp:<23s}{ipid}")
            if frag:
                b.concat(fstr)
            if datalen > 0 and v == 4 and d[6] & 0x40:
                b.concat(" DF")
            if ecn == 3:
                b.concat(" CE")
            elif ecn:
                b.concat(" ECT")
        elif proto == IPPROTO_ICMP:
            if d[iphlen] == 3 and d[iphlen + 1] == 4:
                b.concaf(f"{'PTB':<13s} {length:4d}  mtu = {be16(d, iphlen + 6)}")
        elif proto == IPPROTO_ICMPV6:
            if d[iphlen] == 2:
                b.concaf(f"{'PTB':<13s} {length:4d}  mtu = {cint(be32(d, iphlen + 4))}")
        b.concatc("\n")
    # scamper replaces the last character written with the newline
    return b.value()[:b.off - 1] + "\n"


def _bits_dump(flags: int, names: tuple[str, ...]) -> str:
    out = []
    for i in range(32):
        v = flags & (1 << i)
        if v:
            out.append(f" {names[i]}" if i < len(names) else f" 0x{v:x}")
    return ",".join(out)


def to_dump(rec: Tbit) -> str:
    """sc_wartsdump's dump_tbit()."""
    start = rec.start or _ZERO
    out = [f"tbit from {cstr(_s(rec.src))} to {cstr(_s(rec.dst))}\n",
           dump_list_summary(rec.list), dump_cycle_summary(rec.cycle),
           f" user-id: {cint(rec.userid or 0)}\n", dump_timeval("start", start),
           f" sport: {rec.sport or 0}, dport: {rec.dport or 0}\n",
           f" client-mss: {rec.client_mss or 0}, server-mss: {rec.server_mss or 0}"
           f", ttl: {rec.ipttl}"]
    if rec.client_wscale:
        out.append(f", wscale: {rec.client_wscale}")
    out.append(f"\n type: {type_str(rec.type or 0)}, result: {result_str(rec.result or 0)}\n")
    if rec.options:
        out.append(f" options:{_bits_dump(rec.options, _TBIT_OPTIONS)}\n")
    if rec.client_fo_cookie:
        out.append(f" fo-cookie: {rec.client_fo_cookie.hex()}\n")
    data = rec.data
    if isinstance(data, TbitPmtud):
        out.append(f" mtu: {data.mtu or 0}, ptb-retx: {data.ptb_retx or 0}")
        if data.ptbsrc is not None:
            out.append(f", ptb-src: {data.ptbsrc}")
        if (data.options or 0) & 0x1:
            out.append(", blackhole")
        out.append("\n")
    elif isinstance(data, TbitNull):
        if data.options:
            out.append(f" null-options:{_bits_dump(data.options, _NULL_OPTIONS)}\n")
        if data.results:
            out.append(f" results:{_bits_dump(data.results, _NULL_RESULTS)}\n")
            if data.results & 0x04:
                cookie = server_fo_cookie(rec)
                if cookie is not None:
                    out.append(f" fo-cookie: {cookie.hex()}\n")
    elif isinstance(data, TbitIcw) and (rec.result or 0) == RESULT_ICW_SUCCESS:
        out.append(f" icw-start-seq: {data.start_seq or 0}")
        icw = server_icw_size(rec)
        if icw is not None:
            out.append(f", icw-size: {icw} bytes")
        out.append("\n")
    elif isinstance(data, TbitBlind):
        out.append(f" blind: offset {cint(data.off or 0)}, retx {data.retx or 0}\n")
    app = _app_line(rec)
    if app:
        out.append(app)
    elif (rec.app_proto or 0) == APP_BGP and isinstance(rec.app_data, TbitAppBgp):
        out.append(f" app: bgp, asn: {rec.app_data.asn or 0}\n")
    if rec.errmsg is not None:
        out.append(f" errmsg: {cstr(rec.errmsg)}\n")
    client_isn = 0
    server_isn = 0
    txsyn = False
    rxsyn = False
    for pkt in rec.pkts:
        d = pkt_data(pkt)
        direction = pkt.dir or 0
        v = d[0] >> 4
        frag = False
        mf = 0
        off = 0
        ipid = ""
        if v == 4:
            iphlen = (d[0] & 0xF) * 4
            length = be16(d, 2)
            proto = d[9]
            ecn = d[1] & 0x3
            if d[6] & 0x20:
                mf = 1
            off = (be16(d, 6) & 0x1FFF) * 8
            frag = bool(mf or off)
            ipid = f"{be16(d, 4):04x}"
        elif v == 6:
            length = u16(be16(d, 4) + 40)
            ecn = (d[1] & 0x30) >> 4
            proto, iphlen, frag, mf, off, ipid = v6_walk(d)
        else:
            continue
        sec, usec = tv_diff(start, pkt.tv or _ZERO)
        out.append(f" [{cint(sec):3d}.{cint(_cdiv(usec, 1000)):03d}] "
                   f"{'TX' if direction == PKT_DIR_TX else 'RX'} ")
        fstr = f":{off}{' MF' if mf else ''}" if frag else ""
        if off != 0:
            out.append(f"{'':>13s} {length:4d}F{'':>17s}{ipid}{fstr}")
        elif proto == IPPROTO_TCP:
            seq = be32(d, iphlen + 4)
            ack = be32(d, iphlen + 8)
            flags = d[iphlen + 13]
            tcphlen = ((d[iphlen + 12] & 0xF0) >> 4) * 4
            tf = ""
            if flags & TH_SYN:
                if flags & TH_ACK:
                    if not rxsyn:
                        server_isn = seq
                        rxsyn = True
                    tf = "SYN/ACK"
                else:
                    if not txsyn:
                        client_isn = seq
                        txsyn = True
                    tf = "SYN"
            elif flags & TH_FIN:
                tf = "FIN"
            elif flags & TH_RST:
                tf = "RST"
            if flags & 0x40:
                tf += ("/" if tf else "") + "ECE"
            if flags & 0x80:
                tf += ("/" if tf else "") + "CWR"
            sb = CBuf(64)
            for _o, _l, edges in sack_blocks(d, iphlen, tcphlen):
                base = server_isn if direction == PKT_DIR_TX else client_isn
                sb.concat(" {")
                for k in range(0, len(edges), 2):
                    sb.concat(("," if k else "") + str(u32(edges[k] - base)))
                    sb.concat(":" + str(u32(edges[k + 1] - base)))
                sb.concatc("}")
            if direction == PKT_DIR_TX:
                seq = isnoff(client_isn, seq)
                ack = isnoff(server_isn, ack)
            else:
                if not (seq == 0 and flags & TH_RST):
                    seq = isnoff(server_isn, seq)
                ack = isnoff(client_isn, ack)
            datalen = u16(length - iphlen - tcphlen)
            out.append(f"{tf:<13s} {length:4d}{'F' if frag else ' '}")
            nums = f" {seq}" + (f":{ack}" if flags & TH_ACK else "")
            if datalen:
                nums += f"({datalen})"
            out.append(f"{nums:<17s}{ipid}")
            if frag:
                out.append(fstr)
            if datalen > 0 and v == 4 and d[6] & 0x40:
                out.append(" DF")
            if ecn == 3:
                out.append(" CE")
            elif ecn:
                out.append(" ECT")
            out.append(sb.value())
        elif proto == IPPROTO_ICMP:
            if d[iphlen] == 3 and d[iphlen + 1] == 4:
                out.append(f"{'PTB':<13s} {length:4d}  mtu = {be16(d, iphlen + 6)}")
        elif proto == IPPROTO_ICMPV6:
            if d[iphlen] == 2:
                out.append(f"{'PTB':<13s} {length:4d}  mtu = {cint(be32(d, iphlen + 4))}")
        out.append("\n")
    out.append("\n")
    return "".join(out)
