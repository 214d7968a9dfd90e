"""What every measurement grammar receives besides its text."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from ..cstrings import IPAddress


def _random_u32() -> int:
    return secrets.randbits(32)


@dataclass(frozen=True)
class CommandContext:
    """Process facts scamper's parsers read, passed in to keep parsing pure.

    ``pid`` feeds the default ICMP id and source port (scamper uses
    ``getpid() & 0xffff``).  ``can_probe`` is the do-not-probe list check
    (None: everything may be probed).  ``random_u32`` supplies the random TCP
    sequence/acknowledgement numbers scamper draws while parsing.
    """

    pid: int = field(default_factory=os.getpid)
    can_probe: Callable[[IPAddress], bool] | None = None
    random_u32: Callable[[], int] = _random_u32

    @property
    def pid16(self) -> int:
        return self.pid & 0xFFFF

    @property
    def default_sport(self) -> int:
        """scamper_sport_default(): pid16 with the top bit set."""
        return self.pid16 | 0x8000
