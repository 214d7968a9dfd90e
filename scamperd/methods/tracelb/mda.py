"""MDA's events: choosing the next probe, a reply, a timeout.

scamper_tracelb_do.c's do_tracelb_probe() and tracelb_probe_vals(), the
handleicmp_* / handletcp_* reply handlers and the handletimeout_* handlers,
each a function of the :class:`~.core.State` and the time.  Each ends by
asking :meth:`State.queue` what comes next, as scamper's do.
"""

from __future__ import annotations

from collections.abc import Callable

from .core import Branch, BringFwd, LbError, Mode, NewNode, SentProbe, State, nlimit
from .graph import (
    LbProbe,
    LbReply,
    Node,
    PathLink,
    bringfwd_dft,
    node_for_reply,
    path_flowid,
    reply_node_key,
)
from .process import process_probes

# -- choosing the next probe ---------------------------------------------------


def next_probe(st: State) -> SentProbe:
    """do_tracelb_probe() up to the send: the branch due, and the flow id
    and TTL of its next probe.  The probe joins the state when sent
    (:func:`probe_sent`)."""
    br = st.take_branch()
    tpl = br.probes[-1] if br.probes else None
    tp = SentProbe(LbProbe(), br.mode, branch=br)
    probe = tp.probe
    if tpl is not None and not tpl.probe.rxs and tpl.probe.attempt + 1 < st.p.attempts:
        # no answer yet and attempts left: the same flow and TTL again
        probe.flowid = tpl.probe.flowid
        probe.ttl = tpl.probe.ttl
        probe.attempt = tpl.probe.attempt + 1
        tp.link = tpl.link
        tp.mode = tpl.mode
    elif br.mode == Mode.FIRSTADDR:
        probe.flowid = st.flowid_next
        probe.ttl = st.p.firsthop
    elif br.mode == Mode.FIRSTHOP:
        probe.flowid = _new_flowid(st)
        probe.ttl = st.p.firsthop + 1
    elif br.mode in (Mode.HOPPROBE, Mode.CLUMP):
        _probe_vals(st, br, tp)
    else:  # PERPACKET: the first next hop's flow, again
        first = br.newnodes[0].probe
        probe.flowid = first.flowid
        probe.ttl = first.ttl
    return tp


def _new_flowid(st: State) -> int:
    fid = st.flowid_next
    st.flowid_next = (fid + 1) & 0xFFFF
    return fid


def probe_sent(st: State, tp: SentProbe, tx: int, now: int) -> None:
    """The rest of do_tracelb_probe(): count it, file it, time the next."""
    br = tp.branch
    assert br is not None
    st.probec += 1
    tp.probe.tx = tx
    tp.id = st.id_next
    st.probes.append(tp)
    br.probes.append(tp)
    st.next_tx = tx + st.p.wait_probe
    br.last_tx = tx
    br.next_tx = tx + st.p.wait_timeout
    st.set_active(br)
    st.queue(now)


def _probe_vals(st: State, br: Branch, tp: SentProbe) -> None:
    """tracelb_probe_vals(): a flow id known to reach the segment, else one
    to bring forward through the segments before it, else a new one."""
    path0 = br.path
    assert path0 is not None
    probe = tp.probe
    got = path_flowid(path0)
    if got is not None:
        # a flow id was brought all the way forward
        for bf in br.bringfwd or ():
            bf.k = 0
        probe.flowid, probe.ttl = got
        if path0.links:
            tp.link = path0.last()
        elif path0.back:
            tp.link = path0.back[0].last()
        else:
            raise LbError("unexpected state in tracelb_probe_vals")
        return

    if not path0.back and len(st.nodes[0].links) == 1:
        # nothing splits before this segment: a brand-new flow id reaches it
        probe.ttl = st.p.firsthop + 1 + sum(pl.link.hopc for pl in path0.links)
        probe.flowid = _new_flowid(st)
        tp.link = path0.last()
        return

    if br.bringfwd is None or br.bringfwd[0].path is not path0:
        # the segments on the way to this one, this one first, root last
        st.graph.set_visited0()
        order: list = []
        bringfwd_dft(path0, order)
        order.sort(key=lambda p: -p.distance)
        br.bringfwd = [BringFwd(p) for p in order]
    for bf in br.bringfwd:
        bf.path.visited = 0

    tp.mode = Mode.BRINGFWD
    for bf in br.bringfwd[1:]:
        got = path_flowid(bf.path)
        if got is not None:
            probe.flowid, probe.ttl = got
            tp.link = bf.path.reaching_link()
            return

    # no flow id reaches any segment on the way: bring a new one forward
    probe.flowid = _new_flowid(st)
    probe.ttl = st.p.firsthop + 1
    if len(st.nodes[0].links) == 1:
        root = br.bringfwd[-1].path
        tp.link = root.last()
        probe.ttl += sum(pl.link.hopc for pl in root.links)
    else:
        tp.mode = Mode.BRINGFWD0
        tp.link = None


