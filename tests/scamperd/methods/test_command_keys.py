"""A method's command_keys must equal its task's match_keys whenever it
gives any: a source blocks a command on them without building the task."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import CommandContext, parse_command
from scamperd import methods

SRC4, SRC6 = bytes((192, 0, 2, 1)), bytes.fromhex("20010db8" + "00" * 11 + "01")


class FakeNetwork:
    def src_for(self, dst: bytes) -> bytes:
        return SRC6 if len(dst) == 16 else SRC4

    def local_error(self, src: bytes) -> OSError | None:
        return None

    def ifmtu_for(self, dst: bytes) -> int:
        return 1500

    def ifname(self, ifindex: int) -> str | None:
        return None


class FakeHost:
    net = FakeNetwork()

    def listen_for(self, v6: bool, proto: int) -> None:
        pass

    def want_datalink(self, task: Any, keys: tuple[Any, ...]) -> None:
        pass

    def ptr(self, addr: bytes, callback: Any) -> bool:
        return False


@pytest.mark.parametrize("line", [
    "ping 192.0.2.9", "ping -P udp 192.0.2.9", "ping -P udp-dport -c 3 192.0.2.9",
    "ping -P udp-sport -c 3 -F 40000 192.0.2.9", "ping -P tcp-syn 192.0.2.9",
    "ping -P tcp-ack-sport -c 4 -F 50000 2001:db8::9", "ping -P icmp-time 192.0.2.9",
    "ping -F 0 192.0.2.9", "ping -F 7 2001:db8::9",
    "trace 192.0.2.9", "trace -P icmp-paris 2001:db8::9", "trace -P tcp -s 4000 192.0.2.9",
    "trace -P udp -s 0 192.0.2.9", "trace -s 4001 -o 100 2001:db8::9",
    "trace -z 192.0.2.3 -s 4002 192.0.2.9",
])
def test_command_keys_equal_the_tasks(line: str) -> None:
    cmd = parse_command(line, CommandContext(pid=4242))
    method = methods.lookup(cmd)
    assert method is not None
    task = method.factory(cmd, None, FakeHost())
    keys = method.keys(cmd)
    if keys is not None:
        assert keys == tuple(task.match_keys())
    else:
        assert "-F 0" in line or "-s 0" in line
