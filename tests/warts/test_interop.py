"""Files our writer makes are read by Debian's scamper 20211212 tools.

Each vector is decoded, its records varied (every absolute timestamp shifted
by one random amount, every address mapped through one random one-to-one
substitution, the user id changed) with dataclasses.replace, and re-encoded
with warts.Writer.  Debian's /usr/bin/sc_wartsdump and /usr/bin/sc_warts2json
must then read the whole file without error, and sc_warts2json's JSON must
agree with ours on every field both versions print, except where scamper
changed what a field means between the versions:

| field | 20211212 | 20260420 (ours) |
|---|---|---|
| tracelb ``wait_probe`` | milliseconds | hundredths of a second, as stored |
| ping ``statistics`` when replies hold ICMP errors (``nerrs``) | errors are | errors |
| | counted as replies | counted apart |
| fields new in 20260420 (``flags``, ``ifname``, ...) | not printed | printed |

To prove the old tools read to the end (they stop quietly at a bad object),
each file ends with a sentinel cycle whose start and stop must be printed.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import warts
from tests.conftest import vector_files
from warts import registry
from warts.listcycle import CycleInfo, CycleStart, CycleStop, ListInfo

pytestmark = pytest.mark.interop

DUMP = "/usr/bin/sc_wartsdump"
JSON = "/usr/bin/sc_warts2json"
MISSING = [t for t in (DUMP, JSON) if shutil.which(t) is None]

VECTORS = vector_files()
IDS = [f"{p.parent.name}/{p.stem}" for p in VECTORS]

# What sc_warts2json 20211212 prints (its scamper_file_read filter).
OLD_JSON_TYPES = (registry.OBJ_CYCLE_START, registry.OBJ_CYCLE_STOP, registry.OBJ_PING,
                  registry.OBJ_TRACE, registry.OBJ_TRACELB, registry.OBJ_DEALIAS,
                  registry.OBJ_TBIT)

SENTINEL_LIST = ListInfo(4242, "interop-sentinel", descr="end")
SENTINEL = CycleInfo(SENTINEL_LIST, 4243, 2_000_000_000, hostname="sentinel")

# Timestamps below this are durations or offsets, not wall-clock times.
WALL_CLOCK = 1_000_000_000


class Mutator:
    """Rebuild a record with consistent random changes (see module doc)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.shift = rng.randint(-10**8, 10**8)
        self.addrs: dict[warts.Address, warts.Address] = {}
        self.used: set[warts.Address] = set()

    def addr(self, a: warts.Address) -> warts.Address:
        new = self.addrs.get(a)
        if new is None:
            while True:
                raw = bytes(self.rng.getrandbits(8) for _ in a.raw)
                new = warts.Address(a.atype, raw)
                if new not in self.used:
                    break
            self.addrs[a] = new
            self.used.add(new)
        return new

    def value(self, v: Any) -> Any:
        if isinstance(v, warts.Timeval):
            return warts.Timeval(v.sec + self.shift, v.usec) if v.sec >= WALL_CLOCK else v
        if isinstance(v, warts.Address):
            return self.addr(v)
        if isinstance(v, (ListInfo, CycleInfo)):
            return v                 # keep the file's list/cycle structure
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            changes = {}
            for f in dataclasses.fields(v):
                old = getattr(v, f.name)
                new = self.value(old)
                if new is not old:
                    changes[f.name] = new
            return dataclasses.replace(v, **changes) if changes else v
        if type(v) is tuple:
            items = tuple(self.value(x) for x in v)
            return items if any(a is not b for a, b in zip(items, v, strict=True)) else v
        return v

    def record(self, rec: Any) -> Any:
        new = self.value(rec)
        if any(f.name == "userid" for f in dataclasses.fields(new)):
            new = dataclasses.replace(new, userid=self.rng.getrandbits(32))
        return new


def build(path: Path, seed: int) -> tuple[bytes, list[Any]]:
    """The varied file and the records it holds (sentinel included)."""
    recs = warts.decode(path.read_bytes())
    unknown = sorted({r.obj_type for r in recs if isinstance(r, warts.UnknownObject)})
    assert not unknown, f"{path.name}: object types {unknown} must decode"
    rng = random.Random(f"{path.name}/{seed}")
    out = []
    for rec in recs:
        rt = registry.BY_CLASS[type(rec)]
        assert rt.encode is not None, f"{type(rec).__name__} must be writable"
        # Each record gets its own substitution, as each has its own table.
        out.append(Mutator(rng).record(rec) if rt.obj_type > registry.OBJ_ADDR else rec)
    out += [CycleStart(SENTINEL), CycleStop(SENTINEL, 2_000_000_100)]
    return warts.encode(out), out


def run(tool: str, path: Path) -> str:
    p = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60,
                       check=False, errors="surrogateescape")
    assert p.returncode == 0, f"{tool} exited {p.returncode}: {p.stderr}"
    assert p.stderr == "", p.stderr
    return p.stdout


def compare(old: Any, new: Any, path: str, problems: list[str]) -> None:
    """Record where ``old`` (20211212) and ``new`` (ours) disagree on shared keys."""
    if isinstance(old, dict) and isinstance(new, dict):
        if new.get("type") == "tracelb" and "wait_probe" in old:
            old = dict(old, wait_probe=old["wait_probe"] // 10)
        for k, v in old.items():
            if k not in new:
                continue
            if k == "statistics" and "nerrs" in new[k]:
                continue
            compare(v, new[k], f"{path}.{k}", problems)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            problems.append(f"{path}: {len(old)} items, ours {len(new)}")
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            compare(a, b, f"{path}[{i}]", problems)
    elif old != new:
        problems.append(f"{path}: 20211212 {old!r}, ours {new!r}")


@pytest.mark.skipif(bool(MISSING), reason=f"Debian scamper tools missing: {MISSING}")
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_debian_tools_read_our_files(path: Path, seed: int, tmp_path: Path) -> None:
    data, recs = build(path, seed)
    f = tmp_path / "ours.warts"
    f.write_bytes(data)

    dump = run(DUMP, f).splitlines()
    assert dump[-1].startswith("cycle stop, list interop-sentinel 4242, cycle 4243"), \
        "sc_wartsdump stopped before the end of the file"

    lines = run(JSON, f).splitlines()
    assert lines[-1].startswith('{"type":"cycle-stop", "list_name":"interop-sentinel"'), \
        "sc_warts2json stopped before the end of the file"
    ours = [warts.to_json(r) for r in recs if type(r).OBJ_TYPE in OLD_JSON_TYPES]
    assert len(lines) == len(ours)
    problems: list[str] = []
    for i, (line, mine) in enumerate(zip(lines, ours, strict=True)):
        assert mine is not None, f"no JSON for record {i}"
        compare(json.loads(line), json.loads(mine), f"record {i}", problems)
    assert not problems, "\n".join(problems[:20])
