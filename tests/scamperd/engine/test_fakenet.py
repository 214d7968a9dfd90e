"""The fake network itself: forwarding, ECMP, IP-IDs, loss, MTU, delays, and
the engine driving real methods over it on a virtual clock.  No root."""

from __future__ import annotations

import ipaddress
import struct
from collections import Counter

import pytest
import trio
import trio.testing

from protocol.commands.base import CommandContext
from protocol.commands.ping import parse_ping
from protocol.commands.trace import parse_trace
from scamperd.engine import packets as P
from scamperd.engine.driver import Engine
from scamperd.engine.fakenet import FakeIO, FakeNetwork, Node, Topology, forge
from scamperd.engine.fakenet.forge import as_received
from scamperd.methods.ping import make_ping_task
from scamperd.methods.trace import make_trace_task
from tests.scamperd.fakenet_helpers import (
    BIG4,
    BIG6,
    BOTTLENECK,
    DST4,
    DST6,
    VP4,
    VP6,
    bed,
    router_addrs,
    rtt_us,
    run_tasks,
)

T0 = 1_700_000_000 * 10**9


def a(s: str) -> bytes:
    return ipaddress.ip_address(s).packed


def udp(dst: str, ttl: int, sport: int = 40000, dport: int = 33435, size: int = 0,
        flow: int = 0) -> bytes:
    src = VP6 if ":" in dst else VP4
    seg = P.build_udp(a(src), a(dst), sport, dport, bytes(size))
    return P.build_ip(a(src), a(dst), P.IPPROTO_UDP, seg, ttl=ttl, ipid=ttl, flow=flow)


def echo(dst: str, ttl: int = 64, seq: int = 0, size: int = 0, ident: int = 7,
         df: bool = True) -> bytes:
    v6 = ":" in dst
    src = VP6 if v6 else VP4
    body = P.build_icmp_echo(ident, seq, bytes(size), v6=v6, src=a(src), dst=a(dst))
    proto = P.IPPROTO_ICMPV6 if v6 else P.IPPROTO_ICMP
    return P.build_ip(a(src), a(dst), proto, body, ttl=ttl, df=df)


def tcp(dst: str, flags: int, dport: int = 80) -> bytes:
    src = VP6 if ":" in dst else VP4
    seg = P.build_tcp(a(src), a(dst), 40001, dport, seq=1000, ack=5000, flags=flags)
    return P.build_ip(a(src), a(dst), P.IPPROTO_TCP, seg, ttl=64)


def answer(net: FakeNetwork, pkt: bytes, tx: int = T0) -> P.Reply | None:
    out = net.transmit(pkt, tx)
    assert len(out) <= 1
    return as_received(out[0].packet, out[0].rx_ns, out[0].ifindex) if out else None


# --- forwarding -------------------------------------------------------------------


@pytest.mark.parametrize("dst", [DST4, DST6])
def test_fakenet_time_exceeded_quotes_the_probe_from_each_hop(dst: str) -> None:
    net = FakeNetwork(bed())
    v6 = ":" in dst
    routers = router_addrs(v6)
    hops = []
    for ttl in range(1, 8):
        probe = udp(dst, ttl)
        r = answer(net, probe)
        assert r is not None
        hops.append(r)
        if ttl <= 5:
            assert r.is_ttl_exceeded() and r.quote is not None
            q = r.quote
            assert (q.src, q.dst, q.ttl, q.sport, q.dport) == (a(VP6 if v6 else VP4), a(dst),
                                                               1, 40000, 33435)
            assert r.ttl == 64 - (ttl - 1)  # one router fewer on the way back per hop
            assert r.rx_ns == T0 + rtt_us(ttl - 1) * 1000
        else:  # the destination: port unreachable, the probe arrived with ttl - 5 left
            assert r.is_unreach() and r.src == a(dst) and r.quote is not None
            assert r.quote.ttl == ttl - 5 and r.ttl == 64 - 5
    # each hop is a router of the right stage
    stage_of = {"r1": 1, "r2a": 2, "r2b": 2, "r3": 3, "r4a": 4, "r4b": 4, "r5": 5}
    for ttl, r in enumerate(hops[:5], 1):
        owner = next(n for n, addrs in routers.items()
                     if str(ipaddress.ip_address(r.src)) in addrs)
        assert stage_of[owner] == ttl


