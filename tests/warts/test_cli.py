"""``python -m warts json|text|dump|copy``: output like scamper's tools, errors
reported with their offsets, stdin/stdout and compressed files."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import subprocess
import sys
from pathlib import Path

import pytest

import warts
from tests.conftest import vector_files
from warts import registry
from warts.__main__ import TOOL_TYPES, main

VECTORS = vector_files()
IDS = [f"{p.parent.name}/{p.stem}" for p in VECTORS]
SUFFIX = {"json": ".json", "text": ".txt", "dump": ".dump"}
ROOT = Path(__file__).resolve().parents[2]


class Captured:
    def __init__(self, out: bytes, err: str, rc: int) -> None:
        self.out = out
        self.err = err
        self.rc = rc


def run_main(argv: list[str], monkeypatch: pytest.MonkeyPatch,
             stdin: bytes = b"") -> Captured:
    """Run the CLI in-process with byte-level stdin/stdout."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(stdin))))
    rc = main(argv)
    out.flush()
    return Captured(out.buffer.getvalue(), err.getvalue(), rc)  # type: ignore[attr-defined]


def run_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "warts", *args], input=stdin,
                          capture_output=True, cwd=ROOT, timeout=60, check=False)


def unsupported_types(path: Path, tool: str) -> set[int]:
    """Object types in ``path`` that ``tool`` renders but the codec cannot decode."""
    recs = warts.decode(path.read_bytes())
    return {r.obj_type for r in recs
            if isinstance(r, warts.UnknownObject) and r.obj_type in TOOL_TYPES[tool]}


@pytest.mark.parametrize("tool", ["json", "text", "dump"])
@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_render_vector(path: Path, tool: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not unsupported_types(path, tool), "every vector's object types must decode"
    want_file = path.with_suffix(SUFFIX[tool])
    want = want_file.read_bytes() if want_file.exists() else b""
    got = run_main([tool, str(path)], monkeypatch)
    assert got.rc == 0 and got.err == ""
    assert got.out == want


@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_copy_vector_identical(path: Path, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    dst = tmp_path / "out.warts"
    got = run_main(["copy", str(path), str(dst)], monkeypatch)
    assert got.rc == 0 and got.err == ""
    assert dst.read_bytes() == path.read_bytes()


def _vector(name: str) -> Path:
    return ROOT / "tests" / "data" / "v20260420" / f"{name}.warts"


PING = _vector("ping_icmp-echo_v4")
TRACE = _vector("trace_icmp_v4")


def _expected(paths: list[Path], tool: str) -> bytes:
    out = []
    for p in paths:
        f = p.with_suffix(SUFFIX[tool])
        out.append(f.read_bytes() if f.exists() else b"")
    return b"".join(out)


def _need_decodable(*paths: Path) -> None:
    for p in paths:
        for tool in ("json", "dump"):
            assert not unsupported_types(p, tool), f"{p.name} must decode"


def test_several_files_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    _need_decodable(PING, TRACE)
    for tool in ("json", "text", "dump"):
        got = run_main([tool, str(PING), str(TRACE), str(PING)], monkeypatch)
        assert got.rc == 0
        assert got.out == _expected([PING, TRACE, PING], tool)


@pytest.mark.parametrize("args", [["json"], ["json", "-"]])
def test_stdin(args: list[str]) -> None:
    p = run_cli(*args, stdin=PING.read_bytes())
    assert p.returncode == 0, p.stderr
    want = subprocess.run([sys.executable, "-m", "warts", "json", str(PING)],
                          capture_output=True, cwd=ROOT, check=True).stdout
    assert p.stdout == want
    assert p.stdout.startswith(b'{"type":"cycle-start"')


def test_copy_stdin_to_stdout() -> None:
    data = PING.read_bytes()
    p = run_cli("copy", "-", "-", stdin=data)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data


@pytest.mark.parametrize("suffix,opener", [(".gz", gzip.open), (".bz2", bz2.open),
                                           (".xz", lzma.open)])
def test_compressed(suffix: str, opener, tmp_path: Path,  # type: ignore[no-untyped-def]
                    monkeypatch: pytest.MonkeyPatch) -> None:
    dst = tmp_path / f"ping.warts{suffix}"
    assert run_main(["copy", str(PING), str(dst)], monkeypatch).rc == 0
    with opener(dst, "rb") as f:
        assert f.read() == PING.read_bytes()
    plain = run_main(["dump", str(PING)], monkeypatch)
    comp = run_main(["dump", str(dst)], monkeypatch)
    assert comp.rc == 0 and comp.out == plain.out
    # by magic bytes too, when the name says nothing
    renamed = tmp_path / "noext"
    renamed.write_bytes(dst.read_bytes())
    assert run_main(["dump", str(renamed)], monkeypatch).out == plain.out
    back = tmp_path / "back.warts"
    assert run_main(["copy", str(renamed), str(back)], monkeypatch).rc == 0
    assert back.read_bytes() == PING.read_bytes()


def _records_bytes(path: Path) -> list[int]:
    """Offsets where each object of ``path`` ends."""
    data = path.read_bytes()
    ends = []
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 4:pos + 8], "big")
        pos += 8 + length
        ends.append(pos)
    return ends


