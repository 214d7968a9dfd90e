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
``-w`` for an answer; what an answer does is :mod:`.replies` (``-Q``, ``-c``,
late replies), why the trace stops is :mod:`.stop` (scamper's precedence).
After the last attempt times out the hop is given up, then the hop limit and
the gap limit are checked; with ``-G lastditch`` a dead path gets ``-q``
last-ditch probes at TTL 255.

Probe ids, which routers quote back, are the 0-based count of probes sent;
:mod:`.probes` builds the packets, :mod:`.match` recovers the id from replies,
:mod:`.records` makes the hop records, and :mod:`.parallel` runs ``-N``
(several hops in flight, MODE_PARALLEL) with the same stop rules.

The datalink (do_trace_handle_dl)
---------------------------------
scamper opens a datalink for ``-M``, ``-O dl``, ``-r``, ``-o`` and the TCP
methods.  Probes it sends itself (``-r`` towards the router, ``-o``
fragments, PMTUD probes; :attr:`Probe.via`) it never sees leave on Linux;
probes sent through a socket while it is open (``-O dl``, ``-M``'s trace
phase) it sees leave, and that time becomes the probe's (TS_DL_TX, from the
kernel's transmit timestamp: ``Probe.txts``).  The reply then comes from
the socket first and the datalink's copy upgrades it to TS_DL_RX while the
trace still runs (:func:`.records.dl_seen`).  With ``-r`` (and TCP) every
reply is the datalink's; with ``-o`` none is (a quoted fragment has no
transport header for the datalink to match).  All measured against Debian's
scamper in the test bed.

