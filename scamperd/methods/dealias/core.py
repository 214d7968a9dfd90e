"""dealias's shared machinery: definitions, targets, probes, replies, queueing.

Theory of operation (scamper_dealias_do.c)
-------------------------------------------
Every method sends probes built from *probe definitions* (a destination,
a protocol and ports or ICMP id, a TTL, a size) and files each reply with
the probe it answers.  A method supplies four things (:mod:`.methods`,
:mod:`.prefixscan`): which definition the next probe uses, what to do after
a probe is sent (when the next is due), what a reply means, and what a
timeout means.  The shared part is here:

* **Matching.**  Probes are remembered per destination address for ten
  seconds.  A reply is matched to one by the quote inside an ICMP error
  (the quoted IPv4 IP-ID must be ours, ``0xabab``, and equal the probe's;
  then ports, or ICMP id and sequence), by ICMP id and sequence for an echo
  reply, or by ports for a TCP segment.
* **Queueing** (dealias_queue): after every event the task is queued to
  probe now, to wait until the next probe is due, or is done.  When a wait
  runs out the method's timeout handler runs first; unless it queued the
  task itself, the task then probes (scamper's wait queue punts a task
  onto the probe queue after its timeout handler).
* **Results**: the first verdict a method reaches ends the measurement
  (dealias_result); an error records ERROR and its message unless a verdict
  was already set.

Times are integer ns.
"""

from __future__ import annotations

import builtins
import random
from dataclasses import dataclass, field
from enum import Enum

from protocol.commands.dealias_probedef import Probedef, ProbedefMethod

from .probes import header_len

PM = ProbedefMethod
UDP_METHODS = (PM.UDP, PM.UDP_DPORT)
TCP_METHODS = (PM.TCP_ACK, PM.TCP_ACK_SPORT, PM.TCP_SYN_SPORT)
VARY_SPORT = (PM.TCP_ACK_SPORT, PM.TCP_SYN_SPORT)
RECENT_NS = 10_000_000_000  # probes are matched for ten seconds after sending

# SCAMPER_DEALIAS_RESULT_*
NONE, ALIASES, NOTALIASES, HALTED, IPIDECHO, ERROR = 0, 1, 2, 3, 4, 5


class Sched(Enum):
    PROBE = 1
    WAIT = 2


@dataclass(slots=True, eq=False)
class Reply:
    """scamper_dealias_reply_t."""

    src: bytes
    rx: int
    ttl: int
    proto: int
    size: int = 0
    ipid: int = 0
    ipid32: int | None = None   # IPv6 fragment id (flag IPID32)
    icmp_type: int = 0
    icmp_code: int = 0
    icmp_q_ttl: int = 0
    tcp_flags: int = 0

    @property
    def v6(self) -> bool:
        return len(self.src) == 16

    def is_port_unreach(self) -> bool:
        return (self.proto == 1 and self.icmp_type == 3 and self.icmp_code == 3) or \
            (self.proto == 58 and self.icmp_type == 1 and self.icmp_code == 4)

    def is_ttl_exp(self) -> bool:
        return (self.proto == 1 and self.icmp_type == 11) or \
            (self.proto == 58 and self.icmp_type == 3)

    def is_echo_reply(self) -> bool:
        return (self.proto == 1 and self.icmp_type == 0) or \
            (self.proto == 58 and self.icmp_type == 129)


@dataclass(slots=True, eq=False)
class Def:
    """A probe definition with what the daemon adds: its source address,
    and scamper's per-definition state (dealias_probedef_t)."""

    pd: Probedef
    id: int
    src: bytes
    dst: bytes
    payload_len: int
    tcp_seq: int = 0
    tcp_ack: int = 0
    rx_ipid: bool = False    # a reply carried a fragment id (IPv6 -M)
    tx_ptb: bool = False     # a packet too big was sent for it
    echo: int = 0            # replies that echoed the probe's IP-ID

    @property
    def method(self) -> int:
        return int(self.pd.method)

    @property
    def is_udp(self) -> bool:
        return self.pd.method in UDP_METHODS

    @property
    def is_icmp(self) -> bool:
        return self.pd.method == PM.ICMP_ECHO

    @property
    def is_tcp(self) -> bool:
        return self.pd.method in TCP_METHODS


@dataclass(slots=True, eq=False)
class Probe:
    """scamper_dealias_probe_t, with the field matched against (a varying
    port or the ICMP sequence)."""

    defn: Def
    seq: int
    ipid: int
    tx: int = 0
    match_field: int = 0
    replies: builtins.list[Reply] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Target:
    """dealias_target_t: one destination's recent probes and port counters."""

    probes: builtins.list[Probe] = field(default_factory=list)
    tcp_sport: int = 0
    udp_dport: int = 0


