"""Wiring a ping into the engine: the method registry's factory.

Kept apart from the state machine so that the task module stays free of
sockets and of the engine: this is where the daemon's facts (the source
address, interface names, which receive sockets to open) are looked up.
"""

from __future__ import annotations

import random

from protocol.commands.ping import PingCommand, PingFlag

from ...engine.task import Host, TaskContext
from ..registry import bind_errmsg
from .probes import probe_proto
from .task import PingTask

# One generator for every ping's IP-IDs and ICMP ids: seeding a new one per
# task reads 2.5 kB from the kernel, a measurable part of a one-probe
# ping's cost (bench/daemon_bench); tests still pass their own.
_RNG = random.Random()


def make_ping_task(command: PingCommand, ctx: TaskContext | None, host: Host) -> PingTask:
    """Build a PingTask for ``command`` (see scamperd.engine.task.TaskFactory)."""
    ctx = ctx if ctx is not None else TaskContext()
    dst = command.dst.packed
    v6 = len(dst) == 16
    host.listen_for(v6, probe_proto(command, v6))
    real_src = host.net.src_for(dst)
    src = command.src.packed if command.src is not None else real_src
    setup_error = None
    if command.src is not None and not command.flags & PingFlag.SPOOF:
        # scamper binds its probe sockets to -S, which fails for an address
        # that is not ours: the ping ends with that error and sends nothing
        err = host.net.local_error(src)
        if err is not None:
            kind = "udp" if command.is_udp else "icmp"
            setup_error = (err.errno or 0, bind_errmsg(kind, src, command.sport, err))
    task = PingTask(command, src=src, list=ctx.list, cycle=ctx.cycle, rng=_RNG,
                    ifname=host.net.ifname, real_src=real_src, on_progress=ctx.progress,
                    setup_error=setup_error)
    if task.dl_rx:
        # -M needs replies as they were on the wire (fragment sizes, ids)
        host.want_datalink(task, tuple(task.match_keys()))
    return task