# -- replies -------------------------------------------------------------------


def handle_reply(st: State, pr: SentProbe, reply: LbReply, now: int) -> None:
    """Dispatch a reply matched to probe ``pr`` by the probe's mode
    (do_tracelb_handle_icmp / do_tracelb_handle_dl's tables)."""
    if pr.branch is None:
        return
    if reply.tcp:
        _TCP_HANDLERS[pr.mode](st, pr, reply, now)
    else:
        _ICMP_HANDLERS[pr.mode](st, pr, reply, now)


def _firstaddr(st: State, pr: SentProbe, reply: LbReply, now: int) -> None:
    """handleicmp_firstaddr(): the first interface; go on unless it is the
    destination or did not say time exceeded."""
    br = pr.branch
    assert br is not None
    if st.nodes:
        return
    st.unset_active(br)
    st.add_node(node_for_reply(reply))
    if not reply.is_ttl_exp() or reply.src == st.p.dst:
        br.detach()
        st.queue(now)
        return
    br.mode = Mode.FIRSTHOP
    br.reset()
    br.next_tx = br.last_tx + st.p.wait_probe
    st.set_waiting(br)
    st.queue(now)


def _tcp_firstaddr(st: State, pr: SentProbe, reply: LbReply, now: int) -> None:
    """handletcp_firstaddr(): the target answered at the first hop."""
    br = pr.branch
    assert br is not None
    if st.nodes:
        return
    st.unset_active(br)
    br.detach()
    st.add_node(Node(reply.src))
    st.queue(now)


def _hopprobe(st: State, pr: SentProbe, reply: LbReply, now: int) -> None:
    """hopprobe_handlereply(): note a next hop; process the hop once
    confidence is reached (or the destination answered alone)."""
    br = pr.branch
    assert br is not None
    pr.probe.rxs.append(reply)
    if br.probes[-1] is not pr or len(pr.probe.rxs) > 1:
        return
    if br.find_newnode(reply_node_key(reply)) is None:
        br.add_newnode(NewNode(node_for_reply(reply), pr.probe))
        if br.n == len(br.newnodes):
            br.n += 1
    st.unset_active(br)
    br.k += 1
    if (br.n >= 99 or (reply.src == st.p.dst and len(br.newnodes) < 2)
            or br.k >= st.k(br.n)):
        process_probes(st, br, now)
    else:
        br.next_tx = br.last_tx + st.p.wait_probe
        st.set_active(br)
        st.queue(now)


def _perpacket(st: State, pr: SentProbe, reply: LbReply, now: int) -> None:
    """handleicmp_perpacket(): one flow re-sent; an answer from another
    interface than the first next hop means per-packet balancing."""
    br = pr.branch
    assert br is not None
    first = br.newnodes[0].node
    pr.probe.rxs.append(reply)
    if len(pr.probe.rxs) == 1:
        br.k += 1
    process = False
    if first.key() != reply_node_key(reply):
        process = True
    elif len(pr.probe.rxs) == 1 and br.k == st.k(2):
        process = True
        br.k += 1
    if not process:
        st.unset_active(br)
        br.next_tx = br.last_tx + st.p.wait_probe
        st.set_active(br)
        st.queue(now)
    else:
        process_probes(st, br, now)


def _bringfwd(st: State, pr: SentProbe, reply: LbReply, now: int) -> None:
    """handleicmp_bringfwd(): did the flow come out where we want it?"""
    br = pr.branch
    assert br is not None
    pr.probe.rxs.append(reply)
    cpr = br.probes[-1]
    if pr.mode != cpr.mode or pr.probe.flowid != cpr.probe.flowid \
            or pr.probe.ttl != cpr.probe.ttl:
        return
    n_att = cpr.probe.attempt + 1
    if sum(len(p.probe.rxs) for p in br.probes[-n_att:]) != 1:
        return
    if pr.mode == Mode.BRINGFWD:
        from_ = pr.link.link.to if pr.link is not None else None
    else:
        from_ = st.nodes[0]
    tlbl = st.graph.find_link(from_, reply_node_key(reply)) if from_ is not None else None
    bad = True
    if tlbl is not None:
        tlbl.flowids.append((pr.probe.flowid, pr.probe.ttl))
        bad = not any(bf.path.links and bf.path.links[0] is tlbl for bf in br.bringfwd or ())
    live: Branch | None = br
    if pr.mode == Mode.BRINGFWD:
        if pr.link is not None and _bringfwd_set(st, br, pr.link, bad):
            process_probes(st, br, now)
            live = None
    else:
        br.bringfwd0 = br.bringfwd0 + 1 if bad else 0
        if br.bringfwd0 >= st.k(nlimit(len(st.nodes[0].links) + 2)):
            process_probes(st, br, now)
            live = None
    if live is not None:
        st.unset_active(live)
        live.next_tx = live.last_tx + st.p.wait_probe
        st.set_active(live)
    st.queue(now)


