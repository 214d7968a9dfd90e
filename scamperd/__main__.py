"""``scamperd``: scamper's command line, then the daemon (or a one-shot run).

``python -m scamperd`` and the ``scamperd`` console script both land in
:func:`main`.  Errors go to stderr worded as scamper words them, with
scamper's exit status (255, from ``return -1`` in its main); a run stopped
by SIGINT or SIGTERM exits 130 or 143 (:func:`scamperd.daemon.exit_status`).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from functools import partial

import trio

from .config import EXIT_FAILURE, SCAMPER_VERSION, ConfigError, parse_args
from .engine.packetio import PacketIO


def main(argv: Sequence[str] | None = None, *,
         make_io: Callable[[], PacketIO] | None = None) -> int:
    """Run as the command line says; ``make_io`` gives the packet I/O (the
    real sockets when None; a fake network in tests)."""
    args = list(sys.argv[1:] if argv is None else argv)
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "scamperd"
    try:
        config = parse_args(args, prog)
    except ConfigError as e:
        sys.stderr.write(e.text)
        return e.status
    if config.version:
        print(f"scamper version {SCAMPER_VERSION}")
        return 0
    if config.ctrl_remote is not None:
        print("scamperd: -R (remote control) is not implemented yet", file=sys.stderr)
        return EXIT_FAILURE
    from . import cli
    from .daemon import DaemonError, daemonise, exit_status, serve

    if config.daemon:
        daemonise()
    try:
        if config.control:
            return exit_status(trio.run(partial(serve, config, make_io=make_io)))
        return cli.run(config, make_io=make_io)
    except DaemonError as e:
        print(f"scamperd: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        # SIGINT before the daemon's own handler is up (or after it is gone)
        return exit_status(signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
