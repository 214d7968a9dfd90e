"""Control-socket clients: bytes -> protocol events -> sources and replies.

Theory of operation
-------------------
Each accepted connection gets a :class:`ClientSession` run by one trio task
(:func:`handle_client`), which owns a small nursery of two loops:

* the *reader* receives bytes, feeds the sans-IO
  :class:`protocol.ControlConnection` and acts on each event at once
  (interactive commands are answered in place; measurement commands are
  parsed, queued in the client's :class:`~scamperd.sources.Source`, and
  answered ``OK id-N``);
* the *writer* drains the session's output buffer to the socket.

Everything else that talks to the client happens synchronously inside the
engine task through the source's callbacks: ``MORE`` when the scheduler
takes the last queued command, and a ``DATA`` block when a task finishes.
Because those run in the same trio thread, output is a plain bytearray plus
a wake-up event; ordering is exactly the order of the calls.

Backpressure (DESIGN "bound everything"): results are never dropped.  A
client that writes many commands before it reads anything must not stall
(scamper reads them all), so the reader keeps reading; what is bounded is
the work started for the client: when its unsent output passes
:data:`PAUSE_AT` bytes its source is paused (queued commands wait unstarted)
until the writer brings the output under :data:`RESUME_AT`.  Replies to
commands (``OK``, ``ERR``, ``MORE``) are still written then; only a client
that has let :data:`HARD_LIMIT` bytes pile up, which only a client that
never reads can do, is no longer read until it reads.

Fault isolation: an exception while handling one event answers ``ERR
internal error``; one anywhere else in a session closes that client's
connection only (:func:`handle_client` catches it; trio would otherwise let
it end the listener and the daemon).

End of session, as scamper_control.c does it:

* ``exit``: close at once, queued output dropped.
* ``done`` then idle: the cycle-stop record; the connection enters FLUSH,
  the writer drains and closes.
* EOF or a fatal bad line: the source is abandoned (queued commands dropped,
  running tasks forgotten by the scheduler, no more results); queued output
  is written, then the socket is closed.

Closing after FLUSH is a lingering close: our side is shut for writing, and
input is read and discarded until the client closes too (at most
:data:`LINGER` seconds).  Closing with unread input would send a reset,
and a reset makes the client's kernel discard what it has not read yet: the
final ``ERR`` of a bad line, or the last results.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

import trio

import warts
from protocol import (
    CLOSED,
    NEED_DATA,
    Attach,
    Command,
    CommandError,
    ControlConnection,
    Data,
    Done,
    Eof,
    Err,
    Exit,
    Format,
    Get,
    GetKey,
    Halt,
    Help,
    LssClear,
    More,
    OkId,
    ProtocolError,
    RemoteAdd,
    RemoteDelete,
    RemoteList,
    ServerInput,
    Set,
    SetKey,
    Shutdown,
    SourceList,
    State,
    StatsRequest,
    command_word,
    parse_command,
    replies,
)

from . import methods
from .config import SCAMPER_VERSION
from .engine.task import TaskContext
from .server import Server, route_problem
from .sources import Source

# Unsent output at which a client's source is paused, and resumed.  A warts
# ping result is ~100-300 bytes uuencoded: 16 MiB holds ~100,000 results, so
# a client that keeps reading never notices.
PAUSE_AT = 16 << 20
RESUME_AT = PAUSE_AT // 2
# Unsent output at which the client's input is no longer read: by then it has
# written over a million commands without reading a reply.
HARD_LIMIT = 64 << 20
RECV_SIZE = 65536
SEND_CHUNK = 65536
LINGER = 2.0  # seconds the lingering close waits for the client's EOF


def _log(msg: str) -> None:
    print(f"scamperd: {msg}", file=sys.stderr)


class ClientSession:
    """One control connection (see the module docstring)."""

    def __init__(self, server: Server, stream: trio.abc.Stream, sockname: str | None) -> None:
        self.server = server
        self.stream = stream
        # The default source name: "ip:port" of the peer, or None for a unix
        # client (named at attach time, as scamper counts attaches).
        self.sockname = sockname
        self.conn = ControlConnection(data_ids=server.config.data_ids)
        self.out = bytearray()
        self._wake = trio.Event()
        self._room = trio.Event()
        self._drained = trio.Event()
        self._sending = False
        self.source: Source | None = None
        self.writer: warts.Writer | None = None
        self.closed = False
        self.lingering = False
        self._eof = trio.Event()

    # -- output ----------------------------------------------------------------

    def emit(self, event: Any) -> None:
        """Queue one reply or DATA block for the writer."""
        if self.conn.state is State.CLOSED:
            return
        self.out += self.conn.send(event)
        self._wake.set()
        src = self.source
        if src is not None and not src.paused and len(self.out) > PAUSE_AT:
            src.paused = True

    def emit_record(self, rec: Any, task_id: int | None, inprog: bool = False) -> None:
        """One record as DATA: one warts object per block, or one JSON line;
        ``inprog`` marks a ``-y`` snapshot (``DATA N id-M inprog``)."""
        ends = isinstance(rec, warts.CycleStop)
        if self.conn.format is Format.JSON:
            text = warts.to_json(rec)
            if text is not None:  # list records have no JSON form
                self.emit(Data(text.encode(), task_id, inprog, ends))
            return
        assert self.writer is not None
        objs = self.writer.encode(rec)
        for i, obj in enumerate(objs):
            # Only the record itself carries the task id, not a list or
            # cycle definition the writer had to put before it.
            last = i == len(objs) - 1
            self.emit(Data(obj, task_id if last else None, inprog and last, ends and last))

    async def writer_loop(self) -> None:
        """Write queued output; return once FLUSH has nothing left to write,
        or at once after ``exit`` (scamper drops queued output then)."""
        while not self.closed:
            if self.out:
                chunk = bytes(self.out[:SEND_CHUNK])
                del self.out[:len(chunk)]
                if len(self.out) <= RESUME_AT:
                    self._room.set()
                    src = self.source
                    if src is not None and src.paused:
                        src.paused = False
                        self.server.engine.poke()
                self._sending = True
                try:
                    await self.stream.send_all(chunk)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    # The client went away: like EOF, its source is abandoned.
                    self.closed = True
                    self.abandon()
                    return
                finally:
                    self._sending = False
                    if not self.out:
                        self._drained.set()
                continue
            if self.conn.state in (State.FLUSH, State.CLOSED) and self.flushable():
                return
            self._wake = trio.Event()
            await self._wake.wait()

    async def drain(self) -> None:
        """Wait until everything queued so far has been written."""
        while (self.out or self._sending) and not self.closed:
            self._drained = trio.Event()
            await self._drained.wait()

    async def linger(self) -> None:
        """The lingering close (see the module docstring): shut our side
        for writing and let the reader discard input until the client's
        EOF, for at most :data:`LINGER` seconds."""
        if self._eof.is_set():
            return  # the client has closed its side: nothing unread can come
        self.lingering = True
        with trio.move_on_after(LINGER):
            try:
                if isinstance(self.stream, trio.abc.HalfCloseableStream):
                    await self.stream.send_eof()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return
            await self._eof.wait()

    def flushable(self) -> bool:
        """Nothing more will be written: no source, or it is finished or gone."""
        src = self.source
        return src is None or src.closed

    # -- input -------------------------------------------------------------------

    async def reader_loop(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                          ) -> None:
        """Receive until EOF.  In FLUSH input is read and discarded, as
        scamper does: closing with unread input would reset the connection
        and could lose the output the client has yet to read."""
        task_status.started()
        while True:
            if self.conn.state in (State.INTERACTIVE, State.ATTACHED, State.DONE):
                while len(self.out) > HARD_LIMIT and not self.closed:
                    self._room = trio.Event()
                    await self._room.wait()
            try:
                data = await self.stream.receive_some(RECV_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self._eof.set()
            if not self.lingering:
                self.conn.receive_data(bytes(data))
                self.process()
            if not data:
                return

    def process(self) -> None:
        while True:
            ev = self.conn.next_event()
            if ev is NEED_DATA or ev is CLOSED:
                return
            try:
                self.handle(ev)
            except Exception as e:  # a daemon bug must not take the daemon down
                _log(f"internal error handling {ev!r}: {e!r}")
                self.emit(replies.INTERNAL_ERROR)

    def handle(self, ev: ServerInput) -> None:
        """Act on one event: its fixed reply, else its handler (the tables
        after this class)."""
        fixed = FIXED_REPLIES.get(type(ev))
        if fixed is not None:
            self.emit(fixed)
        else:
            HANDLERS[type(ev)](self, ev)

    def on_done(self, ev: Done) -> None:
        self.emit(replies.OK)
        assert self.source is not None
        self.source.done = True
        self.maybe_finish()

    def on_error(self, ev: ProtocolError) -> None:
        self.emit(Err(ev.reason))
        if ev.fatal:
            self.abandon()

    def on_eof(self, ev: Eof) -> None:
        self.abandon()
        self._wake.set()

    def on_exit(self, ev: Exit) -> None:
        self.abandon()
        self.closed = True
        self._wake.set()

    def on_shutdown(self, ev: Shutdown) -> None:
        self.emit(replies.OK)
        self.server.shutdown(ev.mode)

    def on_lss_clear(self, ev: LssClear) -> None:
        # Local stop sets belong to trace's doubletree (the process's
        # store); a name no trace has used yet fails, as in scamper.
        # Imported here: importing it imports the trace method package (about
        # 25 ms), which a daemon that runs no trace need not pay at start-up.
        from .methods.trace.lss import STORE

        self.emit(replies.lss_clear(ev.name, STORE.clear(ev.name)))

    # -- interactive commands ------------------------------------------------------

    def on_get(self, ev: Get) -> None:
        what = ev.what
        srv = self.server
        sched = srv.engine.sched
        values: dict[GetKey, str | int | None] = {
            GetKey.COMMAND: srv.command,
            GetKey.MONITORNAME: srv.monitorname,
            GetKey.NAMESERVER: srv.nameserver,
            GetKey.PID: srv.pid,
            GetKey.PPS: sched.pps,
            GetKey.VERSION: SCAMPER_VERSION,
            GetKey.WINDOW: replies.window_value(sched.active, sched.window),
        }
        self.emit(replies.get_value(what, values[what]))

    def on_stats(self, ev: StatsRequest) -> None:
        self.emit(replies.stats(self.server.stats_values()))

    def on_set(self, ev: Set) -> None:
        what, value = ev.what, ev.value
        srv = self.server
        sched = srv.engine.sched
        if what in (SetKey.PPS, SetKey.WINDOW):
            assert isinstance(value, int)
            # scamper passes the long to an int parameter: keep its low 32 bits.
            v = ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
            pps, window = (v, sched.window) if what is SetKey.PPS else (sched.pps, v)
            ok = replies.ppswindow_valid(pps, window)
            if ok:
                sched.set_rate(pps, window)
                srv.engine.poke()
            self.emit(replies.set_number(what, value, ok))
            return
        if what is SetKey.COMMAND:
            srv.command = str(value)
        elif what is SetKey.MONITORNAME:
            srv.monitorname = None if value is None else str(value)
        else:
            srv.nameserver = str(value)
            srv.engine.resolver.nameserver = srv.nameserver
        self.emit(replies.OK)

    def on_source_list(self, ev: SourceList) -> None:
        name = ev.name
        if name is None:
            for src in self.server.sources.sources:
                self.emit(self._source_info(src))
            self.emit(replies.OK)
            return
        found = self.server.sources.find(name)
        if found is None:
            self.emit(replies.no_source(name))
            return
        self.emit(self._source_info(found))
        self.emit(replies.OK)

    @staticmethod
    def _source_info(src: Source) -> Any:
        return replies.source_info(src.name, src.list_id, src.cycle_id, src.priority,
                                   src.kind, src.descr, src.outfile)

    def on_attach(self, ev: Attach) -> None:
        srv = self.server
        if self.sockname is None:
            sab = f"{srv.config.ctrl_unix}:{srv.unix_count}"
            srv.unix_count += 1
        else:
            sab = self.sockname
        name = ev.name if ev.name is not None else sab
        monitor = ev.monitor if ev.monitor is not None else srv.monitorname
        lst = warts.ListInfo(ev.list_id, name, ev.descr, monitor)
        cycle = warts.CycleInfo(lst, ev.cycle_id, int(time.time()), hostname=srv.hostname)
        src = Source(name, make_task=self._make_task, on_result=self._on_result,
                     on_more=self._on_more, failed=methods.failed_record,
                     priority=ev.priority, descr=ev.descr,
                     list_id=ev.list_id, cycle_id=ev.cycle_id, kind="control",
                     list_info=lst, cycle_info=cycle, outfile=sab,
                     max_outstanding=srv.config.queue_max, on_discard=srv.engine.forget,
                     keys_of=methods.command_keys,
                     watch=srv.engine.watch)
        self.source = src
        self.writer = warts.Writer()
        self.emit(replies.OK)
        # scamper takes the source's initial cycle command at once: that take
        # empties the queue (MORE) and writes the list and cycle-start.
        self.emit(More())
        if ev.format is Format.WARTS:
            self.emit_record(lst, None)
        self.emit_record(warts.CycleStart(cycle), None)
        srv.sources.add(src)

    # -- attached commands -------------------------------------------------------

    def on_command(self, ev: Command) -> None:
        line = ev.line
        src = self.source
        assert src is not None
        try:
            cmd = parse_command(line, self.server.context)
        except CommandError as e:
            self.emit(replies.command_not_accepted(e.reason))
            return
        if methods.lookup(cmd) is None:
            self.emit(replies.command_not_accepted(f"{command_word(line)} disabled"))
            return
        problem = route_problem(self.server.engine, cmd)
        if problem is not None:
            self.emit(replies.command_not_accepted(problem))
            return
        try:
            tid = src.submit(cmd)
        except OverflowError as e:
            self.emit(replies.command_not_accepted(str(e)))
            return
        self.emit(OkId(tid))
        self.server.engine.poke()

    def on_halt(self, ev: Halt) -> None:
        task_id = ev.task_id
        src = self.source
        assert src is not None
        engine = self.server.engine
        task = src.find(task_id)
        if task is not None:
            self.emit(replies.halted(task_id))
            engine.sched.halt(task, engine.clock.now())
            engine.poke()
            return
        # A command not started yet halts too (scamper created its task when
        # it accepted it) and reports its (empty) result after the OK.
        q = src.unqueue(task_id)
        if q is None:
            self.emit(replies.no_task(task_id))
            return
        self.emit(replies.halted(task_id))
        src.halt_waiting(q)

    # -- source callbacks (run inside the engine task) -------------------------------

    def _make_task(self, cmd: Any, task_id: int) -> Any:
        """The source's factory: the method's (a raise is the source's to
        fence).  -y snapshots go out as ``DATA ... id-N inprog`` blocks."""
        method = methods.lookup(cmd)
        src = self.source
        if method is None or src is None:
            raise LookupError(f"no method for {type(cmd).__name__}")
        ctx = TaskContext(src.list_info, src.cycle_info, partial(self._on_progress, task_id))
        return method.factory(cmd, ctx, self.server.engine)

    def _on_progress(self, task_id: int, rec: Any) -> None:
        """A -y snapshot.  One that cannot be written is dropped (and logged):
        it must not end the task, whose result still comes."""
        src = self.source
        if src is None or src.closed:
            return
        try:
            self.emit_record(rec, task_id, inprog=True)
        except Exception as e:
            _log(f"could not write a snapshot of task {task_id}: {e!r}")

    def _on_more(self) -> None:
        if self.conn.state is State.ATTACHED:
            self.emit(More())

    def _on_result(self, task_id: int, rec: Any) -> None:
        """The sink: one record for ``task_id`` (sources.py made it)."""
        if rec is not None:
            self.emit_record(rec, task_id)
        self.maybe_finish()
        self.server.check_exit()

    # -- ending ------------------------------------------------------------------

    def maybe_finish(self) -> None:
        """After ``done``, once idle: the cycle-stop record, then flush."""
        src = self.source
        if src is None or src.closed or not src.done or not src.idle:
            return
        assert src.cycle_info is not None
        self.emit_record(warts.CycleStop(src.cycle_info, int(time.time())), None)
        src.closed = True
        self.server.sources.remove(src)
        self._wake.set()
        self.server.check_exit()

    def abandon(self) -> None:
        """Finish and abandon the source: no more tasks, no more results."""
        src = self.source
        if src is None or src.closed:
            return
        src.closed = True
        src.clear()
        self.server.sources.remove(src)
        engine = self.server.engine
        tasks = set(src.running)
        engine.sched.abandon(tasks)
        for t in tasks:
            engine.forget(t)
        src.outstanding -= len(src.running)
        src.running.clear()
        self._wake.set()
        self.server.check_exit()


# Events answered with a fixed reply and nothing more.  scamperd has no -R
# links: those commands get scamper's replies when it has none.
FIXED_REPLIES: dict[type, Any] = {
    Help: replies.HELP,
    RemoteAdd: replies.REMOTE_ADD_FAILED,
    RemoteDelete: replies.NO_REMOTES,
    RemoteList: replies.OK,
}

# Every other event the protocol gives a server: the session's handler.
HANDLERS: dict[type, Callable[[ClientSession, Any], None]] = {
    Attach: ClientSession.on_attach,
    Command: ClientSession.on_command,
    Done: ClientSession.on_done,
    Eof: ClientSession.on_eof,
    Exit: ClientSession.on_exit,
    Get: ClientSession.on_get,
    Halt: ClientSession.on_halt,
    LssClear: ClientSession.on_lss_clear,
    ProtocolError: ClientSession.on_error,
    Set: ClientSession.on_set,
    Shutdown: ClientSession.on_shutdown,
    SourceList: ClientSession.on_source_list,
    StatsRequest: ClientSession.on_stats,
}


def peer_name(addr: Any) -> str | None:
    """scamper's name for a TCP peer: ``ip:port``, IPv6 as ``addr.port``;
    None for a unix peer."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        host, port = addr[0], addr[1]
        return f"{host}.{port}" if ":" in host else f"{host}:{port}"
    return None


