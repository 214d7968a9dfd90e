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

Addresses use the per-record table (§2.6.1): :class:`Cursor` keeps the list of
addresses defined so far in the record, :class:`Out` a dict from address to
id, assigned in write order, so the first occurrence is written as a
definition and later ones as references, exactly as scamper's two-pass writer
does.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from .address import ADDR_SIZES, Address, intern
from .errors import WartsError

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_TV = struct.Struct(">II")
_U16PAIR = struct.Struct(">HH")
_U8PAIR = struct.Struct(">BB")

# Bound methods, looked up once: the Cursor/Out hot paths call these directly.
_u16_from = _U16.unpack_from
_u32_from = _U32.unpack_from
_i32_from = _I32.unpack_from
_tv_from = _TV.unpack_from
_u16_pack = _U16.pack
_u32_pack = _U32.pack


class Timeval(NamedTuple):
    """A struct timeval as warts stores it: u32 seconds, u32 microseconds."""

    sec: int
    usec: int

    def to_us(self) -> int:
        return self.sec * 1000000 + self.usec

    @classmethod
    def from_us(cls, us: int) -> Timeval:
        return cls(us // 1000000, us % 1000000)

    def __float__(self) -> float:
        return self.sec + self.usec / 1e6


class Cursor:
    """Bounds-checked reader over one object body.

    ``base`` is the file offset of ``buf[0]`` so errors can name the byte
    offset in the file; ``obj_type`` is the object being decoded.
    """

    __slots__ = ("buf", "pos", "end", "addrs", "ifnames", "base", "obj_type", "state")

    def __init__(self, buf: bytes, pos: int = 0, end: int | None = None, *,
                 base: int = 0, obj_type: int | None = None, state: Any = None) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end
        self.addrs: list[Address] = []
        self.ifnames: list[str] = []
        self.base = base
        self.obj_type = obj_type
        self.state = state

    def error(self, message: str, pos: int | None = None) -> WartsError:
        where = self.pos if pos is None else pos
        return WartsError(message, self.base + where, self.obj_type)

    def need(self, n: int) -> int:
        pos = self.pos
        if pos + n > self.end:
            raise self.error(f"truncated: need {n} bytes, have {self.end - pos}")
        self.pos = pos + n
        return pos

    def remaining(self) -> int:
        return self.end - self.pos

    def u8(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise self.error("truncated: need 1 byte, have 0")
        self.pos = pos + 1
        return self.buf[pos]

    # The fixed-size readers inline need(): they are the hottest calls of a
    # decode, and the saved method call is measurable (see bench/warts_bench).

    def u16(self) -> int:
        pos = self.pos
        if pos + 2 > self.end:
            raise self.error(f"truncated: need 2 bytes, have {self.end - pos}")
        self.pos = pos + 2
        return _u16_from(self.buf, pos)[0]  # type: ignore[no-any-return]

    def u32(self) -> int:
        pos = self.pos
        if pos + 4 > self.end:
            raise self.error(f"truncated: need 4 bytes, have {self.end - pos}")
        self.pos = pos + 4
        return _u32_from(self.buf, pos)[0]  # type: ignore[no-any-return]

    def i32(self) -> int:
        pos = self.pos
        if pos + 4 > self.end:
            raise self.error(f"truncated: need 4 bytes, have {self.end - pos}")
        self.pos = pos + 4
        return _i32_from(self.buf, pos)[0]  # type: ignore[no-any-return]

    def timeval(self) -> Timeval:
        pos = self.pos
        if pos + 8 > self.end:
            raise self.error(f"truncated: need 8 bytes, have {self.end - pos}")
        self.pos = pos + 8
        return Timeval(*_tv_from(self.buf, pos))

    def rtt(self) -> int:
        """An RTT: one u32 of microseconds (§2.5)."""
        pos = self.pos
        if pos + 4 > self.end:
            raise self.error(f"truncated: need 4 bytes, have {self.end - pos}")
        self.pos = pos + 4
        return _u32_from(self.buf, pos)[0]  # type: ignore[no-any-return]

    def bytes_(self, n: int) -> bytes:
        pos = self.need(n)
        return bytes(self.buf[pos:pos + n])

    def string(self) -> str:
        buf = self.buf
        pos = self.pos
        nul = buf.find(b"\x00", pos, self.end)
        if nul < 0:
            raise self.error("string is not NUL-terminated")
        self.pos = nul + 1
        return buf[pos:nul].decode("utf-8", "surrogateescape")

    def _addr_body(self, length: int, atype: int) -> Address:
        size = ADDR_SIZES.get(atype)
        if size is None:
            raise self.error(f"unknown address type {atype}", self.pos - 1)
        if length != size:
            raise self.error(f"address of type {atype} has length {length}, want {size}",
                             self.pos - 2)
        pos = self.need(size)
        return intern(atype, bytes(self.buf[pos:pos + size]))

    def addr(self) -> Address:
        """A per-record table address: a definition or a reference (§2.6.1)."""
        pos = self.pos
        if pos + 5 <= self.end and self.buf[pos] == 0:
            # A reference (the common case after the first use): u8 0, u32 id.
            self.pos = pos + 5
            ident = _u32_from(self.buf, pos + 1)[0]
            if ident >= len(self.addrs):
                raise self.error(f"address reference {ident} beyond table of "
                                 f"{len(self.addrs)}", pos + 1)
            return self.addrs[ident]  # type: ignore[no-any-return]
        length = self.u8()
        if length == 0:
            ident = self.u32()
            if ident >= len(self.addrs):
                raise self.error(f"address reference {ident} beyond table of "
                                 f"{len(self.addrs)}", self.pos - 4)
            return self.addrs[ident]
        atype = self.u8()
        a = self._addr_body(length, atype)
        self.addrs.append(a)
        return a

    def addr_static(self) -> Address:
        """A full address definition that is not entered in the table (§2.6.3)."""
        length = self.u8()
        atype = self.u8()
        return self._addr_body(length, atype)

    def ifname(self) -> str | None:
        """An interface name from the per-record ifname table (§2.7)."""
        ident = self.u8()
        if ident > 0 and ident - 1 < len(self.ifnames):
            return self.ifnames[ident - 1]
        name = self.string()
        if ident == 0:
            return name
        if ident - 1 != len(self.ifnames):
            raise self.error(f"ifname id {ident} out of sequence")
        self.ifnames.append(name)
        return name

    def flags(self) -> tuple[int, int]:
        """Read a flags bitmap and the params length.

        Returns ``(flags, final)``: ``flags`` has bit N-1 set for flag N, and
        ``final`` is the offset where the parameters end (the reader always
        continues from there, skipping parameters it does not know).
        """
        buf = self.buf
        pos = self.pos
        end = self.end
        if pos >= end:
            raise self.error("truncated: missing flags")
        b = buf[pos]
        if b == 0:
            self.pos = pos + 1
            return 0, pos + 1
        if not b & 0x80:
            # One flag byte (flags 1-7), the most common case.
            flags = b
            pos += 1
        else:
            flags = 0
            shift = 0
            while True:
                if pos >= end:
                    raise self.error("truncated: flags run past end", pos)
                b = buf[pos]
                pos += 1
                flags |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
        if pos + 2 > end:
            self.pos = pos
            raise self.error(f"truncated: need 2 bytes, have {end - pos}")
        plen = _u16_from(buf, pos)[0]
        pos += 2
        self.pos = pos
        final = pos + plen
        if final > end:
            raise self.error(f"params length {plen} runs past end of object", pos - 2)
        return flags, final


class Out:
    """Growing output buffer for one object body, with the address table."""

    __slots__ = ("buf", "addrs", "ifnames", "state")

    def __init__(self, state: Any = None) -> None:
        self.buf = bytearray()
        self.addrs: dict[Address, int] = {}
        self.ifnames: dict[str, int] = {}
        self.state = state

    def u8(self, v: int) -> None:
        self.buf.append(v)

    def u16(self, v: int) -> None:
        self.buf += _u16_pack(v)

    def u32(self, v: int) -> None:
        self.buf += _u32_pack(v)

    def i32(self, v: int) -> None:
        self.buf += _I32.pack(v)

    def timeval(self, tv: Timeval) -> None:
        self.buf += _TV.pack(tv[0], tv[1])

    def rtt(self, us: int) -> None:
        self.buf += _u32_pack(us)

    def bytes_(self, b: bytes) -> None:
        self.buf += b

    def string(self, s: str) -> None:
        self.buf += s.encode("utf-8", "surrogateescape")
        self.buf.append(0)

    def addr(self, a: Address) -> None:
        ident = self.addrs.get(a)
        if ident is None:
            self.addrs[a] = len(self.addrs)
            self.buf.append(len(a.raw))
            self.buf.append(a.atype)
            self.buf += a.raw
        else:
            self.buf.append(0)
            self.buf += _u32_pack(ident)

    def addr_static(self, a: Address) -> None:
        self.buf.append(len(a.raw))
        self.buf.append(a.atype)
        self.buf += a.raw

    def ifname(self, name: str) -> None:
        ident = self.ifnames.get(name)
        if ident is not None:
            self.buf.append(ident)
            return
        if len(self.ifnames) < 254:
            ident = len(self.ifnames) + 1
            self.ifnames[name] = ident
            self.buf.append(ident)
        else:
            self.buf.append(0)
        self.string(name)


def flags_bytes(flags: int) -> bytes:
    """Encode a flags bitmap (bit N-1 for flag N) as warts flag bytes."""
    if flags == 0:
        return b"\x00"
    out = bytearray()
    while flags:
        out.append(flags & 0x7F)
        flags >>= 7
    for i in range(len(out) - 1):
        out[i] |= 0x80
    return bytes(out)


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
            v = _U32.unpack_from(d, i)[0]
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
    def write_values(out: Out, flags: int, present: list[tuple[Codec, Any]]) -> None:
        buf = out.buf
        buf += flags_bytes(flags)
        if not flags:
            return
        at = len(buf)
        buf += b"\x00\x00"
        for codec, v in present:
            codec.write(out, v)
        plen = len(buf) - at - 2
        if plen > 0xFFFF:
            raise WartsError(f"parameters of {plen} bytes exceed the u16 length")
        _U16.pack_into(buf, at, plen)

    @staticmethod
    def _emit(out: Out, flags: int, present: list[tuple[Callable[[Out, Any], None], Any]]
              ) -> None:
        """write_values() with each value's writer function instead of its codec."""
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
        _U16.pack_into(buf, at, plen)


def u16_at(buf: bytes, pos: int) -> int:
    return _U16.unpack_from(buf, pos)[0]


def u32_at(buf: bytes, pos: int) -> int:
    return _U32.unpack_from(buf, pos)[0]


U16_STRUCT = _U16
U32_STRUCT = _U32
