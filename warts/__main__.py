"""Command line: ``python -m warts json|text|dump FILE...`` and ``copy IN OUT``.

| command | prints like | object types rendered (the C tool's filter, 20260420) |
|---|---|---|
| json | sc_warts2json | cycle start/stop, ping, trace, tracelb, dealias, tbit, |
|      |               | host, udpprobe, neighbourdisc, owamp |
| text | sc_warts2text | trace, ping, tracelb, dealias, tbit, sting |
| dump | sc_wartsdump | list, cycle start/def/stop, every measurement type |
| copy | sc_wartscat of one file | everything: decode and re-encode each object |

As with the C tools, no FILE (or ``-``) reads stdin; files are read in turn,
each with its own list/cycle state.  Unlike them, a corrupt or truncated file
is not silently cut short: every good record before the fault is printed, the
error (byte offset and object type) goes to stderr, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import lzma
import os
import sys
import zlib
from collections.abc import Callable, Iterable
from typing import IO, Any

from . import registry as R
from .errors import WartsError
from .file import RawObject, Reader, UnknownObject, Writer, decode_object, open_read, open_write

PROG = "python -m warts"

# The filter each scamper tool passes to scamper_file_read().
TOOL_TYPES: dict[str, frozenset[int]] = {
    "json": frozenset((R.OBJ_CYCLE_START, R.OBJ_CYCLE_STOP, R.OBJ_PING, R.OBJ_TRACE,
                       R.OBJ_TRACELB, R.OBJ_DEALIAS, R.OBJ_TBIT, R.OBJ_HOST,
                       R.OBJ_UDPPROBE, R.OBJ_NEIGHBOURDISC, R.OBJ_OWAMP)),
    "text": frozenset((R.OBJ_TRACE, R.OBJ_PING, R.OBJ_TRACELB, R.OBJ_DEALIAS,
                       R.OBJ_TBIT, R.OBJ_STING)),
    "dump": frozenset((R.OBJ_LIST, R.OBJ_CYCLE_START, R.OBJ_CYCLE_DEF, R.OBJ_CYCLE_STOP,
                       R.OBJ_TRACE, R.OBJ_PING, R.OBJ_TRACELB, R.OBJ_DEALIAS,
                       R.OBJ_NEIGHBOURDISC, R.OBJ_TBIT, R.OBJ_STING, R.OBJ_SNIFF,
                       R.OBJ_HOST, R.OBJ_HTTP, R.OBJ_UDPPROBE, R.OBJ_OWAMP)),
}

_RENDER_ATTR = {"json": "to_json", "text": "to_text", "dump": "to_dump"}

# What a damaged compressed stream raises (gzip: BadGzipFile, an OSError, or
# zlib.error; bz2: OSError; xz: LZMAError; any of them EOFError when cut short).
_STREAM_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)

# Rendered text is collected and written in chunks of about this many characters.
_CHUNK = 1 << 16


def _err(msg: str) -> None:
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def _renderers(attr: str) -> dict[type, Callable[[Any], str | None]]:
    """Class -> renderer, looked up once instead of per record."""
    out: dict[type, Callable[[Any], str | None]] = {}
    for cls, rt in R.BY_CLASS.items():
        fn = getattr(rt, attr)
        if fn is not None:
            out[cls] = fn
    return out


def render_stream(stream: IO[bytes], out: IO[bytes], tool: str,
                  warned: set[int] | None = None) -> None:
    """Render every record of ``stream`` the way ``tool`` does, into ``out``.

    Output is flushed before an error propagates, so everything before the
    fault is written.  ``warned`` collects object types the codec cannot decode
    (reported once on stderr).
    """
    types = TOOL_TYPES[tool]
    fns = _renderers(_RENDER_ATTR[tool])
    get = fns.get
    # Types with a renderer straight from the object body (json only).
    fast = {t: rt.json_body for t, rt in R.BY_TYPE.items()
            if tool == "json" and t in types and rt.json_body is not None}
    warned = set() if warned is None else warned
    pending: list[str] = []
    size = 0
    write = out.write
    reader = Reader(stream, types=types, raw=fast)
    state = reader.state
    try:
        for rec in reader:
            if type(rec) is RawObject:
                s = fast[rec.obj_type](rec.body, state, rec.offset)
                if s is not None:
                    pending.append(s)
                    size += len(s)
                    if size >= _CHUNK:
                        write("".join(pending).encode("utf-8", "surrogateescape"))
                        pending.clear()
                        size = 0
                    continue
                # not for the fast path, or it does not decode (the decoder
                # raises the error)
                rec = decode_object(rec.obj_type, rec.body, state, rec.offset)
            fn = get(type(rec))
            if fn is None:
                if isinstance(rec, UnknownObject) and rec.obj_type not in warned:
                    warned.add(rec.obj_type)
                    name = R.OBJ_NAMES.get(rec.obj_type, f"0x{rec.obj_type:02x}")
                    _err(f"warning: skipping {name} objects: not supported")
                continue
            s = fn(rec)
            if s is not None:
                pending.append(s)
                size += len(s)
                if size >= _CHUNK:
                    write("".join(pending).encode("utf-8", "surrogateescape"))
                    pending.clear()
                    size = 0
    finally:
        if pending:
            write("".join(pending).encode("utf-8", "surrogateescape"))
        out.flush()


def _paths(files: list[str]) -> list[str]:
    return files if files else ["-"]


def cmd_render(tool: str, files: Iterable[str]) -> int:
    out = sys.stdout.buffer
    rc = 0
    warned: set[int] = set()
    for path in files:
        try:
            stream = open_read(path)
        except OSError as e:
            _err(f"could not open {path}: {e.strerror or e}")
            return 1
        try:
            render_stream(stream, out, tool, warned)
        except WartsError as e:
            _err(f"{path}: {e}")
            rc = 1
        except _STREAM_ERRORS as e:
            if isinstance(e, BrokenPipeError):
                raise
            _err(f"{path}: {e}")
            rc = 1
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
    return rc


def cmd_copy(src: str, dst: str) -> int:
    try:
        stream = open_read(src)
    except OSError as e:
        _err(f"could not open {src}: {e.strerror or e}")
        return 1
    try:
        out = open_write(dst)
    except OSError as e:
        _err(f"could not open {dst}: {e.strerror or e}")
        return 1
    rc = 0
    writer = Writer()
    pending: list[bytes] = []
    size = 0
    try:
        for rec in Reader(stream):
            for obj in writer.encode(rec):
                pending.append(obj)
                size += len(obj)
            if size >= _CHUNK:
                out.write(b"".join(pending))
                pending.clear()
                size = 0
    except WartsError as e:
        _err(f"{src}: {e}")
        rc = 1
    except _STREAM_ERRORS as e:
        if isinstance(e, BrokenPipeError):
            raise
        _err(f"{src}: {e}")
        rc = 1
    finally:
        if pending:
            out.write(b"".join(pending))
        if out is sys.stdout.buffer:
            out.flush()
        else:
            out.close()
        if stream is not sys.stdin.buffer:
            stream.close()
    return rc


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Read and write scamper warts files.")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for name, like in (("json", "sc_warts2json"), ("text", "sc_warts2text"),
                       ("dump", "sc_wartsdump")):
        sp = sub.add_parser(name, help=f"print records like {like}")
        sp.add_argument("files", nargs="*", metavar="FILE",
                        help="warts files (.gz/.bz2/.xz too); '-' or none for stdin")
    cp = sub.add_parser("copy", help="decode and re-encode a warts file")
    cp.add_argument("src", metavar="IN", help="input file, '-' for stdin")
    cp.add_argument("dst", metavar="OUT",
                    help="output file, '-' for stdout; compressed by .gz/.bz2/.xz suffix")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.cmd == "copy":
            return cmd_copy(args.src, args.dst)
        return cmd_render(args.cmd, _paths(args.files))
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): stop quietly, and
        # point stdout at /dev/null so the interpreter's final flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
