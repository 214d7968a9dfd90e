"""The control socket's line grammar, with scamper's exact error texts."""

from __future__ import annotations

import pytest

from protocol.events import (
    Attach,
    Command,
    Done,
    Exit,
    Format,
    Get,
    GetKey,
    Halt,
    Help,
    LssClear,
    ProtocolError,
    RemoteAdd,
    RemoteDelete,
    RemoteList,
    ServerInput,
    Set,
    SetKey,
    Shutdown,
    ShutdownMode,
    SourceList,
)
from protocol.grammar import attached_line, interactive_line

E = ProtocolError

INTERACTIVE: list[tuple[str, ServerInput]] = [
    ("help", Help()),
    ("HELP me", Help()),
    ("exit", Exit()),
    ("EXIT now", Exit()),
    ("foo", E("unhandled command 'foo'")),
    ("trace 127.0.0.1", E("unhandled command 'trace'")),
    ("done", E("unhandled command 'done'")),
    (" get pps", E("unhandled command ''")),
    ("", E("unhandled command ''")),
    # get compares all the rest of the line
    ("get pps", Get(GetKey.PPS)),
    ("Get  PPS", Get(GetKey.PPS)),
    ("get command", Get(GetKey.COMMAND)),
    ("get monitorname", Get(GetKey.MONITORNAME)),
    ("get nameserver", Get(GetKey.NAMESERVER)),
    ("get pid", Get(GetKey.PID)),
    ("get version", Get(GetKey.VERSION)),
    ("get window", Get(GetKey.WINDOW)),
    ("get", E("usage: get [command | monitorname | nameserver | pid | pps | version | window]")),
    ("get  ", E("usage: get [command | monitorname | nameserver | pid | pps | version | window]")),
    ("get foo", E("unhandled get command 'foo'")),
    ("get pps extra", E("unhandled get command 'pps extra'")),
    # set
    ("set", E("usage: set [command | monitorname | pps | window]")),
    ("set foo 1", E("unhandled set command 'foo'")),
    ("set pps 50", Set(SetKey.PPS, 50)),
    ("SET PPS 010", Set(SetKey.PPS, 8)),
    ("set pps 09", Set(SetKey.PPS, 0)),
    ("set pps 0", Set(SetKey.PPS, 0)),
    ("set pps -5", Set(SetKey.PPS, -5)),
    ("set pps 50 60", Set(SetKey.PPS, 50)),
    ("set window 0", Set(SetKey.WINDOW, 0)),
    ("set pps", E("set pps requires argument")),
    ("set window x", E("set window argument is not an integer")),
    ("set pps 5x", E("set pps argument is not an integer")),
    ("set pps 0x10", E("set pps argument is not an integer")),
    ("set pps +", E("could not convert + to long: Success")),
    ("set pps 99999999999999999999",
     E("could not convert 99999999999999999999 to long: Numerical result out of range")),
    ("set command trace -P icmp-paris", Set(SetKey.COMMAND, "trace -P icmp-paris")),
    ("set command", E("could not set command")),
    ("set monitorname vp1", Set(SetKey.MONITORNAME, "vp1")),
    ("set monitorname", Set(SetKey.MONITORNAME, None)),
    ("set nameserver 10.255.255.53", Set(SetKey.NAMESERVER, "10.255.255.53")),
    ("set nameserver ::1", Set(SetKey.NAMESERVER, "::1")),
    ("set nameserver ns.example", E("could not set nameserver")),
    ("set nameserver", E("could not set nameserver")),
    # shutdown
    ("shutdown done", Shutdown(ShutdownMode.DONE)),
    ("shutdown FLUSH", Shutdown(ShutdownMode.FLUSH)),
    ("shutdown now please", Shutdown(ShutdownMode.NOW)),
    ("shutdown cancel", Shutdown(ShutdownMode.CANCEL)),
    ("shutdown", E("usage: [cancel | done | flush | now]")),
    ("shutdown later", E("unhandled command 'later'")),
    # source
    ("source", E("usage: source [cycle | list]")),
    ("source list", SourceList(None)),
    ("source LIST x", SourceList("x")),
    ('source list "my list"', SourceList("my list")),
    ("source list a b", E("source check params_get failed")),
    ('source list "a b', E("source check params_get failed")),
    ("source cycle x", E("unhandled command 'cycle'")),
    ("source add x", E("unhandled command 'add'")),
    # lss-clear
    ("lss-clear", E("usage: lss-clear [lss-name]")),
    ("lss-clear abc def", LssClear("abc")),
    ("LSS-CLEAR abc", LssClear("abc")),
    # remote
    ("remote", E("usage: remote [add]")),
    ("remote foo", E("unhandled outfile command 'foo'")),
    ("remote list", RemoteList()),
    ("remote add server ctrl.example:4000", RemoteAdd("ctrl.example", 4000)),
    ("remote add server [::1]:4000 ssl off", RemoteAdd("::1", 4000, False)),
    ("remote add SSL ON server 10.0.0.1:4000", RemoteAdd("10.0.0.1", 4000, True)),
    ("remote add server 4000", RemoteAdd(None, 4000)),
    ("remote add", E("usage remote add server <name>")),
    ("remote add ssl on", E("usage remote add server <name>")),
    ("remote add server", E("remote add param 'server' failed")),
    ("remote add server a:1 server b:2", E("remote add param 'server' failed")),
    ("remote add port 1", E("remote add param 'port' failed")),
    ("remote add server a:1 ssl on x", E("remote add params_get failed")),
    ('remote add server "a:1', E("remote add params_get failed")),
    ("remote add server ctrl.example", E("invalid server, expect <name>:<port>")),
    ("remote add server a:0", E("invalid server, expect <name>:<port>")),
    ("remote add server a:1 ssl maybe", E("ssl <on|off>")),
    ("remote delete a:1", RemoteDelete("a", 1)),
    ("remote delete", RemoteDelete(error="missing required parameter for remote delete")),
    ("remote delete a:1 b:2", RemoteDelete(error="remote delete params_get failed")),
    ("remote delete a", RemoteDelete(error="invalid server")),
]


