"""What a branch's probes at a hop mean, once that hop is probed enough.

scamper's tracelb_process_probes(), _hops(), _clump() and _perpacket():
:func:`process_probes` looks at the replies the branch's probes drew and
chooses how to go on:

* every flow answered once, from one interface per flow, one next hop:
  record the link and probe on (:func:`process_hops`);
* more than one next hop, seen while hop probing: first test the router for
  per-packet balancing (:func:`process_perpacket`), then record the links;
* a flow answered from two interfaces, a probe answered twice, a flow never
  answered, or a per-packet test that failed: record the hop as a clump
  (:func:`process_clump`), a link hop with no single far end.
"""

from __future__ import annotations

from .core import Branch, Mode, NewNode, SentProbe, State
from .graph import LbProbe, Link, Node, Path, PathLink, isloop_addr, link_continue, reply_node_key

_HOPPROBE_MODES = (Mode.HOPPROBE, Mode.FIRSTHOP, Mode.CLUMP)
_BRINGFWD_MODES = (Mode.BRINGFWD, Mode.BRINGFWD0)


def process_probes(st: State, br: Branch, now: int) -> None:
    """tracelb_process_probes()."""
    st.unset_active(br)
    n = c = x = 0
    hopprobe = False
    flowid = br.probes[0].probe.flowid
    addr: bytes | None = None
    for pr in br.probes:
        probe = pr.probe
        if probe.flowid != flowid:
            # a flow that drew nothing, whatever the attempts
            if x == 0 and hopprobe:
                n += 1
            flowid = probe.flowid
            x = 0
            hopprobe = False
            addr = None
        if pr.mode in _HOPPROBE_MODES:
            hopprobe = True
            if probe.rxs:
                x += 1
            if len(probe.rxs) > 1:
                c += 1
            if len(probe.rxs) == 1:
                src = probe.rxs[0].src
                if addr is None:
                    addr = src
                elif addr != src:
                    c += 1
    if x == 0 and hopprobe:
        n += 1

    if br.mode == Mode.PERPACKET:
        mode = Mode.CLUMP if (br.k <= st.k(2) or c > 0 or n > 0) else Mode.HOPPROBE
    elif c > 0 or n > 0:
        mode = Mode.CLUMP
    elif len(br.newnodes) > 1:
        mode = Mode.PERPACKET if br.mode == Mode.HOPPROBE else Mode.CLUMP
    else:
        mode = Mode.HOPPROBE

    if mode == Mode.HOPPROBE:
        process_hops(st, br)
    elif mode == Mode.CLUMP:
        process_clump(st, br)
    else:
        br.mode = Mode.PERPACKET
        br.reset()
        br.next_tx = br.last_tx + st.p.wait_probe
        st.set_active(br)
    st.queue(now)


def _from_node(st: State, br: Branch, path0: Path | None) -> Node | None:
    if br.mode == Mode.FIRSTHOP:
        return st.nodes[0]
    if br.mode == Mode.CLUMP:
        return None
    assert path0 is not None
    return path0.reaching_link().link.to


def _flow_runs(probes: list[SentProbe]) -> list[tuple[int, int, list[SentProbe]]]:
    """The runs of consecutive probes with one flow id, as (k, end, hops):
    ``probes[k:end]`` is what scamper records for the run (it steps ``k``
    over each bring-forward probe, wherever in the run it lies) and ``hops``
    the run's probes that are not bring-forward ones."""
    runs = []
    start = 0
    for j in range(1, len(probes) + 1):
        if j == len(probes) or probes[j].probe.flowid != probes[start].probe.flowid:
            run = probes[start:j]
            hops = [pr for pr in run if pr.mode not in _BRINGFWD_MODES]
            runs.append((start + len(run) - len(hops), j, hops))
            start = j
    return runs


