"""Shared test setup.

scamper's JSON and text renderers print local time; the vectors were made on
a UTC machine, so every test runs with TZ=UTC.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ["TZ"] = "UTC"
time.tzset()

DATA = Path(__file__).parent / "data"
VECTOR_DIRS = (DATA / "v20211212", DATA / "v20260420")


def vector_files(suffix: str = ".warts") -> list[Path]:
    return sorted(p for d in VECTOR_DIRS for p in d.glob(f"*{suffix}"))
