"""The record-type table, and that any warts module can be imported first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import warts
from tests.test_imports import MODULES
from warts import registry
from warts.objtypes import OBJ_NAMES

ROOT = Path(__file__).resolve().parents[2]
# every warts module (import cycles are tests/test_imports.py's to find)
WARTS_MODULES = sorted(m for m in MODULES if m.split(".")[0] == "warts")


@pytest.mark.parametrize("module", WARTS_MODULES)
def test_registry_any_module_imports_first(module: str) -> None:
    # A fresh interpreter importing this module before any other warts
    # module: no "partially initialized module" whatever the order.
    code = f"import {module}, warts; assert warts.registry.BY_TYPE"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_registry_table_has_one_row_per_type() -> None:
    types = [rt.obj_type for rt in registry.RECORD_TYPES]
    classes = [rt.cls for rt in registry.RECORD_TYPES]
    assert sorted(types) == sorted(OBJ_NAMES) and len(set(classes)) == len(classes)
    assert registry.BY_TYPE[registry.OBJ_PING].cls.__name__ == "Ping"


def test_registry_every_type_is_written() -> None:
    assert all(rt.encode is not None for rt in registry.RECORD_TYPES)
    assert warts.to_json(object()) is None
