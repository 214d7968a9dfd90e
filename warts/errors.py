"""The one exception type the warts codec raises for bad input."""

from __future__ import annotations


class WartsError(Exception):
    """A warts file or record could not be read or written.

    ``offset`` is the byte offset in the file (or buffer) where the problem was
    found and ``obj_type`` the warts object type being decoded, when known.
    """

    def __init__(self, message: str, offset: int | None = None,
                 obj_type: int | None = None) -> None:
        self.message = message
        self.offset = offset
        self.obj_type = obj_type
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        if self.obj_type is not None:
            where.append(f"object type 0x{self.obj_type:02x}")
        if where:
            return f"{self.message} ({', '.join(where)})"
        return self.message
