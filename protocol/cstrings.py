"""scamper's string helpers (utils.c), restated in Python.

scamper accepts or rejects a command line according to the exact behaviour of a
handful of C helpers: ``strtoll`` with base 0 (so ``0x10`` is 16, ``010`` is 8
and trailing junk after the digits is ignored), ``isspace``/``isprint`` in the
C locale (scamper never calls ``setlocale``), ``string_nextword``,
``params_get``, ``timeval_fromstr`` and ``inet_pton``.  Everything in this
package that mimics scamper's acceptance rules goes through these functions,
so the C semantics are written down once.

Strings here are Python ``str`` holding ASCII; non-ASCII characters simply
never count as digits, spaces or hex digits, as in the C locale.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address

# C isspace() in the "C" locale.
WHITESPACE = " \t\n\v\f\r"

# C isprint() in the "C" locale: 0x20..0x7e.
PRINTABLE = bytes(range(0x20, 0x7F))

LLONG_MIN = -(1 << 63)
LLONG_MAX = (1 << 63) - 1
UINT32_MAX = 0xFFFFFFFF

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"

IPAddress = IPv4Address | IPv6Address


def _digit(c: str, base: int) -> int:
    """Value of one character in ``base``, or -1 (ASCII only, as in C)."""
    v = _DIGITS.find(c.lower()) if c.isascii() and c != "" else -1
    return v if v < base else -1


def strtoll(s: str, base: int = 0) -> tuple[int, int, bool]:
    """glibc ``strtoll``: returns (value, end offset, overflowed).

    End offset 0 with value 0 means "no conversion" (endptr == nptr).  An
    overflow clamps to LLONG_MIN/LLONG_MAX as the C function does.
    """
    n = len(s)
    i = 0
    while i < n and s[i] in WHITESPACE:
        i += 1
    neg = False
    if i < n and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    # A "0x" prefix counts only when a hex digit follows it; otherwise glibc
    # converts the lone "0" and stops at the 'x'.
    if base in (0, 16) and s[i:i + 2].lower() == "0x" and _digit(s[i + 2:i + 3], 16) >= 0:
        base = 16
        i += 2
    elif base == 0:
        base = 8 if s[i:i + 1] == "0" else 10
    start = i
    value = 0
    while i < n and (d := _digit(s[i], base)) >= 0:
        value = value * base + d
        i += 1
    if i == start:
        return 0, 0, False
    if neg:
        value = -value
    if value > LLONG_MAX:
        return LLONG_MAX, i, True
    if value < LLONG_MIN:
        return LLONG_MIN, i, True
    return value, i, False


def string_tollong(s: str, base: int = 0) -> tuple[int, int] | None:
    """scamper's ``string_tollong``: (value, end offset), or None on failure.

    It fails when nothing converts or on overflow; anything after the digits
    is ignored unless the caller looks at the end offset.
    """
    value, end, overflow = strtoll(s, base)
    if overflow or (value == 0 and end == 0):
        return None
    return value, end


def tollong(s: str) -> int | None:
    """``string_tollong(s, &v, NULL, 0)``: the value only, trailing text ignored."""
    r = string_tollong(s, 0)
    return None if r is None else r[0]


def string_isnumber(s: str) -> bool:
    """scamper's ``string_isnumber``: [+-]?digits, where a lone sign passes."""
    if s == "" or (s[0] not in "+-" and _digit(s[0], 10) < 0):
        return False
    return all(_digit(c, 10) >= 0 for c in s[1:])


def string_ishex(s: str) -> int:
    """scamper's ``string_ishex``: the length if all hex digits, else 0."""
    return len(s) if all(_digit(c, 16) >= 0 for c in s) else 0


def string_nextword(s: str) -> tuple[str, str | None]:
    """scamper's ``string_nextword``: split off the first word.

    The word runs to the first whitespace character; the rest starts at the
    next non-whitespace character and is None when nothing follows.
    """
    i = 0
    n = len(s)
    while i < n and s[i] not in WHITESPACE:
        i += 1
    word = s[:i]
    while i < n and s[i] in WHITESPACE:
        i += 1
    return word, (s[i:] if i < n else None)