@pytest.mark.parametrize("tool", ["json", "dump"])
def test_truncated_file_prints_good_records_then_error(
        tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = PING.read_bytes()
    ends = _records_bytes(PING)
    assert len(ends) == 4        # list, cycle start, ping, cycle stop
    cut = ends[2] + 5            # the cycle stop's header is cut short
    bad = tmp_path / "cut.warts"
    bad.write_bytes(data[:cut])
    good = tmp_path / "good.warts"
    good.write_bytes(data[:ends[2]])
    got = run_main([tool, str(bad)], monkeypatch)
    want = run_main([tool, str(good)], monkeypatch)
    assert got.rc == 1
    assert got.out == want.out and want.out
    assert f"offset {ends[2]}" in got.err and "truncated object header" in got.err
    assert str(bad) in got.err


def test_corrupt_object_names_offset_and_type(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(PING.read_bytes())
    ends = _records_bytes(PING)
    # Point the cycle stop at cycle 9, which was never started.
    data[ends[2] + 8:ends[2] + 12] = b"\x00\x00\x00\x09"
    bad = tmp_path / "bad.warts"
    bad.write_bytes(bytes(data))
    got = run_main(["dump", str(bad)], monkeypatch)
    assert got.rc == 1
    assert f"offset {ends[2] + 8}" in got.err and "object type 0x04" in got.err
    assert b"cycle stop" not in got.out and got.out.startswith(b"list id 0")


def test_error_in_one_file_still_reads_the_next(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.warts"
    bad.write_bytes(b"\x12\x05\x00")
    got = run_main(["dump", str(bad), str(PING)], monkeypatch)
    assert got.rc == 1
    assert got.out == run_main(["dump", str(PING)], monkeypatch).out


def test_truncated_copy_keeps_good_objects(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    data = PING.read_bytes()
    ends = _records_bytes(PING)
    bad = tmp_path / "cut.warts"
    bad.write_bytes(data[:ends[2] + 3])
    dst = tmp_path / "out.warts"
    got = run_main(["copy", str(bad), str(dst)], monkeypatch)
    assert got.rc == 1 and f"offset {ends[2]}" in got.err
    assert dst.read_bytes() == data[:ends[2]]


def test_truncated_subprocess_exit_status(tmp_path: Path) -> None:
    data = PING.read_bytes()
    bad = tmp_path / "cut.warts"
    bad.write_bytes(data[:-3])
    p = run_cli("json", str(bad))
    assert p.returncode == 1
    assert b"WartsError" not in p.stderr and b"Traceback" not in p.stderr
    assert b"truncated object" in p.stderr


def test_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = run_main(["json", str(tmp_path / "nope.warts")], monkeypatch)
    assert got.rc == 1 and "could not open" in got.err


@pytest.mark.parametrize("suffix,compress", [(".gz", gzip.compress), (".bz2", bz2.compress),
                                             (".xz", lzma.compress)])
def test_corrupt_compressed(suffix: str, compress, tmp_path: Path,  # type: ignore[no-untyped-def]
                            monkeypatch: pytest.MonkeyPatch) -> None:
    packed = compress(PING.read_bytes())
    bad = tmp_path / f"x.warts{suffix}"
    for damaged in (packed[:-20], packed[:len(packed) // 2] + b"\xaa" * 8
                    + packed[len(packed) // 2 + 8:]):
        bad.write_bytes(damaged)
        for argv in (["dump", str(bad)], ["copy", str(bad), str(tmp_path / "o.warts")]):
            got = run_main(argv, monkeypatch)
            assert got.rc == 1 and got.err.startswith("python -m warts: ")


def test_unknown_object_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "x.warts"
    # Type 0x7f is in no tool's filter: skipped silently, as scamper does.
    f.write_bytes(PING.read_bytes() + b"\x12\x05\x00\x7f\x00\x00\x00\x01x")
    got = run_main(["dump", str(f)], monkeypatch)
    assert got.rc == 0 and "0x7f" not in got.err
    # A type the tool renders but the codec cannot decode: warned about once.
    monkeypatch.delitem(registry.BY_TYPE, registry.OBJ_OWAMP, raising=False)
    f.write_bytes(b"\x12\x05\x00\x11\x00\x00\x00\x01x" * 3)
    got = run_main(["dump", str(f)], monkeypatch)
    assert got.rc == 0 and got.out == b""
    assert got.err.count("skipping owamp objects") == 1


def test_usage_errors() -> None:
    p = run_cli()
    assert p.returncode == 2 and b"usage" in p.stderr
    p = run_cli("copy", "only-one")
    assert p.returncode == 2


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    big = tmp_path / "big.warts"
    recs = warts.decode(PING.read_bytes())
    w = warts.Writer(io.BytesIO())
    data = b"".join(b for _ in range(2000) for r in recs for b in w.encode(r))
    big.write_bytes(data)
    p = subprocess.run(f"{sys.executable} -m warts dump {big} | head -c 10",
                       shell=True, capture_output=True, cwd=ROOT, timeout=60, check=False)
    assert p.stdout == b"list id 0,"
    assert b"Traceback" not in p.stderr and b"Exception" not in p.stderr
