"""The test bed side of bench/rate_bench: targets, capture, clients, counters.

- **Targets one hop away**: r1, the router next to vp, gets AnyIP routes
  (``ip route add local PREFIX dev lo``): it answers a ping to any address
  in them, so one router holds 32,768 IPv4 and 2^64 IPv6 targets and vp's
  neighbour table holds one entry.  The IPv4 blocks are aligned blocks of
  the bed's ``10.200.N.0/24`` scheme that no link of tests/testbed.py uses
  (checked at run time); IPv6 takes the /64 of net 64, ``fd00:200:64::/64``.
  vp needs no route of its own: its aggregates 10.200.0.0/16 and
  fd00:200::/32 already point at r1.
- **A capture of the probes** on vp's interface (tcpdump, nanosecond time
  stamps, echo requests out and, unless told not to, echo replies in): the
  achieved rate, the largest burst in 1 ms, and which probes the network
  answered.
- **Kernel drops seen from outside**: the ``drops`` column of
  ``/proc/PID/net/raw`` and ``raw6`` (the vp namespace's raw sockets, the
  tool's only), sampled while the tool runs.
- **Clients of a daemon**: attach, send a share of commands and ``done``,
  read every result to EOF, over the unix socket, all at once from one
  thread; and the ``stats`` command, read loosely (its format is not fixed
  yet).
- **Process figures** from /proc: CPU (utime + stime, children included),
  VmRSS, and the host's busy time, for how much else was running.

Standard library plus this repository (protocol, warts, bench/_pcap.py).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import selectors
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _pcap import Echo, read_echoes

import warts
from protocol import CLOSED, NEED_DATA, ClientConnection, Data, Err, Ok, OkId
from tests.testbed import LINKS, LOOPBACK_NET, Testbed
from warts.types.ping import Ping, reply_from_target

CLK_TCK = os.sysconf("SC_CLK_TCK")
ANYIP_ROUTER = "r1"
# 32,768 addresses in aligned blocks clear of every link of the bed (links
# use 1-8, 31-43, 99, 102-162 and 201-205 of 10.200.N.0/24)
ANY4_BLOCKS = ("10.200.64.0/19", "10.200.224.0/19", "10.200.112.0/20", "10.200.176.0/20",
               "10.200.208.0/20", "10.200.168.0/21", "10.200.192.0/21")
ANY6_NET = "fd00:200:64::/64"
SNAPLEN = 64  # Ethernet + IPv6 + the ICMP echo header: 62 bytes


# -- targets ---------------------------------------------------------------------


def anyip_targets(tb: Testbed, n4: int, n6: int) -> tuple[list[str], list[str]]:
    """Route the AnyIP blocks to r1's loopback; n4 + n6 distinct targets."""
    used = [ipaddress.ip_network(f"10.200.{n}.0/24") for n in
            {link for _, _, link, _ in LINKS} | {LOOPBACK_NET}]
    blocks = [ipaddress.ip_network(b) for b in ANY4_BLOCKS]
    clash = [str(b) for b in blocks if any(b.overlaps(u) for u in used)]
    if clash or any(ipaddress.ip_network(ANY6_NET).overlaps(
            ipaddress.ip_network(f"fd00:200:{n}::/64")) for n in
            {link for _, _, link, _ in LINKS} | {LOOPBACK_NET}):
        raise RuntimeError(f"AnyIP blocks overlap links of the test bed: {clash or ANY6_NET}")
    if n4 > sum(b.num_addresses for b in blocks):
        raise ValueError(f"at most {sum(b.num_addresses for b in blocks)} IPv4 targets")
    lines = [f"route add local {b} dev lo" for b in ANY4_BLOCKS]
    lines.append(f"route add local {ANY6_NET} dev lo")
    subprocess.run(["ip", "-n", tb.ns[ANYIP_ROUTER], "-batch", "-"], check=True,
                   input="\n".join(lines) + "\n", text=True, capture_output=True)
    v4 = [str(a) for b in blocks for a in b][:n4]
    base = ipaddress.ip_network(ANY6_NET).network_address
    v6 = [str(base + 0x10000 + i) for i in range(n6)]  # fd00:200:64::1:0 onwards
    return v4, v6


