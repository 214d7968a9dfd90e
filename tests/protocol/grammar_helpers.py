"""What the command-grammar tests share: addresses printed as scamper's
harnesses printed them, and a grammar's refusal as text."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from protocol.cstrings import IPAddress
from protocol.errors import CommandError


def ntop(addr: IPAddress | None) -> str:
    """inet_ntop() of an address, ``-`` for none."""
    if addr is None:
        return "-"
    family = socket.AF_INET if addr.version == 4 else socket.AF_INET6
    return socket.inet_ntop(family, addr.packed)


def refusal(parse: Callable[[str], Any], args: str) -> str:
    """The reason ``parse(args)`` refuses ``args`` with."""
    with pytest.raises(CommandError) as exc:
        parse(args)
    return str(exc.value)
