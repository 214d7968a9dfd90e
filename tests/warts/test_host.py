"""host (type 0x0e): round trips for every RR data type, reader checks,
renderers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import warts
from tests.strategies import ip_addrs, ipv4s, ipv6s, opt, texts, timevals, u8, u16, u32
from warts import Address, CycleInfo, CycleStart, CycleStop, ListInfo, Timeval
from warts.types.host import (
    Host,
    HostQuery,
    HostRR,
    HostRRMx,
    HostRROpt,
    HostRROptElem,
    HostRRSoa,
    HostRRSvcb,
    HostRRSvcbParam,
    HostRRTxt,
    rr_data_type,
)

LST = ListInfo(1, "default", "default")
CYC = CycleInfo(LST, 7, 1700000000, hostname="vm")


def counted(item: st.SearchStrategy) -> st.SearchStrategy:
    """(count, items): scamper writes both or neither."""
    return st.lists(item, max_size=3).flatmap(
        lambda xs: st.just((len(xs), tuple(xs))) if xs
        else st.sampled_from([(None, None), (0, None)]))


txts = counted(st.text(st.characters(codec="utf-8"), max_size=20)).map(
    lambda c: HostRRTxt(*c))
opts = counted(st.builds(HostRROptElem, u16, st.binary(max_size=8))).map(lambda c: HostRROpt(*c))
svcbs = st.tuples(opt(u16), opt(texts()), counted(st.builds(HostRRSvcbParam, u16,
                                                           st.binary(max_size=8)))).map(
    lambda t: HostRRSvcb(t[0], t[1], *t[2]))
soas = st.builds(HostRRSoa, texts(), texts(), opt(u32), opt(u32), opt(u32), opt(u32), opt(u32))
mxs = st.builds(HostRRMx, opt(u16), texts())

# (class, type, data) combinations scamper's reader accepts
typed = st.one_of(
    st.tuples(st.just(1), st.just(1), opt(ipv4s)),
    st.tuples(st.just(1), st.just(28), opt(ipv6s)),
    st.tuples(st.just(1), st.sampled_from([2, 5, 12]), opt(texts())),
    st.tuples(st.just(1), st.just(6), opt(soas)),
    st.tuples(st.just(1), st.just(15), opt(mxs)),
    st.tuples(st.sampled_from([1, 3]), st.just(16), opt(txts)),
    st.tuples(u16, st.just(41), opt(opts)),
    st.tuples(st.just(1), st.sampled_from([64, 65]), opt(svcbs)),
    st.tuples(u16, u16, st.none()),
)


@st.composite
def rrs(draw: st.DrawFn) -> HostRR:
    c, t, d = draw(typed)
    if d is not None and rr_data_type(c, t) < 0:
        d = None
    return HostRR(None if c == 0 and draw(st.booleans()) else c, t, draw(texts()), draw(opt(u32)),
                  d)


@st.composite
def queries(draw: st.DrawFn) -> HostQuery:
    secs = [tuple(draw(st.lists(rrs(), max_size=2))) for _ in range(3)]
    counts = [len(s) if s else draw(st.sampled_from([None, 0])) for s in secs]
    return HostQuery(draw(opt(timevals)), draw(opt(timevals)), draw(opt(u16)), counts[0], counts[1],
                     counts[2], draw(opt(u8)), draw(opt(u8)), secs[0], secs[1], secs[2])


@st.composite
def records(draw: st.DrawFn) -> Host:
    qs = tuple(draw(st.lists(queries(), max_size=3)))
    return Host(
        list=draw(st.none() | st.just(LST)), cycle=draw(st.none() | st.just(CYC)),
        userid=draw(opt(u32)), src=draw(opt(ip_addrs)), dst=draw(ip_addrs),
        start=draw(opt(timevals)),
        flags=draw(opt(u16)), wait_timeout=draw(opt(u16)), stop=draw(opt(u8)),
        retries=draw(opt(u8)), qtype=draw(opt(u16)), qclass=draw(opt(u16)),
        qname=draw(opt(texts())), qcount=len(qs) if qs else draw(st.sampled_from([None, 0])),
        ecs=draw(opt(texts())), errmsg=draw(opt(texts())), queries=qs)


@settings(max_examples=300, deadline=None)
@given(records())
def test_roundtrip(rec: Host) -> None:
    out = [r for r in warts.decode(warts.encode([rec])) if isinstance(r, Host)]
    assert out == [rec]
    assert warts.to_json(rec) is not None
    assert warts.to_dump(rec) is not None


def rr(c: int, t: int, name: str, ttl: int, data: object) -> HostRR:
    return HostRR(c, t, name, ttl, data)  # type: ignore[arg-type]


A = Address.from_string
AN = (rr(1, 1, "www.example.com", 300, A("93.184.216.34")),
      rr(1, 5, "alias.example.com", 60, "www.example.com"),
      rr(1, 15, "example.com", 60, HostRRMx(10, "mail.example.com")),
      rr(1, 6, "example.com", 60, HostRRSoa("ns1.example.com", "admin.example.com", 2023, 7200,
                                            3600, 1209600, 300)),
      rr(1, 28, "v6.example.com", 60, A("2001:db8::1")))
AR = (rr(1, 2, "example.com", 5, "ns1.example.com"),)


def sample() -> Host:
    q0 = HostQuery(Timeval(1700000000, 50), None, 4241)
    q1 = HostQuery(Timeval(1700000000, 100), Timeval(1700000000, 2100), 4242, len(AN), None,
                   len(AR), an=AN, ar=AR)
    return Host(LST, CYC, 5, A("10.0.0.1"), A("10.0.0.53"), Timeval(1700000000, 5), 0x1, 5500,
                1, 2, 1, 1, "www.example.com", 2, None, None, (q0, q1))


def test_renderers_more_types() -> None:
    an = (rr(1, 16, "example.com", 60, HostRRTxt(2, ("v=spf1 -all", 'quote"d'))),
          rr(3, 16, "version.bind", 0, HostRRTxt(1, ("9.18",))),
          rr(1, 99, "odd.example.com", 5, None),
          rr(1, 65, "svc.example.com", 5, HostRRSvcb(1, ".", 1, (HostRRSvcbParam(1, b"h2"),))))
    ar = (rr(512, 41, "", 0, HostRROpt(2, (HostRROptElem(3, b"ns1"), HostRROptElem(10, b"")))),)
    q = HostQuery(Timeval(1700000000, 100), Timeval(1700000000, 2100), 1, len(an), None,
                  len(ar), 19, 0x91, an=an, ar=ar)
    rec = Host(dst=A("10.0.0.53"), start=Timeval(1700000000, 0), flags=6, qcount=1,
               ecs="1.2.3.0/24", queries=(q,))
    assert warts.to_json(rec) == (
        '{"type":"host", "version":"0.1", "dst":"10.0.0.53", "userid":0, "start":{"sec":'
        '1700000000,"usec":0}, "flags":["tcp", "nsid"], "wait":0, "retries":0, "stop":"NONE", '
        '"qclass":"0", "qtype":"0", "qcount":1, "ecs":"1.2.3.0/24", "queries":[{"id":1, '
        '"ancount":4, "nscount":0, "arcount":1, "tx":{"sec":1700000000,"usec":100}, "rx":'
        '{"sec":1700000000,"usec":2100}, "rcode":"BADMODEBADNAME", "flags":["CD","RD","0x80"]'
        ', "an":[{"class":"IN", "type":"TXT", "ttl":60, "name":"example.com", "strc":2, '
        '"strs":["v=spf1 -all", "quote\\"d"]},{"class":"CH", "type":"TXT", "ttl":0, "name":'
        '"version.bind", "strc":1, "strs":["9.18"]},{"class":"IN", "type":"99", "ttl":5, '
        '"name":"odd.example.com"},{"class":"IN", "type":"HTTPS", "ttl":5, "name":'
        '"svc.example.com"}], "ar":[{"class":"512", "type":"OPT", "ttl":0, "name":""}]}]}\n')
    dump = warts.to_dump(rec)
    assert dump is not None
    assert dump.endswith(
        " query: 0, id: 1, tx: 0.000100, rtt: 0.002000, an: 4, ns: 0, ar: 1\n"
        "  rcode: BADMODEBADNAME, flags: CD, RD, 0x80\n"
        '  an: example.com 60 IN TXT 2 "v=spf1 -all" "quote"d"\n'
        '  an: version.bind 0 CH TXT 1 "9.18"\n'
        "  an: odd.example.com 5 IN 99\n"
        "  an: svc.example.com 5 IN HTTPS 1 . 1 1:6832\n"
        "  ar:  0 512 OPT 2 3:6e7331 10\n\n")
    assert " flags: tcp nsid\n" in dump and " edns-client-subnet: 1.2.3.0/24\n" in dump


def test_reader_checks() -> None:
    # no destination
    with pytest.raises(warts.WartsError):
        warts.decode(warts.encode([Host(qcount=None)]))
    # RR data that does not match its class and type
    bad = Host(dst=A("10.0.0.1"), qcount=1, queries=(HostQuery(ancount=1, an=(
        HostRR(1, 1, "x", 1, "not an address"),)),))
    with pytest.raises(warts.WartsError):
        warts.encode([bad])
    ok = warts.encode([Host(dst=A("10.0.0.1"), qcount=1, queries=(HostQuery(ancount=1, an=(
        HostRR(1, 5, "x", 1, "cname"),)),))])
    body = bytearray(ok)
    i = body.index(b"cname\x00") - 2
    body[i:i + 2] = (1).to_bytes(2, "big")      # data type 1 (address) for a CNAME
    with pytest.raises(warts.WartsError):
        warts.decode(bytes(body))
    # an RR without a name
    with pytest.raises(warts.WartsError):
        warts.decode(warts.encode([Host(dst=A("10.0.0.1"), qcount=1, queries=(
            HostQuery(ancount=1, an=(HostRR(1, 1, None, 1, None),)),))]))


def test_truncated_raises() -> None:
    data = warts.encode([sample()])
    obj = data.index(b"\x12\x05\x00\x0e")
    for cut in range(obj + 9, len(data) - 1, 7):
        chopped = bytearray(data[:cut])
        chopped[obj + 4:obj + 8] = (cut - obj - 8).to_bytes(4, "big")
        with pytest.raises(warts.WartsError):
            warts.decode(bytes(chopped))


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("sc_wartsdump") is None, reason="needs Debian's scamper tools")
def test_debian_reads_what_we_write(tmp_path: Path) -> None:
    # 20211212 knows A/AAAA/CNAME/NS/PTR/MX/SOA data; its header lines differ,
    # its RR lines (for those types) do not, except that it printed no SOA data
    p = tmp_path / "host.warts"
    p.write_bytes(warts.encode([CycleStart(CYC), sample(), CycleStop(CYC, 1700000100)]))
    out = subprocess.run(["sc_wartsdump", str(p)], capture_output=True, text=True,
                         env={"TZ": "UTC"}, check=True).stdout
    ours = warts.to_dump(sample())
    assert ours is not None
    for line in ours.splitlines():
        if line.startswith(("  an:", "  ar:")) and " SOA " not in line:
            assert line in out.splitlines()
