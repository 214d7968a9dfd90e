"""Wiring a trace into the engine: the method registry's factory.

Kept apart from the state machine so that the task module stays free of
sockets and of the engine.
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING, Any

from protocol.commands.trace import TraceCommand
from warts.types.trace import TraceFlag

from .dtree import DtreeTask
from .probes import probe_proto
from .task import TraceTask

if TYPE_CHECKING:
    from ...engine.io import Engine


def make_trace_task(command: TraceCommand, source: Any, engine: Engine) -> TraceTask:
    """Build a TraceTask for ``command``, queued by ``source``, run by ``engine``."""
    dst = command.dst.packed
    v6 = len(dst) == 16
    engine.listen_for(v6, probe_proto(int(command.method), v6))
    src = command.src.packed if command.src is not None else engine.io.src_for(dst)
    sport = None
    if command.sport == 0:
        if command.is_icmp:
            # scamper's ICMP id without -s: pid16 | 0x8000
            sport = (os.getpid() & 0xFFFF) | 0x8000
        else:
            # -s 0: the kernel's ephemeral port for scamper's bound socket;
            # we draw one from Linux's ephemeral range
            sport = random.randrange(32768, 61000)
    cls = DtreeTask if command.is_doubletree else TraceTask
    task = cls(command, src=src, list=getattr(source, "list_info", None),
               cycle=getattr(source, "cycle_info", None), sport=sport)
    if command.flags & TraceFlag.PTR:
        # -O ptr: names come from the daemon's resolver (scamper's own DNS)
        task.ptr_lookup = engine.resolver.ptr
    if command.flags & TraceFlag.PMTUD:
        # -M: the interface MTU towards dst (None: PMTUD is skipped, as when
        # scamper cannot get it)
        try:
            task.ifmtu = engine.io.ifmtu_for(dst)
        except OSError:
            task.ifmtu = None
    return task
