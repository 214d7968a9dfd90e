"""The trace method: scamper's serial traceroute as a pure state machine.

Theory of operation
-------------------
This is scamper_trace_do.c's MODE_TRACE and MODE_LASTDITCH with scamper's
task queue folded in.  A trace is at any moment either due to send a probe
(``want_probe``), waiting until ``wait_until`` (for a reply, or for ``-W``
between probes), or finished.  When a wait expires the timeout handler runs
(``do_trace_handle_timeout``) and, unless it finished the trace or queued
another wait, the next probe is sent, exactly as scamper's queue puts a task
whose wait expired back on the probe queue.

Per hop (``ttl``, from ``-f`` up): send probe ``attempt`` (1-based), wait
``-w`` for an answer.  A reply to the hop being worked moves on to ttl+1 at
once, unless ``-Q`` (every one of the ``-q`` attempts is sent) or ``-c``
(``k(n)`` probes for ``n`` distinct interfaces seen, scamper's confidence
table) asks for more.  After the last attempt times out the hop is given up,
then the hop limit and the gap limit are checked; with ``-G lastditch`` a
dead path gets ``-q`` last-ditch probes at TTL 255.  Every reply is checked
for a reason to stop (:meth:`TraceTask._stop_reason`, scamper's precedence);
late replies for earlier hops are recorded and can stop the trace too.

Probe ids, which routers quote back, are the 0-based count of probes sent;
:mod:`.probes` builds the packets and recovers the id from replies,
:mod:`.records` makes the hop records, and :mod:`.parallel` runs ``-N``
(several hops in flight, MODE_PARALLEL) with the same stop rules.

Seams for the later phases
--------------------------
``mode`` holds scamper's MODE_* number (:class:`Mode`).  When the main trace
stops, :meth:`TraceTask._next_mode` calls :meth:`TraceTask.after_trace`
(scamper's trace_next_mode): return True from it after switching ``mode``
to a PMTUD or doubletree mode and queueing a probe, and dispatch that mode
in :meth:`_dispatch_timeout` / :meth:`_dispatch_icmp` / :meth:`_dispatch_tcp`.
Probes sent in a mode other than TRACE/LASTDITCH are kept in ``sent`` with
their mode, so their replies can be routed; ``probe_size_for`` lets a PMTUD
mode choose the size of the next probe.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator

from protocol.commands.trace import TraceCommand
from warts.address import ADDR_IPV4, ADDR_IPV6, Address
from warts.listcycle import CycleInfo, ListInfo
from warts.types.trace import (
    Trace,
    TraceFlag,
    TraceGapAction,
    TraceLastditch,
    TraceReply,
    TraceStop,
)

from ...engine.packets import IPPROTO_TCP, Reply
from ...engine.task import FINISHED, Action, MatchKey, Probe, SendProbe, Wait
from .modes import PMTUD_MODES, Mode
from .parallel import Parallel
from .pmtud import Pmtud
from .pmtud import start as pmtud_start
from .probes import (
    ICMP_TYPES,
    TCP_TYPES,
    UDP_TYPES,
    ProbeSpec,
    build_probe,
    header_size,
    match_icmp,
    match_tcp,
    probe_proto,
)
from .records import (
    SentProbe,
    icmp_hop,
    is_unreach,
    is_unreach_port,
    send_errmsg,
    tcp_hop,
    timeval,
)

NS_PER_US = 1000
NS_PER_SEC = 1_000_000_000
_PARALLEL_MODES = frozenset((Mode.PARALLEL, Mode.PARALLEL_FINISH))
# probes whose datalink times scamper applies (dlout_apply and dlin_trace)
_DL_TIMED_MODES = frozenset((Mode.TRACE, Mode.PARALLEL, Mode.PARALLEL_FINISH))
# probes stored as hops of the trace (scamper's MODE_IS_TRACE/DTREE/PARALLEL)
_HOP_MODES = frozenset((Mode.TRACE, Mode.DTREE_FIRST, Mode.DTREE_FWD, Mode.DTREE_BACK,
                        Mode.PARALLEL))
# probes whose replies handleicmp_trace() takes
_TRACE_PROBE_MODES = frozenset((Mode.TRACE, Mode.DTREE_FWD, Mode.DTREE_BACK))


# k(n): probes to send at one hop to rule out, at 95% / 99% confidence, a
# load balancer with more than n next hops (scamper's k() table; rows n=2..25).
CONFIDENCE_K = {
    95: (6, 11, 16, 21, 27, 33, 38, 44, 51, 57, 63, 70, 76, 83, 90, 96, 103, 110, 117,
         124, 131, 138, 145, 152),
    99: (8, 15, 21, 28, 36, 43, 51, 58, 66, 74, 82, 90, 98, 106, 115, 123, 132, 140,
         149, 157, 166, 175, 183, 192),
}
CONFIDENCE_MAX_N = 25


class TraceTask:
    """One traceroute (see the module docstring)."""

    def __init__(self, command: TraceCommand, *, src: bytes, list: ListInfo | None = None,
                 cycle: CycleInfo | None = None, sport: int | None = None,
                 ifmtu: int | None = None) -> None:
        self.cmd = command
        self.dst: bytes = command.dst.packed
        self.src = src
        self.v6 = len(self.dst) == 16
        self.list = list
        self.cycle = cycle
        self.method = int(command.method)
        self.flags = int(command.flags)
        self.sport = command.sport if sport is None else sport
        self.proto = probe_proto(self.method, self.v6)
        self.header_size = header_size(self.method, self.v6)
        self.spec = ProbeSpec(
            self.method, src, self.dst, self.sport, command.dport, command.tos,
            bytes(command.payload or b""), command.probe_size - self.header_size,
            const_payload=bool(self.flags & TraceFlag.CONSTPAYLOAD))
        self.wait_timeout_ns = command.wait_timeout_us * NS_PER_US
        self.wait_probe_ns = command.wait_probe_us * NS_PER_US
        self.firsthop: int = command.firsthop
        self.back = bool(self.flags & TraceFlag.BACK)
        self.allattempts = bool(self.flags & TraceFlag.ALLATTEMPTS)

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

    # -- the Task contract ------------------------------------------------

    def match_keys(self) -> Iterator[MatchKey]:
        """(proto, ICMP id or source port, target): every reply, direct or
        quoted, carries them."""
        yield (self.proto, self.sport, self.dst)

    def next_action(self, now: int) -> Action:
        if self.start is None and not self.done:
            self.start = now
            unsupported = self._unsupported()
            if unsupported is not None:
                self._stop(TraceStop.ERROR, 0)
                self.errmsg = f"{unsupported} is not supported by scamperd"
                self.done = True
            else:
                self.want_probe = True
        while not self.done:
            if self.want_probe:
                return SendProbe(self._probe())
            if self.wait_until is None:
                self.want_probe = True
                continue
            if now < self.wait_until:
                return Wait(self.wait_until)
            # scamper: the wait expired, run the timeout handler; a task it
            # left unqueued goes on the probe queue
            self.wait_until = None
            self._handle_timeout(now)
            if self.wait_until is None:
                self.want_probe = True
        return FINISHED

    def probe_sent(self, probe: Probe, tx: int, error: OSError | None = None) -> None:
        pid, ttl, size, mode = probe.ident
        if self.done or pid != len(self.sent) or not self.want_probe:
            return  # a stale probe object
        if mode in _HOP_MODES:
            # scamper makes room for the hop before sending
            self.hop_count = max(self.hop_count, ttl)
        if error is not None:
            self._stop_error(probe, ttl, error)
            return
        self.want_probe = False
        if self.para is not None and mode in _PARALLEL_MODES:
            attempt = self.para.sent(self, pid, tx)
        else:
            self.attempt += 1
            attempt = self.attempt
        sp = SentProbe(pid, ttl, attempt, mode, tx, size)
        if probe.txts:
            sp.tx, sp.dl_tx = probe.txts[0], True  # the datalink's time (-M)
        self.sent.append(sp)
        if mode == Mode.LASTDITCH:
            assert self.lastditch is not None
            self.lastditch.append(sp)
        elif mode in PMTUD_MODES:
            assert self.pmtud is not None
            self.pmtud.probes.append(sp)
        elif mode in _HOP_MODES:
            self.hops.setdefault(ttl, []).append(sp)
        self.last_tx = tx
        self._queue(tx)

    def receive_reply(self, reply: Reply, now: int) -> None:
        if self.done or not self.sent:
            return
        n = len(self.sent)
        if reply.is_icmp:
            pid = match_icmp(self.spec, reply, n)
            if pid is None:
                return
            tp = self.sent[pid]
            if self.method in TCP_TYPES:
                # scamper's datalink sees the ICMP message too and takes its
                # receive time from there
                tp.dl_rx = True
            self._dispatch_icmp(reply, tp, now)
        elif reply.proto == IPPROTO_TCP:
            pid = match_tcp(self.spec, reply, n)
            if pid is None:
                return
            tp = self.sent[pid]
            # only the first inbound datalink record of a probe makes a hop
            if tp.dl_rx:
                return
            tp.dl_rx = True
            self._dispatch_tcp(reply, tp, now)

    def halt(self) -> None:
        self.stop_reason = TraceStop.HALTED
        self.done = True

    def result(self) -> Trace:
        cmd = self.cmd
        if self.para is not None and not self._settled and \
                self.stop_reason != TraceStop.INPROGRESS:
            # do_trace_write(): a parallel trace's stop reason is settled by
            # scanning the hops in order (a later hop may have stopped first)
            self._settled = True
            self._stop_process()
        atype = ADDR_IPV6 if self.v6 else ADDR_IPV4
        probes = [p.record() for ttl in sorted(self.hops) for p in self.hops[ttl]]
        lastditch = None
        if self.lastditch is not None:
            lastditch = TraceLastditch(tuple(p.record() for p in self.lastditch))
        rtr = cmd.rtr
        return Trace.build(
            Address(atype, self.dst), src=Address(atype, self.src),
            rtr=Address(atype, rtr.packed) if rtr is not None else None,
            list=self.list, cycle=self.cycle, userid=cmd.userid,
            start=timeval(self.start or 0), type=self.method,
            stop_reason=self.stop_reason, stop_data=self.stop_data, flags=self.flags,
            attempts=cmd.attempts, hoplimit=cmd.hoplimit, squeries=cmd.squeries,
            gaplimit=cmd.gaplimit, gapaction=int(cmd.gapaction), firsthop=self.firsthop,
            tos=cmd.tos, wait_timeout=self.wait_timeout_ns // NS_PER_SEC,
            wait_probe=self.wait_probe_ns // 10_000_000, loops=cmd.loops,
            confidence=cmd.confidence, probe_size=cmd.probe_size, sport=self.sport,
            dport=cmd.dport, offset=cmd.offset, probec=len(self.sent),
            hop_count=self.hop_count, stop_hop=self.stop_hop, errmsg=self.errmsg,
            probes=probes, lastditch=lastditch,
            pmtud=self.pmtud.record() if self.pmtud is not None else None)

    # -- what scamperd does not do (yet) ----------------------------------

    def _unsupported(self) -> str | None:
        cmd = self.cmd
        f = self.flags
        if cmd.offset:
            return "-o"
        if cmd.rtr is not None:
            return "-r"
        if f & TraceFlag.DL:
            return "-O dl"
        if f & TraceFlag.PTR:
            return "-O ptr"
        return None

    # -- probing -------------------------------------------------------------

    def probe_size_for(self, mode: Mode) -> int | None:
        """The size of the next probe in ``mode``; None = the trace's size."""
        if mode in PMTUD_MODES and self.pmtud is not None:
            return self.pmtud.size
        return None

    def _probe(self) -> Probe:
        pid = len(self.sent)
        ttl = self.ttl
        if self.para is not None and self.mode in _PARALLEL_MODES:
            ttl = self.para.next_ttl(self)
        size = self.probe_size_for(self.mode)
        packet = build_probe(self.spec, pid, ttl, size=size,
                             zero_payload=self.mode in PMTUD_MODES)
        # scamper sends PMTUD probes on the datalink: no kernel path MTU
        # check, no fragmentation
        via = self.dst if self.mode in PMTUD_MODES else None
        # with -M scamper reads the datalink during the trace, which sees
        # the trace's probes leave (not TCP's: sent on that datalink)
        txts: list[int] | None = None
        if self.flags & TraceFlag.PMTUD and self.method not in TCP_TYPES and \
                self.mode in _DL_TIMED_MODES:
            txts = []
        return Probe(self.dst, packet, (pid, ttl, len(packet), self.mode), via, txts)

    def _queue(self, now: int) -> None:
        """trace_queue(): wait for the last probe's answer, or send on."""
        if self.para is not None and self.mode in _PARALLEL_MODES:
            self.para.queue(self, now)
            return
        last = self.sent[-1]
        if not last.replies:
            t = self.last_tx + self.wait_timeout_ns
            if t > now:
                self._wait(t)
                return
        self._queue_probe(now)

    def _queue_probe(self, now: int) -> None:
        """trace_queue_probe(): send now, unless -W says wait."""
        if self.wait_probe_ns:
            t = self.last_tx + self.wait_probe_ns
            if t > now:
                self._wait(t)
                return
        self.want_probe = True
        self.wait_until = None

    def _wait(self, t: int) -> None:
        self.want_probe = False
        self.wait_until = t

    # -- stopping ------------------------------------------------------------

    def _stop(self, reason: TraceStop, data: int) -> None:
        """trace_stop(): the first reason set is kept."""
        if self.stop_reason == TraceStop.NONE:
            self.stop_reason = reason
            self.stop_data = data

    def _stop_error(self, probe: Probe, ttl: int, err: OSError) -> None:
        if self.stop_reason == TraceStop.NONE:
            self.stop_reason = TraceStop.ERROR
            self.stop_data = (err.errno or 0) & 0xFF
            self.errmsg = send_errmsg(self.method, str(self.cmd.dst), probe, ttl, err)
        self.done = True

    def _next_mode(self, now: int) -> None:
        """trace_next_mode(): the main trace is over."""
        self.want_probe = False
        self.wait_until = None
        if self.mode == Mode.PARALLEL and self.para is not None and not self.para.empty():
            # wait for the hops still outstanding
            self.mode = Mode.PARALLEL_FINISH
            self._queue(now)
            return
        if self.after_trace(now):
            return
        self.done = True

    def _hop_answered(self, hop: TraceReply, now: int) -> bool:
        """Hook: the working hop has its answer (after -Q / -c).  Return True
        when a later mode took over (doubletree's backward probing, in
        :mod:`.dtree`); the plain trace goes on to the next hop."""
        return False

    def after_trace(self, now: int) -> bool:
        """Hook for PMTUD / doubletree: start another phase and return True,
        or return False to finish.  -M starts PMTUD (:mod:`.pmtud`)."""
        if self.flags & TraceFlag.PMTUD:
            return pmtud_start(self, now)
        return False

    def _stop_reason(self, hop: TraceReply, ttl: int) -> tuple[TraceStop, int] | None:
        """trace_stop_reason(): a reason this reply stops the trace, in
        scamper's precedence."""
        m = self.method
        if hop.is_icmp and is_unreach_port(hop) and (m in UDP_TYPES or m in TCP_TYPES):
            return TraceStop.COMPLETED, 0
        if hop.is_icmp and is_unreach(hop):
            return TraceStop.UNREACH, hop.icmp_code or 0
        if hop.is_icmp_echo_reply:
            if m in ICMP_TYPES:
                return TraceStop.COMPLETED, 0
            return None
        if self.v6 and hop.icmp_type_eff == 2:
            return TraceStop.ICMP, 2
        if self.cmd.loops != 0 and self._isloop(hop, ttl):
            return TraceStop.LOOP, 0
        if hop.is_icmp_ttl_exp and not self.flags & TraceFlag.IGNORETTLDST \
                and hop.addr.raw == self.dst:
            return TraceStop.COMPLETED, 0
        if m in TCP_TYPES and hop.is_tcp:
            return TraceStop.COMPLETED, 0
        return None

    def _replies_at(self, ttl: int) -> Iterator[TraceReply]:
        for p in self.hops.get(ttl, ()):
            yield from p.replies

    def _isloop(self, hop: TraceReply, ttl: int) -> bool:
        """trace_isloop(): the address turns up again beyond an adjacent hop."""
        if ttl <= self.firsthop:
            return False
        for tmp in self._replies_at(ttl):
            if tmp is hop:
                break
            if tmp.addr == hop.addr:
                return False  # already checked at this hop
        last_hop = ttl if self.loop_prior else self.hop_count
        for i in range(self.firsthop, last_hop + 1):
            if i == ttl:
                continue
            for tmp in self._replies_at(i):
                if tmp.addr == hop.addr:
                    if i + 1 == ttl or i - 1 == ttl:
                        return False
                    self.loopc += 1
                    return self.loopc >= self.cmd.loops
        return False

    def _check_hop_count(self) -> bool:
        """Stop on any reply at the hop just finished (-Q and -c look at all)."""
        for hop in list(self._replies_at(self.hop_count)):
            got = self._stop_reason(hop, self.hop_count)
            if got is not None:
                self._stop(*got)
                return True
        return False

    def _hoplimit_reached(self) -> bool:
        return (self.cmd.hoplimit or 255) <= self.hop_count

    def _stop_process(self) -> None:
        """trace_stop_process(): -O back decides the stop reason at the end,
        scanning every hop from firsthop up."""
        self.loopc = 0
        self.loop_prior = True
        for ttl in sorted(t for t in self.hops if t >= self.firsthop):
            for hop in list(self._replies_at(ttl)):
                got = self._stop_reason(hop, ttl)
                if got is not None:
                    if self.hop_count > ttl:
                        self.stop_reason, self.stop_data = got
                        if self.cmd.squeries > 1:
                            self.stop_hop = ttl
                    break
            else:
                continue
            break
        if self.stop_reason == TraceStop.NONE:
            g = self.cmd.gaplimit
            if self.hop_count - (self.firsthop - 1) >= g and \
                    not any(self._has_reply(self.hop_count - i) for i in range(g)):
                self.stop_reason = TraceStop.GAPLIMIT
            if self.stop_reason == TraceStop.NONE:
                self.stop_reason = TraceStop.HOPLIMIT

    def _has_reply(self, ttl: int) -> bool:
        return any(p.replies for p in self.hops.get(ttl, ()))

    # -- confidence ------------------------------------------------------------

    def _k(self) -> int:
        return CONFIDENCE_K[self.cmd.confidence][self.conf_n - 2]

    def _conf_add(self, addr: bytes) -> None:
        """conf_iface_add(): each new interface after the first raises n."""
        if addr in self.conf_ifaces:
            return
        self.conf_ifaces.add(addr)
        if len(self.conf_ifaces) > 1:
            self.conf_n += 1

    def _conf_reset(self) -> None:
        self.conf_ifaces.clear()
        self.conf_n = 2

    # -- timeouts -----------------------------------------------------------------

    def _handle_timeout(self, now: int) -> None:
        """do_trace_handle_timeout()."""
        if not self.sent:
            return
        if self.para is not None and self.mode in _PARALLEL_MODES:
            self.para.queue(self, now)
            return
        tp = self.sent[-1]
        if tp.replies:
            return  # the wait was -W's; the next probe goes now
        limit = self._k() if self.cmd.confidence else self.cmd.attempts
        if self.attempt == limit:
            self.attempt = 0
            self._dispatch_timeout(now)

    def _dispatch_timeout(self, now: int) -> None:
        if self.mode == Mode.TRACE:
            self._timeout_trace(now)
        elif self.mode == Mode.LASTDITCH:
            # no answer to any last-ditch probe
            self._stop(TraceStop.GAPLIMIT, 0)
            self.done = True
        elif self.mode in PMTUD_MODES and self.pmtud is not None:
            self.pmtud.timeout(self, now)

    def _timeout_trace(self, now: int) -> None:
        """timeout_trace(): every attempt at this hop went unanswered."""
        self._conf_reset()
        if self.back:
            if self.ttl <= self.firsthop:
                self._stop(TraceStop.COMPLETED, 0)
                self._next_mode(now)
                return
            self.ttl -= 1
            return
        self.ttl += 1
        if (self.allattempts or self.cmd.confidence) and self._check_hop_count():
            self._next_mode(now)
            return
        if self._hoplimit_reached():
            self._stop(TraceStop.HOPLIMIT, 0)
            self._next_mode(now)
            return
        g = self.cmd.gaplimit
        if self.hop_count - (self.firsthop - 1) >= g:
            if any(self._has_reply(self.hop_count - i) for i in range(g)):
                return
            if int(self.cmd.gapaction) == TraceGapAction.LASTDITCH:
                self.lastditch = []
                self.mode = Mode.LASTDITCH
                self.ttl = 255
                return
            self._stop(TraceStop.GAPLIMIT, 0)
            self._next_mode(now)

    # -- replies -----------------------------------------------------------------

    def _dispatch_icmp(self, r: Reply, tp: SentProbe, now: int) -> None:
        if self.para is not None and self.mode in _PARALLEL_MODES:
            self.para.handle_icmp(self, r, tp, now)
        elif self.mode == Mode.TRACE:
            self._handleicmp_trace(r, tp, now)
        elif self.mode == Mode.LASTDITCH:
            if tp.mode in (Mode.TRACE, Mode.LASTDITCH):
                tp.replies.append(icmp_hop(r, tp, now, self.method in TCP_TYPES))
            if tp.mode == Mode.LASTDITCH:
                self._stop(TraceStop.GAPLIMIT, 0)
                self.done = True
        elif self.mode in PMTUD_MODES and self.pmtud is not None:
            self.pmtud.handle_icmp(self, r, tp, now)

    def _dispatch_tcp(self, r: Reply, tp: SentProbe, now: int) -> None:
        if self.mode == Mode.TRACE:
            self._handletp_trace(r, tp, now)
        elif self.mode == Mode.LASTDITCH:
            if tp.mode not in (Mode.TRACE, Mode.LASTDITCH):
                return
            tp.replies.append(tcp_hop(r, tp, now))
            self._stop(TraceStop.GAPLIMIT if tp.mode == Mode.LASTDITCH
                       else TraceStop.COMPLETED, 0)
            self.done = True
        elif self.mode in PMTUD_MODES and self.pmtud is not None:
            self.pmtud.handle_tcp(self, r, tp, now)

    def _handleicmp_trace(self, r: Reply, tp: SentProbe, now: int) -> None:
        """handleicmp_trace()."""
        if tp.mode not in _TRACE_PROBE_MODES:
            return
        hop = icmp_hop(r, tp, now, self.method in TCP_TYPES)
        tp.replies.append(hop)
        if tp.ttl != self.ttl and not self.back:
            # a late reply for an earlier hop: recorded, and may stop the trace
            got = self._stop_reason(hop, tp.ttl)
            if got is not None:
                self._stop(*got)
                self._next_mode(now)
            return
        if self.allattempts:
            if tp.attempt != self.attempt:
                return  # out of order: keep waiting for the latest probe
            if self.attempt < self.cmd.attempts:
                self._queue(now)
                return
        elif self.cmd.confidence:
            self._conf_add(hop.addr.raw)
            if self.conf_n <= CONFIDENCE_MAX_N:
                if tp.attempt != self.attempt:
                    return
                if self.attempt < self._k():
                    self._queue(now)
                    return
            self._conf_reset()
        self.attempt = 0
        if self._hop_answered(hop, now):
            return
        if self.back:
            if self.ttl > self.firsthop:
                self.ttl -= 1
                self._queue(now)
                return
            self._stop_process()
            self._next_mode(now)
            return
        self.ttl += 1
        if not self.cmd.confidence and not self.allattempts:
            got = self._stop_reason(hop, tp.ttl)
            if got is not None:
                self._stop(*got)
                self._next_mode(now)
                return
        elif self._check_hop_count():
            self._next_mode(now)
            return
        if self._hoplimit_reached():
            self._stop(TraceStop.HOPLIMIT, 0)
            self._next_mode(now)
            return
        self._queue(now)

    def _handletp_trace(self, r: Reply, tp: SentProbe, now: int) -> None:
        """handletp_trace(): the target answered a TCP probe."""
        if tp.mode != Mode.TRACE:
            return
        hop = tcp_hop(r, tp, now)
        tp.replies.append(hop)
        if self.allattempts:
            if tp.attempt != self.cmd.attempts:
                self._queue(now)
                return
        elif self.cmd.confidence:
            self._conf_add(hop.addr.raw)
            if self.conf_n <= CONFIDENCE_MAX_N and self.attempt < self._k():
                self._queue(now)
                return
        if self.back:
            if self.ttl > self.firsthop:
                self.attempt = 0
                self.ttl -= 1
                self._queue(now)
                return
            self._stop_process()
            self._next_mode(now)
            return
        self._stop(TraceStop.COMPLETED, 0)
        self._next_mode(now)

    # -- hop records ---------------------------------------------------------------




