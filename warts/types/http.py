"""HTTP records (warts type 0x0f): one HTTP(S) request, and every buffer
of TLS, header and data bytes sent and received.

Layout (scamper/http/scamper_http_warts.c): the record's flags+params,
``bufc`` buffer blocks, then optional attributes that may be too large for
a parameter, each ``u8 type, u32 len, len bytes`` (1 ECH config list, 2 ECH
retry config; others are skipped), read while at least 5 bytes remain.
sc_warts2json and sc_warts2text print nothing for http; sc_wartsdump does.

| flag | field          | wire              | 20260420 writer writes it        |
|------|----------------|-------------------|----------------------------------|
| 1    | list           | u32 list id       | if set                           |
| 2    | cycle          | u32 cycle id      | if set                           |
| 3    | userid         | u32               | if non-zero                      |
| 4    | src            | static address    | if set                           |
| 5    | dst            | static address    | if set                           |
| 6    | sport          | u16               | if non-zero                      |
| 7    | dport          | u16               | unless the type's default (note) |
| 8    | start          | timeval           | if non-zero                      |
| 9    | stop           | u8                | if non-zero                      |
| 10   | type           | u8 (0 https, 1 http) | if non-zero                   |
| 11   | host           | string            | if set                           |
| 12   | file           | string            | if set                           |
| 13   | headers        | u8 count, strings | if any                           |
| 14   | bufc           | u32               | if non-zero                      |
| 15   | hsrtt          | u32 microseconds  | if non-zero                      |
| 16   | flags          | u32               | if non-zero                      |
| 17   | maxtime        | timeval           | if non-zero                      |
| 18   | errmsg         | string            | if set                           |
| 19   | ech_status     | u8                | if non-zero                      |
| 20   | ech_outer_sni  | string            | if set                           |

Note: dport is left out when it is the type's default (80 http, 443 https);
absent means that default, and the reader rejects a record of another type
without it.

Buffer blocks: 1 dir and type in one byte (``dir << 7 | type``), 2 tv
(timeval), 3 len (u16) and 4 data (len bytes), the last two if there is data.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, ClassVar

from ..address import Address
from ..errors import WartsError
from ..listcycle import CycleInfo, ListInfo
from ..objtypes import OBJ_HTTP
from ..wire import (
    ADDR_STATIC,
    RTT,
    STRING,
    TIMEVAL,
    U8,
    U16,
    U32,
    Cursor,
    Custom,
    Out,
    ParamTable,
    Timeval,
)
from .misc_common import (
    CYCLE,
    LIST,
    cint,
    counted_bytes,
    cstr,
    dump_cycle_summary,
    dump_list_summary,
    dump_timeval,
    dump_wait,
    tv_diff,
)

TYPE_HTTPS = 0
TYPE_HTTP = 1
BUF_DIR_RX = 0
BUF_DIR_TX = 1
BUF_TYPE_DATA = 0
BUF_TYPE_HDR = 1
BUF_TYPE_TLS = 2
FLAG_INSECURE = 0x0001
FLAG_GREASE = 0x0002
ATTR_ECH_CONFIG_LIST = 1
ATTR_ECH_RETRY_CONFIG = 2

_STOPS = ("none", "halted", "noconn", "done", "error", "timeout", "insecure")
_ECH_STATUS = ("none", "unknown", "failed", "success", "grease", "grease-ech", "backend",
               "bad-call", "not-tried", "bad-name", "not-configured", "failed-ech",
               "failed-ech-bad-name")
_BUF_TYPES = ("data", "hdr", "tls")


def _read_headers(cur: Cursor, vals: dict[str, Any]) -> tuple[str, ...]:
    n = cur.u8()
    return tuple(cur.string() for _ in range(n))


def _write_headers(out: Out, headers: tuple[str, ...]) -> None:
    if len(headers) > 255:
        raise WartsError("more than 255 http headers")
    out.u8(len(headers))
    for h in headers:
        out.string(h)


PARAMS = ParamTable(
    (1, "list", LIST),
    (2, "cycle", CYCLE),
    (3, "userid", U32),
    (4, "src", ADDR_STATIC),
    (5, "dst", ADDR_STATIC),
    (6, "sport", U16),
    (7, "dport", U16),
    (8, "start", TIMEVAL),
    (9, "stop", U8),
    (10, "type", U8),
    (11, "host", STRING),
    (12, "file", STRING),
    (13, "headers", Custom(_read_headers, _write_headers)),
    (14, "bufc", U32),
    (15, "hsrtt", RTT),
    (16, "flags", U32),
    (17, "maxtime", TIMEVAL),
    (18, "errmsg", STRING),
    (19, "ech_status", U8),
    (20, "ech_outer_sni", STRING),
)


def _read_dirtype(cur: Cursor, vals: dict[str, Any]) -> int:
    return cur.u8()


BUF_PARAMS = ParamTable(
    (1, "dirtype", Custom(_read_dirtype, lambda out, v: out.u8(v))),
    (2, "tv", TIMEVAL),
    (3, "len", U16),
    (4, "data", counted_bytes("len")),
)

_ZERO = Timeval(0, 0)


@dataclass(frozen=True, slots=True)
class HttpBuf:
    """One buffer.  ``dir`` (0 rx, 1 tx) and ``type`` (0 data, 1 hdr,
    2 tls) share parameter 1: both None when it is absent."""

    dir: int | None = None
    type: int | None = None
    tv: Timeval | None = None
    len: int | None = None
    data: bytes | None = None

    @property
    def dirtype(self) -> int | None:
        if self.dir is None and self.type is None:
            return None
        d = self.dir or 0
        t = self.type or 0
        if d > 1 or t > 0x7F:
            raise WartsError(f"http buf dir {d} / type {t} out of range")
        return (d << 7) | t

    @property
    def dir_str(self) -> str:
        d = self.dir or 0
        return ("rx", "tx")[d] if d < 2 else str(d)

    @property
    def type_str(self) -> str:
        t = self.type or 0
        # scamper indexes its name table without a bound for types past tls;
        # print the number instead
        return _BUF_TYPES[t] if t < len(_BUF_TYPES) else str(t)


@dataclass(frozen=True, slots=True)
class Http:
    """scamper_http_t as stored.  ``hsrtt`` is microseconds; ``headers`` is
    None when parameter 13 is absent; ``bufc`` must equal ``len(bufs)``."""

    OBJ_TYPE: ClassVar[int] = OBJ_HTTP
    list: ListInfo | None = None
    cycle: CycleInfo | None = None
    userid: int | None = None
    src: Address | None = None
    dst: Address | None = None
    sport: int | None = None
    dport: int | None = None
    start: Timeval | None = None
    stop: int | None = None
    type: int | None = None
    host: str | None = None
    file: str | None = None
    headers: tuple[str, ...] | None = None
    bufc: int | None = None
    hsrtt: int | None = None
    flags: int | None = None
    maxtime: Timeval | None = None
    errmsg: str | None = None
    ech_status: int | None = None
    ech_outer_sni: str | None = None
    bufs: tuple[HttpBuf, ...] = ()
    ech_config_list: bytes | None = None
    ech_retry_config: bytes | None = None

    @property
    def dport_value(self) -> int:
        """dport with the reader's default for the type (443 https, 80 http)."""
        if self.dport is not None:
            return self.dport
        return 443 if (self.type or 0) == TYPE_HTTPS else 80

    @property
    def stop_str(self) -> str:
        s = self.stop or 0
        return _STOPS[s] if s < len(_STOPS) else str(s)

    @property
    def ech_status_str(self) -> str:
        s = self.ech_status or 0
        return _ECH_STATUS[s] if s < len(_ECH_STATUS) else str(s)

    def url(self) -> str | None:
        """scamper_http_url_get(): scheme://host[:port]file, or None."""
        if self.host is None or self.file is None:
            return None
        t = self.type or 0
        if t == TYPE_HTTP:
            scheme, default = "http", 80
        elif t == TYPE_HTTPS:
            scheme, default = "https", 443
        else:
            return None
        dport = self.dport_value
        port = f":{dport}" if dport != default else ""
        return f"{scheme}://{cstr(self.host)}{port}{cstr(self.file)}"

    def status_code(self) -> int | None:
        """scamper_http_status_code_get(): the code from the status line of
        the received header bytes, or None."""
        line = bytearray()
        got = False
        for b in self.bufs:
            if (b.dir or 0) != BUF_DIR_RX or (b.type or 0) != BUF_TYPE_HDR:
                continue
            if not b.data or not b.len:
                return None
            data = b.data[:b.len]
            cr = data.find(b"\r")
            if cr < 0:
                line += data
                if len(line) >= 128:
                    return None
                continue
            line += data[:cr]
            if len(line) >= 128:
                return None
            got = True
            break
        if not got:
            return None
        s = bytes(line) + b"\x00"

        def at(i: int) -> int:
            return s[i] if i < len(s) else 0xFF

        def digit(i: int) -> bool:
            return 0x30 <= at(i) <= 0x39

        def space(i: int) -> bool:
            return at(i) in b" \t\n\v\f\r"

        if (s[:5] != b"HTTP/" or not digit(5) or at(6) != 0x2E or not digit(7)
                or not space(8) or not digit(9) or not digit(10) or not digit(11)
                or not (space(12) or at(12) == 0)):
            return None
        return (at(9) - 0x30) * 100 + (at(10) - 0x30) * 10 + (at(11) - 0x30)


