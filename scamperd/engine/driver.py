"""The trio driver around the scheduler: the shared probe engine.

Theory of operation
-------------------
:class:`Engine` owns one :class:`~scamperd.engine.scheduler.Scheduler` and
drives it from one trio task: it sleeps until the scheduler's next wakeup or
until poked (a reply made work due, a command came in), then runs it, which
sends every probe that is due through the packet I/O, with no await per
packet, and then has the packet I/O hand over the replies that came in
meanwhile (:meth:`PacketIO.drain`) before it sleeps again.

The packet I/O (scamperd/engine/packetio.py) is the real sockets by default
(io.RawIO) or a fake network; the engine reads the time from the packet
I/O's clock, so deadlines and reply timestamps share one time base.  The
engine is also the :class:`~scamperd.engine.task.Host` that methods'
factories see: the network facts are the packet I/O's (``net``), the datalink
view and PTR lookups from the engine.

Tasks that need replies before IP reassembly (ping ``-M``/``-O tbt``) ask
with :meth:`Engine.want_datalink`; the packet I/O then reads the datalink
too, and what it sees there goes to those tasks only (marked ``Reply.dl``),
so no other task gets a reply twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from .dns import Resolver
from .io import RawIO
from .packetio import PacketIO, Receiver
from .packets import IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, Reply
from .scheduler import Scheduler, achieved_pps, reply_keys
from .task import MatchKey, Network


class Engine:
    """The shared probe engine: one scheduler, the packet I/O, the trio tasks."""

    def __init__(self, *, pps: int = 20, window: int = 0,
                 io: PacketIO | None = None) -> None:
        self.io: PacketIO = io if io is not None else RawIO()
        self.clock = self.io.clock
        self.net: Network = self.io.net  # the Host's network facts
        self.sched = Scheduler(send=self.io.send, on_finished=self._finished,
                               pps=pps, window=window, drain=self.io.drain)
        self._wake = trio.Event()
        # When the driver means to wake next (epoch ns; None: not until poked),
        # so a reply wakes it only when it makes something due sooner.
        self._planned: int | None = None
        # finished tasks go here with the fault, if any (sources use this)
        self._watch: dict[object, Callable[[Any, BaseException | None], None]] = {}
        # tasks reading the datalink, and how many of them want each key
        self._dl_tasks: dict[object, tuple[MatchKey, ...]] = {}
        self._dl_keys: dict[MatchKey, int] = {}
        # PTR lookups (trace -O ptr); the control session sets its nameserver
        self.resolver = Resolver()

    def want_datalink(self, task: object, keys: tuple[MatchKey, ...]) -> None:
        """Give ``task`` the replies the datalink sees under ``keys`` (as
        :class:`Reply` with ``dl`` set), until it finishes."""
        if task in self._dl_tasks:
            return
        self._dl_tasks[task] = keys
        for k in keys:
            self._dl_keys[k] = self._dl_keys.get(k, 0) + 1
        self.io.datalink(True)

    def _drop_datalink(self, task: object) -> None:
        for k in self._dl_tasks.pop(task, ()):
            n = self._dl_keys.get(k, 0) - 1
            if n > 0:
                self._dl_keys[k] = n
            else:
                self._dl_keys.pop(k, None)
        if not self._dl_tasks:
            self.io.datalink(False)  # nobody reads it any more: stop seeing every frame

    def _dl_reply(self, reply: Reply, now: int) -> bool:
        """A reply the datalink saw: to the tasks reading it, if one wants it."""
        wanted = self._dl_keys
        if wanted and any(k in wanted for k in reply_keys(reply)):
            self.sched.reply(reply, now)
            return True
        return False

    def watch(self, task: Any, cb: Callable[[Any, BaseException | None], None]) -> None:
        """Call ``cb(task, fault)`` when ``task`` finishes; ``fault`` is the
        exception it raised if the scheduler ended it for one."""
        self._watch[task] = cb

    def forget(self, task: object) -> None:
        """A task that was built but will never run: drop what was
        registered for it (its watch, its datalink interest)."""
        self._watch.pop(task, None)
        if self._dl_tasks:
            self._drop_datalink(task)

    def _finished(self, task: object, fault: BaseException | None = None) -> None:
        if self._dl_tasks:
            self._drop_datalink(task)
        watcher = self._watch.pop(task, None)
        if watcher is not None:
            watcher(task, fault)

    def _replies_handled(self) -> None:
        """Wake the driver if the replies just handed over made something
        due before it planned to wake: a probe to send, a window slot or a
        held task freed by a task that finished.  Most replies only settle a
        probe (a ping then waits for its next probe or its timeout as
        before), and waking the driver for nothing costs a trio reschedule,
        a scheduler pass and a fresh timeout per reply."""
        t = self.sched.next_wakeup(self.clock.now())
        planned = self._planned
        if t is not None and (planned is None or t < planned):
            self._wake.set()

    def counters(self, queued: int = 0) -> dict[str, int | float]:
        """What ``stats`` reports (protocol.replies.STATS_KEYS): probes and
        replies, the rate achieved against the rate asked for, what was
        given up or lost, and the tasks waiting (``queued``, the caller's
        count) and running."""
        st = self.sched.stats
        return {"probes": st.probes_sent, "replies": st.replies,
                "pps": achieved_pps(st), "target-pps": self.sched.pps,
                "slots-skipped": st.slots_skipped, "kernel-drops": self.io.kernel_drops,
                "malformed": self.io.malformed, "send-errors": st.send_errors,
                "tasks-queued": queued, "tasks-active": self.sched.active}

    def overloaded(self) -> str | None:
        """Why the rate asked for was not held or replies were lost (None:
        neither), in words for a one-shot run's stderr."""
        c = self.counters()
        if not c["slots-skipped"] and not c["kernel-drops"]:
            return None
        return (f"could not hold -p {c['target-pps']}: {c['probes']} probes at "
                f"{c['pps']:.0f} pps, {c['slots-skipped']} send slots skipped, "
                f"{c['kernel-drops']} replies dropped by the kernel")

    def poke(self) -> None:
        """Something changed (a new command, a halt): run the scheduler soon."""
        self._wake.set()

    # -- the Host interface (scamperd.engine.task.Host) the factories see ------

    def ptr(self, addr: bytes, callback: Callable[[str | None], None]) -> bool:
        return self.resolver.ptr(addr, callback)

    def listen_for(self, v6: bool, proto: int) -> None:
        """Replies to a probe of ``proto`` come back as that protocol or as
        ICMP errors, so both are read."""
        self.io.listen(v6, IPPROTO_ICMPV6 if v6 else IPPROTO_ICMP)
        if proto in (IPPROTO_TCP, IPPROTO_UDP):
            self.io.listen(v6, proto)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the packet I/O and drive the scheduler until cancelled."""
        io = self.io
        io.open()
        receiver = Receiver(self.sched.reply, self._dl_reply, self._replies_handled)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(io.run, receiver)
                await nursery.start(self.resolver.run)
                task_status.started()
                sched = self.sched
                now = self.clock.now
                trio_time = self.clock.trio_time
                while True:
                    sched.run(now())
                    io.drain()
                    at = now()
                    t = sched.next_wakeup(at)
                    x = io.expire(at)
                    if x is not None and (t is None or x < t):
                        t = x
                    self._planned = t
                    deadline = trio_time(t) if t is not None else float("inf")
                    with trio.move_on_at(deadline):
                        await self._wake.wait()
                    self._wake = trio.Event()
        finally:
            io.close()
