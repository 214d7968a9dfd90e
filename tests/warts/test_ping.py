"""The ping record (type 0x07): round trips, reader defaults, writer rules,
renderer quirks and bad input."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import warts
from tests.conftest import DATA
from tests.strategies import ip_addrs, ipv4s, list_infos, opt, texts, u8, u16, u32, wire_timevals
from warts.address import Address
from warts.file import ReadState, decode_object
from warts.listcycle import CycleInfo, ListInfo
from warts.registry import OBJ_PING
from warts.types.ping import (
    Ping,
    PingFlag,
    PingMethod,
    PingProbe,
    PingReply,
    PingReplyFlag,
    PingReplyTSReply,
    PingReplyV4TS,
    PingStop,
    reply_groups,
    reply_ipid32,
    reply_proto,
)
from warts.types.ping_codec import (
    PING_PARAMS,
    REPLY_PARAMS,
    _read_ping_values,
)
from warts.wire import Cursor, Timeval, flags_bytes

V4 = Address.from_string("192.0.2.1")
V4B = Address.from_string("192.0.2.9")
V6 = Address.from_string("2001:db8::1")
V6B = Address.from_string("2001:db8::9")

# --------------------------------------------------------------------------
# strategies

@st.composite
def v4ts(draw: st.DrawFn) -> PingReplyV4TS:
    tss = tuple(draw(st.lists(u32, max_size=5)))
    ips = draw(st.booleans()) and tss
    return PingReplyV4TS(tss, tuple(draw(ipv4s) for _ in tss) if ips else None)


@st.composite
def wire_replies(draw: st.DrawFn, ping_sent: int) -> PingReply:
    """Any reply the reader accepts, each parameter present or not."""
    icmp = draw(opt(st.tuples(u8, u8)))
    return PingReply(
        flags=draw(opt(u8)), ttl=draw(opt(u8)), size=draw(opt(u16)),
        icmp_type=icmp[0] if icmp else None, icmp_code=icmp[1] if icmp else None,
        rtt=draw(opt(u32)), probe_id=draw(opt(st.integers(0, ping_sent - 1))),
        reply_ipid=draw(opt(u16)), probe_ipid=draw(opt(u16)), proto=draw(opt(u8)),
        tcp_flags=draw(opt(u8)), addr=draw(ip_addrs),
        v4rr=draw(opt(st.lists(ip_addrs, min_size=1, max_size=9).map(tuple))),
        v4ts=draw(opt(v4ts())), ipid32=draw(opt(u32)), probe_tx=draw(opt(wire_timevals)),
        tsreply=draw(opt(st.builds(PingReplyTSReply, u32, u32, u32))),
        probe_sport=draw(opt(u16)), tos=draw(opt(u8)), ifname=draw(opt(texts(12))),
        icmp_nhmtu=draw(opt(u16)))


# (a list object needs a name of at least one character: scamper's reader,
# and ours, reject one shorter than 11 bytes)


@st.composite
def wire_pings(draw: st.DrawFn) -> Ping:
    """Any ping the reader accepts, each parameter present or not."""
    ping_sent = draw(opt(st.integers(0, 40)))
    replies: tuple[PingReply, ...] = ()
    if ping_sent:
        replies = tuple(draw(st.lists(wire_replies(ping_sent), max_size=6)))
    data = draw(opt(st.binary(max_size=40)))
    datalen = len(data) if data else draw(opt(st.just(0)))
    if data is None and draw(st.booleans()):
        datalen = draw(opt(u16))
    lst = draw(opt(list_infos))
    cycle = None
    if draw(st.booleans()):
        cycle = CycleInfo(draw(list_infos), draw(u32), draw(u32), draw(opt(u32)),
                          draw(opt(texts(12))))
    return Ping(
        list=lst, cycle=cycle, start=draw(opt(wire_timevals)), stop_reason=draw(opt(u8)),
        stop_data=draw(opt(u8)), datalen=datalen, data=data, attempts=draw(opt(u16)),
        size=draw(opt(u16)), wait_probe_sec=draw(opt(u8)), ttl=draw(opt(u8)),
        stop_count=draw(opt(u16)), ping_sent=ping_sent, method=draw(opt(u8)),
        sport=draw(opt(u16)), dport=draw(opt(u16)), userid=draw(opt(u32)),
        src=draw(opt(ip_addrs)), dst=draw(ip_addrs), flags8=draw(opt(u8)), tos=draw(opt(u8)),
        tsps=draw(opt(st.lists(ipv4s, min_size=1, max_size=4).map(tuple))),
        icmpsum=draw(opt(u16)), pmtu=draw(opt(u16)), wait_timeout_sec=draw(opt(u8)),
        wait_probe_usec=draw(opt(u32)), tcpack=draw(opt(u32)), flags32=draw(opt(u32)),
        tcpseq=draw(opt(u32)), rtr=draw(opt(ip_addrs)), wait_timeout_usec=draw(opt(u32)),
        errmsg=draw(opt(texts(12))), replies=replies)


@st.composite
def built_pings(draw: st.DrawFn) -> Ping:
    """A ping as the daemon builds it (Ping.build)."""
    dst = draw(st.sampled_from([V4, V6]))
    method = draw(st.sampled_from(list(PingMethod)))
    ping_sent = draw(st.integers(0, 10))
    probes = []
    for pid in sorted(draw(st.sets(st.integers(0, max(ping_sent - 1, 0)), max_size=ping_sent))):
        replies = []
        for _ in range(draw(st.integers(1, 3))):
            icmp = draw(st.booleans())
            replies.append(PingReply(
                addr=draw(st.sampled_from([dst, V4B, V6B])),
                flags=draw(st.integers(0, 0x3F)), ttl=draw(u8), size=draw(u16),
                rtt=draw(st.integers(0, 5_000_000)),
                proto=None if icmp else draw(st.sampled_from([1, 6, 17, 58])),
                icmp_type=draw(st.sampled_from([0, 2, 3, 11, 14, 129])),
                icmp_code=draw(st.integers(0, 4)), tcp_flags=draw(u8), ipid32=draw(u32),
                tos=draw(u8), ifname=draw(opt(st.sampled_from(["eth0", "e-r1"]))),
                icmp_nhmtu=draw(u16)))
        probes.append(PingProbe(pid, draw(st.sampled_from([Timeval(0, 0), Timeval(7, 5)])),
                                draw(u16), draw(st.sampled_from([0, 4000])), 0,
                                tuple(replies)))
    return Ping.build(
        dst=dst, start=draw(wire_timevals), ping_sent=ping_sent, probes=probes,
        src=draw(opt(st.just(V4 if dst.is_ipv4 else V6))), method=method,
        stop_reason=draw(st.sampled_from(list(PingStop))), stop_data=draw(u8),
        data=draw(st.binary(max_size=8)), wait_probe=Timeval(draw(u8), draw(u32)),
        wait_timeout=Timeval(draw(u8), draw(u32)), attempts=draw(u16), size=draw(u16),
        ttl=draw(u8), tos=draw(u8), sport=draw(u16), dport=draw(u16),
        icmpsum=draw(u16), tcpseq=draw(u32), tcpack=draw(u32), stop_count=draw(u16),
        pmtu=draw(u16), flags=draw(st.integers(0, 0xFFF)), userid=draw(u32),
        errmsg=draw(opt(texts(12))))


def roundtrip(rec: Ping) -> Ping:
    out = warts.decode(warts.encode([rec]))
    assert isinstance(out[-1], Ping)
    return out[-1]


# --------------------------------------------------------------------------
# round trips


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wire_pings())
def test_any_ping_round_trips(p: Ping) -> None:
    assert roundtrip(p) == p
    for render in (warts.to_json, warts.to_text, warts.to_dump):
        s = render(p)
        assert s is not None and s.endswith("\n")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(built_pings())
def test_built_ping_round_trips(p: Ping) -> None:
    assert roundtrip(p) == p
    line = warts.to_json(p)
    assert line is not None
    json.loads(line)  # no payload cut, no odd names: the line is valid JSON


@settings(max_examples=200, deadline=None)
@given(built_pings())
def test_builder_follows_20260420_writer_rules(p: Ping) -> None:
    assert p.src_gid is None and p.dst_gid is None
    assert p.stop_count != 0 and p.method != 0 and p.userid != 0 and p.tos != 0
    assert p.datalen != 0 and p.sport != 0 and p.dport != 0 and p.pmtu != 0
    assert p.flags8 != 0 and p.tcpack != 0 and p.tcpseq != 0
    assert p.wait_probe_usec != 0 and p.wait_timeout_usec != 0
    assert p.wait_timeout_sec is None or p.wait_timeout_sec != p.wait_probe_sec
    assert p.flags32 is None or p.flags32 & ~0xFF
    assert p.icmpsum is None or (p.icmpsum and p.flags & PingFlag.ICMPSUM)
    assert p.start is not None and p.ping_sent is not None and p.attempts is not None
    dst_v4 = p.dst is not None and p.dst.is_ipv4
    for r in p.replies:
        flags = r.flags or 0
        assert r.flags != 0 and r.tos != 0 and r.probe_sport != 0
        assert r.size is not None and r.rtt is not None and r.probe_id is not None
        assert (r.ttl is not None) == bool(flags & PingReplyFlag.REPLY_TTL)
        assert (r.reply_ipid is not None) == (dst_v4 and bool(flags & PingReplyFlag.REPLY_IPID))
        assert (r.probe_ipid is not None) == (dst_v4 and bool(flags & PingReplyFlag.PROBE_IPID))
        assert (r.ipid32 is not None) == (not dst_v4 and bool(flags & PingReplyFlag.REPLY_IPID))
        assert (r.proto is None) == (p.method in (None, PingMethod.ICMP_TIME))
        assert r.probe_tx is None or r.probe_tx.sec != 0


def test_layout_tables_agree() -> None:
    """The parameter tables name the records' fields, flag by flag."""
    ping_fields = [f.name for f in dataclasses.fields(Ping)]
    assert list(PING_PARAMS.names) == ping_fields[:34]
    want = {2: "flags", 3: "ttl", 4: "size", 5: "icmp_type", 6: "rtt", 7: "probe_id",
            8: "reply_ipid", 9: "probe_ipid", 10: "proto", 11: "tcp_flags", 1: "addr",
            12: "addr", 13: "v4rr", 14: "v4ts", 15: "ipid32", 16: "probe_tx",
            17: "tsreply", 18: "probe_sport", 19: "tos", 20: "ifname", 21: "icmp_nhmtu"}
    assert {p.flag: p.name.split(",")[0] for p in REPLY_PARAMS.params} == want


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wire_pings().map(lambda p: dataclasses.replace(p, list=None, cycle=None)))
def test_compiled_reader_matches_param_table(p: Ping) -> None:
    body = body_of(p)
    vals = PING_PARAMS.read(Cursor(body, state=ReadState()))
    cur = Cursor(body, state=ReadState())
    compiled = _read_ping_values(cur)
    assert compiled[:34] == [vals.get(name) for name in PING_PARAMS.names]


