"""sniff (type 0x0d): round trips, reader checks, dump."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import warts
from tests.strategies import ip_addrs, opt, texts, timevals, u8, u16, u32
from warts import Address, CycleInfo, CycleStart, CycleStop, ListInfo, Timeval
from warts.types.sniff import Sniff, SniffPkt

LST = ListInfo(1, "default", "default")
CYC = CycleInfo(LST, 7, 1700000000, hostname="vm")


pkts = st.binary(min_size=1, max_size=70).flatmap(
    lambda d: st.builds(SniffPkt, opt(timevals), st.just(len(d)), st.just(d)))


@st.composite
def records(draw: st.DrawFn) -> Sniff:
    ps = tuple(draw(st.lists(pkts, max_size=4)))
    return Sniff(
        list=draw(st.none() | st.just(LST)), cycle=draw(st.none() | st.just(CYC)),
        userid=draw(opt(u32)), src=draw(ip_addrs), start=draw(opt(timevals)),
        finish=draw(opt(timevals)),
        stop_reason=draw(opt(u8)), limit_pktc=draw(opt(u32)), limit_time=draw(opt(u16)),
        pktc=len(ps) if ps else draw(st.sampled_from([None, 0])), icmpid=draw(opt(u16)),
        errmsg=draw(opt(texts())), pkts=ps)


@settings(max_examples=200, deadline=None)
@given(records())
def test_roundtrip(rec: Sniff) -> None:
    out = [r for r in warts.decode(warts.encode([rec])) if isinstance(r, Sniff)]
    assert out == [rec]
    assert warts.to_dump(rec) is not None
    assert warts.to_json(rec) is None and warts.to_text(rec) is None


def sample() -> Sniff:
    a = Address.from_string
    return Sniff(LST, CYC, 1, a("10.0.0.1"), Timeval(1700000000, 5), Timeval(1700000010, 7),
                 3, 10, 60, 2, 0x1234, None,
                 (SniffPkt(Timeval(1700000001, 3), 37, bytes(range(0x45, 0x45 + 37))),
                  SniffPkt(Timeval(1700000002, 999999), 48, b"\x60" + bytes(47))))


def test_dump() -> None:
    assert warts.to_dump(sample()) == (
        "sniff 10.0.0.1\n list id: 1, name: default\n cycle id: 7\n user-id: 1\n"
        " start: Tue Nov 14 22:13:20 2023 000005\n finish: Tue Nov 14 22:13:30 2023 000007\n"
        " limit-pktc: 10, limit-time: 60s, icmp-id 4660\n result: limit-pktc, pktc: 2\n"
        "   0 0.999998 81.82.83.84 -> 85.86.87.88\n"
        "     0x0000:  4546 4748 494a 4b4c 4d4e 4f50 5152 5354\n"
        "     0x0010:  5556 5758 595a 5b5c 5d5e 5f60 6162 6364\n"
        "     0x0020:  6566 6768 69\n"
        "   1 2.999994 :: -> ::\n"
        "     0x0000:  6000 0000 0000 0000 0000 0000 0000 0000\n"
        "     0x0010:  0000 0000 0000 0000 0000 0000 0000 0000\n"
        "     0x0020:  0000 0000 0000 0000 0000 0000 0000 0000\n")


def test_reader_checks() -> None:
    # a record without a source address is refused
    with pytest.raises(warts.WartsError):
        warts.decode(warts.encode([Sniff(userid=1)]))
    # a packet without data is refused
    bad = Sniff(src=Address.from_string("10.0.0.1"), pktc=1,
                pkts=(SniffPkt(Timeval(1, 1), 0, None),))
    with pytest.raises(warts.WartsError):
        warts.decode(warts.encode([bad]))
    with pytest.raises(warts.WartsError):
        warts.encode([Sniff(src=Address.from_string("10.0.0.1"), pktc=2)])


def test_truncated_raises() -> None:
    data = warts.encode([sample()])
    obj = data.index(b"\x12\x05\x00\x0d")
    for cut in range(obj + 9, len(data) - 1, 5):
        chopped = bytearray(data[:cut])
        chopped[obj + 4:obj + 8] = (cut - obj - 8).to_bytes(4, "big")
        with pytest.raises(warts.WartsError):
            warts.decode(bytes(chopped))


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("sc_wartsdump") is None, reason="needs Debian's scamper tools")
def test_debian_dump_matches(tmp_path: Path) -> None:
    p = tmp_path / "sniff.warts"
    p.write_bytes(warts.encode([CycleStart(CYC), sample(), CycleStop(CYC, 1700000100)]))
    out = subprocess.run(["sc_wartsdump", str(p)], capture_output=True, text=True,
                         env={"TZ": "UTC"}, check=True).stdout
    # 20211212 printed the time limit as a bare number of seconds
    out = re.sub(r"limit-time: (\d+),", r"limit-time: \1s,", out)
    ours = warts.to_dump(sample())
    assert ours is not None and ours in out
