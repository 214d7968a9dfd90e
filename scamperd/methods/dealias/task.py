"""The dealias measurement as a :class:`scamperd.engine.task.Task`.

scamper drives dealias with a probe callback, reply callbacks (ICMP socket
and datalink) and a timeout callback, each followed by a queueing decision
(:meth:`.core.State.queue`).  :meth:`DealiasTask.next_action` asks that
decision; a wait that has run out is the timeout callback, after which a
task its method did not queue again probes (scamper's wait queue does so).
See :mod:`.core` for matching and :mod:`.methods` / :mod:`.prefixscan` for
what each method decides.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from protocol.commands.dealias import DealiasCommand
from protocol.commands.dealias_methods import DealiasMethod
from warts.listcycle import CycleInfo, ListInfo
from warts.types.dealias import Dealias

from ...engine import packets as P
from ...engine import task as tk
from ...engine.task import FINISHED, Action, SendProbe, Wait
from . import probes as pk
from .core import HALTED, Def, Probe, Reply, Sched, State
from .match import match_keys
from .methods import NS_PER_US, Ally, Bump, Mercator, Method, Midardisc, Midarest, Radargun
from .prefixscan import Prefixscan
from .records import record

DM = DealiasMethod
METHODS: dict[DealiasMethod, type[Method]] = {
    DM.MERCATOR: Mercator, DM.ALLY: Ally, DM.RADARGUN: Radargun, DM.BUMP: Bump,
    DM.MIDAREST: Midarest, DM.MIDARDISC: Midardisc,
}
PTB_QUOTE_MAX = 1280 - 40 - 8   # dealias_ptb_add()


class DealiasTask:
    """One dealias measurement (see the module docstring)."""

    def __init__(self, command: DealiasCommand, defs: list[Def], *,
                 list: ListInfo | None = None, cycle: CycleInfo | None = None,
                 rng: random.Random | None = None, src_for: Any = None,
                 setup_error: str | None = None) -> None:
        self.cmd = command
        self.listcycle = (list, cycle)
        self.st = State(defs, rng if rng is not None else random.Random())
        params = command.data
        self.method: Method
        if command.method == DM.PREFIXSCAN:
            self.method = Prefixscan(params, self.st, src_for)
        else:
            self.method = METHODS[command.method](params, self.st)
        # any pseudo-MTU: every reply is read on the datalink, and probes
        # leave there (DEALIAS_STATE_FLAG_DL)
        self.dl = any(d.pd.mtu for d in defs)
        self._pending: tuple[Probe | None, SendProbe] | None = None
        if setup_error is not None:
            self.st.fail(setup_error)

    # -- the Task protocol -------------------------------------------------------

    def match_keys(self) -> Iterator[tk.MatchKey]:
        yield from dict.fromkeys(k for d in self._all_defs() for k in match_keys(d.pd, d.dst))

    def _all_defs(self) -> list[Def]:
        if isinstance(self.method, Prefixscan):
            return [self.st.defs[0], *self.method.cands]
        return self.st.defs

    def next_action(self, now: int) -> Action:
        st = self.st
        while True:
            if st.done:
                return FINISHED
            if self._pending is not None:
                return self._pending[1]
            if st.sched == Sched.PROBE:
                if not st.probes and st.start is None and not self._may_start(now):
                    continue
                return self._probe(now)
            if now < st.wait_until:
                return Wait(st.wait_until)
            st.sched = None
            self.method.on_timeout(now)
            if st.sched is None:
                st.sched = Sched.PROBE

    def _may_start(self, now: int) -> bool:
        """The first probe: the measurement starts (midardisc: at -@, if
        that is still to come)."""
        st = self.st
        m = self.method
        if isinstance(m, Midardisc):
            at = getattr(self.cmd.data, "startat_us", None)
            if at is not None and at * NS_PER_US > now:
                st.sched, st.wait_until = Sched.WAIT, at * NS_PER_US
                return False
            m.start = at * NS_PER_US if at is not None else now
        st.start = now
        return True

    def probe_sent(self, probe: tk.Probe, tx: int, error: Any = None) -> None:
        pending, self._pending = self._pending, None
        st = self.st
        if pending is None or st.done:
            return
        if error is not None:
            st.fail(getattr(error, "message", str(error)))
            return
        sp = pending[0]
        if sp is None:
            st.ptb_tx = tx   # a packet too big went out
        else:
            st.sent(sp, tx)
            self.method.postprobe()
        st.queue(tx, self.method.hold_until(tx))

    def receive_reply(self, reply: P.Reply, now: int) -> None:
        st = self.st
        if st.done or not st.probes:
            return
        if self.dl and not reply.dl and reply.proto != P.IPPROTO_TCP:
            # with a pseudo-MTU scamper reads replies on the datalink only,
            # where a fragmented one shows its fragment id
            return
        found = self._match(reply)
        if found is None:
            return
        probe, rec = found
        probe.replies.append(rec)
        dl = (reply.size, reply.raw) if (self.dl or rec.proto == P.IPPROTO_TCP) else None
        self.method.on_reply(probe, rec, now, dl)

    def halt(self) -> None:
        self.st.finish(HALTED)

    def result(self) -> Dealias:
        ps = self.method if isinstance(self.method, Prefixscan) else None
        return record(self.cmd, self.st, prefixscan=ps, listcycle=self.listcycle)

    # -- inside --------------------------------------------------------------------

    def _probe(self, now: int) -> Action:
        st = self.st
        via = None
        if st.ptbq:
            d, quote = st.ptbq.pop(0)
            pkt = P.build_icmp_ptb(d.src, d.dst, d.pd.mtu, quote[:PTB_QUOTE_MAX])
            action = SendProbe(tk.Probe(d.dst, pkt, ident="ptb", via=d.dst if self.dl else None))
            self._pending = (None, action)
            return action
        d = self.method.next_def()
        probe, vals = st.new_probe(d)
        pkt = pk.build(method=d.method, src=d.src, dst=d.dst, ttl=d.pd.ttl, tos=d.pd.tos,
                       payload_len=d.payload_len, **vals)
        if self.dl:
            via = d.dst
        action = SendProbe(tk.Probe(d.dst, pkt, ident=len(st.probes), via=via))
        self._pending = (probe, action)
        return action

    def _match(self, r: P.Reply) -> tuple[Probe, Reply] | None:
        """do_dealias_handle_icmp / _dl: the probe a reply answers, and the
        reply as scamper records it from the path it came by."""
        st = self.st
        v4 = not r.v6
        if r.proto == P.IPPROTO_TCP:
            probe = st.find_tcp(r.src, None, r.dport, r.sport)
            if probe is None:
                return None
            return probe, Reply(r.src, r.rx_ns, r.ttl, P.IPPROTO_TCP, size=r.size,
                                ipid=r.ipid if v4 else 0, tcp_flags=r.tcp_flags)
        if not r.is_icmp:
            return None
        q = r.quote
        if r.is_ttl_exceeded() or r.is_unreach() or r.is_ptb():
            if q is None or q.offset != 0 or not q.has_transport:
                return None
            if v4 and (q.ipid & 0xFF) != (q.ipid >> 8):
                return None
            if q.proto == P.IPPROTO_UDP:
                probe = st.find_udp(q.dst, q.ipid, q.sport, q.dport)
            elif q.proto in (P.IPPROTO_ICMP, P.IPPROTO_ICMPV6):
                echo = 128 if r.v6 else 8
                if q.icmp_type != echo or q.icmp_code != 0:
                    return None
                probe = st.find_icmp(q.dst, q.ipid, q.icmp_id, q.icmp_seq)
            elif q.proto == P.IPPROTO_TCP:
                probe = st.find_tcp(q.dst, q.ipid, q.sport, q.dport)
            else:
                return None
        elif r.is_echo_reply():
            probe = st.find_icmp(r.src, None, r.icmp_id, r.icmp_seq)
        else:
            return None
        if probe is None:
            return None
        q_ttl = q.ttl if q is not None else 0
        if self.dl:
            ipid32 = r.frag_id if (r.v6 and r.frag_id >= 0) else None
            return probe, Reply(r.src, r.rx_ns, r.ttl, r.proto, size=r.size,
                                ipid=r.ipid if v4 else 0, ipid32=ipid32,
                                icmp_type=r.icmp_type, icmp_code=r.icmp_code, icmp_q_ttl=q_ttl)
        return probe, Reply(r.src, r.rx_ns, r.ttl, P.IPPROTO_ICMPV6 if r.v6 else P.IPPROTO_ICMP,
                            size=r.size, ipid=r.ipid if v4 else 0, icmp_type=r.icmp_type,
                            icmp_code=r.icmp_code, icmp_q_ttl=q_ttl)