# --------------------------------------------------------------------------
# reader defaults


def test_reader_defaults() -> None:
    p = Ping(dst=V4, wait_probe_sec=3, wait_probe_usec=250000)
    assert p.wait_timeout == Timeval(3, 0)  # flag 27 absent: the wait's seconds
    assert Ping(dst=V4, wait_probe_sec=3, wait_timeout_sec=0).wait_timeout == Timeval(0, 0)
    assert p.flags == 0
    assert Ping(dst=V4, flags8=0x21).flags == 0x21
    assert Ping(dst=V4, flags8=0x21, flags32=0x800).flags == 0x800  # flag 30 wins
    r = PingReply(addr=V4, reply_ipid=7, ipid32=0)
    assert reply_proto(r, V4) == 1 and reply_proto(r, V6) == 58
    assert reply_ipid32(r, V4) == 7  # IPv4: flag 8 overrides flag 15
    assert reply_ipid32(r, V6) == 0
    assert reply_proto(PingReply(addr=V4, proto=17), V4) == 17


def test_reply_proto_default_in_renderers() -> None:
    p = Ping(dst=V6, ping_sent=1, replies=(
        PingReply(addr=V6, size=64, rtt=1500, icmp_type=129, icmp_code=0),))
    out = warts.to_json(p)
    assert out is not None
    assert '"reply_proto":"icmp"' in out and '"icmp_type":129' in out
    assert '"replies":1,"loss":0,"min":1.500' in out


