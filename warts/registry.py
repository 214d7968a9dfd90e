"""Which Python class and functions handle each warts object type.

Each record module registers its type here; the file reader and writer and
the JSON/text/dump renderers dispatch through this one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .wire import Cursor, Out

# Object type numbers, scamper's SCAMPER_FILE_OBJ_* (scamper_file.h).
OBJ_LIST = 0x01
OBJ_CYCLE_START = 0x02
OBJ_CYCLE_DEF = 0x03
OBJ_CYCLE_STOP = 0x04
OBJ_ADDR = 0x05
OBJ_TRACE = 0x06
OBJ_PING = 0x07
OBJ_TRACELB = 0x08
OBJ_DEALIAS = 0x09
OBJ_NEIGHBOURDISC = 0x0A
OBJ_TBIT = 0x0B
OBJ_STING = 0x0C
OBJ_SNIFF = 0x0D
OBJ_HOST = 0x0E
OBJ_HTTP = 0x0F
OBJ_UDPPROBE = 0x10
OBJ_OWAMP = 0x11

OBJ_NAMES = {
    OBJ_LIST: "list", OBJ_CYCLE_START: "cycle-start", OBJ_CYCLE_DEF: "cycle-def",
    OBJ_CYCLE_STOP: "cycle-stop", OBJ_ADDR: "addr", OBJ_TRACE: "trace",
    OBJ_PING: "ping", OBJ_TRACELB: "tracelb", OBJ_DEALIAS: "dealias",
    OBJ_NEIGHBOURDISC: "neighbourdisc", OBJ_TBIT: "tbit", OBJ_STING: "sting",
    OBJ_SNIFF: "sniff", OBJ_HOST: "host", OBJ_HTTP: "http",
    OBJ_UDPPROBE: "udpprobe", OBJ_OWAMP: "owamp",
}

Decoder = Callable[["Cursor"], Any]
Encoder = Callable[[Any, "Out"], None]
Renderer = Callable[[Any], "str | None"]


@dataclass
class RecordType:
    """How one object type is decoded, encoded and rendered.

    ``decode(cur)`` reads the body from a Cursor whose ``state`` is the file's
    :class:`warts.file.ReadState` (lists, cycles, old addresses);
    ``encode(rec, out)`` writes the body into an Out whose ``state`` is the
    :class:`warts.file.WriteState`.  ``encode`` is None for read-only types.
    ``to_json``/``to_text``/``to_dump`` return the rendering (with its trailing
    newline) or None when that tool prints nothing for the record.
    """

    obj_type: int
    cls: type
    decode: Decoder
    encode: Encoder | None = None
    to_json: Renderer | None = None
    to_text: Renderer | None = None
    to_dump: Renderer | None = None


BY_TYPE: dict[int, RecordType] = {}
BY_CLASS: dict[type, RecordType] = {}


def register(rt: RecordType) -> RecordType:
    BY_TYPE[rt.obj_type] = rt
    BY_CLASS[rt.cls] = rt
    return rt


def lookup_class(cls: type) -> RecordType:
    try:
        return BY_CLASS[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a warts record type") from None
