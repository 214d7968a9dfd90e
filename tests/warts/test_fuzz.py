"""Property tests: the reader, fed random or damaged input, raises only
warts.WartsError and never hangs.

| input | how it is made |
|---|---|
| random bytes | up to 2 KiB, optionally behind a valid list + cycle prelude |
| random objects | valid headers of every type around random bodies |
| damaged vectors | the real scamper files with bit flips, byte stomps, truncation, |
| | splices of two files, inserted and deleted runs |

Whatever decodes must also render (JSON, text, dump) and re-encode without
raising, and re-decoding what was written must give the same records.

Every example runs under an alarm, so a loop that does not end fails the test
instead of hanging CI.  On CI (``CI=true``) the examples are derandomized so
a run is reproducible; locally each run explores new inputs.
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import warts
from tests.conftest import vector_files
from warts.__main__ import TOOL_TYPES
from warts.listcycle import CycleInfo, CycleStart, ListInfo

VECTORS = [p.read_bytes() for p in vector_files()]
PRELUDE = warts.encode([CycleStart(CycleInfo(ListInfo(1, "l", descr="d"), 1, 1))])
OBJ_TYPES = list(range(1, 0x12))

# Seconds one example may take before it counts as a hang.
HANG_SECONDS = 10

FUZZ = settings(
    max_examples=400,
    deadline=None,                 # the alarm below bounds each example instead
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

class Hang(Exception):
    pass


@contextmanager
def alarm(seconds: int = HANG_SECONDS) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise Hang(f"no result after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def read_all(data: bytes, types: frozenset[int] | None = None) -> list[Any] | None:
    """The records of ``data``, or None if the reader rejected it with
    WartsError; any other exception propagates and fails the test."""
    try:
        with alarm():
            return list(warts.Reader(io.BytesIO(data), types=types))
    except warts.WartsError as e:
        assert isinstance(e.message, str) and e.message
        assert e.offset is None or 0 <= e.offset <= len(data)
        str(e)
        return None


def exercise(data: bytes) -> None:
    """Read ``data`` fully and through each tool's filter; whatever decodes
    must render and re-encode, and the re-encoding must read back the same."""
    recs = read_all(data)
    for types in TOOL_TYPES.values():
        filtered = read_all(data, types)
        if recs is not None:
            assert filtered is not None
    if recs is None:
        return
    with alarm():
        for rec in recs:
            for fn in (warts.to_json, warts.to_text, warts.to_dump):
                s = fn(rec)
                assert s is None or isinstance(s, str)
        try:
            again = warts.encode(recs)
        except warts.WartsError:
            # Values the reader accepts but the writer refuses (an oversize
            # parameter block, say) are reported, not crashed on.
            return
    assert read_all(again) == recs


@st.composite
def damaged_vector(draw: Any) -> bytes:
    data = bytearray(draw(st.sampled_from(VECTORS)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        kind = draw(st.sampled_from(["flip", "stomp", "truncate", "splice", "insert",
                                     "delete"]))
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "stomp":
            data[i] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]))
        elif kind == "truncate":
            del data[i:]
        elif kind == "splice":
            other = draw(st.sampled_from(VECTORS))
            j = draw(st.integers(0, len(other)))
            data[i:] = other[j:]
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[i:i + draw(st.integers(1, 16))]
    return bytes(data)


@st.composite
def random_objects(draw: Any) -> bytes:
    out = bytearray(PRELUDE if draw(st.booleans()) else b"")
    for _ in range(draw(st.integers(1, 4))):
        body = draw(st.binary(max_size=300))
        obj_type = draw(st.sampled_from(OBJ_TYPES))
        out += b"\x12\x05" + obj_type.to_bytes(2, "big") + len(body).to_bytes(4, "big")
        out += body
    return bytes(out)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    exercise(data)


@FUZZ
@given(st.binary(max_size=1024))
def test_random_bytes_after_valid_prelude(data: bytes) -> None:
    exercise(PRELUDE + data)


@FUZZ
@given(random_objects())
def test_random_object_bodies(data: bytes) -> None:
    exercise(data)


@settings(FUZZ, max_examples=2500)
@given(damaged_vector())
def test_damaged_vectors(data: bytes) -> None:
    exercise(data)


@FUZZ
@given(st.sampled_from(VECTORS), st.data())
def test_every_truncation_point_of_a_vector(data: bytes, draw: st.DataObject) -> None:
    cut = draw.draw(st.integers(0, max(0, len(data) - 1)))
    recs = read_all(data[:cut])
    full = read_all(data)
    assert full is not None
    if recs is not None:
        # A cut on an object boundary reads as the objects before it.
        assert recs == full[:len(recs)]


def test_huge_lengths_do_not_allocate() -> None:
    # An object claiming 4 GiB, and nested counts far beyond the body: the
    # reader must fail on the short read, not try to build the structures.
    with alarm():
        for obj_type in OBJ_TYPES:
            hdr = b"\x12\x05" + obj_type.to_bytes(2, "big") + b"\xff\xff\xff\xff"
            assert read_all(PRELUDE + hdr + b"\xff" * 64) is None
            body = b"\xff" * 64
            read_all(PRELUDE + b"\x12\x05" + obj_type.to_bytes(2, "big")
                     + len(body).to_bytes(4, "big") + body)
