"""Dealias records: round trips, reader defaults, builders and bad input."""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import warts
from tests.strategies import icmp_exts, ipv4s, ipv6s, opt, texts, timevals, u8, u16, u32
from tests.warts.handmade import addr4, block
from warts.address import Address
from warts.listcycle import CycleInfo, ListInfo
from warts.types.dealias import (
    Dealias,
    DealiasAlly,
    DealiasBump,
    DealiasMercator,
    DealiasMethod,
    DealiasMidardisc,
    DealiasMidardiscRound,
    DealiasMidarest,
    DealiasPrefixscan,
    DealiasProbe,
    DealiasProbedef,
    DealiasRadargun,
    DealiasReply,
    DealiasResult,
    ProbedefMethod,
    ReplyFlag,
)
from warts.types.dealias_render import prefixhosts
from warts.wire import Timeval

V4 = Address.from_string
T0 = Timeval(1795907505, 297010)

# --------------------------------------------------------------------------
# strategies: raw records (any parameter present or absent)

# a small pool so that addresses repeat and exercise table references
addrs = st.one_of(st.sampled_from([V4("10.0.0.1"), V4("10.0.0.2"),
                                   Address.from_string("fd00::1")]), ipv4s, ipv6s)


probedefs = st.builds(
    DealiasProbedef, dst=addrs, method=st.sampled_from(list(ProbedefMethod)).map(int),
    id=opt(u32), ttl=opt(u8), tos=opt(u8), ports=opt(st.tuples(u16, u16)),
    tcp_flags=opt(u8), icmp_id=opt(u16), src=opt(addrs), size=opt(u16), mtu=opt(u16),
    icmp_csum=opt(u16))


@st.composite
def replies(draw: st.DrawFn) -> DealiasReply:
    tc = draw(opt(st.tuples(u8, u8)))
    return DealiasReply(
        src=draw(addrs), rx=draw(opt(timevals)), ipid=draw(opt(u16)), ttl=draw(opt(u8)),
        icmp_type=tc[0] if tc else None, icmp_code=tc[1] if tc else None,
        icmp_q_ttl=draw(opt(u8)), icmp_exts=draw(opt(icmp_exts)), proto=draw(opt(u8)),
        tcp_flags=draw(opt(u8)), ipid32=draw(opt(u32)), flags=draw(opt(u8)),
        size=draw(opt(u16)))


def probes_for(defc: int) -> st.SearchStrategy[DealiasProbe]:
    return st.builds(DealiasProbe, def_id=opt(st.integers(0, defc - 1)), tx=opt(timevals),
                     ipid=opt(u16), seq=opt(u32),
                     replies=st.lists(replies(), max_size=3).map(tuple))


def pds(n: int | None = None, lo: int = 1, hi: int = 4) -> st.SearchStrategy[Any]:
    if n is not None:
        lo = hi = n
    return st.lists(probedefs, min_size=lo, max_size=hi).map(tuple)


rounds = st.builds(DealiasMidardiscRound, timevals, u32, u32)


@st.composite
def method_data(draw: st.DrawFn) -> Any:
    m = draw(st.sampled_from(list(DealiasMethod)))
    if m == DealiasMethod.MERCATOR:
        return DealiasMercator(draw(pds(1)), draw(opt(u8)), draw(opt(u8)))
    if m == DealiasMethod.ALLY:
        return DealiasAlly(draw(pds(2)), draw(opt(u16)), draw(opt(u8)), draw(opt(u8)),
                           draw(opt(u16)), draw(opt(u8)))
    if m == DealiasMethod.BUMP:
        return DealiasBump(draw(pds(2)), draw(opt(u16)), draw(opt(u16)), draw(opt(u8)))
    if m == DealiasMethod.RADARGUN:
        d = draw(pds())
        return DealiasRadargun(d, len(d), draw(opt(u16)), draw(opt(u16)), draw(opt(u32)),
                               draw(opt(u8)), draw(opt(u8)))
    if m == DealiasMethod.PREFIXSCAN:
        d = draw(pds(lo=0))
        return DealiasPrefixscan(
            d, draw(opt(addrs)), draw(opt(addrs)), draw(opt(addrs)),
            draw(opt(st.lists(addrs, max_size=3).map(tuple))), draw(opt(u8)), draw(opt(u8)),
            draw(opt(u16)), draw(opt(u16)), draw(opt(u8)), len(d) if d else draw(st.none()
                                                                               | st.just(0)),
            draw(opt(u8)), draw(opt(u8)))
    if m == DealiasMethod.MIDAREST:
        d = draw(pds())
        return DealiasMidarest(d, len(d), draw(opt(u8)), draw(opt(u32)), draw(opt(u32)),
                               draw(opt(u32)))
    d = draw(pds())
    return DealiasMidardisc(d, len(d), draw(opt(u32)),
                            draw(opt(st.lists(rounds, max_size=3).map(tuple))), draw(opt(timevals)))


