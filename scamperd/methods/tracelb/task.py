"""The tracelb method as a :class:`scamperd.engine.task.Task`.

The MDA itself lives in :mod:`.core`, :mod:`.process` and :mod:`.mda`; this
class fits it to the engine's pull model.  scamper drives tracelb with three
callbacks (probe, reply, timeout) and a decision after each (tracelb_queue:
probe now, wake at a time, or done).  Here :meth:`next_action` asks that
decision: a probe due is built and returned; a wait that has run out is the
timeout callback, after which the decision is asked again.

A tracelb has no stop reason: it ends when no branch is left, when the
probe budget ``-Q`` is spent (probec reaches probec_max; nothing else is
recorded), with an error (``errmsg``), or halted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol.commands.tracelb import TracelbCommand
from warts.listcycle import CycleInfo, ListInfo
from warts.types.tracelb import Tracelb

from ...engine import task as tk
from ...engine.packets import Reply
from ...engine.task import FINISHED, Action, SendProbe, Wait
from . import mda
from .core import LbError, Params, SentProbe, State
from .graph import Node
from .match import match_icmp, match_keys, match_tcp
from .probes import VARY_SPORT, LbSpec, build_probe
from .records import _addr, command_fields, graph_record, icmp_reply, tcp_reply


class TracelbTask:
    """One tracelb measurement (see the module docstring)."""

    def __init__(self, command: TracelbCommand, *, src: bytes, list: ListInfo | None = None,
                 cycle: CycleInfo | None = None, ptr_lookup: tk.PtrLookup | None = None,
                 setup_error: str | None = None) -> None:
        self.cmd = command
        dst = command.dst.packed
        self.spec = LbSpec(int(command.method), src, dst, command.sport, command.dport,
                           command.tos, command.payload_size)
        self.listcycle = (list, cycle)  # the record's list and cycle
        self.ptr_lookup = ptr_lookup
        # scamper sends the flow-by-source-port methods, and every method
        # towards a -r router, on the datalink
        self.via: bytes | None = None
        if command.rtr is not None:
            self.via = command.rtr.packed
        elif command.method in VARY_SPORT:
            self.via = dst
        params = Params(
            dst=dst, firsthop=command.firsthop, attempts=command.attempts,
            confidence=0 if command.confidence == 95 else 1, gaplimit=command.gaplimit,
            probec_max=command.probec_max, wait_probe=command.wait_probe_us * tk.NS_PER_US,
            wait_timeout=command.wait_timeout_us * tk.NS_PER_US,
            flowid_start=command.first_flowid)
        self.st = State(params, self._node_added if ptr_lookup is not None else None)
        self.start: int | None = None
        # the probe handed to the engine and not yet reported sent
        self._pending: tuple[SentProbe, SendProbe] | None = None
        if setup_error is not None:
            self.st.fail(setup_error)

    # -- the Task protocol -------------------------------------------------

    def match_keys(self) -> Iterator[tk.MatchKey]:
        yield from match_keys(self.spec.method, self.spec.sport, self.spec.dst)

    def next_action(self, now: int) -> Action:
        st = self.st
        if self.start is None:
            self.start = now
        while True:
            if st.done:
                return FINISHED
            if self._pending is not None:
                # handed out and not sent yet (the engine paces sends, and
                # asks again when it has a slot): the same probe again
                return self._pending[1]
            if st.want_probe:
                return self._probe(now)
            if now < st.wait_until:
                return Wait(st.wait_until)
            self._guard(mda.handle_timeout, st, now)

    def probe_sent(self, probe: tk.Probe, tx: int, error: Any = None) -> None:
        pending, self._pending = self._pending, None
        if pending is None or self.st.done:
            return
        tp = pending[0]
        if error is not None:
            self.st.fail(getattr(error, "message", str(error)))
            return
        self._guard(mda.probe_sent, self.st, tp, tx, tx)

    def receive_reply(self, reply: Reply, now: int) -> None:
        st = self.st
        if st.done or not st.probes:
            return
        if reply.is_icmp:
            pid = match_icmp(self.spec, reply, st.id_next)
            if pid is None:
                return
            pr = st.probes[pid]
            lb = icmp_reply(reply, now)
        else:
            last = st.probes[-1]
            if not match_tcp(self.spec, reply, st.id_next, last.probe.flowid):
                return
            pr = last
            lb = tcp_reply(reply, now)
        self._guard(mda.handle_reply, st, pr, lb, now)

    def halt(self) -> None:
        self.st.done = True
        self.st.want_probe = False

    def result(self) -> Tracelb:
        cmd = self.cmd
        st = self.st
        nodes, links = graph_record(st.nodes, st.links)
        return Tracelb.build(
            src=_addr(self.spec.src), start=tk.timeval(self.start or 0), probec=st.probec,
            nodes=nodes, links=links, errmsg=st.errmsg, list=self.listcycle[0],
            cycle=self.listcycle[1],
            **command_fields(cmd))

    # -- inside ----------------------------------------------------------------

    def _probe(self, now: int) -> Action:
        st = self.st
        try:
            tp = mda.next_probe(st)
        except LbError as e:
            st.fail(str(e))
            return FINISHED
        p = tp.probe
        packet = build_probe(self.spec, st.id_next, p.flowid, p.ttl)
        action = SendProbe(tk.Probe(self.spec.dst, packet, ident=st.id_next, via=self.via))
        self._pending = (tp, action)
        return action

    def _guard(self, fn: Any, *args: Any) -> None:
        """An LbError is scamper's tracelb_handleerror(): the measurement ends
        with that message."""
        try:
            fn(*args)
        except LbError as e:
            self.st.fail(str(e))

    def _node_added(self, node: Node) -> None:
        """tracelb_node_ptr(): -O ptr names each node once it is recorded."""
        assert self.ptr_lookup is not None and node.addr is not None

        def named(name: str | None) -> None:
            if name is not None:
                node.name = name
        self.ptr_lookup(node.addr, named)
