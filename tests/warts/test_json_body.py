"""The JSON fast paths (``RecordType.json_body``: sc_warts2json's line
straight from an object body) against decode + ``to_json``: the same text
for every object that decodes, None for every one that does not.

| input | check |
|---|---|
| every vector | each fast-path object: same line as decode + to_json |
| every vector | ``python -m warts json``'s loop gives the vector's .json |
| damaged vectors (hypothesis) | same line, or None exactly when decoding raises |
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import warts
from tests.conftest import vector_files
from warts import registry
from warts.__main__ import TOOL_TYPES, render_stream
from warts.file import RawObject, Reader, decode_object

VECTORS = vector_files()
IDS = [f"{p.parent.name}/{p.stem}" for p in VECTORS]
FAST = frozenset(t for t, rt in registry.BY_TYPE.items() if rt.json_body is not None)


def compare(data: bytes) -> int:
    """Check every fast-path object of ``data``; the number the fast path
    rendered.  A damaged stream (bad header, truncated object) just ends
    the walk."""
    reader = Reader(io.BytesIO(data), raw=FAST)
    n = 0
    try:
        for rec in reader:
            if type(rec) is not RawObject:
                continue
            fast = registry.BY_TYPE[rec.obj_type].json_body
            assert fast is not None
            got = fast(rec.body, reader.state, rec.offset)
            try:
                want = warts.to_json(decode_object(rec.obj_type, rec.body, reader.state,
                                                   rec.offset))
            except warts.WartsError:
                assert got is None
            else:
                assert got == want
                n += 1
    except warts.WartsError:
        pass
    return n


def test_fast_paths_exist() -> None:
    assert {registry.OBJ_PING, registry.OBJ_TRACE} <= FAST


@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_json_body_matches_decode_and_render(path: Path) -> None:
    compare(path.read_bytes())


def test_fast_paths_render_most_vector_records() -> None:
    # every one of the 83 pings and traces in the vectors
    assert sum(compare(p.read_bytes()) for p in VECTORS) >= 83


@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_render_stream_matches_sc_warts2json(path: Path) -> None:
    out = io.BytesIO()
    render_stream(io.BytesIO(path.read_bytes()), out, "json")
    assert out.getvalue().decode() == path.with_suffix(".json").read_text()


def test_fast_path_vectors_cover_every_fast_type() -> None:
    seen = set()
    for path in VECTORS:
        for rec in Reader(io.BytesIO(path.read_bytes()), raw=FAST):
            if type(rec) is RawObject:
                seen.add(rec.obj_type)
    assert seen == FAST


def test_raw_refuses_state_types() -> None:
    with pytest.raises(ValueError):
        Reader(io.BytesIO(b""), raw={registry.OBJ_LIST})


FAST_VECTORS = [p.read_bytes() for p in VECTORS
                if any(type(r) is RawObject
                       for r in Reader(io.BytesIO(p.read_bytes()), raw=FAST))]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(FAST_VECTORS)))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "stomp", "delete"]))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "stomp":
            data[i] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]))
        else:
            del data[i:i + draw(st.integers(1, 8))]
    return bytes(data)


@settings(max_examples=600, deadline=None, derandomize=os.environ.get("CI") == "true",
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(damaged())
def test_damaged_bodies_fall_back_exactly(data: bytes) -> None:
    compare(data)


def test_cli_types_include_fast_types() -> None:
    assert FAST <= TOOL_TYPES["json"]
