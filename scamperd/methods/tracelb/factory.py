"""Wiring a tracelb into the engine: the method registry's factory."""

from __future__ import annotations

from protocol.commands.tracelb import TracelbCommand, TracelbFlag

from ...engine.task import Host, TaskContext
from .probes import probe_proto
from .task import TracelbTask


def make_tracelb_task(command: TracelbCommand, ctx: TaskContext | None,
                      host: Host) -> TracelbTask:
    """Build a TracelbTask for ``command`` (see scamperd.engine.task.TaskFactory)."""
    ctx = ctx if ctx is not None else TaskContext()
    dst = command.dst.packed
    v6 = len(dst) == 16
    host.listen_for(v6, probe_proto(int(command.method), v6))
    # tracelb has no -S: the source is the kernel's choice towards dst
    src = host.net.src_for(dst)
    ptr = host.ptr if command.flags & TracelbFlag.PTR else None
    setup_error = None
    if v6 and command.is_tcp:
        # scamper 20260420 accepts the command but has no IPv6 TCP probing:
        # the task fails as it starts (tracelb_state_alloc)
        setup_error = f"unexpected trace type {int(command.method)}"
    return TracelbTask(command, src=src, list=ctx.list, cycle=ctx.cycle, ptr_lookup=ptr,
                       setup_error=setup_error)