# -- the capture -----------------------------------------------------------------


class Capture:
    """tcpdump on vp's interface to a pcap file: echo requests vp sends and,
    with ``replies``, the echo replies it receives."""

    def __init__(self, tb: Testbed, path: str, *, replies: bool = True) -> None:
        self.tb = tb
        self.path = path
        ifc = tb.nodes["vp"].ifaces["r1"].name
        self.errpath = path + ".err"
        self._err = open(self.errpath, "w+")
        # the IPv6 echo header follows the fixed header: the bed sends no
        # extension headers
        requests = "(icmp and icmp[0] == 8) or (icmp6 and ip6[40] == 128)"
        filt = (f"{requests} or (icmp and icmp[0] == 0) or (icmp6 and ip6[40] == 129)"
                if replies else requests)
        argv = ["tcpdump", "-i", ifc, "-n", "-p", "-s", str(SNAPLEN), "-B", "65536",
                # immediate mode: TPACKET_V3 otherwise hands over a block only
                # when it fills or after 1 s, and a pending block is lost at stop
                "--time-stamp-precision=nano", "--immediate-mode", "-U", "-w", path]
        if not replies:
            argv += ["-Q", "out"]
        self.proc = tb.popen("vp", [*argv, filt], stdout=subprocess.DEVNULL, stderr=self._err)
        deadline = time.monotonic() + 10
        while "listening on" not in Path(self.errpath).read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("tcpdump did not start: " + Path(self.errpath).read_text())
            time.sleep(0.02)
        self.dropped = 0
        self.cpu0 = proc_cpu(self.proc.pid)

    def cpu(self) -> float:
        """CPU seconds tcpdump has used since it started listening."""
        try:
            return proc_cpu(self.proc.pid) - self.cpu0
        except OSError:
            return 0.0

    def stop(self) -> list[Echo]:
        """Stop tcpdump; every echo it wrote.  ``dropped`` counts packets the
        filter passed that never reached the file (kernel or buffer)."""
        time.sleep(0.3)  # the last replies
        self.proc.send_signal(2)
        try:
            self.proc.wait(10)
        finally:
            self.tb.stop(self.proc)
            self._err.close()
        err = Path(self.errpath).read_text()
        got = re.search(r"(\d+) packets? captured", err)
        seen = re.search(r"(\d+) packets? received by filter", err)
        kern = re.search(r"(\d+) packets? dropped by kernel", err)
        if got and seen:
            self.dropped = max(int(seen.group(1)) - int(got.group(1)), 0)
        if kern:
            self.dropped = max(self.dropped, int(kern.group(1)))
        return read_echoes(self.path)


def rate(times_ns: Sequence[int]) -> float | None:
    """Probes per second from the first to the last time stamp."""
    if len(times_ns) < 2 or times_ns[-1] == times_ns[0]:
        return None
    return (len(times_ns) - 1) * 1e9 / (times_ns[-1] - times_ns[0])


def largest_burst(times_ns: Sequence[int], window_ns: int = 1_000_000) -> int:
    """The most time stamps (sorted) within any ``window_ns``."""
    best = 0
    lo = 0
    for hi, t in enumerate(times_ns):
        while t - times_ns[lo] >= window_ns:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@dataclass
class Wire:
    """What the capture saw of one run."""

    probes: int
    answered: int  # probes with an echo reply on the wire
    rate: float | None
    burst: int
    dropped: int
    replies_captured: bool


def wire_figures(echoes: Iterable[Echo], dropped: int, replies: bool) -> Wire:
    sent: dict[tuple[bytes, int, int], int] = {}
    answered = set()
    for e in echoes:
        key = (e.peer, e.ident, e.seq)
        if e.request:
            sent.setdefault(key, e.ts_ns)
        elif key in sent:
            answered.add(key)
    times = sorted(sent.values())
    return Wire(len(times), len(answered), rate(times), largest_burst(times), dropped, replies)


# -- records -----------------------------------------------------------------------


@dataclass
class Records:
    pings: int  # records read
    answered: int  # of those, with a reply from the target
    rate: float | None  # from the records' start times, first to last


