"""PTR lookups for measurements (trace -O ptr): scamper's own DNS client.

Theory of operation
-------------------
scamper resolves hop names with its own code (scamper_host_do.c), not the
system's resolver: a PTR query (recursion desired, one question) sent over
UDP to the nameserver given with ``-n`` or ``set nameserver``, else the
first ``nameserver`` line of /etc/resolv.conf (``fe80::1`` skipped).  A
query unanswered after 5 s is sent once more with a new id; after that, or
on an answer with no PTR record, the lookup ends without a name.  Lookups
of one name at one nameserver share a query (scamper's task signature).
With no nameserver at all nothing is sent and the caller gets no name.

The measurement never waits: :meth:`Resolver.ptr` sends the query and
returns; :meth:`Resolver.run`, started in the engine's nursery, reads the
answers and calls back with the name (or None).  One dual-stack UDP socket
serves IPv4 and IPv6 nameservers.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

QTYPE_PTR = 12
QCLASS_IN = 1
DNS_PORT = 53
WAIT_NS = 5_000_000_000  # scamper's host->wait_timeout for these lookups
RETRIES = 1              # scamper's host->retries: two queries in all
MAX_MSG = 65535

_HDR = struct.Struct(">HHHHHH")
_RR = struct.Struct(">HHIH")

PtrCallback = Callable[[str | None], None]


class DnsError(ValueError):
    """A malformed DNS message."""


def reverse_name(addr: bytes) -> str:
    """The PTR query name of an IPv4 (4 bytes) or IPv6 (16 bytes) address,
    as scamper writes it (lower-case nibbles for IPv6)."""
    if len(addr) == 4:
        return ".".join(str(b) for b in reversed(addr)) + ".in-addr.arpa"
    nibbles = addr.hex()
    return ".".join(reversed(nibbles)) + ".ip6.arpa"


def build_query(qid: int, qname: str, qtype: int = QTYPE_PTR) -> bytes:
    """A query for ``qname`` with recursion desired (do_host_probe_query)."""
    out = bytearray(_HDR.pack(qid, 0x0100, 1, 0, 0, 0))
    for label in qname.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) <= 63:
            raise DnsError(f"bad label in {qname!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    out += struct.pack(">HH", qtype, QCLASS_IN)
    return bytes(out)


def _name(buf: bytes, off: int) -> tuple[str, int]:
    """extract_name(): a possibly compressed name at ``off``, and the offset
    after it in the message.  Pointers must point backwards, as scamper
    insists, so a message cannot loop."""
    labels: list[str] = []
    end = -1
    while True:
        if off >= len(buf):
            raise DnsError("name runs past the message")
        n = buf[off]
        if n == 0:
            if end < 0:
                end = off + 1
            break
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(buf):
                raise DnsError("short pointer")
            ptr = struct.unpack_from(">H", buf, off)[0] & 0x3FFF
            if ptr >= off:
                raise DnsError("forward pointer")
            if end < 0:
                end = off + 2
            off = ptr
            continue
        if off + 1 + n >= len(buf):
            raise DnsError("label runs past the message")
        labels.append(buf[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels), end


def parse_ptr(buf: bytes) -> tuple[int, str, str | None]:
    """(id, question name, first PTR name or None) of a response."""
    if len(buf) < _HDR.size:
        raise DnsError("short header")
    qid, flags, qd, an, _ns, _ar = _HDR.unpack_from(buf, 0)
    if not flags & 0x8000:
        raise DnsError("not a response")
    off = _HDR.size
    qname = ""
    for i in range(qd):
        name, off = _name(buf, off)
        if i == 0:
            qname = name
        off += 4
    for _ in range(an):
        _owner, off = _name(buf, off)
        if off + _RR.size > len(buf):
            raise DnsError("short resource record")
        rtype, rclass, _ttl, rdlen = _RR.unpack_from(buf, off)
        off += _RR.size
        if rtype == QTYPE_PTR and rclass == QCLASS_IN:
            return qid, qname, _name(buf, off)[0]
        off += rdlen
    return qid, qname, None


def nameserver_from_resolv_conf(path: str = "/etc/resolv.conf") -> str | None:
    """etc_resolv(): the first usable ``nameserver`` line's address."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        if not line[:10].lower() == "nameserver" or len(line) == 10 \
                or not line[10].isspace():
            continue
        word = line[10:].strip()
        for stop in "#;":
            word = word.split(stop, 1)[0]
        word = word.split()[0] if word.split() else ""
        if not word or word.lower() == "fe80::1":
            continue
        try:
            return str(ipaddress.ip_address(word))
        except ValueError:
            continue
    return None


