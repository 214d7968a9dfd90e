"""Shared pieces of the sc_wartsdump renderers, and the list/cycle lines.

sc_wartsdump (utils/sc_wartsdump/sc_wartsdump.c, 20260420) prints one line for
each list and cycle object it reads, and every measurement dump starts with
the same list/cycle summary lines.  The facts it relies on:

| what | how sc_wartsdump prints it |
|---|---|
| list object | ``list id %d, name %s`` then ``, descr "%s"`` when set; no escaping |
| cycle start, def | ``cycle start, list NAME LISTID, cycle CYCLEID, time CTIME`` |
| | (``def`` for a definition), CTIME of the start time |
| cycle stop | the same with ``stop`` and the stop object's time |
| times | ``ctime()`` without its newline: local time, ``Sat Nov 28 23:10:36 2026`` |
| ids | printed with ``%d``, so a u32 above 2^31-1 shows negative |
| list summary | `` list id: %d`` then ``, name: %s`` and ``, monitor: %s`` when set |
| cycle summary | `` cycle id: %d`` |
| address objects | filtered out by the tool: never printed |

sc_warts2text prints nothing for lists and cycles (its funcs table has no
writer for types 1-5), so these types have no text renderer.
"""

from __future__ import annotations

import time

from .listcycle import CycleDef, CycleInfo, CycleStart, CycleStop, ListInfo


def s32(v: int) -> int:
    """A u32 as C's ``%d`` prints it."""
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def ctime(sec: int) -> str:
    """``ctime()`` without the trailing newline, in local time."""
    return time.asctime(time.localtime(sec))


def list_summary(lst: ListInfo | None) -> str:
    """The `` list id: ...`` line a measurement dump starts with ("" if none)."""
    if lst is None:
        return ""
    name = f", name: {lst.name}" if lst.name is not None else ""
    monitor = f", monitor: {lst.monitor}" if lst.monitor is not None else ""
    return f" list id: {s32(lst.id)}{name}{monitor}\n"


def cycle_summary(cyc: CycleInfo | None) -> str:
    """The `` cycle id: N`` line ("" if none)."""
    if cyc is None:
        return ""
    return f" cycle id: {s32(cyc.id)}\n"


def list_dump(rec: ListInfo) -> str:
    descr = f', descr "{rec.descr}"' if rec.descr is not None else ""
    return f"list id {s32(rec.id)}, name {rec.name}{descr}\n"


def _cycle_line(kind: str, cyc: CycleInfo, t: int) -> str:
    lst = cyc.list
    return (f"cycle {kind}, list {lst.name} {s32(lst.id)}, cycle {s32(cyc.id)}, "
            f"time {ctime(t)}\n")


def cycle_start_dump(rec: CycleStart) -> str:
    return _cycle_line("start", rec.cycle, rec.cycle.start_time)


def cycle_def_dump(rec: CycleDef) -> str:
    return _cycle_line("def", rec.cycle, rec.cycle.start_time)


def cycle_stop_dump(rec: CycleStop) -> str:
    return _cycle_line("stop", rec.cycle, rec.stop_time)