def ping_figures(pings: Sequence[Ping]) -> Records:
    starts = sorted(p.start.to_us() * 1000 for p in pings if p.start is not None)
    answered = sum(1 for p in pings
                   if any(reply_from_target(p.method or 0, p.dst, r) for r in p.replies))
    return Records(len(pings), answered, rate(starts))


def read_pings(data: bytes) -> list[Ping]:
    return [r for r in warts.decode(data) if isinstance(r, Ping)]


# -- kernel drops on the tool's raw sockets ----------------------------------------------


def raw_drops(pid: int) -> int | None:
    """The drops column of /proc/PID/net/raw and raw6, summed: packets the
    kernel dropped on every raw socket of the process's network namespace
    (in vp: the tool's).  None once the process is gone."""
    total = 0
    try:
        for name in ("raw", "raw6"):
            with open(f"/proc/{pid}/net/{name}") as f:
                lines = f.read().splitlines()[1:]
            total += sum(int(ln.split()[-1]) for ln in lines if ln.strip())
    except (OSError, ValueError, IndexError):
        return None
    return total


class RawDrops:
    """Samples :func:`raw_drops` while a one-shot tool runs; ``drops`` is
    the largest sum seen, so the last ``interval`` before exit can be
    missed."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.drops = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self) -> int | None:
        got = raw_drops(self.pid)
        if got is not None:
            self.drops = max(self.drops, got)
        return got

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.sample() is None:
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.drops


# -- /proc ---------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            continue
    return out


def proc_cpu(pid: int) -> float:
    """User + system seconds of a process, its reaped children and its live
    descendants (Debian's scamper keeps a privileged helper)."""
    f = _stat_fields(pid)
    total = sum(int(x) for x in f[11:15])
    for kid in descendants(pid):
        try:
            total += sum(int(x) for x in _stat_fields(kid)[11:13])
        except OSError:
            pass
    return total / CLK_TCK


def proc_rss(pid: int) -> int:
    """VmRSS of one process, bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def host_busy() -> float:
    """Seconds of CPU the whole host has spent busy (all cores)."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return (sum(vals[:8]) - idle) / CLK_TCK


# -- clients of a daemon ---------------------------------------------------------------


@dataclass
class Client:
    """One control connection: attach, commands, ``done``, results to EOF."""

    sock: socket.socket
    payload: bytes
    conn: ClientConnection = field(default_factory=ClientConnection)
    sent: int = 0
    oks: int = 0
    errs: list[str] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)  # the warts stream
    attached: bool = False
    eof: bool = False

    def feed(self, chunk: bytes) -> None:
        self.conn.receive_data(chunk)
        while True:
            ev = self.conn.next_event()
            if ev is NEED_DATA:
                return
            if ev is CLOSED:
                self.eof = True
                return
            if isinstance(ev, Data):
                self.data += ev.payload
            elif isinstance(ev, OkId):
                self.oks += 1
            elif isinstance(ev, Ok):
                self.attached = True
            elif isinstance(ev, Err):
                self.errs.append(ev.text)


def connect_unix(path: str, timeout: float = 20.0) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def attach_clients(path: str, shares: Sequence[Sequence[str]], *, done: bool = True,
                   timeout: float = 20.0) -> list[Client]:
    """Connect and attach one client per share, waiting for each OK; the
    commands are not sent yet."""
    clients = []
    for cmds in shares:
        s = connect_unix(path, timeout)
        s.sendall(b"attach\n")
        tail = "done\n" if done else ""
        clients.append(Client(s, ("".join(c + "\n" for c in cmds) + tail).encode()))
    deadline = time.monotonic() + timeout
    for c in clients:
        while not c.attached:
            c.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            chunk = c.sock.recv(65536)
            c.feed(chunk)
            if not chunk or c.errs:
                raise RuntimeError(f"attach failed: {c.errs or 'EOF'}")
        c.sock.setblocking(False)
    return clients