class State:
    """dealias_state_t, with the record's growing probe list."""

    def __init__(self, defs: list[Def], rng: random.Random) -> None:
        self.rng = rng
        self.defs = defs
        self.probes: list[Probe] = []       # the record's probes
        self.targets: dict[bytes, Target] = {}
        self.recent: list[Probe] = []
        for d in defs:
            self.add_def(d)
        self.id = 255
        self.icmpseq = 0
        self.probe = 0        # index of the next definition, for most methods
        self.round = 0
        self.last_tx = 0
        self.next_tx = 0
        self.ptb_tx = 0
        self.ptbq: list[tuple[Def, bytes]] = []
        self.discard: list[Probe] = []
        self.sched: Sched | None = Sched.PROBE
        self.wait_until = 0
        self.done = False
        self.result = NONE
        self.errmsg: str | None = None
        self.start: int | None = None

    def add_def(self, d: Def) -> None:
        """dealias_probedef_add(): its target, and TCP-ACK's fixed seq/ack."""
        self.targets.setdefault(d.dst, Target())
        if d.pd.method == PM.TCP_ACK:
            d.tcp_seq = self.rng.getrandbits(32)
            d.tcp_ack = self.rng.getrandbits(32)

    # -- outcomes --------------------------------------------------------------

    def finish(self, result: int) -> None:
        """dealias_result()."""
        self.result = result
        self.done = True

    def fail(self, msg: str) -> None:
        """dealias_stop_err(): ERROR, unless a verdict came first."""
        if self.result == NONE:
            self.result = ERROR
            if self.errmsg is None:
                self.errmsg = msg
        self.done = True

    # -- queueing ------------------------------------------------------------

    def expire(self, now: int) -> None:
        while self.recent and self.recent[0].tx + RECENT_NS <= now:
            p = self.recent.pop(0)
            self.targets[p.defn.dst].probes.remove(p)

    def queue(self, now: int, hold_until: int = 0) -> None:
        """dealias_queue(): probe now, or wait.  ``hold_until`` is the ally
        method's pause after sending a packet too big."""
        if self.done:
            return
        self.expire(now)
        if self.ptbq:
            self.sched = Sched.PROBE
            return
        if hold_until > now:
            self.sched, self.wait_until = Sched.WAIT, hold_until
            return
        if self.next_tx <= now:
            self.sched = Sched.PROBE
        else:
            self.sched, self.wait_until = Sched.WAIT, self.next_tx

    # -- probes ----------------------------------------------------------------

    def new_probe(self, d: Def) -> tuple[Probe, dict[str, int]]:
        """The next probe of ``d`` (do_dealias_probe up to the send), and
        the values its packet carries."""
        tgt = self.targets[d.dst]
        v6 = len(d.dst) == 16
        pd = d.pd
        vals = dict(ipid=0 if v6 else (self.id << 8 | self.id), sport=pd.sport,
                    dport=pd.dport, icmp_id=pd.icmp_id, icmp_seq=0, icmp_csum=pd.icmp_csum,
                    udp_want=len(self.probes) + 1, tcp_flags=pd.tcp_flags,
                    tcp_seq=d.tcp_seq, tcp_ack=d.tcp_ack)
        match_field = 0
        if pd.method == PM.UDP_DPORT:
            vals["dport"] = (pd.dport + tgt.udp_dport) & 0xFFFF
            tgt.udp_dport += 1
            match_field = vals["dport"]
        elif pd.method == PM.ICMP_ECHO:
            vals["icmp_seq"] = self.icmpseq
            self.icmpseq = (self.icmpseq + 1) & 0xFFFF
            match_field = vals["icmp_seq"]
        elif pd.method in VARY_SPORT:
            vals["sport"] = (pd.sport + tgt.tcp_sport) & 0xFFFF
            tgt.tcp_sport += 1
            vals["tcp_seq"] = self.rng.getrandbits(32)
            vals["tcp_ack"] = self.rng.getrandbits(32)
            match_field = vals["sport"]
        probe = Probe(d, self.round, vals["ipid"], match_field=match_field)
        return probe, vals

    def sent(self, probe: Probe, tx: int) -> None:
        """The probe left: file it for matching and in the record."""
        probe.tx = tx
        self.targets[probe.defn.dst].probes.insert(0, probe)
        self.recent.append(probe)
        self.probes.append(probe)
        self.last_tx = tx
        self.id = self.id - 1 or 255

    # -- matching (dealias_probe_*_find) -----------------------------------------

    def _candidates(self, dst: bytes) -> list[Probe]:
        tgt = self.targets.get(dst)
        return tgt.probes if tgt is not None else []

    def find_udp(self, dst: bytes, ipid: int, sport: int, dport: int) -> Probe | None:
        v4 = len(dst) == 4
        for p in self._candidates(dst):
            d = p.defn
            if not d.is_udp or d.pd.sport != sport or (v4 and p.ipid != ipid):
                continue
            if d.pd.method == PM.UDP and d.pd.dport == dport:
                return p
            if d.pd.method == PM.UDP_DPORT and p.match_field == dport:
                return p
        return None

    def find_tcp(self, dst: bytes, ipid: int | None, sport: int, dport: int) -> Probe | None:
        """The quoted TCP probe (``ipid`` checked over IPv4), or with
        ``ipid`` None the probe a TCP reply answers (dealias_probe_tcp_find2)."""
        v4 = len(dst) == 4
        for p in self._candidates(dst):
            d = p.defn
            if not d.is_tcp or d.pd.dport != dport:
                continue
            if ipid is not None and v4 and p.ipid != ipid:
                continue
            if d.pd.method == PM.TCP_ACK and d.pd.sport == sport:
                return p
            if d.pd.method in VARY_SPORT and p.match_field == sport:
                return p
        return None

    def find_icmp(self, dst: bytes, ipid: int | None, ident: int, seq: int) -> Probe | None:
        """The quoted echo request (``ipid`` checked over IPv4), or with
        ``ipid`` None the request an echo reply answers."""
        v4 = len(dst) == 4
        for p in self._candidates(dst):
            if ipid is not None and v4 and p.ipid != ipid:
                continue
            d = p.defn
            if d.is_icmp and d.pd.icmp_id == ident and p.match_field == seq:
                return p
        return None


def make_def(pd: Probedef, id: int, src: bytes, dst: bytes) -> Def:
    v6 = len(dst) == 16
    hl = header_len(int(pd.method), v6)
    return Def(pd, id, src, dst, max(pd.size - hl, 0))
