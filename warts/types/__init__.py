"""One module per warts record type; importing this registers them all."""

from __future__ import annotations

import importlib

# Each module registers its RecordType with warts.registry on import.  A module
# that is not there yet is simply not registered: its objects are then read
# as warts.UnknownObject and written back verbatim.
_MODULES = ("ping", "trace", "tracelb", "dealias", "sting", "neighbourdisc",
            "tbit", "sniff", "host", "http", "udpprobe", "owamp")

for _name in _MODULES:
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _e:
        if _e.name != f"{__name__}.{_name}":
            raise
