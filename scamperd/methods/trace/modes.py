"""scamper's trace modes: which phase a trace, and each probe it sent, is in."""

from __future__ import annotations

from enum import IntEnum


class Mode(IntEnum):
    """scamper's trace modes (MODE_* in scamper_trace_do.c), same numbers."""

    TRACE = 2
    LASTDITCH = 3
    PMTUD_DEFAULT = 4
    PMTUD_SILENT_L2 = 5
    PMTUD_SILENT_TTL = 6
    PMTUD_BADSUGG = 7
    DTREE_FIRST = 8
    DTREE_FWD = 9
    DTREE_BACK = 10
    PARALLEL = 11
    PARALLEL_FINISH = 12


PMTUD_MODES = frozenset((Mode.PMTUD_DEFAULT, Mode.PMTUD_SILENT_L2, Mode.PMTUD_SILENT_TTL,
                          Mode.PMTUD_BADSUGG))
