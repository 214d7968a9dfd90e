"""Streaming warts reader and writer.

A warts file is a plain sequence of objects, each an 8-byte header (magic
0x1205, u16 type, u32 body length) and a body (warts.md §1).  The reader keeps
only the per-file state (lists, open cycles, old-style addresses), so memory
stays constant however large the file.  Compressed files are opened by their
suffix (``.gz``, ``.bz2``, ``.xz``) as scamper writes them, or by their magic
bytes when the name says nothing.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from . import registry
from .address import Address
from .errors import WartsError
from .listcycle import CycleDef, CycleInfo, CycleStart, CycleStop, ListInfo, OldAddress
from .objtypes import OBJ_NAMES
from .wire import Cursor, Out

WARTS_MAGIC = 0x1205
_HDR = struct.Struct(">HHI")


@dataclass(frozen=True, slots=True)
class UnknownObject:
    """An object of a type this codec does not know, kept verbatim."""

    obj_type: int
    body: bytes


@dataclass(frozen=True, slots=True)
class RawObject:
    """An object the Reader was asked to hand over undecoded (``raw``):
    its type, its body and the file offset of the body, ready for
    :func:`decode_object` with the Reader's ``state``."""

    obj_type: int
    body: bytes
    offset: int


class ReadState:
    """What a reader must remember across objects (warts.md §2.9)."""

    __slots__ = ("lists", "cycles", "next_cycle_id", "addrs")

    def __init__(self) -> None:
        self.lists: list[ListInfo] = []
        self.cycles: dict[int, CycleInfo] = {}
        self.next_cycle_id = 1
        self.addrs: list[Address] = []

    @property
    def next_list_id(self) -> int:
        return len(self.lists) + 1

    def get_list(self, wid: int, cur: Cursor) -> ListInfo | None:
        if wid == 0:
            return None
        if wid > len(self.lists):
            raise cur.error(f"reference to undefined list {wid}")
        return self.lists[wid - 1]

    def get_cycle(self, wid: int, cur: Cursor) -> CycleInfo | None:
        if wid == 0:
            return None
        cyc = self.cycles.get(wid)
        if cyc is None:
            raise cur.error(f"reference to undefined or stopped cycle {wid}")
        return cyc

    def get_addr(self, gid: int, cur: Cursor) -> Address:
        """An old-style global address id (1-based, §2.6.2)."""
        if gid == 0 or gid > len(self.addrs):
            raise cur.error(f"reference to undefined global address {gid}")
        return self.addrs[gid - 1]


class WriteState:
    """The writer's per-file id assignment for lists and cycles."""

    __slots__ = ("list_ids", "cycle_ids", "next_cycle_id", "addrs")

    def __init__(self) -> None:
        self.list_ids: dict[ListInfo, int] = {}
        self.cycle_ids: dict[CycleInfo, int] = {}
        self.next_cycle_id = 1
        self.addrs: list[Address] = []

    def assign_list(self, lst: ListInfo) -> int:
        wid = len(self.list_ids) + 1
        self.list_ids[lst] = wid
        return wid

    def assign_cycle(self, cyc: CycleInfo) -> int:
        wid = self.next_cycle_id
        self.next_cycle_id += 1
        self.cycle_ids[cyc] = wid
        return wid

    def end_cycle(self, cyc: CycleInfo) -> None:
        self.cycle_ids.pop(cyc, None)

    def list_id(self, lst: ListInfo | None) -> int:
        if lst is None:
            return 0
        try:
            return self.list_ids[lst]
        except KeyError:
            raise WartsError(f"list {lst.name!r} has not been written") from None

    def cycle_id(self, cyc: CycleInfo | None) -> int:
        if cyc is None:
            return 0
        try:
            return self.cycle_ids[cyc]
        except KeyError:
            raise WartsError(f"cycle {cyc.id} has not been written") from None


# --------------------------------------------------------------------------
# Reading


