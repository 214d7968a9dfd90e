"""dealias's warts record: the method's parameters and definitions, every
probe and reply, the verdict; and the record of a dealias that failed
inside scamperd."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.commands.dealias import DealiasCommand
from protocol.commands.dealias_methods import DealiasMethod
from protocol.commands.dealias_probedef import Probedef
from warts.address import ADDR_IPV4, ADDR_IPV6, Address
from warts.types.dealias import (
    Dealias,
    DealiasAlly,
    DealiasBump,
    DealiasMercator,
    DealiasMidardisc,
    DealiasMidardiscRound,
    DealiasMidarest,
    DealiasPrefixscan,
    DealiasProbe,
    DealiasProbedef,
    DealiasRadargun,
    DealiasReply,
)
from warts.wire import Timeval

from ...engine.task import timeval
from .core import ERROR, Def, Probe, Reply, State

if TYPE_CHECKING:
    from .prefixscan import Prefixscan

DM = DealiasMethod
MS, SEC = 1000, 1_000_000


def _addr(raw: bytes) -> Address:
    return Address(ADDR_IPV6 if len(raw) == 16 else ADDR_IPV4, raw)


def _probedef(pd: Probedef, id: int, dst: bytes, src: bytes | None) -> DealiasProbedef:
    return DealiasProbedef.build(
        dst=_addr(dst), method=int(pd.method), id=id, ttl=pd.ttl, tos=pd.tos,
        src=_addr(src) if src is not None else None, size=pd.size, mtu=pd.mtu,
        sport=pd.sport, dport=pd.dport, tcp_flags=pd.tcp_flags, icmp_id=pd.icmp_id,
        icmp_csum=pd.icmp_csum)


def _def(d: Def) -> DealiasProbedef:
    return _probedef(d.pd, d.id, d.dst, d.src)


def _reply(r: Reply) -> DealiasReply:
    return DealiasReply.build(src=_addr(r.src), rx=timeval(r.rx), ttl=r.ttl, proto=r.proto,
                              size=r.size, ipid=r.ipid, ipid32=r.ipid32 or 0,
                              flags=1 if r.ipid32 is not None else 0, icmp_type=r.icmp_type,
                              icmp_code=r.icmp_code, icmp_q_ttl=r.icmp_q_ttl,
                              tcp_flags=r.tcp_flags)


def _probe(p: Probe, defs: dict[int, DealiasProbedef]) -> DealiasProbe:
    return DealiasProbe.build(probedef=defs[p.defn.id], tx=timeval(p.tx), seq=p.seq,
                              ipid=p.ipid, replies=tuple(_reply(r) for r in p.replies))


def method_data(cmd: DealiasCommand, pds: tuple[DealiasProbedef, ...],
                prefixscan: Prefixscan | None = None) -> Any:
    """The record's method block from the command and its definitions."""
    p: Any = cmd.data
    m = cmd.method
    if m == DM.MERCATOR:
        return DealiasMercator.build(probedef=pds[0], attempts=p.attempts,
                                     wait_timeout=p.wait_timeout_us // SEC)
    if m == DM.ALLY:
        return DealiasAlly.build(probedefs=(pds[0], pds[1]), wait_probe=p.wait_probe_us // MS,
                                 wait_timeout=p.wait_timeout_us // SEC, attempts=p.attempts,
                                 fudge=p.fudge, flags=int(p.flags))
    if m == DM.RADARGUN:
        wait_round = p.wait_round_us or p.wait_probe_us * len(pds)
        return DealiasRadargun.build(probedefs=pds, rounds=p.rounds,
                                     wait_probe=p.wait_probe_us // MS,
                                     wait_round=wait_round // MS,
                                     wait_timeout=p.wait_timeout_us // SEC, flags=int(p.flags))
    if m == DM.PREFIXSCAN:
        ab = prefixscan.ab if prefixscan is not None else None
        csa = prefixscan is not None and prefixscan.csa
        return DealiasPrefixscan.build(
            a=_addr(p.a.packed), b=_addr(p.b.packed), prefix=p.prefix, attempts=p.attempts,
            fudge=p.fudge, wait_probe=p.wait_probe_us // MS,
            wait_timeout=p.wait_timeout_us // SEC, ab=_addr(ab) if ab is not None else None,
            xs=tuple(_addr(x.packed) for x in p.xs), probedefs=pds,
            flags=int(p.flags) | (0x02 if csa else 0), replyc=p.replyc)
    if m == DM.BUMP:
        return DealiasBump.build(probedefs=(pds[0], pds[1]), wait_probe=p.wait_probe_us // MS,
                                 bump_limit=p.bump_limit, attempts=p.attempts)
    if m == DM.MIDAREST:
        return DealiasMidarest.build(probedefs=pds, rounds=p.rounds,
                                     wait_probe=p.wait_probe_us, wait_round=p.wait_round_us,
                                     wait_timeout=p.wait_timeout_us)
    sched = tuple(DealiasMidardiscRound(Timeval.from_us(r.start_us), r.begin, r.end)
                  for r in p.sched)
    startat = Timeval.from_us(p.startat_us) if p.startat_us is not None else None
    return DealiasMidardisc.build(probedefs=pds, wait_timeout=p.wait_timeout_us // SEC,
                                  sched=sched, startat=startat)


def record(cmd: DealiasCommand, st: State, *, prefixscan: Prefixscan | None,
           listcycle: tuple[Any, Any]) -> Dealias:
    pds = tuple(_def(d) for d in st.defs)
    by_id = {pd.id or 0: pd for pd in pds}
    return Dealias.build(data=method_data(cmd, pds, prefixscan),
                         start=timeval(st.start or 0), result=st.result,
                         userid=cmd.userid, errmsg=st.errmsg,
                         probes=tuple(_probe(p, by_id) for p in st.probes),
                         list=listcycle[0], cycle=listcycle[1])


def failed_record(command: DealiasCommand, source: Any, errmsg: str, now: int) -> Dealias:
    """A dealias that failed inside scamperd: its definitions as given (no
    source address yet), no probes, ERROR."""
    pds = tuple(_probedef(pd, pd.id, pd.dst.packed, None) for pd in command.probedefs)
    return Dealias.build(data=method_data(command, pds), start=timeval(now), result=ERROR,
                         userid=command.userid, errmsg=errmsg,
                         list=getattr(source, "list_info", None),
                         cycle=getattr(source, "cycle_info", None))
