"""dealias against scamper's own runs: same replies, same decisions, same record.

Each dealias vector in tests/data is a run of scamper (20211212 and
20260420) on the test bed.  The command is rebuilt from the record, our
task is driven on the record's clock, each of its probes is checked to be
the definition scamper sent next and answered with the replies scamper got
(the same addresses, TTLs, IP-IDs, quoted TTLs, times); the record we write
must then be scamper's, field for field: verdict, probes, definitions.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from protocol.commands import parse_command
from protocol.commands.base import CommandContext
from protocol.commands.dealias import DealiasCommand
from scamperd.engine.fakenet import forge
from scamperd.engine.packets import Reply
from scamperd.engine.task import Finished, SendProbe, Wait
from scamperd.methods.dealias import DealiasTask
from scamperd.methods.dealias.core import make_def
from warts.file import decode
from warts.types.dealias import Dealias, DealiasProbedef, DealiasReply

DATA = Path(__file__).parents[2] / "data"
PD_NAMES = {1: "icmp-echo", 2: "tcp-ack", 3: "udp", 4: "tcp-ack-sport", 5: "udp-dport",
            6: "tcp-syn-sport"}
NAMES = ("dealias_ally_linuxfn_v4", "dealias_ally_neg_icmp_v4", "dealias_ally_neg_r1_v4",
         "dealias_ally_pos_icmp_v4", "dealias_ally_pos_tcp_v4", "dealias_ally_pos_udp_v4",
         "dealias_mercator_r4-41_v4", "dealias_mercator_r4-42_v4",
         "dealias_mercator_r4-42_v6", "dealias_mercator_r4-5_v4", "dealias_mercator_r4-lo_v4",
         "dealias_mercator_r5_neg_v4", "dealias_mercator_r5_neg_v6", "dealias_prefixscan_v4",
         "dealias_radargun_v4")
VECTORS = [f"{v}/{n}" for v in ("v20260420", "v20211212") for n in NAMES]


def load(name: str) -> Dealias:
    return next(r for r in decode((DATA / f"{name}.warts").read_bytes())
                if isinstance(r, Dealias))


def pdef(pd: DealiasProbedef, with_dst: bool) -> str:
    words = [f"-P {PD_NAMES[pd.method]}"]
    if pd.ports is not None:
        words += [f"-F {pd.ports[0]}", f"-d {pd.ports[1]}"]
    if pd.icmp_csum:
        words.append(f"-c {pd.icmp_csum}")
    if pd.ttl is not None:
        words.append(f"-t {pd.ttl}")
    if pd.size:
        words.append(f"-s {pd.size}")
    if pd.mtu:
        words.append(f"-M {pd.mtu}")
    if with_dst:
        words.append(f"-i {pd.dst}")
    return "-p '" + " ".join(words) + "'"


def command_line(rec: Dealias) -> tuple[str, int]:
    """The command that made ``rec``, and a pid giving its default port/id."""
    d: Any = rec.data
    pds = d.probedefs
    first = pds[0]
    ident = first.icmp_id if first.icmp_id is not None else (first.ports or (0, 0))[0]
    pid = ident & 0x7FFF
    m = type(d).__name__
    if m == "DealiasMercator":
        line = f"dealias -m mercator -q {d.attempts} -w {d.wait_timeout} " \
               f"{pdef(first, False)} {first.dst}"
    elif m == "DealiasAlly":
        opts = f"-q {d.attempts} -W {d.wait_probe} -w {d.wait_timeout} -f {d.fudge or 0}"
        if d.flags:
            opts += " -O nobs"
        line = f"dealias -m ally {opts} {pdef(pds[0], True)} {pdef(pds[1], True)}"
    elif m == "DealiasPrefixscan":
        xs = " ".join(f"-x {x}" for x in d.xs or ())
        line = (f"dealias -m prefixscan -q {d.attempts} -W {d.wait_probe} -w {d.wait_timeout}"
                f" -f {d.fudge} -o {d.replyc or 5} {xs} {pdef(first, False)} {d.a} "
                f"{d.b}/{d.prefix}")
    else:
        defs = " ".join(pdef(p, True) for p in pds)
        line = (f"dealias -m radargun -q {d.rounds} -W {d.wait_probe} -r {d.wait_round} "
                f"-w {d.wait_timeout} {defs}")
    return line, pid


def forge_reply(pkt: bytes, r: DealiasReply, rx: int) -> Reply:
    ttl = r.ttl or 64
    ipid = r.ipid or 0
    frm = r.src.raw
    if r.tcp_flags is not None:
        out = forge.tcp_reply(pkt, r.tcp_flags, ttl=ttl, ipid=ipid)
    elif r.icmp_type in (0, 129):
        out = forge.echo_reply(pkt, ttl=ttl, ipid=ipid)
    else:
        q = forge.with_ttl(pkt, r.icmp_q_ttl or 0)
        if r.icmp_type in (11, 3) and not (r.icmp_type == 3 and len(frm) == 4):
            out = forge.time_exceeded(frm, q, ttl=ttl, ipid=ipid)
        else:
            out = forge.port_unreachable(frm, q, ttl=ttl, ipid=ipid)
    return forge.as_received(out, rx)


def ns(tv: Any) -> int:
    return (tv.sec * 1_000_000 + tv.usec) * 1000


def run(rec: Dealias) -> Dealias:
    line, pid = command_line(rec)
    cmd = parse_command(line, CommandContext(pid=pid))
    assert isinstance(cmd, DealiasCommand)
    srcs = {pd.dst.raw: pd.src.raw for pd in rec.data.probedefs if pd.src is not None}
    src0 = next(iter(srcs.values()))
    defs = [make_def(pd, pd.id, srcs.get(pd.dst.packed, src0), pd.dst.packed)
            for pd in cmd.probedefs]
    task = DealiasTask(cmd, defs, list=rec.list, cycle=rec.cycle,
                       src_for=lambda dst: srcs.get(dst, src0))
    now = ns(rec.start)
    want = list(rec.probes)
    inflight: list[tuple[int, Reply]] = []
    for _ in range(100_000):
        act = task.next_action(now)
        if isinstance(act, Finished):
            return task.result()
        if isinstance(act, SendProbe):
            assert task._pending is not None and task._pending[0] is not None, "a PTB?"
            probe = task._pending[0]
            n = len(task.st.probes)
            assert n < len(want), f"scamper sent {len(want)} probes; we send more"
            theirs = want[n]
            assert probe.defn.id == (theirs.def_id or 0), f"probe {n}: another definition"
            now = max(now, ns(theirs.tx))
            task.probe_sent(act.probe, now)
            inflight += [(ns(r.rx), forge_reply(act.probe.packet, r, ns(r.rx)))
                         for r in theirs.replies]
            inflight.sort(key=lambda x: x[0])
            continue
        assert isinstance(act, Wait)
        if inflight and inflight[0][0] <= act.until:
            rx, reply = inflight.pop(0)
            now = max(now, rx)
            task.receive_reply(reply, now)
        else:
            now = max(act.until, now + 1)
    raise AssertionError("dealias did not finish")


def as_2021(rec: Dealias) -> Dealias:
    """What scamper 20211212's writer keeps: no probe or reply sizes."""
    d: Any = rec.data
    data = dataclasses.replace(d, probedefs=tuple(dataclasses.replace(pd, size=None)
                                                  for pd in d.probedefs))
    probes = tuple(dataclasses.replace(p, replies=tuple(dataclasses.replace(r, size=None)
                                                        for r in p.replies))
                   for p in rec.probes)
    return dataclasses.replace(rec, data=data, probes=probes)


@pytest.mark.parametrize("name", VECTORS)
def test_dealias_replay_matches_scamper(name: str) -> None:
    rec = load(name)
    ours = run(rec)
    if name.startswith("v20211212/"):
        ours = as_2021(ours)
    assert ours.result == rec.result
    assert len(ours.probes) == len(rec.probes)
    assert ours.data == rec.data
    assert ours.probes == rec.probes
    assert ours == rec
