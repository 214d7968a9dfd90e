"""The server-side state machine: line rules, states, and the real captures."""

from __future__ import annotations

import struct
from ipaddress import ip_address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    CLOSED,
    NEED_DATA,
    Attach,
    Command,
    ControlConnection,
    Data,
    Done,
    Eof,
    Err,
    Exit,
    Format,
    Get,
    GetKey,
    Halt,
    Info,
    LocalProtocolError,
    More,
    Ok,
    OkId,
    ProtocolError,
    Sentinel,
    ServerInput,
    State,
    parse_command,
)
from protocol.commands import GRAMMARS, CommandContext, PingCommand
from protocol.control import SENDABLE, TRANSITIONS, Trigger

CAPTURES = Path("/work/shared/reference/captures")
BAD_CHAR = ProtocolError("invalid character in line", fatal=True)


def events(conn: ControlConnection, data: bytes = b"") -> list[ServerInput | Sentinel]:
    """Feed data, then drain events up to and including NEED_DATA/CLOSED."""
    if data:
        conn.receive_data(data)
    out: list[ServerInput | Sentinel] = []
    while True:
        ev = conn.next_event()
        out.append(ev)
        if isinstance(ev, Sentinel):
            return out


def warts_records(data: bytes) -> list[bytes]:
    """Split a warts file into records (8-byte header: magic, type, length)."""
    records = []
    pos = 0
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos + 4)
        records.append(data[pos:pos + 8 + length])
        pos += 8 + length
    return records


# -- line rules ---------------------------------------------------------------


@pytest.mark.parametrize(("data", "expected"), [
    (b"get pps\n", [Get(GetKey.PPS)]),
    (b"get pps\r\n", [Get(GetKey.PPS)]),
    (b"\n\n\r\nget pps\n", [Get(GetKey.PPS)]),
    (b"GET PPS\n", [Get(GetKey.PPS)]),
    (b"get pps", []),
    (b"get pps\r\r\n", [BAD_CHAR]),
    (b"get\tpps\n", [BAD_CHAR]),
    (b"get pps\x7f\n", [BAD_CHAR]),
    (b"get pps\x80\n", [BAD_CHAR]),
    (b"get pps\x1b\n", [BAD_CHAR]),
    # scamper's isprint check (and the line) stops at a NUL byte.
    (b"get pps\x00junk\x01\n", [Get(GetKey.PPS)]),
    (b"\x00abc\n", [ProtocolError("unhandled command ''")]),
    (b"get pps\nget pid\xff\nget pps\n", [Get(GetKey.PPS), BAD_CHAR]),
    (b"foo\n", [ProtocolError("unhandled command 'foo'")]),
])
def test_control_line_rules(data: bytes, expected: list[ServerInput]) -> None:
    conn = ControlConnection()
    assert events(conn, data)[:-1] == expected


def test_control_lines_split_across_reads() -> None:
    conn = ControlConnection()
    assert events(conn, b"ge") == [NEED_DATA]
    assert events(conn, b"t p") == [NEED_DATA]
    assert events(conn, b"ps\r") == [NEED_DATA]
    assert events(conn, b"\nget pid\nget") == [Get(GetKey.PPS), Get(GetKey.PID), NEED_DATA]


def test_control_bad_line_flushes_and_ignores_the_rest() -> None:
    conn = ControlConnection()
    assert events(conn, b"attach\nping\t1.2.3.4\nping 1.2.3.4\n") == [
        Attach(), BAD_CHAR, NEED_DATA]
    assert conn.state is State.FLUSH
    assert events(conn, b"done\n") == [NEED_DATA]
    assert conn.send(Err("invalid character in line")) == b"ERR invalid character in line\n"
    with pytest.raises(LocalProtocolError):
        conn.send(More())
    conn.receive_data(b"")
    assert events(conn) == [Eof(), CLOSED]


def test_control_line_length_is_bounded() -> None:
    conn = ControlConnection(max_line=10)
    assert events(conn, b"get pps   ") == [NEED_DATA]
    assert events(conn, b"\r") == [NEED_DATA]  # ten characters and a "\r" so far
    assert events(conn, b"\n") == [ProtocolError("unhandled get command 'pps   '"), NEED_DATA]
    assert events(conn, b"x" * 12) == [ProtocolError("line too long", fatal=True), NEED_DATA]
    assert conn.state is State.FLUSH
    conn = ControlConnection(max_line=10)
    assert events(conn, b"x" * 11 + b"\n") == [ProtocolError("line too long", fatal=True),
                                               NEED_DATA]


