"""The daemon: one trio nursery holding the engine, listeners and signals.

Theory of operation
-------------------
:func:`serve` is scamper's main loop in trio form.  Its nursery runs

* the :class:`~scamperd.engine.driver.Engine` (packet I/O, pacing, matching),
* :func:`trio.serve_listeners` over the control listeners (``-U`` unix
  socket, ``-P`` TCP), each accepted client served by
  :func:`scamperd.control.handle_client`,
* a signal watcher: SIGINT and SIGTERM stop the daemon, as scamper's
  ``exit_now`` does, and the first one is kept in :attr:`Serving.interrupt`
  so the process can end the way it was told to (see :func:`exit_status`),

and then waits for :attr:`Server.stop`, set by a signal or, after
``shutdown done|flush|now``, when no work is left.  Clients then get up to
:data:`STOP_GRACE` seconds to take their queued output, and leaving the
nursery cancels every task; the ``finally`` closes the listeners and unlinks the
unix socket (scamper's man page promises that on SIGINT/SIGTERM).

Listeners are bound before the engine starts, so a port in use fails fast,
and :func:`serve` reports their real addresses through ``task_status`` (tests
bind port 0).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import trio

from .config import Config
from .control import handle_client
from .engine.driver import Engine
from .engine.packetio import PacketIO
from .server import Server

# How long a stopping daemon waits for clients to take their queued output
# (the OK to a shutdown, results that just finished); a stuck client must not
# hold the exit up for long.
STOP_GRACE = 1.0
_BACKLOG = 4096  # scamper listens with -1, the system maximum; the kernel clamps


class Interrupt:
    """The signal (SIGINT or SIGTERM) that stopped the daemon, once one has."""

    signum: int | None = None


@dataclass(frozen=True)
class Serving:
    """What :func:`serve` passes to ``task_status.started``."""

    server: Server
    inet: tuple[str, int] | None
    unix: str | None
    interrupt: Interrupt


def exit_status(signum: int | None) -> int:
    """The process exit status after a run that ``signum`` stopped (None: 0).

    Debian's scamper 20211212 leaves SIGINT and SIGTERM at their default
    action, so an interrupted run dies of the signal: the shell reports 130
    and 143, and a script can tell an interrupted run from a finished one.
    (scamper 20260420 catches both and returns 0, which is the defect issue 7
    reports.)  We stop cleanly first -- results so far written and the outfile
    closed -- and then end with 128 + the signal, the status the shell shows.
    """
    return 0 if signum is None else 128 + signum


class DaemonError(Exception):
    """Startup failed; the text is what scamper's printerror would say."""


# sizeof(struct sockaddr_un.sun_path) on Linux.  scamper's sockaddr_compose_un
# wants the path and its NUL to fit, so 107 bytes at most.  Python's bind
# draws the same line but raises an OSError without errno or strerror
# ("AF_UNIX path too long"), which printed as ": None".
_SUN_PATH_LEN = 108


async def _open_unix(path: str) -> trio.SocketListener:
    size = len(os.fsencode(path))
    if size + 1 > _SUN_PATH_LEN:
        # scamper 20260420: "could not open unix socket: Invalid argument"
        # (EINVAL from sockaddr_compose_un); we also say why.
        raise DaemonError(f"could not open unix socket {path}: {os.strerror(errno.EINVAL)}: "
                          f"path is {size} bytes, at most {_SUN_PATH_LEN - 1} fit")
    # bind and listen with no checkpoint between them: a client that waits
    # for the path to appear (sc_attach, scripts) must not find it refusing
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(_BACKLOG)
    except OSError as e:
        sock.close()
        raise DaemonError(f"could not open unix socket {path}: {e.strerror or e}") from e
    await trio.lowlevel.checkpoint()
    return trio.SocketListener(trio.socket.from_stdlib_socket(sock))


async def _open_inet(addr: str, port: int) -> trio.SocketListener:
    try:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        socket.inet_pton(family, addr)
    except OSError as e:
        raise DaemonError(f"could not compose sockaddr from {addr}:{port}") from e
    sock = trio.socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await sock.bind((addr, port))
        sock.listen(_BACKLOG)
    except OSError as e:
        sock.close()
        raise DaemonError(f"could not bind to {addr}:{port}: {e.strerror}") from e
    return trio.SocketListener(sock)


async def _watch_signals(server: Server, interrupt: Interrupt, *,
                         task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    try:
        receiver = trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM)
    except RuntimeError:
        # Not in the main thread (an embedding application): its signals.
        task_status.started()
        await trio.sleep_forever()
        return
    with receiver as signals:
        task_status.started()
        async for signum in signals:
            if interrupt.signum is None:
                interrupt.signum = signum
            server.stop.set()


def write_pidfile(path: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(f"{os.getpid()}\n")
    except OSError as e:
        raise DaemonError(f"could not open pidfile {path}: {e.strerror}") from e


async def serve(config: Config, *, engine: Engine | None = None,
                make_io: Callable[[], PacketIO] | None = None,
                task_status: trio.TaskStatus[Serving] = trio.TASK_STATUS_IGNORED) -> int | None:
    """Run the daemon until a signal, or until shut down and out of work;
    returns the signal that stopped it, if one did.  The engine, when not
    given, sends through ``make_io()`` (None: the real sockets)."""
    if engine is None:
        engine = Engine(pps=config.pps, window=config.window,
                        io=make_io() if make_io is not None else None)
    server = Server(config, engine)
    interrupt = Interrupt()
    listeners: list[trio.SocketListener] = []
    unix_bound = False
    try:
        if config.ctrl_unix is not None:
            listeners.append(await _open_unix(config.ctrl_unix))
            unix_bound = True
        inet: tuple[str, int] | None = None
        if config.ctrl_inet is not None:
            lst = await _open_inet(*config.ctrl_inet)
            listeners.append(lst)
            name = lst.socket.getsockname()
            inet = (name[0], name[1])
        try:
            # Opened here, not in the engine's nursery, so that a daemon
            # without privileges fails with one clear message.  The engine
            # reuses these sockets.
            engine.io.open()
        except OSError as e:
            raise DaemonError(f"could not open raw socket: {e.strerror}") from e
        if config.pidfile is not None:
            write_pidfile(config.pidfile)
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            await nursery.start(_watch_signals, server, interrupt)
            if listeners:
                # serve_listeners sleeps through accept errors that mean "out
                # of resources now" (EMFILE, ENOBUFS, ...); handle_client never
                # raises, so one client's failure cannot end the listeners
                await nursery.start(partial(trio.serve_listeners, partial(handle_client, server),
                                            listeners, handler_nursery=nursery))
            task_status.started(Serving(server, inet, config.ctrl_unix, interrupt))
            await server.stop.wait()
            with trio.move_on_after(STOP_GRACE):
                await server.drain()
            nursery.cancel_scope.cancel()
    finally:
        engine.io.close()
        for lst in listeners:
            with trio.CancelScope(shield=True):
                await lst.aclose()
        if unix_bound and config.ctrl_unix is not None:
            try:
                os.unlink(config.ctrl_unix)
            except OSError:
                pass
    return interrupt.signum


def daemonise() -> None:
    """daemon(1, 0): detach from the terminal, keep the cwd, stdio to /dev/null."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    fd = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(fd, std)
    if fd > 2:
        os.close(fd)
