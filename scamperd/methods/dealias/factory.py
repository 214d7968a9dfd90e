"""Wiring a dealias into the engine: the method registry's factory."""

from __future__ import annotations

import random

from protocol.commands.dealias import DealiasCommand

from ...engine.task import Host, TaskContext
from .core import make_def
from .probes import proto_of
from .task import DealiasTask

_RNG = random.Random()


def make_dealias_task(command: DealiasCommand, ctx: TaskContext | None,
                      host: Host) -> DealiasTask:
    """Build a DealiasTask for ``command`` (see scamperd.engine.task.TaskFactory).

    Each definition's source address is the kernel's choice towards its
    destination (probedef2sig's scamper_getsrc)."""
    ctx = ctx if ctx is not None else TaskContext()
    defs = []
    for pd in command.probedefs:
        dst = pd.dst.packed
        v6 = len(dst) == 16
        host.listen_for(v6, proto_of(int(pd.method), v6))
        defs.append(make_def(pd, pd.id, host.net.src_for(dst), dst))
    task = DealiasTask(command, defs, list=ctx.list, cycle=ctx.cycle, rng=_RNG,
                       src_for=host.net.src_for)
    if task.dl:
        # a pseudo-MTU: replies as the datalink sees them (fragment ids)
        host.want_datalink(task, tuple(task.match_keys()))
    return task
