"""prefixscan: which address of ``b``'s prefix is an alias of ``a``?

scamper_dealias_do.c's dealias_prefixscan_*.  The candidates are ``b``'s
prefix mates nearest first (:func:`candidates`); each in turn is probed
alternately with ``a`` until ``replyc`` replies are in one IP-ID sequence
(ALIASES, ``ab`` the candidate) or are not (the next candidate).  A UDP
port unreachable answered from ``a`` (or an address ``a`` answered from)
for a candidate is also ALIASES, flagged CSA (common source address); a
target that echoes our IP-ID twice is IPIDECHO when it is ``a``, else the
candidate is skipped.  No candidate left: NONE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protocol.commands.dealias_methods import PrefixscanFlag

from .core import ALIASES, IPIDECHO, NONE, Def, Probe, Reply, Sched, State
from .inseq import ipid_inseq
from .methods import NS_PER_US, Method, _samples, from_target

# the order of a /30's other members, by the host bits of b
_SLASH30 = ((1, 2, 3), (2, 0, 3), (1, 0, 3), (2, 1, 0))


def candidates(a: bytes, b: bytes, prefix: int, xs: set[bytes]) -> list[bytes]:
    """dealias_prefixscan_array(): b's /31 mate, the rest of its /30 in a
    fixed order, then each wider prefix's other half, down to ``prefix``;
    never ``a`` nor an excluded address."""
    bv = int.from_bytes(b, "big")
    out: list[int] = []
    if prefix == 31:
        out.append(bv ^ 1)
    else:
        mask = 0x3
        net = bv & ~mask & 0xFFFFFFFF
        out += [net | h for h in _SLASH30[bv & mask]]
        for pre in range(29, prefix - 1, -1):
            bit = 1 << (31 - pre)
            mask |= bit
            net = bv & ~mask & 0xFFFFFFFF
            if bv & bit:
                bit = 0
            out += [net | bit | h for h in range(1 << (31 - pre))]
    addrs = [v.to_bytes(4, "big") for v in out]
    return [x for x in addrs if x != a and x not in xs]


class Prefixscan(Method):
    def __init__(self, params: Any, st: State, src_for: Callable[[bytes], bytes]) -> None:
        super().__init__(params, st)
        self.a = params.a.packed
        xs = {x.packed for x in params.xs}
        self.cands = [Def(st.defs[0].pd, 0, src_for(c), c, st.defs[0].payload_len)
                      for c in candidates(self.a, params.b.packed, params.prefix, xs)]
        self.aaliases: list[bytes] = []
        self.attempt = 0
        self.seq = 0
        self.round0 = 0
        self.round = 0
        self.replyc = 0
        self.ab: bytes | None = None
        self.csa = False

    @property
    def nobs(self) -> bool:
        return bool(self.p.flags & PrefixscanFlag.NOBS)

    def postprobe(self) -> None:
        st = self.st
        if st.defs[st.probe].id == 0:
            self.round0 += 1
        else:
            self.round += 1
        self.attempt += 1
        self.replyc = 0
        st.next_tx = st.last_tx + self.p.wait_probe_us * NS_PER_US

    def _next(self) -> bool:
        """dealias_prefixscan_next(): add the next candidate as a definition;
        True when it is already known to answer for ``a`` (ALIASES)."""
        st = self.st
        cand = self.cands[len(st.defs) - 1]
        if cand.dst in self.aaliases:
            self.ab, self.csa = cand.dst, True
            st.finish(ALIASES)
            return True
        cand.id = len(st.defs)
        st.defs.append(cand)
        st.add_def(cand)
        return False

    def _exhausted(self) -> bool:
        return len(self.st.defs) - 1 == len(self.cands)

    def on_reply(self, probe: Probe, reply: Reply, now: int, dl: tuple[int, bytes] | None) -> None:
        st = self.st
        if probe is not st.probes[-1] or len(probe.replies) != 1:
            return
        d = probe.defn
        if probe.ipid == reply.ipid:
            d.echo += 1
            if d.echo >= 2:
                if d.id == 0:
                    st.finish(IPIDECHO)
                else:
                    self._move_on(now)
                return
        if st.sched == Sched.PROBE:
            return  # a late answer while a probe is due
        if not from_target(probe, reply):
            return
        self.replyc += 1
        if d.is_udp and reply.is_port_unreach() and reply.src != d.dst:
            if d.id == 0:
                if reply.src not in self.aaliases:
                    self.aaliases.append(reply.src)
            elif reply.src == self.a or reply.src in self.aaliases:
                self.ab, self.csa = d.dst, True
                st.finish(ALIASES)
                return
        self.seq += 1
        seq = self.seq
        self.attempt = 0
        if seq < 2:
            if st.probe != 0:
                st.probe = 0
                return
            if len(st.defs) == 1 and self._next():
                return
            st.probe = len(st.defs) - 1
            st.queue(now)
            return
        series = self._series(probe, seq)
        if series is None:
            st.fail("p < 0")
            return
        bs = 0 if self.nobs else (2 if seq < self.p.replyc else 3)
        if ipid_inseq(_samples(series), self.p.fudge, bs):
            if seq == self.p.replyc:
                self.ab = st.defs[-1].dst
                st.finish(ALIASES)
                return
            st.probe = len(st.defs) - 1 if st.probe == 0 else 0
            return
        self._move_on(now)

    def _series(self, probe: Probe, seq: int) -> list[Probe] | None:
        """The last ``seq`` answered probes, alternating between a and the
        candidate (each the latest answered one of its run)."""
        probes = self.st.probes
        out: list[Probe | None] = [None] * seq
        out[seq - 1] = probe
        p = len(probes) - 2
        defid = probe.defn.id
        while p >= 0 and probes[p].defn.id == defid:
            p -= 1
        for s in range(seq - 1, 0, -1):
            if p < 0:
                return None
            cur = out[s]
            assert cur is not None
            defid = len(self.st.defs) - 1 if cur.defn.id == 0 else 0
            while p >= 0:
                if not probes[p].replies:
                    p -= 1
                    continue
                out[s - 1] = probes[p]
                while p >= 0 and probes[p].defn.id == defid:
                    p -= 1
                break
        if any(x is None for x in out):
            return None
        return [x for x in out if x is not None]

    def _move_on(self, now: int) -> None:
        """The candidate is not an alias: on to the next, or NONE."""
        st = self.st
        if self._exhausted():
            st.finish(NONE)
            return
        if self._next():
            return
        self.round = 0
        self.attempt = 0
        st.probe = len(st.defs) - 1
        self.seq = 1 if st.probes[-1].defn.id == 0 else 0
        st.queue(now)

    def on_timeout(self, now: int) -> None:
        st = self.st
        d = st.probes[-1].defn
        if self.replyc == 0 and self.attempt >= self.p.attempts:
            if d.id != 0 and not self._exhausted():
                if self._next():
                    return
                self.round = 0
                self.seq = 0
                self.attempt = 0
                st.probe = len(st.defs) - 1
            else:
                st.finish(NONE)
                return
        st.round = self.round0 if st.probe == 0 else self.round