LIST = ListInfo(7, "default", "the default list", "mon1")
CYCLE = CycleInfo(LIST, 3, 1795907500, None, "vm")


@st.composite
def dealiases(draw: st.DrawFn) -> Dealias:
    lst = draw(st.sampled_from([None, LIST]))
    cyc = CYCLE if lst is not None and draw(st.booleans()) else None
    hdr = dict(list=lst, cycle=cyc, start=draw(opt(timevals)), result=draw(opt(u8)),
               userid=draw(opt(u32)),
               errmsg=draw(opt(texts())))
    if draw(st.integers(0, 9)) == 0:
        # a method scamper does not know: header only, the rest kept raw
        return Dealias(method=draw(st.none() | st.just(0) | st.integers(8, 255)),
                       probec=draw(opt(u32)), trailer=draw(st.binary(max_size=10)), **hdr)
    data = draw(method_data())
    defc = len(data.probedefs)
    probes = tuple(draw(st.lists(probes_for(defc), max_size=4))) if defc else ()
    return Dealias(method=data.METHOD, probec=len(probes) or None, data=data, probes=probes,
                   trailer=draw(st.just(b"") | st.binary(max_size=4)), **hdr)


def roundtrip(rec: Any) -> Any:
    data = warts.encode([rec])
    out = warts.decode(data)
    assert warts.encode(out) == data
    return out[-1]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(dealiases())
def test_hypothesis_roundtrip(rec: Dealias) -> None:
    assert roundtrip(rec) == rec
    # every renderer copes with whatever the codec accepts
    warts.to_json(rec)
    warts.to_text(rec)
    warts.to_dump(rec)


# --------------------------------------------------------------------------
# strategies: records built the way scamper 20260420 writes them


def built_probedef(i: int, dst: Address, method: int) -> DealiasProbedef:
    return DealiasProbedef.build(dst=dst, method=method, id=i, src=V4("10.200.1.1"), size=30,
                                 sport=1234, dport=80, icmp_id=7, tcp_flags=0x10)


