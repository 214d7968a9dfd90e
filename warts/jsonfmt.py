"""Small formatting helpers shared by the JSON renderers (sc_warts2json).

They reproduce scamper's utils.c helpers exactly: json_esc() stops at the
first non-printable byte and escapes only ``"`` and ``\\``; RTTs print as
milliseconds with three decimals from an integer microsecond count.
"""

from __future__ import annotations

import time

from .address import Address
from .wire import Timeval


def esc(s: str) -> str:
    """scamper's json_esc(): copy printable ASCII, escape ``"`` and ``\\``,
    and stop at the first byte that is not printable."""
    out = []
    for ch in s:
        o = ord(ch)
        if o < 0x20 or o > 0x7E:
            break
        if ch == '"' or ch == "\\":
            out.append("\\")
        out.append(ch)
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
