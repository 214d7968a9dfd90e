"""A DNS server's answer to a PTR query, for the resolver's tests and for the
test bed's responder (a process of its own: this module needs only the
standard library)."""

from __future__ import annotations

import struct


def answer(query: bytes, names: list[str], *, rtype: int = 12, compress: bool = True) -> bytes:
    """A response to ``query`` with one PTR (or ``rtype``) record per name,
    the owner a compression pointer to the question (or written out)."""
    qid = struct.unpack_from(">H", query)[0]
    end = query.index(b"\0", 12) + 5
    out = struct.pack(">HHHHHH", qid, 0x8180, 1, len(names), 0, 0) + query[12:end]
    for n in names:
        owner = b"\xc0\x0c" if compress else query[12:end - 4]
        rd = b"".join(bytes([len(x)]) + x.encode() for x in n.split(".")) + b"\0"
        out += owner + struct.pack(">HHIH", rtype, 1, 60, len(rd)) + rd
    return out
