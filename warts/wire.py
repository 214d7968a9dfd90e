"""warts wire primitives: integers, timevals, strings, addresses, flags+params.

Theory of operation
-------------------
Every warts structure (a record, a hop, a reply, a probe ...) is a
*flags+params* block (warts(5), ``../shared/reference/warts.md`` §2): a
bitmap of present parameters, 7 flags per byte with 0x80 as the "more bytes"
link bit, then a u16 length of the parameters, then the present parameters in
ascending flag order.  A lone 0x00 byte means "no parameters" and carries no
length.

A :class:`ParamTable` is the ordered list of a structure's parameters (flag
number, field name, codec).  The same table drives reading and writing, so a
structure's layout is stated exactly once.  Decoded values land in a dict keyed
by field name; a parameter that was absent on the wire is simply missing from
the dict (the dataclasses default such fields to ``None``), and the writer
emits a parameter exactly when the field is not ``None``.  That makes
``encode(decode(bytes)) == bytes`` hold for any writer's choices of which
optional flags to emit, old scamper's quirks included.

The byte-level Cursor and Out live in :mod:`warts.cursor`; they are
re-exported here, where the record modules have always found them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from .cursor import (
    U16_STRUCT,
    U32_STRUCT,
    Cursor,
    Out,
    Timeval,
    flags_bytes,
    u16_at,
    u32_at,
)
from .errors import WartsError

# Cursor, Out and the rest are part of this module's interface, as before the split.
__all__ = [
    "ADDR", "ADDR_STATIC", "CYCLE", "GID", "ICMPEXT", "IFNAME", "I32", "LIST", "RTT",
    "STRING", "TIMEVAL", "U8", "U16", "U16_STRUCT", "U32", "U32_STRUCT", "Bytes", "Codec",
    "CountedList", "Cursor", "Custom", "FixedBytes", "IcmpExt", "Out", "Param", "ParamTable",
    "Simple", "StateRef", "Timeval", "Tuple", "flags_bytes", "u16_at", "u32_at",
]


# --------------------------------------------------------------------------
# Codecs: how one parameter's value is read and written.


class Codec(Protocol):
    def read(self, cur: Cursor, vals: dict[str, Any]) -> Any: ...

    def write(self, out: Out, value: Any) -> None: ...


@dataclass(frozen=True)
class Simple:
    """A codec built from a Cursor reader and an Out writer method name."""

    name: str
    # The Cursor and Out methods themselves (unbound), looked up once.
    reader: Callable[[Cursor], Any] = field(init=False, repr=False, compare=False)
    writer: Callable[[Out, Any], None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reader", getattr(Cursor, self.name))
        object.__setattr__(self, "writer", getattr(Out, self.name))

    def read(self, cur: Cursor, vals: dict[str, Any]) -> Any:
        return self.reader(cur)

    def write(self, out: Out, value: Any) -> None:
        self.writer(out, value)


U8 = Simple("u8")
U16 = Simple("u16")
U32 = Simple("u32")
I32 = Simple("i32")
TIMEVAL = Simple("timeval")
RTT = Simple("rtt")
STRING = Simple("string")
ADDR = Simple("addr")
ADDR_STATIC = Simple("addr_static")
IFNAME = Simple("ifname")


@dataclass(frozen=True)
class Bytes:
    """A byte array whose length is an earlier parameter's value."""

    length_field: str

    def read(self, cur: Cursor, vals: dict[str, Any]) -> bytes:
        n = vals.get(self.length_field)
        if n is None:
            raise cur.error(f"byte array without its length ({self.length_field})")
        return cur.bytes_(n)

    def write(self, out: Out, value: bytes) -> None:
        out.bytes_(value)


@dataclass(frozen=True)
class FixedBytes:
    """A byte array of fixed size."""

    size: int

    def read(self, cur: Cursor, vals: dict[str, Any]) -> bytes:
        return cur.bytes_(self.size)

    def write(self, out: Out, value: bytes) -> None:
        if len(value) != self.size:
            raise WartsError(f"need exactly {self.size} bytes, got {len(value)}")
        out.bytes_(value)


