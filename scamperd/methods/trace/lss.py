"""Doubletree local stop sets: named sets of addresses shared by traces.

scamper keeps one process-wide tree of local stop sets (``lsses`` in
scamper_trace_do.c): a trace with ``-Z NAME`` gets the set called NAME when
it starts, creating it empty on first use, and every address its backward
probing sees is added for later traces with the same name.  The control
command ``lss-clear NAME`` empties a set; it fails for a name no trace has
used yet.  Sets live as long as the process: :data:`STORE` is the daemon's.
"""

from __future__ import annotations


class LssStore:
    """name -> set of raw addresses (4 or 16 bytes)."""

    def __init__(self) -> None:
        self._sets: dict[str, set[bytes]] = {}

    def get(self, name: str) -> set[bytes]:
        """trace_lss_get(): the set called ``name``, created on first use.
        The set itself is returned: traces add to it in place."""
        s = self._sets.get(name)
        if s is None:
            s = self._sets[name] = set()
        return s

    def clear(self, name: str) -> bool:
        """scamper_do_trace_dtree_lss_clear(): empty the set; False when no
        trace has used the name (the set stays known, only emptied)."""
        s = self._sets.get(name)
        if s is None:
            return False
        s.clear()
        return True

    def __contains__(self, name: object) -> bool:
        return name in self._sets


STORE = LssStore()
"""The process's local stop sets (the daemon's, and the one-shot CLI's)."""
