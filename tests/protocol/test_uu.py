"""uuencoding of DATA blocks against the captured scamper blocks."""

from __future__ import annotations

import binascii
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.uu import uudecode, uuencode, uuencoded_length

CAPTURES = Path("/work/shared/reference/captures")


def data_blocks(raw: bytes) -> list[bytes]:
    """The payloads of every ``DATA N`` block of a captured byte stream."""
    blocks = []
    pos = 0
    while pos < len(raw):
        end = raw.index(b"\n", pos)
        line = raw[pos:end]
        pos = end + 1
        if line.startswith(b"DATA "):
            n = int(line.split()[1])
            blocks.append(raw[pos:pos + n])
            pos += n
    return blocks


@pytest.mark.parametrize("name", ["final", "trace_session"])
def test_uuencode_reproduces_captured_blocks(name: str) -> None:
    raw = (CAPTURES / f"{name}.raw").read_bytes()
    warts = (CAPTURES / f"{name}.warts").read_bytes()
    blocks = data_blocks(raw)
    decoded = [uudecode(block) for block in blocks]
    assert b"".join(decoded) == warts
    for block, record in zip(blocks, decoded, strict=True):
        assert uuencode(record) == block
        assert uuencoded_length(len(record)) == len(block)


@pytest.mark.parametrize(("n", "length"), [(39, 56), (30, 44), (94, 136), (17, 28),
                                           (105, 148), (0, 2), (45, 64), (46, 70)])
def test_uuencoded_length_matches_observed(n: int, length: int) -> None:
    assert uuencoded_length(n) == length


def test_uuencode_writes_zero_as_backtick() -> None:
    assert uuencode(b"\x00\x00\x00") == b"#````\n`\n"


@given(st.binary(max_size=400))
def test_uuencode_round_trip(data: bytes) -> None:
    block = uuencode(data)
    assert uudecode(block) == data
    assert len(block) == uuencoded_length(len(data))
    assert all(0x21 <= b <= 0x60 or b == 0x0A for b in block)


@given(st.binary(max_size=200))
def test_uuencode_equals_b2a_uu_per_45_bytes(data: bytes) -> None:
    chunks = [binascii.b2a_uu(data[i:i + 45], backtick=True) for i in range(0, len(data), 45)]
    assert uuencode(data) == b"".join(chunks) + b"`\n"


@pytest.mark.parametrize("block", [
    b"", b"`", b"#````\n", b"# ```\n`\n", b"$````\n`\n", b"#````\nx\n`\n", b"`\n`\n",
])
def test_uudecode_rejects_malformed(block: bytes) -> None:
    with pytest.raises(ValueError):
        uudecode(block)