@pytest.mark.parametrize(("line", "event"), INTERACTIVE)
def test_grammar_interactive_lines(line: str, event: ServerInput) -> None:
    assert interactive_line(line) == event


ATTACH: list[tuple[str, ServerInput]] = [
    ("attach", Attach()),
    ("ATTACH format json", Attach(format=Format.JSON)),
    ("attach FORMAT WARTS", Attach(format=Format.WARTS)),
    ("attach priority 100000", Attach(priority=100000)),
    ("attach priority 0x10", Attach(priority=16)),
    ("attach priority 5abc", Attach(priority=5)),
    ('attach priority " 5"', Attach(priority=5)),
    ("attach list_id 4294967295 cycle_id 0", Attach(list_id=4294967295, cycle_id=0)),
    ('attach cycle_id 2 descr "my list" list_id 3 monitor "vp 1" name n priority 4',
     Attach(cycle_id=2, descr="my list", list_id=3, monitor="vp 1", name="n", priority=4)),
    ('attach name ""', Attach(name="")),
    ("attach name a name b", E("command attach param 'name' failed")),
    ("attach Name a NAME b", E("command attach param 'NAME' failed")),
    ("attach colour red", E("command attach param 'colour' failed")),
    ("attach format", E("command attach param 'format' failed")),
    ("attach format json priority", E("command attach param 'priority' failed")),
    ("attach " + " ".join(["name x"] * 7) + " extra", E("could not params_get")),
    ("attach " + " ".join(f"{k} 1" for k in
                          ("cycle_id", "descr", "list_id", "monitor", "name", "priority"))
     + " format warts x y", E("could not params_get")),
    ('attach descr "open', E("could not params_get")),
    ("attach format xml", E("format must be warts or json")),
    ("attach priority 0", E("invalid priority")),
    ("attach priority 100001", E("invalid priority")),
    ("attach priority x", E("invalid priority")),
    ("attach list_id -1", E("invalid list_id")),
    ("attach list_id 4294967296", E("invalid list_id")),
    ("attach cycle_id x", E("invalid cycle_id")),
    # values are checked in alphabetical order of key
    ("attach priority 0 format xml cycle_id x", E("invalid cycle_id")),
    ("attach priority 0 list_id x format xml", E("format must be warts or json")),
    ("attach priority 0 list_id x", E("invalid list_id")),
]


@pytest.mark.parametrize(("line", "event"), ATTACH)
def test_grammar_attach_options_and_errors(line: str, event: ServerInput) -> None:
    assert interactive_line(line) == event


ATTACHED: list[tuple[str, ServerInput]] = [
    ("done", Done()),
    ("DONE", Done()),
    ("done ", Command("done ")),
    ("halt 5", Halt(5)),
    ("HALT   7", Halt(7)),
    ("halt 010", Halt(8)),
    ("halt +5", Halt(5)),
    ("halt 4294967295", Halt(4294967295)),
    ("halt 0", E("halt number invalid")),
    ("halt 09", E("halt number invalid")),
    ("halt -1", E("halt number invalid")),
    ("halt 4294967296", E("halt number invalid")),
    ("halt 99999999999999999999", E("halt number invalid")),
    ("halt +", E("halt number invalid")),
    ("halt x", E("usage: halt [id]")),
    ("halt 5 ", E("usage: halt [id]")),
    ("halt 5 6", E("usage: halt [id]")),
    ("halt ", E("usage: halt [id]")),
    ("halt", Command("halt")),
    ("ping -c 1 127.0.0.1", Command("ping -c 1 127.0.0.1")),
    ("attach", Command("attach")),
    ("exit", Command("exit")),
    ("get pps", Command("get pps")),
]


@pytest.mark.parametrize(("line", "event"), ATTACHED)
def test_grammar_attached_lines(line: str, event: ServerInput) -> None:
    assert attached_line(line, len(line)) == event


def test_grammar_attached_done_needs_exact_length() -> None:
    # "done\0x" truncates to "done" but is six bytes long: not done.
    assert attached_line("done", 6) == Command("done")
