"""The measurement methods: parsed command type -> :class:`Method`.

:data:`METHODS` is the whole registry, one row per method, read here and
nowhere else.  A row's ``factory(command, ctx, host) -> Task`` builds the
pure state machine of :mod:`scamperd.engine.task` when the scheduler takes
the command from its client's queue (not when it is accepted), so the task
is created with the window open and its first probe due.  It gets:

* ``command``: the frozen dataclass :func:`protocol.parse_command` returned;
* ``ctx``: a :class:`scamperd.engine.task.TaskContext`: the warts list and
  cycle the record must carry (``list=``, ``cycle=``, so the client's writer
  does not emit them again) and where ``-y`` snapshots go;
* ``host``: the :class:`scamperd.engine.task.Host` interface: the source
  address towards a target, whether an address is ours, interface MTU and
  names, which replies to read (``listen_for``), the datalink view, the
  resolver.  Nothing else of the daemon.

``failed`` builds the record a client gets when the task fails inside
scamperd (every accepted command is owed one record), and ``route_to``
names the destination that must be routable for the command to be
accepted.  The control session answers ``ERR command not accepted: <word>
disabled`` for a command whose type has no row, which is what scamper says
for a measurement it was built without.
"""

from __future__ import annotations

import importlib
from typing import Any

from protocol.commands.ping import PingCommand
from protocol.commands.trace import TraceCommand
from protocol.commands.tracelb import TracelbCommand

from .registry import FailedRecord, Method, MethodFactory


class MethodTable(dict[type, Method]):
    """Command type -> :class:`Method`, each row's package imported the
    first time a command of its type is looked up: a one-shot run of 2,000
    pings then does not pay for importing tracelb's and dealias's code (tens
    of ms, measured by bench/daemon_bench).  Otherwise an ordinary dict.

    A row's command type may be given as ``"module:Class"``, for a command
    whose own module need not be imported before such a command is parsed
    (dealias's grammar, about 14 ms of the daemon's start-up)."""

    def __init__(self, rows: dict[type | str, str]) -> None:
        super().__init__()
        self._lazy: dict[type, str] = {k: v for k, v in rows.items() if isinstance(k, type)}
        self._named: dict[str, str] = {k: v for k, v in rows.items() if isinstance(k, str)}

    @staticmethod
    def _name(key: Any) -> str:
        return f"{key.__module__}:{key.__qualname__}"

    def _load(self, key: Any) -> None:
        module = self._lazy.pop(key, None)
        if module is None and self._named and isinstance(key, type):
            module = self._named.pop(self._name(key), None)
        if module is not None:
            dict.__setitem__(self, key, importlib.import_module(module, __name__).METHOD)

    def __getitem__(self, key: type) -> Method:
        self._load(key)
        return dict.__getitem__(self, key)

    def get(self, key: type, default: Any = None) -> Any:  # type: ignore[override]
        self._load(key)
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        return (key in self._lazy or dict.__contains__(self, key)
                or (isinstance(key, type) and self._name(key) in self._named))

    def __delitem__(self, key: type) -> None:
        self._lazy.pop(key, None)
        self._named.pop(self._name(key), None)
        if dict.__contains__(self, key):
            dict.__delitem__(self, key)

    def load_all(self) -> None:
        for name in list(self._named):
            mod, _, cls = name.partition(":")
            self._lazy[getattr(importlib.import_module(mod), cls)] = self._named.pop(name)
        for key in list(self._lazy):
            self._load(key)


METHODS = MethodTable({
    PingCommand: ".ping",
    TraceCommand: ".trace",
    TracelbCommand: ".tracelb",
    "protocol.commands.dealias:DealiasCommand": ".dealias",
})


def lookup(command: object) -> Method | None:
    """The method for a parsed command, or None when none handles it."""
    return METHODS.get(type(command))


def command_keys(command: object) -> tuple[object, ...] | None:
    """The keys ``command``'s task will hold, if the command alone says."""
    method = METHODS.get(type(command))
    return method.keys(command) if method is not None else None


def failed_record(command: object, source: object, errmsg: str, now: int) -> object:
    """The error record of ``command``'s method (see :class:`Method`)."""
    method = METHODS[type(command)]
    return method.failed(command, source, errmsg, now)


__all__ = ["METHODS", "FailedRecord", "Method", "MethodFactory", "MethodTable", "command_keys",
           "failed_record", "lookup"]
