"""The reader streams: memory stays flat however long the input is."""

from __future__ import annotations

import io
import tracemalloc

import warts
from tests.conftest import DATA


class RepeatingStream(io.RawIOBase):
    """A stream of ``head`` then ``body`` repeated ``count`` times, never held
    in memory as a whole (a stand-in for a multi-gigabyte file)."""

    def __init__(self, head: bytes, body: bytes, count: int) -> None:
        self.chunks = [head]
        self.body = body
        self.left = count
        self.buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        while not self.buf:
            if self.chunks:
                self.buf = self.chunks.pop()
            elif self.left > 0:
                self.left -= 1
                self.buf = self.body
            else:
                return 0
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


def test_streaming_reader_memory_is_constant() -> None:
    data = (DATA / "v20260420" / "trace_icmp-paris_v4.warts").read_bytes()
    recs = warts.decode(data)
    # list, cycle start, then the trace record; the cycle stop is left off
    # so the repeated traces all refer to an open cycle.
    head = warts.encode(recs[:2])
    trace = warts.encode(recs[:3])[len(head):]
    count = 8000  # ~1.7 MB of traces; memory must not grow with it

    def peak(n: int) -> tuple[int, int]:
        stream = io.BufferedReader(RepeatingStream(head, trace, n))
        tracemalloc.start()
        seen = 0
        for rec in warts.read(stream):
            seen += 1
            del rec
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return seen, top

    seen_small, small = peak(count // 10)
    seen_big, big = peak(count)
    assert (seen_small, seen_big) == (2 + count // 10, 2 + count)
    # Ten times the input, about the same peak: nothing accumulates.
    assert big < small * 1.5 + 64 * 1024, (small, big)