@st.composite
def built_dealiases(draw: st.DrawFn) -> Dealias:
    dst = draw(addrs)
    pmeth = draw(st.sampled_from(list(ProbedefMethod)))
    defs = tuple(built_probedef(i, dst, pmeth) for i in range(draw(st.integers(1, 3))))
    pair = (built_probedef(0, dst, pmeth), built_probedef(1, dst, pmeth))
    m = draw(st.sampled_from(list(DealiasMethod)))
    data: Any
    if m == DealiasMethod.MERCATOR:
        data = DealiasMercator.build(probedef=defs[0], attempts=3, wait_timeout=5)
    elif m == DealiasMethod.ALLY:
        data = DealiasAlly.build(probedefs=pair, wait_probe=150,
                                 wait_timeout=5, attempts=5, fudge=draw(u16),
                                 flags=draw(u8))
    elif m == DealiasMethod.BUMP:
        data = DealiasBump.build(probedefs=pair, wait_probe=draw(u16),
                                 bump_limit=3, attempts=2)
    elif m == DealiasMethod.RADARGUN:
        data = DealiasRadargun.build(probedefs=defs, rounds=30, wait_probe=150,
                                     wait_round=draw(u32), wait_timeout=5, flags=draw(u8))
    elif m == DealiasMethod.PREFIXSCAN:
        data = DealiasPrefixscan.build(a=V4("10.0.0.1"), b=V4("10.0.1.0"), prefix=30,
                                       attempts=2, fudge=200, wait_probe=1000,
                                       wait_timeout=5, ab=draw(opt(ipv4s)),
                                       xs=tuple(draw(st.lists(addrs, max_size=2))),
                                       probedefs=defs, flags=draw(u8),
                                       replyc=draw(u8))
    elif m == DealiasMethod.MIDAREST:
        data = DealiasMidarest.build(probedefs=defs, rounds=10, wait_probe=draw(u32),
                                     wait_round=draw(u32), wait_timeout=draw(u32))
    else:
        data = DealiasMidardisc.build(probedefs=defs, wait_timeout=draw(u32),
                                      sched=tuple(draw(st.lists(rounds, max_size=2))),
                                      startat=draw(opt(timevals)))
    probes = []
    for seq in range(draw(st.integers(0, 3))):
        pd = data.probedefs[draw(st.integers(0, len(data.probedefs) - 1))]
        reps = []
        for _ in range(draw(st.integers(0, 2))):
            proto = draw(st.sampled_from([1, 58, 6, 17]))
            reps.append(DealiasReply.build(
                src=draw(addrs), rx=draw(timevals), ttl=draw(u8), proto=proto, size=draw(u16),
                ipid=draw(u16), ipid32=draw(u32), flags=draw(st.sampled_from([0, 1])),
                icmp_type=draw(st.sampled_from([0, 1, 3, 11, 129])), icmp_code=draw(u8),
                icmp_q_ttl=draw(u8), icmp_exts=draw(opt(icmp_exts)), tcp_flags=draw(u8)))
        probes.append(DealiasProbe.build(probedef=pd, tx=draw(timevals), seq=seq, ipid=draw(u16),
                                         replies=tuple(reps)))
    return Dealias.build(data=data, start=draw(timevals), result=draw(st.integers(0, 5)),
                         userid=draw(u32), errmsg=draw(st.none() | st.just("oops \"x\"")),
                         probes=tuple(probes), list=LIST, cycle=CYCLE)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(built_dealiases())
def test_hypothesis_built_roundtrip(rec: Dealias) -> None:
    assert roundtrip(rec) == rec


# --------------------------------------------------------------------------
# hand-made bytes


def obj(body: bytes) -> bytes:
    return struct.pack(">HHI", 0x1205, 9, len(body)) + body


def hdr(method: int, probec: int = 0, **more: bytes) -> bytes:
    p = {1: b"\0\0\0\0", 2: b"\0\0\0\0", 3: struct.pack(">II", 5, 6), 4: bytes([method])}
    if probec:
        p[6] = struct.pack(">I", probec)
    return block(p)


def decode_one(body: bytes) -> Dealias:
    (rec,) = warts.decode(obj(body))
    assert isinstance(rec, Dealias)
    return rec


def test_reader_defaults() -> None:
    # prefixscan without replyc; an ICMP probedef with neither id nor the
    # old 4-byte field; a probe without its def index; a reply without proto.
    pfs = block({2: addr4("10.0.1.0"), 5: b"\x1e", 10: b"\x00\x01"})
    pd = block({4: b"\x01", 5: b"\xff", 10: addr4("10.0.1.1")})
    probe = block({2: struct.pack(">II", 7, 8), 3: b"\x00\x01"})
    # the reply's source is a reference to table entry 1 (the probedef's dst)
    reply = block({2: struct.pack(">II", 7, 9), 10: b"\x00" + struct.pack(">I", 1)})
    rec = decode_one(hdr(4, probec=1) + pfs + pd + probe + reply)
    assert isinstance(rec.data, DealiasPrefixscan)
    assert rec.data.replyc is None and rec.data.replyc_read == 5
    assert rec.probes[0].def_id is None and rec.probedef_of(rec.probes[0]).id is None
    r = rec.probes[0].replies[0]
    assert r.proto is None and r.proto_read == 1
    js = warts.to_json(rec)
    assert js is not None
    assert '"replyc":5' in js and '{"id":0, "dst":"10.0.1.1"' in js
    assert '"probedef_id":0' in js and '"proto":1, "icmp_type":0' in js
    assert rec.probes[0].replies[0].src == V4("10.0.1.1")
    assert warts.encode([rec]) == obj(hdr(4, probec=1) + pfs + pd + probe + reply)

    # reply from an IPv6 source without proto reads as ICMPv6
    reply6 = block({10: b"\x10\x02" + Address.from_string("fd00::1").raw})
    rec = decode_one(hdr(4, probec=1) + pfs + pd + probe + reply6)
    assert rec.probes[0].replies[0].proto_read == 58