def process_hops(st: State, br: Branch) -> None:
    """tracelb_process_hops(): record a link to each next hop found, and
    queue the segments to probe past them."""
    path0 = br.path
    from_ = _from_node(st, br, path0)
    for nn in br.newnodes:
        to = st.find_node(nn.node.key())
        if to is None:
            to = nn.node
            st.add_node(to)
            splice = False
        else:
            splice = True

        if br.mode != Mode.CLUMP:
            assert from_ is not None
            link = Link(from_, to)
        else:
            assert path0 is not None
            link = path0.last().link
            link.to = to

        # Record with the link every probe of each flow one of whose
        # attempts this node answered; keep for later use the flows that
        # drew only time-exceeded messages.
        to_key = to.key()
        probeset: list[LbProbe] = []
        flowids: list[tuple[int, int]] = []
        for k, end, hops in _flow_runs(br.probes):
            record = False
            timxceed = True
            for pr in hops:
                rxs = pr.probe.rxs
                if rxs and reply_node_key(rxs[0]) == to_key:
                    record = True
                    if not rxs[0].is_ttl_exp():
                        timxceed = False
            if record:
                if timxceed and k < end and br.probes[k].mode != Mode.PERPACKET:
                    first = br.probes[k].probe
                    flowids.append((first.flowid, first.ttl))
                probeset.extend(br.probes[i].probe for i in range(k, end))
        link.sets.append(probeset)
        if link.hopc == 1:
            st.add_record_link(link)

        if br.mode == Mode.FIRSTHOP:
            newp = st.graph.new_path()
            tlbl = st.graph.add_link(link, newp)
            newp.links.append(tlbl)
        elif br.mode == Mode.CLUMP:
            assert path0 is not None
            tlbl = path0.last()
            tlbl.flowids_inc()
            newp = path0
        elif len(br.newnodes) == 1:
            assert path0 is not None
            tlbl = st.graph.add_link(link, path0)
            path0.links.append(tlbl)
            newp = path0
        else:
            assert path0 is not None
            newp = st.graph.new_path()
            tlbl = st.graph.add_link(link, newp)
            newp.links.append(tlbl)
            newp.add_back(path0)
            newp.distance = path0.distance + 1
        tlbl.add_flowids(flowids)

        if not link_continue(st.p.dst, newp, link):
            continue
        if not splice:
            st.add_path(newp)
        else:
            st.graph.splice_by_node(newp)
    br.detach()


def _gap_halts(st: State, link: Link) -> bool:
    """Whether a clump running into silence has reached the gap limit."""
    if st.p.gaplimit < 2:
        return True
    if link.to is not None or link.hopc + 1 < st.p.gaplimit:
        return False
    k = 1
    for i in range(link.hopc, 0, -1):
        if k == st.p.gaplimit:
            break
        if not any(probe.rxs for probe in link.sets[i - 1]):
            k += 1
    return k == st.p.gaplimit


def process_clump(st: State, br: Branch) -> None:
    """tracelb_process_clump(): record this hop as one more hop of a link
    with no single far end, and go on one hop further unless the clump
    loops, answers with something other than time exceeded, or has been
    silent for ``gaplimit`` hops."""
    path0 = br.path
    halt = False
    if path0 is None:
        # the first hop itself was a clump
        for nn in br.newnodes:
            if nn.node.key() == st.nodes[0].key():
                halt = True
        br.newnodes = []
        path0 = st.graph.new_path()
        br.path = path0
    elif br.newnodes:
        # the nodes only serve to see whether the clump loops
        for nn in br.newnodes:
            if not halt and isloop_addr(path0, nn.node.addr) is not None:
                halt = True
        br.newnodes = []
    elif path0.links:
        halt = _gap_halts(st, path0.last().link)

    flowids: list[tuple[int, int]] = []
    probeset: list[LbProbe] = []
    for k, end, hops in _flow_runs(br.probes):
        for pr in hops:
            probeset.append(pr.probe)
            if not halt and any(not r.is_ttl_exp() for r in pr.probe.rxs):
                halt = True
        # the flow's first probe (bring-forward ones aside) carries it on
        if not halt and k < end and br.probes[k].mode != Mode.PERPACKET:
            first = br.probes[k].probe
            flowids.append((first.flowid, first.ttl))

    tlbl: PathLink | None = None
    if not path0.links or path0.last().link.to is not None:
        if path0.links:
            from_ = path0.last().link.to
        elif path0.back:
            from_ = path0.back[0].last().link.to
        else:
            from_ = st.nodes[0]
        assert from_ is not None
        link = Link(from_)
    else:
        tlbl = path0.last()
        link = tlbl.link
        tlbl.flowids_inc()
    link.sets.append(probeset)
    if link.hopc == 1:
        st.add_record_link(link)
        tlbl = st.graph.add_link(link, path0)
        path0.links.append(tlbl)

    if not halt:
        assert tlbl is not None
        tlbl.add_flowids(flowids)
        br.mode = Mode.CLUMP
        br.reset()
        br.next_tx = br.last_tx + st.p.wait_probe
        st.set_waiting(br)
    else:
        br.detach()


__all__ = ["NewNode", "process_clump", "process_hops", "process_probes"]
