"""Addresses as scamper stores them: a type code and the raw bytes.

scamper's address types (scamper_addr.h): 1 IPv4, 2 IPv6, 3 Ethernet MAC,
4 FireWire EUI-64.  Text forms follow scamper_addr_tostr(): inet_ntop for the
IP types (so IPv4-mapped IPv6 prints as ``::ffff:1.2.3.4`` like glibc) and
lower-case colon-separated hex for the link-layer types.
"""

from __future__ import annotations

import socket

ADDR_IPV4 = 1
ADDR_IPV6 = 2
ADDR_ETHERNET = 3
ADDR_FIREWIRE = 4

ADDR_SIZES = {ADDR_IPV4: 4, ADDR_IPV6: 16, ADDR_ETHERNET: 6, ADDR_FIREWIRE: 8}


class Address:
    """An immutable, hashable address of one of scamper's four types."""

    __slots__ = ("atype", "raw", "_str")

    atype: int
    raw: bytes
    _str: str | None

    def __init__(self, atype: int, raw: bytes) -> None:
        size = ADDR_SIZES.get(atype)
        if size is None:
            raise ValueError(f"unknown address type {atype}")
        if len(raw) != size:
            raise ValueError(f"address type {atype} needs {size} bytes, got {len(raw)}")
        object.__setattr__(self, "atype", atype)
        object.__setattr__(self, "raw", bytes(raw))
        object.__setattr__(self, "_str", None)

    @classmethod
    def from_string(cls, text: str) -> Address:
        """Parse an IPv4 or IPv6 literal (or a MAC address)."""
        if ":" in text:
            try:
                return cls(ADDR_IPV6, socket.inet_pton(socket.AF_INET6, text))
            except OSError:
                parts = text.split(":")
                if len(parts) in (6, 8) and all(len(p) == 2 for p in parts):
                    atype = ADDR_ETHERNET if len(parts) == 6 else ADDR_FIREWIRE
                    return cls(atype, bytes(int(p, 16) for p in parts))
                raise ValueError(f"invalid address {text!r}") from None
        try:
            return cls(ADDR_IPV4, socket.inet_pton(socket.AF_INET, text))
        except OSError:
            raise ValueError(f"invalid address {text!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Address is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Address):
            return NotImplemented
        return self.atype == other.atype and self.raw == other.raw

    def __hash__(self) -> int:
        return hash((self.atype, self.raw))

    def __lt__(self, other: Address) -> bool:
        return (self.atype, self.raw) < (other.atype, other.raw)

    def __repr__(self) -> str:
        return f"Address({self})"

    def __str__(self) -> str:
        s = self._str
        if s is None:
            if self.atype == ADDR_IPV4:
                s = socket.inet_ntop(socket.AF_INET, self.raw)
            elif self.atype == ADDR_IPV6:
                s = socket.inet_ntop(socket.AF_INET6, self.raw)
            else:
                s = ":".join(f"{b:02x}" for b in self.raw)
            object.__setattr__(self, "_str", s)
        return s

    def __reduce__(self) -> tuple[type, tuple[int, bytes]]:
        return (Address, (self.atype, self.raw))

    @property
    def is_ipv4(self) -> bool:
        return self.atype == ADDR_IPV4

    @property
    def is_ipv6(self) -> bool:
        return self.atype == ADDR_IPV6


# Decoded addresses, shared: the records of a file repeat the same few
# hundred addresses millions of times, so each is built, validated and turned
# into text once (str() is cached per object).  Keyed by the raw bytes alone:
# every type has its own size, so a raw string names at most one valid
# address.  Bounded so that a file of endless distinct addresses cannot grow
# it without limit (65,536 entries, a few MB).
_INTERNED: dict[bytes, Address] = {}
_INTERN_MAX = 1 << 16


def intern(atype: int, raw: bytes) -> Address:
    """``Address(atype, raw)``, the same object for the same value while it
    stays in the table; raises ValueError like the constructor."""
    a = _INTERNED.get(raw)
    if a is None or a.atype != atype:
        a = Address(atype, raw)
        if len(_INTERNED) >= _INTERN_MAX:
            _INTERNED.clear()
        _INTERNED[a.raw] = a
    return a