def decode_object(obj_type: int, body: bytes, state: ReadState, offset: int = 0) -> Any:
    """Decode one object body; ``offset`` is the file offset of the body."""
    rt = registry.BY_TYPE.get(obj_type)
    if rt is None:
        return UnknownObject(obj_type, bytes(body))
    cur = Cursor(body, base=offset, obj_type=obj_type, state=state)
    try:
        return rt.decode(cur)
    except WartsError as e:
        if e.obj_type is None:
            e.obj_type = obj_type
        if e.offset is None:
            e.offset = offset
        raise
    except (RecursionError, MemoryError):
        raise
    except Exception as e:  # the one boundary: any decoding failure is bad input
        raise WartsError(f"corrupt object: {type(e).__name__}: {e}",
                         offset + cur.pos, obj_type) from e


# Types whose objects must always be decoded, to keep the id tables in step.
_STATE_TYPES = frozenset((registry.OBJ_LIST, registry.OBJ_CYCLE_START,
                          registry.OBJ_CYCLE_DEF, registry.OBJ_CYCLE_STOP,
                          registry.OBJ_ADDR))


class Reader:
    """Iterate over the records of a warts stream.

    ``types``, if given, is the set of object types to return; others are
    skipped (state objects are still decoded, as scamper does).  Objects of
    the types in ``raw`` are returned undecoded, as :class:`RawObject` (for
    a caller with a faster way to the output it wants, such as the JSON
    fast paths of ``python -m warts json``); list, cycle and address
    objects cannot be among them, as the reader's state needs them decoded.
    ``offset`` is the file offset just past the last object read.
    """

    def __init__(self, stream: IO[bytes], types: Iterable[int] | None = None,
                 raw: Iterable[int] = ()) -> None:
        self.stream = stream
        self.types = frozenset(types) if types is not None else None
        self.raw = frozenset(raw)
        if self.raw & _STATE_TYPES:
            raise ValueError("list, cycle and address objects are always decoded")
        self.state = ReadState()
        self.offset = 0

    def __iter__(self) -> Iterator[Any]:
        read = self.stream.read
        types = self.types
        raw = self.raw
        state = self.state
        hdr_unpack = _HDR.unpack
        while True:
            start = self.offset
            hdr = read(8)
            if not hdr:
                return
            if len(hdr) < 8:
                raise WartsError(f"truncated object header: {len(hdr)} of 8 bytes", start)
            magic, obj_type, length = hdr_unpack(hdr)
            if magic != WARTS_MAGIC:
                raise WartsError(f"bad magic 0x{magic:04x}", start, obj_type)
            if obj_type == 0:
                raise WartsError("object type 0", start, obj_type)
            want = types is None or obj_type in types
            if not want and obj_type not in _STATE_TYPES:
                skipped = _skip(self.stream, length)
                if skipped < length:
                    raise WartsError(f"truncated object: {skipped} of {length} bytes",
                                     start, obj_type)
                self.offset = start + 8 + length
                continue
            body = read(length)
            if len(body) < length:
                raise WartsError(f"truncated object: {len(body)} of {length} bytes",
                                 start, obj_type)
            if obj_type in raw:
                self.offset = start + 8 + length
                if want:
                    yield RawObject(obj_type, body, start + 8)
                continue
            rec = decode_object(obj_type, body, state, start + 8)
            self.offset = start + 8 + length
            if want:
                yield rec


def _skip(stream: IO[bytes], n: int) -> int:
    done = 0
    while done < n:
        chunk = stream.read(min(n - done, 1 << 20))
        if not chunk:
            break
        done += len(chunk)
    return done


def read(stream: IO[bytes], types: Iterable[int] | None = None) -> Iterator[Any]:
    """Records from a binary stream, one at a time."""
    return iter(Reader(stream, types))


def decode(data: bytes) -> list[Any]:
    """All records of an in-memory warts byte string."""
    return list(Reader(io.BytesIO(data)))


