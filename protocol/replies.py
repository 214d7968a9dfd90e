"""Reply events whose text depends on daemon state, worded as scamper words them.

The daemon answers :class:`Get`, :class:`Set`, :class:`Halt`, ... with values
only it knows (the pps, the window use, whether a task exists); these helpers
build the exact scamper texts so they are written once.
"""

from __future__ import annotations

from .events import Err, GetKey, Info, Ok, SetKey

SCAMPER_VERSION = "20260420"

# scamper.h: SCAMPER_OPTION_PPS_MIN/MAX and SCAMPER_OPTION_WINDOW_MIN/MAX.
PPS_MIN, PPS_DEF, PPS_MAX = 1, 20, 50000
WINDOW_MIN, WINDOW_DEF, WINDOW_MAX = 0, 0, 65535

OK = Ok()
# scamper's help is unimplemented and says so, in both versions.
HELP = Err("XXX: todo")
NO_REMOTES = Err("no remote connections")
REMOTE_ADD_FAILED = Err("could not add remote")
SSL_NOT_SUPPORTED = Err("ssl not supported")
INTERNAL_ERROR = Err("internal error")


def get_value(what: GetKey, value: str | int | None) -> Ok:
    """``OK <what> <value>``, or ``OK null <what>`` when unset."""
    if value is None:
        return Ok(f"null {what}")
    return Ok(f"{what} {value}")


# The counters ``stats`` reports, in the order it reports them.
STATS_KEYS = ("probes", "replies", "pps", "target-pps", "slots-skipped", "kernel-drops",
              "malformed", "send-errors", "tasks-queued", "tasks-active")


def stats(values: dict[str, int | float]) -> Ok:
    """``OK stats probes=N replies=N pps=X ...``: one line, every key of
    STATS_KEYS, so a client reads it like any ``OK``.  ``pps`` is the rate
    achieved from the first probe to the latest; ``slots-skipped`` the send
    slots given up when the prober fell behind ``target-pps``;
    ``kernel-drops`` the replies the host dropped for want of buffer space."""
    def fmt(v: int | float) -> str:
        return f"{v:.1f}" if isinstance(v, float) else str(v)
    return Ok("stats " + " ".join(f"{k}={fmt(values[k])}" for k in STATS_KEYS))


def window_value(in_use: int, maximum: int) -> str:
    """The value of ``get window``: tasks in use / window size (0 = no limit)."""
    return f"{in_use}/{maximum}"


def ppswindow_valid(pps: int, window: int) -> bool:
    """scamper's rule for a (pps, window) pair, applied by ``set pps|window``.

    Either may be 0 (unlimited) but not both; otherwise each must be in range.
    """
    if pps == 0 and window == 0:
        return False
    if pps != 0 and not PPS_MIN <= pps <= PPS_MAX:
        return False
    return window == 0 or WINDOW_MIN <= window <= WINDOW_MAX


def set_number(what: SetKey, value: int, accepted: bool) -> Ok | Err:
    """Reply to ``set pps N`` / ``set window N`` after the daemon applied it."""
    if accepted:
        return Ok(f"{what} {value}")
    lo, hi = (PPS_MIN, PPS_MAX) if what is SetKey.PPS else (WINDOW_MIN, WINDOW_MAX)
    return Err(f"{what}: {value} out of range ({lo}, {hi})")


def set_failed(what: SetKey) -> Err:
    return Err(f"could not set {what}")


def command_not_accepted(reason: str | None = None) -> Err:
    """Reply to a rejected measurement command; reason None is 20211212's form."""
    if reason:
        return Err(f"command not accepted: {reason}")
    return Err("command not accepted")


def halted(task_id: int) -> Ok:
    return Ok(f"halted {task_id}")


def no_task(task_id: int) -> Err:
    return Err(f"no task id-{task_id}")


def source_info(name: str, list_id: int, cycle_id: int, priority: int, kind: str,
                descr: str | None = None, outfile: str | None = None,
                filename: str | None = None) -> Info:
    """One ``INFO`` line of ``source list``; kind is file, cmdline or control."""
    text = f"name '{name}'"
    if descr is not None:
        text += f" descr '{descr}'"
    text += f" list_id {list_id} cycle_id {cycle_id} priority {priority}"
    if outfile is not None:
        text += f" outfile '{outfile}'"
    text += f" type '{kind}'"
    if kind == "file":
        text += f" file '{filename}'"
    return Info(text)


def no_source(name: str) -> Err:
    return Err(f"no source '{name}'")


def lss_clear(name: str, cleared: bool) -> Ok | Err:
    return Ok(f"lss-clear {name}") if cleared else Err(f"lss-clear {name} failed")


def _server(host: str | None, port: int) -> str:
    # A bare-port server has no name; C's printf shows a NULL string so.
    return f"{'(null)' if host is None else host}:{port}"


def remote_exists(host: str | None, port: int) -> Err:
    return Err(f"{_server(host, port)} already exists")


def remote_not_found(host: str | None, port: int) -> Err:
    return Err(f"{_server(host, port)} not found")


def remote_info(host: str, port: int, alias: str | None = None) -> Info:
    """One ``INFO`` line of ``remote list``."""
    return Info(f"{host}:{port}" + ("" if alias is None else f" alias {alias}"))
