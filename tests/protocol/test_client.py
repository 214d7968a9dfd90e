"""The client side: decoding scamper's stream, encoding commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    CLOSED,
    NEED_DATA,
    Attach,
    ClientConnection,
    ClientEvent,
    Command,
    ControlConnection,
    Data,
    Done,
    Err,
    Exit,
    Format,
    Get,
    GetKey,
    Halt,
    Help,
    Info,
    LocalProtocolError,
    LssClear,
    More,
    Ok,
    OkId,
    RemoteAdd,
    RemoteDelete,
    RemoteList,
    RemoteProtocolError,
    Sentinel,
    ServerEvent,
    Set,
    SetKey,
    Shutdown,
    ShutdownMode,
    SourceList,
)
from tests.strategies import u32

CAPTURES = Path("/work/shared/reference/captures")


def drain(client: ClientConnection) -> list[ServerEvent | Sentinel]:
    out: list[ServerEvent | Sentinel] = []
    while True:
        ev = client.next_event()
        out.append(ev)
        if isinstance(ev, Sentinel):
            return out


def test_client_decodes_final_capture() -> None:
    client = ClientConnection()
    raw = (CAPTURES / "final.raw").read_bytes()
    # Feed it a byte at a time: framing must not depend on reads.
    got: list[ServerEvent | Sentinel] = []
    for i in range(len(raw)):
        client.receive_data(raw[i:i + 1])
        got += [ev for ev in drain(client) if ev is not NEED_DATA]
    client.receive_data(b"")
    got += drain(client)
    kinds = [type(ev).__name__ for ev in got]
    assert kinds == ["Ok", "More", "Data", "Data", "OkId", "More", "Data", "Ok", "Data",
                     "Sentinel"]
    assert got[-1] is CLOSED
    payloads = b"".join(ev.payload for ev in got if isinstance(ev, Data))
    assert payloads == (CAPTURES / "final.warts").read_bytes()


@pytest.mark.parametrize(("line", "event"), [
    (b"OK\n", Ok()), (b"OK id-12\n", OkId(12)), (b"OK halted 3\n", Ok("halted 3")),
    (b"OK pps 20\n", Ok("pps 20")), (b"ERR command not accepted: x\n",
                                     Err("command not accepted: x")),
    (b"MORE\n", More()), (b"INFO 127.0.0.1:4000\n", Info("127.0.0.1:4000")),
    (b"DATA 28 id-4 inprog\n1$@4`!`````D````!:PM7T@``\n`\n",
     Data(bytes.fromhex("1205000400000009000000016b0b57d200"), 4, True)),
    (b'DATA 3\n{}\n', Data(b"{}\n")),
])
def test_client_decodes_lines(line: bytes, event: ServerEvent) -> None:
    client = ClientConnection()
    client.receive_data(line)
    assert drain(client) == [event, NEED_DATA]


@pytest.mark.parametrize("data", [b"HELLO\n", b"MORE \n", b"DATA x\n", b"OK id-\xff\n",
                                  b"DATA 4\nxyz\n"])
def test_client_rejects_garbage(data: bytes) -> None:
    client = ClientConnection()
    client.receive_data(data)
    with pytest.raises(RemoteProtocolError):
        drain(client)


def test_client_eof_inside_data_is_an_error() -> None:
    client = ClientConnection()
    client.receive_data(b"DATA 28\n1$@4")
    client.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        drain(client)


@pytest.mark.parametrize(("event", "line"), [
    (Attach(), b"attach\n"),
    (Attach(format=Format.JSON, priority=2, name="a b", descr=""),
     b'attach format json priority 2 name "a b" descr ""\n'),
    (Command("ping 127.0.0.1"), b"ping 127.0.0.1\n"),
    (Halt(3), b"halt 3\n"), (Done(), b"done\n"), (Get(GetKey.PID), b"get pid\n"),
    (Set(SetKey.PPS, 50), b"set pps 50\n"), (Set(SetKey.MONITORNAME, None), b"set monitorname\n"),
    (Help(), b"help\n"), (Exit(), b"exit\n"), (Shutdown(ShutdownMode.NOW), b"shutdown now\n"),
    (SourceList(), b"source list\n"), (SourceList("x y"), b'source list "x y"\n'),
    (LssClear("lss"), b"lss-clear lss\n"), (RemoteList(), b"remote list\n"),
    (RemoteAdd("::1", 4000, True), b"remote add server [::1]:4000 ssl on\n"),
    (RemoteDelete("h", 1), b"remote delete h:1\n"),
])
def test_client_encodes_commands(event: ClientEvent, line: bytes) -> None:
    assert ClientConnection().send(event) == line


@pytest.mark.parametrize("event", [
    Command("ping\t1.2.3.4"), Command("a\nb"), Attach(name='say "hi"'),
    RemoteDelete(error="invalid server"), Command("caf\u00e9"),
])
def test_client_refuses_unsendable(event: ClientEvent) -> None:
    with pytest.raises(LocalProtocolError):
        ClientConnection().send(event)


# -- round trips through both ends --------------------------------------------

WORD = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                      blacklist_characters='"'), min_size=1, max_size=8)
PHRASE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E,
                                        blacklist_characters='"'), max_size=12)

CLIENT_EVENTS = st.one_of(
    st.builds(Attach, st.sampled_from(Format), st.integers(1, 100000), u32, u32,
              st.none() | PHRASE, st.none() | PHRASE, st.none() | PHRASE),
    st.builds(Halt, st.integers(1, 2**32 - 1)),
    st.just(Done()), st.just(Help()), st.just(RemoteList()),
    st.builds(Get, st.sampled_from(GetKey)),
    st.builds(Set, st.sampled_from([SetKey.PPS, SetKey.WINDOW]), st.integers(-10**6, 10**6)),
    st.builds(Shutdown, st.sampled_from(ShutdownMode)),
    st.builds(SourceList, st.none() | PHRASE.filter(lambda s: not s.startswith(" "))),
    st.builds(LssClear, WORD),
    st.builds(RemoteAdd, WORD.filter(lambda s: ":" not in s and s[0] != "["),
              st.integers(1, 65535), st.none() | st.booleans()),
)


@given(CLIENT_EVENTS)
def test_client_encoding_parses_back_on_the_server(event: ClientEvent) -> None:
    line = ClientConnection().send(event)
    server = ControlConnection(attached=isinstance(event, Done | Halt))
    server.receive_data(line)
    assert server.next_event() == event


PAYLOADS = st.binary(min_size=6, max_size=300).map(lambda b: b"\x12\x05\x00\x06" + b)
SERVER_EVENTS = st.one_of(
    st.builds(Ok, st.none() | PHRASE.filter(lambda s: s and not s.startswith("id-"))),
    st.builds(OkId, u32), st.builds(Err, PHRASE), st.just(More()),
    st.builds(Data, PAYLOADS, st.none() | u32, st.booleans()),
)


@given(st.lists(SERVER_EVENTS, max_size=8))
def test_client_decodes_what_the_server_sends(sent: list[ServerEvent]) -> None:
    server = ControlConnection(attached=True)
    stream = b"".join(server.send(ev) for ev in sent)
    client = ClientConnection()
    if stream:
        client.receive_data(stream)
    client.receive_data(b"")
    expected = [Data(ev.payload, ev.task_id, ev.inprog and ev.task_id is not None)
                if isinstance(ev, Data) else ev for ev in sent]
    assert drain(client) == [*expected, CLOSED]
