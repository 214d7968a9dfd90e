"""The ping record's values that come from the command alone.

:meth:`PingTask.result` adds what was measured; :func:`failed_record` is the
record a client gets when the task failed inside scamperd (every accepted
command is owed one), so it must not depend on any task state.
"""

from __future__ import annotations

from typing import Any

from protocol.commands.ping import PingCommand
from warts.address import ADDR_IPV4, ADDR_IPV6, Address
from warts.types.ping import Ping, PingStop
from warts.wire import Timeval

from ...engine.task import timeval


def command_fields(cmd: PingCommand) -> dict[str, Any]:
    """Ping.build's arguments that are the command's options."""
    v6 = cmd.dst.version == 6
    atype = ADDR_IPV6 if v6 else ADDR_IPV4
    return {
        "dst": Address(atype, cmd.dst.packed),
        "userid": cmd.userid,
        "rtr": Address(atype, cmd.rtr.packed) if cmd.rtr is not None else None,
        "data": cmd.data, "wait_probe": Timeval.from_us(cmd.wait_probe_us),
        "wait_timeout": Timeval.from_us(cmd.wait_timeout_us), "attempts": cmd.attempts,
        "size": cmd.size, "method": int(cmd.method), "ttl": cmd.ttl, "tos": cmd.tos,
        "dport": cmd.dport, "icmpsum": cmd.icmpsum, "tcpseq": cmd.tcpseq,
        "tcpack": cmd.tcpack, "stop_count": cmd.stop_count, "pmtu": cmd.pmtu,
        "tsps": [Address(ADDR_IPV4, a.packed) for a in cmd.tsps] if cmd.tsps else None,
        "flags": int(cmd.flags),
    }


def failed_record(cmd: PingCommand, source: Any, errmsg: str, now: int) -> Ping:
    """A ping that stopped with ERROR before sending anything."""
    atype = ADDR_IPV6 if cmd.dst.version == 6 else ADDR_IPV4
    return Ping.build(
        start=timeval(now), ping_sent=0, list=getattr(source, "list_info", None),
        cycle=getattr(source, "cycle_info", None),
        src=Address(atype, cmd.src.packed) if cmd.src is not None else None,
        stop_reason=PingStop.ERROR, errmsg=errmsg, sport=cmd.sport, **command_fields(cmd))