def test_fakenet_router_answers_from_inbound_interface() -> None:
    """r3 has an interface towards r2a and one towards r2b: the address it
    answers from says which branch the probe took."""
    net = FakeNetwork(bed())
    by_sport: dict[int, tuple[bytes, bytes]] = {}
    for sport in range(40000, 40040):
        r2 = answer(net, udp(DST4, 2, sport))
        r3 = answer(net, udp(DST4, 3, sport))
        assert r2 is not None and r3 is not None
        by_sport[sport] = (r2.src, r3.src)
    r3_in = bed().nodes["r3"].ifaces
    for r2src, r3src in by_sport.values():
        r2name = "r2a" if str(ipaddress.ip_address(r2src)) in bed().nodes["r2a"].addrs() \
            else "r2b"
        assert str(ipaddress.ip_address(r3src)) == r3_in[r2name][0]


# --- ECMP ---------------------------------------------------------------------------


@pytest.mark.parametrize("dst", [DST4, DST6])
def test_fakenet_ecmp_paris_flow_stays_on_one_branch_varying_flows_spread(dst: str) -> None:
    net = FakeNetwork(bed())

    def branch(pkt: bytes) -> tuple[bytes, bytes]:
        hops = []
        for ttl in (2, 4):
            r = answer(net, pkt[:7] + bytes((ttl,)) + pkt[8:] if ":" in dst
                       else udp(dst, ttl, *struct.unpack_from(">HH", pkt, 20)))
            assert r is not None
            hops.append(r.src)
        return hops[0], hops[1]

    # one flow (ports fixed), many probes: one branch at both splits
    assert len({branch(udp(dst, 1)) for _ in range(20)}) == 1
    # varying the source port spreads flows over all four branch pairs
    seen = Counter(branch(udp(dst, 1, sport=40000 + i)) for i in range(64))
    assert len(seen) == 4 and min(seen.values()) >= 5


def test_fakenet_ecmp_icmp_hashes_checksum_and_id() -> None:
    """ICMP: a fixed checksum and id (icmp-paris) is one flow; varying the
    sequence (classic icmp traceroute) changes the checksum and spreads."""
    net = FakeNetwork(bed())
    fixed = {answer(net, echo(DST4, ttl=2, seq=5)).src for _ in range(10)}  # type: ignore
    assert len(fixed) == 1
    spread = {answer(net, echo(DST4, ttl=2, seq=s)).src for s in range(32)}  # type: ignore
    assert len(spread) == 2


def test_fakenet_ecmp_v6_flow_label_is_part_of_the_flow() -> None:
    net = FakeNetwork(bed())
    seen = set()
    for flow in range(32):
        r = answer(net, udp(DST6, 2, flow=flow))
        assert r is not None
        seen.add(r.src)
    assert len(seen) == 2


# --- behaviours ---------------------------------------------------------------------


def test_fakenet_ipid_counter_per_node() -> None:
    net = FakeNetwork(bed())
    dst = [answer(net, echo(DST4, seq=i)).ipid for i in range(5)]  # type: ignore[union-attr]
    assert [(x - dst[0]) & 0xFFFF for x in dst] == [0, 1, 2, 3, 4]
    r1 = [answer(net, udp(DST4, 1)).ipid for _ in range(3)]  # type: ignore[union-attr]
    assert [(x - r1[0]) & 0xFFFF for x in r1] == [0, 1, 2]
    # the destination's counter did not move for r1's packets
    assert (answer(net, echo(DST4)).ipid - dst[-1]) & 0xFFFF == 1  # type: ignore


@pytest.mark.parametrize(("kind", "check"), [
    ("zero", lambda ids: set(ids) == {0}),
    ("random", lambda ids: len(set(ids)) > 15),
])
def test_fakenet_ipid_behaviours_from_the_table(kind: str, check: object) -> None:
    topo = bed()
    nodes = {**topo.nodes, "dst": Node("dst", topo.nodes["dst"].ifaces, ipid=kind)}
    net = FakeNetwork(Topology(topo.ifaces, nodes, topo.routes, seed=3))
    ids = [answer(net, echo(DST4, seq=i)).ipid for i in range(20)]  # type: ignore[union-attr]
    assert check(ids)  # type: ignore[operator]


def test_fakenet_loss_is_seeded_and_deterministic() -> None:
    def run(seed: int) -> list[bool]:
        net = FakeNetwork(bed(seed=seed, loss=0.3))
        return [answer(net, echo(DST4, seq=i)) is not None for i in range(500)]

    first = run(1)
    assert first == run(1)
    assert first != run(2)
    assert 300 < sum(first) < 400


