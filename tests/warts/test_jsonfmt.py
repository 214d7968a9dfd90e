"""The one JSON string escape (scamper's json_esc()) every renderer uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warts.jsonfmt import json_esc


def _reference(s: str, size: int) -> str:
    # utils.c json_esc(), a byte at a time into char buf[size]
    out, room = "", size - 1
    for ch in s:
        if not 0x20 <= ord(ch) <= 0x7E:
            break
        e = "\\" + ch if ch in '"\\' else ch
        if len(e) > room:
            break
        out += e
        room -= len(e)
    return out


@given(st.text(st.sampled_from('ab"\\ ~\x7f\t\xe9'), max_size=40), st.integers(1, 30))
def test_json_esc_matches_scamper(s: str, size: int) -> None:
    assert json_esc(s, size) == _reference(s, size)


@pytest.mark.parametrize("s,size,want", [
    ('a"b', 512, 'a\\"b'),
    ("ab\x01cd", 512, "ab"),
    ('ab"', 4, "ab"),       # never half an escape
    ("x" * 600, 512, "x" * 511),
])
def test_json_esc_cases(s: str, size: int, want: str) -> None:
    assert json_esc(s, size) == want
