"""One module per warts record type; importing this registers them all."""

from __future__ import annotations

# Each module registers its RecordType with warts.registry on import.
from . import (  # noqa: F401
    dealias,
    host,
    http,
    neighbourdisc,
    owamp,
    ping,
    sniff,
    sting,
    tbit,
    trace,
    tracelb,
    udpprobe,
)
