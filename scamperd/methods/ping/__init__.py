"""ping: scamper's ping measurement (scamper/ping/scamper_ping_do.c)."""

from __future__ import annotations

from ..registry import Method, dst_unless_src
from .factory import make_ping_task
from .match import command_keys
from .records import failed_record
from .task import PingTask

METHOD = Method("ping", make_ping_task, failed_record, dst_unless_src, command_keys)

__all__ = ["METHOD", "PingTask", "make_ping_task"]
