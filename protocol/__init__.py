"""scamper's control protocol and command grammar, sans-IO.

Server side: :class:`ControlConnection` (``receive_data``, ``next_event``,
``send``).  Client side: :class:`ClientConnection`.  Commands:
:func:`parse_command` returns a frozen command dataclass or raises
:class:`CommandError`.  Replies whose wording depends on daemon state are
built by :mod:`protocol.replies`.  This package imports nothing else of ours
and does no I/O.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import replies
from .client import ClientConnection
from .commands import (
    GRAMMARS,
    MEASUREMENTS,
    CommandContext,
    command_word,
    parse_command,
    register,
)
from .commands.ping import PING_OPTIONS, PingCommand, PingFlag, PingMethod
from .commands.trace import TRACE_OPTIONS, TraceCommand, TraceFlag, TraceMethod
from .commands.tracelb import TRACELB_OPTIONS, TracelbCommand, TracelbFlag, TracelbMethod
from .control import MAX_LINE, SENDABLE, TRANSITIONS, ControlConnection, State
from .errors import CommandError, LocalProtocolError, RemoteProtocolError
from .events import (
    CLOSED,
    NEED_DATA,
    Attach,
    ClientEvent,
    Command,
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
    Info,
    LssClear,
    More,
    Ok,
    OkId,
    ProtocolError,
    RemoteAdd,
    RemoteDelete,
    RemoteList,
    Sentinel,
    ServerEvent,
    ServerInput,
    Set,
    SetKey,
    Shutdown,
    ShutdownMode,
    SourceList,
    StatsRequest,
)
from .options import ArgType, OptionSpec, ParsedOptions, parse_options
from .uu import uudecode, uuencode, uuencoded_length

if TYPE_CHECKING:
    from .commands import MeasurementCommand
    from .commands.dealias import (
        DEALIAS_OPTIONS,
        DealiasCommand,
        DealiasMethod,
        Probedef,
        ProbedefMethod,
    )

# dealias's grammar is imported on first use of one of its names (see
# protocol.commands.parse_dealias): a daemon need not load it to start.
_LAZY = {"MeasurementCommand": ".commands",
         **dict.fromkeys(("DEALIAS_OPTIONS", "DealiasCommand", "DealiasMethod", "Probedef",
                          "ProbedefMethod"), ".commands.dealias")}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(mod, __name__), name)

__all__ = [
    "CLOSED", "GRAMMARS", "MAX_LINE", "MEASUREMENTS", "NEED_DATA", "PING_OPTIONS", "SENDABLE",
    "TRANSITIONS", "ArgType", "Attach", "ClientConnection", "ClientEvent", "Command",
    "CommandContext", "CommandError", "ControlConnection", "Data", "Done", "Eof", "Err", "Exit",
    "Format", "Get", "GetKey", "Halt", "Help", "Info", "LocalProtocolError", "LssClear",
    "MeasurementCommand", "More", "Ok", "OkId", "OptionSpec", "ParsedOptions", "PingCommand",
    "PingFlag", "PingMethod", "ProtocolError", "RemoteAdd", "RemoteDelete", "RemoteList",
    "RemoteProtocolError", "Sentinel", "ServerEvent", "ServerInput", "Set", "SetKey",
    "Shutdown", "ShutdownMode", "SourceList", "State", "StatsRequest", "command_word",
    "parse_command", "parse_options", "register", "replies", "uudecode", "uuencode",
    "uuencoded_length",
    "TRACE_OPTIONS", "TraceCommand", "TraceFlag", "TraceMethod",
    "TRACELB_OPTIONS", "TracelbCommand", "TracelbFlag", "TracelbMethod",
    "DEALIAS_OPTIONS", "DealiasCommand", "DealiasMethod", "Probedef", "ProbedefMethod",
]
