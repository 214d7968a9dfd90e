"""The datalink: sending IP packets in link-layer frames, and reading frames.

Theory of operation
-------------------
scamper transmits on the datalink (scamper_dl.c, ``ping_dltx``) when a probe
must leave through a chosen first-hop router (``-r``), carries a source
address that is not ours (``-O spoof``), or when asked to (``-O dltx``).  A
raw IP socket cannot do the first on Linux: the kernel routes every packet
it sends and picks the next hop itself.  So, as scamper does, we route the
packet ourselves:

1. ask the kernel (rtnetlink ``RTM_GETROUTE``) for the route to the
   destination, or to the router with ``-r``: the outgoing interface and the
   gateway;
2. find the link-layer address of the next hop (the gateway, else the
   router/destination itself, which is then on-link) in the neighbour table
   (``RTM_GETNEIGH``).  When it is not there we ask the kernel to resolve it
   (``RTM_NEWNEIGH`` with ``NTF_USE``, which sends the ARP request or
   neighbour solicitation and nothing else) and poll the table briefly;
3. hand the IP packet to a ``PF_PACKET``/``SOCK_DGRAM`` socket with that
   address: the kernel only prepends the Ethernet header.  Nothing is
   checked against the route's MTU, as for scamper's datalink sends.

Route and neighbour answers are cached per next hop for a few seconds.

Reading: a ``PF_PACKET`` socket sees every frame before IP reassembly, which
is what ``-M`` (pseudo path MTU) and ``-O tbt`` need: the size of a
fragmented reply and the IPv6 fragment identification.  Our own outgoing
frames are skipped (scamper's Linux datalink never sees the frames it sends
itself, and drops outgoing loopback copies).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time
from typing import NamedTuple

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4

# rtnetlink (linux/rtnetlink.h, linux/neighbour.h)
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_NEWNEIGH, RTM_GETNEIGH = 28, 30
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP = 0x1, 0x4, 0x400, 0x300
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5
RTN_LOCAL = 2
NDA_DST, NDA_LLADDR = 1, 2
NTF_USE = 0x01
# neighbour states whose link-layer address can be used
NUD_USABLE = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80  # reachable stale delay probe noarp permanent

_NLMSG = struct.Struct("=IHHII")
_RTMSG = struct.Struct("=BBBBBBBBI")
_NDMSG = struct.Struct("=BxxxiHBB")
_RTA = struct.Struct("=HH")

CACHE_NS = 5_000_000_000      # how long a route/neighbour answer is reused
RESOLVE_WAIT_NS = 200_000_000  # how long a send waits for ARP/ND, polled
RESOLVE_POLL_S = 0.002


class NextHop(NamedTuple):
    ifindex: int
    ifname: str
    lladdr: bytes


def _attrs(buf: bytes, off: int, end: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while off + 4 <= end:
        alen, atype = _RTA.unpack_from(buf, off)
        if alen < 4:
            break
        out[atype & 0x3FFF] = buf[off + 4:off + alen]
        off += (alen + 3) & ~3
    return out


def _attr(atype: int, data: bytes) -> bytes:
    a = _RTA.pack(4 + len(data), atype) + data
    return a + b"\0" * (-len(a) % 4)


class Netlink:
    """A minimal rtnetlink client: one request, its answers."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def request(self, mtype: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
        """(type, message) of every answer; raises OSError on a netlink error."""
        self.seq += 1
        seq = self.seq
        msg = _NLMSG.pack(_NLMSG.size + len(body), mtype, flags | NLM_F_REQUEST, seq, 0) + body
        self.sock.send(msg)
        out: list[tuple[int, bytes]] = []
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + _NLMSG.size <= len(data):
                mlen, typ, _flags, mseq, _pid = _NLMSG.unpack_from(data, off)
                if mlen < _NLMSG.size:
                    return out
                part = data[off:off + mlen]
                off += (mlen + 3) & ~3
                if mseq != seq:
                    continue
                if typ == NLMSG_DONE:
                    return out
                if typ == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", part, _NLMSG.size)[0]
                    if err:
                        raise OSError(err, os.strerror(err))
                    return out
                out.append((typ, part))
                if not flags & NLM_F_DUMP:
                    return out

    def route(self, dst: bytes) -> tuple[int, bytes | None, bool]:
        """(outgoing ifindex, gateway or None, is a local address) towards ``dst``."""
        fam = socket.AF_INET6 if len(dst) == 16 else socket.AF_INET
        body = _RTMSG.pack(fam, len(dst) * 8, 0, 0, 0, 0, 0, 0, 0) + _attr(RTA_DST, dst)
        for typ, part in self.request(RTM_GETROUTE, 0, body):
            if typ != RTM_NEWROUTE:
                continue
            rtm = _RTMSG.unpack_from(part, _NLMSG.size)
            at = _attrs(part, _NLMSG.size + _RTMSG.size, len(part))
            oif = struct.unpack("=i", at[RTA_OIF])[0] if RTA_OIF in at else 0
            return oif, at.get(RTA_GATEWAY), rtm[7] == RTN_LOCAL
        raise OSError(errno.ENETUNREACH, os.strerror(errno.ENETUNREACH))

    def neighbour(self, ifindex: int, addr: bytes) -> bytes | None:
        """The usable link-layer address of ``addr`` on ``ifindex``, if known."""
        fam = socket.AF_INET6 if len(addr) == 16 else socket.AF_INET
        for typ, part in self.request(RTM_GETNEIGH, NLM_F_DUMP, _NDMSG.pack(fam, 0, 0, 0, 0)):
            if typ != RTM_NEWNEIGH:
                continue
            _fam, idx, state, _fl, _t = _NDMSG.unpack_from(part, _NLMSG.size)
            if idx != ifindex or not state & NUD_USABLE:
                continue
            at = _attrs(part, _NLMSG.size + _NDMSG.size, len(part))
            if at.get(NDA_DST) == addr and NDA_LLADDR in at:
                return at[NDA_LLADDR]
        return None

    def resolve(self, ifindex: int, addr: bytes) -> None:
        """Ask the kernel to resolve ``addr`` (it sends ARP / ND, nothing else)."""
        fam = socket.AF_INET6 if len(addr) == 16 else socket.AF_INET
        body = _NDMSG.pack(fam, ifindex, 0, NTF_USE, 0) + _attr(NDA_DST, addr)
        self.request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_ACK, body)


