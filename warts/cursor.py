"""The byte-level halves of the warts codec: :class:`Cursor` reads one object
body with bounds checks, :class:`Out` grows one, and :class:`Timeval` and
:func:`flags_bytes` are the shapes every block uses (warts(5),
``../shared/reference/warts.md`` §2).

Addresses use the per-record table (§2.6.1): :class:`Cursor` keeps the list of
addresses defined so far in the record, :class:`Out` a dict from address to
id, assigned in write order, so the first occurrence is written as a
definition and later ones as references, exactly as scamper's two-pass writer
does.  Split from :mod:`warts.wire`, which builds the parameter codecs and
tables on these.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

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


def u16_at(buf: bytes, pos: int) -> int:
    return _U16.unpack_from(buf, pos)[0]


def u32_at(buf: bytes, pos: int) -> int:
    return _U32.unpack_from(buf, pos)[0]


U16_STRUCT = _U16
U32_STRUCT = _U32
