"""The registry of measurement methods: parsed command type -> task factory.

A method plugs in with one call, from its own package::

    from scamperd import methods
    methods.register(PingCommand, make_ping_task)

where ``make_ping_task(command, source, engine) -> Task`` builds the pure
state machine of :mod:`scamperd.engine.task`.  The factory runs when the
scheduler takes the command from the client's queue (not when the command is
accepted), so the task is created with the window open and its first probe
due.  It gets:

* ``command``: the frozen dataclass :func:`protocol.parse_command` returned;
* ``source``: the :class:`scamperd.sources.Source` that queued it, whose
  ``list_info`` / ``cycle_info`` are the warts ListInfo / CycleInfo the
  result record must carry (``list=``, ``cycle=``) so the client's writer
  does not emit them again;
* ``engine``: the :class:`scamperd.engine.io.Engine`; call
  ``engine.listen_for(v6, proto)`` so replies of the probe protocol are read,
  and ``engine.io.src_for(dst)`` for the source address.

A method package registers itself when imported (the ``register`` call in
its ``__init__``); :func:`load`, called once by the daemon at start-up,
imports every package under ``scamperd/methods/``.

The control session answers ``ERR command not accepted: <word> disabled`` for
a command whose type has no factory yet, which is what scamper says for a
measurement it was built without.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine.io import Engine
    from ..engine.task import Task
    from ..sources import Source

MethodFactory = Callable[[Any, "Source", "Engine"], "Task"]

METHODS: dict[type, MethodFactory] = {}


def register(command_type: type, factory: MethodFactory) -> None:
    """Make commands of ``command_type`` runnable through ``factory``."""
    METHODS[command_type] = factory


def unregister(command_type: type) -> None:
    METHODS.pop(command_type, None)


def lookup(command: object) -> MethodFactory | None:
    """The factory for a parsed command, or None when no method handles it."""
    return METHODS.get(type(command))


def load() -> None:
    """Import every method package, so each registers its factory.

    Imports are cached, so later calls are cheap and do not register again.
    """
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


__all__ = ["METHODS", "MethodFactory", "load", "lookup", "register", "unregister"]