def v20211212(name: str) -> list[object]:
    return warts.decode((DATA / "v20211212" / f"{name}.warts").read_bytes())


def test_20211212_writer_quirks_are_kept() -> None:
    p4 = next(r for r in v20211212("ping_icmp-echo_v4") if isinstance(r, Ping))
    assert p4.stop_count == 0  # always written by 20211212, kept as 0 not None
    assert all(r.ipid32 == 0 for r in p4.replies)  # flag 15 for every v4 reply
    p6 = next(r for r in v20211212("ping_icmp-echo_v6") if isinstance(r, Ping))
    assert all(r.reply_ipid == 0 and r.probe_ipid == 0 for r in p6.replies)  # flags 8, 9
    for p in (p4, p6):
        assert roundtrip(p) == p


# --------------------------------------------------------------------------
# renderer details


def test_stats_float_loss_and_dups_and_errors() -> None:
    # 40 sent, 37 answered: (float)3/40 prints 0.08 (a double would give 0.07)
    replies = [PingReply(addr=V4, probe_id=i, rtt=1000 + i, icmp_type=0, icmp_code=0)
               for i in range(37)]
    # a duplicate for probe 0 and an error reply for probe 1, out of file order
    replies.insert(0, PingReply(addr=V4B, probe_id=1, rtt=5, icmp_type=11, icmp_code=0))
    replies.append(PingReply(addr=V4, probe_id=0, rtt=3000, icmp_type=0, icmp_code=0))
    p = Ping(dst=V4, ping_sent=40, replies=tuple(replies))
    assert p.stats().nreplies == 37 and p.stats().ndups == 1 and p.stats().nerrs == 1
    out = warts.to_json(p)
    assert out is not None
    assert out.endswith(',"statistics":{"replies":37,"loss":0.08,"min":1.000,'
                        '"max":3.000,"avg":1.070,"stddev":0.317,"ndups":1,"nerrs":1}}\n')
    doc = json.loads(out)
    seqs = [r["seq"] for r in doc["responses"]]
    assert seqs == sorted(seqs) and seqs[:3] == [0, 0, 1]
    text = warts.to_text(p)
    assert text is not None and "+1 duplicates, +1 errors, 7% packet loss\n" in text
    groups = reply_groups(p)
    assert [len(g) for g in groups[:2]] == [2, 2]


