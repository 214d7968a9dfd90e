"""The line grammar of scamper's control socket (scamper_control.c).

One function per mode turns a printable line into an event:
:func:`interactive_line` before ``attach``, :func:`attached_line` after.
Error replies that scamper produces without consulting any state are returned
as :class:`ProtocolError` carrying the exact text scamper puts after ``ERR``.

Word splitting follows scamper exactly: the command word ends at the first
whitespace (``string_nextword``), sub-command words are matched without case,
``get`` compares its whole remaining text, and ``attach`` / ``remote`` /
``source list`` parameters go through ``params_get`` (space separated, double
quotes without escapes).
"""

from __future__ import annotations

from collections.abc import Callable

from .cstrings import (
    UINT32_MAX,
    inet_pton,
    params_get,
    string_addrport,
    string_isnumber,
    string_nextword,
    strtoll,
    tollong,
)
from .events import (
    Attach,
    Command,
    Done,
    Exit,
    Format,
    Get,
    GetKey,
    Halt,
    Help,
    LssClear,
    ProtocolError,
    RemoteAdd,
    RemoteDelete,
    RemoteList,
    ServerInput,
    Set,
    SetKey,
    Shutdown,
    ShutdownMode,
    SourceList,
    StatsRequest,
)

# attach takes up to 7 key/value pairs (params[14] in command_attach).
ATTACH_MAX_WORDS = 14
ATTACH_KEYS = ("cycle_id", "descr", "format", "list_id", "monitor", "name", "priority")
PRIORITY_MIN, PRIORITY_MAX = 1, 100000

GET_USAGE = "usage: get [command | monitorname | nameserver | pid | pps | version | window]"
# scamper's set usage omits nameserver although set nameserver works.
SET_USAGE = "usage: set [command | monitorname | pps | window]"
SHUTDOWN_USAGE = "usage: [cancel | done | flush | now]"
SOURCE_USAGE = "usage: source [cycle | list]"
LSS_CLEAR_USAGE = "usage: lss-clear [lss-name]"
REMOTE_USAGE = "usage: remote [add]"
HALT_USAGE = "usage: halt [id]"

Handler = Callable[[str | None], ServerInput]


def _key_values(words: list[str], keys: tuple[str, ...],
                failed: str) -> dict[str, str] | ProtocolError:
    """scamper's ``param_handler`` loop over ``key value`` pairs.

    An unknown key, a repeated key, or a key without a value all give the
    same error naming the key.
    """
    found: dict[str, str] = {}
    for i in range(0, len(words), 2):
        key = words[i]
        k = key.lower()
        if k not in keys or k in found or i + 1 >= len(words):
            return ProtocolError(failed.format(key))
        found[k] = words[i + 1]
    return found


def _number(text: str | None, lo: int, hi: int, default: int) -> int | None:
    """An attach number via ``string_tollong`` base 0; None if invalid."""
    if text is None:
        return default
    v = tollong(text)
    return v if v is not None and lo <= v <= hi else None


def parse_attach(rest: str | None) -> Attach | ProtocolError:
    words = params_get(rest, ATTACH_MAX_WORDS)
    if words is None:
        return ProtocolError("could not params_get")
    found = _key_values(words, ATTACH_KEYS, "command attach param '{}' failed")
    if isinstance(found, ProtocolError):
        return found
    # scamper checks the values in alphabetical order of key; the first bad
    # one is reported.
    cycle_id = _number(found.get("cycle_id"), 0, UINT32_MAX, 1)
    if cycle_id is None:
        return ProtocolError("invalid cycle_id")
    fmt = found.get("format", "warts").lower()
    if fmt not in ("warts", "json"):
        return ProtocolError("format must be warts or json")
    list_id = _number(found.get("list_id"), 0, UINT32_MAX, 0)
    if list_id is None:
        return ProtocolError("invalid list_id")
    priority = _number(found.get("priority"), PRIORITY_MIN, PRIORITY_MAX, 1)
    if priority is None:
        return ProtocolError("invalid priority")
    return Attach(
        format=Format.JSON if fmt == "json" else Format.WARTS,
        priority=priority,
        list_id=list_id,
        cycle_id=cycle_id,
        name=found.get("name"),
        descr=found.get("descr"),
        monitor=found.get("monitor"),
    )


def _get(rest: str | None) -> ServerInput:
    if rest is None:
        return ProtocolError(GET_USAGE)
    # command_get compares everything after "get", spaces included.
    try:
        return Get(GetKey(rest.lower()))
    except ValueError:
        return ProtocolError(f"unhandled get command '{rest}'")


def _strerror_tolong(text: str) -> str:
    """What strerror(errno) says when scamper's string_tolong fails."""
    overflow = strtoll(text, 0)[2]
    # No digits leaves errno at 0 ("Success"); overflow sets ERANGE.
    return "Numerical result out of range" if overflow else "Success"


