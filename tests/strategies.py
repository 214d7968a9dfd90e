"""Hypothesis strategies the tests share, each defined once here.

Fixed-width unsigned integers, struct timevals, warts addresses, strings as
warts stores them, ICMP extensions, list records and optional fields: a test
file builds the strategies of its own records from these.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from warts import Address, ListInfo, Timeval
from warts.wire import IcmpExt

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


def opt(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``s`` or None: a field a record may leave out."""
    return st.none() | s


# struct timevals as gettimeofday() gives them; and any value the wire can
# hold (microseconds past 999999 too), which a reader must carry through
timevals = st.builds(Timeval, u32, st.integers(0, 999_999))
wire_timevals = st.builds(Timeval, u32, u32)

# warts addresses of scamper's types 1 (IPv4), 2 (IPv6) and 3 (Ethernet)
ipv4s = st.binary(min_size=4, max_size=4).map(lambda b: Address(1, b))
ipv6s = st.binary(min_size=16, max_size=16).map(lambda b: Address(2, b))
macs = st.binary(min_size=6, max_size=6).map(lambda b: Address(3, b))
ip_addrs = ipv4s | ipv6s


def texts(max_size: int = 20) -> st.SearchStrategy[str]:
    """Strings as warts stores them: C strings, so any UTF-8 but NUL."""
    return st.text(st.characters(codec="utf-8", blacklist_characters="\x00"),
                   max_size=max_size)


# RFC 4884 extension objects as a reply carries them: one to three
icmp_exts = st.lists(st.builds(IcmpExt, u8, u8, st.binary(max_size=12)), min_size=1,
                     max_size=3).map(tuple)

# list records: an id, a name, a description and a monitor (scamper rejects a
# list object under 11 bytes, so the name is never empty)
list_infos = st.builds(ListInfo, u32, texts(12).filter(bool), opt(texts(12)), opt(texts(12)))
