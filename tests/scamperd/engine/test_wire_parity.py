"""Our probes on the wire, header field by header field, against Debian's
scamper's (issue 8, item 7: "On the wire as scamper is").

The same commands, with every port and ICMP id pinned, run through Debian's
scamper 20211212 and through scamperd in the test bed's vantage point, one
tool after the other; a packet socket on the vantage point's interface
records every probe that leaves, and packet sockets on r2's three ECMP
egress interfaces record which branch each probe took.  Probes are told
apart by (family, protocol, source port or ICMP id): each command has its
own.

Only what scamper itself varies from run to run may differ: a ping's IPv4
IP-ID (scamper draws one at random per probe) with the header checksum that
follows it, and tcp-syn ping's initial sequence number with the TCP
checksum.  The IPv6 flow label is compared as a value: over ICMPv6 and UDP
the kernel writes it for both (``net.ipv6.auto_flowlabels``, set to 1 in
the vantage point for the test) as a hash of the flow, so the same probe
gets the same label; over TCP scamper writes its probe id + 1 itself.
"""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scamperd.engine.packets import checksum, pseudo_sum
from tests.scamperd.daemon_helpers import SCAMPER, needs_debian, ns_socket, scamperd_argv
from tests.testbed import Testbed

pytestmark = [pytest.mark.netns, pytest.mark.interop, needs_debian]

ROOT = Path(__file__).resolve().parents[3]
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
BRANCHES = ("r3a", "r3b", "r3c")

# (name, command without its target).  Every command has its own source port
# or ICMP id, by which its probes are found in the capture.
COMMANDS = (
    ("trace udp", "trace -P udp -q 1 -s 4101 -d 33435"),
    ("trace udp-paris", "trace -P udp-paris -q 1 -s 4102 -d 33435"),
    ("trace icmp", "trace -P icmp -q 1 -s 4103"),
    ("trace icmp-paris", "trace -P icmp-paris -q 1 -s 4104 -d 77"),
    ("trace tcp", "trace -P tcp -q 1 -s 4105 -d 80"),
    ("trace tcp-ack", "trace -P tcp-ack -q 1 -s 4106 -d 80"),
    ("ping icmp-echo", "ping -P icmp-echo -c 3 -i 0.1 -F 4107"),
    ("ping udp", "ping -P udp -c 3 -i 0.1 -F 4108 -d 33435"),
    ("ping tcp-syn", "ping -P tcp-syn -c 3 -i 0.1 -F 4109 -d 80"),
)

Fields = dict[str, Any]
Groups = dict[tuple[int, int, int], list[Fields]]  # by (IP version, protocol, port or id)


def _port(cmd: str) -> int:
    words = cmd.split()
    for flag in ("-s", "-F"):
        if flag in words:
            return int(words[words.index(flag) + 1])
    raise AssertionError(cmd)


def _proto(cmd: str, v6: bool) -> int:
    method = cmd.split()[cmd.split().index("-P") + 1]
    if method.startswith("icmp"):
        return socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    return socket.IPPROTO_TCP if method.startswith("tcp") else socket.IPPROTO_UDP


