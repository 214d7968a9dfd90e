"""Small formatting helpers shared by the JSON renderers (sc_warts2json).

They reproduce scamper's utils.c helpers exactly: json_esc() (the one
escaping helper of every renderer) stops at the first non-printable byte and
escapes only ``"`` and ``\\``; RTTs print as
milliseconds with three decimals from an integer microsecond count.
"""

from __future__ import annotations

import functools
import time

from .address import Address
from .wire import Timeval


# Memoised: every record of a list escapes the same monitor name, char by
# char (a pure function of immutable arguments; bounded cache).
@functools.lru_cache(maxsize=1024)
def json_esc(s: str, size: int = 512) -> str:
    """utils.c json_esc() into a ``char buf[size]`` (512 unless the caller's
    buffer differs): copy printable ASCII, escape ``"`` and ``\\``, stop at
    the first byte that is not printable, and never write more than
    ``size - 1`` characters nor half an escape."""
    if s.isascii() and s.isprintable():  # printable ASCII: 0x20-0x7e, all of it
        e = s.replace("\\", "\\\\").replace('"', '\\"')
        if len(e) < size:
            return e
    out = []
    room = size - 1
    for ch in s:
        o = ord(ch)
        if o < 0x20 or o > 0x7E:
            break
        if ch == '"' or ch == "\\":
            if room < 2:
                break
            out.append("\\" + ch)
            room -= 2
        else:
            if room < 1:
                break
            out.append(ch)
            room -= 1
    return "".join(out)


def rtt_ms(us: int) -> str:
    """timeval_tostr_us(): ``ms.uuu`` from microseconds."""
    us &= 0xFFFFFFFF
    return f"{us // 1000}.{us % 1000:03d}"


def tv_json(tv: Timeval) -> str:
    return f'{{"sec":{tv.sec},"usec":{tv.usec}}}'


def ftime(sec: int) -> str:
    """Local time as scamper's JSON ``ftime``: ``YYYY-MM-DD HH:MM:SS``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(sec))


def addr_str(a: Address | None) -> str:
    return str(a) if a is not None else ""


def hexbytes(b: bytes) -> str:
    """string_byte2hex(): lower-case hex, two digits a byte."""
    return b.hex()
