"""A trio client for the daemon's control socket, and a fake ping method.

Shared by the in-process daemon tests: :class:`Client` reads text lines and
``DATA`` blocks (decoded with warts) the way nc would show them, and
:class:`FakePing` is a ping that sends nothing and finishes after
``attempts`` * 20 ms, so control-path tests need no packets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import trio

import warts
from protocol import PingCommand, uudecode, uuencoded_length
from scamperd.daemon import Serving
from scamperd.engine.task import FINISHED, Action, MatchKey, Probe, TaskContext, Wait
from warts.address import Address
from warts.types.ping import Ping
from warts.wire import Timeval

TIMEOUT = 10


# --- a fake method: waits attempts * 20 ms, reports a Ping record --------------


class FakePing:
    """A task that sends nothing: it finishes after ``attempts`` * 20 ms."""

    def __init__(self, cmd: PingCommand, ctx: TaskContext) -> None:
        self.cmd = cmd
        self.ctx = ctx
        self.deadline: int | None = None
        self.halted = False

    def match_keys(self) -> Iterable[MatchKey]:
        return ()

    def next_action(self, now: int) -> Action:
        if self.deadline is None:
            self.deadline = now + self.cmd.attempts * 20_000_000
        if self.halted or now >= self.deadline:
            return FINISHED
        return Wait(self.deadline)

    def probe_sent(self, probe: Probe, tx: int, error: OSError | None = None) -> None:
        pass

    def receive_reply(self, reply: Any, now: int) -> None:
        pass

    def halt(self) -> None:
        self.halted = True

    def result(self) -> Ping:
        dst = Address.from_string(str(self.cmd.dst))
        return Ping(list=self.ctx.list, cycle=self.ctx.cycle, src=dst, dst=dst,
                    start=Timeval(1, 0), stop_reason=3 if self.halted else 1,
                    attempts=self.cmd.attempts, userid=self.cmd.userid, ping_sent=0)


class Client:
    """Reads scamper's replies: text lines, and DATA blocks by their length."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.warts = bytearray()  # decoded warts stream, in order

    @classmethod
    async def unix(cls, serving: Serving) -> Client:
        assert serving.unix is not None
        return cls(await trio.open_unix_socket(serving.unix))

    @classmethod
    async def tcp(cls, serving: Serving) -> Client:
        assert serving.inet is not None
        return cls(await trio.open_tcp_stream(*serving.inet))

    @property
    def port(self) -> int:
        """Our TCP port: the daemon names a TCP client's source by it."""
        assert isinstance(self.stream, trio.SocketStream)
        return int(self.stream.socket.getsockname()[1])

    async def send(self, *lines: str | bytes) -> None:
        for ln in lines:
            raw = ln if isinstance(ln, bytes) else ln.encode()
            await self.stream.send_all(raw + b"\n")

    async def _fill(self) -> bool:
        with trio.fail_after(TIMEOUT):
            data = await self.stream.receive_some(65536)
        self.buf += data
        return bool(data)

    async def line(self) -> str:
        while b"\n" not in self.buf:
            if not await self._fill():
                raise EOFError(bytes(self.buf))
        i = self.buf.index(b"\n")
        ln = bytes(self.buf[:i]).decode()
        del self.buf[:i + 1]
        return ln

    async def payload(self, header: str) -> bytes:
        """The bytes a ``DATA N ...`` header announces, exactly N of them."""
        m = re.fullmatch(r"DATA (\d+)( id-\d+)?", header)
        assert m, header
        n = int(m.group(1))
        while len(self.buf) < n:
            if not await self._fill():
                raise EOFError(bytes(self.buf))
        body = bytes(self.buf[:n])
        del self.buf[:n]
        return body

    async def record(self, header: str | None = None) -> tuple[str, Any]:
        """Next DATA block, uudecoded and decoded in the stream's warts context."""
        if header is None:
            header = await self.line()
        body = await self.payload(header)
        obj = uudecode(body)
        assert len(body) == uuencoded_length(len(obj))
        start = len(self.warts)
        self.warts += obj
        recs = warts.decode(bytes(self.warts))
        assert len(bytes(self.warts)) > start
        return header, recs[-1]

    async def json(self) -> tuple[str, dict[str, Any]]:
        header = await self.line()
        body = await self.payload(header)
        assert body.endswith(b"\n") and body.count(b"\n") == 1
        return header, json.loads(body)

    async def eof(self) -> bool:
        while not self.buf:
            if not await self._fill():
                return True
        return False

    async def close(self) -> None:
        await self.stream.aclose()


async def collect(c: Client, n: int) -> tuple[list[str], list[tuple[str, Any]]]:
    """Text lines and DATA blocks (header, record) until n blocks have come."""
    lines: list[str] = []
    recs: list[tuple[str, Any]] = []
    while len(recs) < n:
        ln = await c.line()
        if ln.startswith("DATA"):
            recs.append(await c.record(ln))
        else:
            lines.append(ln)
    return lines, recs


async def ask(c: Client, line: str) -> str:
    await c.send(line)
    return await c.line()


async def attach_client(c: Client, line: str = "attach") -> warts.ListInfo:
    assert await ask(c, line) == "OK"
    assert await c.line() == "MORE"
    _, lst = await c.record()
    await c.record()
    return lst  # type: ignore[no-any-return]
