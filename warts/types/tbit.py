"""TCP behaviour inference (tbit) records (warts type 0x0b): a TCP test
(PMTUD, ECN, null, SACK, ICW, ABC, blind-*) against a server, with every
packet sent and received.

Layout (scamper/tbit/scamper_tbit_warts.c): the record's flags+params,
``pktc`` packet blocks, then a run of structures, each ``u16 type, u32 len,
len bytes``, ended by a u16 0.  Structure 1 holds the test type's data
(pmtud, null, icw or blind), structure 2 the application's (http or bgp);
the reader skips a structure whose test or application type it does not
know, and rejects any other structure type.

| flag | field           | wire              | 20260420 writer writes it    |
|------|-----------------|-------------------|------------------------------|
| 1    | list            | u32 list id       | if set                       |
| 2    | cycle           | u32 cycle id      | if set                       |
| 3    | userid          | u32               | if non-zero                  |
| 4    | src             | address           | always (reader requires)     |
| 5    | dst             | address           | always (reader requires)     |
| 6    | sport           | u16               | always                       |
| 7    | dport           | u16               | always                       |
| 8    | start           | timeval           | always                       |
| 9    | result          | u16               | always                       |
| 10   | type            | u8                | always                       |
| 11   | app_proto       | u8                | always                       |
| 12   | client_mss      | u16               | always                       |
| 13   | server_mss      | u16               | always                       |
| 14   | client_syn_retx | u8                | always                       |
| 15   | client_dat_retx | u8                | always                       |
| 16   | pktc16          | u16 (old count)   | never                        |
| 17   | pktc            | u32               | always                       |
| 18   | client_fo_cookie| u8 len (<=16), bytes | if non-empty              |
| 19   | client_wscale   | u8                | if non-zero                  |
| 20   | options         | u32               | if non-zero                  |
| 21   | client_ipttl    | u8                | unless 255 (absent means 255)|
| 22   | errmsg          | string            | if set                       |

The packet count is ``pktc`` if non-zero, else ``pktc16``.  Packet blocks:
1 dir (u8: 1 tx, 2 rx), 2 tv (timeval), 3 len (u16), 4 data (len bytes);
the reader rejects a packet without data.

| structure       | params                                                |
|-----------------|-------------------------------------------------------|
| pmtud (type 1)  | 1 mtu u16, 2 ptb_retx u8, 3 options u8, 4 ptbsrc address |
| null (type 3)   | 1 options u16, 2 results u16                          |
| icw (type 5)    | 1 start_seq u32                                       |
| blind (7-10)    | 1 off i32, 2 retx u8                                  |
| http (app 1)    | 1 host string, 2 file string, 3 type u8 (0 http, 1 https) |
| bgp (app 5)     | 1 asn u32                                             |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..address import Address
from ..errors import WartsError
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_TBIT
from ..wire import (
    ADDR,
    I32,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U32,
    U32_STRUCT,
    Cursor,
    Custom,
    Out,
    ParamTable,
    Timeval,
)
from .misc_common import CYCLE, LIST, counted_bytes

TYPE_PMTUD = 1
TYPE_ECN = 2
TYPE_NULL = 3
TYPE_SACK_RCVR = 4
TYPE_ICW = 5
TYPE_ABC = 6
TYPE_BLIND_DATA = 7
TYPE_BLIND_RST = 8
TYPE_BLIND_SYN = 9
TYPE_BLIND_FIN = 10
BLIND_TYPES = (TYPE_BLIND_DATA, TYPE_BLIND_RST, TYPE_BLIND_SYN, TYPE_BLIND_FIN)

APP_HTTP = 1
APP_SMTP = 2
APP_DNS = 3
APP_FTP = 4
APP_BGP = 5
APP_HTTP_TYPE_HTTP = 0
APP_HTTP_TYPE_HTTPS = 1

PKT_DIR_TX = 1
PKT_DIR_RX = 2

RESULT_ICW_SUCCESS = 60

PMTUD_OPTION_BLACKHOLE = 0x1
NULL_RESULT_FO = 0x04

STRUCT_EOF = 0
STRUCT_TYPE = 1
STRUCT_APP = 2


def _read_cookie(cur: Cursor, vals: dict[str, Any]) -> bytes:
    n = cur.u8()
    if n > 16:
        raise cur.error(f"tbit fast-open cookie of {n} bytes (at most 16)")
    return cur.bytes_(n)


def _write_cookie(out: Out, cookie: bytes) -> None:
    if len(cookie) > 16:
        raise WartsError("tbit fast-open cookie longer than 16 bytes")
    out.u8(len(cookie))
    out.bytes_(cookie)


PARAMS = ParamTable(
    (1, "list", LIST),
    (2, "cycle", CYCLE),
    (3, "userid", U32),
    (4, "src", ADDR),
    (5, "dst", ADDR),
    (6, "sport", U16),
    (7, "dport", U16),
    (8, "start", TIMEVAL),
    (9, "result", U16),
    (10, "type", U8),
    (11, "app_proto", U8),
    (12, "client_mss", U16),
    (13, "server_mss", U16),
    (14, "client_syn_retx", U8),
    (15, "client_dat_retx", U8),
    (16, "pktc16", U16),
    (17, "pktc", U32),
    (18, "client_fo_cookie", Custom(_read_cookie, _write_cookie)),
    (19, "client_wscale", U8),
    (20, "options", U32),
    (21, "client_ipttl", U8),
    (22, "errmsg", STRING),
)

PKT_PARAMS = ParamTable(
    (1, "dir", U8),
    (2, "tv", TIMEVAL),
    (3, "len", U16),
    (4, "data", counted_bytes("len")),
)

PMTUD_PARAMS = ParamTable(
    (1, "mtu", U16),
    (2, "ptb_retx", U8),
    (3, "options", U8),
    (4, "ptbsrc", ADDR),
)
NULL_PARAMS = ParamTable(
    (1, "options", U16),
    (2, "results", U16),
)
ICW_PARAMS = ParamTable(
    (1, "start_seq", U32),
)
BLIND_PARAMS = ParamTable(
    (1, "off", I32),
    (2, "retx", U8),
)
APP_HTTP_PARAMS = ParamTable(
    (1, "host", STRING),
    (2, "file", STRING),
    (3, "type", U8),
)
APP_BGP_PARAMS = ParamTable(
    (1, "asn", U32),
)


@dataclass(frozen=True, slots=True)
class TbitPkt:
    dir: int | None = None
    tv: Timeval | None = None
    len: int | None = None
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class TbitPmtud:
    mtu: int | None = None
    ptb_retx: int | None = None
    options: int | None = None
    ptbsrc: Address | None = None


@dataclass(frozen=True, slots=True)
class TbitNull:
    options: int | None = None
    results: int | None = None


@dataclass(frozen=True, slots=True)
class TbitIcw:
    start_seq: int | None = None


@dataclass(frozen=True, slots=True)
class TbitBlind:
    off: int | None = None
    retx: int | None = None


@dataclass(frozen=True, slots=True)
class TbitAppHttp:
    """``type`` absent means http (the reader's default)."""

    host: str | None = None
    file: str | None = None
    type: int | None = None


@dataclass(frozen=True, slots=True)
class TbitAppBgp:
    asn: int | None = None


TbitData = TbitPmtud | TbitNull | TbitIcw | TbitBlind
TbitAppData = TbitAppHttp | TbitAppBgp

# which structure class goes with which test type / application
_DATA_FOR_TYPE: dict[int, tuple[type, ParamTable]] = {
    TYPE_PMTUD: (TbitPmtud, PMTUD_PARAMS),
    TYPE_NULL: (TbitNull, NULL_PARAMS),
    TYPE_ICW: (TbitIcw, ICW_PARAMS),
    **{t: (TbitBlind, BLIND_PARAMS) for t in BLIND_TYPES},
}
_APP_FOR_PROTO: dict[int, tuple[type, ParamTable]] = {
    APP_HTTP: (TbitAppHttp, APP_HTTP_PARAMS),
    APP_BGP: (TbitAppBgp, APP_BGP_PARAMS),
}


@dataclass(frozen=True, slots=True)
class Tbit:
    """scamper_tbit_t as stored.  ``pkts`` holds ``pktc`` packets (or
    ``pktc16`` when pktc is absent or zero); ``data`` is the test type's
    structure and ``app_data`` the application's, each None when the record
    has none.  ``client_ipttl`` None means 255."""

    OBJ_TYPE: ClassVar[int] = OBJ_TBIT
    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    userid: int | None = None
    src: Address | None = None
    dst: Address | None = None
    sport: int | None = None
    dport: int | None = None
    start: Timeval | None = None
    result: int | None = None
    type: int | None = None
    app_proto: int | None = None
    client_mss: int | None = None
    server_mss: int | None = None
    client_syn_retx: int | None = None
    client_dat_retx: int | None = None
    pktc16: int | None = None
    pktc: int | None = None
    client_fo_cookie: bytes | None = None
    client_wscale: int | None = None
    options: int | None = None
    client_ipttl: int | None = None
    errmsg: str | None = None
    pkts: tuple[TbitPkt, ...] = ()
    data: TbitData | None = None
    app_data: TbitAppData | None = None

    @property
    def pkt_count(self) -> int:
        """How many packets the reader reads: pktc, else pktc16."""
        if self.pktc:
            return self.pktc
        return self.pktc16 or 0

    @property
    def ipttl(self) -> int:
        return 255 if self.client_ipttl is None else self.client_ipttl


# --------------------------------------------------------------------------
# wire


def _decode_pkt(cur: Cursor) -> TbitPkt:
    vals = PKT_PARAMS.read(cur)
    if not vals.get("len") or not vals.get("data"):
        raise cur.error("tbit packet without data")
    return TbitPkt(**vals)


def decode(cur: Cursor) -> Tbit:
    vals = PARAMS.read(cur)
    if vals.get("src") is None or vals.get("dst") is None:
        raise cur.error("tbit record without source or destination")
    n = vals.get("pktc") or vals.get("pktc16") or 0
    pkts = tuple(_decode_pkt(cur) for _ in range(n))
    data: Any = None
    app: Any = None
    ttype = vals.get("type") or 0
    proto = vals.get("app_proto") or 0
    while True:
        kind = cur.u16()
        if kind == STRUCT_EOF:
            break
        size = cur.u32()
        if cur.remaining() < size:
            raise cur.error(f"tbit structure of {size} bytes runs past the object")
        end = cur.pos + size
        if kind == STRUCT_TYPE:
            if data is not None:
                raise cur.error("tbit record with two test structures")
            spec = _DATA_FOR_TYPE.get(ttype)
            if spec is not None:
                data = spec[0](**spec[1].read(cur))
        elif kind == STRUCT_APP:
            if app is not None:
                raise cur.error("tbit record with two application structures")
            spec = _APP_FOR_PROTO.get(proto)
            if spec is not None:
                app = spec[0](**spec[1].read(cur))
        else:
            raise cur.error(f"unknown tbit structure type {kind}")
        cur.pos = end
    return Tbit(pkts=pkts, data=data, app_data=app, **vals)


def _write_struct(out: Out, kind: int, table: ParamTable, obj: Any) -> None:
    out.u16(kind)
    at = len(out.buf)
    out.u32(0)
    table.write(out, obj)
    U32_STRUCT.pack_into(out.buf, at, len(out.buf) - at - 4)


def encode(rec: Tbit, out: Out) -> None:
    if rec.pkt_count != len(rec.pkts):
        raise WartsError(f"tbit packet count {rec.pkt_count} does not match "
                         f"{len(rec.pkts)} packets")
    if rec.data is not None:
        spec = _DATA_FOR_TYPE.get(rec.type or 0)
        if spec is None or not isinstance(rec.data, spec[0]):
            raise WartsError(f"tbit {type(rec.data).__name__} does not go with type {rec.type}")
    if rec.app_data is not None:
        spec = _APP_FOR_PROTO.get(rec.app_proto or 0)
        if spec is None or not isinstance(rec.app_data, spec[0]):
            raise WartsError(f"tbit {type(rec.app_data).__name__} does not go with "
                             f"app_proto {rec.app_proto}")
    PARAMS.write(out, rec)
    for p in rec.pkts:
        PKT_PARAMS.write(out, p)
    if rec.data is not None:
        _write_struct(out, STRUCT_TYPE, _DATA_FOR_TYPE[rec.type or 0][1], rec.data)
    if rec.app_data is not None:
        _write_struct(out, STRUCT_APP, _APP_FOR_PROTO[rec.app_proto or 0][1], rec.app_data)
    out.u16(STRUCT_EOF)
