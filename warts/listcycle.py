"""List, cycle and old-style address objects (types 1-5).

A list (type 1) names a set of measurements; a cycle (types 2-4) is one pass
over a list.  Inside a file both get *warts ids* from per-file counters that
start at 1 (0 means none), and records refer to them by those ids; in memory a
record simply holds the :class:`ListInfo` / :class:`CycleInfo` it belongs to
and the writer assigns ids again, the way scamper's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .address import Address
from .objtypes import (
    OBJ_ADDR,
    OBJ_CYCLE_DEF,
    OBJ_CYCLE_START,
    OBJ_CYCLE_STOP,
    OBJ_LIST,
)
from .wire import STRING, U32, Cursor, Out, ParamTable

LIST_PARAMS = ParamTable(
    (1, "descr", STRING),
    (2, "monitor", STRING),
)

CYCLE_PARAMS = ParamTable(
    (1, "stop_time", U32),
    (2, "hostname", STRING),
)


@dataclass(frozen=True, slots=True)
class ListInfo:
    """scamper_list_t: ``id`` is the human list id (``-l``/``list_id``)."""

    OBJ_TYPE: ClassVar[int] = OBJ_LIST
    id: int
    name: str
    descr: str | None = None
    monitor: str | None = None


@dataclass(frozen=True, slots=True)
class CycleInfo:
    """scamper_cycle_t as stored by a cycle start or definition object.

    ``stop_time`` is the optional flag-1 parameter of the start object (the
    cycle-stop object's time is held by :class:`CycleStop`).
    """

    list: ListInfo
    id: int
    start_time: int
    stop_time: int | None = None
    hostname: str | None = None


@dataclass(frozen=True, slots=True)
class CycleStart:
    OBJ_TYPE: ClassVar[int] = OBJ_CYCLE_START
    cycle: CycleInfo


@dataclass(frozen=True, slots=True)
class CycleDef:
    """A cycle definition: written when a record refers to a cycle whose
    start is not in this file.  Same layout as :class:`CycleStart`."""

    OBJ_TYPE: ClassVar[int] = OBJ_CYCLE_DEF
    cycle: CycleInfo


@dataclass(frozen=True, slots=True)
class CycleStop:
    OBJ_TYPE: ClassVar[int] = OBJ_CYCLE_STOP
    cycle: CycleInfo
    stop_time: int
    flags: int = 0


@dataclass(frozen=True, slots=True)
class OldAddress:
    """A deprecated global address object (type 5); ids are implicit, from 1."""

    OBJ_TYPE: ClassVar[int] = OBJ_ADDR
    id_check: int
    addr: Address


# --------------------------------------------------------------------------


def decode_list(cur: Cursor) -> ListInfo:
    st = cur.state
    if cur.end < 11:
        raise cur.error("list object shorter than 11 bytes", 0)
    wid = cur.u32()
    if wid != st.next_list_id:
        raise cur.error(f"list id {wid} out of sequence, want {st.next_list_id}", 0)
    lid = cur.u32()
    name = cur.string()
    vals = LIST_PARAMS.read(cur)
    lst = ListInfo(lid, name, **vals)
    st.lists.append(lst)
    return lst


def encode_list(rec: ListInfo, out: Out) -> None:
    out.u32(out.state.assign_list(rec))
    out.u32(rec.id)
    out.string(rec.name)
    LIST_PARAMS.write(out, rec)


def _decode_cycle_info(cur: Cursor) -> CycleInfo:
    st = cur.state
    if cur.end < 17:
        raise cur.error("cycle object shorter than 17 bytes", 0)
    wid = cur.u32()
    if wid != st.next_cycle_id:
        raise cur.error(f"cycle id {wid} out of sequence, want {st.next_cycle_id}", 0)
    lst = st.get_list(cur.u32(), cur)
    if lst is None:
        raise cur.error("cycle refers to no list", 4)
    cid = cur.u32()
    start = cur.u32()
    vals = CYCLE_PARAMS.read(cur)
    cyc = CycleInfo(lst, cid, start, **vals)
    st.cycles[wid] = cyc
    st.next_cycle_id += 1
    return cyc


def _encode_cycle_info(cyc: CycleInfo, out: Out) -> None:
    st = out.state
    list_id = st.list_id(cyc.list)
    out.u32(st.assign_cycle(cyc))
    out.u32(list_id)
    out.u32(cyc.id)
    out.u32(cyc.start_time)
    CYCLE_PARAMS.write(out, cyc)


def decode_cycle_start(cur: Cursor) -> CycleStart:
    return CycleStart(_decode_cycle_info(cur))


def decode_cycle_def(cur: Cursor) -> CycleDef:
    return CycleDef(_decode_cycle_info(cur))


def encode_cycle(rec: CycleStart | CycleDef, out: Out) -> None:
    _encode_cycle_info(rec.cycle, out)


def decode_cycle_stop(cur: Cursor) -> CycleStop:
    st = cur.state
    wid = cur.u32()
    cyc = st.cycles.get(wid) if wid != 0 else None
    if cyc is None:
        raise cur.error(f"cycle stop for unknown cycle {wid}", 0)
    stop = cur.u32()
    flags = cur.u8()
    del st.cycles[wid]
    return CycleStop(cyc, stop, flags)


def encode_cycle_stop(rec: CycleStop, out: Out) -> None:
    st = out.state
    out.u32(st.cycle_id(rec.cycle))
    out.u32(rec.stop_time)
    out.u8(rec.flags)
    st.end_cycle(rec.cycle)


def decode_addr(cur: Cursor) -> OldAddress:
    st = cur.state
    if cur.end < 3:
        raise cur.error("address object shorter than 3 bytes", 0)
    check = cur.u8()
    want = (len(st.addrs) + 1) % 255
    if check != want:
        raise cur.error(f"address id check {check}, want {want}", 0)
    atype = cur.u8()
    a = cur._addr_body(cur.end - 2, atype)
    st.addrs.append(a)
    return OldAddress(check, a)


def encode_addr(rec: OldAddress, out: Out) -> None:
    out.u8(rec.id_check)
    out.u8(rec.addr.atype)
    out.bytes_(rec.addr.raw)
    out.state.addrs.append(rec.addr)


def _cycle_json(cyc: CycleInfo, kind: str, t: int) -> str:
    # scamper_file_json.c prints the list name and hostname unescaped.
    host = f', "hostname":"{cyc.hostname}"' if cyc.hostname is not None else ""
    return (f'{{"type":"cycle-{kind}", "list_name":"{cyc.list.name}", '
            f'"id":{cyc.id}{host}, "{kind}_time":{t}}}\n')


def cycle_start_json(rec: CycleStart) -> str:
    return _cycle_json(rec.cycle, "start", rec.cycle.start_time)


def cycle_stop_json(rec: CycleStop) -> str:
    return _cycle_json(rec.cycle, "stop", rec.stop_time)
