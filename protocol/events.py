"""Events of the control protocol.

Client-to-server events are what :meth:`ControlConnection.next_event` yields
(and what :class:`ClientConnection.send` encodes); server-to-client events are
what :meth:`ControlConnection.send` encodes (and what the client decoder
yields).  All are frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum, StrEnum
from typing import Literal


class Sentinel(Enum):
    """Values of ``next_event`` that are not events."""

    NEED_DATA = "NEED_DATA"  # no complete line buffered: call receive_data
    CLOSED = "CLOSED"  # input is over for good (exit, end of input)


NEED_DATA: Literal[Sentinel.NEED_DATA] = Sentinel.NEED_DATA
CLOSED: Literal[Sentinel.CLOSED] = Sentinel.CLOSED


class Format(IntEnum):
    """Result format of an attached client (scamper's CLIENT_FORMAT_*)."""

    WARTS = 0
    JSON = 1


class GetKey(StrEnum):
    """Words accepted by ``get``; the value is the word in replies."""

    COMMAND = "command"
    MONITORNAME = "monitorname"
    NAMESERVER = "nameserver"
    PID = "pid"
    PPS = "pps"
    VERSION = "version"
    WINDOW = "window"


class SetKey(StrEnum):
    """Words accepted by ``set``."""

    COMMAND = "command"
    MONITORNAME = "monitorname"
    NAMESERVER = "nameserver"
    PPS = "pps"
    WINDOW = "window"


class ShutdownMode(StrEnum):
    """``shutdown cancel|done|flush|now``."""

    CANCEL = "cancel"
    DONE = "done"
    FLUSH = "flush"
    NOW = "now"


# ---------------------------------------------------------------------------
# client -> server


@dataclass(frozen=True)
class Attach:
    """``attach [key value]...``: the connection becomes a source of tasks.

    ``name`` None means scamper's default (the peer's address); ``descr`` and
    ``monitor`` None mean unset (monitor then defaults to the monitor name).
    """

    format: Format = Format.WARTS
    priority: int = 1
    list_id: int = 0
    cycle_id: int = 1
    name: str | None = None
    descr: str | None = None
    monitor: str | None = None


@dataclass(frozen=True)
class Command:
    """A measurement command line sent while attached (parse with
    :func:`protocol.parse_command`)."""

    line: str


@dataclass(frozen=True)
class Halt:
    """``halt <id>``, id already checked to be 1..2^32-1."""

    task_id: int


@dataclass(frozen=True)
class Done:
    """``done``: the client will send no more commands."""


@dataclass(frozen=True)
class Get:
    what: GetKey


@dataclass(frozen=True)
class Set:
    """``set <what> <value>``.

    ``value`` is an int for pps and window (already converted as scamper
    does, range not yet checked: the valid range of one depends on the other,
    see :func:`protocol.replies.ppswindow_valid`), the rest of the line for
    command and monitorname (None for monitorname means clear it), and a
    valid IP address literal for nameserver.
    """

    what: SetKey
    value: str | int | None


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class StatsRequest:
    """``stats`` (scamperd's, not scamper's): the prober's counters, one
    ``OK stats key=value ...`` line (see :func:`protocol.replies.stats`)."""


@dataclass(frozen=True)
class Exit:
    """``exit``: scamper closes the connection at once, without a reply."""


@dataclass(frozen=True)
class Shutdown:
    mode: ShutdownMode


@dataclass(frozen=True)
class SourceList:
    """``source list [name]``; None lists every source."""

    name: str | None = None


@dataclass(frozen=True)
class LssClear:
    name: str


@dataclass(frozen=True)
class RemoteAdd:
    """``remote add server <host:port> [ssl on|off]``; ssl None = default.

    ``host`` is None when the server was given as a bare port number.
    """

    host: str | None
    port: int
    ssl: bool | None = None


@dataclass(frozen=True)
class RemoteDelete:
    """``remote delete <host:port>``.

    scamper answers ``ERR no remote connections`` before looking at the
    argument, so a malformed argument is carried here as ``error`` (the text
    after ``ERR``) rather than rejected by the parser: reply with it only if
    there are remotes.
    """

    host: str | None = None
    port: int = 0
    error: str | None = None


@dataclass(frozen=True)
class RemoteList:
    pass


@dataclass(frozen=True)
class ProtocolError:
    """A line scamper answers with ``ERR <reason>`` without involving the daemon.

    ``fatal`` errors (a non-printable byte, an over-long line) put the
    connection into flush mode: finish and abandon the client's source, send
    what is queued, then close.
    """

    reason: str
    fatal: bool = False


@dataclass(frozen=True)
class Eof:
    """The peer closed its side.  Attached: finish and abandon the source."""


ClientEvent = (Attach | Command | Halt | Done | Get | Set | Help | Exit | Shutdown | SourceList
               | LssClear | RemoteAdd | RemoteDelete | RemoteList | StatsRequest)
ServerInput = ClientEvent | ProtocolError | Eof


# ---------------------------------------------------------------------------
# server -> client


@dataclass(frozen=True)
class Ok:
    """``OK`` or ``OK <text>``."""

    text: str | None = None


@dataclass(frozen=True)
class OkId:
    """``OK id-<n>``: a command was accepted as task n."""

    task_id: int


@dataclass(frozen=True)
class Err:
    """``ERR <text>``."""

    text: str


@dataclass(frozen=True)
class More:
    """``MORE``: every command given so far has started; send another."""


@dataclass(frozen=True)
class Info:
    """``INFO <text>`` (source list, remote list)."""

    text: str


@dataclass(frozen=True)
class Data:
    """One result object.

    ``payload`` is a warts record (uuencoded on the wire) or a JSON object
    (sent as is, with a newline appended when it lacks one).  ``task_id`` is
    None for objects with no task (list, cycle-start, cycle-stop);
    ``inprog`` marks an in-progress snapshot (``-y``); ``ends_cycle`` marks
    the cycle-stop record, after which the connection flushes and closes
    (the sender knows what it sends: the payload is opaque here).
    """

    payload: bytes
    task_id: int | None = None
    inprog: bool = False
    ends_cycle: bool = False


ServerEvent = Ok | OkId | Err | More | Info | Data
