"""Which Python class and functions handle each warts object type.

:data:`RECORD_TYPES` is the one table: object type -> model class, decoder,
encoder and the JSON/text/dump renderers.  It is built here from plain
imports of the record modules, which never import this module back (they
take their type numbers from :mod:`warts.objtypes`), so there is no import
for side effect and no import cycle.  The file reader and writer and the
renderers dispatch through :data:`BY_TYPE` and :data:`BY_CLASS`, views of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import dump, listcycle
from .objtypes import (
    OBJ_ADDR,
    OBJ_CYCLE_DEF,
    OBJ_CYCLE_START,
    OBJ_CYCLE_STOP,
    OBJ_DEALIAS,
    OBJ_HOST,
    OBJ_HTTP,
    OBJ_LIST,
    OBJ_NAMES,
    OBJ_NEIGHBOURDISC,
    OBJ_OWAMP,
    OBJ_PING,
    OBJ_SNIFF,
    OBJ_STING,
    OBJ_TBIT,
    OBJ_TRACE,
    OBJ_TRACELB,
    OBJ_UDPPROBE,
)
from .types import (
    dealias,
    dealias_render,
    dealias_wire,
    host,
    host_render,
    http,
    neighbourdisc,
    owamp,
    ping,
    ping_codec,
    ping_json,
    ping_render,
    sniff,
    sting,
    tbit,
    tbit_render,
    trace,
    trace_json,
    trace_text,
    trace_wire,
    trace_write,
    tracelb,
    tracelb_render,
    tracelb_wire,
    udpprobe,
)
from .wire import Cursor, Out

# The type numbers are part of this module's interface (warts.registry.OBJ_PING).
__all__ = [
    "BY_CLASS", "BY_TYPE", "OBJ_ADDR", "OBJ_CYCLE_DEF", "OBJ_CYCLE_START", "OBJ_CYCLE_STOP",
    "OBJ_DEALIAS", "OBJ_HOST", "OBJ_HTTP", "OBJ_LIST", "OBJ_NAMES", "OBJ_NEIGHBOURDISC",
    "OBJ_OWAMP", "OBJ_PING", "OBJ_SNIFF", "OBJ_STING", "OBJ_TBIT", "OBJ_TRACE",
    "OBJ_TRACELB", "OBJ_UDPPROBE", "RECORD_TYPES", "RecordType", "lookup_class",
]

Decoder = Callable[[Cursor], Any]
Encoder = Callable[[Any, Out], None]
Renderer = Callable[[Any], "str | None"]
BodyRenderer = Callable[[bytes, Any, int], "str | None"]


@dataclass(frozen=True)
class RecordType:
    """How one object type is decoded, encoded and rendered.

    ``decode(cur)`` reads the body from a Cursor whose ``state`` is the file's
    :class:`warts.file.ReadState` (lists, cycles, old addresses);
    ``encode(rec, out)`` writes the body into an Out whose ``state`` is the
    :class:`warts.file.WriteState`.  ``encode`` is None for read-only types.
    ``to_json``/``to_text``/``to_dump`` return the rendering (with its trailing
    newline) or None when that tool prints nothing for the record (None: the
    tool prints nothing for any record of the type).  ``json_body(body,
    state, offset)``, where given, is ``to_json`` of the record an object
    body holds without decoding it into objects first (``python -m warts
    json``'s fast path), or None when the body does not decode or holds
    what the fast path leaves to decode + ``to_json``.
    """

    obj_type: int
    cls: type
    decode: Decoder
    encode: Encoder | None = None
    to_json: Renderer | None = None
    to_text: Renderer | None = None
    to_dump: Renderer | None = None
    json_body: BodyRenderer | None = None


R = RecordType
lc = listcycle

# sc_warts2text prints nothing for lists and cycles, sc_warts2json nothing for
# lists, definitions and old addresses, sc_wartsdump nothing for addresses.
RECORD_TYPES: tuple[RecordType, ...] = (
    R(OBJ_LIST, lc.ListInfo, lc.decode_list, lc.encode_list, None, None, dump.list_dump),
    R(OBJ_CYCLE_START, lc.CycleStart, lc.decode_cycle_start, lc.encode_cycle,
      lc.cycle_start_json, None, dump.cycle_start_dump),
    R(OBJ_CYCLE_DEF, lc.CycleDef, lc.decode_cycle_def, lc.encode_cycle,
      None, None, dump.cycle_def_dump),
    R(OBJ_CYCLE_STOP, lc.CycleStop, lc.decode_cycle_stop, lc.encode_cycle_stop,
      lc.cycle_stop_json, None, dump.cycle_stop_dump),
    R(OBJ_ADDR, lc.OldAddress, lc.decode_addr, lc.encode_addr),
    R(OBJ_TRACE, trace.Trace, trace_wire.decode_trace, trace_write.encode_trace,
      trace_json.trace_to_json, trace_text.trace_to_text, trace_text.trace_to_dump,
      trace_json.trace_json_body),
    R(OBJ_PING, ping.Ping, ping_codec.decode_ping, ping_codec.encode_ping,
      ping_json.ping_json, ping_render.ping_text, ping_render.ping_dump,
      ping_json.ping_json_body),
    R(OBJ_TRACELB, tracelb.Tracelb, tracelb_wire.decode, tracelb_wire.encode,
      tracelb_render.to_json, tracelb_render.to_text, tracelb_render.to_dump),
    R(OBJ_DEALIAS, dealias.Dealias, dealias_wire.decode_dealias, dealias_wire.encode_dealias,
      dealias_render.dealias_json, dealias_render.dealias_text, dealias_render.dealias_dump),
    R(OBJ_NEIGHBOURDISC, neighbourdisc.Neighbourdisc, neighbourdisc.decode,
      neighbourdisc.encode, neighbourdisc.to_json, None, neighbourdisc.to_dump),
    R(OBJ_TBIT, tbit.Tbit, tbit.decode, tbit.encode,
      tbit_render.to_json, tbit_render.to_text, tbit_render.to_dump),
    R(OBJ_STING, sting.Sting, sting.decode, sting.encode, None, sting.to_text, sting.to_dump),
    R(OBJ_SNIFF, sniff.Sniff, sniff.decode, sniff.encode, None, None, sniff.to_dump),
    R(OBJ_HOST, host.Host, host.decode, host.encode, host_render.to_json, None,
      host_render.to_dump),
    R(OBJ_HTTP, http.Http, http.decode, http.encode, None, None, http.to_dump),
    R(OBJ_UDPPROBE, udpprobe.Udpprobe, udpprobe.decode, udpprobe.encode,
      udpprobe.to_json, None, udpprobe.to_dump),
    R(OBJ_OWAMP, owamp.Owamp, owamp.decode, owamp.encode, owamp.to_json, None, owamp.to_dump),
)

BY_TYPE: dict[int, RecordType] = {rt.obj_type: rt for rt in RECORD_TYPES}
BY_CLASS: dict[type, RecordType] = {rt.cls: rt for rt in RECORD_TYPES}


def lookup_class(cls: type) -> RecordType:
    try:
        return BY_CLASS[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a warts record type") from None
