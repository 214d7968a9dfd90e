"""ICMP extension objects (RFC 4884; RFC 4950 MPLS labels and the rest):
walking the block a reply carries (``Reply.exts``, found by packets.py) the
way scamper_icmpext_parse() walks it.
"""

from __future__ import annotations

import struct

_U16 = struct.Struct(">H")


def parse_icmp_extensions(ext: bytes) -> list[tuple[int, int, bytes]]:
    """(class, c-type, data) objects of an extension block, walked the way
    scamper_icmpext_parse() walks it.

    scamper stops at the first object that does not reach the end of the
    block (``off + dl < len``), so a block of several objects yields nothing;
    we keep that behaviour so our records equal scamper's.
    """
    out = []
    off = 4
    n = len(ext)
    while off + 4 < n:
        dl = _U16.unpack_from(ext, off)[0]
        if off + dl < n:
            break
        if dl < 8:
            if dl == 0:
                break
            off += dl
            continue
        out.append((ext[off + 2], ext[off + 3], bytes(ext[off + 4:off + dl])))
        off += dl
    return out
