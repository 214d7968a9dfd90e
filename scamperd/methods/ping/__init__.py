"""ping: scamper's ping measurement (scamper/ping/scamper_ping_do.c)."""

from __future__ import annotations

from protocol.commands.ping import PingCommand

from .. import register
from .factory import make_ping_task
from .task import PingTask

register(PingCommand, make_ping_task)

__all__ = ["PingTask", "make_ping_task"]
