"""dealias: scamper's alias resolution (scamper/dealias/scamper_dealias_do.c)."""

from __future__ import annotations

from ..registry import Method
from .factory import make_dealias_task
from .match import command_keys
from .records import failed_record
from .task import DealiasTask


def _route_to(command: object) -> bytes:
    return command.probedefs[0].dst.packed  # type: ignore[attr-defined]


METHOD = Method("dealias", make_dealias_task, failed_record, _route_to, command_keys)

__all__ = ["METHOD", "DealiasTask", "make_dealias_task"]
