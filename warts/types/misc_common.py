"""Helpers shared by the less common record types (neighbourdisc, tbit,
sniff, host, http, udpprobe, owamp).

* list/cycle id parameters as ParamTable codecs;
* :class:`CBuf`, a model of scamper's bounded string building (utils.c
  ``string_concat*`` into a fixed ``char buf[N]``), for the JSON renderers
  whose C buffers can overflow on long strings or payloads;
* the small formatters sc_wartsdump uses for every record (``dump_timeval``,
  ``dump_wait``, the list and cycle summaries) and timeval arithmetic done the
  way scamper's ``timeval_diff_tv`` does it.
"""

from __future__ import annotations

import time
from typing import Any

from ..jsonfmt import json_esc
from ..listcycle import CycleInfo, ListInfo
from ..wire import Cursor, Custom, Out, Timeval

# --------------------------------------------------------------------------
# list and cycle id parameters (extract_list / extract_cycle)


def _read_list(cur: Cursor, vals: dict[str, Any]) -> ListInfo | None:
    ret: ListInfo | None = cur.state.get_list(cur.u32(), cur)
    return ret


def _write_list(out: Out, lst: ListInfo) -> None:
    out.u32(out.state.list_id(lst))


def _read_cycle(cur: Cursor, vals: dict[str, Any]) -> CycleInfo | None:
    ret: CycleInfo | None = cur.state.get_cycle(cur.u32(), cur)
    return ret


def _write_cycle(out: Out, cyc: CycleInfo) -> None:
    out.u32(out.state.cycle_id(cyc))


LIST = Custom(_read_list, _write_list)
CYCLE = Custom(_read_cycle, _write_cycle)


# --------------------------------------------------------------------------
# C integer conversions


def cint(v: int) -> int:
    """``(int)v`` for a value held in 32 bits, as printf's ``%d`` shows it."""
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def u32(v: int) -> int:
    return v & 0xFFFFFFFF


def u16(v: int) -> int:
    return v & 0xFFFF


def u8(v: int) -> int:
    return v & 0xFF


# --------------------------------------------------------------------------
# bounded string building (utils.c string_concat and friends)


class CBuf:
    """A ``char buf[size]`` filled with scamper's string_concat* helpers.

    Each method reproduces its C counterpart's truncation exactly: at most
    ``size - 1`` characters are ever held, ``concat`` copies what fits,
    ``concatc`` needs two free bytes, ``byte2hex`` writes whole pairs only
    while more than two bytes are free, and ``concaf`` (vsnprintf) may push
    the offset to ``size`` so that nothing more is added.
    """

    __slots__ = ("size", "parts", "off")

    def __init__(self, size: int) -> None:
        self.size = size
        self.parts: list[str] = []
        self.off = 0

    def concat(self, s: str) -> None:
        left = self.size - self.off
        if left <= 0:
            return
        n = len(s)
        if n >= left:
            s = s[:left - 1]
            n = left - 1
        if n:
            self.parts.append(s)
            self.off += n

    def concatc(self, c: str) -> None:
        if self.size - self.off >= 2:
            self.parts.append(c)
            self.off += 1

    def concaf(self, s: str) -> None:
        left = self.size - self.off
        if left <= 0:
            return
        n = len(s)
        if n < left:
            self.parts.append(s)
            self.off += n
        else:
            self.parts.append(s[:left - 1])
            self.off = self.size

    def byte2hex(self, b: bytes) -> None:
        left = self.size - self.off
        if left <= 0:
            return
        pairs = min(len(b), max(0, (left - 1) // 2))
        if pairs:
            self.parts.append(b[:pairs].hex())
            self.off += 2 * pairs

    def value(self) -> str:
        return "".join(self.parts)


def cstr(s: str | None) -> str:
    """What printf's ``%s`` shows for a C string: glibc prints ``(null)``
    for NULL, and a string stops at its first NUL."""
    if s is None:
        return "(null)"
    i = s.find("\x00")
    return s if i < 0 else s[:i]


# --------------------------------------------------------------------------
# time


def ctime24(sec: int) -> str:
    """The first 24 characters of ctime(3): ``Sat Nov 28 23:26:06 2026``."""
    return time.asctime(time.localtime(sec))


def tv_diff(frm: Timeval, to: Timeval) -> tuple[int, int]:
    """timeval_diff_tv(): ``to - frm`` as (sec, usec), usec borrowed once."""
    sec = to[0] - frm[0]
    usec = to[1] - frm[1]
    if usec < 0:
        sec -= 1
        usec += 1000000
    return sec, usec


def tv_iszero(tv: Timeval | None) -> bool:
    return tv is None or (tv[0] == 0 and tv[1] == 0)


def dump_timeval(label: str, tv: Timeval | None) -> str:
    """sc_wartsdump's dump_timeval(): `` label: <ctime> <usec>``."""
    if tv is None:
        tv = Timeval(0, 0)
    return f" {label}: {ctime24(tv[0])} {cint(tv[1]):06d}\n"


def dump_wait(label: str, sec: int, usec: int) -> str:
    """sc_wartsdump's dump_wait(): seconds, with the fraction's trailing
    zeros dropped (``1s``, ``1.5s``, ``0.25s``)."""
    s = f"{label}: {u32(sec)}"
    usec = u32(usec)
    if usec > 0:
        digits = 6
        while usec % 10 == 0:
            usec //= 10
            digits -= 1
        s += f".{usec:0{digits}d}" if digits > 0 else f".{usec}"
    return s + "s"


def dump_list_summary(lst: ListInfo | None) -> str:
    if lst is None:
        return ""
    s = f" list id: {cint(lst.id)}, name: {lst.name}"
    if lst.monitor is not None:
        s += f", monitor: {lst.monitor}"
    return s + "\n"


def dump_cycle_summary(cyc: CycleInfo | None) -> str:
    if cyc is None:
        return ""
    return f" cycle id: {cint(cyc.id)}\n"


def json_monitor(lst: ListInfo | None) -> str:
    """The ``,"monitor":"..."`` member the JSON headers end with."""
    if lst is None or lst.monitor is None:
        return ""
    return f',"monitor":"{json_esc(lst.monitor)}"'


def hex20(data: bytes) -> str:
    """sc_wartsdump's payload preview: up to 20 bytes of hex, then
    `` + N bytes`` for the rest."""
    s = data[:20].hex()
    if len(data) > 20:
        s += f" + {len(data) - 20} bytes"
    return s


def _read_counted_bytes(field: str) -> Any:
    def read(cur: Cursor, vals: dict[str, Any]) -> bytes:
        # extract_bytes_alloc(): the length is an earlier parameter (zero when
        # absent), and the bytes must lie within the object
        n = vals.get(field) or 0
        if cur.pos >= cur.end or cur.end - cur.pos < n:
            raise cur.error(f"byte array of {n} bytes runs past the object")
        return cur.bytes_(n)
    return read


def _write_bytes(out: Out, value: bytes) -> None:
    out.bytes_(value)


def counted_bytes(field: str) -> Custom:
    """A byte array whose length is the earlier parameter ``field``, read
    the way scamper's extract_bytes_alloc/extract_bytes_ptr read it."""
    return Custom(_read_counted_bytes(field), _write_bytes)
