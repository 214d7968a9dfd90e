"""A network-namespace test bed for running probers against a small, fake Internet.

The topology copies the one the real scamper vectors in tests/data were taken
on (see /work/shared/vectors/README.md), so results from scamperd can be
compared hop for hop with what Debian's scamper sees::

    vp --1-- r1 --2-- r2 ==31== r3a ==41== r4 --5-- r5 --6 (mtu 1400)-- dst
              |         ==32== r3b ==42==       |
              |         ==33== r3c ==43==       +--7-- r6 --8 (mtu 1280)-- dst2
              |
              +--102-- lb2 ==131== lb3a ==141== lb4 ==151== lb5a ==161== lb6 --107-- lbdst
              |            ==132== lb3b ==142==     ==152== lb5b ==162==
              |            ==133== lb3c ==143==
              |
              +--201-- al1 --202 (/31)-- al2 --204-- alh2
                        +----203 (/30)-- al3 --205-- alh3

Link N is 10.200.N.0/24 and fd00:200:N::/64; the node nearer the vantage
point holds .1 / ::1 on it, the other .2 / ::2.  r2 splits traffic for
everything beyond r4 three ways (and r4 splits the way back), hashing on the
5-tuple.  r4 is an "old" router: one shared incrementing IPv4 IP-ID counter
and port-unreachables always sourced from its loopback 10.200.99.4 /
fd00:200:99::4.  r6 drops its own frag-needed / packet-too-big messages, so
dst2 sits behind a PMTUD black hole.  dst and dst2 run an HTTP server on port
80; port 81 is closed.

The lb branch is a diamond for tracelb (MDA): lb2 splits three ways and lb4
two ways, each router hashing with a seed of its own; lb4 and lb6, where
branches rejoin, each answer from one address, so MDA sees a rejoining node.
lbdst holds 100 addresses, one per concurrent tracelb.  tests/testbed_lb.py
tells how, and computes the graph tracelb should find.

The al branch is a corner for alias resolution: al1 and al2 are old routers
(counters of their own), al3 a stock one; tests/testbed_alias.py tells how,
and which addresses are aliases.

Only stdlib: everything is done by running ``ip``, ``ethtool``, ``sysctl`` and
``nft``.  There are no default routes anywhere, so whatever a buggy prober
sends cannot leave the namespaces.
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from tests.testbed_alias import (
    AL_HOSTS,
    AL_LINKS,
    AL_OLD,
    AL_ROUTERS,
    AliasTruth,
    al_fixed,
    alias_truth,
    link_hosts4,
    old_router_nft,
)
from tests.testbed_lb import (
    LB_HOST,
    LB_JOINS,
    LB_LINKS,
    LB_ROUTERS,
    LB_SEED,
    LbGraph,
    lb_answers,
    lb_dsts,
    lb_graph,
    lb_paths,
    lb_sysctls,
)

PREFIX = "sdtb"

# Nodes in build order.  Hosts have one link and a single aggregate route;
# routers forward and get an explicit route for every net (see _routes).
ROUTERS = ("r1", "r2", "r3a", "r3b", "r3c", "r4", "r5", "r6", *LB_ROUTERS, *AL_ROUTERS)
HOSTS = ("vp", "dst", "dst2", LB_HOST, *AL_HOSTS)
NODES = ("vp", *ROUTERS, "dst", "dst2", LB_HOST, *AL_HOSTS)

# (near node, far node, link number, MTU).  The near node gets .1 / ::1.
LINKS: tuple[tuple[str, str, int, int], ...] = (
    ("vp", "r1", 1, 1500),
    ("r1", "r2", 2, 1500),
    ("r2", "r3a", 31, 1500),
    ("r2", "r3b", 32, 1500),
    ("r2", "r3c", 33, 1500),
    ("r3a", "r4", 41, 1500),
    ("r3b", "r4", 42, 1500),
    ("r3c", "r4", 43, 1500),
    ("r4", "r5", 5, 1500),
    ("r5", "dst", 6, 1400),
    ("r5", "r6", 7, 1500),
    ("r6", "dst2", 8, 1280),
    *LB_LINKS,
    *AL_LINKS,
)

OLD_ROUTER = "r4"
BLACKHOLE_ROUTER = "r6"
LOOPBACK_NET = 99  # 10.200.99.0/24, fd00:200:99::/64: r4's loopback lives there
AGG4 = "10.200.0.0/16"
AGG6 = "fd00:200::/32"  # fd00:0200:N::/64 for every N lies inside fd00:0200::/32

# Sysctls for every namespace, set *before* any link exists so new devices
# inherit the "default" values (accept_dad above all: a tentative address
# makes the first probes fail for ~1 s).
COMMON_SYSCTLS: dict[str, str] = {
    "net.ipv6.conf.all.accept_dad": "0",
    "net.ipv6.conf.default.accept_dad": "0",
    # No router advertisements or solicitations: they are noise in captures
    # and nothing here relies on autoconfiguration.
    "net.ipv6.conf.all.accept_ra": "0",
    "net.ipv6.conf.default.accept_ra": "0",
    "net.ipv6.conf.default.router_solicitations": "0",
    # Hosts (dst answers port-unreachables to UDP traces) are rate limited
    # too, so switch the limits off everywhere, not only on routers.
    "net.ipv4.icmp_ratelimit": "0",
    "net.ipv6.icmp.ratelimit": "0",
    "net.ipv4.icmp_msgs_per_sec": "1000000",
    "net.ipv4.icmp_msgs_burst": "1000000",
    "net.ipv4.icmp_errors_use_inbound_ifaddr": "1",
    "net.ipv4.fib_multipath_hash_policy": "1",
    "net.ipv6.fib_multipath_hash_policy": "1",
    # The ECMP return path differs from the forward one; strict reverse-path
    # filtering would drop such packets.
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
}
ROUTER_SYSCTLS: dict[str, str] = {
    "net.ipv4.ip_forward": "1",
    "net.ipv6.conf.all.forwarding": "1",
}

BLACKHOLE_NFT = """\
table inet scamperd_blackhole {
    chain output {
        type filter hook output priority 0; policy accept;
        # a PMTUD black hole: the router never tells anyone a packet was too big
        icmp type destination-unreachable icmp code frag-needed drop
        icmpv6 type packet-too-big drop
    }
}
"""

_NAME_RE = re.compile(r"^(?P<prefix>[a-z0-9]+)-(?P<pid>\d+)-(?P<ts>[0-9a-f]+)-[0-9a-f]+-\w+$")


def net4(n: int, host: int) -> str:
    return f"10.200.{n}.{host}"


def net6(n: int, host: int) -> str:
    return f"fd00:200:{n}::{host:x}"


@dataclass(frozen=True)
class Iface:
    """One end of a veth link."""

    name: str  # device name inside the namespace, "e-<peer>"
    link: int
    v4: str
    v6: str
    peer: str  # the node at the other end
    mtu: int
    plen4: int = 24  # a /31 or /30 in the alias corner (tests/testbed_alias.py)


@dataclass
class Node:
    role: str  # "vp", "r1", ..., "dst2"
    ns: str  # the namespace's name, unique to this test bed
    ifaces: dict[str, Iface] = field(default_factory=dict)  # by peer role
    lo4: str | None = None
    lo6: str | None = None

    @property
    def addrs4(self) -> list[str]:
        return [i.v4 for i in self.ifaces.values()] + ([self.lo4] if self.lo4 else [])

    @property
    def addrs6(self) -> list[str]:
        return [i.v6 for i in self.ifaces.values()] + ([self.lo6] if self.lo6 else [])


class TestbedError(RuntimeError):
    pass


def netns_unavailable_reason() -> str | None:
    """Why a test bed cannot be built here, or None if it can."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "building network namespaces needs root"
    for tool in ("ip", "ethtool", "sysctl", "nft", "setsid"):
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed"
    try:
        r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"`ip netns list` failed: {e}"
    if r.returncode != 0:
        return f"`ip netns` is unavailable: {r.stderr.strip()}"
    return None


