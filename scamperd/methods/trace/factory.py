"""Wiring a trace into the engine: the method registry's factory.

Kept apart from the state machine so that the task module stays free of
sockets and of the engine.
"""

from __future__ import annotations

import os
import random

from protocol.commands.trace import TraceCommand, TraceMethod
from warts.types.trace import TraceFlag

from ...engine.task import Host, TaskContext
from ..registry import bind_errmsg
from .dtree import DtreeTask
from .probes import probe_proto
from .task import TraceTask


def make_trace_task(command: TraceCommand, ctx: TaskContext | None, host: Host) -> TraceTask:
    """Build a TraceTask for ``command`` (see scamperd.engine.task.TaskFactory)."""
    ctx = ctx if ctx is not None else TaskContext()
    dst = command.dst.packed
    v6 = len(dst) == 16
    host.listen_for(v6, probe_proto(int(command.method), v6))
    src = command.src.packed if command.src is not None else host.net.src_for(dst)
    sport = None
    if command.sport == 0:
        if command.is_icmp:
            # scamper's ICMP id without -s: pid16 | 0x8000
            sport = (os.getpid() & 0xFFFF) | 0x8000
        else:
            # -s 0: the kernel's ephemeral port for scamper's bound socket;
            # we draw one from Linux's ephemeral range
            sport = random.randrange(32768, 61000)
    setup_error = None
    if command.src is not None:
        # scamper binds its probe socket (UDP) or ICMP socket (ICMP, TCP) to
        # -S, which fails for an address that is not ours: the trace ends
        # with that error and sends nothing (trace has no -O spoof)
        err = host.net.local_error(src)
        if err is not None:
            kind = "udp" if command.method in (TraceMethod.UDP, TraceMethod.UDP_PARIS) \
                else "icmp"
            setup_error = (err.errno or 0, bind_errmsg(kind, src, command.sport, err))
    ifmtu = None
    if command.flags & TraceFlag.PMTUD:
        # -M: the interface MTU towards dst (None: PMTUD is skipped, as when
        # scamper cannot get it)
        try:
            ifmtu = host.net.ifmtu_for(dst)
        except OSError:
            ifmtu = None
    cls = DtreeTask if command.is_doubletree else TraceTask
    # -O ptr: names come from the daemon's resolver (scamper's own DNS)
    ptr = host.ptr if command.flags & TraceFlag.PTR else None
    return cls(command, src=src, list=ctx.list, cycle=ctx.cycle, sport=sport,
               ifmtu=ifmtu, setup_error=setup_error, on_progress=ctx.progress,
               ptr_lookup=ptr)
