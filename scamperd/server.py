"""Daemon-wide state every control client sees, and the submit-time checks.

:class:`Server` holds the options ``get``/``set`` change, the engine, the
per-client sources and the live sessions, and applies scamper's exit rule
(``shutdown``, one-shot runs that are out of work).  :func:`route_problem`
is the check a command passes before it is answered ``OK``.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from protocol import CommandContext, ShutdownMode

from . import methods
from .config import Config
from .engine.driver import Engine
from .sources import Source, SourceSet


class Session(Protocol):
    """What the server asks of a client's session (control.ClientSession)."""

    @property
    def source(self) -> Source | None: ...

    async def drain(self) -> None: ...

    def abandon(self) -> None: ...


@dataclass
class ServerStats:
    session_faults: int = 0  # control sessions closed by an exception


class Server:
    """Daemon-wide state every control client sees: options, engine, sources."""

    def __init__(self, config: Config, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.sources = SourceSet(busy=engine.sched.key_busy, blocker=engine.sched.blocker)
        engine.sched.sources.append(self.sources)
        self.command = config.command
        self.monitorname = config.monitorname
        self.nameserver = config.nameserver
        engine.resolver.nameserver = config.nameserver  # trace -O ptr asks it
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.context = CommandContext(pid=self.pid)
        # Unix clients are named <path>:<n>, n counting attaches from 0.
        self.unix_count = 0
        self.sessions: set[Session] = set()
        self.stats = ServerStats()
        # scamper exits when out of work unless it listens for commands.
        self.exit_when_done = not config.control
        self.stop = trio.Event()

    def stats_values(self) -> dict[str, int | float]:
        """The engine's counters for ``stats``, with the commands waiting."""
        return self.engine.counters(sum(src.waiting for src in self.sources.sources))

    # -- the exit rule of scamper's main loop --------------------------------

    def busy(self) -> bool:
        """Tasks running, or sources still in rotation."""
        if self.engine.sched.active or self.sources.sources:
            return True
        return any(s.source is not None and not s.source.closed and s.source.running
                   for s in self.sessions)

    def check_exit(self) -> None:
        if self.exit_when_done and not self.busy():
            self.stop.set()

    async def drain(self) -> None:
        """Let every client's queued output (an ``OK``, the last results) go
        out before the daemon stops; the caller bounds the wait."""
        async with trio.open_nursery() as nursery:
            for sess in list(self.sessions):
                nursery.start_soon(sess.drain)

    def shutdown(self, mode: ShutdownMode) -> None:
        if mode is ShutdownMode.CANCEL:
            self.exit_when_done = False
            return
        if mode in (ShutdownMode.FLUSH, ShutdownMode.NOW):
            # scamper_sources_empty: drop every queued command and take the
            # sources out of rotation; running tasks still report.
            for src in list(self.sources.sources):
                src.clear()
                self.sources.remove(src)
        if mode is ShutdownMode.NOW:
            # scamper_queue_empty: the active window goes without results.
            for sess in list(self.sessions):
                sess.abandon()
        self.exit_when_done = True
        self.check_exit()


def route_problem(engine: Engine, command: Any) -> str | None:
    """Why ``command`` cannot run (the kernel has no route or source
    address for its destination), as scamper_getsrc() says; None if it can.
    scamper 20211212 refuses such a command; we do too, so no ``OK`` is
    given for a command that could only fail."""
    method = methods.lookup(command)
    dst = method.route_to(command) if method is not None else None
    if dst is None:
        return None
    try:
        engine.net.src_for(dst)
    except OSError as e:
        return f"getsrc connect to dst failed for {command.dst}: {e.strerror or e}"
    return None