def stream_name(stream: trio.abc.Stream) -> str | None:
    """scamper's name for the client on ``stream`` (see :func:`peer_name`)."""
    if not isinstance(stream, trio.SocketStream):
        return None
    try:
        return peer_name(stream.socket.getpeername())
    except OSError:
        return None


async def handle_client(server: Server, stream: trio.abc.Stream,
                        name: str | None = None) -> None:
    """Serve one control connection until it is closed (the per-client task).

    Any :class:`trio.abc.Stream` will do (a socket, a remote channel); ``name``
    names the client's source, by default from the socket's peer.  Never
    raises (but for cancellation): an exception in this session is logged
    and closes this connection only, so it can be the handler of
    :func:`trio.serve_listeners`, which would end on a handler's exception."""
    sess = ClientSession(server, stream, name if name is not None else stream_name(stream))
    server.sessions.add(sess)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(sess.reader_loop)
            # The writer returns once FLUSH has drained, at once on exit, or
            # when the peer has gone.
            await sess.writer_loop()
            if not sess.closed:
                await sess.linger()
            nursery.cancel_scope.cancel()
    except Exception as e:
        server.stats.session_faults += 1
        _log(f"control session {sess.sockname or 'unix'} failed: {e!r}")
        traceback.print_exception(e, file=sys.stderr)
    finally:
        try:
            sess.abandon()
            sess.conn.close()
        except Exception as e:  # pragma: no cover - last line of defence
            _log(f"closing a control session failed: {e!r}")
        server.sessions.discard(sess)
        with trio.CancelScope(shield=True):
            await stream.aclose()
        server.check_exit()
