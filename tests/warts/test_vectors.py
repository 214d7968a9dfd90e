"""Real scamper output, decoded and re-encoded and rendered, must match exactly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import warts
from tests.conftest import vector_files

VECTORS = vector_files()
IDS = [f"{p.parent.name}/{p.stem}" for p in VECTORS]


def _render(path: Path, fn) -> str:
    out = []
    for rec in warts.read(io.BytesIO(path.read_bytes())):
        s = fn(rec)
        if s is not None:
            out.append(s)
    return "".join(out)


@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_vectors_copy_identical_bytes(path: Path) -> None:
    data = path.read_bytes()
    recs = warts.decode(data)
    assert not any(isinstance(r, warts.UnknownObject) for r in recs), \
        "every object type in the vectors must be decoded"
    assert warts.encode(recs) == data


@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_vectors_json_matches_sc_warts2json(path: Path) -> None:
    want = path.with_suffix(".json").read_text()
    assert _render(path, warts.to_json) == want


@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_vectors_text_matches_sc_warts2text(path: Path) -> None:
    txt = path.with_suffix(".txt")
    want = txt.read_text() if txt.exists() else ""
    assert _render(path, warts.to_text) == want


@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_vectors_dump_matches_sc_wartsdump(path: Path) -> None:
    want = path.with_suffix(".dump").read_text()
    assert _render(path, warts.to_dump) == want