def test_json_tsps_without_commas_and_rr() -> None:
    p = Ping(dst=V4, ping_sent=1, flags8=PingFlag.TSANDADDR, tsps=(V4, V4B),
             replies=(PingReply(addr=V4, v4rr=(V4B, V4), v4ts=PingReplyV4TS((1, 2), (V4, V4B))),))
    out = warts.to_json(p)
    assert out is not None
    assert '"probe_tsps":["192.0.2.1""192.0.2.9"]' in out
    assert '"RR":["192.0.2.9","192.0.2.1"]' in out
    assert '"tsandaddr":[{"ts":1,"ip":"192.0.2.1"},{"ts":2,"ip":"192.0.2.9"}]' in out
    dump = warts.to_dump(p)
    assert dump is not None and " timestamp-prespec: 192.0.2.1 192.0.2.9\n" in dump
    assert "  192.0.2.1       0x00000001    192.0.2.9       0x00000002\n" in dump


def test_json_header_cut_at_1023_characters() -> None:
    p = Ping(dst=V4, datalen=700, data=bytes(range(256)) * 2 + bytes(188),
             flags8=PingFlag.PAYLOAD)
    out = warts.to_json(p)
    assert out is not None
    head = out[:out.index(',"responses":[')]
    assert len(head) == 1023  # a 1024-byte buffer
    hexpart = head[head.index('"payload":"') + 11:]
    digits = len(hexpart) - len(hexpart.lstrip("0123456789abcdef"))
    assert digits % 2 == 0 and hexpart.startswith("000102")  # whole bytes only