def test_old_icmp_probedef_csum_from_four_bytes() -> None:
    pd = block({4: b"\x01", 7: b"\x00\x00\xbe\xef", 9: b"\x00\x07", 10: addr4("10.0.0.2"),
                14: b"\x12\x34"})
    rec = decode_one(hdr(1) + block({1: b"\x03", 2: b"\x05"}) + pd)
    assert isinstance(rec.data, DealiasMercator)
    assert rec.data.probedef.csum == 0xBEEF
    assert "icmp-echo csum: 0xbeef, id: 0x0007" in (warts.to_dump(rec) or "")


def test_unknown_method_is_header_only() -> None:
    body = hdr(9, probec=3) + b"whatever follows"
    rec = decode_one(body)
    assert rec.method == 9 and rec.data is None and rec.probes == ()
    assert rec.trailer == b"whatever follows" and rec.probec == 3
    assert warts.encode([rec]) == obj(body)
    assert warts.to_json(rec) is None and warts.to_text(rec) is None
    dump = warts.to_dump(rec) or ""
    assert " method: 9\n probes: 3, result: none\n" in dump


def test_unknown_flags_are_skipped() -> None:
    # reply flag 14 and probe flag 6 are beyond what scamper knows
    pd = block({4: b"\x03", 7: b"\x04\xd2\x00\x50", 10: addr4("10.0.0.2")})
    probe = block({2: struct.pack(">II", 7, 8), 3: b"\x00\x01", 6: b"\xaa\xbb"})
    reply = block({2: struct.pack(">II", 7, 9), 10: addr4("10.0.0.2"), 14: b"junk"})
    rec = decode_one(hdr(1, probec=1) + block({1: b"\x03"}) + pd + probe + reply)
    assert rec.probes[0].replies[0].src == V4("10.0.0.2")
    assert rec.data is not None and rec.data.probedefs[0].sport == 1234


def test_old_gid_addresses() -> None:
    # two type-5 address objects, then a probedef and reply referring to them
    def addr_obj(check: int, s: str) -> bytes:
        body = bytes([check, 1]) + V4(s).raw
        return struct.pack(">HHI", 0x1205, 5, len(body)) + body
    pd = block({1: struct.pack(">I", 1), 2: struct.pack(">I", 2), 4: b"\x03"})
    probe = block({3: b"\x00\x01"})
    reply = block({1: struct.pack(">I", 2)})
    data = (addr_obj(1, "10.0.0.9") + addr_obj(2, "10.0.0.1")
            + obj(hdr(1, probec=1) + block({}) + pd + probe + reply))
    recs = warts.decode(data)
    rec = recs[-1]
    assert rec.data.probedefs[0].dst == V4("10.0.0.9")
    assert rec.data.probedefs[0].src == V4("10.0.0.1")
    assert rec.probes[0].replies[0].src == V4("10.0.0.1")


