"""tracelb against scamper's own runs: same replies, same decisions.

MDA is deterministic once the network's answers are fixed: scamper numbers
its flows in order and walks its branches in a fixed order.  Each vector in
tests/data is a tracelb scamper 20260420 ran on the test bed (vp -> r1 -> r2
=3-way ECMP= r3a/b/c -> r4 -> r5 -> dst).  :class:`VectorNet` answers our
probes the way that network answered scamper's: a flow's branch through the
split is read off the record, every hop's address and reply type too.  The
record holds every probe but two kinds: the one probing the first hop, and
those bringing a flow forward into a branch; a flow seen only in those has
an unknown branch, so the test tries each possibility and passes when one of
them makes our record equal scamper's probe for probe: same flow ids, TTLs,
attempts, order, replying addresses, nodes, links and probe count.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.commands import parse_command
from protocol.commands.base import CommandContext
from protocol.commands.tracelb import TracelbCommand
from scamperd.engine.fakenet import forge
from scamperd.engine.task import Finished, SendProbe, Wait
from scamperd.methods.tracelb import TracelbTask
from warts.file import decode
from warts.types.tracelb import Tracelb, TracelbReply

DATA = Path(__file__).parents[2] / "data"
RTT_NS = 100_000


def load(name: str) -> Tracelb:
    recs = decode((DATA / f"{name}.warts").read_bytes())
    return next(r for r in recs if isinstance(r, Tracelb))


class Unknown(Exception):
    pass


class VectorNet:
    """The test bed as one scamper run saw it."""

    def __init__(self, rec: Tracelb, branches: dict[int, int]) -> None:
        self.rec = rec
        self.dst = rec.dst.raw if rec.dst else b""
        self.branches = dict(branches)
        self.asked: list[int] = []
        self.sent: dict[tuple[int, int, int], tuple[TracelbReply, ...]] = {}
        self.by_ttl: dict[int, set[bytes]] = {}
        self.kind: dict[bytes, TracelbReply] = {}
        for link in rec.links:
            for s in link.sets:
                for p in s.probes:
                    assert p.flowid is not None and p.ttl is not None
                    self.sent[(p.flowid, p.ttl, p.attempt or 0)] = p.rxs
                    for r in p.rxs:
                        self.by_ttl.setdefault(p.ttl, set()).add(r.reply_from.raw)
                        self.kind.setdefault(r.reply_from.raw, r)
        first = rec.nodes[0].addr
        if first is not None:
            self.by_ttl.setdefault(rec.firsthop or 1, set()).add(first.raw)
        self.addrs = {t: sorted(a) for t, a in self.by_ttl.items()}
        # a flow's branch: where it went at a hop with several interfaces
        for (fid, ttl, _att), rxs in self.sent.items():
            if len(self.addrs[ttl]) > 1 and rxs:
                self.branches[fid] = self.addrs[ttl].index(rxs[0].reply_from.raw)

    def hop(self, flowid: int, ttl: int, attempt: int) -> TracelbReply | None:
        if (flowid, ttl, attempt) in self.sent:
            rxs = self.sent[(flowid, ttl, attempt)]
            return rxs[0] if rxs else None
        addrs = self.addrs.get(ttl) or self.addrs[max(self.addrs)]
        if len(addrs) == 1:
            return self.kind.get(addrs[0]) or _time_exceeded(addrs[0])
        if flowid not in self.branches:
            self.asked.append(flowid)
            self.branches[flowid] = 0
        return self.kind[addrs[self.branches[flowid]]]

    def answer(self, pkt: bytes, flowid: int, attempt: int, now: int):
        v = forge.view(pkt)
        r = self.hop(flowid, v.ttl, attempt)
        if r is None:
            return None
        frm = r.reply_from.raw
        q = forge.with_ttl(pkt, r.reply_icmp_q_ttl if r.reply_icmp_q_ttl is not None else 1)
        if r.is_tcp:
            out = forge.tcp_reply(pkt, r.reply_tcp_flags or 0, ttl=r.reply_ttl or 64)
        elif r.reply_icmp_type in (0, 129):
            out = forge.echo_reply(pkt, ttl=r.reply_ttl or 64)
        elif r.reply_icmp_type in (11, 3) and not (r.reply_icmp_type == 3 and len(frm) == 4):
            out = forge.time_exceeded(frm, q, ttl=r.reply_ttl or 64)
        else:
            out = forge.port_unreachable(frm, q, ttl=r.reply_ttl or 64)
        return forge.as_received(out, now + RTT_NS)


def _time_exceeded(addr: bytes) -> TracelbReply:
    from warts.address import ADDR_IPV4, ADDR_IPV6, Address
    a = Address(ADDR_IPV6 if len(addr) == 16 else ADDR_IPV4, addr)
    return TracelbReply(a, reply_icmp_type=3 if len(addr) == 16 else 11, reply_icmp_q_ttl=1)


def command_for(rec: Tracelb) -> TracelbCommand:
    method = {1: "udp-dport", 2: "icmp-echo", 3: "udp-sport", 4: "tcp-sport",
              5: "tcp-ack-sport"}[rec.type or 1]
    line = (f"tracelb -P {method} -c {rec.confidence} -s {rec.sport} -d {rec.dport} "
            f"{rec.dst}")
    cmd = parse_command(line, CommandContext(pid=rec.sport or 1))
    assert isinstance(cmd, TracelbCommand)
    return cmd


def run(rec: Tracelb, branches: dict[int, int]) -> tuple[Tracelb, VectorNet]:
    """Our tracelb against the network of ``rec``; virtual time."""
    net = VectorNet(rec, branches)
    assert rec.src is not None
    task = TracelbTask(command_for(rec), src=rec.src.raw)
    now = 1_000_000_000_000_000_000
    inflight: list[object] = []
    for _ in range(100_000):
        act = task.next_action(now)
        if isinstance(act, Finished):
            return task.result(), net
        if isinstance(act, SendProbe):
            assert task._pending is not None
            tp = task._pending[0]
            task.probe_sent(act.probe, now)
            reply = net.answer(act.probe.packet, tp.probe.flowid, tp.probe.attempt, now)
            if reply is not None:
                inflight.append(reply)
            continue
        assert isinstance(act, Wait)
        if inflight:
            now += RTT_NS
            for reply in inflight:
                task.receive_reply(reply, now)  # type: ignore[arg-type]
            inflight.clear()
        else:
            now = max(act.until, now + 1)
    raise AssertionError("tracelb did not finish")


def shape(rec: Tracelb) -> Iterator[object]:
    """Everything the algorithm decided, times aside."""
    yield ("probec", rec.probec)
    yield ("nodes", [(n.addr, n.q_ttl) for n in rec.nodes])
    for link in rec.links:
        yield ("link", link.from_, link.to)
        for s in link.sets:
            yield [(p.flowid, p.ttl, p.attempt, [r.reply_from for r in p.rxs])
                   for p in s.probes]


VECTORS = [f"{version}/{name}" for version in ("v20260420", "v20211212")
           for name in ("tracelb_v4", "tracelb_c99_v4", "tracelb_udp-sport_v4",
                        "tracelb_tcp-sport_v4", "tracelb_tcp-ack-sport_v4",
                        "tracelb_icmp-echo_v4", "tracelb_v6")]


def search(rec: Tracelb, want: list[object], assign: dict[int, int], width: int,
           budget: list[int]) -> bool:
    """Depth first over the branches of flows the record does not place:
    is there a network consistent with the record under which our tracelb
    decides exactly what scamper decided?"""
    budget[0] -= 1
    if budget[0] < 0:
        return False
    ours, net = run(rec, assign)
    if list(shape(ours)) == want:
        return True
    new = [f for f in dict.fromkeys(net.asked) if f not in assign]
    if not new:
        return False
    return any(search(rec, want, {**assign, new[0]: b}, width, budget)
               for b in range(width))


@pytest.mark.parametrize("name", VECTORS)
def test_tracelb_replay_matches_scamper(name: str) -> None:
    rec = load(name)
    want = list(shape(rec))
    net = VectorNet(rec, {})
    width = max(len(a) for a in net.addrs.values())
    if search(rec, want, {}, width, [2000]):
        return
    ours, _ = run(rec, {})
    got = list(shape(ours))
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        assert a == b, f"first difference at item {i}"
    assert got == want