def _bringfwd_set(st: State, br: Branch, tlbl: PathLink, bad: bool) -> bool:
    """tracelb_bringfwd_set(): count a failed try at bringing a flow id past
    ``tlbl``'s segment (or reset the count); True: give up."""
    for bf in br.bringfwd or ():
        if bf.path is tlbl.path:
            if bad:
                bf.k += 1
                if bf.k >= st.k(nlimit(len(bf.path.fwd) + 2)):
                    return True
            else:
                bf.k = 0
            break
    return False


def _ignore(st: State, pr: SentProbe, reply: LbReply, now: int) -> None:
    """handletcp_perpacket(), and bring-forward probes answered by TCP."""
    del st, pr, reply, now


Handler = Callable[[State, SentProbe, LbReply, int], None]

_ICMP_HANDLERS: dict[Mode, Handler] = {
    Mode.FIRSTADDR: _firstaddr,
    Mode.FIRSTHOP: _hopprobe,
    Mode.HOPPROBE: _hopprobe,
    Mode.PERPACKET: _perpacket,
    Mode.BRINGFWD: _bringfwd,
    Mode.BRINGFWD0: _bringfwd,
    Mode.CLUMP: _hopprobe,
}
_TCP_HANDLERS: dict[Mode, Handler] = {
    Mode.FIRSTADDR: _tcp_firstaddr,
    Mode.FIRSTHOP: _hopprobe,
    Mode.HOPPROBE: _hopprobe,
    Mode.PERPACKET: _ignore,
    Mode.BRINGFWD: _ignore,
    Mode.BRINGFWD0: _ignore,
    Mode.CLUMP: _hopprobe,
}


# -- timeouts ------------------------------------------------------------------


def handle_timeout(st: State, now: int) -> None:
    """do_tracelb_handle_timeout(): the wait ran out.  Only when the last
    probe's last attempt went unanswered is that news; otherwise it is
    simply time for the next probe."""
    br = st.active
    if br is None:
        st.queue(now)
        return
    pr = br.probes[-1]
    if not pr.probe.rxs and pr.probe.attempt + 1 >= st.p.attempts:
        _TIMEOUT_HANDLERS[pr.mode](st, br, now)
        return
    st.queue(now)


def _timeout_firstaddr(st: State, br: Branch, now: int) -> None:
    """handletimeout_firstaddr(): the first hop is silent: record a node
    with no address and enumerate the next hop from it."""
    st.unset_active(br)
    st.add_node(Node(None))
    br.mode = Mode.FIRSTHOP
    br.reset()
    br.next_tx = br.last_tx + st.p.wait_probe
    st.set_waiting(br)
    st.queue(now)


def _timeout_hopprobe(st: State, br: Branch, now: int) -> None:
    """handletimeout_hopprobe(): a lost probe counts towards confidence."""
    br.l += 1
    if br.k + br.l >= st.k(br.n):
        process_probes(st, br, now)
    else:
        st.queue(now)


def _timeout_perpacket(st: State, br: Branch, now: int) -> None:
    process_probes(st, br, now)


def _timeout_bringfwd(st: State, br: Branch, now: int) -> None:
    """handletimeout_bringfwd(): an unanswered try counts as a failed one."""
    pr = br.probes[-1]
    if pr.mode == Mode.BRINGFWD:
        cancel = pr.link is not None and _bringfwd_set(st, br, pr.link, True)
    else:
        br.bringfwd0 += 1
        cancel = br.bringfwd0 >= st.k(nlimit(len(st.nodes[0].links) + 2))
    if cancel:
        process_probes(st, br, now)
    st.queue(now)


_TIMEOUT_HANDLERS: dict[Mode, Callable[[State, Branch, int], None]] = {
    Mode.FIRSTADDR: _timeout_firstaddr,
    Mode.FIRSTHOP: _timeout_hopprobe,
    Mode.HOPPROBE: _timeout_hopprobe,
    Mode.PERPACKET: _timeout_perpacket,
    Mode.BRINGFWD: _timeout_bringfwd,
    Mode.BRINGFWD0: _timeout_bringfwd,
    Mode.CLUMP: _timeout_hopprobe,
}