@pytest.mark.parametrize(("dst", "df", "want"), [
    (BIG4, True, BOTTLENECK), (BIG6, True, BOTTLENECK), (BIG4, False, None),
])
def test_fakenet_mtu_bottleneck_sends_too_big_from_the_router_before(
        dst: str, df: bool, want: int | None) -> None:
    net = FakeNetwork(bed())
    pkt = echo(dst, size=1450, df=df)
    r = answer(net, pkt)
    assert r is not None
    if want is None:
        assert r.is_echo_reply()  # fragmented on the way, reassembled there
        return
    assert r.is_ptb() and r.icmp_nhmtu == want
    assert str(ipaddress.ip_address(r.src)) in router_addrs(":" in dst)["r5"]
    assert r.quote is not None and r.quote.size == len(pkt) and r.quote.ttl == 64 - 4
    # small enough: through
    assert answer(net, echo(dst, size=1300)).is_echo_reply()  # type: ignore[union-attr]


def test_fakenet_too_big_for_our_interface_is_a_send_error() -> None:
    with pytest.raises(OSError, match="Message too long"):
        FakeNetwork(bed()).transmit(echo(DST4, size=1600), T0)


@pytest.mark.parametrize("dst", [DST4, DST6])
def test_fakenet_destination_answers_per_protocol(dst: str) -> None:
    net = FakeNetwork(bed())
    r = answer(net, echo(dst, seq=9, size=12))
    assert r is not None and r.is_echo_reply() and (r.icmp_id, r.icmp_seq) == (7, 9)
    assert r.size == len(echo(dst, size=12))
    syn = answer(net, tcp(dst, P.TcpFlag.SYN))
    assert syn is not None and syn.tcp_flags == P.TcpFlag.SYN | P.TcpFlag.ACK
    assert syn.tcp_ack == 1001 and (syn.sport, syn.dport) == (80, 40001)
    closed = answer(net, tcp(dst, P.TcpFlag.SYN, dport=81))
    assert closed is not None and closed.tcp_flags == P.TcpFlag.RST | P.TcpFlag.ACK
    ack = answer(net, tcp(dst, P.TcpFlag.ACK))
    assert ack is not None and ack.tcp_flags == P.TcpFlag.RST and ack.tcp_seq == 5000


def test_fakenet_later_fragment_alone_draws_time_exceeded_but_no_answer() -> None:
    # trace -o's probes: lone non-first IPv6 fragments
    net = FakeNetwork(bed())
    frag = struct.pack(">BBHI", P.IPPROTO_UDP, 0, 8 << 3, 0x9C400001) + bytes(24)
    probe = P.build_ipv6(a(VP6), a(DST6), P.IPPROTO_FRAGMENT, frag, hlim=1)
    r = answer(net, probe)
    assert r is not None and r.is_ttl_exceeded() and r.quote is not None
    assert (r.quote.proto, r.quote.offset, r.quote.ipid) == (P.IPPROTO_UDP, 8, 0x9C400001)
    assert answer(net, P.build_ipv6(a(VP6), a(DST6), P.IPPROTO_FRAGMENT, frag, hlim=64)) \
        is None


@pytest.mark.parametrize(("dst", "mtu"), [(DST4, 1000), (DST6, 1280)])
def test_fakenet_forge_fragments_as_a_sender_does(dst: str, mtu: int) -> None:
    whole = forge.echo_reply(echo(dst, size=1300), ipid=77)
    frags = forge.fragments(whole, mtu, ident=0xBEEF01)
    v6 = ":" in dst
    hl = 48 if v6 else 20
    assert len(frags) == 2 and all(len(f) <= mtu for f in frags)
    assert (len(frags[0]) - hl) % 8 == 0
    assert b"".join(f[hl:] for f in frags) == whole[40 if v6 else 20:]
    first = P.parse_datalink(frags[0], T0)
    assert first is not None and first.size == len(frags[0]) and first.is_echo_reply()
    assert P.parse_datalink(frags[1], T0) is None
    if v6:
        assert first.frag_id == 0xBEEF01
    else:
        assert first.ipid == 77 and not struct.unpack_from(">H", frags[0], 6)[0] & 0x4000
    assert forge.fragments(whole, len(whole)) == [whole]