class DatalinkTx:
    """Send whole IP packets in link-layer frames to a chosen next hop."""

    def __init__(self) -> None:
        self._nl: Netlink | None = None
        self._sock: socket.socket | None = None
        self._cache: dict[bytes, tuple[int, NextHop]] = {}

    def close(self) -> None:
        for s in (self._nl, self._sock):
            if s is not None:
                s.close()
        self._nl = None
        self._sock = None
        self._cache.clear()

    def nexthop(self, via: bytes) -> NextHop:
        """Where a frame towards ``via`` (the destination, or the ``-r``
        router) goes: scamper_route to ``via``, then the gateway's (or
        ``via``'s own, when on-link) link-layer address."""
        now = time.monotonic_ns()
        hit = self._cache.get(via)
        if hit is not None and now - hit[0] < CACHE_NS:
            return hit[1]
        if self._nl is None:
            self._nl = Netlink()
        nl = self._nl
        ifindex, gw, local = nl.route(via)
        ifname = socket.if_indextoname(ifindex)
        if local or ifname == "lo":
            hop = NextHop(ifindex, ifname, b"\0" * 6)
        else:
            target = gw if gw is not None else via
            mac = nl.neighbour(ifindex, target)
            if mac is None:
                try:
                    nl.resolve(ifindex, target)
                except OSError:
                    pass  # the poll below still sees an answer another way
                deadline = now + RESOLVE_WAIT_NS
                while mac is None and time.monotonic_ns() < deadline:
                    time.sleep(RESOLVE_POLL_S)
                    mac = nl.neighbour(ifindex, target)
            if mac is None:
                raise OSError(errno.EHOSTUNREACH, os.strerror(errno.EHOSTUNREACH))
            hop = NextHop(ifindex, ifname, mac)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[via] = (now, hop)
        return hop

    def send(self, packet: bytes, via: bytes) -> None:
        hop = self.nexthop(via)
        if self._sock is None:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
            self._sock.setblocking(False)
        proto = ETH_P_IPV6 if packet[0] >> 4 == 6 else ETH_P_IP
        self._sock.sendto(packet, (hop.ifname, proto, 0, 0, hop.lladdr))


def open_rx() -> socket.socket:
    """A socket reading every frame on every interface, network layer up
    (SOCK_DGRAM strips the link header), with kernel receive times."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    s.setblocking(False)
    return s