def netns_available() -> bool:
    return netns_unavailable_reason() is None


def _run(argv: Sequence[str], *, input: str | None = None, check: bool = True,
         timeout: float = 30) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(list(argv), input=input, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        detail = f"\n--- input ---\n{input}" if input else ""
        raise TestbedError(f"{' '.join(argv)} -> rc {r.returncode}: {r.stderr.strip()}{detail}")
    return r


def _boot_time() -> float:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def owner_alive(pid: int, created: float) -> bool:
    """Is the process that created a test bed at `created` (epoch s) still running?

    A pid alone is not enough: after a crash the pid can be reused, so the
    process must also have started before the test bed was built.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    # field 22 (starttime, in clock ticks since boot) follows the ")" of comm
    fields = stat.rsplit(")", 1)[1].split()
    started = _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return started <= created + 2  # slack: btime is whole seconds


def _ns_pids(ns: str) -> list[int]:
    r = _run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in r.stdout.split() if p.isdigit()]


def _kill_ns_processes(ns: str, timeout: float = 3.0) -> None:
    """Stop every process still running inside `ns`: TERM, then KILL."""
    pids = _ns_pids(ns)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            time.sleep(0.02)
            pids = _ns_pids(ns)
        if not pids:
            return


def _delete_namespaces(names: Iterable[str]) -> list[str]:
    """Delete namespaces (killing what runs in them first); return failures."""
    failed = []
    for ns in names:
        _kill_ns_processes(ns)
        if _run(["ip", "netns", "delete", ns], check=False).returncode != 0:
            failed.append(ns)
    return failed


def list_namespaces() -> list[str]:
    r = _run(["ip", "netns", "list"], check=False)
    # lines look like "name (id: 3)" or just "name"
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def clean_leftovers(prefix: str = PREFIX, keep: Iterable[str] = ()) -> list[str]:
    """Delete test-bed namespaces with `prefix` whose creator is gone.

    Namespaces of test beds that are still alive (another pytest run, or
    another Testbed in this process) are left alone.
    """
    keep = set(keep) | _live_namespaces()
    stale = []
    for ns in list_namespaces():
        m = _NAME_RE.match(ns)
        if not m or m["prefix"] != prefix or ns in keep:
            continue
        pid, created = int(m["pid"]), int(m["ts"], 16)
        if pid == os.getpid() or not owner_alive(pid, created):
            stale.append(ns)
    _delete_namespaces(stale)
    # and the scratch directories of those runs (HTTP servers' roots)
    for run_id in {ns.rsplit("-", 1)[0] for ns in stale}:
        for d in glob.glob(os.path.join(tempfile.gettempdir(), glob.escape(run_id) + "-*")):
            shutil.rmtree(d, ignore_errors=True)
    return stale


# Namespaces of the Testbeds alive in this process, so clean_leftovers never
# deletes a sibling's namespaces.
_LIVE: set[Testbed] = set()
_LIVE_LOCK = threading.Lock()


def _live_namespaces() -> set[str]:
    with _LIVE_LOCK:
        return {n.ns for tb in _LIVE for n in tb.nodes.values()}


@atexit.register
def _close_all() -> None:
    # last resort when a Testbed was never closed (sys.exit in a test,
    # pytest internal error); a SIGKILLed run is cleaned by the next one
    with _LIVE_LOCK:
        live = list(_LIVE)
    for tb in live:
        try:
            tb.close()
        except Exception:  # nothing useful to do about it at exit
            pass


def _routes(graph: Mapping[str, set[str]], nets: Mapping[int, set[str]],
            node: str) -> dict[int, list[str]]:
    """Shortest-path next hops from a router to every net it is not on.

    Equal-cost neighbours all become next hops, which is what makes r2 (and
    r4, on the way back) split three ways.  Explicit per-net routes instead
    of aggregates keep the routing loop-free: an unused address gets "net
    unreachable" instead of bouncing until its TTL runs out.
    """

    def dist_from(src: str) -> dict[str, int]:
        # breadth-first hop counts; hosts are reached but never forward
        dist = {src: 0}
        todo = deque([src])
        while todo:
            cur = todo.popleft()
            for nb in graph[cur]:
                if nb not in dist:
                    dist[nb] = dist[cur] + 1
                    if nb not in HOSTS:
                        todo.append(nb)
        return dist

    dists = {nb: dist_from(nb) for nb in graph[node] if nb not in HOSTS}
    out: dict[int, list[str]] = {}
    for net, members in nets.items():
        if node in members:
            continue
        cost = {nb: min(d.get(m, 1 << 30) for m in members) for nb, d in dists.items()}
        best = min(cost.values())
        out[net] = sorted(nb for nb, c in cost.items() if c == best)
    return out


class Testbed:
    """Builds the namespaces on __enter__ (or build()), removes them on close().

    Attributes (all addresses are strings):
      nodes        role -> Node (namespace name, interfaces, addresses)
      ns           role -> namespace name; also vp_ns, dst_ns, dst2_ns, old_ns
      vp4, vp6     the vantage point
      dst4, dst6   the main destination (HTTP on tcp_open, tcp_closed closed)
      bh_dst4, bh_dst6   the destination behind the PMTUD black hole
      old4, old6   the old router's loopback (port-unreachables come from it)
      old_addrs4, old_addrs6   every address of the old router
      hops4, hops6 per TTL, the addresses a trace from vp to dst may see
      branches4, branches6   (hop 3, hop 4) address per ECMP branch
      mtu_last, mtu_blackhole   1400 and 1280
      lb_dsts4, lb_dsts6   lbdst's addresses, behind the diamond (one per
                   concurrent tracelb); lb_graph(dst) and lb_paths(dst)
                   give what tracelb to one of them should report
      alias4, alias6   the alias corner's ground truth (AliasTruth: which
                   candidate addresses are aliases; tests/testbed_alias.py)
    """

    __test__ = False  # a class named Test* must not be collected by pytest

    mtu_last = 1400
    mtu_blackhole = 1280
    tcp_open = 80
    tcp_closed = 81

    def __init__(self, prefix: str = PREFIX, *, clean: bool = True,
                 lb_seed: int | None = LB_SEED) -> None:
        """``lb_seed`` fixes the diamond's ECMP hashes (tests/testbed_lb.py);
        None draws them at random, for soak runs."""
        if not re.fullmatch(r"[a-z0-9]+", prefix):
            raise ValueError("prefix must be lower-case letters and digits")
        self.prefix = prefix
        self.clean = clean
        self.lb_seed = secrets.randbits(32) if lb_seed is None else lb_seed
        self.created = int(time.time())
        # pid and creation time let a later run tell a crashed run's
        # leftovers from a live parallel run; the random part separates two
        # test beds built by one process in the same second.
        self.run_id = f"{prefix}-{os.getpid()}-{self.created:x}-{secrets.token_hex(2)}"
        self.nodes: dict[str, Node] = {r: Node(r, f"{self.run_id}-{r}") for r in NODES}
        self.ns: dict[str, str] = {r: n.ns for r, n in self.nodes.items()}
        self._procs: list[subprocess.Popen[Any]] = []
        self._workdir: str | None = None
        self._built: list[str] = []  # namespaces actually created
        self.build_seconds = 0.0
        self.teardown_seconds = 0.0

        for near, far, link, mtu in LINKS:
            h1, h2, plen = link_hosts4(link)
            self.nodes[near].ifaces[far] = Iface(
                f"e-{far}", link, net4(link, h1), net6(link, 1), far, mtu, plen)
            self.nodes[far].ifaces[near] = Iface(
                f"e-{near}", link, net4(link, h2), net6(link, 2), near, mtu, plen)
        old = self.nodes[OLD_ROUTER]
        old.lo4, old.lo6 = net4(LOOPBACK_NET, 4), net6(LOOPBACK_NET, 4)

        self.vp_ns, self.dst_ns = self.ns["vp"], self.ns["dst"]
        self.dst2_ns, self.old_ns = self.ns["dst2"], self.ns[OLD_ROUTER]
        self.vp4, self.vp6 = net4(1, 1), net6(1, 1)
        self.dst4, self.dst6 = net4(6, 2), net6(6, 2)
        self.bh_dst4, self.bh_dst6 = net4(8, 2), net6(8, 2)
        self.old4, self.old6 = old.lo4, old.lo6
        self.old_addrs4, self.old_addrs6 = old.addrs4, old.addrs6
        self.lb_dsts4, self.lb_dsts6 = lb_dsts(False), lb_dsts(True)
        self.alias4: AliasTruth = alias_truth(False)
        self.alias6: AliasTruth = alias_truth(True)

        # Addresses a trace vp -> dst sees per TTL (ICMP errors come from the
        # inbound interface).  On v6 hop 4 is picked by source address
        # selection over r4's multipath route back, so it can be any of three
        # whatever branch the probe took.
        branches = [("r3a", 31, 41), ("r3b", 32, 42), ("r3c", 33, 43)]
        self.branches4 = [(net4(a, 2), net4(b, 2)) for _, a, b in branches]
        self.branches6 = [(net6(a, 2), net6(b, 2)) for _, a, b in branches]
        self.hops4: list[list[str]] = [
            [net4(1, 2)], [net4(2, 2)], [b[0] for b in self.branches4],
            [b[1] for b in self.branches4], [net4(5, 2)], [self.dst4]]
        self.hops6: list[list[str]] = [
            [net6(1, 2)], [net6(2, 2)], [b[0] for b in self.branches6],
            [b[1] for b in self.branches6], [net6(5, 2)], [self.dst6]]

    def lb_graph(self, dst: str) -> LbGraph:
        """The nodes and links tracelb from vp to ``dst`` (one of lb_dsts4 or
        lb_dsts6) should report: the whole diamond."""
        return lb_graph(":" in dst, dst)

    def lb_paths(self, dst: str) -> list[LbGraph]:
        """Each single path to ``dst`` through the diamond, as nodes and links."""
        return lb_paths(":" in dst, dst)

    # --- running things -------------------------------------------------

    def _name(self, ns: str) -> str:
        return self.ns.get(ns, ns)  # accept a role ("vp") or a full name

    def exec(self, ns: str, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[Any]:
        """Run argv inside namespace `ns` (role or name) and wait for it.

        Defaults: capture text output, raise on failure, 60 s timeout; any
        subprocess.run keyword overrides them.
        """
        kw.setdefault("capture_output", not ("stdout" in kw or "stderr" in kw))
        kw.setdefault("text", True)
        kw.setdefault("check", True)
        kw.setdefault("timeout", 60)
        return subprocess.run(["ip", "netns", "exec", self._name(ns), *argv], **kw)

    def popen(self, ns: str, argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start argv inside `ns` in a session of its own, stopped on close().

        `ip netns exec` execs the command, so the Popen's pid is the
        command's and also its process group id: close() signals the group.
        """
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw["start_new_session"] = True
        p = subprocess.Popen(["ip", "netns", "exec", self._name(ns), *argv], **kw)
        self._procs.append(p)
        return p

    def stop(self, p: subprocess.Popen[Any], timeout: float = 3.0) -> None:
        """Stop a process started by popen() and its whole process group."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if p.poll() is not None:
                break
            try:
                os.killpg(p.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                continue
        # the leader may be gone while others in its group still run
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p.poll() is None:
            p.wait(timeout)
        if p in self._procs:
            self._procs.remove(p)

    def flush_pmtu(self, ns: str | None = None) -> None:
        """Forget learned path MTUs (kept ~10 min otherwise) in `ns`, or everywhere.

        A PMTUD test otherwise changes what later tests see.
        """
        for name in [self._name(ns)] if ns else list(self._built):
            _run(["ip", "-n", name, "route", "flush", "cache"], check=False)
            _run(["ip", "-n", name, "-6", "route", "flush", "cache"], check=False)

    def wait_listening(self, ns: str, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            r = self.exec(ns, ["ss", "-Hltn", f"sport = :{port}"], check=False)
            if r.stdout.strip():
                return
            if time.monotonic() > deadline:
                raise TestbedError(f"nothing listens on tcp port {port} in {ns}")
            time.sleep(0.02)

    # --- building -------------------------------------------------------

    def __enter__(self) -> Testbed:
        self.build()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def build(self) -> None:
        t0 = time.monotonic()
        if self.clean:
            clean_leftovers(self.prefix)
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        self.build_seconds = time.monotonic() - t0

    def _build(self) -> None:
        # 1. namespaces; record each as soon as it exists so close() finds it
        for node in self.nodes.values():
            _run(["ip", "netns", "add", node.ns])
            self._built.append(node.ns)

        # 2. sysctls before any link exists
        for role in self.nodes:
            values = dict(COMMON_SYSCTLS)
            if role in ROUTERS:
                values.update(ROUTER_SYSCTLS)
            values.update(lb_sysctls(role, self.lb_seed))
            self.exec(role, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in values.items())])

        # 3. veth pairs, created with each end directly in its namespace so
        # names never clash in the root namespace
        lines = []
        for near, far, _link, _mtu in LINKS:
            a, b = self.nodes[near], self.nodes[far]
            lines.append(f"link add {a.ifaces[far].name} netns {a.ns} type veth "
                         f"peer name {b.ifaces[near].name} netns {b.ns}")
        _run(["ip", "-batch", "-"], input="\n".join(lines) + "\n")

        # 4. addresses, MTUs, routes
        graph = {r: set(n.ifaces) for r, n in self.nodes.items()}
        nets: dict[int, set[str]] = {}
        for near, far, link, _mtu in LINKS:
            nets[link] = {near, far}
        nets[LOOPBACK_NET] = {OLD_ROUTER}
        for role, node in self.nodes.items():
            lines = ["link set lo up"]
            if node.lo4 and node.lo6:
                lines.append(f"addr add {node.lo4}/32 dev lo")
                lines.append(f"addr add {node.lo6}/128 dev lo nodad")
            for ifc in node.ifaces.values():
                lines += [
                    f"link set {ifc.name} mtu {ifc.mtu}",
                    f"addr add {ifc.v4}/{ifc.plen4} dev {ifc.name}",
                    f"addr add {ifc.v6}/64 dev {ifc.name} nodad",
                    f"link set {ifc.name} up",
                ]
            if role == LB_HOST:  # more destinations on the same link
                ifc = next(iter(node.ifaces.values()))
                lines += [f"addr add {a}/24 dev {ifc.name}" for a in self.lb_dsts4[1:]]
                lines += [f"addr add {a}/64 dev {ifc.name} nodad" for a in self.lb_dsts6[1:]]
            lines += self._route_lines(role, node, graph, nets)
            _run(["ip", "-n", node.ns, "-batch", "-"], input="\n".join(lines) + "\n")

        # 5. checksum offload off on every veth (else routers quote partial
        # checksums in ICMP errors and probes never match), and firewalls
        for role, node in self.nodes.items():
            script = "; ".join(f"ethtool -K {i.name} tx off >/dev/null"
                               for i in node.ifaces.values())
            self.exec(role, ["sh", "-ec", script])
        self.exec(OLD_ROUTER, ["nft", "-f", "-"], input=old_router_nft(self.old4, self.old6))
        for role, (offset, _) in AL_OLD.items():
            nft = old_router_nft(al_fixed(role, False), al_fixed(role, True), offset)
            self.exec(role, ["nft", "-f", "-"], input=nft)
        self.exec(BLACKHOLE_ROUTER, ["nft", "-f", "-"], input=BLACKHOLE_NFT)

        # 6. HTTP servers on port 80 of each destination (v4 and v6: binding
        # "::" makes http.server dual-stack)
        self._workdir = tempfile.mkdtemp(prefix=f"{self.run_id}-")
        with open(os.path.join(self._workdir, "index.html"), "w") as f:
            f.write("scamperd test bed\n")
        for role in ("dst", "dst2"):
            self.popen(role, [sys.executable, "-m", "http.server", str(self.tcp_open),
                              "--bind", "::", "--directory", self._workdir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_links_ready()
        for role in ("dst", "dst2"):
            self.wait_listening(role, self.tcp_open)

    def _wait_links_ready(self, timeout: float = 5.0) -> None:
        """Wait until every veth has carrier and IPv6 has configured it.

        The kernel reports a veth's carrier through linkwatch, which runs at
        most once a second; until then the far end shows NO-CARRIER and IPv6
        has not joined the solicited-node groups of its (nodad) addresses,
        so the first neighbour solicitation is dropped and the first v6
        probe of a test takes a 1 s retransmission.  A link-local address
        appears once IPv6 has seen the carrier.
        """
        deadline = time.monotonic() + timeout
        pending = dict(self.nodes)
        while pending:
            for role, node in list(pending.items()):
                links = _run(["ip", "-n", node.ns, "-o", "link", "show", "up"]).stdout
                lladdrs = _run(["ip", "-n", node.ns, "-6", "-o", "addr", "show",
                                "scope", "link"]).stdout
                # "-o" lines: "3: e-r2@e-vp: <...> ... state UP ..." and
                # "3: e-r2    inet6 fe80::.../64 scope link ..."
                up = {ln.split(":")[1].strip().split("@")[0]
                      for ln in links.splitlines() if " state UP " in ln}
                with_ll = {ln.split()[1] for ln in lladdrs.splitlines() if " fe80:" in ln}
                ok = all(i.name in up and i.name in with_ll for i in node.ifaces.values())
                if ok:
                    del pending[role]
            if pending and time.monotonic() > deadline:
                raise TestbedError(f"links not ready after {timeout}s in {sorted(pending)}")
            if pending:
                time.sleep(0.02)

    def _route_lines(self, role: str, node: Node, graph: Mapping[str, set[str]],
                     nets: Mapping[int, set[str]]) -> list[str]:
        if role in HOSTS:
            # a host has one neighbour: one aggregate per family, no default
            ifc = next(iter(node.ifaces.values()))
            peer = self.nodes[ifc.peer].ifaces[role]
            return [f"route add {AGG4} via {peer.v4} dev {ifc.name}",
                    f"route add {AGG6} via {peer.v6} dev {ifc.name}"]
        lines = []
        for net, hops in sorted(_routes(graph, nets, role).items()):
            for fam, prefix in ((False, f"10.200.{net}.0/24"), (True, f"fd00:200:{net}::/64")):
                if role in LB_JOINS:
                    # a preferred source: ICMP errors leave from it (v4 with
                    # inbound_ifaddr off; v6 takes it over the inbound iface)
                    prefix += f" src {lb_answers(fam)[role]}"
                vias = []
                for nb in hops:
                    peer = self.nodes[nb].ifaces[role]
                    addr = peer.v6 if fam else peer.v4
                    vias.append(f"via {addr} dev {node.ifaces[nb].name}")
                if len(vias) == 1:
                    lines.append(f"route add {prefix} {vias[0]}")
                else:
                    lines.append(f"route add {prefix} " + " ".join(f"nexthop {v}" for v in vias))
        return lines

    # --- teardown -------------------------------------------------------

    def close(self) -> None:
        """Stop our processes, then delete our namespaces.  Safe to call twice."""
        t0 = time.monotonic()
        for p in list(self._procs):
            self.stop(p)
        failed = _delete_namespaces(reversed(self._built))
        self._built = failed
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        self.teardown_seconds = time.monotonic() - t0
        if failed:
            raise TestbedError(f"could not delete namespaces: {failed}")
