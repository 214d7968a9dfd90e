"""Server side of scamper's control protocol as a sans-IO state machine.

Theory of operation
-------------------
The daemon owns the socket.  It feeds received bytes to
:meth:`ControlConnection.receive_data` (``b""`` for end of input), then calls
:meth:`ControlConnection.next_event` until it returns ``NEED_DATA`` (or
``CLOSED``), acting on each event and answering with
:meth:`ControlConnection.send`, which returns the bytes to write.

Input is cut into lines at ``\\n``; one trailing ``\\r`` is dropped and empty
lines are ignored (scamper_linepoll.c).  One deliberate difference: scamper
answers a line holding only ``\\r`` with ``ERR unhandled command ''`` unless
the line happens to start a read (observed with 20211212); we always ignore
it, so events never depend on how reads split the stream.  A line is checked with C's
``isprint`` up to its first NUL byte, where scamper's check (and everything
after it) stops; any other byte outside 0x20..0x7e, TAB included, gives
``ERR invalid character in line`` and puts the connection into flush mode.
scamper has no limit on line length; we bound it (:data:`MAX_LINE`) and treat
a longer line like an invalid one.

States and what moves between them are the table :data:`TRANSITIONS`:

* ``INTERACTIVE``: the commands of :mod:`protocol.grammar` (``attach``,
  ``get``, ``set``, ...).
* ``ATTACHED``: measurement commands, ``halt <id>`` and ``done``.
* ``DONE``: the client sent ``done``.  Lines are still parsed as when
  attached (scamper keeps accepting commands), but ``MORE`` is no longer sent.
* ``FLUSH``: no more input is parsed.  Reached by a bad line, by end of input,
  or by sending the cycle-stop record (a ``Data`` with ``ends_cycle``;
  scamper recognises it by its first bytes, we are told).  The daemon
  writes what is queued, then closes and calls
  :meth:`ControlConnection.close`.
* ``CLOSED``: after ``exit`` (scamper drops the connection at once, queued
  output included) or :meth:`ControlConnection.close`.

Which replies may be sent in which state is the table :data:`SENDABLE`.
"""

from __future__ import annotations

from enum import Enum

from .cstrings import PRINTABLE
from .errors import LocalProtocolError
from .events import (
    CLOSED,
    NEED_DATA,
    Attach,
    Data,
    Done,
    Eof,
    Err,
    Exit,
    Format,
    Info,
    More,
    Ok,
    OkId,
    ProtocolError,
    Sentinel,
    ServerEvent,
    ServerInput,
)
from .grammar import attached_line, interactive_line
from .uu import uuencode

# scamper reads commands with no length limit.  The longest real commands
# (dealias with many probedefs, udpprobe payloads) are a few kilobytes;
# 64 KiB leaves ample room while bounding what one client can make us buffer.
MAX_LINE = 65536

INVALID_CHARACTER = "invalid character in line"
LINE_TOO_LONG = "line too long"


class State(Enum):
    INTERACTIVE = "interactive"
    ATTACHED = "attached"
    DONE = "done"
    FLUSH = "flush"
    CLOSED = "closed"


class Trigger(Enum):
    ATTACH = "attach"  # Attach parsed
    DONE = "done"  # Done parsed
    EXIT = "exit"  # Exit parsed
    BAD_LINE = "bad line"  # fatal ProtocolError
    EOF = "eof"  # end of input reported
    CYCLE_STOP = "cycle stop"  # the cycle-stop record was sent
    CLOSE = "close"  # the daemon closed the socket


_S = State
_T = Trigger

TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (_S.INTERACTIVE, _T.ATTACH): _S.ATTACHED,
    (_S.INTERACTIVE, _T.EXIT): _S.CLOSED,
    (_S.INTERACTIVE, _T.BAD_LINE): _S.FLUSH,
    (_S.INTERACTIVE, _T.EOF): _S.FLUSH,
    (_S.INTERACTIVE, _T.CLOSE): _S.CLOSED,
    (_S.ATTACHED, _T.DONE): _S.DONE,
    (_S.ATTACHED, _T.BAD_LINE): _S.FLUSH,
    (_S.ATTACHED, _T.EOF): _S.FLUSH,
    (_S.ATTACHED, _T.CYCLE_STOP): _S.FLUSH,
    (_S.ATTACHED, _T.CLOSE): _S.CLOSED,
    (_S.DONE, _T.DONE): _S.DONE,
    (_S.DONE, _T.BAD_LINE): _S.FLUSH,
    (_S.DONE, _T.EOF): _S.FLUSH,
    (_S.DONE, _T.CYCLE_STOP): _S.FLUSH,
    (_S.DONE, _T.CLOSE): _S.CLOSED,
    (_S.FLUSH, _T.EOF): _S.FLUSH,
    (_S.FLUSH, _T.CYCLE_STOP): _S.FLUSH,
    (_S.FLUSH, _T.CLOSE): _S.CLOSED,
    (_S.CLOSED, _T.CLOSE): _S.CLOSED,
}

SENDABLE: dict[State, frozenset[type]] = {
    _S.INTERACTIVE: frozenset({Ok, Err, Info}),
    _S.ATTACHED: frozenset({Ok, OkId, Err, More, Data}),
    # After done scamper still answers commands but never says MORE.
    _S.DONE: frozenset({Ok, OkId, Err, Data}),
    # Replies and results already due still go out while flushing.
    _S.FLUSH: frozenset({Ok, OkId, Err, Info, Data}),
    _S.CLOSED: frozenset(),
}

WARTS_MAGIC = b"\x12\x05"
MIN_OBJECT = 8  # scamper asserts every object is at least a warts header


def _trigger(event: ServerInput) -> Trigger | None:
    if isinstance(event, Attach):
        return Trigger.ATTACH
    if isinstance(event, Done):
        return Trigger.DONE
    if isinstance(event, Exit):
        return Trigger.EXIT
    if isinstance(event, Eof):
        return Trigger.EOF
    if isinstance(event, ProtocolError) and event.fatal:
        return Trigger.BAD_LINE
    return None


def _text(kind: str, text: str) -> bytes:
    if "\n" in text or "\r" in text:
        raise LocalProtocolError(f"{kind} text may not contain a line break: {text!r}")
    try:
        return f"{kind} {text}\n".encode("ascii")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"{kind} text must be ASCII: {text!r}") from None


