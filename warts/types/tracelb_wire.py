"""Reading and writing tracelb records (scamper_tracelb_warts.c).

The layout tables are in :mod:`warts.types.tracelb`.  Reading mirrors
scamper's reader, checks included:

| check | scamper's reader |
|---|---|
| record has a dst (flag 22 or GID 4) | rejects it otherwise (20211212 also wanted src) |
| link ``from`` < nodec, ``to`` < nodec when present | rejects the record |
| each node's linkc equals the links whose ``from`` is that node | rejects the record |
| each reply has a source (flag 11 or GID 10) | rejects the record |
| each node has an address | 20211212 only: 20260420 accepts address-less nodes, |
| | so records holding them cannot be read by Debian's 20211212 tools |

Every block is read by a reader compiled from its ParamTable below
(:func:`~warts.wire.fast_reader`): the shapes scamper writes then take one
struct unpack each, as the hand-written fast paths this replaced did.
"""

from __future__ import annotations

from typing import Any

from ..compiled import dict_reader, fast_reader, field_names
from ..compiled_write import fast_writer
from ..errors import WartsError
from ..fastobj import constructor
from ..wire import (
    ADDR,
    ADDR_STATIC,
    GID,
    ICMPEXT,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U32,
    Cursor,
    Out,
    ParamTable,
    Tuple,
)
from .tracelb import (
    Tracelb,
    TracelbLink,
    TracelbNode,
    TracelbProbe,
    TracelbProbeset,
    TracelbReply,
)

# --------------------------------------------------------------------------
# Reading


# Decoding builds thousands of probes and replies per record: they are made
# through warts.fastobj (fields in declaration order), not the dataclass
# __init__.
_new_reply = constructor(TracelbReply)
_new_probe = constructor(TracelbProbe)
_new_probeset = constructor(TracelbProbeset)
_new_node = constructor(TracelbNode)
_new_link = constructor(TracelbLink)
_new_tracelb = constructor(Tracelb)


_GID = U32  # a deprecated global address id, resolved after reading

PARAMS = ParamTable(
    (1, "list_id", U32),
    (2, "cycle_id", U32),
    (3, "src_gid", _GID),
    (4, "dst_gid", _GID),
    (5, "start", TIMEVAL),
    (6, "sport", U16),
    (7, "dport", U16),
    (8, "probe_size", U16),
    (9, "type", U8),
    (10, "firsthop", U8),
    (11, "wait_timeout", U8),
    (12, "wait_probe", U8),
    (13, "attempts", U8),
    (14, "confidence", U8),
    (15, "tos", U8),
    (16, "nodec", U16),
    (17, "linkc", U16),
    (18, "probec", U32),
    (19, "probec_max", U32),
    (20, "gaplimit", U8),
    (21, "src", ADDR),
    (22, "dst", ADDR),
    (23, "userid", U32),
    (24, "flags", U8),
    (25, "rtr", ADDR_STATIC),
    (26, "errmsg", STRING),
)


# The blocks below a record, in flag order (see the layout table in
# warts.types.tracelb).  A deprecated GID fills the same field as the address
# that replaced it, the later flag winning as in scamper's reader.

NODE = ParamTable(
    (1, "addr", GID),
    (2, "flags", U8),
    (3, "linkc", U16),
    (4, "q_ttl", U8),
    (5, "addr", ADDR),
    (6, "name", STRING),
)

LINK = ParamTable(
    (1, "from_", U16),
    (2, "to", U16),
    (3, "hopc", U8),
)

PROBESET = ParamTable(
    (1, "probec", U16),
)

PROBE = ParamTable(
    (1, "tx", TIMEVAL),
    (2, "flowid", U16),
    (3, "ttl", U8),
    (4, "attempt", U8),
    (5, "rxc", U16),
)

REPLY = ParamTable(
    (1, "reply_rx", TIMEVAL),
    (2, "reply_ipid", U16),
    (3, "reply_ttl", U8),
    (4, "reply_flags", U8),
    (5, "reply_icmp_type,reply_icmp_code", Tuple("BB")),
    (6, "reply_tcp_flags", U8),
    (7, "reply_icmp_exts", ICMPEXT),
    (8, "reply_icmp_q_ttl", U8),
    (9, "reply_icmp_q_tos", U8),
    (10, "reply_from", GID),
    (11, "reply_from", ADDR),
)


_read_params = dict_reader(PARAMS)
# Each reads into its constructor's field order; a count takes the slot of
# the tuple it counts (the last field) or, for nodes, an extra one.
_read_node_values = fast_reader(NODE, (*field_names(TracelbNode), "linkc"))
_read_link_values = fast_reader(LINK, (*field_names(TracelbLink)[:-1], "hopc"))
# scamper's reader rejects a reply without a source address
_read_reply = fast_reader(REPLY, field_names(TracelbReply), _new_reply,
                          {"reply_from": "tracelb reply without a source address"})


def _read_node(cur: Cursor) -> tuple[TracelbNode, int]:
    v = _read_node_values(cur)
    linkc = v.pop()
    return _new_node(*v), linkc or 0


