"""The keys dealias replies arrive under: probedef2sig() in scamper_dealias_do.c.

Each probe definition declares its signature: an ICMP id, a source port,
or, for the definitions whose source port varies, every source port
towards the destination.  :class:`.core.State` does the exact matching.
"""

from __future__ import annotations

from protocol.commands.dealias import DealiasCommand
from protocol.commands.dealias_probedef import Probedef, ProbedefMethod

from ...engine.task import MatchKey, PortRange
from .probes import proto_of

PM = ProbedefMethod


def match_keys(pd: Probedef, dst: bytes) -> tuple[MatchKey, ...]:
    proto = proto_of(int(pd.method), len(dst) == 16)
    if pd.method == PM.ICMP_ECHO:
        return ((proto, pd.icmp_id, dst),)
    if pd.method in (PM.TCP_ACK_SPORT, PM.TCP_SYN_SPORT):
        return (PortRange(proto, 0, 0xFFFF, dst),)
    return ((proto, pd.sport, dst),)


def command_keys(cmd: DealiasCommand) -> tuple[MatchKey, ...] | None:
    """Every definition's keys; prefixscan's candidates are drawn as its
    task is built (None)."""
    if cmd.method.name == "PREFIXSCAN":
        return None
    return tuple(dict.fromkeys(k for pd in cmd.probedefs for k in match_keys(pd, pd.dst.packed)))
