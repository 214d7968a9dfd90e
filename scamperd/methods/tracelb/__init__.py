"""tracelb: scamper's MDA load-balancer traceroute (scamper/tracelb/scamper_tracelb_do.c)."""

from __future__ import annotations

from ..registry import Method
from .factory import make_tracelb_task
from .match import command_keys
from .records import failed_record
from .task import TracelbTask


def _route_to(command: object) -> bytes:
    return command.dst.packed  # type: ignore[attr-defined]


METHOD = Method("tracelb", make_tracelb_task, failed_record, _route_to, command_keys)

__all__ = ["METHOD", "TracelbTask", "make_tracelb_task"]