# A probe is followed by its rxc replies, a probeset by its probec probes.
_read_probe = fast_reader(PROBE, (*field_names(TracelbProbe)[:-1], "rxc"), _new_probe,
                          nested=("rxc", _read_reply))
_read_probeset = fast_reader(PROBESET, ("probec",), _new_probeset,
                             nested=("probec", _read_probe))


def _read_link(cur: Cursor, nodec: int) -> TracelbLink:
    start = cur.pos
    frm, to, hopc = _read_link_values(cur)
    frm = frm or 0
    # scamper's checks: both ends must name a node read before the links
    if frm >= nodec:
        raise cur.error(f"tracelb link from node {frm} of {nodec}", start)
    if to is not None and to >= nodec:
        raise cur.error(f"tracelb link to node {to} of {nodec}", start)
    sets = tuple([_read_probeset(cur) for _ in range(hopc or 0)])
    return _new_link(frm, to, sets)


def decode(cur: Cursor) -> Tracelb:
    vals: dict[str, Any] = _read_params(cur)
    st = cur.state
    lst = st.get_list(vals.pop("list_id", 0), cur)
    cyc = st.get_cycle(vals.pop("cycle_id", 0), cur)
    gid = vals.pop("src_gid", None)
    if gid is not None and "src" not in vals:
        vals["src"] = st.get_addr(gid, cur)
    gid = vals.pop("dst_gid", None)
    if gid is not None and "dst" not in vals:
        vals["dst"] = st.get_addr(gid, cur)
    if vals.get("dst") is None:
        raise cur.error("tracelb without a destination address")
    nodec = vals.pop("nodec", 0)
    linkc = vals.pop("linkc", 0)
    if nodec + linkc > cur.remaining():
        raise cur.error(f"tracelb claims {nodec} nodes and {linkc} links, "
                        "more than the bytes left")
    nodes = []
    want = []
    for _ in range(nodec):
        node, n = _read_node(cur)
        nodes.append(node)
        want.append(n)
    links = tuple([_read_link(cur, nodec) for _ in range(linkc)])
    # scamper attaches each link to its "from" node and insists the number
    # attached equals that node's linkc parameter.
    have = [0] * nodec
    for link in links:
        have[link.from_] += 1
    if have != want:
        bad = next(i for i in range(nodec) if have[i] != want[i])
        raise cur.error(f"tracelb node {bad} declares {want[bad]} links, "
                        f"{have[bad]} leave it")
    return _new_tracelb(list=lst, cycle=cyc, nodes=tuple(nodes), links=links, **vals)


# --------------------------------------------------------------------------
# Writing


# Each block is written by a writer compiled from the table it is read with;
# the counts are passed in, from the tuples they count.
# (the deprecated global ids are read as plain integers and never written)
_write_params = fast_writer(PARAMS, Tracelb, extra=("list_id", "cycle_id", "src_gid", "dst_gid",
                                                    "nodec", "linkc"))
_write_node = fast_writer(NODE, TracelbNode, extra=("linkc",))
_write_link_params = fast_writer(LINK, TracelbLink, extra=("hopc",))
_write_probeset = fast_writer(PROBESET, TracelbProbeset, extra=("probec",))
_write_probe = fast_writer(PROBE, TracelbProbe, extra=("rxc",))
_write_reply = fast_writer(REPLY, TracelbReply,
                           required={"reply_from": "tracelb reply without a source address"})


def _write_link(out: Out, link: TracelbLink, nodec: int) -> None:
    if not 0 <= link.from_ < nodec or (link.to is not None and not 0 <= link.to < nodec):
        raise WartsError(f"tracelb link {link.from_}->{link.to} names a node "
                         f"outside 0..{nodec - 1}")
    if len(link.sets) > 255:
        raise WartsError("a tracelb link holds at most 255 probesets")
    _write_link_params(out, link, len(link.sets))
    for ps in link.sets:
        if len(ps.probes) > 0xFFFF:
            raise WartsError("a tracelb probeset holds at most 65535 probes")
        _write_probeset(out, ps, len(ps.probes))
        for p in ps.probes:
            if len(p.rxs) > 0xFFFF:
                raise WartsError("a tracelb probe holds at most 65535 replies")
            _write_probe(out, p, len(p.rxs))
            for r in p.rxs:
                _write_reply(out, r)


def encode(rec: Tracelb, out: Out) -> None:
    if rec.dst is None:
        raise WartsError("a tracelb record needs a destination address")
    if len(rec.nodes) > 0xFFFF or len(rec.links) > 0xFFFF:
        raise WartsError("a tracelb record holds at most 65535 nodes and 65535 links")
    st = out.state
    _write_params(out, rec, st.list_id(rec.list), st.cycle_id(rec.cycle), None, None,
                  len(rec.nodes), len(rec.links))
    linkc = [0] * len(rec.nodes)
    for link in rec.links:
        if 0 <= link.from_ < len(linkc):
            linkc[link.from_] += 1
    for node, n in zip(rec.nodes, linkc, strict=True):
        _write_node(out, node, n)
    for link in rec.links:
        _write_link(out, link, len(rec.nodes))
