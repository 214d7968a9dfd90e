"""Client side of the control protocol: encode commands, decode replies.

:class:`ClientConnection` is the mirror image of
:class:`protocol.control.ControlConnection`: :meth:`ClientConnection.send`
turns client events into lines, and :meth:`ClientConnection.receive_data` /
:meth:`ClientConnection.next_event` turn scamper's byte stream back into
``Ok``, ``OkId``, ``Err``, ``More``, ``Info`` and ``Data`` events.

A ``DATA N`` header announces exactly N payload bytes.  A JSON payload is a
JSON object (it starts with ``{``) and is returned as received, newline
included; anything else is a uuencoded warts record and is returned decoded.
A uuencoded line starts with a length character no greater than ``M``, so the
two can never be confused.
"""

from __future__ import annotations

import re

from .cstrings import PRINTABLE
from .errors import LocalProtocolError, RemoteProtocolError
from .events import (
    CLOSED,
    NEED_DATA,
    Attach,
    ClientEvent,
    Command,
    Data,
    Done,
    Err,
    Exit,
    Format,
    Get,
    Halt,
    Help,
    Info,
    LssClear,
    More,
    Ok,
    OkId,
    RemoteAdd,
    RemoteDelete,
    RemoteList,
    Sentinel,
    ServerEvent,
    Set,
    Shutdown,
    SourceList,
)
from .uu import uudecode

_DATA = re.compile(r"DATA (\d+)(?: id-(\d+)( inprog)?)?")
_OK_ID = re.compile(r"OK id-(\d+)")


def _check_line(line: str) -> bytes:
    """The line as bytes, refusing what scamper would answer with
    ``ERR invalid character in line`` (anything outside 0x20..0x7e)."""
    data = line.encode("ascii", errors="replace") if line.isascii() else b"\x00"
    if data.translate(None, PRINTABLE):
        raise LocalProtocolError(f"line has characters scamper rejects: {line!r}")
    return data + b"\n"


def quote(value: str) -> str:
    """A ``params_get`` word holding ``value``, quoted when it must be."""
    if value == "" or " " in value or value.startswith('"'):
        if '"' in value:
            raise LocalProtocolError(f"cannot quote a value holding '\"': {value!r}")
        return f'"{value}"'
    return value


def _server(host: str | None, port: int) -> str:
    if host is None:
        return str(port)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def encode(event: ClientEvent) -> bytes:
    """The line (with its newline) that carries ``event`` to scamper."""
    if isinstance(event, Attach):
        words = ["attach"]
        if event.format is not Format.WARTS:
            words += ["format", "json"]
        for key, value, default in (("priority", event.priority, 1),
                                    ("list_id", event.list_id, 0),
                                    ("cycle_id", event.cycle_id, 1)):
            if value != default:
                words += [key, str(value)]
        for key, text in (("name", event.name), ("descr", event.descr),
                          ("monitor", event.monitor)):
            if text is not None:
                words += [key, quote(text)]
        return _check_line(" ".join(words))
    if isinstance(event, Command):
        return _check_line(event.line)
    if isinstance(event, Halt):
        return _check_line(f"halt {event.task_id}")
    if isinstance(event, Done):
        return b"done\n"
    if isinstance(event, Get):
        return _check_line(f"get {event.what}")
    if isinstance(event, Set):
        arg = "" if event.value is None else f" {event.value}"
        return _check_line(f"set {event.what}{arg}")
    if isinstance(event, Help):
        return b"help\n"
    if isinstance(event, Exit):
        return b"exit\n"
    if isinstance(event, Shutdown):
        return _check_line(f"shutdown {event.mode}")
    if isinstance(event, SourceList):
        name = "" if event.name is None else f" {quote(event.name)}"
        return _check_line(f"source list{name}")
    if isinstance(event, LssClear):
        return _check_line(f"lss-clear {event.name}")
    if isinstance(event, RemoteAdd):
        ssl = "" if event.ssl is None else f" ssl {'on' if event.ssl else 'off'}"
        return _check_line(f"remote add server {_server(event.host, event.port)}{ssl}")
    if isinstance(event, RemoteDelete):
        if event.error is not None:
            raise LocalProtocolError("a RemoteDelete carrying an error cannot be sent")
        return _check_line(f"remote delete {_server(event.host, event.port)}")
    if isinstance(event, RemoteList):
        return b"remote list\n"
    raise LocalProtocolError(f"not a client event: {event!r}")


def decode_line(line: str) -> ServerEvent | tuple[int, int | None, bool]:
    """One line from scamper: an event, or a DATA header (length, id, inprog)."""
    if line == "OK":
        return Ok()
    if (m := _OK_ID.fullmatch(line)) is not None:
        return OkId(int(m.group(1)))
    if line.startswith("OK "):
        return Ok(line[3:])
    if line == "ERR":
        return Err("")
    if line.startswith("ERR "):
        return Err(line[4:])
    if line == "MORE":
        return More()
    if line.startswith("INFO "):
        return Info(line[5:])
    if (m := _DATA.fullmatch(line)) is not None:
        task_id = None if m.group(2) is None else int(m.group(2))
        return int(m.group(1)), task_id, m.group(3) is not None
    raise RemoteProtocolError(f"unknown response '{line}'")


class ClientConnection:
    """Talks to scamper (or scamperd) from the client side, sans-IO."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._data: tuple[int, int | None, bool] | None = None
        self._eof = False

    def send(self, event: ClientEvent) -> bytes:
        return encode(event)

    def receive_data(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means scamper closed the connection."""
        if self._eof:
            raise LocalProtocolError("receive_data after end of input")
        if not data:
            self._eof = True
        self._buf += data

    def next_event(self) -> ServerEvent | Sentinel:
        """The next reply, ``NEED_DATA``, or ``CLOSED`` after a clean EOF."""
        if self._data is not None:
            length, task_id, inprog = self._data
            if len(self._buf) < length:
                return self._starved()
            block = bytes(self._buf[:length])
            del self._buf[:length]
            self._data = None
            if block.startswith(b"{"):
                return Data(block, task_id, inprog)
            try:
                return Data(uudecode(block), task_id, inprog)
            except ValueError as exc:
                raise RemoteProtocolError(f"bad DATA block: {exc}") from None
        idx = self._buf.find(b"\n")
        if idx < 0:
            return self._starved()
        raw = bytes(self._buf[:idx])
        del self._buf[:idx + 1]
        if raw.translate(None, PRINTABLE):
            raise RemoteProtocolError(f"unprintable reply line {raw!r}")
        decoded = decode_line(raw.decode("ascii"))
        if isinstance(decoded, tuple):
            self._data = decoded
            return self.next_event()
        return decoded

    def _starved(self) -> Sentinel:
        if not self._eof:
            return NEED_DATA
        if self._buf or self._data is not None:
            raise RemoteProtocolError("connection closed inside a reply")
        return CLOSED