def _set_number(what: SetKey, value: str | None) -> ServerInput:
    """scamper's ``set_long`` for pps and window."""
    if value is None:
        return ProtocolError(f"set {what} requires argument")
    word, _ = string_nextword(value)
    if not string_isnumber(word):
        return ProtocolError(f"set {what} argument is not an integer")
    v = tollong(word)
    if v is None:
        return ProtocolError(f"could not convert {word} to long: {_strerror_tolong(word)}")
    return Set(what, v)


def _set(rest: str | None) -> ServerInput:
    if rest is None:
        return ProtocolError(SET_USAGE)
    word, value = string_nextword(rest)
    try:
        what = SetKey(word.lower())
    except ValueError:
        return ProtocolError(f"unhandled set command '{word}'")
    if what in (SetKey.PPS, SetKey.WINDOW):
        return _set_number(what, value)
    if what is SetKey.MONITORNAME:
        return Set(what, value)
    if value is None or (what is SetKey.NAMESERVER and inet_pton(value) is None):
        return ProtocolError(f"could not set {what}")
    return Set(what, value)


def _shutdown(rest: str | None) -> ServerInput:
    if rest is None:
        return ProtocolError(SHUTDOWN_USAGE)
    word, _ = string_nextword(rest)
    try:
        return Shutdown(ShutdownMode(word.lower()))
    except ValueError:
        return ProtocolError(f"unhandled command '{word}'")


def _source(rest: str | None) -> ServerInput:
    if rest is None:
        return ProtocolError(SOURCE_USAGE)
    word, args = string_nextword(rest)
    if word.lower() != "list":
        return ProtocolError(f"unhandled command '{word}'")
    if args is None:
        return SourceList(None)
    words = params_get(args, 1)
    if words is None or len(words) != 1:
        return ProtocolError("source check params_get failed")
    return SourceList(words[0])


def _lss_clear(rest: str | None) -> ServerInput:
    if rest is None:
        return ProtocolError(LSS_CLEAR_USAGE)
    return LssClear(string_nextword(rest)[0])


def _remote_add(args: str | None) -> ServerInput:
    words = params_get(args, 4)
    if words is None:
        return ProtocolError("remote add params_get failed")
    found = _key_values(words, ("server", "ssl"), "remote add param '{}' failed")
    if isinstance(found, ProtocolError):
        return found
    if "server" not in found:
        return ProtocolError("usage remote add server <name>")
    server = string_addrport(found["server"])
    if server is None:
        return ProtocolError("invalid server, expect <name>:<port>")
    ssl: bool | None = None
    if "ssl" in found:
        switch = found["ssl"].lower()
        if switch not in ("on", "off"):
            return ProtocolError("ssl <on|off>")
        ssl = switch == "on"
    return RemoteAdd(server[0], server[1], ssl)


def _remote_delete(args: str | None) -> ServerInput:
    words = params_get(args, 1)
    if words is None:
        return RemoteDelete(error="remote delete params_get failed")
    if len(words) != 1:
        return RemoteDelete(error="missing required parameter for remote delete")
    server = string_addrport(words[0])
    if server is None:
        return RemoteDelete(error="invalid server")
    return RemoteDelete(server[0], server[1])


def _remote(rest: str | None) -> ServerInput:
    if rest is None:
        return ProtocolError(REMOTE_USAGE)
    word, args = string_nextword(rest)
    w = word.lower()
    if w == "add":
        return _remote_add(args)
    if w == "delete":
        return _remote_delete(args)
    if w == "list":
        return RemoteList()
    # The text really says "outfile": scamper copied it from an old command.
    return ProtocolError(f"unhandled outfile command '{word}'")


INTERACTIVE_COMMANDS: dict[str, Handler] = {
    "attach": parse_attach,
    "exit": lambda rest: Exit(),
    "get": _get,
    "help": lambda rest: Help(),
    "lss-clear": _lss_clear,
    "remote": _remote,
    "set": _set,
    "shutdown": _shutdown,
    "source": _source,
    "stats": lambda rest: StatsRequest() if not (rest or "").strip() else ProtocolError(
        "usage: stats"),
}


def interactive_line(text: str) -> ServerInput:
    """Parse one printable line received before ``attach``."""
    word, rest = string_nextword(text)
    handler = INTERACTIVE_COMMANDS.get(word.lower())
    if handler is None:
        return ProtocolError(f"unhandled command '{word}'")
    return handler(rest)


def attached_line(text: str, raw_length: int) -> ServerInput:
    """Parse one printable line received after ``attach``.

    ``raw_length`` is the line's length before truncation at a NUL byte:
    scamper recognises ``done`` by length and content together.
    """
    if raw_length == 4 and text.lower() == "done":
        return Done()
    if text[:5].lower() == "halt ":
        _, arg = string_nextword(text)
        # scamper dereferences a missing argument ("halt " alone) and
        # crashes; answering with the usage text is the sane equivalent.
        if arg is None or not string_isnumber(arg):
            return ProtocolError(HALT_USAGE)
        task_id = tollong(arg)
        if task_id is None or not 0 < task_id <= UINT32_MAX:
            return ProtocolError("halt number invalid")
        return Halt(task_id)
    return Command(text)
