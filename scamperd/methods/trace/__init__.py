"""trace: scamper's traceroute (scamper/trace/scamper_trace_do.c)."""

from __future__ import annotations

from ..registry import Method, dst_unless_src
from .factory import make_trace_task
from .match import command_keys
from .records import failed_record
from .task import Mode, TraceTask

METHOD = Method("trace", make_trace_task, failed_record, dst_unless_src, command_keys)

__all__ = ["METHOD", "Mode", "TraceTask", "make_trace_task"]