# --------------------------------------------------------------------------
# wire


def _decode_buf(cur: Cursor) -> HttpBuf:
    vals = BUF_PARAMS.read(cur)
    dt = vals.pop("dirtype", None)
    if dt is not None:
        vals["dir"] = dt >> 7
        vals["type"] = dt & 0x7F
    return HttpBuf(**vals)


def decode(cur: Cursor) -> Http:
    vals = PARAMS.read(cur)
    if "dport" not in vals and vals.get("type", 0) not in (TYPE_HTTP, TYPE_HTTPS):
        raise cur.error("http record of unknown type without a dport")
    bufs = tuple(_decode_buf(cur) for _ in range(vals.get("bufc") or 0))
    while cur.remaining() >= 5:
        atype = cur.u8()
        n = cur.u32()
        if cur.remaining() < n:
            raise cur.error(f"http attribute of {n} bytes runs past the object")
        if atype in (ATTR_ECH_CONFIG_LIST, ATTR_ECH_RETRY_CONFIG):
            if cur.remaining() == 0:
                # extract_bytes_alloc32() fails at the very end of the object
                raise cur.error("empty http attribute at the end of the object")
            key = "ech_config_list" if atype == ATTR_ECH_CONFIG_LIST else "ech_retry_config"
            vals[key] = cur.bytes_(n)
        else:
            cur.pos += n
    return Http(bufs=bufs, **vals)


