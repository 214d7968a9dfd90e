"""The state of one trace, and the API its phases drive it with.

:class:`TraceState` is scamper's trace_state_t and scamper_trace_t in one:
the command's values, the working hop (``ttl``, ``attempt``), the probes
sent and their replies, the stop reason, and the queue state (``want_probe``
to send now, ``wait_until`` to wait).  The phases (:mod:`.phases`, one per
scamper MODE_*) act on it only through its public methods: :meth:`queue`
and :meth:`queue_probe` (trace_queue, trace_queue_probe), :meth:`wait`,
:meth:`next_mode` (trace_next_mode), the stop rules of :mod:`.stop`, and
the confidence counters of ``-c``.  :class:`~.task.TraceTask` adds the
engine's Task contract on top.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

from protocol.commands.trace import TraceCommand
from warts.listcycle import CycleInfo, ListInfo
from warts.types.trace import Trace, TraceFlag, TraceReply, TraceStop

from ...engine.task import NS_PER_US, PtrLookup
from .modes import PMTUD_MODES, Mode
from .parallel import Parallel
from .pmtud import Pmtud
from .pmtud import start as pmtud_start
from .probes import TCP_TYPES, ProbeSpec, header_size, probe_proto
from .records import SentProbe
from .stop import StopRules

_PARALLEL_MODES = frozenset((Mode.PARALLEL, Mode.PARALLEL_FINISH))

# k(n): probes to send at one hop to rule out, at 95% / 99% confidence, a
# load balancer with more than n next hops (scamper's k() table; rows n=2..25).
CONFIDENCE_K = {
    95: (6, 11, 16, 21, 27, 33, 38, 44, 51, 57, 63, 70, 76, 83, 90, 96, 103, 110, 117,
         124, 131, 138, 145, 152),
    99: (8, 15, 21, 28, 36, 43, 51, 58, 66, 74, 82, 90, 98, 106, 115, 123, 132, 140,
         149, 157, 166, 175, 183, 192),
}
CONFIDENCE_MAX_N = 25



class TraceState(StopRules):
    """One trace's state (see the module docstring)."""

    def __init__(self, command: TraceCommand, *, src: bytes, list: ListInfo | None = None,
                 cycle: CycleInfo | None = None, sport: int | None = None,
                 ifmtu: int | None = None,
                 setup_error: tuple[int, str] | None = None,
                 on_progress: Callable[[Trace], None] | None = None,
                 ptr_lookup: PtrLookup | None = None) -> None:
        self.cmd = command
        # (errno, errmsg): the trace fails before its first probe, as
        # scamper's does when it cannot bind its probe socket to -S
        self.setup_error = setup_error
        self.dst: bytes = command.dst.packed
        self.src = src
        self.v6 = len(self.dst) == 16
        self.list = list
        self.cycle = cycle
        self.method = int(command.method)
        self.flags = int(command.flags)
        self.sport = command.sport if sport is None else sport
        self.proto = probe_proto(self.method, self.v6)
        # trace_probe_headerlen(): a -o fragment carries no transport header
        self.header_size = 40 if command.offset else header_size(self.method, self.v6)
        self.spec = ProbeSpec(
            self.method, src, self.dst, self.sport, command.dport, command.tos,
            bytes(command.payload or b""), command.probe_size - self.header_size,
            const_payload=bool(self.flags & TraceFlag.CONSTPAYLOAD), offset=command.offset)
        self.wait_timeout_ns = command.wait_timeout_us * NS_PER_US
        self.wait_probe_ns = command.wait_probe_us * NS_PER_US
        self.firsthop: int = command.firsthop
        self.back = bool(self.flags & TraceFlag.BACK)
        self.allattempts = bool(self.flags & TraceFlag.ALLATTEMPTS)
        # scamper sends on its datalink towards the -r router, else the
        # destination, with -r and -o (and in PMTUD modes, see _probe)
        self.via: bytes | None = None
        if command.rtr is not None:
            self.via = command.rtr.packed
        elif command.offset:
            self.via = self.dst
        # with -r the datalink times every reply (as for the TCP methods;
        # measured against Debian's scamper).  Not with -o: scamper's
        # datalink cannot match a quoted fragment, which has no transport
        # header; -O dl and -M: see records.dl_seen
        self.dl_rxts = command.rtr is not None and self.method not in TCP_TYPES
        # TCP methods read every reply on the datalink, which cannot match
        # an ICMP message quoting a -o fragment (no TCP header in it)
        self.tcp_dl = self.method in TCP_TYPES and not command.offset
        # ... and sees the probes a socket sends (-O dl, -M): their time is
        # the datalink's
        self.dl_txts = bool(self.flags & (TraceFlag.PMTUD | TraceFlag.DL)) \
            and self.method not in TCP_TYPES and self.via is None

        self.mode = Mode.TRACE
        self.para: Parallel | None = None
        if command.squeries > 1 and not self.flags & TraceFlag.DOUBLETREE:
            self.mode = Mode.PARALLEL
            self.para = Parallel(self)
        self.ttl = command.hoplimit if self.back else self.firsthop
        self.attempt = 0
        self.loopc = 0
        self.loop_prior = False
        self.start: int | None = None
        self.sent: builtins.list[SentProbe] = []
        self.hops: dict[int, builtins.list[SentProbe]] = {}
        self.hop_count = self.firsthop - 1
        self.lastditch: builtins.list[SentProbe] | None = None
        self.conf_ifaces: set[bytes] = set()
        self.conf_n = 2
        self.stop_reason = TraceStop.NONE
        self.stop_data = 0
        self.stop_hop = 0
        self.errmsg: str | None = None
        self.done = False
        self.want_probe = False
        self.wait_until: int | None = None
        self.last_tx = 0
        self._settled = False
        # -M: the MTU of the interface towards dst (from the engine), and
        # the PMTUD phase's state once it starts (.pmtud)
        self.ifmtu = ifmtu
        self.pmtud: Pmtud | None = None
        # -y: where in-progress copies go (the control session or the CLI)
        self.on_progress = on_progress
        # -O ptr: the daemon's resolver, and the names it gave (None while
        # a lookup is outstanding or when it found none)
        self.ptr_lookup = ptr_lookup
        self.names: dict[bytes, str | None] = {}

    # -- confidence ------------------------------------------------------------

    def conf_k(self) -> int:
        return CONFIDENCE_K[self.cmd.confidence][self.conf_n - 2]

    def conf_add(self, addr: bytes) -> None:
        """conf_iface_add(): each new interface after the first raises n."""
        if addr in self.conf_ifaces:
            return
        self.conf_ifaces.add(addr)
        if len(self.conf_ifaces) > 1:
            self.conf_n += 1

    def conf_reset(self) -> None:
        self.conf_ifaces.clear()
        self.conf_n = 2

    def hop_answered(self, hop: TraceReply, now: int) -> bool:
        """Hook: the working hop has its answer (after -Q / -c).  Return True
        when a later mode took over (doubletree's backward probing, in
        :mod:`.dtree`); the plain trace goes on to the next hop."""
        return False

    def probe_size_for(self, mode: Mode) -> int | None:
        """The size of the next probe in ``mode``; None = the trace's size."""
        if mode in PMTUD_MODES and self.pmtud is not None:
            return self.pmtud.size
        return None

    def queue(self, now: int) -> None:
        """trace_queue(): wait for the last probe's answer, or send on."""
        if self.para is not None and self.mode in _PARALLEL_MODES:
            self.para.queue(self, now)
            return
        last = self.sent[-1]
        if not last.replies:
            t = self.last_tx + self.wait_timeout_ns
            if t > now:
                self.wait(t)
                return
        self.queue_probe(now)

    def queue_probe(self, now: int) -> None:
        """trace_queue_probe(): send now, unless -W says wait."""
        if self.wait_probe_ns:
            t = self.last_tx + self.wait_probe_ns
            if t > now:
                self.wait(t)
                return
        self.want_probe = True
        self.wait_until = None

    def wait(self, t: int) -> None:
        self.want_probe = False
        self.wait_until = t

    def next_mode(self, now: int) -> None:
        """trace_next_mode(): the main trace is over."""
        self.want_probe = False
        self.wait_until = None
        if self.mode == Mode.PARALLEL and self.para is not None and not self.para.empty():
            # wait for the hops still outstanding
            self.mode = Mode.PARALLEL_FINISH
            self.queue(now)
            return
        if self.after_trace(now):
            return
        self.done = True

    def end(self, reason: TraceStop, now: int) -> None:
        """trace_stop() then trace_next_mode(): the main trace is over."""
        self.stop(reason, 0)
        self.next_mode(now)

    def back_step(self, now: int) -> None:
        """-O back, the working hop answered: probe the hop below, or, at
        firsthop, settle the stop reason from every hop and end."""
        if self.ttl > self.firsthop:
            self.attempt = 0
            self.ttl -= 1
            self.queue(now)
            return
        self.stop_process()
        self.next_mode(now)

    def after_trace(self, now: int) -> bool:
        """Hook for PMTUD / doubletree: start another phase and return True,
        or return False to finish.  -M starts PMTUD (:mod:`.pmtud`)."""
        if self.flags & TraceFlag.PMTUD:
            return pmtud_start(self, now)
        return False
