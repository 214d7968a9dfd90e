"""warts: a pure-Python codec for scamper's warts format.

Reading: ``for rec in warts.read(stream)``, or ``warts.open_read(path)`` for
files (compressed ones too).  Writing: ``warts.Writer(stream).write(rec)``.
Rendering: :func:`to_json`, :func:`to_text` and :func:`to_dump` give what
scamper's sc_warts2json, sc_warts2text and sc_wartsdump print for a record.

Importing the package is cheap: the reader, writer, record types and
renderers (:mod:`warts.registry` imports every record module) are imported
on first use of a name that needs them, so a program that only builds
records of one type, such as the daemon at start-up, does not pay for the
rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .address import Address
from .cursor import Timeval
from .errors import WartsError

if TYPE_CHECKING:
    from . import registry
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
    from .wire import IcmpExt

__all__ = [
    "Address", "CycleDef", "CycleInfo", "CycleStart", "CycleStop", "IcmpExt",
    "ListInfo", "OldAddress", "Reader", "Timeval", "UnknownObject", "WartsError",
    "Writer", "decode", "decode_object", "encode", "open_read", "open_write", "read",
    "registry", "to_dump", "to_json", "to_text",
]

# name -> the submodule it comes from, imported on first access (PEP 562).
_LAZY = {
    **dict.fromkeys(("Reader", "UnknownObject", "Writer", "decode", "decode_object",
                     "encode", "open_read", "open_write", "read"), "file"),
    **dict.fromkeys(("CycleDef", "CycleInfo", "CycleStart", "CycleStop", "ListInfo",
                     "OldAddress"), "listcycle"),
    "IcmpExt": "wire",
}


def __getattr__(name: str) -> Any:
    if name == "registry":
        return importlib.import_module(".registry", __name__)
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _render(rec: Any, attr: str) -> str | None:
    from .registry import BY_CLASS

    rt = BY_CLASS.get(type(rec))
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