@pytest.mark.parametrize("body", [
    hdr(1) + block({1: b"\x03"}),  # no probedef at all
    hdr(1) + block({}) + block({4: b"\x03"}),  # probedef without dst
    hdr(1) + block({}) + block({4: b"\x09", 10: addr4("10.0.0.1")}),  # bad probedef method
    hdr(3) + block({}) + block({4: b"\x01", 10: addr4("10.0.0.1")}),  # radargun, probedefc 0
    hdr(1, probec=1) + block({}) + block({4: b"\x01", 10: addr4("10.0.0.1")})
    + block({1: b"\x00\x00\x00\x01"}),  # probe refers to probedef 1 of 1
    hdr(1, probec=1) + block({}) + block({4: b"\x01", 10: addr4("10.0.0.1")})
    + block({3: b"\x00\x01"}) + block({2: b"\0" * 8}),  # reply without src
    hdr(1, probec=2) + block({}) + block({4: b"\x01", 10: addr4("10.0.0.1")})
    + block({}),  # truncated: second probe missing
    hdr(2)[:-3],  # truncated header
])
def test_bad_input_raises(body: bytes) -> None:
    with pytest.raises(warts.WartsError):
        warts.decode(obj(body))


@given(built_dealiases(), st.data())
@settings(max_examples=50)
def test_truncation_raises(rec: Dealias, data: st.DataObject) -> None:
    full = warts.encode([rec])
    start = full.rindex(b"\x12\x05\x00\x09")
    body = full[start + 8:]
    cut = data.draw(st.integers(0, len(body) - 1))
    if rec.trailer:
        return
    with pytest.raises(warts.WartsError):
        warts.decode(full[:start] + obj(body[:cut]))


def test_encode_validates() -> None:
    pd = DealiasProbedef.build(dst=V4("10.0.0.1"), method=ProbedefMethod.ICMP_ECHO)
    merc = DealiasMercator.build(probedef=pd, attempts=1, wait_timeout=1)
    bad = [
        Dealias(method=2, start=T0, data=merc),  # method and data disagree
        Dealias(method=1, start=T0),  # known method without data
        Dealias(method=9, start=T0, data=merc),  # unknown method with data
        Dealias.build(data=merc, start=T0, probes=(DealiasProbe(def_id=1),)),
        Dealias(method=1, start=T0, data=merc, probec=2, probes=(DealiasProbe(),)),
        Dealias.build(data=DealiasRadargun(probedefs=(pd,), probedefc=2), start=T0),
        Dealias.build(data=DealiasAlly(probedefs=(pd,)), start=T0),
    ]
    for rec in bad:
        with pytest.raises(warts.WartsError):
            warts.encode([rec])


# --------------------------------------------------------------------------
# builders follow the 20260420 writer


def test_builders_follow_writer_rules() -> None:
    v6 = Address.from_string("fd00::2")
    icmp = DealiasProbedef.build(dst=V4("10.0.0.1"), method=ProbedefMethod.ICMP_ECHO,
                                 icmp_id=5)
    assert (icmp.id, icmp.ports, icmp.tcp_flags, icmp.icmp_id, icmp.icmp_csum, icmp.tos,
            icmp.src) == (None, None, None, 5, None, None, None)
    tcp = DealiasProbedef.build(dst=v6, method=ProbedefMethod.TCP_SYN_SPORT, id=1,
                                sport=1, dport=2)
    assert (tcp.id, tcp.ports, tcp.tcp_flags, tcp.icmp_id) == (1, (1, 2), 0, None)
    # IPID only for probes of IPv4 probedefs (even when 0)
    assert DealiasProbe.build(probedef=icmp, tx=T0).ipid == 0
    assert DealiasProbe.build(probedef=tcp, tx=T0, ipid=9).ipid is None
    assert DealiasProbe.build(probedef=tcp, tx=T0).def_id == 1
    # replies: ipid for IPv4, ipid32 for IPv6, proto only when not ICMP
    r4 = DealiasReply.build(src=V4("10.0.0.1"), rx=T0, ttl=3, proto=1, ipid=7, ipid32=8)
    assert (r4.ipid, r4.ipid32, r4.proto, r4.icmp_type, r4.tcp_flags) == (7, None, None, 0, None)
    r6 = DealiasReply.build(src=v6, rx=T0, ttl=3, proto=6, ipid=7, ipid32=8,
                            flags=ReplyFlag.IPID32, tcp_flags=0x12)
    assert (r6.ipid, r6.ipid32, r6.proto, r6.icmp_type, r6.tcp_flags, r6.flags) == \
        (None, 8, 6, None, 0x12, 1)
    # prefixscan omits replyc 5, bump keeps scamper's wait_probe arithmetic
    pf = DealiasPrefixscan.build(a=None, b=None, prefix=30, attempts=2, fudge=0,
                                 wait_probe=1000, wait_timeout=5)
    assert pf.replyc is None and pf.probedefc is None and pf.xs is None
    bump = DealiasBump.build(probedefs=(icmp, icmp), wait_probe=2500, bump_limit=3,
                             attempts=2)
    assert bump.wait_probe == 2000
    rec = Dealias.build(data=DealiasMercator.build(probedef=icmp, attempts=3, wait_timeout=5),
                        start=T0, result=DealiasResult.ALIASES)
    assert (rec.method, rec.result, rec.probec, rec.userid) == (1, 1, None, None)