def params_get(line: str | None, count: int) -> list[str] | None:
    """scamper_control.c ``params_get``: up to ``count`` words, or None.

    Words are separated by spaces only.  A word that starts with a double
    quote runs to the next double quote (no escapes) and may hold spaces; an
    unterminated quote, or more than ``count`` words, is an error.
    """
    if line is None:
        return []
    words: list[str] = []
    n = len(line)
    i = 0
    while i < n and len(words) < count:
        if line[i] == '"':
            i += 1
            start = i
            while i < n and line[i] != '"':
                i += 1
            if i >= n:
                return None
            words.append(line[start:i])
        else:
            start = i
            i += 1
            while i < n and line[i] != " ":
                i += 1
            words.append(line[start:i])
            if i >= n:
                break
        i += 1
        while i < n and line[i] == " ":
            i += 1
    return words if i >= n else None


# timeval_fromstr: how many decimal places a unit has, used to scale the
# fraction.  Units other than these are not accepted by scamper.
_UNIT_PLACES = {1000000: 0, 100000: 1, 10000: 2, 1000: 3, 100: 4, 10: 5}


def timeval_fromstr(s: str, unit: int) -> int | None:
    """scamper's ``timeval_fromstr``: microseconds, or None if malformed.

    The syntax is ``N[.F][s|ms|us]``; with no suffix ``unit`` (in
    microseconds) applies.  The fraction must be non-empty and is scaled
    decimal place by decimal place, so anything finer than a microsecond is
    rejected (``1.5000000`` is invalid, ``1.500`` is valid).
    """
    r1 = string_tollong(s, 10)
    if r1 is None or r1[0] < 0:
        return None
    whole, end = r1
    frac = 0
    rz = 0
    if s[end:end + 1] == ".":
        x = end + 1
        while s[x:x + 1] == "0":
            rz += 1
            x += 1
        r2 = string_tollong(s[end + 1:], 10)
        if r2 is None or r2[0] < 0:
            return None
        frac = r2[0]
        end = end + 1 + r2[1]
    suffix = s[end:]
    if suffix == "s":
        unit = 1000000
    elif suffix == "us":
        unit = 1
    elif suffix == "ms":
        unit = 1000
    elif suffix != "":
        return None
    if frac > unit - 1:
        return None
    if unit in _UNIT_PLACES:
        rz += _UNIT_PLACES[unit]
    elif not (unit == 1 and frac == 0):
        return None
    # C computes in 64-bit unsigned arithmetic; absurd inputs wrap as there.
    v = (whole * unit) % (1 << 64)
    if frac > 0:
        for limit, scale, max_rz in ((10, 100000, 6), (100, 10000, 5), (1000, 1000, 4),
                                     (10000, 100, 3), (100000, 10, 2), (1000000, 1, 1)):
            if frac < limit and rz < max_rz:
                v = (v + frac * (scale // 10 ** rz)) % (1 << 64)
                break
        else:
            return None
    return v


def inet_pton(s: str, family: int = socket.AF_UNSPEC) -> IPAddress | None:
    """scamper's ``scamper_addr_fromstr``: a literal IPv4 or IPv6 address.

    Uses the C library's own ``inet_pton`` (a pure conversion, no I/O), so
    leading zeros, scope ids and trailing spaces are rejected exactly as
    scamper rejects them.  With AF_UNSPEC, IPv4 is tried first.
    """
    families = (socket.AF_INET, socket.AF_INET6) if family == socket.AF_UNSPEC else (family,)
    for fam in families:
        try:
            packed = socket.inet_pton(fam, s)
        except (OSError, ValueError, UnicodeError):
            continue
        return IPv4Address(packed) if fam == socket.AF_INET else IPv6Address(packed)
    return None


def string_addrport(s: str) -> tuple[str | None, int] | None:
    """utils.c ``string_addrport``: ``name:port``, ``[v6]:port`` or ``port``.

    The port goes through ``strtol`` with base 0 (trailing junk ignored) and
    must be 1..65535.  A bare number gives no name.
    """
    if string_isnumber(s):
        lo = tollong(s)
        if lo is None or not 1 <= lo <= 65535:
            return None
        return None, lo
    if s.startswith("["):
        close = s.find("]")
        if close < 0 or s[close + 1:close + 2] != ":":
            return None
        name, port = s[1:close], s[close + 2:]
    else:
        colon = s.find(":")
        if colon < 0:
            return None
        name, port = s[:colon], s[colon + 1:]
    lo = tollong(port)
    if lo is None or not 1 <= lo <= 65535:
        return None
    return name, lo