@dataclass(eq=False)
class _Lookup:
    qname: str
    server: str
    qid: int = 0
    deadline: int = 0
    sent: int = 0
    callbacks: list[PtrCallback] = field(default_factory=list)


class Resolver:
    """The daemon's PTR lookups (see the module docstring)."""

    def __init__(self, nameserver: str | None = None, *,
                 resolv_conf: str = "/etc/resolv.conf", port: int = DNS_PORT,
                 wait_ns: int = WAIT_NS) -> None:
        self.nameserver = nameserver
        self.resolv_conf = resolv_conf
        self.port = port
        self.wait_ns = wait_ns
        self._from_conf: str | None = None
        self._next_id = 1
        self._by_id: dict[int, _Lookup] = {}
        self._by_name: dict[tuple[str, str], _Lookup] = {}
        self._sock: socket.socket | None = None
        self._work = trio.Event()
        self.queries_sent = 0

    def server(self) -> str | None:
        """The nameserver to ask: the configured one, else resolv.conf's."""
        if self.nameserver is not None:
            return self.nameserver
        if self._from_conf is None:
            self._from_conf = nameserver_from_resolv_conf(self.resolv_conf)
        return self._from_conf

    def ptr(self, addr: bytes, callback: PtrCallback) -> bool:
        """Look ``addr`` up; ``callback`` gets the name or None later.
        False (and no callback) when there is no nameserver or the query
        cannot be sent, as scamper_do_host_do_ptr returns NULL."""
        server = self.server()
        if server is None:
            return False
        qname = reverse_name(addr)
        lk = self._by_name.get((qname, server))
        if lk is not None:
            lk.callbacks.append(callback)
            return True
        lk = _Lookup(qname, server, callbacks=[callback])
        if not self._send(lk, time.time_ns()):
            return False
        self._by_name[(qname, server)] = lk
        self._work.set()
        return True

    def _socket(self) -> socket.socket:
        if self._sock is None:
            try:
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            except OSError:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            self._sock = s
        return self._sock

    def _send(self, lk: _Lookup, now: int) -> bool:
        """do_host_probe(): a query with the next id (ids skip 0)."""
        sock = self._socket()
        addr = ipaddress.ip_address(lk.server)
        if sock.family == socket.AF_INET6:
            host = str(addr) if addr.version == 6 else f"::ffff:{addr}"
        elif addr.version == 4:
            host = str(addr)
        else:
            return False
        qid = self._next_id
        self._next_id = self._next_id % 0xFFFF + 1
        try:
            sock.sendto(build_query(qid, lk.qname), (host, self.port))
        except (OSError, DnsError):
            return False
        self._by_id.pop(lk.qid, None)
        lk.qid = qid
        lk.sent += 1
        lk.deadline = now + self.wait_ns
        self._by_id[qid] = lk
        self.queries_sent += 1
        return True

    def _finish(self, lk: _Lookup, name: str | None) -> None:
        self._by_id.pop(lk.qid, None)
        self._by_name.pop((lk.qname, lk.server), None)
        for cb in lk.callbacks:
            cb(name)

    def handle(self, data: bytes) -> None:
        """One datagram from the nameserver."""
        try:
            qid, qname, name = parse_ptr(data)
        except DnsError:
            return
        lk = self._by_id.get(qid)
        if lk is None or qname.lower() != lk.qname.lower():
            return
        self._finish(lk, name)

    def expire(self, now: int) -> int | None:
        """Resend or give up on lookups past their deadline; the next
        deadline, if any lookup is left."""
        for lk in [lk for lk in self._by_id.values() if lk.deadline <= now]:
            if lk.sent > RETRIES or not self._send(lk, now):
                self._finish(lk, None)
        return min((lk.deadline for lk in self._by_id.values()), default=None)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read answers and time lookups out until cancelled."""
        task_status.started()
        try:
            while True:
                deadline = self.expire(time.time_ns())
                sock = self._sock
                if deadline is None or sock is None:
                    await self._work.wait()
                    self._work = trio.Event()
                    continue
                at = trio.current_time() + max(deadline - time.time_ns(), 0) / 1e9
                with trio.move_on_at(at):
                    await trio.lowlevel.wait_readable(sock)
                    while True:
                        try:
                            data = sock.recv(MAX_MSG)
                        except BlockingIOError:
                            break
                        except OSError as e:
                            if e.errno == errno.ECONNREFUSED:
                                continue  # an ICMP port unreachable: the retry handles it
                            break
                        self.handle(data)
        finally:
            if self._sock is not None:
                trio.lowlevel.notify_closing(self._sock)
                self._sock.close()
                self._sock = None
