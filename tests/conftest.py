"""Shared test setup.

scamper's JSON and text renderers print local time; the vectors were made on
a UTC machine, so every test runs with TZ=UTC.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testbed import Testbed, netns_unavailable_reason

os.environ["TZ"] = "UTC"
time.tzset()

DATA = Path(__file__).parent / "data"
VECTOR_DIRS = (DATA / "v20211212", DATA / "v20260420")


def vector_files(suffix: str = ".warts") -> list[Path]:
    return sorted(p for d in VECTOR_DIRS for p in d.glob(f"*{suffix}"))


# --- network-namespace test bed (tests/testbed.py) -------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked `netns` up front when namespaces cannot be built here."""
    marked = [item for item in items if item.get_closest_marker("netns")]
    if not marked:
        return
    reason = netns_unavailable_reason()
    if reason:
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def testbed() -> Iterator[Testbed]:
    """The namespace test bed, built once per session and removed at its end."""
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with Testbed() as tb:
        yield tb
