"""What a measurement method hands the daemon: the :class:`Method` record.

Kept apart from the table in ``scamperd/methods/__init__.py`` so that a
method package can build its own record without importing the table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..engine.task import MatchKey, TaskFactory

# (command, context, host) -> the task, built when the scheduler starts it
MethodFactory = TaskFactory
# (command, source, errmsg, now_ns) -> the record returned for a task that
# failed inside scamperd (its method raised), built from the command alone
FailedRecord = Callable[[Any, Any, str, int], Any]


@dataclass(frozen=True)
class Method:
    """One measurement method, as the daemon sees it."""

    name: str
    factory: MethodFactory
    failed: FailedRecord
    # The destination whose source address the kernel must choose when the
    # command is accepted (scamper_getsrc()), or None when the command gives
    # its own source: a destination no route leads to is refused then.
    route_to: Callable[[Any], bytes | None]
    # The match keys the command's task will hold, when the command alone
    # says (None: drawn as the task is built): a command blocked behind a
    # busy key is then found without building its task.
    keys: Callable[[Any], tuple[MatchKey, ...] | None] = lambda command: None


def dst_unless_src(command: Any) -> bytes | None:
    """``route_to`` for commands with ``dst`` and an optional ``src`` (-S)."""
    return command.dst.packed if command.src is None else None


def bind_errmsg(kind: str, src: bytes, sport: int, err: OSError) -> str:
    """What scamper 20260420 records when it cannot bind a probe socket to
    the source address (scamper_icmp4/6.c, scamper_udp4/6.c, rendered by
    scamper_err_render(): text, ``: ``, strerror)."""
    v6 = len(src) == 16
    text = str(ipaddress.ip_address(src))
    if kind == "udp":
        what = f"udp6 [{text}.{sport}]" if v6 else f"udp4dgram {text}:{sport}"
    else:
        what = f"icmp6 [{text}]" if v6 else f"icmp4 {text}"
    reason = err.strerror or str(err)
    return f"could not bind {what}: {reason}"
