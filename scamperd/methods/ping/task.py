"""The ping method: scamper's do_ping_* as a pure state machine.

Theory of operation
-------------------
Probe i (0..attempts-1) is sent as soon as the previous one's wait has
passed: ``next_action`` returns the probe, the engine reports its send time
through ``probe_sent``, and the task then waits ``-i`` (``-W`` after the last
probe).  When the wait after the last probe expires the ping is COMPLETED;
it stops early, also COMPLETED, once ``-o`` probes have at least one reply,
and with ERROR when a probe cannot be sent.  Times are integer ns.

Replies are matched to a probe number as scamper does (see
:func:`PingTask._match`): echo and timestamp replies by ICMP id and
sequence, ICMP errors by the quoted probe, and direct TCP/UDP replies by
port, or for fixed-port methods over IPv4 by the IP-ID looking back at most
five probes (the target may echo our IP-ID), else the latest probe.

scamper reads replies either from its ICMP socket or from a datalink socket
(always for TCP methods, and with ``-O dl``); the two paths record different
fields (see :data:`REPLY_PATHS`).  We read raw sockets, and record a
reply as the path scamper would have taken would record it; only ``-M``
(and so ``-O tbt``) reads the datalink itself (``Reply.dl``), because there
the size of a fragmented reply and the IPv6 fragment id matter.

Like scamper (``ping_dltx``), a ping with ``-r``, ``-M``, ``-O spoof`` or
``-O dltx`` sends on the datalink (``Probe.via``: the router, else the
destination) and takes its replies on the datalink path.

``-M pmtu``: the first echo (or timestamp) reply larger than ``pmtu`` is
quoted in an ICMP packet-too-big that goes to the destination before the
next probe (TTL 255), so that the destination lowers its path MTU towards
us and fragments later replies; the next probe then waits ``-i`` from the
PTB.  With ``-O tbt`` (IPv6) only replies that came fragmented count
towards ``-o``, and a first reply that is not an echo reply ends the ping.

``-y N`` streams: after every N-th probe the task hands an in-progress copy
of its record (stop reason INPROGRESS) to :attr:`PingTask.on_progress`.
"""

from __future__ import annotations

import builtins
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from protocol.commands.ping import PingCommand, PingFlag, PingMethod
from warts.address import ADDR_IPV4, ADDR_IPV6, Address
from warts.listcycle import CycleInfo, ListInfo
from warts.types.ping import (
    Ping,
    PingProbe,
    PingReply,
    PingReplyFlag,
    PingReplyTSReply,
    PingReplyV4TS,
    PingStop,
)
from warts.wire import Timeval

from ...engine.packets import (
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    Icmp4,
    Icmp6,
    Reply,
    build_icmp_ptb,
)
from ...engine.senderr import SendError
from ...engine.task import FINISHED, NS_PER_US, Action, MatchKey, Probe, SendProbe, Wait, timeval
from .match import match
from .probes import (
    EchoTemplate,
    ProbeFields,
    base_payload,
    build_probe,
    embeds_src,
    probe_proto,
    ptb_quote,
)
from .records import command_fields

M = PingMethod
RF = PingReplyFlag

# What each of scamper's receive paths records in a reply (do_ping_handle_icmp
# and do_ping_handle_dl):
#
# | field | ICMP socket | datalink |
# |---|---|---|
# | flags | probe's + REPLY_TTL, REPLY_TOS | probe's + REPLY_TTL, REPLY_TOS, DLRX |
# | (IPv4 only) | + REPLY_IPID | + REPLY_IPID |
# | proto | ICMP / ICMPv6 | the reply's |
# | tsreply | icmp-time replies | never |
# | RR, timestamps | IPv4 options of the reply | never |
# | replies before the probe's tx | kept | dropped |
REPLY_PATHS = ("icmp", "dl")

