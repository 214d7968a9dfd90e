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

from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.commands import parse_command
from protocol.commands.base import CommandContext
from protocol.commands.tracelb import TracelbCommand
from scamperd.engine.fakenet import forge
from scamperd.engine.packets import Reply
from scamperd.engine.task import Finished, SendProbe, Wait
from scamperd.methods.tracelb import TracelbTask
from warts.address import ADDR_IPV4, ADDR_IPV6, Address
from warts.file import decode, encode
from warts.types.tracelb import Tracelb, TracelbProbe, TracelbReply
from warts.wire import Timeval

DATA = Path(__file__).parents[2] / "data"
RTT_NS = 100_000


def load(name: str) -> Tracelb:
    recs = decode((DATA / f"{name}.warts").read_bytes())
    return next(r for r in recs if isinstance(r, Tracelb))


def ns(tv: Timeval | None) -> int:
    assert tv is not None
    return (tv.sec * 1_000_000 + tv.usec) * 1000


class VectorNet:
    """The test bed as one scamper run saw it.

    A probe the record holds is answered with that probe's replies, at
    their times, and sent at its time; one it does not hold (the first-hop
    probe, bring-forward probes) goes where its flow went, or where
    ``branches`` says for a flow the record never places."""

    def __init__(self, rec: Tracelb, branches: dict[int, int]) -> None:
        self.rec = rec
        self.branches = dict(branches)
        self.asked: list[int] = []
        self.probes: dict[tuple[int, int, int], deque[TracelbProbe]] = {}
        self.by_ttl: dict[int, set[bytes]] = {}
        self.kind: dict[bytes, TracelbReply] = {}
        recorded = [p for link in rec.links for s in link.sets for p in s.probes]
        for p in sorted(recorded, key=lambda p: ns(p.tx)):
            assert p.flowid is not None and p.ttl is not None
            self.probes.setdefault((p.flowid, p.ttl, p.attempt or 0), deque()).append(p)
            for r in p.rxs:
                self.by_ttl.setdefault(p.ttl, set()).add(r.reply_from.raw)
                self.kind.setdefault(r.reply_from.raw, r)
        first = rec.nodes[0].addr
        if first is not None:
            self.by_ttl.setdefault(rec.firsthop or 1, set()).add(first.raw)
        self.addrs = {t: sorted(a) for t, a in self.by_ttl.items()}
        # a flow's branch: where it went at a hop with several interfaces
        for (fid, ttl, _att), ps in self.probes.items():
            if len(self.addrs[ttl]) > 1 and ps[0].rxs:
                self.branches[fid] = self.addrs[ttl].index(ps[0].rxs[0].reply_from.raw)

    def take(self, flowid: int, ttl: int, attempt: int) -> TracelbProbe | None:
        """The recorded probe our probe stands for, if the record has it."""
        q = self.probes.get((flowid, ttl, attempt))
        return q.popleft() if q else None

    def model(self, flowid: int, ttl: int) -> TracelbReply:
        addrs = self.addrs.get(ttl) or self.addrs[max(self.addrs)]
        if len(addrs) == 1:
            return self.kind.get(addrs[0]) or _time_exceeded(addrs[0])
        if flowid not in self.branches:
            self.asked.append(flowid)
            self.branches[flowid] = 0
        return self.kind[addrs[self.branches[flowid]]]


def forge_reply(pkt: bytes, r: TracelbReply, rx: int) -> Reply:
    """The packet that carried reply ``r`` to probe ``pkt``, received at ``rx``."""
    frm = r.reply_from.raw
    ttl = r.reply_ttl or 64
    ipid = r.reply_ipid or 0
    q = forge.with_ttl(pkt, r.reply_icmp_q_ttl if r.reply_icmp_q_ttl is not None else 1)
    if r.is_tcp:
        out = forge.tcp_reply(pkt, r.reply_tcp_flags or 0, ttl=ttl, ipid=ipid)
    elif r.reply_icmp_type in (0, 129):
        out = forge.echo_reply(pkt, ttl=ttl, ipid=ipid)
    elif r.reply_icmp_type == (3 if len(frm) == 16 else 11):
        out = forge.time_exceeded(frm, q, ttl=ttl, ipid=ipid)
    else:
        out = forge.port_unreachable(frm, q, ttl=ttl, ipid=ipid)
    return forge.as_received(out, rx)


def _time_exceeded(addr: bytes) -> TracelbReply:
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
    """Our tracelb against the network of ``rec``, on the record's clock."""
    net = VectorNet(rec, branches)
    assert rec.src is not None
    task = TracelbTask(command_for(rec), src=rec.src.raw, list=rec.list, cycle=rec.cycle)
    now = ns(rec.start)
    inflight: list[tuple[int, Reply]] = []
    for _ in range(100_000):
        act = task.next_action(now)
        if isinstance(act, Finished):
            return task.result(), net
        if isinstance(act, SendProbe):
            assert task._pending is not None
            p = task._pending[0].probe
            seen = net.take(p.flowid, p.ttl, p.attempt)
            if seen is not None:
                now = max(now, ns(seen.tx))
                rxs = [(ns(r.reply_rx), r) for r in seen.rxs]
            else:
                rxs = [(now + RTT_NS, net.model(p.flowid, p.ttl))]
            task.probe_sent(act.probe, now)
            inflight += [(rx, forge_reply(act.probe.packet, r, rx)) for rx, r in rxs]
            inflight.sort(key=lambda x: x[0])
            continue
        assert isinstance(act, Wait)
        if inflight and inflight[0][0] <= act.until:
            rx, reply = inflight.pop(0)
            now = max(now, rx)
            task.receive_reply(reply, now)
        else:
            now = max(act.until, now + 1)
    raise AssertionError("tracelb did not finish")


def shape(rec: Tracelb) -> Iterator[object]:  # noqa: D401
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
           budget: list[int]) -> Tracelb | None:
    """Depth first over the branches of flows the record does not place:
    is there a network consistent with the record under which our tracelb
    decides exactly what scamper decided?  Our record, if so."""
    budget[0] -= 1
    if budget[0] < 0:
        return None
    ours, net = run(rec, assign)
    if list(shape(ours)) == want:
        return ours
    new = [f for f in dict.fromkeys(net.asked) if f not in assign]
    if not new:
        return None
    for b in range(width):
        found = search(rec, want, {**assign, new[0]: b}, width, budget)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("name", VECTORS)
def test_tracelb_replay_matches_scamper(name: str) -> None:
    rec = load(name)
    want = list(shape(rec))
    net = VectorNet(rec, {})
    width = max(len(a) for a in net.addrs.values())
    ours = search(rec, want, {}, width, [2000])
    if ours is None:
        got = list(shape(run(rec, {})[0]))
        for i, (a, b) in enumerate(zip(got, want, strict=False)):
            assert a == b, f"first difference at item {i}"
        assert got == want
        return
    # Sent and answered at scamper's times, with its replies' fields, ours is
    # scamper's record to the byte: every field the method fills in
    assert ours == rec
    assert encode([ours]) == encode([rec])
