"""An nc-style session against scamperd, compared with scamper 20260420's answers.

The expected sessions are in tests/data/transcripts/ (their README says how
they were derived from the 20211212 captures and the 20260420 differences,
and what their syntax means).  The client is a plain blocking socket that
writes lines and reads bytes exactly as nc would show them: no protocol
package on the reading side, so the framing itself is under test (header
syntax, the exact DATA length, uuencoding with backticks, the terminator).
"""

from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import warts
from protocol import uudecode, uuencoded_length
from tests.scamperd.daemon_helpers import WHERE, Daemon, daemon_at

TRANSCRIPTS = Path(__file__).parents[1] / "data" / "transcripts"
_DATA = re.compile(rb"DATA (\d+)(?: id-(\d+))?")
_VAR = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Step:
    kind: str  # C, S, D or E
    text: str
    lineno: int


def load(path: Path) -> list[Step]:
    steps = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        kind, _, text = raw.partition(" ")
        assert kind in ("C", "S", "D", "E"), f"{path.name}:{n}: bad line {raw!r}"
        steps.append(Step(kind, text, n))
    return steps


class NcClient:
    """What nc does: write lines, read bytes; plus a byte-exact line reader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\n")

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def line(self) -> bytes:
        while (i := self.buf.find(b"\n")) < 0:
            if not self._fill():
                raise AssertionError(f"EOF inside a line: {bytes(self.buf)!r}")
        out = bytes(self.buf[:i])
        del self.buf[:i + 1]
        return out

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise AssertionError(f"EOF after {len(self.buf)} of {n} DATA bytes")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def at_eof(self) -> bool:
        return not self.buf and not self._fill()


def lookup(obj: Any, key: str) -> Any:
    """``a.0.b`` walks into dicts and lists; ``#a`` is the length of a."""
    count = key.startswith("#")
    for part in key.lstrip("#").split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return len(obj) if count else obj


def record_fields(rec: Any) -> dict[str, Any]:
    """A warts record as the JSON sc_warts2json prints; a list record (which
    has no JSON form) as its fields."""
    if isinstance(rec, warts.ListInfo):
        return {"type": "list", "id": rec.id, "name": rec.name, "descr": rec.descr,
                "monitor": rec.monitor}
    text = warts.to_json(rec)
    assert text is not None, rec
    fields: dict[str, Any] = json.loads(text)
    return fields


class Session:
    """Plays one transcript and checks every byte the daemon sends."""

    def __init__(self, client: NcClient, env: dict[str, str], json_mode: bool) -> None:
        self.client = client
        self.env = env
        self.json_mode = json_mode
        self.stream = b""  # decoded warts so far: later records refer to the list
        self.blocks = 0
        self.t0 = int(time.time())

    def fill(self, text: str) -> str:
        return _VAR.sub(lambda m: self.env[m.group(1)] if m.group(1) != "now" else m.group(0),
                        text)

    def run(self, steps: list[Step]) -> None:
        for st in steps:
            where = f"transcript line {st.lineno}: {st.kind} {st.text}"
            if st.kind == "C":
                self.client.send(self.fill(st.text))
            elif st.kind == "S":
                got = self.client.line().decode("ascii", "replace")
                assert got == self.fill(st.text), where
            elif st.kind == "D":
                self.data(st.text, where)
            else:
                assert self.client.at_eof(), f"{where}: more output {bytes(self.client.buf)!r}"

    def data(self, spec: str, where: str) -> None:
        words = spec.split()
        want_id = None
        if words[0].startswith("id-"):
            want_id = words.pop(0)[3:]
        kind, checks = words[0], words[1:]
        header = self.client.line()
        m = _DATA.fullmatch(header)
        assert m is not None, f"{where}: got {header!r}"
        assert (m.group(2).decode() if m.group(2) else None) == want_id, f"{where}: {header!r}"
        n = int(m.group(1))
        payload = self.client.exactly(n)
        if self.json_mode:
            # one JSON object on one line; the length counts its newline
            assert payload.endswith(b"\n") and payload.count(b"\n") == 1, where
            fields = json.loads(payload)
        else:
            body = uudecode(payload)  # 45-byte lines, backticks, "`\n" terminator
            assert n == uuencoded_length(len(body)), where
            assert b" " not in payload, f"{where}: zero must be sent as a backtick"
            self.stream += body
            recs = warts.decode(self.stream)
            self.blocks += 1
            assert len(recs) == self.blocks, f"{where}: one record per DATA block"
            fields = record_fields(recs[-1])
        assert fields["type"] == kind, f"{where}: {fields}"
        for check in checks:
            key, _, value = check.partition("=")
            got = lookup(fields, key)
            if value == "{now}":
                assert self.t0 - 1 <= got <= time.time() + 1, f"{where}: {key}={got}"
            else:
                assert str(got) == self.fill(value), f"{where}: {key}={got!r} in {fields}"


def connect(d: Daemon, transport: str) -> tuple[socket.socket, str]:
    """A connected socket and the source name the daemon will give it."""
    if transport == "unix":
        # unix clients are named <path>:<n>, n counting attaches from 0
        return d.unix_connect(), f"{d.unix}:0"
    sock = d.tcp_connect()
    host, port = sock.getsockname()[:2]
    return sock, f"{host}:{port}"


@pytest.fixture(params=WHERE)
def where(request: pytest.FixtureRequest) -> str:
    """The fake network (no root), or the namespace test bed."""
    return str(request.param)


@pytest.mark.parametrize("transport", ["unix", "tcp"])
@pytest.mark.parametrize("transcript", ["session-warts.txt", "session-json.txt"])
def test_transcript_matches_scamper_20260420(where: str, request: pytest.FixtureRequest,
                                             tmp_path: Path, transport: str,
                                             transcript: str) -> None:
    steps = load(TRANSCRIPTS / transcript)
    with daemon_at(where, request, tmp_path, "-M", "vp1", "-p", "1000") as (d, site):
        sock, source = connect(d, transport)
        try:
            env = {"pid": str(d.proc.pid), "dst4": site.dst4, "vp4": site.vp4,
                   "source": source, "hostname": socket.gethostname()}
            Session(NcClient(sock), env, "json" in transcript).run(steps)
        finally:
            sock.close()


def test_transcript_reader_rejects_a_wrong_answer(where: str, request: pytest.FixtureRequest,
                                                  tmp_path: Path) -> None:
    """The comparison has teeth: a transcript expecting 20211212's version
    string fails against the daemon."""
    steps = [Step("C", "get version", 1), Step("S", "OK version 20211212", 2)]
    with daemon_at(where, request, tmp_path) as (d, _):
        sock, _ = connect(d, "unix")
        try:
            with pytest.raises(AssertionError, match="transcript line 2"):
                Session(NcClient(sock), {}, False).run(steps)
        finally:
            sock.close()
