"""Compiled readers: a ParamTable read straight into a tuple of field values.

Split out of wire.py, which holds the primitives and the tables these are
derived from; the type modules use :func:`fast_reader` for their hot
structures (hops, replies, probes) so each layout is stated once, in its
ParamTable.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Sequence
from typing import Any

from .address import ADDR_SIZES, intern
from .cursor import _u32_from
from .errors import WartsError
from .wire import (
    ADDR,
    Bytes,
    Codec,
    CountedList,
    Cursor,
    Custom,
    FixedBytes,
    Param,
    ParamTable,
    Simple,
    StateRef,
    Timeval,
    Tuple,
)

# --------------------------------------------------------------------------
# Compiled readers: a ParamTable read straight into a list of field values.
#
# Hops, replies and probes are most of a file, and reading them one Codec call
# at a time into a dict was the largest cost of decoding, so the type modules
# had grown hand-written readers restating their layouts.  fast_reader()
# derives such a reader from the table instead: for each flag pattern met it
# generates (exec) a function that reads each run of fixed-size parameters
# with one struct call, addresses inline, and other codecs through their
# read(); and it returns the values in the caller's field order (None for
# absent ones), ready for a warts.fastobj constructor.  The checks are those
# of ParamTable.read: a run that would pass the object's end is replayed
# through its codecs, which raise the Cursor's own error at the Cursor's
# offset; parameters past their declared length raise after the last one.

_FIXED_FMT = {"u8": "B", "u16": "H", "u32": "I", "i32": "i", "rtt": "I", "timeval": "II"}


def _fixed_fmt(codec: Codec) -> str | None:
    """The struct codes of a fixed-size codec, None for variable-size ones."""
    if isinstance(codec, Simple):
        return _FIXED_FMT.get(codec.name)
    if isinstance(codec, Tuple):
        return codec.fmt
    if isinstance(codec, FixedBytes):
        return f"{codec.size}s"
    if isinstance(codec, StateRef):
        return "I"
    return None


def _replay(cur: Cursor, pos: int, codecs: tuple[Codec, ...]) -> WartsError:
    """The error the Cursor path raises for a run of fixed-size parameters
    that does not fit: read them one by one from ``pos``."""
    cur.pos = pos
    for codec in codecs:
        codec.read(cur, {})
    return cur.error("truncated parameters")  # not reached: one of them raised


def _compile(table: ParamTable, slot_of: dict[str, int], nslots: int, known: int,
             make: Callable[..., Any] | None, with_cursor: bool, required: dict[str, str],
             nested: tuple[str, Callable[[Cursor], Any]] | None
             ) -> Callable[[Cursor, Any, int], Any]:
    """The reader of one flag pattern, from ``pos`` just after the flag bytes.

    ``known`` is the pattern's flags that the table has (0: the lone 0x00
    byte, no params length; -1: only flags the table does not know)."""
    env: dict[str, Any] = {"_replay": _replay, "_u32": _u32_from, "_sizes": ADDR_SIZES,
                           "_intern": intern, "_tnew": tuple.__new__, "_Timeval": Timeval,
                           "_novals": {}, "_make": make,
                           "_nested": nested[1] if nested else None}
    slots = ["None"] * nslots
    # The dispatcher leaves cur.pos at the flags; should they or the params
    # length pass the end, Cursor.flags() raises its own error.
    if known == 0:
        lines = ["def read(cur, buf, pos):", " if pos > cur.end:", "  cur.flags()",
                 " cur.pos = pos"]
    else:
        lines = ["def read(cur, buf, pos):",
                 " end = cur.end",
                 " if pos + 2 > end:",
                 "  cur.flags()",
                 " final = pos + 2 + (buf[pos] << 8 | buf[pos + 1])",
                 " pos += 2",
                 " if final > end:",
                 "  cur.pos = pos",
                 '  raise cur.error(f"params length {final - pos} runs past end of object",'
                 " pos - 2)"]
    done: list[tuple[str, str]] = []  # (name, variable) of the values read so far
    run: list[tuple[int, Param, str]] = []

    def flush() -> None:
        if not run:
            return
        fmt = ">" + "".join(f for _, _, f in run)
        size = struct.calcsize(fmt)
        env[f"_run{len(env)}"] = tuple(p.codec for _, p, _ in run)
        lines.extend([f" if pos + {size} > end:",
                      f"  raise _replay(cur, pos, _run{len(env) - 1})"])
        targets: list[str] = []
        post: list[str] = []
        at = 0  # offset of the field in the run
        for i, p, f in run:
            one = struct.Struct(">" + f)
            at += one.size
            nvalues = len(one.unpack(bytes(one.size)))
            names = p.name.split(",")
            if len(names) > 1:  # one slot per integer
                for j, n in enumerate(names):
                    targets.append(f"p{i}_{j}")
                    slots[slot_of[n]] = f"p{i}_{j}"
                continue
            v = f"p{i}"
            codec = p.codec
            if nvalues == 1 and not isinstance(codec, Tuple):
                if isinstance(codec, StateRef):
                    targets.append(v + "i")
                    # the lookup's errors name the offset after the id
                    post += [f" cur.pos = pos - {size - at}",
                             f" {v} = cur.state.{codec.lookup}({v}i, cur)"]
                else:
                    targets.append(v)
            else:
                parts = [f"{v}_{j}" for j in range(nvalues)]
                targets += parts
                if isinstance(codec, Simple):  # a timeval
                    post.append(f" {v} = _tnew(_Timeval, ({', '.join(parts)}))")
                elif isinstance(codec, Tuple) and codec.cls is not None:
                    env[f"_cls{i}"] = codec.cls
                    post.append(f" {v} = _cls{i}({', '.join(parts)})")
                else:
                    post.append(f" {v} = ({', '.join(parts)},)")
            slots[slot_of[p.name]] = v
            done.append((p.name, v))
        if fmt == ">B":
            lines.append(f" {targets[0]} = buf[pos]")
        elif fmt == ">H":
            lines.append(f" {targets[0]} = buf[pos] << 8 | buf[pos + 1]")
        else:
            env[f"_st{len(env)}"] = struct.Struct(fmt).unpack_from
            lines.append(f" {', '.join(targets)}, = _st{len(env) - 1}(buf, pos)")
        lines.append(f" pos += {size}")
        lines.extend(post)
        run.clear()

    if known > 0:
        for i, p in enumerate(table.params):
            if not known & (1 << i):
                continue
            f = _fixed_fmt(p.codec)
            if f is not None:
                run.append((i, p, f))
                continue
            flush()
            v = f"p{i}"
            if p.codec is ADDR:
                # Cursor.addr() inlined for a valid reference or definition;
                # anything else goes through it for its checks and errors.
                lines += [
                    " if pos + 5 <= end and buf[pos] == 0 and"
                    " (i := _u32(buf, pos + 1)[0]) < len(cur.addrs):",
                    f"  {v} = cur.addrs[i]",
                    "  pos += 5",
                    " elif pos + 2 < end and (n := buf[pos]) and pos + 2 + n <= end"
                    " and _sizes.get(buf[pos + 1]) == n:",
                    f"  {v} = _intern(buf[pos + 1], bytes(buf[pos + 2:pos + 2 + n]))",
                    f"  cur.addrs.append({v})",
                    "  pos += 2 + n",
                    " else:",
                    "  cur.pos = pos",
                    f"  {v} = cur.addr()",
                    "  pos = cur.pos"]
            else:
                env[f"_c{i}"] = p.codec.reader if isinstance(p.codec, Simple) else p.codec.read
                if isinstance(p.codec, Simple):
                    call = f"_c{i}(cur)"
                elif isinstance(p.codec, (Bytes, Custom, CountedList)):
                    call = f"_c{i}(cur, {{{', '.join(f'{n!r}: {x}' for n, x in done)}}})"
                else:
                    call = f"_c{i}(cur, _novals)"
                lines += [" cur.pos = pos", f" {v} = {call}", " pos = cur.pos"]
            slots[slot_of[p.name]] = v
            done.append((p.name, v))
        flush()
        lines += [" if pos > final:",
                  '  raise cur.error("parameters overran their declared length", final)']
    if known != 0:
        lines.append(" cur.pos = final")
    # A present parameter never reads as None, so whether a required field is
    # filled is known here, once per pattern.
    missing = [msg for n, msg in required.items() if slots[slot_of[n]] == "None"]
    if nested is not None and not missing:
        v = slots[slot_of[nested[0]]]
        if v == "None":
            slots[slot_of[nested[0]]] = "()"
        else:
            lines += [f" if {v}:",
                      f"  if {v} > cur.end - cur.pos:",
                      f'   raise cur.error(f"count {{{v}}} exceeds the bytes left")',
                      f"  if {v} == 1:",
                      f"   {v} = (_nested(cur),)",
                      "  else:",
                      f"   {v} = tuple([_nested(cur) for _ in range({v})])",
                      " else:",
                      f"  {v} = ()"]
    values = ", ".join(slots)
    if missing:
        lines.append(f" raise cur.error({missing[0]!r})")
    elif make is None:
        lines.append(f" return [{values}]")
    elif with_cursor:
        lines.append(f" return _make(cur, {values})")
    else:
        lines.append(f" return _make({values})")
    exec(compile("\n".join(lines), f"<{table.names[0]}.. reader {known:#x}>", "exec"), env)
    return env["read"]  # type: ignore[no-any-return]


def fast_reader(table: ParamTable, fields: Sequence[str], make: Callable[..., Any] | None = None,
                required: dict[str, str] | None = None, *, with_cursor: bool = False,
                nested: tuple[str, Callable[[Cursor], Any]] | None = None
                ) -> Callable[[Cursor], Any]:
    """A function reading one flags+params block of ``table`` at ``cur.pos``
    into a new list of values in the order of ``fields`` (None where absent,
    and for fields no parameter fills), or into ``make(*values)`` when
    ``make`` is given (``make(cur, *values)`` with ``with_cursor``, for a
    block followed by nested ones); ``cur.pos`` ends after the block.

    ``required`` maps fields that must be present to the error raised (after
    the block) when they are not, as scamper's readers reject such blocks.
    ``nested`` (count field, reader) reads, after the block, as many blocks
    as that field says with that reader, into a tuple in the count's slot.

    Every parameter's name (each comma-separated part, for a Tuple spread
    over several fields) must be in ``fields``; two parameters may fill one
    field (a deprecated GID and the address that replaced it), the later flag
    winning as in scamper's readers.  Readers are compiled per flag pattern
    and cached, at most ParamTable.MAX_PLANS patterns at a time, by the flag
    bytes themselves when they take as many bytes as the table's flags need
    (no decoding of them at all), else by value.
    """
    slot_of = {n: i for i, n in enumerate(fields)}
    for n in [n for p in table.params for n in p.name.split(",")] + list(required or ()):
        if n not in slot_of:
            raise ValueError(f"parameter {n!r} has no field to go to")
    for p in table.params:
        names = p.name.split(",")
        if len(names) > 1:
            f = _fixed_fmt(p.codec) if isinstance(p.codec, Tuple) else None
            nvalues = len(struct.unpack(">" + f, bytes(struct.calcsize(">" + f)))) if f else 0
            if nvalues != len(names):
                raise ValueError(f"parameter {p.name!r} is not a Tuple of {len(names)} values")
    must = dict(required or {})
    nslots = len(fields)
    mask = (1 << len(table.params)) - 1
    nbytes = (len(table.params) + 6) // 7
    by_value: dict[int, Callable[[Cursor, Any, int], Any]] = {}
    by_bytes: dict[bytes, Callable[[Cursor, Any, int], Any]] = {}
    by_short: dict[bytes, Callable[[Cursor, Any, int], Any]] = {}
    get_short = by_short.get
    # with one flag byte, a list indexed by it (no slice, no hashing)
    first: list[Callable[[Cursor, Any, int], Any] | None] = [None] * 256
    limit = ParamTable.MAX_PLANS
    get = by_bytes.get

    def slow(cur: Cursor) -> Any:
        # Cursor.flags() up to the params length, with its errors
        buf = cur.buf
        pos = start = cur.pos
        end = cur.end
        if pos >= end:
            raise cur.error("truncated: missing flags")
        flags = 0
        shift = 0
        while True:
            if pos >= end:
                raise cur.error("truncated: flags run past end", pos)
            b = buf[pos]
            pos += 1
            flags |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        known = 0 if buf[start] == 0 else (flags & mask or -1)
        fn = by_value.get(known)
        if fn is None:
            if len(by_value) >= limit:
                by_value.clear()
            fn = by_value[known] = _compile(table, slot_of, nslots, known, make, with_cursor,
                                            must, nested)
        if pos - start == 1 and nbytes == 1:
            first[buf[start]] = fn
        elif pos - start == nbytes:
            if len(by_bytes) >= limit:
                by_bytes.clear()
            by_bytes[bytes(buf[start:pos])] = fn
        elif pos - start < nbytes:
            # apart: a slice cut short by the end of the buffer must not
            # find a pattern of fewer bytes
            if len(by_short) >= limit:
                by_short.clear()
            by_short[bytes(buf[start:pos])] = fn
        return fn(cur, buf, pos)

    if nbytes > 1:
        def read(cur: Cursor) -> Any:
            buf = cur.buf
            pos = cur.pos
            fn = get(buf[pos:pos + nbytes])
            if fn is not None:
                return fn(cur, buf, pos + nbytes)
            # a pattern of fewer flag bytes than the table's (its higher
            # flags absent): found by its own bytes, up to the first
            # without the link bit
            k = pos
            last = pos + nbytes - 1
            try:
                while k < last and buf[k] & 0x80:
                    k += 1
            except IndexError:
                return slow(cur)
            fn = get_short(buf[pos:k + 1])
            if fn is None:
                return slow(cur)
            return fn(cur, buf, k + 1)

        return read

    def read1(cur: Cursor) -> Any:
        buf = cur.buf
        pos = cur.pos
        try:
            fn = first[buf[pos]]
        except IndexError:
            return slow(cur)
        if fn is None:
            return slow(cur)
        return fn(cur, buf, pos + 1)

    return read1


def field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names in order: the ``fields`` of fast_reader()
    for a block read straight into ``cls``'s constructor."""
    return tuple(f.name for f in dataclasses.fields(cls))


def dict_reader(table: ParamTable) -> Callable[[Cursor], dict[str, Any]]:
    """``table.read`` compiled by :func:`fast_reader`: the present parameters
    by name (for tables whose codecs never read a value of None)."""
    names = table.names
    read = fast_reader(table, names)

    def read_dict(cur: Cursor) -> dict[str, Any]:
        return {n: v for n, v in zip(names, read(cur), strict=True) if v is not None}

    return read_dict