def test_text_and_dump_tcp_and_tsreply() -> None:
    p = Ping(dst=V4, ping_sent=2, method=PingMethod.TCP_SYN, sport=1000, dport=80, replies=(
        PingReply(addr=V4, probe_id=0, proto=6, tcp_flags=0x12, ttl=60, rtt=2500, size=44,
                  flags=1),
        PingReply(addr=V4, probe_id=1, proto=1, icmp_type=14, icmp_code=0, ttl=60, rtt=10,
                  size=40, tsreply=PingReplyTSReply(3_600_000, 61_001, 86_399_999)),
    ))
    text = warts.to_text(p)
    assert text is not None
    assert "44 bytes from 192.0.2.1, seq=0 tcp=open ttl=60 time=2.500 ms\n" in text
    assert ("40 bytes from 192.0.2.1, seq=1 ttl=60 time=0.010 ms tso=01:00:00.000 "
            "tsr=00:01:01.001 tst=23:59:59.999\n") in text
    dump = warts.to_dump(p)
    assert dump is not None
    assert " method: tcp-syn, sport: 1000, dport: 80, seq: 0, ack: 0\n" in dump
    assert " tcp flags: 12 ( syn ack )\n" in dump


def test_dump_wait_formats() -> None:
    p = Ping(dst=V4, wait_probe_sec=1, wait_probe_usec=500000, wait_timeout_sec=2,
             wait_timeout_usec=1250)
    dump = warts.to_dump(p)
    assert dump is not None and ", wait: 1.5s, timeout: 2.00125s," in dump


# --------------------------------------------------------------------------
# bad input and unknown parameters


def body_of(rec: Ping) -> bytes:
    return warts.encode([rec])[8:]


def decode_body(body: bytes) -> Ping:
    out = decode_object(OBJ_PING, body, ReadState())
    assert isinstance(out, Ping)
    return out


def add_unknown_param(block: bytes, flag: int, value: bytes) -> bytes:
    """Add parameter ``flag`` (above the known ones) to a flags+params block
    at the start of ``block``."""
    flags = 0
    shift = pos = 0
    while True:
        b = block[pos]
        pos += 1
        flags |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    plen = struct.unpack_from(">H", block, pos)[0]
    params = block[pos + 2:pos + 2 + plen]
    rest = block[pos + 2 + plen:]
    return (flags_bytes(flags | 1 << (flag - 1)) + struct.pack(">H", plen + len(value))
            + params + value + rest)


def test_unknown_params_are_skipped() -> None:
    reply = PingReply(addr=V4, probe_id=0, rtt=5, size=84)
    p = Ping(dst=V4, ping_sent=1, errmsg="x", replies=(reply,))
    body = body_of(p)
    more = add_unknown_param(body, 40, b"\xde\xad\xbe\xef")
    assert decode_body(more) == p
    # and an unknown reply parameter (flag 22) in the one reply
    head = body_of(Ping(dst=V4, ping_sent=1, errmsg="x"))[:-2]
    reply_block = body[len(head) + 2:]
    patched = head + b"\x00\x01" + add_unknown_param(reply_block, 22, b"\x01\x02")
    assert decode_body(patched) == p


def test_truncation_raises_warts_error() -> None:
    p = Ping(dst=V4, src=V6, ping_sent=2, errmsg="boom", tsps=(V4,), replies=(
        PingReply(addr=V4, probe_id=1, rtt=5, ifname="eth0", v4rr=(V4B,),
                  v4ts=PingReplyV4TS((1,), (V4,)), tsreply=PingReplyTSReply(1, 2, 3)),))
    body = body_of(p)
    for cut in range(len(body)):
        with pytest.raises(warts.WartsError):
            decode_body(body[:cut])
    data = warts.encode([p])
    with pytest.raises(warts.WartsError):
        warts.decode(data[:-3])


@pytest.mark.parametrize("rec, message", [
    (Ping(dst=V4, ping_sent=1, replies=(PingReply(addr=V4, probe_id=1),)), "probe 1 of 1"),
    (Ping(dst=V4, replies=(PingReply(addr=V4),)), "probe 0 of 0"),
])
def test_probe_id_must_be_below_ping_sent(rec: Ping, message: str) -> None:
    with pytest.raises(warts.WartsError, match=message):
        warts.encode([rec])
    ok = Ping(dst=V4, ping_sent=5, replies=(PingReply(addr=V4, probe_id=4),))
    body = body_of(ok)
    sent_at = body.index(b"\x00\x05")  # flag 15, the only u16 of value 5
    bad = body[:sent_at] + b"\x00\x04" + body[sent_at + 2:]
    with pytest.raises(warts.WartsError, match="probe 4 of 4"):
        decode_body(bad)