@pytest.mark.parametrize(("dst", "told", "pmtu"), [
    (DST4, 1000, 1000), (DST6, 1300, 1300), (DST6, 1000, 1280), (DST4, 500, 552)])
def test_fakenet_host_fragments_replies_after_packet_too_big(dst: str, told: int,
                                                            pmtu: int) -> None:
    # ping -M: the reply is whole until we tell the host its path MTU
    net = FakeNetwork(bed())
    (a1,) = net.transmit(echo(dst, size=1300), T0)
    assert a1.wire == ()
    vp = a(VP6 if ":" in dst else VP4)
    assert net.transmit(P.build_icmp_ptb(vp, a(dst), told, a1.packet[:1232]), T0) == []
    (a2,) = net.transmit(echo(dst, size=1300), T0)
    # the raw sockets get it reassembled, the datalink in fragments
    assert len(a2.packet) == len(a1.packet) and a2.wire == tuple(forge.fragments(
        a2.packet, pmtu, P.read_probe(a2.wire[0]).ipid))
    assert len(a2.wire[0]) <= pmtu < len(a2.wire[0]) + 8
    # small replies still come whole
    assert net.transmit(echo(dst, size=100), T0)[0].wire == ()


def test_fakenet_host_facts() -> None:
    net = FakeNetwork(bed())
    assert net.src_for(a(DST4)) == a(VP4) and net.src_for(a(DST6)) == a(VP6)
    assert net.src_for(a("127.0.0.9")) == a("127.0.0.1")
    with pytest.raises(OSError):
        net.src_for(a("255.255.255.255"))
    with pytest.raises(OSError):
        net.src_for(a("10.9.9.9"))
    assert net.local_error(a(VP4)) is None
    err = net.local_error(a("10.9.9.9"))
    assert err is not None and err.strerror == "Cannot assign requested address"
    assert net.ifmtu_for(a(DST4)) == 1500
    with pytest.raises(OSError, match="invalid MTU 65536"):
        net.ifmtu_for(a("127.0.0.1"))
    assert net.ifname(2) == "eth0" and net.ifname(9) is None
    assert P.read_probe(echo(DST4)).dst == a(DST4)


def test_fakenet_topology_survives_json() -> None:
    topo = bed(seed=5)
    assert Topology.from_dict(topo.to_dict()) == topo


# --- the engine and real methods on it, on a virtual clock ------------------------


async def test_fakenet_engine_ping_rtts_are_the_scripted_delays(
        autojump_clock: trio.testing.MockClock) -> None:
    io = FakeIO(bed())
    engine_host = Engine(pps=100, io=io)
    ctx = CommandContext(pid=1)
    pings = [make_ping_task(parse_ping(f"-c 4 -i 1 {d}", ctx), None, engine_host)
             for d in (DST4, DST6)]
    t0 = trio.current_time()
    await run_tasks(engine_host, pings)
    # four probes a second apart, in about three seconds of virtual time
    assert 3 <= trio.current_time() - t0 < 5
    for p in pings:
        rec = p.result()
        assert [r.rtt for r in rec.replies] == [rtt_us(5)] * 4


@pytest.mark.parametrize("method", ["udp-paris", "icmp-paris", "tcp", "udp", "icmp"])
async def test_fakenet_engine_trace_hops_are_the_routers(
        autojump_clock: trio.testing.MockClock, method: str) -> None:
    io = FakeIO(bed())
    host = Engine(pps=100, io=io)
    ctx = CommandContext(pid=2)
    traces = [make_trace_task(parse_trace(f"-P {method} -q 2 {d}", ctx), None, host)
              for d in (DST4, DST6)]
    await run_tasks(host, traces)
    for t, dst in zip(traces, (DST4, DST6), strict=True):
        rec = t.result()
        routers = router_addrs(":" in dst)
        by_ttl: dict[int, set[str]] = {}
        for p, r in rec.replies():
            by_ttl.setdefault(p.ttl, set()).add(str(r.addr))
        assert sorted(by_ttl) == [1, 2, 3, 4, 5, 6]
        assert by_ttl[6] == {dst}
        stage = ["r1", "r2", "r3", "r4", "r5"]
        for ttl in range(1, 6):
            owners = {n for n, addrs in routers.items() for x in by_ttl[ttl] if x in addrs}
            assert owners and all(o.startswith(stage[ttl - 1]) for o in owners), by_ttl
            if "paris" in method:
                assert len(by_ttl[ttl]) == 1  # one flow: one branch
