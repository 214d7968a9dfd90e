"""Start-up stays cheap (issue 11: exec to the control socket accepting a
connection under 0.15 s): what the daemon imports before it listens must not
pull in code only some commands or tools need.

| left out at start-up | imported when |
|---|---|
| warts.registry (every record type and renderer, ~100 ms) | a record is written or rendered |
| protocol.commands.dealias (~14 ms) | a dealias command is parsed |
| the trace method package (~25 ms) | a trace runs, or lss-clear is asked |

The figures are measured with ``python -X importtime``; this test checks the
import graph only, which does not depend on how busy the machine is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What ``python -m scamperd -U SOCK`` imports before it listens.
START = "import scamperd.__main__, scamperd.cli, scamperd.daemon, scamperd.control"
LAZY = ("warts.registry", "warts.file", "warts.types.ping", "warts.types.trace",
        "protocol.commands.dealias", "protocol.commands.dealias_methods",
        "scamperd.methods.trace", "scamperd.methods.ping", "scamperd.methods.dealias")


def _modules(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(*sys.modules)"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_daemon_start_leaves_heavy_modules_unimported() -> None:
    loaded = _modules(START)
    assert "trio" in loaded and "protocol.control" in loaded
    assert not loaded & set(LAZY)


def test_lazy_names_still_resolve() -> None:
    loaded = _modules(START + "\n"
                      "import protocol, warts\n"
                      "from scamperd import methods\n"
                      "assert protocol.DealiasCommand.__name__ == 'DealiasCommand'\n"
                      "assert methods.METHODS[protocol.DealiasCommand].name == 'dealias'\n"
                      "assert warts.Writer and warts.ListInfo and warts.registry.BY_TYPE\n"
                      "assert warts.to_json(warts.CycleStop(warts.CycleInfo("
                      "warts.ListInfo(1, 'l'), 1, 1), 2))")
    assert {"warts.registry", "protocol.commands.dealias", "scamperd.methods.dealias"} <= loaded


def test_dealias_parses_through_the_lazy_grammar() -> None:
    from protocol import parse_command
    from protocol.commands.dealias import DealiasCommand

    cmd = parse_command("dealias -m ally 192.0.2.1 192.0.2.2")
    assert isinstance(cmd, DealiasCommand)
