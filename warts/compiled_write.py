"""Compiled writers: a ParamTable written straight from a record's fields.

The mirror of :func:`warts.compiled.fast_reader`.  :meth:`ParamTable.write`
interprets a table one parameter at a time; hops, replies and probes are most
of what the daemon writes, so the type modules had grown hand-written writers
restating their layouts.  :func:`fast_writer` derives one from the table
instead, so each layout is stated once, for reading and writing alike:

1. a function generated (exec) once per table loads each field, refuses a
   missing required one, and computes the flags bitmap from which fields are
   not None, exactly the rule of :meth:`ParamTable.write`;
2. for each flags bitmap met, a second generated function emits the flag
   bytes and the params length as one constant where the parameters are all
   of fixed size (else a placeholder patched at the end), each run of
   fixed-size parameters with one ``struct.pack``, and the other parameters
   through their codec's writer (addresses and interface names through the
   record's tables in write order).

Out-of-range values are refused by ``struct`` (``struct.error``) or by the
codecs; :class:`warts.file.Writer` turns those into :class:`WartsError`.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Sequence
from typing import Any

from .compiled import _fixed_fmt, field_names
from .errors import WartsError
from .wire import FixedBytes, ParamTable, Simple, StateRef, Tuple, flags_bytes


def _tuple_parts(codec: Tuple, v: str) -> str:
    """The struct arguments of one Tuple value held in variable ``v``."""
    cls = codec.cls
    if isinstance(cls, type) and dataclasses.is_dataclass(cls):
        return ", ".join(f"{v}.{f}" for f in field_names(cls))
    return f"*{v}"


def _fixed_write_fmt(codec: Any) -> str | None:
    """The struct codes a codec's value packs to, None where the codec
    itself must write (or check) it: FixedBytes refuses a wrong length,
    which ``struct`` would pad or cut; a read-only StateRef refuses any."""
    if isinstance(codec, FixedBytes):
        return None
    if isinstance(codec, StateRef) and codec.ident is None:
        return None
    return _fixed_fmt(codec)


def fast_writer(table: ParamTable, cls: type | None = None, *, extra: Sequence[str] = (),
                required: dict[str, str] | None = None) -> Callable[..., None]:
    """``write(out, obj, *extra_values)``: one flags+params block of ``table``
    from the fields of ``obj`` (a ``cls``), each written exactly when it is
    not None, as :meth:`ParamTable.write` does.

    Names in ``extra`` are not read from ``obj`` but passed after it, in that
    order (counts, ids, values a record keeps elsewhere).  ``required`` maps
    names to the WartsError raised when their value is None.  A Tuple
    parameter spread over several fields ("icmp_type,icmp_code") is written
    when any of them is set, the others as 0.  Where two parameters fill one
    field (a deprecated global id and the address that replaced it) only the
    later is written; a read-only parameter (a global id) whose name ``cls``
    has no field for is never written.
    """
    fields = set(field_names(cls)) if cls is not None else None
    last = {p.name: i for i, p in enumerate(table.params)}
    var: dict[str, str] = {}  # field name -> local variable
    loads: list[str] = []
    args = [f"e{i}" for i in range(len(extra))]
    for i, n in enumerate(extra):
        var[n] = f"e{i}"
    steps: list[tuple[int, Any, list[str]]] = []  # (mask, codec, variables)
    for i, p in enumerate(table.params):
        if last[p.name] != i:
            continue
        names = p.name.split(",")
        if fields is not None and any(n not in fields and n not in var for n in names):
            if isinstance(p.codec, StateRef) and p.codec.ident is None:
                continue
            raise ValueError(f"parameter {p.name!r} has no field to come from")
        for n in names:
            if n not in var:
                var[n] = f"v{len(var)}"
                loads.append(f" {var[n]} = obj.{n}")
        steps.append((1 << (p.flag - 1), p.codec, [var[n] for n in names]))
    for n in required or {}:
        if n not in var:
            raise ValueError(f"required {n!r} is not a parameter")

    values = sorted(set(var.values()), key=lambda v: (v[0] != "e", int(v[1:])))
    env: dict[str, Any] = {"_plans": {}, "_WartsError": WartsError}
    lines = [f"def write(out, obj{''.join(', ' + a for a in args)}):", *loads]
    for n, msg in (required or {}).items():
        env[f"_m{len(env)}"] = msg
        lines += [f" if {var[n]} is None:", f"  raise _WartsError(_m{len(env) - 1})"]
    lines.append(" flags = 0")
    for mask, _, vs in steps:
        lines += [f" if {' or '.join(f'{v} is not None' for v in vs)}:",
                  f"  flags |= {mask:#x}"]
    lines += [" emit = _plans.get(flags)", " if emit is None:",
              "  emit = _compile(flags)", f" emit(out, out.buf, {', '.join(values)})"]
    limit = ParamTable.MAX_PLANS
    plans: dict[int, Callable[..., None]] = env["_plans"]
    where = f"<{table.names[0]}.. writer>"

    def compile_plan(flags: int) -> Callable[..., None]:
        fn = _compile_emit(flags, steps, values, where)
        if len(plans) >= limit:
            plans.clear()
        plans[flags] = fn
        return fn

    env["_compile"] = compile_plan
    exec(compile("\n".join(lines), where, "exec"), env)
    return env["write"]  # type: ignore[no-any-return]


def _compile_emit(flags: int, steps: list[tuple[int, Any, list[str]]], values: list[str],
                  where: str) -> Callable[..., None]:
    """The emitter of one flags bitmap: ``emit(out, buf, *values)``."""
    env: dict[str, Any] = {"_WartsError": WartsError}
    body: list[str] = []
    run_fmt: list[str] = []
    run_args: list[str] = []
    fixed_size = 0  # bytes of the parameters when all are of fixed size
    variable = False

    def flush() -> None:
        if run_fmt:
            env[f"_st{len(env)}"] = struct.Struct(">" + "".join(run_fmt)).pack
            body.append(f" buf += _st{len(env) - 1}({', '.join(run_args)})")
            run_fmt.clear()
            run_args.clear()

    for mask, codec, vs in steps:
        if not flags & mask:
            continue
        fmt = _fixed_write_fmt(codec)
        if fmt is None:
            flush()
            variable = True
            fn = codec.writer if isinstance(codec, Simple) else codec.write
            env[f"_c{len(env)}"] = fn
            body.append(f" _c{len(env) - 1}(out, {vs[0]})")
            continue
        fixed_size += struct.calcsize(">" + fmt)
        run_fmt.append(fmt)
        if len(vs) > 1:  # one field per integer; an absent one is written as 0
            run_args += [f"0 if {v} is None else {v}" for v in vs]
        elif isinstance(codec, StateRef):  # a list or cycle: its id in this file
            run_args.append(f"out.state.{codec.ident}({vs[0]})")
        elif isinstance(codec, Tuple):
            run_args.append(_tuple_parts(codec, vs[0]))
        elif len(fmt) > 1:  # a timeval
            run_args.append(f"*{vs[0]}")
        else:
            run_args.append(vs[0])
    flush()
    head = flags_bytes(flags)
    lines = [f"def emit(out, buf, {', '.join(values)}):"]
    if not flags:
        lines.append(" buf.append(0)")
    elif not variable:
        # the params length is known now: flags, length and values in one go
        lines.append(f" buf += {head + struct.pack('>H', fixed_size)!r}")
        lines += body
    else:
        lines += [f" buf += {head + b'  '!r}", " at = len(buf) - 2", *body,
                  " n = len(buf) - at - 2",
                  " if n > 0xFFFF:",
                  '  raise _WartsError(f"parameters of {n} bytes exceed the u16 length")',
                  " buf[at] = n >> 8", " buf[at + 1] = n & 0xFF"]
    exec(compile("\n".join(lines), f"{where[:-1]} {flags:#x}>", "exec"), env)
    return env["emit"]  # type: ignore[no-any-return]
