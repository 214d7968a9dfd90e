"""udpprobe (type 0x10): round trips, reader checks, renderers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import warts
from tests.strategies import ip_addrs, opt, texts, timevals, u8, u16, u32
from warts import Address, CycleInfo, ListInfo, Timeval
from warts.types.udpprobe import Udpprobe, UdpprobeProbe, UdpprobeReply

LST = ListInfo(1, "default", "default", "mon")
CYC = CycleInfo(LST, 7, 1700000000, hostname="vm")


@st.composite
def replies(draw: st.DrawFn) -> UdpprobeReply:
    # scamper writes data only when there is some (an empty array at the end
    # of an object is refused by its reader)
    data = draw(opt(st.binary(min_size=1, max_size=40)))
    length = None if data is None else len(data)
    return UdpprobeReply(draw(opt(timevals)), length, data,
                         draw(opt(st.sampled_from(["eth0", "lo"]))))


@st.composite
def probes(draw: st.DrawFn) -> UdpprobeProbe:
    rs = tuple(draw(st.lists(replies(), max_size=3)))
    return UdpprobeProbe(draw(opt(timevals)), draw(opt(u16)),
                         len(rs) if rs else draw(st.sampled_from([None, 0])), rs)


@st.composite
def records(draw: st.DrawFn) -> Udpprobe:
    sent = draw(st.sampled_from([None, 0, 1, 2, 3]))
    n = 1 if sent is None else sent
    p0 = tuple(draw(st.lists(replies(), max_size=3))) if n > 0 else ()
    p0c = len(p0) if p0 else draw(st.sampled_from([None, 0]))
    ps = tuple(draw(probes()) for _ in range(max(0, n - 1)))
    data = draw(opt(st.binary(min_size=1, max_size=30)))
    return Udpprobe(
        list=draw(st.none() | st.just(LST)), cycle=draw(st.none() | st.just(CYC)),
        userid=draw(opt(u32)), src=draw(opt(ip_addrs)), dst=draw(opt(ip_addrs)),
        p0_sport=draw(opt(u16)), dport=draw(opt(u16)), start=draw(opt(timevals)),
        wait_timeout=draw(opt(u32)), flags=draw(opt(u8)), stop=draw(opt(u8)),
        len=None if data is None else len(data), data=data, p0_replyc=p0c,
        probe_count=draw(opt(u8)), probe_sent=sent, stop_count=draw(opt(u8)),
        sport=draw(opt(u16)), wait_probe=draw(opt(u32)), errmsg=draw(opt(texts())),
        p0_replies=p0, probes=ps)


@settings(max_examples=200, deadline=None)
@given(records())
def test_roundtrip(rec: Udpprobe) -> None:
    data = warts.encode([rec])
    out = [r for r in warts.decode(data) if isinstance(r, Udpprobe)]
    assert out == [rec]
    assert warts.to_json(rec) is not None
    assert warts.to_dump(rec) is not None


def sample() -> Udpprobe:
    a = Address.from_string
    return Udpprobe(
        LST, CYC, None, a("10.0.0.1"), a("10.0.0.2"), 5000, 53, Timeval(1700000000, 0),
        2000000, 1, 1, 2, b"\x12\x34", 1, 3, 2, 1, 5000, 1000000, None,
        (UdpprobeReply(Timeval(1700000000, 1500), 3, b"\xab\xcd\xef", "eth0"),),
        (UdpprobeProbe(Timeval(1700000001, 0), 5001, None, ()),))


def test_renderers() -> None:
    rec = sample()
    assert warts.to_json(rec) == (
        '{"type":"udpprobe", "version":"0.1", "src":"10.0.0.1", "dst":"10.0.0.2", '
        '"userid":0, "start":{"sec":1700000000, "usec":0}, "sport":5000, "dport":53, '
        '"wait_timeout":{"sec":2, "usec":0}, "flags":["exitfirst"], "stop_reason":"done", '
        '"data":"1234", "len":2, "probe_count":3, "probe_sent":2, "stop_count":1,'
        '"monitor":"mon", "probes":[{"tx":{"sec":1700000000, "usec":0}, "sport":5000, '
        '"replyc":1, "replies":[{"rx":{"sec":1700000000, "usec":1500}, "rtt":{"sec":0, '
        '"usec":1500}, "len":3, "data":"abcdef", "ifname":"eth0"}]},{"tx":{"sec":1700000001, '
        '"usec":0}, "sport":5001, "replyc":0, "replies":[]}]}\n')
    assert warts.to_dump(rec) == (
        "udpprobe from 10.0.0.1 to 10.0.0.2\n list id: 1, name: default, monitor: mon\n"
        " cycle id: 7\n user-id: 0\n start: Tue Nov 14 22:13:20 2023 000000\n"
        " wait-timeout: 2s, wait-probe: 1s, sport: 5000, dport: 53\n payload: (2) 1234\n"
        " probe-count: 3, probe-sent: 2, stop-reason: done\n"
        "  0.000000 probe: 0, sport: 5000, replyc: 1\n"
        "  0.001500 reply: 0, ifname: eth0, len: 3\n           abcdef\n"
        "  1.000000 probe: 1, sport: 5001, replyc: 0\n")


def test_reader_defaults() -> None:
    rec = Udpprobe(dst=Address.from_string("10.0.0.2"))
    assert rec.sent == 1 and rec.count == 1
    assert len(rec.all_probes()) == 1
    # probe_sent 0: no probe 0 and no replies read even with p0_replyc set
    data = warts.encode([Udpprobe(probe_sent=0, p0_replyc=2)])
    (got,) = warts.decode(data)
    assert got.p0_replies == () and got.all_probes() == ()


def test_json_payload_truncated_like_scamper() -> None:
    rec = Udpprobe(len=4000, data=bytes(4000))
    line = warts.to_json(rec)
    assert line is not None
    head = line.split(', "probes":[')[0]
    assert len(head) == 4095


def test_count_mismatch_refused() -> None:
    with pytest.raises(warts.WartsError):
        warts.encode([Udpprobe(probe_sent=3)])


def test_truncated_raises() -> None:
    data = warts.encode([sample()])
    obj = data.index(b"\x12\x05\x00\x10")
    for cut in range(obj + 9, len(data) - 1, 2):
        chopped = bytearray(data[:cut])
        chopped[obj + 4:obj + 8] = (cut - obj - 8).to_bytes(4, "big")
        with pytest.raises(warts.WartsError):
            warts.decode(bytes(chopped))
