"""trace: scamper's traceroute (scamper/trace/scamper_trace_do.c)."""

from __future__ import annotations

from protocol.commands.trace import TraceCommand

from .. import register
from .factory import make_trace_task
from .task import Mode, TraceTask

register(TraceCommand, make_trace_task)

__all__ = ["Mode", "TraceTask", "make_trace_task"]