Streams and names
-----------------
``-y N``: after every N-th probe the task hands an in-progress copy of its
record (stop reason INPROGRESS) to :attr:`TraceTask.on_progress`, as
scamper's trace_stream() queues a duplicate of the task.  ``-O ptr``: each
new reply address is looked up (:attr:`TraceTask.ptr_lookup`, the daemon's
resolver, scamper's scamper_do_host_do_ptr); the trace never waits for the
answers, and a name that arrived before the record is made is recorded with
every reply from that address (hop flag 20), as scamper's trace_hop_ptr_cb
fills in the hops.

Seams for the later phases
--------------------------
``mode`` holds scamper's MODE_* number (:class:`Mode`).  When the main trace
stops, :meth:`TraceTask.next_mode` calls :meth:`TraceTask.after_trace`
(scamper's trace_next_mode): return True from it after switching ``mode``
to a PMTUD or doubletree mode and queueing a probe, and dispatch that mode
in :meth:`_dispatch_timeout` / :meth:`_dispatch_icmp` / :meth:`_dispatch_tcp`.
Probes sent in a mode other than TRACE/LASTDITCH are kept in ``sent`` with
their mode, so their replies can be routed; ``probe_size_for`` lets a PMTUD
mode choose the size of the next probe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from functools import partial
from typing import ClassVar

from warts.address import ADDR_IPV4, ADDR_IPV6, Address
from warts.types.trace import (
    Trace,
    TraceFlag,
    TraceLastditch,
    TraceStop,
)

from ...engine.packets import IPPROTO_TCP, Reply
from ...engine.senderr import SendError
from ...engine.task import (
    FINISHED,
    Action,
    MatchKey,
    Probe,
    PtrLookup,
    SendProbe,
    Wait,
    timeval,
)
from .match import match_icmp, match_tcp
from .modes import PMTUD_MODES, Mode
from .phases import BASE_PHASES, Phase
from .probes import (
    build_probe,
)
from .records import SentProbe, command_fields, dl_seen, named
from .state import CONFIDENCE_K, CONFIDENCE_MAX_N, TraceState

__all__ = ["CONFIDENCE_K", "CONFIDENCE_MAX_N", "Mode", "PtrLookup", "TraceTask"]

_PARALLEL_MODES = frozenset((Mode.PARALLEL, Mode.PARALLEL_FINISH))
# probes whose datalink times scamper applies (dlout_apply and dlin_trace)
_DL_TIMED_MODES = frozenset((Mode.TRACE, Mode.PARALLEL, Mode.PARALLEL_FINISH))
# probes stored as hops of the trace (scamper's MODE_IS_TRACE/DTREE/PARALLEL)
_HOP_MODES = frozenset((Mode.TRACE, Mode.DTREE_FIRST, Mode.DTREE_FWD, Mode.DTREE_BACK,
                        Mode.PARALLEL))


class TraceTask(TraceState):
    """One traceroute (see the module docstring)."""

    # what a reply or an expired wait does, by mode (scamper's handler arrays)
    phases: ClassVar[Mapping[Mode, Phase]] = BASE_PHASES

    # -- the Task contract ------------------------------------------------

    def match_keys(self) -> Iterator[MatchKey]:
        """(proto, ICMP id or source port, target): every reply, direct or
        quoted, carries them.  A -o fragment has no transport header to
        quote: its replies are keyed by target only."""
        if self.cmd.offset:
            yield (self.proto, None, self.dst)
        else:
            yield (self.proto, self.sport, self.dst)

    def next_action(self, now: int) -> Action:
        if self.start is None and not self.done:
            self.start = now
            self.want_probe = True
            if self.setup_error is not None:
                self.stop_reason = TraceStop.ERROR
                self.stop_data = self.setup_error[0] & 0xFF
                self.errmsg = self.setup_error[1]
                self.done = True
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
            self.phases[self.mode].expired(self, now)
            if self.wait_until is None:
                self.want_probe = True
        return FINISHED

    def probe_sent(self, probe: Probe, tx: int, error: SendError | None = None) -> None:
        pid, ttl, size, mode = probe.ident
        if self.done or pid != len(self.sent) or not self.want_probe:
            return  # a stale probe object
        if mode in _HOP_MODES:
            # scamper makes room for the hop before sending
            self.hop_count = max(self.hop_count, ttl)
        if error is not None:
            self.stop_error(error)
            return
        self.want_probe = False
        if self.para is not None and mode in _PARALLEL_MODES:
            attempt = self.para.sent(self, pid, tx)
        else:
            self.attempt += 1
            attempt = self.attempt
        sp = SentProbe(pid, ttl, attempt, mode, tx, size, dl_rxts=self.dl_rxts)
        if probe.txts:
            sp.tx, sp.dl_tx = probe.txts[0], True  # the datalink's time
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
        if self.cmd.stream and len(self.sent) % self.cmd.stream == 0 \
                and self.on_progress is not None:
            # trace_stream(): a copy of the trace as it stands, probe sent
            self.on_progress(self.result(TraceStop.INPROGRESS))
        self.queue(tx)

    def receive_reply(self, reply: Reply, now: int) -> None:
        if self.done or not self.sent:
            return
        n = len(self.sent)
        if reply.is_icmp:
            pid = match_icmp(self.spec, reply, n)
            if pid is None:
                return
            tp = self.sent[pid]
            if self.tcp_dl:
                # scamper's datalink sees the ICMP message too and takes its
                # receive time from there
                tp.dl_rx = True
            had = len(tp.replies)
            self.phases[self.mode].icmp(self, reply, tp, now)
        elif reply.proto == IPPROTO_TCP:
            pid = match_tcp(self.spec, reply, n)
            if pid is None:
                return
            tp = self.sent[pid]
            # only the first inbound datalink record of a probe makes a hop
            if tp.dl_rx:
                return
            tp.dl_rx = True
            had = len(tp.replies)
            self.phases[self.mode].tcp(self, reply, tp, now)
        else:
            return
        if tp.dl_tx and not self.done and tp.mode in _DL_TIMED_MODES:
            dl_seen(tp)
        if self.ptr_lookup is not None and self.flags & TraceFlag.PTR:
            for hop in tp.replies[had:]:
                self._ptr(hop.addr.raw)

    def halt(self) -> None:
        self.stop_reason = TraceStop.HALTED
        self.done = True

    def result(self, stop_reason: TraceStop | None = None) -> Trace:
        """The record; ``stop_reason`` INPROGRESS gives a ``-y`` snapshot."""
        cmd = self.cmd
        inprog = stop_reason == TraceStop.INPROGRESS
        if self.para is not None and not self._settled and not inprog:
            # do_trace_write(): a parallel trace's stop reason is settled by
            # scanning the hops in order (a later hop may have stopped first)
            self._settled = True
            self.stop_process()
        atype = ADDR_IPV6 if self.v6 else ADDR_IPV4
        names = self.names
        probes = [named(p.record(), names) for ttl in sorted(self.hops)
                  for p in self.hops[ttl]]
        lastditch = None
        if self.lastditch is not None:
            lastditch = TraceLastditch(tuple(named(p.record(), names) for p in self.lastditch))
        pmtud = self.pmtud.record() if self.pmtud is not None else None
        if pmtud is not None and names:
            pmtud = dataclasses.replace(
                pmtud, probes=tuple(named(p, names) for p in pmtud.probes))
        return Trace.build(
            src=Address(atype, self.src), list=self.list, cycle=self.cycle,
            start=timeval(self.start or 0),
            stop_reason=self.stop_reason if stop_reason is None else stop_reason,
            stop_data=self.stop_data, flags=self.flags, firsthop=self.firsthop,
            sport=self.sport, probec=len(self.sent),
            hop_count=self.hop_count, stop_hop=self.stop_hop, errmsg=self.errmsg,
            probes=probes, lastditch=lastditch, pmtud=pmtud, **command_fields(cmd))

    # -- -O ptr ----------------------------------------------------------------

    def _ptr(self, addr: bytes) -> None:
        """trace_hop_ptr(): one lookup per address per trace."""
        if addr in self.names or self.ptr_lookup is None:
            return
        self.names[addr] = None
        self.ptr_lookup(addr, partial(self._ptr_cb, addr))

    def _ptr_cb(self, addr: bytes, name: str | None) -> None:
        if name is not None:
            self.names[addr] = name

    # -- probing -------------------------------------------------------------

    def _probe(self) -> Probe:
        pid = len(self.sent)
        ttl = self.ttl
        if self.para is not None and self.mode in _PARALLEL_MODES:
            ttl = self.para.next_ttl(self)
        size = self.probe_size_for(self.mode)
        packet = build_probe(self.spec, pid, ttl, size=size,
                             zero_payload=self.mode in PMTUD_MODES)
        via = self.via
        txts: list[int] | None = None
        if self.mode in PMTUD_MODES:
            # scamper sends PMTUD probes on the datalink: no kernel path MTU
            # check, no fragmentation
            via = self.via or self.dst
        elif self.dl_txts and self.mode in _DL_TIMED_MODES:
            txts = []
        # the probe size scamper records leaves out a -o fragment header
        size = len(packet) - 8 if self.cmd.offset else len(packet)
        return Probe(self.dst, packet, (pid, ttl, size, self.mode), via, txts)
