"""One-shot runs: ``-i`` addresses, ``-I`` commands, or ``-f`` a file of them.

As in scamper.c, the work becomes one source named ``default`` (or ``-l``),
descr ``default``, list id ``-L`` (0), cycle id ``-C`` (0), of type
``cmdline`` (or ``file``).  Its commands are parsed up front (a bad one stops
the run before any probe is sent), the source is marked done at once, and
the daemon (:func:`scamperd.daemon.serve`, with no listeners) exits when the
source is finished.  Results go to ``-o`` (stdout by default) as warts (list,
cycle-start, results, cycle-stop), JSON (cycle-start, results, cycle-stop)
or text (results only), as ``-O`` or the outfile's suffix says.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from typing import IO, Any

import trio

import warts
from protocol import CommandError, command_word, parse_command

from . import methods
from .config import EXIT_FAILURE, Config
from .daemon import DaemonError, exit_status, serve
from .engine.driver import Engine
from .engine.packetio import PacketIO
from .engine.task import TaskContext
from .server import route_problem
from .sources import Source


class OneShotError(Exception):
    pass


def command_lines(config: Config) -> list[str]:
    """The measurement commands of a one-shot run, in order."""
    if config.inputs == "cmdlist":
        return list(config.args)
    if config.inputs == "ip":
        return [f"{config.command} {a}" for a in config.args]
    path = config.args[0]
    try:
        with open(path) as f:
            lines = [ln.strip() for ln in f]
    except OSError as e:
        raise OneShotError(f"could not open {path}: {e.strerror}") from e
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if config.intype == "cmdfile":
        return lines
    return [f"{config.command} {a}" for a in lines]


class Progress:
    """A one-line progress report on stderr for long one-shot batches.

    Printed only when the stream is a terminal (a redirected stderr gets
    nothing), and rewritten at most every :attr:`interval` seconds so a fast
    batch does not spend its time drawing.
    """

    interval = 0.5

    def __init__(self, total: int, stream: IO[str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = total > 1 and self.stream.isatty()
        self.total = total
        self.done = 0
        self.clock = clock
        self.start = clock()
        self._last = float("-inf")
        self._width = 0

    def tick(self, running: int) -> None:
        """One more result; ``running`` tasks are in the window now."""
        self.done += 1
        if not self.enabled:
            return
        now = self.clock()
        if now - self._last < self.interval and self.done < self.total:
            return
        self._last = now
        pct = 100 * self.done // self.total
        line = (f"scamperd: {self.done}/{self.total} done ({pct}%), {running} running, "
                f"{now - self.start:.0f}s")
        pad = " " * max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write(f"\r{line}{pad}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()


class Output:
    """Writes records to the outfile in the chosen format."""

    def __init__(self, stream: IO[bytes], outtype: str) -> None:
        self.stream = stream
        self.kind = "warts" if outtype.startswith("warts") else outtype
        self.writer = warts.Writer(stream) if self.kind == "warts" else None

    def write(self, rec: Any) -> None:
        if self.writer is not None:
            self.writer.write(rec)
        else:
            text = warts.to_json(rec) if self.kind == "json" else warts.to_text(rec)
            if text is not None:
                self.stream.write(text.encode())
        self.stream.flush()


async def _oneshot(config: Config, commands: list[Any], out: Output,
                   progress: Progress | None = None,
                   make_io: Callable[[], PacketIO] | None = None) -> int | None:
    """Run the commands; the signal that interrupted the run, if one did."""
    engine = Engine(pps=config.pps, window=config.window,
                    io=make_io() if make_io is not None else None)
    if progress is None:
        progress = Progress(len(commands))
    async with trio.open_nursery() as nursery:
        serving = await nursery.start(partial(serve, config, engine=engine))
        server = serving.server
        name = config.listname if config.listname is not None else "default"
        lst = warts.ListInfo(config.listid or 0, name, "default", config.monitorname)
        cycle = warts.CycleInfo(lst, config.cycleid or 0, int(time.time()),
                                hostname=server.hostname)

        def snapshot(rec: Any) -> None:
            # -y snapshots go to the output like results, as scamper's
            # duplicated in-progress tasks do; one that cannot be written
            # is dropped, not the task
            try:
                out.write(rec)
            except Exception as e:
                print(f"scamperd: could not write a snapshot: {e!r}", file=sys.stderr)

        ctx = TaskContext(lst, cycle, snapshot)

        def make_task(cmd: Any, task_id: int) -> Any:
            method = methods.lookup(cmd)
            assert method is not None  # checked before the run
            return method.factory(cmd, ctx, engine)

        def finish() -> None:
            if src.idle and not src.closed:
                src.closed = True
                out.write(warts.CycleStop(cycle, int(time.time())))
                server.sources.remove(src)
            server.check_exit()

        def on_result(tid: int, rec: Any) -> None:
            if rec is not None:
                out.write(rec)
            progress.tick(engine.sched.active)
            finish()

        src = Source(name, make_task=make_task, on_result=on_result, descr="default",
                     list_id=lst.id, cycle_id=cycle.id,
                     kind="file" if config.inputs == "infile" else "cmdline",
                     list_info=lst, cycle_info=cycle, failed=methods.failed_record,
                     max_outstanding=max(len(commands), 1), on_discard=engine.forget,
                     keys_of=methods.command_keys,
                     watch=engine.watch)
        for cmd in commands:
            problem = route_problem(engine, cmd)
            if problem is not None:
                # scamper prints getsrc's error and goes on with the rest
                print(f"scamperd: command not accepted: {problem}", file=sys.stderr)
                progress.tick(0)
                continue
            src.submit(cmd)
        src.done = True
        out.write(lst)
        out.write(warts.CycleStart(cycle))
        server.sources.add(src)
        engine.poke()
        finish()
        await server.stop.wait()
        progress.close()
    # the host could not keep up: say so rather than leave results that
    # look like loss (issue 11)
    overload = engine.overloaded()
    if overload is not None:
        print(f"scamperd: {overload}", file=sys.stderr)
    # An interrupted run writes no cycle-stop: the cycle did not complete,
    # and scamper killed mid-run leaves none either.  Every record written so
    # far is whole (Output flushes each), so the file reads as it stands.
    return serving.interrupt.signum


def run(config: Config, make_io: Callable[[], PacketIO] | None = None) -> int:
    """A one-shot run; the process exit status.  ``make_io`` gives the
    packet I/O (None: the real sockets; a fake network in tests)."""
    try:
        lines = command_lines(config)
        commands = []
        for line in lines:
            try:
                cmd = parse_command(line)
            except CommandError as e:
                raise OneShotError(f"command not accepted: {e.reason}: {line}") from e
            if methods.lookup(cmd) is None:
                raise OneShotError(f"command not accepted: {command_word(line)} disabled: "
                                   f"{line}")
            commands.append(cmd)
        try:
            stream = warts.open_write(config.outfile)
        except OSError as e:
            raise OneShotError(f"could not open {config.outfile}: {e.strerror}") from e
    except OneShotError as e:
        print(f"scamperd: {e}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        signum = trio.run(partial(_oneshot, config, commands, Output(stream, config.outtype),
                                  make_io=make_io))
    except (DaemonError, BaseExceptionGroup) as e:
        err = _daemon_error(e)
        if err is None:
            raise
        print(f"scamperd: {err}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        if stream is not sys.stdout.buffer:
            stream.close()
    return exit_status(signum)


def _daemon_error(e: BaseException) -> DaemonError | None:
    """The startup error inside what trio raised (nurseries wrap it in groups)."""
    if isinstance(e, DaemonError):
        return e
    if isinstance(e, BaseExceptionGroup):
        for sub in e.exceptions:
            found = _daemon_error(sub)
            if found is not None:
                return found
    return None
