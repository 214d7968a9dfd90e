"""http (type 0x0f): round trips, reader checks, dump."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import warts
from tests.strategies import ip_addrs, opt, texts, timevals, u8, u16, u32
from warts import Address, CycleInfo, ListInfo, Timeval
from warts.types.http import Http, HttpBuf

LST = ListInfo(1, "default", "default")
CYC = CycleInfo(LST, 7, 1700000000, hostname="vm")


@st.composite
def bufs(draw: st.DrawFn) -> HttpBuf:
    dt = draw(opt(st.tuples(st.integers(0, 1), st.integers(0, 0x7F))))
    data = draw(opt(st.binary(min_size=1, max_size=40)))
    return HttpBuf(None if dt is None else dt[0], None if dt is None else dt[1],
                   draw(opt(timevals)), None if data is None else len(data), data)


@st.composite
def records(draw: st.DrawFn) -> Http:
    bs = tuple(draw(st.lists(bufs(), max_size=4)))
    htype = draw(opt(st.integers(0, 1)))
    return Http(
        list=draw(st.none() | st.just(LST)), cycle=draw(st.none() | st.just(CYC)),
        userid=draw(opt(u32)), src=draw(opt(ip_addrs)), dst=draw(opt(ip_addrs)),
        sport=draw(opt(u16)),
        dport=draw(opt(u16)), start=draw(opt(timevals)), stop=draw(opt(u8)), type=htype,
        host=draw(opt(texts())), file=draw(opt(texts())),
        headers=draw(opt(st.lists(texts(), max_size=3).map(tuple))),
        bufc=len(bs) if bs else draw(st.sampled_from([None, 0])), hsrtt=draw(opt(u32)),
        flags=draw(opt(u32)), maxtime=draw(opt(timevals)), errmsg=draw(opt(texts())),
        ech_status=draw(opt(u8)), ech_outer_sni=draw(opt(texts())), bufs=bs,
        ech_config_list=draw(opt(st.binary(min_size=1, max_size=20))),
        ech_retry_config=draw(opt(st.binary(min_size=1, max_size=20))))


@settings(max_examples=200, deadline=None)
@given(records())
def test_roundtrip(rec: Http) -> None:
    out = [r for r in warts.decode(warts.encode([rec])) if isinstance(r, Http)]
    assert out == [rec]
    assert warts.to_dump(rec) is not None
    assert warts.to_json(rec) is None and warts.to_text(rec) is None


def sample() -> Http:
    a = Address.from_string
    hdr = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    return Http(
        LST, CYC, None, a("10.0.0.1"), a("10.0.0.2"), 40000, 8080, Timeval(1700000000, 0), 3, 1,
        "www.example.com", "/index.html", ("User-Agent: x",), 3, 1500, 3,
        Timeval(60, 0), None, 3, "outer.example", (
            HttpBuf(1, 1, Timeval(1700000000, 2000), 4, b"GET "),
            HttpBuf(0, 1, Timeval(1700000000, 4000), len(hdr), hdr),
            HttpBuf(0, 0, Timeval(1700000000, 4100), 5, b"hi\x00\x01!")),
        b"\x00\x01\x02", None)


def test_dump() -> None:
    rec = sample()
    assert rec.status_code() == 200
    assert warts.to_dump(rec) == (
        "http from 10.0.0.1 to 10.0.0.2\n list id: 1, name: default\n cycle id: 7\n"
        " user-id: 0\n start: Tue Nov 14 22:13:20 2023 000000\n"
        " sport: 40000, dport: 8080\n flags: 0x3 ( insecure grease )\n"
        " maxtime: 60s, hs-rtt: 0.001500, stop: done, http-status-code: 200\n"
        " ech-status: success, ech-outer-sni: outer.example\n ech-config-list: AAEC\n"
        " url: http://www.example.com:8080/index.html\n headers:\n  User-Agent: x\n"
        " exchange:\n"
        "  0.002000 tx hdr:4     47455420                          |GET |\n"
        "  0.004000 rx hdr:38    485454502f312e3120323030204f4b0d  |HTTP/1.1 200 OK.|\n"
        "  0.004100 rx data:5    6869000121                        |hi..!|\n")


def test_dport_defaults() -> None:
    assert Http(type=1).dport_value == 80
    assert Http(type=0).dport_value == 443
    assert Http().dport_value == 443
    # a record of an unknown type must carry its port
    with pytest.raises(warts.WartsError):
        warts.decode(warts.encode([Http(type=7)]))
    assert warts.decode(warts.encode([Http(type=7, dport=1)])) == [Http(type=7, dport=1)]


def test_status_code_needs_status_line() -> None:
    rec = Http(bufc=1, bufs=(HttpBuf(0, 1, None, 9, b"HTTP/1.1\r"),))
    assert rec.status_code() is None


def test_truncated_raises() -> None:
    data = warts.encode([Http(type=1, bufc=1, bufs=(HttpBuf(0, 1, Timeval(1, 1), 3, b"abc"),))])
    obj = data.index(b"\x12\x05\x00\x0f")
    for cut in range(obj + 9, len(data) - 1):
        chopped = bytearray(data[:cut])
        chopped[obj + 4:obj + 8] = (cut - obj - 8).to_bytes(4, "big")
        with pytest.raises(warts.WartsError):
            warts.decode(bytes(chopped))
