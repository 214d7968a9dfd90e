"""owamp (type 0x11): round trips, reader defaults, renderers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import warts
from tests.strategies import ip_addrs, opt, texts, timevals, u8, u16, u32
from warts import Address, CycleInfo, ListInfo, Timeval
from warts.types.owamp import Owamp, OwampRx, OwampSched, OwampTx

LST = ListInfo(1, "default", "default")
CYC = CycleInfo(LST, 7, 1700000000, hostname="vm")


scheds = st.builds(OwampSched, opt(timevals), opt(u8))
rxs = st.builds(OwampRx, opt(timevals), opt(u16), opt(u8), opt(u8), opt(u8))


@st.composite
def txs(draw: st.DrawFn) -> OwampTx:
    rs = tuple(draw(st.lists(rxs, max_size=3)))
    return OwampTx(draw(opt(timevals)), draw(opt(timevals)), draw(opt(u32)), draw(opt(u16)),
                   draw(opt(u8)),
                   len(rs) if rs else draw(st.sampled_from([None, 0])), rs)


@st.composite
def records(draw: st.DrawFn) -> Owamp:
    schedc = draw(st.sampled_from([None, 0, 1, 2]))
    ss = tuple(draw(st.lists(scheds, min_size=1 if schedc is None else schedc,
                             max_size=1 if schedc is None else schedc)))
    ts = tuple(draw(st.lists(txs(), max_size=3)))
    return Owamp(
        list=draw(st.none() | st.just(LST)), cycle=draw(st.none() | st.just(CYC)),
        userid=draw(opt(u32)), src=draw(opt(ip_addrs)), dst=draw(opt(ip_addrs)),
        dport=draw(opt(u16)),
        flags=draw(opt(u16)), start=draw(opt(timevals)), startat=draw(opt(timevals)),
        wait_timeout=draw(opt(timevals)), schedc=schedc, attempts=draw(opt(u32)),
        pktsize=draw(opt(u16)), dir=draw(opt(u8)), dscp=draw(opt(u8)), ttl=draw(opt(u8)),
        hsrtt=draw(opt(u32)), result=draw(opt(u8)), errmsg=draw(opt(texts())),
        udp_sport=draw(opt(u16)), udp_dport=draw(opt(u16)),
        txc=len(ts) if ts else draw(st.sampled_from([None, 0])), sched=ss, txs=ts)


@settings(max_examples=200, deadline=None)
@given(records())
def test_roundtrip(rec: Owamp) -> None:
    out = [r for r in warts.decode(warts.encode([rec])) if isinstance(r, Owamp)]
    assert out == [rec]
    assert warts.to_json(rec) is not None
    assert warts.to_dump(rec) is not None


def sample() -> Owamp:
    a = Address.from_string
    return Owamp(
        LST, CYC, None, a("10.0.0.1"), a("10.0.0.2"), None, None, Timeval(1700000000, 5),
        Timeval(1700000001, 0), None, 2, None, None, None, None, None, 1500, 1, None, 9000,
        9001, 2, (OwampSched(Timeval(0, 100000)), OwampSched(Timeval(0, 250000), 1)),
        (OwampTx(Timeval(1700000001, 100000), Timeval(1700000001, 100010), None, 7, 0x02, 1,
                 (OwampRx(Timeval(1700000001, 101000), 9, 0x07, 46, 60),)),
         OwampTx(None, Timeval(1700000001, 350010), 1, None, 0x01)))


def test_renderers() -> None:
    rec = sample()
    assert warts.to_json(rec) == (
        '{"type":"owamp","dir":"tx","src":"10.0.0.1","dst":"10.0.0.2","dport":861,'
        '"start":{"sec":1700000000,"usec":5},"startat":{"sec":1700000001,"usec":0},'
        '"wait_timeout":{"sec":2,"usec":0},"hsrtt":{"sec":0,"usec":1500},"userid":0,'
        '"attempts":10,"pktsize":42,"dscp":0,"udp_sport":9000,"udp_dport":9001,'
        '"result":"done","sched":[{"value":{"sec":0,"usec":100000},"type":"fixed"},'
        '{"value":{"sec":0,"usec":250000},"type":"exponential"}],"txs":[{"stamp":'
        '{"sec":1700000001,"usec":100010},"seq":0,"errest":7,"rxc":1,"sent":1,"rxs":['
        '{"stamp":{"sec":1700000001,"usec":101000},"errest":9,"dscp":46,"ttl":60}]},'
        '{"stamp":{"sec":1700000001,"usec":350010},"seq":1,"rxc":0,"sent":0,"rxs":[]}]}\n')
    assert warts.to_dump(rec) == (
        "owamp from 10.0.0.1 to 10.0.0.2\n list id: 1, name: default\n cycle id: 7\n"
        " user-id: 0\n start: Tue Nov 14 22:13:20 2023 000005\n"
        " startat: Tue Nov 14 22:13:21 2023 000000\n"
        " wait-timeout: 2s, attempts: 10, dport: 861, pktsize: 42, dscp: 0, ttl: 255\n"
        " dir: tx, udp_sport: 9000, udp_dport: 9001\n hs-rtt: 0.001500\n result: done\n"
        " schedc: 2\n  0: fixed, value: 0.1s\n  1: exponential, value: 0.25s\n txc: 2\n"
        "  0: 0.100010, seq: 0, rxc: 1, sched: 0.100000\n    0.101000, ttl: 60, dscp: 46\n"
        "  1: 0.350010, seq: 1, rxc: 0\n")


def test_schedc_absent_means_one() -> None:
    rec = Owamp(sched=(OwampSched(Timeval(1, 0)),))
    assert warts.decode(warts.encode([rec])) == [rec]
    with pytest.raises(warts.WartsError):
        warts.encode([Owamp()])


def test_truncated_raises() -> None:
    data = warts.encode([sample()])
    obj = data.index(b"\x12\x05\x00\x11")
    for cut in range(obj + 9, len(data) - 1, 3):
        chopped = bytearray(data[:cut])
        chopped[obj + 4:obj + 8] = (cut - obj - 8).to_bytes(4, "big")
        with pytest.raises(warts.WartsError):
            warts.decode(bytes(chopped))
