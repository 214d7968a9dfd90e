"""warts: a pure-Python codec for scamper's warts format.

Reading: ``for rec in warts.read(stream)``, or ``warts.open_read(path)`` for
files (compressed ones too).  Writing: ``warts.Writer(stream).write(rec)``.
Rendering: :func:`to_json`, :func:`to_text` and :func:`to_dump` give what
scamper's sc_warts2json, sc_warts2text and sc_wartsdump print for a record.
"""

from __future__ import annotations

from typing import Any

from . import registry
from .address import Address
from .errors import WartsError
from .file import (
    Reader,
    UnknownObject,
    Writer,
    decode,
    decode_object,
    encode,
    open_read,
    open_write,
    read,
)
from .listcycle import CycleDef, CycleInfo, CycleStart, CycleStop, ListInfo, OldAddress
from .wire import IcmpExt, Timeval

__all__ = [
    "Address", "CycleDef", "CycleInfo", "CycleStart", "CycleStop", "IcmpExt",
    "ListInfo", "OldAddress", "Reader", "Timeval", "UnknownObject", "WartsError",
    "Writer", "decode", "decode_object", "encode", "open_read", "open_write", "read",
    "to_dump", "to_json", "to_text",
]


def _render(rec: Any, attr: str) -> str | None:
    rt = registry.BY_CLASS.get(type(rec))
    if rt is None:
        return None
    fn = getattr(rt, attr)
    return fn(rec) if fn is not None else None


def to_json(rec: Any) -> str | None:
    """The line sc_warts2json prints for ``rec`` (with its newline), or None."""
    return _render(rec, "to_json")


def to_text(rec: Any) -> str | None:
    """What sc_warts2text prints for ``rec``, or None."""
    return _render(rec, "to_text")


def to_dump(rec: Any) -> str | None:
    """What sc_wartsdump prints for ``rec``, or None."""
    return _render(rec, "to_dump")