# What scamper 20260420 (built without --enable-debug, so its asserts are
# gone) records for an icmp-time ping to an IPv6 address: the probe reaches
# scamper_probe() as ICMP over IPv6, for which it has no sender (raw socket
# path) or no builder (datalink path); nothing is sent.
ICMP_TIME_V6_ERRMSG = {False: "no pr_dl and send_func", True: "no build_func"}

PTB = "ptb"  # Probe.ident of a packet-too-big we send (-M)

# PingFlag's bits as plain ints: ``PingFlag.X in flags`` goes through the
# enum machinery, ~0.3 us a test (profile of bench/daemon_bench's CPU batch).
_SPOOF, _DLTX, _DL = int(PingFlag.SPOOF), int(PingFlag.DLTX), int(PingFlag.DL)
_SOCKRX, _RAW, _TBT = int(PingFlag.SOCKRX), int(PingFlag.RAW), int(PingFlag.TBT)



_timeval = timeval


@dataclass(slots=True)
class _Sent:
    """scamper_ping_probe_t: one sent probe and its replies."""

    tx: int                   # ns
    ipid: int
    sport: int                # recorded sport (scamper records it only from probe 1 on)
    flags: int
    replies: builtins.list[PingReply] = field(default_factory=list)


class PingTask:
    """One ping measurement (see the module docstring)."""

    def __init__(self, command: PingCommand, *, src: bytes, list: ListInfo | None = None,
                 cycle: CycleInfo | None = None, rng: random.Random | None = None,
                 ifname: Callable[[int], str | None] | None = None,
                 real_src: bytes | None = None,
                 on_progress: Callable[[Ping], None] | None = None,
                 setup_error: tuple[int, str] | None = None) -> None:
        self.cmd = command
        # (errno, errmsg): the ping fails before its first probe, as
        # scamper's does when it cannot open its sockets (a -S address that
        # is not ours, without -O spoof)
        self.setup_error = setup_error
        self.dst = command.dst.packed
        self.src = src
        self.v6 = len(self.dst) == 16
        self.list = list
        self.cycle = cycle
        self.rng = rng if rng is not None else random.Random()
        self._ifname = ifname
        self.proto = probe_proto(command, self.v6)
        self.method = command.method
        # -O spoof embeds the address we really have (``real_src``; the
        # factory asks the kernel for it) ahead of the payload
        self.real_src = real_src if real_src is not None else src
        # the payload every probe starts from; made when first needed, which
        # for icmp-echo is only for the first ping of a shape (EchoTemplate)
        self._base: bytes | None = None
        self.on_progress = on_progress
        self.sport = command.sport
        if self.sport == 0:
            # -F 0: scamper takes an OS-chosen port (TCP/UDP) or its pid (ICMP);
            # we draw one, keeping a run of varying ports below 65536.
            if command.is_icmp:
                self.sport = self.rng.randrange(1, 0x10000)
            else:
                self.sport = self.rng.randrange(0x8000, 0x10000 - command.attempts + 1)
        # Per-probe source ports for the *-sport methods.  scamper binds one
        # socket per probe and the OS picks ports after the first; we use
        # consecutive ports (the command grammar keeps sport + c - 1 valid).
        self.sports: tuple[int, ...] | None = None
        if command.is_vary_sport:
            self.sports = tuple(self.sport + i for i in range(command.attempts))
        # ping_dltx(): -r, -M, -O spoof and -O dltx transmit on the
        # datalink, towards the router if there is one.  The datalink path
        # (for replies too): TCP methods, -O dl, and those; -O sockrx keeps
        # ICMP replies on the socket path.
        cflags = int(command.flags)  # int tests: see _SPOOF
        self.spoof = bool(cflags & _SPOOF)
        self.dltx = (command.rtr is not None or command.pmtu != 0 or self.spoof
                     or bool(cflags & _DLTX))
        self.via: bytes | None = None
        if self.dltx:
            self.via = command.rtr.packed if command.rtr is not None else self.dst
        self.dl = command.is_tcp or bool(cflags & _DL) or self.dltx
        self.sockrx = bool(cflags & _SOCKRX)
        # scamper's datalink also sees the probes that leave through a socket
        # while it is open (not those it sends itself: Linux never loops a
        # packet socket's frames back to it): echo requests, UDP, and TCP
        # with -O raw.  It then records that time as the probe's (flag DLTX);
        # the kernel's transmit timestamp is that time.
        self.txts = self.dl and not self.dltx and (
            command.method is M.ICMP_ECHO or command.is_udp
            or (command.is_tcp and bool(cflags & _RAW) and not self.v6))
        # -M: replies are read on the datalink (before reassembly)
        self.dl_rx = command.pmtu != 0
        self.tbt = bool(cflags & _TBT)
        self.quote: bytes | None = None  # a reply to quote in a PTB (-M)
        self._echo: EchoTemplate | None = None  # icmp-echo probes (see _probe)

        self.start: Timeval | None = None
        self.probes: builtins.list[_Sent] = []
        self.replies = 0                # probes with at least one reply
        self.next_tx: int | None = None  # when the next probe is due
        self.deadline: int | None = None  # end of the wait after the last probe
        self.stop_reason = PingStop.NONE
        self.stop_data = 0
        self.errmsg: str | None = None

    @property
    def base(self) -> bytes:
        """The payload every probe carries before per-probe fields (base_payload)."""
        if self._base is None:
            self._base = bytes(base_payload(self.cmd, self.v6,
                                            self.real_src if embeds_src(self.cmd) else b""))
        return self._base

    # -- the Task contract ------------------------------------------------

    def match_keys(self) -> Iterator[MatchKey]:
        """(proto, our ICMP id or source port, target): one per source port."""
        if self.sports is not None:
            for sp in self.sports:
                yield (self.proto, sp, self.dst)
        else:
            yield (self.proto, self.sport, self.dst)

    def next_action(self, now: int) -> Action:
        if self.stop_reason != PingStop.NONE:
            return FINISHED
        if self.start is None:
            self.start = _timeval(now)
            if self.setup_error is not None:
                self.stop_reason = PingStop.ERROR
                self.stop_data = self.setup_error[0] & 0xFF
                self.errmsg = self.setup_error[1]
                return FINISHED
            if self.v6 and self.cmd.method is M.ICMP_TIME:
                # there is no ICMPv6 timestamp request (see ICMP_TIME_V6_ERRMSG)
                self.stop_reason = PingStop.ERROR
                self.errmsg = ICMP_TIME_V6_ERRMSG[self.dltx]
                return FINISHED
        if self.quote is not None:
            assert self.via is not None
            packet = build_icmp_ptb(self.src, self.dst, self.cmd.pmtu, self.quote)
            return SendProbe(Probe(self.dst, packet, PTB, self.via))
        seq = len(self.probes)
        if seq < self.cmd.attempts:
            if self.next_tx is None or now >= self.next_tx:
                return SendProbe(self._probe(seq, now))
            return Wait(self.next_tx)
        assert self.deadline is not None
        if now >= self.deadline:
            self.stop_reason = PingStop.COMPLETED
            return FINISHED
        return Wait(self.deadline)

    def probe_sent(self, probe: Probe, tx: int, error: SendError | None = None) -> None:
        if probe.ident == PTB:
            self._ptb_sent(probe, tx, error)
            return
        f: ProbeFields = probe.ident
        if error is not None:
            self._stop_error(error)
            return
        if f.seq != len(self.probes) or self.stop_reason != PingStop.NONE:
            return  # a stale probe object; nothing of ours was outstanding
        flags = int(RF.PENDING)
        if not self.v6:
            flags |= RF.PROBE_IPID
        # scamper records the probe's sport only for the varying-sport
        # methods and only from the second probe on (``seq > 0``).
        sport = self.sports[f.seq] if self.sports is not None and f.seq > 0 else 0
        if probe.txts:
            # do_ping_handle_dl's outbound case: the datalink's time is the tx
            flags |= RF.DLTX
            self.probes.append(_Sent(probe.txts[0], f.ipid, sport, flags))
        else:
            self.probes.append(_Sent(tx, f.ipid, sport, flags))
        if self.cmd.stream and len(self.probes) % self.cmd.stream == 0 \
                and self.on_progress is not None:
            self.on_progress(self.result(PingStop.INPROGRESS))
        self._queue_wait(tx)

    def _queue_wait(self, tx: int) -> None:
        """The wait after a probe or a PTB sent at ``tx`` (do_ping_probe's queue:)."""
        if len(self.probes) < self.cmd.attempts:
            self.next_tx = tx + self.cmd.wait_probe_us * NS_PER_US
        else:
            self.deadline = tx + self.cmd.wait_timeout_us * NS_PER_US

    def _ptb_sent(self, probe: Probe, tx: int, error: SendError | None) -> None:
        self.quote = None
        if error is not None:
            self._stop_error(error)
            return
        self._queue_wait(tx)

    def receive_reply(self, reply: Reply, now: int) -> None:
        if self.stop_reason != PingStop.NONE or not self.probes:
            return
        if self.dl_rx != reply.dl:
            return  # -M reads the datalink only; everyone else never sees it
        got = match(self, reply)
        if got is None:
            return
        seq, path = got
        if (self.cmd.pmtu != 0 and reply.quote is None and reply.is_icmp
                and self.quote is None and reply.size > self.cmd.pmtu):
            # too big: have the destination told so before the next probe
            self.quote = ptb_quote(reply.raw, self.v6, reply.size)
        if seq >= len(self.probes):
            return
        probe = self.probes[seq]
        rx = reply.rx_ns or now
        # timevals: both ends truncated to microseconds before subtracting
        rtt = rx // NS_PER_US - probe.tx // NS_PER_US
        if path == "dl" and rtt < 0:
            return  # datalink: a reply cannot precede its probe
        probe.flags &= ~RF.PENDING
        rec = self._record(reply, probe, path, max(rtt, 0))
        probe.replies.append(rec)
        if len(probe.replies) == 1:
            if not self.tbt:
                self.replies += 1
            elif self.replies == 0 and not self._is_echo_reply(rec):
                # TBT wants fragmented echo replies; anything else ends it
                self.stop_reason = PingStop.COMPLETED
            elif (rec.flags or 0) & RF.REPLY_IPID:
                self.replies += 1  # only fragments carry an IPv6 IP-ID
        if self.cmd.stop_count != 0 and self.replies >= self.cmd.stop_count:
            self.stop_reason = PingStop.COMPLETED

    def halt(self) -> None:
        self.stop_reason = PingStop.HALTED

    def _is_echo_reply(self, rec: PingReply) -> bool:
        """SCAMPER_PING_REPLY_IS_ICMP_ECHO_REPLY."""
        if self.v6:
            return rec.proto == IPPROTO_ICMPV6 and rec.icmp_type == Icmp6.ECHO_REPLY
        return rec.proto == IPPROTO_ICMP and rec.icmp_type == Icmp4.ECHOREPLY

    def result(self, stop_reason: PingStop | None = None) -> Ping:
        """The record; ``stop_reason`` INPROGRESS gives a ``-y`` snapshot."""
        atype = ADDR_IPV6 if self.v6 else ADDR_IPV4
        probes = [PingProbe(i, _timeval(p.tx), p.ipid, p.sport, p.flags, tuple(p.replies))
                  for i, p in enumerate(self.probes) if p.replies]
        return Ping.build(
            start=self.start or Timeval(0, 0),
            ping_sent=len(self.probes), probes=probes, list=self.list, cycle=self.cycle,
            src=Address(atype, self.src),
            stop_reason=self.stop_reason if stop_reason is None else stop_reason,
            stop_data=self.stop_data, errmsg=self.errmsg, sport=self.sport,
            **command_fields(self.cmd))

    # -- probes ------------------------------------------------------------

    def _probe(self, seq: int, now: int) -> Probe:
        ipid = 0
        if not self.v6:
            # a random non-zero IP-ID; scamper tries three draws (and would
            # send 0 after three zeros, which we reproduce)
            for _ in range(3):
                ipid = self.rng.getrandbits(16)
                if ipid != 0:
                    break
        cmd = self.cmd
        sport = self.sports[seq] if self.sports is not None else self.sport
        dport = cmd.dport + seq if cmd.is_icmp or cmd.is_vary_dport else cmd.dport
        f = ProbeFields(seq, ipid, sport, dport & 0xFFFF)
        if self._echo is None and EchoTemplate.fits(cmd):
            self._echo = EchoTemplate.for_ping(cmd, self.src, self.dst, sport)
        if self._echo is not None:
            packet = self._echo.build(ipid, f.dport)
        else:
            packet = build_probe(cmd, self.src, self.dst, self.base, f, now)
        return Probe(self.dst, packet, f, self.via, [] if self.txts else None)

    def _stop_error(self, err: SendError) -> None:
        """ping_handleerror(): the send failed (the engine's message)."""
        if self.stop_reason != PingStop.NONE:
            return
        self.stop_reason = PingStop.ERROR
        self.stop_data = (err.errno or 0) & 0xFF
        self.errmsg = err.message

    # -- recording ---------------------------------------------------------

    def _record(self, r: Reply, probe: _Sent, path: str, rtt: int) -> PingReply:
        """A reply's fields as scamper's receive path records them."""
        flags = (probe.flags & ~RF.PENDING) | RF.REPLY_TTL
        atype = ADDR_IPV6 if self.v6 else ADDR_IPV4
        ipid32 = None
        tos = None
        icmp_type = icmp_code = nhmtu = None
        tcp_flags = None
        tsreply = v4rr = v4ts = None
        if r.is_icmp:
            icmp_type, icmp_code = r.icmp_type, r.icmp_code
            if r.is_ptb():
                nhmtu = r.icmp_nhmtu
        if path == "dl":
            flags |= RF.DLRX | RF.REPLY_TOS
            proto = r.proto
            tos = r.tos
            if r.proto == IPPROTO_TCP:
                tcp_flags = r.tcp_flags
            if not self.v6:
                ipid32 = r.ipid
                flags |= RF.REPLY_IPID
            elif r.frag_id >= 0:
                ipid32 = r.frag_id  # a fragmented reply's IPv6 identification
                flags |= RF.REPLY_IPID
        else:
            proto = IPPROTO_ICMPV6 if self.v6 else IPPROTO_ICMP
            if r.icmp_ts is not None and r.icmp_type == Icmp4.TSTAMPREPLY:
                tsreply = PingReplyTSReply(*r.icmp_ts)
            # the kernel always hands us the traffic class of an IPv6 reply,
            # which is when scamper records it
            tos = r.tos
            flags |= RF.REPLY_TOS
            if not self.v6:
                ipid32 = r.ipid
                flags |= RF.REPLY_IPID
                if r.rr:
                    v4rr = tuple(Address(ADDR_IPV4, a) for a in r.rr)
                if r.tsc_flag != -1 and r.ts_values is not None:
                    ips = (tuple(Address(ADDR_IPV4, a) for a in r.ts_addrs)
                           if r.ts_addrs is not None else None)
                    v4ts = PingReplyV4TS(tuple(r.ts_values), ips)
        ifname = self._ifname(r.ifindex) if self._ifname is not None and r.ifindex > 0 else None
        return PingReply(
            flags=flags, ttl=r.ttl, size=r.size, icmp_type=icmp_type, icmp_code=icmp_code,
            rtt=rtt, proto=proto, tcp_flags=tcp_flags, addr=Address(atype, r.src),
            v4rr=v4rr, v4ts=v4ts, ipid32=ipid32, tsreply=tsreply, tos=tos, ifname=ifname,
            icmp_nhmtu=nhmtu)