@dataclass(frozen=True)
class Tuple:
    """Several fixed-size integers in a row, as a tuple (e.g. ICMP type, code),
    or as ``cls`` (a NamedTuple) when given.  In a table read by
    :func:`fast_reader` the parameter's name may list one field per integer
    ("icmp_type,icmp_code"), which then each get their own slot."""

    fmt: str
    cls: Callable[..., Any] | None = None

    @property
    def st(self) -> struct.Struct:
        return struct.Struct(">" + self.fmt)

    def read(self, cur: Cursor, vals: dict[str, Any]) -> tuple[int, ...]:
        st = self.st
        v = tuple(st.unpack_from(cur.buf, cur.need(st.size)))
        return v if self.cls is None else self.cls(*v)  # type: ignore[no-any-return]

    def write(self, out: Out, value: Sequence[int]) -> None:
        out.bytes_(self.st.pack(*value))


@dataclass(frozen=True)
class CountedList:
    """``count`` (u8/u16/u32) followed by that many items of one codec."""

    count: Codec
    item: Codec

    def read(self, cur: Cursor, vals: dict[str, Any]) -> tuple[Any, ...]:
        n = self.count.read(cur, vals)
        if n > cur.remaining():
            raise cur.error(f"count {n} exceeds the bytes left")
        return tuple(self.item.read(cur, vals) for _ in range(n))

    def write(self, out: Out, value: Sequence[Any]) -> None:
        self.count.write(out, len(value))
        for v in value:
            self.item.write(out, v)


class IcmpExt(NamedTuple):
    """One RFC 4884 ICMP extension object: class, c-type and its data."""

    cls: int
    ctype: int
    data: bytes

    def mpls_labels(self) -> list[tuple[int, int, int, int]]:
        """(label, exp, s, ttl) for each entry of an MPLS label stack (class 1, c-type 1)."""
        out = []
        d = self.data
        for i in range(0, len(d) - 3, 4):
            v = U32_STRUCT.unpack_from(d, i)[0]
            out.append((v >> 12, (v >> 9) & 0x7, (v >> 8) & 0x1, v & 0xFF))
        return out

    @property
    def is_mpls(self) -> bool:
        return self.cls == 1 and self.ctype == 1


class _IcmpExtCodec:
    """``u16 total`` then extensions of ``u16 dl, u8 class, u8 ctype, data`` (§2.8)."""

    def read(self, cur: Cursor, vals: dict[str, Any]) -> tuple[IcmpExt, ...]:
        total = cur.u16()
        if total == 0:
            raise cur.error("empty icmp extension block", cur.pos - 2)
        end = cur.pos + total
        if end > cur.end:
            raise cur.error("icmp extensions run past end of object", cur.pos - 2)
        exts = []
        while cur.pos < end:
            if cur.pos + 4 > end:
                raise cur.error("truncated icmp extension header")
            dl = cur.u16()
            c = cur.u8()
            ct = cur.u8()
            if cur.pos + dl > end:
                raise cur.error("icmp extension data runs past its block")
            exts.append(IcmpExt(c, ct, cur.bytes_(dl)))
        return tuple(exts)

    def write(self, out: Out, value: Sequence[IcmpExt]) -> None:
        total = sum(4 + len(e.data) for e in value)
        out.u16(total)
        for e in value:
            out.u16(len(e.data))
            out.u8(e.cls)
            out.u8(e.ctype)
            out.bytes_(e.data)


ICMPEXT = _IcmpExtCodec()


@dataclass(frozen=True)
class Custom:
    """A codec from two functions, for one-off layouts."""

    reader: Callable[[Cursor, dict[str, Any]], Any]
    writer: Callable[[Out, Any], None]

    def read(self, cur: Cursor, vals: dict[str, Any]) -> Any:
        return self.reader(cur, vals)

    def write(self, out: Out, value: Any) -> None:
        self.writer(out, value)


@dataclass(frozen=True)
class StateRef:
    """A u32 id of something the file defined earlier, resolved while reading
    through the ReadState method ``lookup`` (get_list, get_cycle, get_addr)
    and written through the WriteState method ``ident`` (list_id, cycle_id);
    ``ident`` None means the parameter is never written (deprecated global
    address ids, warts.md §2.6.2: decoders move them into the address field)."""

    lookup: str
    ident: str | None = None

    def read(self, cur: Cursor, vals: dict[str, Any]) -> Any:
        return getattr(cur.state, self.lookup)(cur.u32(), cur)

    def write(self, out: Out, value: Any) -> None:
        if self.ident is None:
            raise WartsError("deprecated address-id parameters are never written")
        out.u32(getattr(out.state, self.ident)(value))


