"""Warts bytes written by hand, for the readers' tests: what a test means to
feed a reader (an unknown flag, a missing parameter, an old layout) is
clearest as the bytes themselves, built with these."""

from __future__ import annotations

import socket
import struct

from warts.wire import flags_bytes


def block(params: dict[int, bytes]) -> bytes:
    """A flags+params block from {flag: the parameter's bytes}; no
    parameters is the lone zero flags byte, as scamper writes it."""
    if not params:
        return b"\x00"
    flags = 0
    for f in params:
        flags |= 1 << (f - 1)
    body = b"".join(params[f] for f in sorted(params))
    return flags_bytes(flags) + struct.pack(">H", len(body)) + body


def addr4(s: str) -> bytes:
    """A per-record IPv4 address definition (length 4, type 1, the address)."""
    return b"\x04\x01" + socket.inet_aton(s)
