"""DNS host records (warts type 0x0e): a DNS query, each attempt sent, and
the resource records of each response.

Layout (scamper/host/scamper_host_warts.c): the record's flags+params, then
``qcount`` queries, each a flags+params block followed by its ``ancount``
answer, ``nscount`` authority and ``arcount`` additional RR blocks.

| flag | field        | wire         | 20260420 writer writes it |
|------|--------------|--------------|---------------------------|
| 1    | list         | u32 list id  | if set                    |
| 2    | cycle        | u32 cycle id | if set                    |
| 3    | userid       | u32          | if non-zero               |
| 4    | src          | address      | if set                    |
| 5    | dst          | address      | if set (reader requires)  |
| 6    | start        | timeval      | always                    |
| 7    | flags        | u16          | if non-zero               |
| 8    | wait_timeout | u16 ms       | if non-zero               |
| 9    | stop         | u8           | if non-zero               |
| 10   | retries      | u8           | if non-zero               |
| 11   | qtype        | u16          | if non-zero               |
| 12   | qclass       | u16          | if non-zero               |
| 13   | qname        | string       | if set                    |
| 14   | qcount       | u8           | if non-zero               |
| 15   | ecs          | string       | if set                    |
| 16   | errmsg       | string       | if set                    |

Query blocks: 1 tx, 2 rx (timevals), 3 id, 4 ancount, 5 nscount, 6 arcount
(u16s), 7 rcode, 8 flags (u8s); each written when non-zero.

RR blocks: 1 class, 2 type (u16), 3 name (string, required), 4 ttl (u32),
5 data: a u16 data type, then by type

| type | data                                         | Python value   |
|------|----------------------------------------------|----------------|
| 1    | address (per-record table)                   | Address        |
| 2    | string                                       | str            |
| 3    | SOA: 1 mname, 2 rname (strings, required), 3 serial, 4 refresh,  | HostRRSoa |
|      | 5 retry, 6 expire, 7 minimum (u32s)                              |           |
| 4    | MX: 1 preference (u16), 2 exchange (string, required) | HostRRMx |
| 5    | TXT: 1 strc (u16), 2 strc strings of ``u8 len, bytes`` | HostRRTxt |
| 6    | OPT: 1 elemc (u16), 2 elemc elements of ``u16 code, u16 len, bytes`` | HostRROpt |
| 7    | SVCB: 1 priority (u16), 2 target (string), 3 paramc (u16),       | HostRRSvcb |
|      | 4 paramc params of ``u16 key, u16 len, bytes``                   |           |

The reader rejects data whose type is not the one scamper_host_rr_data_type()
gives for the RR's class and type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..address import Address
from ..errors import WartsError
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_HOST
from ..wire import ADDR, STRING, TIMEVAL, U8, U16, U32, Cursor, Custom, Out, ParamTable, Timeval
from .misc_common import (
    CYCLE,
    LIST,
)

FLAG_NORECURSE = 0x0001
FLAG_TCP = 0x0002
FLAG_NSID = 0x0004

CLASS_IN = 1
CLASS_CH = 3

TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_PTR = 12
TYPE_MX = 15
TYPE_TXT = 16
TYPE_AAAA = 28
TYPE_OPT = 41
TYPE_SVCB = 64
TYPE_HTTPS = 65

DATA_ADDR = 1
DATA_STR = 2
DATA_SOA = 3
DATA_MX = 4
DATA_TXT = 5
DATA_OPT = 6
DATA_SVCB = 7

_QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
           28: "AAAA", 43: "DS", 44: "SSHFP", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
           41: "OPT", 64: "SVCB", 65: "HTTPS"}
# scamper's rcode table lacks a comma after BADMODE, so BADMODE and BADNAME
# run together and the later names shift down by one; 12-15 are NULL, which
# glibc's printf shows as (null)
_RCODES = ("NoError", "FormErr", "ServFail", "NXDomain", "NotImp", "Refused", "YXDomain",
           "YXRRSet", "NXRRSet", "NotAuth", "NotZone", "DSOTYPENI", "(null)", "(null)",
           "(null)", "(null)", "BADVERS", "BADKEY", "BADTIME", "BADMODEBADNAME", "BADALG",
           "BADTRUNC", "BADCOOKIE")
_STOPS = ("NONE", "DONE", "TIMEOUT", "HALTED", "ERROR")


def rr_data_type(rclass: int, rtype: int) -> int:
    """scamper_host_rr_data_type(): which data an RR of this class and type
    carries, or -1."""
    if rclass == CLASS_IN:
        if rtype in (TYPE_NS, TYPE_CNAME, TYPE_PTR):
            return DATA_STR
        if rtype in (TYPE_A, TYPE_AAAA):
            return DATA_ADDR
        if rtype == TYPE_SOA:
            return DATA_SOA
        if rtype == TYPE_MX:
            return DATA_MX
        if rtype == TYPE_TXT:
            return DATA_TXT
        if rtype in (TYPE_SVCB, TYPE_HTTPS):
            return DATA_SVCB
    elif rclass == CLASS_CH and rtype == TYPE_TXT:
        return DATA_TXT
    if rtype == TYPE_OPT:
        return DATA_OPT
    return -1


def qtype_str(t: int) -> str:
    return _QTYPES.get(t, str(t))


def qclass_str(c: int) -> str:
    return "IN" if c == CLASS_IN else "CH" if c == CLASS_CH else str(c)


def rcode_str(r: int) -> str:
    return _RCODES[r] if r < len(_RCODES) else str(r)


# --------------------------------------------------------------------------
# RR data structures


@dataclass(frozen=True, slots=True)
class HostRRSoa:
    mname: str | None = None
    rname: str | None = None
    serial: int | None = None
    refresh: int | None = None
    retry: int | None = None
    expire: int | None = None
    minimum: int | None = None


@dataclass(frozen=True, slots=True)
class HostRRMx:
    preference: int | None = None
    exchange: str | None = None


@dataclass(frozen=True, slots=True)
class HostRRTxt:
    """``strs`` is None when its parameter is absent; otherwise it holds
    ``strc`` strings (each under 256 bytes)."""

    strc: int | None = None
    strs: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class HostRROptElem:
    code: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class HostRROpt:
    elemc: int | None = None
    elems: tuple[HostRROptElem, ...] | None = None


@dataclass(frozen=True, slots=True)
class HostRRSvcbParam:
    key: int
    val: bytes = b""


@dataclass(frozen=True, slots=True)
class HostRRSvcb:
    priority: int | None = None
    target: str | None = None
    paramc: int | None = None
    params: tuple[HostRRSvcbParam, ...] | None = None


RRData = Address | str | HostRRSoa | HostRRMx | HostRRTxt | HostRROpt | HostRRSvcb


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _check_before(cur: Cursor) -> None:
    # txt_strs_extract / opt_elems_extract / svcb_params_extract refuse to
    # start at the end of the object
    if cur.pos >= cur.end:
        raise cur.error("RR data list at the end of the object")


def _read_strs(cur: Cursor, vals: dict[str, Any]) -> tuple[str, ...]:
    _check_before(cur)
    out = []
    for _ in range(vals.get("strc") or 0):
        n = cur.u8()
        out.append(_dec(cur.bytes_(n)))
    return tuple(out)


def _write_strs(out: Out, strs: tuple[str, ...]) -> None:
    for s in strs:
        b = _enc(s)
        if len(b) > 255:
            raise WartsError("TXT string longer than 255 bytes")
        out.u8(len(b))
        out.bytes_(b)


def _read_elems(cur: Cursor, vals: dict[str, Any]) -> tuple[HostRROptElem, ...]:
    _check_before(cur)
    out = []
    for _ in range(vals.get("elemc") or 0):
        code = cur.u16()
        out.append(HostRROptElem(code, cur.bytes_(cur.u16())))
    return tuple(out)


def _write_elems(out: Out, elems: tuple[HostRROptElem, ...]) -> None:
    for e in elems:
        out.u16(e.code)
        out.u16(len(e.data))
        out.bytes_(e.data)


def _read_params(cur: Cursor, vals: dict[str, Any]) -> tuple[HostRRSvcbParam, ...]:
    _check_before(cur)
    out = []
    for _ in range(vals.get("paramc") or 0):
        key = cur.u16()
        out.append(HostRRSvcbParam(key, cur.bytes_(cur.u16())))
    return tuple(out)


def _write_params(out: Out, params: tuple[HostRRSvcbParam, ...]) -> None:
    for p in params:
        out.u16(p.key)
        out.u16(len(p.val))
        out.bytes_(p.val)


SOA_PARAMS = ParamTable(
    (1, "mname", STRING),
    (2, "rname", STRING),
    (3, "serial", U32),
    (4, "refresh", U32),
    (5, "retry", U32),
    (6, "expire", U32),
    (7, "minimum", U32),
)
MX_PARAMS = ParamTable(
    (1, "preference", U16),
    (2, "exchange", STRING),
)
TXT_PARAMS = ParamTable(
    (1, "strc", U16),
    (2, "strs", Custom(_read_strs, _write_strs)),
)
OPT_PARAMS = ParamTable(
    (1, "elemc", U16),
    (2, "elems", Custom(_read_elems, _write_elems)),
)
SVCB_PARAMS = ParamTable(
    (1, "priority", U16),
    (2, "target", STRING),
    (3, "paramc", U16),
    (4, "params", Custom(_read_params, _write_params)),
)


def _check_list(count: int | None, items: tuple[Any, ...] | None, what: str) -> None:
    if items is not None and len(items) != (count or 0):
        raise WartsError(f"{what}: count {count} but {len(items)} items")


def _read_rrdata(cur: Cursor, vals: dict[str, Any]) -> RRData:
    dtype = cur.u16()
    if dtype == DATA_ADDR:
        return cur.addr()
    if dtype == DATA_STR:
        return cur.string()
    if dtype == DATA_SOA:
        v = SOA_PARAMS.read(cur)
        if v.get("mname") is None or v.get("rname") is None:
            raise cur.error("SOA record without mname or rname")
        return HostRRSoa(**v)
    if dtype == DATA_MX:
        v = MX_PARAMS.read(cur)
        if v.get("exchange") is None:
            raise cur.error("MX record without exchange")
        return HostRRMx(**v)
    if dtype == DATA_TXT:
        return HostRRTxt(**TXT_PARAMS.read(cur))
    if dtype == DATA_OPT:
        return HostRROpt(**OPT_PARAMS.read(cur))
    if dtype == DATA_SVCB:
        return HostRRSvcb(**SVCB_PARAMS.read(cur))
    raise cur.error(f"unknown RR data type {dtype}")


def data_type_of(v: RRData) -> int:
    """The wire data type code for an RR data value."""
    if isinstance(v, Address):
        return DATA_ADDR
    if isinstance(v, str):
        return DATA_STR
    if isinstance(v, HostRRSoa):
        return DATA_SOA
    if isinstance(v, HostRRMx):
        return DATA_MX
    if isinstance(v, HostRRTxt):
        return DATA_TXT
    if isinstance(v, HostRROpt):
        return DATA_OPT
    if isinstance(v, HostRRSvcb):
        return DATA_SVCB
    raise WartsError(f"not an RR data value: {type(v).__name__}")


def _write_rrdata(out: Out, v: RRData) -> None:
    dtype = data_type_of(v)
    out.u16(dtype)
    if isinstance(v, Address):
        out.addr(v)
    elif isinstance(v, str):
        out.string(v)
    elif isinstance(v, HostRRSoa):
        SOA_PARAMS.write(out, v)
    elif isinstance(v, HostRRMx):
        MX_PARAMS.write(out, v)
    elif isinstance(v, HostRRTxt):
        _check_list(v.strc, v.strs, "TXT strings")
        TXT_PARAMS.write(out, v)
    elif isinstance(v, HostRROpt):
        _check_list(v.elemc, v.elems, "OPT elements")
        OPT_PARAMS.write(out, v)
    else:
        _check_list(v.paramc, v.params, "SVCB params")
        SVCB_PARAMS.write(out, v)


PARAMS = ParamTable(
    (1, "list", LIST),
    (2, "cycle", CYCLE),
    (3, "userid", U32),
    (4, "src", ADDR),
    (5, "dst", ADDR),
    (6, "start", TIMEVAL),
    (7, "flags", U16),
    (8, "wait_timeout", U16),
    (9, "stop", U8),
    (10, "retries", U8),
    (11, "qtype", U16),
    (12, "qclass", U16),
    (13, "qname", STRING),
    (14, "qcount", U8),
    (15, "ecs", STRING),
    (16, "errmsg", STRING),
)

QUERY_PARAMS = ParamTable(
    (1, "tx", TIMEVAL),
    (2, "rx", TIMEVAL),
    (3, "id", U16),
    (4, "ancount", U16),
    (5, "nscount", U16),
    (6, "arcount", U16),
    (7, "rcode", U8),
    (8, "flags", U8),
)

RR_PARAMS = ParamTable(
    (1, "class_", U16),
    (2, "type", U16),
    (3, "name", STRING),
    (4, "ttl", U32),
    (5, "data", Custom(_read_rrdata, _write_rrdata)),
)



@dataclass(frozen=True, slots=True)
class HostRR:
    """scamper_host_rr_t; ``class_`` is the RR class (``class`` in C)."""

    class_: int | None = None
    type: int | None = None
    name: str | None = None
    ttl: int | None = None
    data: RRData | None = None


@dataclass(frozen=True, slots=True)
class HostQuery:
    """One query; the counts must equal the lengths of ``an``, ``ns``, ``ar``."""

    tx: Timeval | None = None
    rx: Timeval | None = None
    id: int | None = None
    ancount: int | None = None
    nscount: int | None = None
    arcount: int | None = None
    rcode: int | None = None
    flags: int | None = None
    an: tuple[HostRR, ...] = ()
    ns: tuple[HostRR, ...] = ()
    ar: tuple[HostRR, ...] = ()


@dataclass(frozen=True, slots=True)
class Host:
    """scamper_host_t as stored.  ``wait_timeout`` is milliseconds, as on
    the wire; ``qcount`` must equal ``len(queries)``."""

    OBJ_TYPE: ClassVar[int] = OBJ_HOST
    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    userid: int | None = None
    src: Address | None = None
    dst: Address | None = None
    start: Timeval | None = None
    flags: int | None = None
    wait_timeout: int | None = None
    stop: int | None = None
    retries: int | None = None
    qtype: int | None = None
    qclass: int | None = None
    qname: str | None = None
    qcount: int | None = None
    ecs: str | None = None
    errmsg: str | None = None
    queries: tuple[HostQuery, ...] = ()

    @property
    def stop_str(self) -> str:
        """scamper_host_stop_tostr() (upper case)."""
        s = self.stop or 0
        return _STOPS[s] if s < len(_STOPS) else str(s)


# --------------------------------------------------------------------------
# wire


def _decode_rr(cur: Cursor) -> HostRR:
    vals = RR_PARAMS.read(cur)
    if vals.get("name") is None:
        raise cur.error("host RR without a name")
    data = vals.get("data")
    if data is not None and data_type_of(data) != rr_data_type(vals.get("class_") or 0,
                                                              vals.get("type") or 0):
        raise cur.error("host RR data does not match its class and type")
    return HostRR(**vals)


def _decode_query(cur: Cursor) -> HostQuery:
    vals = QUERY_PARAMS.read(cur)
    an = tuple(_decode_rr(cur) for _ in range(vals.get("ancount") or 0))
    ns = tuple(_decode_rr(cur) for _ in range(vals.get("nscount") or 0))
    ar = tuple(_decode_rr(cur) for _ in range(vals.get("arcount") or 0))
    return HostQuery(an=an, ns=ns, ar=ar, **vals)


def decode(cur: Cursor) -> Host:
    vals = PARAMS.read(cur)
    if vals.get("dst") is None:
        raise cur.error("host record without a destination")
    queries = tuple(_decode_query(cur) for _ in range(vals.get("qcount") or 0))
    return Host(queries=queries, **vals)


def encode(rec: Host, out: Out) -> None:
    _check_list(rec.qcount, rec.queries, "host queries")
    PARAMS.write(out, rec)
    for q in rec.queries:
        _check_list(q.ancount, q.an, "host answers")
        _check_list(q.nscount, q.ns, "host authority RRs")
        _check_list(q.arcount, q.ar, "host additional RRs")
        QUERY_PARAMS.write(out, q)
        for rr in (*q.an, *q.ns, *q.ar):
            if rr.data is not None and data_type_of(rr.data) != rr_data_type(
                    rr.class_ or 0, rr.type or 0):
                raise WartsError("host RR data does not match its class and type")
            RR_PARAMS.write(out, rr)
