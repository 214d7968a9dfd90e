"""The stage for tests/scamperd/test_stateful.py: one namespace, one daemon.

A single network namespace, named like the test bed's (``tests.testbed``'s
prefix, pid and creation time) so that a crashed run's leftovers are removed
by the next run's :func:`tests.testbed.clean_leftovers`.  Inside it:

* ``lo`` up (127.0.0.0/8 and ::1 are ours);
* a veth pair ``sm0``/``sm1`` standing in for a dummy interface (this
  kernel has no ``dummy`` link type, see the reference testbed notes).
  ``sm0`` holds :data:`OURS4`/:data:`OURS6` and has ARP/NDP switched off, so
  a probe routed to it leaves with ``sm0``'s own MAC as destination and
  ``sm1`` drops it as not for it: nobody ever answers, probes time out.
  ``sm1`` has IPv6 disabled so it adds no traffic of its own;
* routes: ``192.0.2.0/24`` (connected, ``.255`` its broadcast) and
  ``198.51.100.0/25`` on ``sm0``, ``unreachable`` and ``blackhole`` routes for
  parts of 198.51.100.0/24 and 2001:db8::/32, and **no default route**, so no
  probe, however wrong, can leave the namespace.

The daemon runs there with ``-U`` (a file: the test process connects to it
directly) and ``-P 127.0.0.1:PORT`` (reached with a socket created inside the
namespace), ``-n 127.0.0.1`` so that ``trace -O ptr`` asks loopback.  A packet
socket in the namespace sees every packet on ``lo``, ``sm0`` and ``sm1``; the
test checks their source addresses (:meth:`Stage.foreign_sources`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.scamperd.daemon_helpers import ns_socket
from tests.testbed import (
    COMMON_SYSCTLS,
    PREFIX,
    _delete_namespaces,
    _run,
    clean_leftovers,
)

REPO = Path(__file__).resolve().parents[2]
CTRL_PORT = 31337
START_TIMEOUT = 15.0
ETH_P_ALL = 0x0003
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD

# Addresses of the namespace (documentation ranges: they exist only in here).
OURS4, OURS6 = "192.0.2.1", "2001:db8:1::1"
SILENT4 = ("192.0.2.77", "198.51.100.9")  # on sm0, nobody answers
SILENT6 = ("2001:db8:1::77", "2001:db8:2::9")
UNREACH4, UNREACH6 = "198.51.100.130", "2001:db8:dead::1"
BLACKHOLE4, BLACKHOLE6 = "198.51.100.200", "2001:db8:beef::1"
# -S values that are not ours: NOT_OURS only without -O spoof, SPOOF only
# with it, so a packet from NOT_OURS on the wire is always a spoof nobody
# asked for.
NOT_OURS4, NOT_OURS6 = "203.0.113.50", "2001:db8:ffff::50"
SPOOF4, SPOOF6 = "203.0.113.99", "2001:db8:ffff::99"

SETUP = f"""\
link set lo up
link add sm0 type veth peer name sm1
link set sm0 arp off
addr add {OURS4}/24 dev sm0
addr add {OURS6}/64 dev sm0 nodad
link set sm0 up
link set sm1 up
route add 198.51.100.0/25 dev sm0
route add unreachable 198.51.100.128/26
route add blackhole 198.51.100.192/26
route add 2001:db8:2::/64 dev sm0
route add unreachable 2001:db8:dead::/48
route add blackhole 2001:db8:beef::/48
"""


class Stage:
    """The namespace, the daemon in it, a packet socket and a liveness client.

    ``restarts`` counts daemons started after the first one died; each dead
    daemon's stderr is kept in ``obituaries``.
    """

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.unix = str(tmp / "scamperd.sock")
        self.log = tmp / "scamperd.stderr"
        created = int(time.time())
        self.ns = f"{PREFIX}-{os.getpid()}-{created:x}-{secrets.token_hex(2)}-stateful"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sniffer: socket.socket | None = None
        self.live: socket.socket | None = None
        self._live_buf = b""
        self._log_seen = 0
        self.restarts = 0
        self.obituaries: list[str] = []
        self.ours: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()

    # -- building -------------------------------------------------------------

    def __enter__(self) -> Stage:
        clean_leftovers(PREFIX)
        _run(["ip", "netns", "add", self.ns])
        try:
            sysctls = [f"{k}={v}" for k, v in COMMON_SYSCTLS.items()]
            self.exec(["sysctl", "-q", "-w", *sysctls])
            _run(["ip", "-n", self.ns, "-batch", "-"], input=SETUP)
            self.exec(["sysctl", "-q", "-w", "net.ipv6.conf.sm1.disable_ipv6=1"])
            self.ours = self._addresses()
            self._check_imports()
            self.sniffer = ns_socket(self.ns, socket.AF_PACKET, socket.SOCK_DGRAM,
                                     socket.htons(ETH_P_ALL))
            self.sniffer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            self.sniffer.setblocking(False)
            self.start_daemon()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exec(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.ns, *argv], capture_output=True,
                              text=True, check=True, timeout=30, **kw)

    def _env(self) -> dict[str, str]:
        # The clone's packages, whatever the venv has installed.
        return {**os.environ, "PYTHONPATH": str(REPO)}

    def _check_imports(self) -> None:
        """The daemon must run this tree's scamperd, not another copy."""
        r = self.exec([sys.executable, "-c", "import scamperd; print(scamperd.__file__)"],
                      cwd=REPO, env=self._env())
        where = Path(r.stdout.strip()).resolve()
        assert where.is_relative_to(REPO), f"daemon would import {where}, not {REPO}"

    def _addresses(self) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        r = self.exec(["ip", "-j", "addr", "show"])
        addrs = {ipaddress.ip_address(a["local"].split("%")[0])
                 for link in json.loads(r.stdout) for a in link.get("addr_info", ())}
        return addrs | {ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::")}

    # -- the daemon -------------------------------------------------------------

    def start_daemon(self) -> None:
        if os.path.exists(self.unix):
            os.unlink(self.unix)  # left by a daemon that died
        self._log_seen = 0
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, sys.executable, "-m", "scamperd",
                 "-U", self.unix, "-P", f"127.0.0.1:{CTRL_PORT}", "-p", "10000",
                 "-n", "127.0.0.1"],
                cwd=REPO, env=self._env(), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(self.unix):
            if self.proc.poll() is not None:
                raise AssertionError(f"scamperd exited {self.proc.returncode}: "
                                     f"{self.log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise AssertionError(f"scamperd made no socket in {START_TIMEOUT}s")
            time.sleep(0.02)
        if self.live is not None:
            self.live.close()
            self.live = None
        # the file exists from bind(), a moment before listen(); the TCP
        # listener may come up a moment after the unix one
        while True:
            try:
                self.live = self.live or self.unix_connect()
                self.tcp_connect().close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self._live_buf = b""

    def stop_daemon(self) -> None:
        p = self.proc
        if p is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if p.poll() is not None:
                break
            try:
                os.killpg(p.pid, sig)
                p.wait(3)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def answers(self) -> bool:
        """Whether the liveness connection gets ``OK pid N`` for ``get pid``."""
        assert self.proc is not None
        try:
            return self.ask("get pid") == f"OK pid {self.proc.pid}"
        except OSError:
            return False

    def exited(self, grace: float = 3.0) -> bool:
        """Whether the daemon is gone, waiting ``grace`` seconds for it to exit
        if it no longer answers: a crashing daemon closes its sockets a
        moment before its process ends."""
        if not self.alive():
            return True
        if self.answers():
            return False
        deadline = time.monotonic() + grace
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.alive()

    def ensure_daemon(self) -> None:
        """A fresh daemon if the last one died or stopped answering (each
        example starts with one that works)."""
        if self.alive() and self.answers():
            return
        self.exited()
        self.obituaries.append(self.new_stderr())
        self.stop_daemon()
        self.restarts += 1
        self.start_daemon()

    def new_stderr(self) -> str:
        """What the daemon wrote to stderr since the last call."""
        try:
            data = self.log.read_bytes()
        except OSError:
            return ""
        text = data[self._log_seen:].decode(errors="replace")
        self._log_seen = len(data)
        return text

    def stderr_tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def ask(self, line: str, timeout: float = 5.0) -> str:
        """One interactive command on the liveness connection; its reply line."""
        assert self.live is not None
        self.live.settimeout(timeout)
        self.live.sendall(line.encode() + b"\n")
        while b"\n" not in self._live_buf:
            data = self.live.recv(4096)
            if not data:
                raise ConnectionError("daemon closed the liveness connection")
            self._live_buf += data
        reply, _, self._live_buf = self._live_buf.partition(b"\n")
        return reply.decode(errors="replace")

    def unix_connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        sock.connect(self.unix)
        return sock

    def tcp_connect(self) -> socket.socket:
        sock = ns_socket(self.ns, socket.AF_INET)
        sock.settimeout(5)
        sock.connect(("127.0.0.1", CTRL_PORT))
        return sock

    # -- the wire ---------------------------------------------------------------

    def foreign_sources(self, allowed: set[str]) -> list[str]:
        """Packets seen since the last call whose source is neither one of
        the namespace's addresses, 127/8, nor in ``allowed``."""
        assert self.sniffer is not None
        bad = []
        while True:
            try:
                pkt, where = self.sniffer.recvfrom(65536)
            except BlockingIOError:
                return bad
            proto = where[1]
            if proto == ETH_P_IP and len(pkt) >= 20:
                src: Any = ipaddress.IPv4Address(pkt[12:16])
                dst: Any = ipaddress.IPv4Address(pkt[16:20])
            elif proto == ETH_P_IPV6 and len(pkt) >= 40:
                src = ipaddress.IPv6Address(pkt[8:24])
                dst = ipaddress.IPv6Address(pkt[24:40])
            else:
                continue
            if src in self.ours or src.is_loopback or str(src) in allowed:
                continue
            ipproto = pkt[9] if proto == ETH_P_IP else pkt[6]
            bad.append(f"{src} -> {dst} on {where[0]} (IP proto {ipproto}, {len(pkt)} bytes)")

    # -- teardown ---------------------------------------------------------------

    def close(self) -> None:
        self.stop_daemon()
        for s in (self.live, self.sniffer):
            if s is not None:
                s.close()
        self.live = self.sniffer = None
        failed = _delete_namespaces([self.ns])
        if failed:
            raise RuntimeError(f"could not delete namespace {self.ns}")
