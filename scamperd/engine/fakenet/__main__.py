"""``python -m scamperd.engine.fakenet TOPOLOGY.json [scamperd arguments]``:
scamperd's own main, with the fake network of TOPOLOGY.json (see
topology.py, ``Topology.to_dict``) as its packet I/O, on real time.

For tests that need the daemon as a process (signals, -D, clients in other
threads) but no root: nothing leaves the process.
"""

from __future__ import annotations

import json
import sys
import time

from ...__main__ import main
from ..packetio import TrioClock
from .io import FakeIO
from .topology import Topology


def run(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m scamperd.engine.fakenet TOPOLOGY.json [scamperd args]",
              file=sys.stderr)
        return 255
    with open(argv[0]) as f:
        topology = Topology.from_dict(json.load(f))
    # epoch time as the real clock's, so records carry today's dates
    return main(argv[1:], make_io=lambda: FakeIO(topology, TrioClock(time.time_ns())))


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