def test_prefixhosts() -> None:
    assert prefixhosts(V4("10.200.5.0"), V4("10.200.5.1")) == 31
    assert prefixhosts(V4("10.200.5.0"), V4("10.200.5.0")) == 32
    assert prefixhosts(V4("10.0.0.1"), V4("10.0.0.6")) == 29
    assert prefixhosts(V4("10.0.0.1"), Address.from_string("fd00::1")) == -1


def test_ally_text_and_json_flags() -> None:
    d0 = DealiasProbedef.build(dst=V4("10.0.0.1"), method=3, sport=1, dport=2)
    d1 = DealiasProbedef.build(dst=V4("10.0.0.2"), method=3, id=1, sport=1, dport=2)
    for result, word in ((1, "aliases"), (2, "not aliases"), (0, "none"), (3, "3")):
        rec = Dealias.build(data=DealiasAlly.build(probedefs=(d0, d1), wait_probe=150,
                                                   wait_timeout=5, attempts=5, flags=0x05),
                            start=T0, result=result)
        assert warts.to_text(rec) == f"10.0.0.1 10.0.0.2 {word}\n"
    assert ', "flags":["nobs",4]' in (warts.to_json(rec) or "")


# --------------------------------------------------------------------------
# interop with the installed scamper tools (Debian's 20211212)


@pytest.mark.interop
def test_debian_sc_wartsdump_reads_what_we_write(tmp_path: Path) -> None:
    tool = Path("/usr/bin/sc_wartsdump")
    if not tool.exists():
        pytest.skip("sc_wartsdump not installed")
    d0 = DealiasProbedef.build(dst=V4("10.0.0.1"), method=3, src=V4("10.0.0.9"), sport=1,
                               dport=2, size=30)
    d1 = DealiasProbedef.build(dst=V4("10.0.0.2"), method=3, src=V4("10.0.0.9"), id=1,
                               sport=1, dport=2, size=30)
    reply = DealiasReply.build(src=V4("10.0.0.1"), rx=Timeval(T0.sec, T0.usec + 50), ttl=61,
                               proto=1, ipid=456, icmp_type=3, icmp_code=3, icmp_q_ttl=252)
    probes = tuple(DealiasProbe.build(probedef=d, tx=T0, seq=i, ipid=100 + i,
                                      replies=(reply,)) for i, d in enumerate((d0, d1)))
    rec = Dealias.build(data=DealiasAlly.build(probedefs=(d0, d1), wait_probe=150,
                                               wait_timeout=5, attempts=5, fudge=200),
                        start=T0, result=1, probes=probes, list=LIST, cycle=CYCLE)
    path = tmp_path / "d.warts"
    with path.open("wb") as f:
        w = warts.Writer(f)
        w.write(rec)
    out = subprocess.run([str(tool), str(path)], capture_output=True, text=True,
                         env={"TZ": "UTC"}, check=True).stdout
    assert " method: ally, attempts: 5, fudge: 200" in out
    assert "  reply: 0, src: 10.0.0.1, ttl: 61, rtt: 0.000050" in out
    assert warts.decode(path.read_bytes())[-1] == rec
    assert isinstance(warts.read(io.BytesIO(path.read_bytes())), object)