_MAGICS = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))
_SUFFIXES = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def open_read(path: str) -> IO[bytes]:
    """Open a warts file for reading; ``-`` is stdin.  Decompresses by
    suffix, or by magic bytes when the suffix says nothing."""
    if path == "-":
        raw: IO[bytes] = sys.stdin.buffer
    else:
        for suffix, opener in _SUFFIXES.items():
            if path.endswith(suffix):
                return opener(path, "rb")  # type: ignore[no-any-return,operator,return-value]
        raw = open(path, "rb", buffering=1 << 16)
    peek = getattr(raw, "peek", None)
    head = peek(6)[:6] if peek is not None else b""
    for magic, opener in _MAGICS:
        if head.startswith(magic):
            return opener(raw, "rb")  # type: ignore[no-any-return,operator,return-value]
    return raw


def open_write(path: str) -> IO[bytes]:
    """Open a file for writing warts, compressing by suffix; ``-`` is stdout."""
    if path == "-":
        return sys.stdout.buffer
    for suffix, opener in _SUFFIXES.items():
        if path.endswith(suffix):
            return opener(path, "wb")  # type: ignore[no-any-return,operator,return-value]
    return open(path, "wb")


# --------------------------------------------------------------------------
# Writing


def _header(obj_type: int, body: bytes | bytearray) -> bytes:
    if len(body) > 0xFFFFFFFF:
        raise WartsError("object too large", None, obj_type)
    return _HDR.pack(WARTS_MAGIC, obj_type, len(body))


class Writer:
    """Encode records into warts objects, assigning list and cycle ids.

    :meth:`encode` returns the whole objects a record needs (a list or cycle
    definition it refers to that was not written yet, then the record itself),
    as scamper's writer emits them; :meth:`write` sends them to the stream.
    """

    def __init__(self, stream: IO[bytes] | None = None) -> None:
        self.stream = stream
        self.state = WriteState()

    def _object(self, rec: Any) -> bytes:
        if isinstance(rec, UnknownObject):
            return _header(rec.obj_type, rec.body) + rec.body
        rt = registry.lookup_class(type(rec))
        if rt.encode is None:
            raise WartsError(f"writing {type(rec).__name__} records is not supported",
                             None, rt.obj_type)
        out = Out(self.state)
        try:
            rt.encode(rec, out)
        except WartsError as e:
            if e.obj_type is None:
                e.obj_type = rt.obj_type
            raise
        except (struct.error, ValueError, OverflowError, TypeError) as e:
            # The one boundary for writing: a value its wire field cannot
            # hold (struct refuses it, or a bytearray a byte above 255).
            raise WartsError(f"{OBJ_NAMES[rt.obj_type]} field out of range: {e}",
                             None, rt.obj_type) from e
        return _header(rt.obj_type, out.buf) + out.buf

    def _need_list(self, lst: ListInfo | None, objs: list[bytes]) -> None:
        if lst is not None and lst not in self.state.list_ids:
            objs.append(self._object(lst))

    def _need_cycle(self, cyc: CycleInfo | None, objs: list[bytes]) -> None:
        if cyc is not None and cyc not in self.state.cycle_ids:
            self._need_list(cyc.list, objs)
            objs.append(self._object(CycleDef(cyc)))

    def encode(self, rec: Any) -> list[bytes]:
        objs: list[bytes] = []
        if isinstance(rec, (CycleStart, CycleDef)):
            self._need_list(rec.cycle.list, objs)
        elif isinstance(rec, CycleStop):
            self._need_cycle(rec.cycle, objs)
        elif not isinstance(rec, (ListInfo, OldAddress, UnknownObject)):
            self._need_list(getattr(rec, "list", None), objs)
            self._need_cycle(getattr(rec, "cycle", None), objs)
        objs.append(self._object(rec))
        return objs

    def write(self, rec: Any) -> None:
        if self.stream is None:
            raise ValueError("Writer has no stream")
        for obj in self.encode(rec):
            self.stream.write(obj)


def encode(records: Iterable[Any]) -> bytes:
    """A whole warts byte string holding ``records`` in order."""
    w = Writer()
    return b"".join(b for rec in records for b in w.encode(rec))