class ControlConnection:
    """One client of the control socket, server side.

    ``attached=True`` starts in attached mode with warts output, as scamper
    does for a channel opened by sc_remoted.  ``data_ids=False`` writes bare
    ``DATA N`` headers, as 20211212 did (for clients that reject
    ``DATA N id-M``).
    """

    def __init__(self, *, attached: bool = False, data_ids: bool = True,
                 max_line: int = MAX_LINE) -> None:
        self._state = State.ATTACHED if attached else State.INTERACTIVE
        self._format = Format.WARTS
        self._data_ids = data_ids
        self._max_line = max_line
        self._buf = bytearray()
        self._start = 0  # where the next unread line starts in _buf
        self._scanned = 0  # _buf[:_scanned] holds no unread newline
        self._eof = False
        self._eof_reported = False

    @property
    def state(self) -> State:
        return self._state

    @property
    def format(self) -> Format:
        """Output format: warts until an ``attach format json``."""
        return self._format

    # -- input --------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the peer closed its side."""
        if self._eof:
            raise LocalProtocolError("receive_data after end of input")
        if not data:
            self._eof = True
        elif self._state in (State.INTERACTIVE, State.ATTACHED, State.DONE):
            self._buf += data
        # In FLUSH and CLOSED scamper reads and discards.

    def next_event(self) -> ServerInput | Sentinel:
        """The next event, ``NEED_DATA``, or ``CLOSED`` once input is over."""
        if self._state is State.CLOSED:
            return CLOSED
        while self._state in (State.INTERACTIVE, State.ATTACHED, State.DONE):
            raw = self._take_line()
            if raw is None:
                break
            event = raw if isinstance(raw, ProtocolError) else self._parse(raw)
            if event is not None:
                return self._apply(event)
        if self._eof:
            if self._eof_reported:
                return CLOSED
            self._eof_reported = True
            # A partial last line is dropped, as scamper drops it.
            return self._apply(Eof())
        return NEED_DATA

    def _take_line(self) -> bytes | ProtocolError | None:
        buf = self._buf
        idx = buf.find(b"\n", self._scanned)
        if idx < 0:
            # Drop consumed lines only when out of complete ones, so a read
            # holding many lines is not copied once per line.
            del buf[:self._start]
            self._start = 0
            self._scanned = len(buf)
            # +1: the line may yet end in "\r\n".
            if len(buf) > self._max_line + 1:
                return ProtocolError(LINE_TOO_LONG, fatal=True)
            return None
        raw = bytes(buf[self._start:idx])
        self._start = self._scanned = idx + 1
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) > self._max_line:
            return ProtocolError(LINE_TOO_LONG, fatal=True)
        return raw

    def _parse(self, raw: bytes) -> ServerInput | None:
        if not raw:
            return None
        nul = raw.find(b"\0")
        text = raw if nul < 0 else raw[:nul]
        if text.translate(None, PRINTABLE):
            return ProtocolError(INVALID_CHARACTER, fatal=True)
        line = text.decode("ascii")
        if self._state is State.INTERACTIVE:
            return interactive_line(line)
        return attached_line(line, len(raw))

    def _apply(self, event: ServerInput) -> ServerInput:
        if isinstance(event, Attach):
            self._format = event.format
        trigger = _trigger(event)
        if trigger is not None:
            self._move(trigger)
        return event

    def _move(self, trigger: Trigger) -> None:
        self._state = TRANSITIONS.get((self._state, trigger), self._state)
        if self._state in (State.FLUSH, State.CLOSED):
            self._buf.clear()
            self._start = self._scanned = 0

    # -- output -------------------------------------------------------------

    def send(self, event: ServerEvent) -> bytes:
        """The bytes that carry ``event`` to the client."""
        if type(event) not in SENDABLE[self._state]:
            raise LocalProtocolError(
                f"cannot send {type(event).__name__} in state {self._state.value}")
        if isinstance(event, Ok):
            return b"OK\n" if event.text is None else _text("OK", event.text)
        if isinstance(event, OkId):
            return f"OK id-{event.task_id}\n".encode()
        if isinstance(event, Err):
            return _text("ERR", event.text)
        if isinstance(event, More):
            return b"MORE\n"
        if isinstance(event, Info):
            return _text("INFO", event.text)
        return self._send_data(event)

    def _send_data(self, event: Data) -> bytes:
        payload = event.payload
        if self._format is Format.WARTS:
            if len(payload) < MIN_OBJECT or not payload.startswith(WARTS_MAGIC):
                raise LocalProtocolError("warts payload must be a whole warts record")
            body = uuencode(payload)
        else:
            if not payload.startswith(b"{"):
                raise LocalProtocolError("JSON payload must be a JSON object")
            body = payload if payload.endswith(b"\n") else payload + b"\n"
        if self._data_ids and event.task_id is not None:
            header = f"DATA {len(body)} id-{event.task_id}{' inprog' if event.inprog else ''}\n"
        else:
            header = f"DATA {len(body)}\n"
        if event.ends_cycle:
            self._move(Trigger.CYCLE_STOP)
        return header.encode() + body

    def close(self) -> None:
        """The daemon closed the connection: nothing more may be sent."""
        self._move(Trigger.CLOSE)
