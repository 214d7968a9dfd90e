"""The dealias methods but prefixscan: which probe next, and what replies
and timeouts mean (scamper_dealias_do.c's dealias_<method>_* functions).

* mercator: one UDP probe at a time, each waited for; a port unreachable
  from another address than the one probed means ALIASES, anything else
  NONE.
* ally: probes alternate between two addresses; any five adjacent replies
  out of IP-ID sequence end it NOTALIASES; after the last probe, the whole
  series in sequence is ALIASES.
* bump: three alternating probes must be strictly in sequence; then the
  counter of one address is pushed (``bump`` probes) and the test repeated,
  more than ``attempts`` times for ALIASES.
* radargun, midarest, midardisc: rounds of probes on a schedule, the IP-ID
  series left for offline inference (result NONE).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from protocol.commands.dealias_methods import AllyFlag, RadargunFlag

from .core import ALIASES, NONE, NOTALIASES, Def, Probe, Reply, State
from .inseq import Sample, ipid_inseq

NS_PER_US = 1000
SEC = 1_000_000_000


def _samples(probes: list[Probe]) -> list[Sample]:
    return [(p.defn.id, p.seq, p.replies[0].ipid32 if p.replies[0].ipid32 is not None
             else p.replies[0].ipid) for p in probes]


def from_target(p: Probe, r: Reply) -> bool:
    """SCAMPER_DEALIAS_REPLY_FROM_TARGET(): the answer the probe's protocol
    draws from its destination."""
    d = p.defn
    return ((d.is_udp and r.is_port_unreach()) or (d.is_icmp and r.is_echo_reply())
            or (d.is_tcp and r.proto == 6))


class Method(ABC):
    """What each method supplies to the shared machinery."""

    name: ClassVar[str] = ""

    def __init__(self, params: Any, st: State) -> None:
        self.p = params
        self.st = st

    def next_def(self) -> Def:
        return self.st.defs[self.st.probe]

    @abstractmethod
    def postprobe(self) -> None:
        """After a probe is sent: when the next is due, what comes next."""

    def on_reply(self, probe: Probe, reply: Reply, now: int, dl: tuple[int, bytes] | None) -> None:
        """A reply filed with ``probe`` (``dl``: its size and bytes as the
        datalink saw it, for the IPv6 fragment-id dance).  By default it is
        only recorded: midarest and midardisc leave inference to later."""
        del probe, reply, now, dl

    @abstractmethod
    def on_timeout(self, now: int) -> None:
        """The wait ran out."""

    def hold_until(self, now: int) -> int:
        """When probing may resume (0: no hold)."""
        return 0


class Mercator(Method):
    def postprobe(self) -> None:
        st = self.st
        st.next_tx = st.last_tx + self.p.wait_timeout_us * NS_PER_US
        st.round += 1

    def on_reply(self, probe: Probe, reply: Reply, now: int, dl: tuple[int, bytes] | None) -> None:
        if reply.is_port_unreach() and reply.src != probe.defn.dst:
            self.st.finish(ALIASES)
        else:
            self.st.finish(NONE)

    def on_timeout(self, now: int) -> None:
        if len(self.st.probes) < self.p.attempts:
            self.st.queue(now)
        else:
            self.st.finish(NONE)


class Ally(Method):
    @property
    def nobs(self) -> bool:
        return bool(self.p.flags & AllyFlag.NOBS)

    def postprobe(self) -> None:
        st = self.st
        wait = self.p.wait_probe_us if len(st.probes) != self.p.attempts \
            else self.p.wait_timeout_us
        st.next_tx = st.last_tx + wait * NS_PER_US
        st.probe += 1
        if st.probe == 2:
            st.probe = 0
            st.round += 1

    def hold_until(self, now: int) -> int:
        """dealias_ally_queue(): a second after a packet too big."""
        st = self.st
        if st.ptb_tx == 0:
            return 0
        if st.ptb_tx + SEC > now:
            return st.ptb_tx + SEC
        st.ptb_tx = 0
        return 0

    def on_reply(self, probe: Probe, reply: Reply, now: int, dl: tuple[int, bytes] | None) -> None:
        st = self.st
        if len(probe.replies) != 1 or not (
                from_target(probe, reply)
                or (reply.is_ttl_exp() and probe.defn.pd.ttl != 255)):
            st.finish(NONE)
            return
        if reply.v6 and not self._v6(probe, reply, now, dl):
            return
        probes = st.probes
        if len(probes) < 2 or probe not in probes:
            return
        k = probes.index(probe)
        window: list[Probe] = []
        if k >= 1 and len(probes[k - 1].replies) == 1:
            if k >= 2 and len(probes[k - 2].replies) == 1:
                window.append(probes[k - 2])
            window.append(probes[k - 1])
        window.append(probe)
        if k + 1 < len(probes) and len(probes[k + 1].replies) == 1:
            window.append(probes[k + 1])
            if k + 2 < len(probes) and len(probes[k + 2].replies) == 1:
                window.append(probes[k + 2])
        if len(window) < 2:
            return
        if not ipid_inseq(_samples(window), self.p.fudge, 0 if self.nobs else 2, v6=reply.v6):
            st.finish(NOTALIASES)

    def _v6(self, probe: Probe, reply: Reply, now: int, dl: tuple[int, bytes] | None) -> bool:
        """dealias_ally_handlereply_v6(): whether the reply counts.  Replies
        without a fragment id to a definition with a pseudo-MTU draw a packet
        too big, after which the probing starts over."""
        st = self.st
        d = probe.defn
        waiting = st.ptb_tx != 0 or bool(st.ptbq)
        discard = probe in st.discard
        if reply.ipid32 is not None:
            d.rx_ipid = True
            return not discard and not waiting
        if d.pd.mtu and dl is not None and d.pd.mtu < dl[0] \
                and not d.tx_ptb and not d.rx_ipid:
            st.discard.extend(st.probes)
            st.probes.clear()
            st.round = 0
            d.tx_ptb = True
            st.ptbq.append((d, dl[1]))
            st.queue(now, self.hold_until(now))
            return False
        if not waiting and not discard:
            st.finish(NONE)
        return False

    def on_timeout(self, now: int) -> None:
        st = self.st
        if len(st.probes) != self.p.attempts:
            return
        if any(len(p.replies) != 1 for p in st.probes):
            st.finish(NONE)
            return
        v6 = len(st.probes[0].defn.dst) == 16
        if ipid_inseq(_samples(st.probes), self.p.fudge, 0 if self.nobs else 3, v6=v6):
            st.finish(ALIASES)
        elif not v6 and all(r.ipid == 0 for p in st.probes for r in p.replies):
            st.finish(NONE)
        else:
            st.finish(NOTALIASES)


class Bump(Method):
    def __init__(self, params: Any, st: State) -> None:
        super().__init__(params, st)
        self.step = 0
        self.attempt = 0
        self.bump = 0

    def postprobe(self) -> None:
        st = self.st
        st.next_tx = st.last_tx + self.p.wait_probe_us * NS_PER_US

    def on_reply(self, probe: Probe, reply: Reply, now: int, dl: tuple[int, bytes] | None) -> None:
        if not from_target(probe, reply) or len(probe.replies) != 1:
            self.st.finish(NONE)

    def on_timeout(self, now: int) -> None:
        st = self.st
        if self.step < 2:
            self.step += 1
        elif self.step == 2:
            last = st.probes[-3:]
            if len(last) < 3 or any(len(p.replies) != 1 for p in last):
                st.finish(NONE)
                return
            if not ipid_inseq(_samples(last), 0, 0):
                st.finish(NOTALIASES)
                return
            if self.attempt > self.p.attempts:
                st.finish(ALIASES)
                return
            x, y = last[1].replies[0].ipid, last[2].replies[0].ipid
            gap = y - x if x < y else 0x10000 + y - x
            if gap * 2 > 65535:
                st.finish(NONE)
                return
            self.bump = gap * 2
            if self.bump == 2:
                self.bump += 1
            if self.bump > self.p.bump_limit:
                st.finish(NONE)
                return
            self.step += 1
        elif self.step == 3:
            if self.bump != 0:
                self.bump -= 1
                return
            self.attempt += 1
            self.step = 1
        st.probe = 0 if st.probe == 1 else 1


class Rounds(Method):
    """radargun and midarest: a round sends every definition once;
    rounds start ``wait_round`` apart, probes ``wait_probe`` apart; the
    wait after the last round is ``wait_timeout``."""

    def __init__(self, params: Any, st: State) -> None:
        super().__init__(params, st)
        self.order: list[int] = list(range(len(st.defs)))
        self.i = 0
        self.next_round = 0
        self.wait_probe = params.wait_probe_us * NS_PER_US
        self.wait_round = params.wait_round_us * NS_PER_US or self.wait_probe * len(st.defs)

    def reorder(self) -> None:
        """Between rounds: nothing for radargun without -O shuffle."""

    def postprobe(self) -> None:
        st = self.st
        if st.probe == 0:
            self.next_round = st.last_tx + self.wait_round
        st.probe += 1
        st.next_tx = st.last_tx + self.wait_probe
        if st.probe < len(st.defs):
            return
        st.probe = 0
        st.round += 1
        if st.round >= self.p.rounds:
            st.next_tx = st.last_tx + self.p.wait_timeout_us * NS_PER_US
            return
        st.next_tx = max(st.next_tx, self.next_round)
        self.reorder()

    def on_timeout(self, now: int) -> None:
        if self.st.round != self.p.rounds:
            self.st.queue(now)
        else:
            self.st.finish(NONE)


class Radargun(Rounds):
    def __init__(self, params: Any, st: State) -> None:
        super().__init__(params, st)
        self.shuffle = bool(params.flags & RadargunFlag.SHUFFLE)
        if self.shuffle:
            st.rng.shuffle(self.order)

    def next_def(self) -> Def:
        if not self.shuffle:
            return self.st.defs[self.st.probe]
        d = self.st.defs[self.order[self.i]]
        self.i += 1
        return d

    def reorder(self) -> None:
        if self.shuffle:
            self.st.rng.shuffle(self.order)
            self.i = 0

    def on_reply(self, probe: Probe, reply: Reply, now: int, dl: tuple[int, bytes] | None) -> None:
        d = probe.defn
        if reply.v6 and reply.ipid32 is None and d.pd.mtu and dl is not None \
                and d.pd.mtu < dl[0]:
            self.st.ptbq.append((d, dl[1]))
            self.st.queue(now)


class Midarest(Rounds):
    """Each address's definitions are shuffled among the slots that address
    has in the round, so probes to one address stay evenly spaced."""

    def __init__(self, params: Any, st: State) -> None:
        super().__init__(params, st)
        first = st.defs[0].dst
        self.addrc = next((i for i, d in enumerate(st.defs) if i and d.dst == first),
                          len(st.defs))
        self.reorder()

    def next_def(self) -> Def:
        d = self.st.defs[self.order[self.i]]
        self.i += 1
        return d

    def reorder(self) -> None:
        self.i = 0
        n = len(self.st.defs)
        per = n // self.addrc
        for a in range(self.addrc):
            slots = [a + self.addrc * j for j in range(per)]
            ids = list(slots)
            self.st.rng.shuffle(ids)
            for s, v in zip(slots, ids, strict=True):
                self.order[s] = v


class Midardisc(Method):
    """Round i probes definitions begin..end (inclusive, as scamper's
    schedule arithmetic has it) spread evenly from the round's start (the
    schedule's offsets from the measurement's start).

    scamper's parser accepts ``end`` equal to the number of definitions, and
    its prober then reads one definition past its array; here a round ends
    at the last definition instead."""

    def __init__(self, params: Any, st: State) -> None:
        super().__init__(params, st)
        self.start = 0          # when the measurement started (or -@ said to)
        self.finish_at = 0

    def _span(self, r: Any, length: int) -> int:
        """When the round's last probe is due, after its first."""
        end = self._end(r)
        if r.begin < end:
            return length // (end - r.begin + 1) * (end - r.begin)
        return 0

    def _end(self, r: Any) -> int:
        return min(r.end, len(self.st.defs) - 1)

    def postprobe(self) -> None:
        st = self.st
        sched = self.p.sched
        r = sched[st.round]
        end = self._end(r)
        if st.probe == 0 and st.round == 0:
            self.finish_at = self.start + self._span(r, sched[1].start_us * NS_PER_US)
        if st.probe < end:
            st.probe += 1
            if st.last_tx >= self.finish_at:
                st.next_tx = st.last_tx
            elif st.probe < end:
                st.next_tx = st.last_tx + (self.finish_at - st.last_tx) // (end - st.probe + 1)
            else:
                st.next_tx = self.finish_at
            return
        st.round += 1
        if st.round == len(sched):
            st.next_tx = st.last_tx + self.p.wait_timeout_us * NS_PER_US
            return
        r = sched[st.round]
        st.probe = r.begin
        st.next_tx = self.start + r.start_us * NS_PER_US
        if st.round + 1 < len(sched):
            length = (sched[st.round + 1].start_us - r.start_us) * NS_PER_US
        else:
            length = (r.start_us - sched[st.round - 1].start_us) * NS_PER_US
        self.finish_at = st.next_tx + self._span(r, length)

    def on_timeout(self, now: int) -> None:
        if self.st.round != len(self.p.sched):
            self.st.queue(now)
        else:
            self.st.finish(NONE)
