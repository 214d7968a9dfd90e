"""uuencoding of warts DATA blocks, byte for byte as scamper writes them.

scamper (utils.c ``uuencode_bytes``) writes 45 input bytes per line: a length
character ``chr(32 + n)``, ``4 * ceil(n / 3)`` characters and a newline, with a
6-bit zero written as a backtick rather than a space, then a terminating line
holding a lone backtick.  There is no ``begin``/``end`` wrapper.  This is
exactly ``binascii.b2a_uu(chunk, backtick=True)`` per chunk (verified against
the captured DATA blocks, control-protocol.md section 3.4).  libscamperctrl
refuses characters outside ``!``..backtick, so the decoder does too.
"""

from __future__ import annotations

import binascii

LINE_BYTES = 45
TERMINATOR = b"`\n"

# Characters a well-formed line may hold besides its newline.
_UU_CHARS = frozenset(range(0x21, 0x61))


def uuencode(data: bytes) -> bytes:
    """Encode ``data`` as a scamper DATA payload (lines plus terminator)."""
    parts = [binascii.b2a_uu(data[i:i + LINE_BYTES], backtick=True)
             for i in range(0, len(data), LINE_BYTES)]
    parts.append(TERMINATOR)
    return b"".join(parts)


def uuencoded_length(n: int) -> int:
    """The byte count ``uuencode`` produces for ``n`` input bytes.

    This is the N of ``DATA N``; libscamperctrl sizes its buffer with the same
    formula, so it must be exact.
    """
    full, rest = divmod(n, LINE_BYTES)
    length = full * (2 + 4 * LINE_BYTES // 3)
    if rest:
        length += 2 + 4 * ((rest + 2) // 3)
    return length + len(TERMINATOR)


def uudecode(block: bytes) -> bytes:
    """Decode a complete DATA payload; ValueError if it is malformed."""
    if not block.endswith(b"\n"):
        raise ValueError("uuencoded block does not end with a newline")
    lines = block[:-1].split(b"\n")
    if lines[-1] != b"`":
        raise ValueError("uuencoded block lacks its backtick terminator")
    out = []
    for line in lines[:-1]:
        if not line or not _UU_CHARS.issuperset(line) or line == b"`":
            raise ValueError(f"bad uuencoded line {line!r}")
        n = line[0] - 32
        if not 1 <= n <= LINE_BYTES or len(line) != 1 + 4 * ((n + 2) // 3):
            raise ValueError(f"uuencoded line has the wrong length: {line!r}")
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error as exc:
            raise ValueError(f"bad uuencoded line {line!r}: {exc}") from None
    return b"".join(out)
