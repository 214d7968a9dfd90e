"""A fake network's behaviours: small pieces chosen by name from tables.

A node names its IP-ID behaviour (``Node.ipid``) and its ECMP balancer
(``Node.balancer``); the network makes one of each per node, seeded from
the topology's seed and the node's name, so a run is the same every time.
A new behaviour (byte-swapped or wrapping IP-IDs, per-packet balancing,
path changes) is one class and one table entry.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Callable
from typing import Protocol

from ..packets import IPPROTO_ICMP, IPPROTO_ICMPV6, Quote


def seeded(seed: int, *parts: str) -> random.Random:
    """A generator of its own for one behaviour of one node."""
    return random.Random(":".join((str(seed), *parts)))


# -- IP-IDs -------------------------------------------------------------------


class IpidSource(Protocol):
    def next(self) -> int:
        """The IP-ID of the next packet the node sends."""
        ...


class Counter:
    """One counter for every packet the node sends, from a seeded start, as
    most routers' IP-IDs are (what dealias and ping's ipid checks see)."""

    def __init__(self, rng: random.Random) -> None:
        self.value = rng.randrange(0x10000)

    def next(self) -> int:
        self.value = (self.value + 1) & 0xFFFF
        return self.value


class Zero:
    """IP-ID 0 on every packet (Linux with DF set, many hosts)."""

    def __init__(self, rng: random.Random) -> None:
        pass

    def next(self) -> int:
        return 0


class Random:
    """A fresh random IP-ID per packet (OpenBSD, some firewalls)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def next(self) -> int:
        return self.rng.randrange(0x10000)


class ByteSwapped(Counter):
    """One counter, written in host (little-endian) order, as some routers
    do: ally's byte-swapped test must still see one sequence."""

    def next(self) -> int:
        v = super().next()
        return ((v & 0xFF) << 8) | (v >> 8)


class Wrapping(Counter):
    """One counter that starts just short of 65535, so every series wraps."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.value = 0xFFFF - 3


IPID: dict[str, Callable[[random.Random], IpidSource]] = {
    "counter": Counter,
    "zero": Zero,
    "random": Random,
    "byteswap": ByteSwapped,
    "wrap": Wrapping,
}


# -- ECMP ---------------------------------------------------------------------


_ICMP_FLOW = struct.Struct(">BBHH")  # type, code, checksum, id
_PORTS = struct.Struct(">HH")


def flow_key(v: Quote) -> bytes:
    """The fields a router hashes to keep a flow on one path: addresses,
    protocol, the IPv6 flow label, and the first 4 transport bytes -- the
    ports for UDP and TCP, type, code and checksum for ICMP -- plus the
    ICMP id.  Paris traceroute holds all of these constant; classic
    traceroute varies the ports or the checksum, so its probes spread."""
    if v.proto in (IPPROTO_ICMP, IPPROTO_ICMPV6):
        fields = _ICMP_FLOW.pack(v.icmp_type, v.icmp_code, v.icmp_sum, v.icmp_id)
    else:
        fields = _PORTS.pack(v.sport, v.dport)
    return b"".join((v.src, v.dst, bytes((v.proto,)), v.flow.to_bytes(3, "big"), fields))


class Balancer(Protocol):
    def choose(self, v: Quote, options: tuple[str, ...]) -> str:
        """The next hop, of ``options``, for probe ``v``."""
        ...


class PerFlow:
    """A hash of the flow fields, salted per router, picks the next hop."""

    def __init__(self, seed: int, name: str) -> None:
        self.salt = f"{seed}:{name}".encode()

    def choose(self, v: Quote, options: tuple[str, ...]) -> str:
        h = hashlib.blake2b(flow_key(v), digest_size=8, key=self.salt[:64]).digest()
        return options[int.from_bytes(h, "big") % len(options)]


class PerPacket:
    """Each packet takes a next hop drawn at random (seeded): per-packet
    load balancing, which MDA must report as a clump."""

    def __init__(self, seed: int, name: str) -> None:
        self.rng = seeded(seed, name, "per-packet")

    def choose(self, v: Quote, options: tuple[str, ...]) -> str:
        return options[self.rng.randrange(len(options))]


class PathChange(PerFlow):
    """Per flow, but the routing changes under the measurement: every
    ``EVERY`` packets the hash is salted anew, so flows move."""

    EVERY = 20

    def __init__(self, seed: int, name: str) -> None:
        super().__init__(seed, name)
        self.base = self.salt
        self.count = 0

    def choose(self, v: Quote, options: tuple[str, ...]) -> str:
        self.salt = self.base + str(self.count // self.EVERY).encode()
        self.count += 1
        return super().choose(v, options)


BALANCERS: dict[str, Callable[[int, str], Balancer]] = {
    "per-flow": PerFlow,
    "per-packet": PerPacket,
    "path-change": PathChange,
}


class Loss:
    """Deterministic loss on the link into a node: a seeded draw per probe."""

    def __init__(self, rate: float, rng: random.Random) -> None:
        self.rate = rate
        self.rng = rng

    def drops(self) -> bool:
        return self.rate > 0 and self.rng.random() < self.rate