# -- states -------------------------------------------------------------------


def test_control_exit_closes_at_once() -> None:
    conn = ControlConnection()
    assert events(conn, b"exit\nget pps\n") == [Exit(), CLOSED]
    assert conn.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        conn.send(Ok())


def test_control_eof_in_interactive_mode() -> None:
    conn = ControlConnection()
    conn.receive_data(b"get pps\nget pi")
    conn.receive_data(b"")
    # The complete line is handled; the partial one is dropped, as by scamper.
    assert events(conn) == [Get(GetKey.PPS), Eof(), CLOSED]
    assert conn.state is State.FLUSH
    assert conn.send(Ok("pps 20")) == b"OK pps 20\n"
    conn.close()
    assert conn.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"x")


def test_control_attached_session_states() -> None:
    conn = ControlConnection()
    assert events(conn, b"attach\n") == [Attach(), NEED_DATA]
    assert conn.state is State.ATTACHED
    assert events(conn, b"ping 127.0.0.1\nhalt 1\ndone\nping ::1\n") == [
        Command("ping 127.0.0.1"), Halt(1), Done(), Command("ping ::1"), NEED_DATA]
    assert conn.state is State.DONE
    assert conn.send(OkId(2)) == b"OK id-2\n"
    with pytest.raises(LocalProtocolError):
        conn.send(More())
    with pytest.raises(LocalProtocolError):
        conn.send(Info("x"))
    conn.receive_data(b"")
    assert events(conn) == [Eof(), CLOSED]
    assert conn.state is State.FLUSH


def test_control_remote_channel_starts_attached() -> None:
    conn = ControlConnection(attached=True)
    assert conn.state is State.ATTACHED and conn.format is Format.WARTS
    assert events(conn, b"ping -c 1 127.0.0.1\n") == [Command("ping -c 1 127.0.0.1"), NEED_DATA]
    assert events(conn, b"attach\n") == [Command("attach"), NEED_DATA]


def test_control_interactive_replies_only() -> None:
    conn = ControlConnection()
    for event in (OkId(1), More(), Data(b"\x12\x05\x00\x01\x00\x00\x00\x00")):
        with pytest.raises(LocalProtocolError):
            conn.send(event)
    assert conn.send(Info("name 'x'")) == b"INFO name 'x'\n"
    assert conn.send(Ok()) == b"OK\n"
    assert conn.send(Err("XXX: todo")) == b"ERR XXX: todo\n"


def test_control_transition_table_is_closed_over_states() -> None:
    for (state, trigger), target in TRANSITIONS.items():
        assert isinstance(state, State) and isinstance(trigger, Trigger)
        assert isinstance(target, State)
    assert set(SENDABLE) == set(State)
    for state in State:
        assert TRANSITIONS[(state, Trigger.CLOSE)] is State.CLOSED


def test_control_send_rejects_bad_text_and_payloads() -> None:
    conn = ControlConnection(attached=True)
    with pytest.raises(LocalProtocolError):
        conn.send(Err("two\nlines"))
    with pytest.raises(LocalProtocolError):
        conn.send(Ok("caf\u00e9"))
    with pytest.raises(LocalProtocolError):
        conn.send(Data(b"\x12\x05\x00"))
    with pytest.raises(LocalProtocolError):
        conn.send(Data(b"{json is not warts}"))


# -- DATA framing and the captures --------------------------------------------


def replay(name: str, lines: list[bytes], data_ids: bool) -> tuple[bytes, ControlConnection]:
    """Drive a connection through a captured session and return what it sent.

    The captured stream's text replies are turned back into events and its
    DATA payloads taken from the matching .warts file; what comes out must be
    byte-identical to what scamper wrote.
    """
    raw = (CAPTURES / f"{name}.raw").read_bytes()
    records = iter(warts_records((CAPTURES / f"{name}.warts").read_bytes()))
    conn = ControlConnection(data_ids=data_ids)
    inputs = iter(lines)
    out = b""
    task = 0
    pos = 0
    while pos < len(raw):
        end = raw.index(b"\n", pos)
        line = raw[pos:end].decode()
        pos = end + 1
        if line in ("OK", "OK id-1", "OK id-2"):
            # Each of these answers the next line the client sent.
            ev = events(conn, next(inputs))[0]
            if line == "OK":
                assert isinstance(ev, Attach | Done)
                out += conn.send(Ok())
            else:
                assert isinstance(ev, Command)
                parse_command(ev.line)
                task += 1
                out += conn.send(OkId(task))
        elif line == "MORE":
            out += conn.send(More())
        else:
            assert line.startswith("DATA ")
            record = next(records)
            pos += int(line.split()[1])
            rectype = struct.unpack_from(">H", record, 2)[0]
            out += conn.send(Data(record, task if rectype in (6, 7) else None,
                                  ends_cycle=rectype == 4))
    return out, conn