def drive(clients: Sequence[Client], deadline: float, *, until_oks: int | None = None
          ) -> float:
    """Write every client's commands while reading its replies, until each
    is at EOF (or, with ``until_oks``, has that many ``OK id-N``); one
    thread, never blocking.  Returns the wall time; raises at ``deadline``
    (monotonic)."""
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()

    def finished(c: Client) -> bool:
        return c.eof or (until_oks is not None and c.oks + len(c.errs) >= until_oks)

    for c in clients:
        sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    left = len(clients)
    try:
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0:
                state = [(c.sent, len(c.payload), c.oks, c.eof) for c in clients]
                raise TimeoutError(f"clients unfinished (sent, of, OKs, EOF): {state}")
            for key, mask in sel.select(min(wait, 1.0)):
                c = key.data
                if mask & selectors.EVENT_WRITE and c.sent < len(c.payload):
                    try:
                        c.sent += c.sock.send(c.payload[c.sent:c.sent + 65536])
                    except BlockingIOError:
                        pass
                    if c.sent == len(c.payload):
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if mask & selectors.EVENT_READ:
                    try:
                        chunk = c.sock.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    c.feed(chunk)
                    if not chunk and not c.eof:
                        raise RuntimeError("connection closed inside a reply")
                if finished(c):
                    sel.unregister(c.sock)
                    left -= 1
    finally:
        sel.close()
    return time.monotonic() - t0


# -- the daemon's own counters ------------------------------------------------------------


def query_stats(path: str, timeout: float = 3.0) -> str | None:
    """The text a daemon answers to ``stats`` on a fresh (interactive)
    connection, or None when it refuses it (``ERR``) or says nothing.
    Read until an ``OK`` line ends it or the daemon goes quiet for 0.5 s."""
    try:
        s = connect_unix(path, timeout)
    except OSError:
        return None
    buf = b""
    try:
        s.sendall(b"stats\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(0.5 if buf else max(deadline - time.monotonic(), 0.01))
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            buf += chunk
            lines = buf.decode(errors="replace").splitlines()
            if lines and (lines[0].startswith("ERR") or lines[-1] == "OK"):
                break
    except OSError:
        pass
    finally:
        s.close()
    text = buf.decode(errors="replace").strip()
    if not text or text.startswith("ERR"):
        return None
    return text


_KV = re.compile(r"([A-Za-z][\w.-]*(?: [a-z][\w-]*)?)\s*[=:]\s*(-?\d[\d,]*(?:\.\d+)?)")
_NK = re.compile(r"(-?\d[\d,]*(?:\.\d+)?)\s+([A-Za-z][\w-]*(?: [A-Za-z][\w-]*){0,3})")
_KN = re.compile(r"([A-Za-z][\w-]*)\s+(-?\d[\d,]*(?:\.\d+)?)")


def counters(text: str) -> dict[str, float]:
    """Numbers a daemon reports, by name, read loosely: JSON objects,
    ``key=value`` / ``key: value`` pairs, else both ``N words`` and ``word N``
    (``12 kernel drops``, ``kernel-dropped 12``)."""
    out: dict[str, float] = {}

    def flatten(obj: Any, prefix: str) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                flatten(v, f"{prefix}{k}.")
        elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
            out[prefix.rstrip(".").lower()] = float(obj)

    for line in text.splitlines():
        start = line.find("{")
        if start >= 0:
            try:
                flatten(json.loads(line[start:]), "")
                continue
            except ValueError:
                pass
        pairs = _KV.findall(line)
        for k, v in pairs:
            out[k.lower()] = float(v.replace(",", ""))
        if not pairs:
            for v, k in _NK.findall(line):
                out.setdefault(k.lower(), float(v.replace(",", "")))
            for k, v in _KN.findall(line):
                out.setdefault(k.lower(), float(v.replace(",", "")))
    return out


def kernel_drops(found: dict[str, float]) -> int | None:
    """The kernel-drop count among a daemon's counters, or None if it has none."""
    drops = {k: v for k, v in found.items() if "drop" in k}
    kernel = {k: v for k, v in drops.items()
              if any(w in k for w in ("kernel", "rxq", "ovfl", "socket"))}
    pick = kernel or drops
    return int(sum(pick.values())) if pick else None


def reported_rate(found: dict[str, float]) -> float | None:
    for k, v in found.items():
        if ("rate" in k or "pps" in k) and "target" not in k and v > 0:
            return v
    return None
