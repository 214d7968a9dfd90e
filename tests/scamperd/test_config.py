"""scamper's command line: what is accepted, into what, and the usage errors."""

from __future__ import annotations

import pytest

from scamperd.__main__ import main
from scamperd.config import ALL, EXIT_FAILURE, Config, ConfigError, parse_args, usage


@pytest.mark.parametrize(("argv", "expect"), [
    (["-P", "31337"], {"ctrl_inet": ("127.0.0.1", 31337), "command": "trace"}),
    (["-P", "10.0.0.1:80"], {"ctrl_inet": ("10.0.0.1", 80)}),
    (["-P", "[::1]:5000"], {"ctrl_inet": ("::1", 5000)}),
    (["-U", "/tmp/s", "-P", "1"], {"ctrl_unix": "/tmp/s", "ctrl_inet": ("127.0.0.1", 1)}),
    (["-P", "1", "-p", "50000"], {"pps": 50000}),
    (["-P", "1", "-p", "0", "-w", "4"], {"pps": 0, "window": 4}),
    (["-P", "1", "-w", "65535"], {"window": 65535}),
    (["-P", "1", "-c", "ping -c 1"], {"command": "ping -c 1"}),
    (["-P", "1", "-D", "-e", "/run/s.pid", "-M", "vp1"],
     {"daemon": True, "pidfile": "/run/s.pid", "monitorname": "vp1"}),
    (["-P", "1", "-O", "nodataid"], {"data_ids": False}),
    (["-P", "1"], {"data_ids": True, "control": True}),
    (["-P", "1", "-O", "JSON", "-O", "notls"], {"outtype": "json", "flags": frozenset({"notls"})}),
    (["-I", "ping 1.2.3.4", "-I", "trace 1.2.3.4"],
     {"inputs": "cmdlist", "args": ("ping 1.2.3.4", "trace 1.2.3.4"), "command": None}),
    (["-i", "1.2.3.4", "5.6.7.8", "-c", "ping"],
     {"inputs": "ip", "args": ("1.2.3.4", "5.6.7.8"), "command": "ping"}),
    (["-l", "mylist", "-L", "5", "-C", "7", "-i", "1.1.1.1"],
     {"listname": "mylist", "listid": 5, "cycleid": 7}),
    (["-f", "addrs.txt"], {"inputs": "infile", "args": ("addrs.txt",), "command": "trace"}),
    (["addrs.txt", "-O", "cmdfile"], {"inputs": "infile", "intype": "cmdfile"}),
    (["-o", "x.warts", "-i", "1.1.1.1"], {"outfile": "x.warts", "outtype": "warts"}),
    (["-o", "x.json", "-i", "1.1.1.1"], {"outtype": "json"}),
    (["-o", "x.warts.gz", "-O", "text", "-i", "1.1.1.1"], {"outtype": "text"}),
    (["-D", "-o", "x.warts", "-i", "1.1.1.1"], {"daemon": True}),
    (["-v"], {"version": True}),
])
def test_config_accepts(argv: list[str], expect: dict[str, object]) -> None:
    cfg = parse_args(argv)
    assert isinstance(cfg, Config)
    for k, v in expect.items():
        assert getattr(cfg, k) == v, k


@pytest.mark.parametrize(("argv", "letters", "extra"), [
    (["-P", "1", "-p", "0"], "pw", ""),
    (["-P", "1", "-p", "50001"], "pw", ""),
    (["-P", "1", "-w", "65536"], "pw", ""),
    (["-P", "1", "-p", "x"], "p", ""),
    (["-P", "0"], "P", ""),
    (["-P", "1", "stray"], "P", ""),
    (["-U", "/s", "x"], "U", ""),
    (["-P", "1", "-i", "1.2.3.4"], "Pi", ""),
    (["-i", "1.1.1.1", "-I", "ping 1.1.1.1"], "iI", ""),
    (["-i"], "i", ""),
    (["-I"], "I", ""),
    ([], "", ""),
    (["a", "b"], "", ""),
    (["-P", "1", "-O", "bogus"], "O", ""),
    (["-P", "1", "-O", "poll", "-O", "epoll"], "O", ""),
    (["-P", "1", "-L", "0"], "L", ""),
    (["-P", "1", "-C", "x"], "C", ""),
    (["-P", "1", "-H", "61"], "H", "invalid holdtime\n"),
    (["-D", "-i", "1.1.1.1"], "DPURo", ""),
    (["-D", "-o", "-", "-P", "1"], "Do", "cannot output to stdout with daemon\n"),
    (["-D", "-o", "x", "-P", "1"], "DoP", "outfile does not make sense with options\n"),
    (["-P", "1", "-O", "client-certfile=c"], "R", ""),
])
def test_config_rejects_with_scamper_usage(argv: list[str], letters: str, extra: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_args(argv)
    assert exc.value.text == usage(frozenset(letters)) + extra
    assert exc.value.status == EXIT_FAILURE


def test_config_getopt_errors_print_glibc_message_and_full_usage() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_args(["-x"], prog="scamperd")
    assert exc.value.text == "scamperd: invalid option -- 'x'\n" + usage(ALL)
    with pytest.raises(ConfigError) as exc:
        parse_args(["-P"], prog="scamperd")
    assert exc.value.text == "scamperd: option requires an argument -- 'P'\n" + usage(ALL)
    with pytest.raises(ConfigError) as exc:
        parse_args(["-?"])
    assert exc.value.text == usage(ALL)


def test_config_usage_text_lines() -> None:
    text = usage(frozenset("pP"))
    assert text.endswith("            -p number of packets per second to send (1 <= pps <= 50000)\n"
                         "            -P [ip:]port for control socket, default to loopback\n")
    assert "               nodataid: " in usage(frozenset("O"))


def test_config_option_clusters_and_attached_values() -> None:
    cfg = parse_args(["-Dp100", "-P127.0.0.1:9000"])
    assert (cfg.daemon, cfg.pps, cfg.ctrl_inet) == (True, 100, ("127.0.0.1", 9000))


def test_config_main_prints_version_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v"]) == 0
    assert capsys.readouterr().out == "scamper version 20260420\n"
    assert main(["-P", "1", "-p", "0"]) == EXIT_FAILURE
    assert capsys.readouterr().err == usage(frozenset("pw"))