def parse(frame: bytes) -> Fields | None:
    """Every header field of an Ethernet frame carrying IPv4 or IPv6 with
    ICMP, UDP or TCP; None for anything else."""
    ethertype = frame[12:14]
    ip = frame[14:]
    f: Fields = {}
    if ethertype == b"\x86\xdd":
        first, plen, nxt, hlim = struct.unpack_from(">IHBB", ip)
        f.update({"ip.version": first >> 28, "ip.tclass": (first >> 20) & 0xFF,
                  "ip.flow": first & 0xFFFFF, "ip.plen": plen, "ip.proto": nxt,
                  "ip.ttl": hlim, "ip.src": ip[8:24], "ip.dst": ip[24:40]})
        l4 = ip[40:40 + plen]
    elif ethertype == b"\x08\x00":
        vhl, tos, total, ipid, frag, ttl, proto, csum = struct.unpack_from(">BBHHHBBH", ip)
        ihl = (vhl & 0x0F) * 4
        f.update({"ip.version": vhl >> 4, "ip.ihl": ihl, "ip.tos": tos, "ip.len": total,
                  "ip.id": ipid, "ip.frag": frag, "ip.ttl": ttl, "ip.proto": proto,
                  "ip.sum": csum, "ip.src": ip[12:16], "ip.dst": ip[16:20],
                  "ip.options": ip[20:ihl]})
        l4 = ip[ihl:total]
    else:
        return None
    proto = f["ip.proto"]
    keys: tuple[str, ...]
    if proto == socket.IPPROTO_UDP and len(l4) >= 8:
        keys = ("udp.sport", "udp.dport", "udp.len", "udp.sum")
        f.update(zip(keys, struct.unpack_from(">HHHH", l4), strict=True))
        f["data"] = l4[8:]
        f["port"] = f["udp.sport"]
    elif proto in (socket.IPPROTO_ICMP, socket.IPPROTO_ICMPV6) and len(l4) >= 8:
        keys = ("icmp.type", "icmp.code", "icmp.sum", "icmp.id", "icmp.seq")
        f.update(zip(keys, struct.unpack_from(">BBHHH", l4), strict=True))
        f["data"] = l4[8:]
        f["port"] = f["icmp.id"]
    elif proto == socket.IPPROTO_TCP and len(l4) >= 20:
        keys = ("tcp.sport", "tcp.dport", "tcp.seq", "tcp.ack", "tcp.off", "tcp.flags",
                "tcp.win", "tcp.sum", "tcp.urp")
        f.update(zip(keys, struct.unpack_from(">HHIIBBHHH", l4), strict=True))
        off = (f["tcp.off"] >> 4) * 4
        f["tcp.options"] = l4[20:off]
        f["data"] = l4[off:]
        f["port"] = f["tcp.sport"]
    else:
        return None
    if proto == socket.IPPROTO_ICMP:
        init = 0
    else:
        init = pseudo_sum(f["ip.src"], f["ip.dst"], proto, len(l4))
    f["l4"] = l4
    f["l4.sum_ok"] = checksum(l4, init) == 0
    return f


def is_probe(f: Fields, src: bytes) -> bool:
    """A probe from ``src``: an echo request, UDP, or TCP without RST (the
    vantage point's kernel resets the connections a SYN-ACK opens)."""
    if f["ip.src"] != src:
        return False
    if "icmp.type" in f:
        return bool(f["icmp.type"] in (8, 128))
    return "udp.sport" in f or not f["tcp.flags"] & 0x04


