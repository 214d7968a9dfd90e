"""The one-shot command line's progress line."""

from __future__ import annotations

import io

from scamperd.cli import Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_progress_line_on_terminal_only() -> None:
    now = [0.0]
    tty = _Tty()
    p = Progress(4, tty, clock=lambda: now[0])
    p.tick(3)
    now[0] = 0.2
    p.tick(2)  # within the redraw interval: not drawn
    now[0] = 1.0
    p.tick(1)
    now[0] = 1.1
    p.tick(0)  # the last one is always drawn
    p.close()
    assert tty.getvalue() == (
        "\rscamperd: 1/4 done (25%), 3 running, 0s"
        "\rscamperd: 3/4 done (75%), 1 running, 1s"
        "\rscamperd: 4/4 done (100%), 0 running, 1s\n")
    plain = io.StringIO()
    q = Progress(4, plain)
    for _ in range(4):
        q.tick(0)
    q.close()
    assert plain.getvalue() == ""