def any_trace(args: str, ctx: CommandContext) -> PingCommand:
    """Stands in for the trace grammar, which is not written yet."""
    return PingCommand(dst=ip_address(args.split()[-1]))


@pytest.mark.parametrize(("name", "lines"), [
    ("final", [b"attach\n", b"ping -c 1 127.0.0.1\n", b"done\n"]),
    ("trace_session", [b"attach\n", b"trace 127.0.0.1\n", b"ping 127.0.0.1\n", b"done\n"]),
])
def test_control_reproduces_capture_exactly(name: str, lines: list[bytes],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GRAMMARS, "trace", any_trace)
    out, conn = replay(name, lines, data_ids=False)
    assert out == (CAPTURES / f"{name}.raw").read_bytes()
    assert conn.state is State.FLUSH  # the cycle-stop record went out


def test_control_data_headers_carry_task_ids() -> None:
    out, _ = replay("final", [b"attach\n", b"ping -c 1 127.0.0.1\n", b"done\n"], data_ids=True)
    raw = (CAPTURES / "final.raw").read_bytes()
    assert out == raw.replace(b"DATA 136\n", b"DATA 136 id-1\n")
    conn = ControlConnection(attached=True)
    ping = warts_records((CAPTURES / "final.warts").read_bytes())[2]
    assert conn.send(Data(ping, 7, inprog=True)).startswith(b"DATA 136 id-7 inprog\nM$@4")


def test_control_json_mode_sends_objects_and_stops_on_cycle_stop() -> None:
    conn = ControlConnection()
    assert events(conn, b"attach format json\n")[0] == Attach(format=Format.JSON)
    start = (b'{"type":"cycle-start", "list_name":"127.0.0.1:33800", "id":1, '
             b'"hostname":"vm", "start_time":1795905256}')
    assert len(start) == 103
    assert conn.send(Data(start)) == b"DATA 104\n" + start + b"\n"
    assert conn.send(Data(start + b"\n", 1)) == b"DATA 104 id-1\n" + start + b"\n"
    stop = b'{"type":"cycle-stop", "list_name":"127.0.0.1:33800", "id":1}'
    assert conn.state is State.ATTACHED
    conn.send(Data(stop[:20] + b"}"))  # the bytes do not say it: the event does
    assert conn.state is State.ATTACHED
    conn.send(Data(stop, ends_cycle=True))
    assert conn.state is State.FLUSH


# -- properties ---------------------------------------------------------------

EVENT_TYPES = (Attach, Command, Done, Halt, Eof, ProtocolError, Get, Exit)


@settings(max_examples=300)
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=10), st.booleans(), st.booleans())
def test_control_random_bytes_never_raise(chunks: list[bytes], attached: bool,
                                          eof: bool) -> None:
    conn = ControlConnection(attached=attached, max_line=64)
    seen: list[ServerInput | Sentinel] = []
    for chunk in chunks + ([b""] if eof else []):
        if conn.state is State.CLOSED:
            break
        conn.receive_data(chunk)
        seen += events(conn)
    for ev in seen:
        assert isinstance(ev, Sentinel) or type(ev).__module__ == "protocol.events"
    fatal = [i for i, ev in enumerate(seen) if isinstance(ev, ProtocolError) and ev.fatal]
    if fatal:
        # after a fatal error nothing but end of input is reported
        assert all(isinstance(ev, Sentinel | Eof) for ev in seen[fatal[0] + 1:])


@given(st.binary(max_size=200), st.data())
def test_control_events_do_not_depend_on_read_boundaries(data: bytes,
                                                         draw: st.DataObject) -> None:
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=6)))
    whole = ControlConnection()
    expected = [ev for ev in events(whole, data) if not isinstance(ev, Sentinel)]
    pieces = ControlConnection()
    got: list[ServerInput | Sentinel] = []
    prev = 0
    for cut in cuts + [len(data)]:
        if pieces.state is State.CLOSED:
            break
        if data[prev:cut]:
            got += events(pieces, data[prev:cut])
        prev = cut
    assert [ev for ev in got if not isinstance(ev, Sentinel)] == expected