def _open_capture(ns: str, ifname: str) -> socket.socket:
    s = ns_socket(ns, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((ifname, ETH_P_ALL))
    s.setblocking(False)
    return s


def _outgoing(s: socket.socket) -> Iterator[bytes]:
    """The frames sent out of the interface since the last call."""
    while True:
        try:
            frame, addr = s.recvfrom(65535)
        except BlockingIOError:
            return
        if addr[2] == PACKET_OUTGOING:
            yield frame


class Capture:
    """Packet sockets on vp's interface and on r2's ECMP egress interfaces."""

    def __init__(self, tb: Testbed) -> None:
        self.vp = _open_capture(tb.ns["vp"], "e-r1")
        self.r2 = {b: _open_capture(tb.ns["r2"], f"e-{b}") for b in BRANCHES}

    def take(self) -> tuple[list[Fields], dict[tuple[bytes, int], str]]:
        """(every parsed frame vp sent, branch by (transport bytes, hop limit)
        of every frame r2 forwarded)."""
        sent = [f for f in map(parse, _outgoing(self.vp)) if f is not None]
        branch: dict[tuple[bytes, int], str] = {}
        for b, s in self.r2.items():
            for f in map(parse, _outgoing(s)):
                if f is not None:
                    branch[(bytes(f["l4"]), f["ip.ttl"])] = b
        return sent, branch

    def close(self) -> None:
        for s in (self.vp, *self.r2.values()):
            s.close()


def _group(sent: list[Fields], branch: dict[tuple[bytes, int], str],
           srcs: dict[int, bytes]) -> Groups:
    """Probes by (IP version, protocol, port or ICMP id), in the order sent,
    each with the branch r2 sent it down (None: it did not get that far)."""
    out: Groups = {}
    for f in sent:
        if not is_probe(f, srcs[f["ip.version"]]):
            continue
        f["branch"] = branch.get((bytes(f["l4"]), f["ip.ttl"] - 2))
        out.setdefault((f["ip.version"], f["ip.proto"], f["port"]), []).append(f)
    return out


def _varying(name: str, version: int) -> frozenset[str]:
    """The fields scamper itself changes from one run to the next."""
    skip = {"l4", "branch"}
    if name.startswith("ping") and version == 4:
        skip |= {"ip.id", "ip.sum"}  # do_ping_probe: a random IP-ID per probe
    if name == "ping tcp-syn":
        skip |= {"tcp.seq", "tcp.sum", "l4"}  # the initial sequence number
    return frozenset(skip)


@pytest.fixture(scope="module")
def captured(testbed: Testbed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Groups]:
    """Every command through Debian's scamper, then through scamperd, with
    net.ipv6.auto_flowlabels=1 in the vantage point (Debian 12's default;
    put back as it was afterwards): each tool's probes, grouped."""
    key = "net.ipv6.auto_flowlabels"
    old = testbed.exec("vp", ["sysctl", "-n", key]).stdout.strip()
    testbed.exec("vp", ["sysctl", "-q", "-w", f"{key}=1"])
    try:
        return _run_both(testbed, tmp_path_factory.mktemp("wire"))
    finally:
        testbed.exec("vp", ["sysctl", "-q", "-w", f"{key}={old}"])


def _run_both(tb: Testbed, tmp: Path) -> dict[str, Groups]:
    cmdfile = tmp / "cmds.txt"
    cmdfile.write_text("".join(f"{c} {dst}\n" for dst in (tb.dst4, tb.dst6)
                               for _, c in COMMANDS))
    srcs = {4: socket.inet_pton(socket.AF_INET, tb.vp4),
            6: socket.inet_pton(socket.AF_INET6, tb.vp6)}
    # the commands run side by side: their probes are told apart by port
    common = ["-O", "warts", "-O", "cmdfile", "-p", "1000", "-f", str(cmdfile)]
    cap = Capture(tb)
    try:
        cap.take()  # whatever went before
        got = {}
        for who, argv in (("scamper", [SCAMPER, *common, "-o", str(tmp / "scamper.warts")]),
                          ("scamperd", scamperd_argv(*common, "-o", str(tmp / "ours.warts")))):
            tb.exec("vp", argv, cwd=ROOT, timeout=120)
            got[who] = _group(*cap.take(), srcs)
        return got
    finally:
        cap.close()


def test_wire_parity_probe_headers_as_debian_scamper(captured: dict[str, Groups]) -> None:
    """Every probe of every command, IPv4 and IPv6: the same header fields
    as Debian's scamper's probe, down the same ECMP branch."""
    theirs, ours = captured["scamper"], captured["scamperd"]
    for version in (4, 6):
        for name, cmd in COMMANDS:
            key = (version, _proto(cmd, version == 6), _port(cmd))
            what = f"{name} IPv{version}"
            want, mine = theirs.get(key, []), ours.get(key, [])
            assert want, f"{what}: no probe of Debian's scamper captured"
            assert len(mine) == len(want), (what, len(mine), len(want))
            skip = _varying(name, version)
            for i, (m, w) in enumerate(zip(mine, want, strict=True)):
                diff = {k: (m.get(k), w.get(k)) for k in m.keys() | w.keys()
                        if k not in skip and m.get(k) != w.get(k)}
                assert not diff, f"{what} probe {i}: (ours, scamper's) {diff}"
                assert m["l4.sum_ok"] and w["l4.sum_ok"], (what, i)
                if "ip.id" in skip:
                    assert m["ip.id"] and w["ip.id"], (what, i)  # never 0, as scamper
                if version == 6 and "tcp.sport" not in m:
                    # written by the kernel from the flow, for both
                    assert m["ip.flow"] != 0, (what, i)
            # the branch r2 chose, for the probes that got that far
            assert [m["branch"] for m in mine] == [w["branch"] for w in want], what


def test_wire_parity_paris_checksums_held(captured: dict[str, Groups]) -> None:
    """Through the kernel's checksum (ICMPv6 raw and UDP sockets compute it),
    icmp-paris keeps its checksum at -d and udp-paris counts its probes in
    it, as the trace method meant."""
    got = captured["scamperd"]
    for version in (4, 6):
        v6 = version == 6
        icmp = got[(version, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP, 4104)]
        assert {f["icmp.sum"] for f in icmp} == {77}
        udp = got[(version, socket.IPPROTO_UDP, 4102)]
        assert [f["udp.sum"] for f in udp] == list(range(1, len(udp) + 1))
        tcp = got[(version, socket.IPPROTO_TCP, 4105)]
        if v6:
            # TCP keeps scamper's own label: the probe id + 1
            assert [f["ip.flow"] for f in tcp] == list(range(1, len(tcp) + 1))


def test_wire_parity_runs_this_checkout(testbed: Testbed) -> None:
    """The scamperd the test bed runs is this checkout's, not another copy
    on the interpreter's path."""
    out = testbed.exec("vp", [sys.executable, "-c",
                              "import scamperd; print(scamperd.__file__)"], cwd=ROOT).stdout
    assert Path(out.strip()).resolve().is_relative_to(ROOT)