def test_rejected_layouts() -> None:
    with pytest.raises(warts.WartsError, match="destination"):
        decode_body(b"\x00\x00\x00")  # no params at all, no replies
    with pytest.raises(warts.WartsError, match="destination"):
        warts.encode([Ping()])
    with pytest.raises(warts.WartsError):
        warts.encode([Ping(dst=V4, ping_sent=1, replies=(PingReply(probe_id=0),))])
    # record route with no addresses: scamper cannot allocate it
    body = body_of(Ping(dst=V4, ping_sent=1, replies=(PingReply(addr=V4, v4rr=(V4,)),)))
    bad = body.replace(b"\x01\x00\x00\x00\x00\x00", b"\x00\x00\x00\x00\x00\x00", 1)
    with pytest.raises(warts.WartsError):
        decode_body(bad)
    # v4ts with 2 addresses for 1 stamp
    body = body_of(Ping(dst=V4, ping_sent=1, replies=(
        PingReply(addr=V4, v4ts=PingReplyV4TS((9,), (V4,))),)))
    bad = body.replace(b"\x01\x01\x00\x00\x00\x09", b"\x01\x02\x00\x00\x00\x09", 1)
    with pytest.raises(warts.WartsError, match="addresses for"):
        decode_body(bad)


# --------------------------------------------------------------------------
# interop with Debian's scamper 20211212 tools


def built_sample() -> list[object]:
    lst = ListInfo(1, "default", "d", "mon")
    cyc = CycleInfo(lst, 7, 1_700_000_000, None, "host")
    pings: list[object] = [warts.CycleStart(cyc)]
    for dst, src in ((V4, V4B), (V6, V6B)):
        echo = 0 if dst.is_ipv4 else 129
        probes = [PingProbe(i, Timeval(1_700_000_000 + i, 1000 * i), 100 + i, 0, 0, (
            PingReply(addr=dst, flags=PingReplyFlag.REPLY_TTL | PingReplyFlag.REPLY_IPID,
                      ttl=60, size=84, rtt=1000 + 37 * i, icmp_type=echo, icmp_code=0,
                      ipid32=9 + i),)) for i in (0, 2, 3)]
        pings.append(Ping.build(dst=dst, src=src, start=Timeval(1_700_000_000, 5),
                                ping_sent=4, probes=probes, list=lst, cycle=cyc, userid=3,
                                stop_reason=PingStop.COMPLETED, sport=4242))
    return pings


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("sc_warts2json") is None, reason="needs scamper tools")
def test_debian_tools_read_what_we_write(tmp_path: Path) -> None:
    recs = built_sample()
    path = tmp_path / "built.warts"
    path.write_bytes(warts.encode(recs))
    out = subprocess.run(["sc_warts2json", str(path)], capture_output=True, text=True,
                         check=True).stdout
    theirs = [json.loads(line) for line in out.splitlines() if '"ping"' in line]
    ours = [json.loads(s) for s in map(warts.to_json, recs) if s and '"ping"' in s]
    assert len(theirs) == len(ours) == 2
    for a, b in zip(theirs, ours, strict=True):
        assert a["statistics"] == b["statistics"]
        for key in ("src", "dst", "start", "ping_sent", "probe_size", "userid", "ttl"):
            assert a[key] == b[key]
        assert [(r["seq"], r["from"], r["rtt"], r["reply_ttl"], r["reply_size"])
                for r in a["responses"]] == \
            [(r["seq"], r["from"], r["rtt"], r["reply_ttl"], r["reply_size"])
             for r in b["responses"]]
    dump = subprocess.run(["sc_wartsdump", str(path)], capture_output=True, text=True,
                          check=True).stdout
    assert dump.count("reply from") == 6


def test_vector_pings_decode_with_their_replies() -> None:
    for path in sorted((DATA / "v20260420").glob("ping_*.warts")):
        recs = list(warts.read(io.BytesIO(path.read_bytes())))
        pings = [r for r in recs if isinstance(r, Ping)]
        assert len(pings) == 1
        p = pings[0]
        assert p.dst is not None and p.start is not None
        assert all((r.probe_id or 0) < (p.ping_sent or 0) for r in p.replies)