def encode(rec: Http, out: Out) -> None:
    if (rec.bufc or 0) != len(rec.bufs):
        raise WartsError(f"http bufc {rec.bufc} does not match {len(rec.bufs)} buffers")
    PARAMS.write(out, rec)
    for b in rec.bufs:
        BUF_PARAMS.write_dict(out, {"dirtype": b.dirtype, "tv": b.tv, "len": b.len,
                                    "data": b.data})
    for atype, data in ((ATTR_ECH_CONFIG_LIST, rec.ech_config_list),
                        (ATTR_ECH_RETRY_CONFIG, rec.ech_retry_config)):
        if data is not None:
            out.u8(atype)
            out.u32(len(data))
            out.bytes_(data)


# --------------------------------------------------------------------------
# renderers


def _printable(b: int) -> str:
    return chr(b) if 0x20 <= b <= 0x7E else "."


def to_dump(rec: Http) -> str:
    """sc_wartsdump's dump_http()."""
    out = ["http"]
    if rec.src is not None:
        out.append(f" from {rec.src}")
    out.append(f" to {rec.dst if rec.dst is not None else '(null)'}\n")
    out.append(dump_list_summary(rec.list))
    out.append(dump_cycle_summary(rec.cycle))
    out.append(f" user-id: {cint(rec.userid or 0)}\n")
    start = rec.start or _ZERO
    out.append(dump_timeval("start", start))
    out.append(f" sport: {rec.sport or 0}, dport: {rec.dport_value}\n")
    flags = rec.flags or 0
    if flags:
        out.append(f" flags: 0x{flags:x} ({' insecure' if flags & FLAG_INSECURE else ''}"
                   f"{' grease' if flags & FLAG_GREASE else ''} )\n")
    mt = rec.maxtime or _ZERO
    out.append(dump_wait(" maxtime", mt.sec, mt.usec))
    if rec.hsrtt:
        hs, hu = divmod(rec.hsrtt, 1000000)
        out.append(f", hs-rtt: {hs}.{hu:06d}")
    out.append(f", stop: {rec.stop_str}")
    code = rec.status_code()
    if code is not None:
        out.append(f", http-status-code: {code}")
    out.append("\n")
    ech = rec.ech_status or 0
    if ech or rec.ech_outer_sni is not None:
        if ech:
            out.append(f" ech-status: {rec.ech_status_str}")
        if rec.ech_outer_sni is not None:
            out.append(f"{',' if ech else ''} ech-outer-sni: {cstr(rec.ech_outer_sni)}")
        out.append("\n")
    if rec.ech_config_list:
        out.append(f" ech-config-list: {base64.b64encode(rec.ech_config_list).decode()}\n")
    if rec.ech_retry_config:
        out.append(f" ech-retry-config: {base64.b64encode(rec.ech_retry_config).decode()}\n")
    if rec.errmsg is not None:
        out.append(f" errmsg: {cstr(rec.errmsg)}\n")
    url = rec.url()
    if url is not None:
        out.append(f" url: {url}\n")
    if rec.headers:
        out.append(" headers:\n")
        out.extend(f"  {cstr(h)}\n" for h in rec.headers)
    if rec.bufs:
        out.append(" exchange:\n")
        for b in rec.bufs:
            sec, usec = tv_diff(start, b.tv or _ZERO)
            n = b.len or 0
            label = f"{b.type_str}:{n}"
            out.append(f"  {cint(sec)}.{cint(usec):06d} {b.dir_str} {label:<10s}")
            if b.data:
                head = b.data[:min(n, 16)]
                out.append(head.hex() + "  " * (16 - len(head)) + "  |"
                           + "".join(_printable(c) for c in head) + "|")
            out.append("\n")
    return "".join(out)