LIST = StateRef("get_list", "list_id")
CYCLE = StateRef("get_cycle", "cycle_id")
GID = StateRef("get_addr")


# --------------------------------------------------------------------------
# Parameter tables


class Param(NamedTuple):
    flag: int
    name: str
    codec: Codec


class ParamTable:
    """The ordered parameters of one flags+params block.

    Flags must be numbered 1..N with no gaps (as every scamper table is), so
    that "stop at the first flag we have no decoder for" equals "skip every
    flag above N".
    """

    __slots__ = ("params", "names", "_masks", "_readers", "_writers", "_plans")

    # How many distinct flag patterns a table remembers a read plan for; real
    # files use a handful per table, damaged ones could use any number.
    MAX_PLANS = 256

    def __init__(self, *params: tuple[int, str, Codec]) -> None:
        ps = [Param(*p) for p in params]
        for i, p in enumerate(ps):
            if p.flag != i + 1:
                raise ValueError(f"param table must number flags 1..N, got {p.flag} at {i + 1}")
        self.params = tuple(ps)
        self.names = tuple(p.name for p in ps)
        self._masks = tuple((1 << (p.flag - 1), p.name, p.codec) for p in ps)
        # For the plain codecs, call the Cursor/Out method directly (reader
        # takes the cursor only); other codecs go through codec.read/write.
        self._readers: tuple[tuple[int, str, Callable[..., Any], bool], ...] = tuple(
            (1 << (p.flag - 1), p.name, p.codec.reader, True) if isinstance(p.codec, Simple)
            else (1 << (p.flag - 1), p.name, p.codec.read, False)
            for p in ps)
        self._writers = tuple(
            (1 << (p.flag - 1), p.name,
             p.codec.writer if isinstance(p.codec, Simple) else p.codec.write)
            for p in ps)
        self._plans: dict[int, tuple[tuple[str, Callable[..., Any], bool], ...]] = {}

    def _plan(self, flags: int) -> tuple[tuple[str, Callable[..., Any], bool], ...]:
        """The (name, reader, simple) steps that decode the params of ``flags``.

        Flags above the table are left out: the reader skips them via
        params_len, as scamper does.
        """
        plan = tuple((name, fn, simple) for mask, name, fn, simple in self._readers
                     if flags & mask)
        if len(self._plans) < self.MAX_PLANS:
            self._plans[flags] = plan
        return plan

    def read(self, cur: Cursor) -> dict[str, Any]:
        flags, final = cur.flags()
        vals: dict[str, Any] = {}
        if flags:
            plan = self._plans.get(flags)
            if plan is None:
                plan = self._plan(flags)
            for name, fn, simple in plan:
                vals[name] = fn(cur) if simple else fn(cur, vals)
            if cur.pos > final:
                raise cur.error("parameters overran their declared length", final)
        # even flags of value 0 in linked bytes (0x80 0x00) carry a params
        # length, which scamper's reader skips
        cur.pos = final
        return vals

    def write(self, out: Out, obj: Any) -> None:
        present = []
        flags = 0
        for mask, name, fn in self._writers:
            v = getattr(obj, name)
            if v is not None:
                flags |= mask
                present.append((fn, v))
        self._emit(out, flags, present)

    def write_dict(self, out: Out, vals: dict[str, Any]) -> None:
        present = []
        flags = 0
        for mask, name, fn in self._writers:
            v = vals.get(name)
            if v is not None:
                flags |= mask
                present.append((fn, v))
        self._emit(out, flags, present)

    @staticmethod
    def _emit(out: Out, flags: int, present: list[tuple[Callable[[Out, Any], None], Any]]
              ) -> None:
        """The flag bytes, the params length and each present value by its writer."""
        buf = out.buf
        buf += flags_bytes(flags)
        if not flags:
            return
        at = len(buf)
        buf += b"\x00\x00"
        for fn, v in present:
            fn(out, v)
        plen = len(buf) - at - 2
        if plen > 0xFFFF:
            raise WartsError(f"parameters of {plen} bytes exceed the u16 length")
        U16_STRUCT.pack_into(buf, at, plen)
