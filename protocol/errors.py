"""Exceptions raised by the protocol package."""

from __future__ import annotations


class CommandError(Exception):
    """A measurement command was rejected.

    ``str(err)`` is scamper's reason, the text the daemon puts after
    ``ERR command not accepted: ``.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)

    def __str__(self) -> str:
        return self.reason


class LocalProtocolError(Exception):
    """Our own side tried something the protocol does not allow.

    For example sending ``MORE`` after the client said ``done``, sending a
    line with a newline inside it, or feeding data after end of input.
    """


class RemoteProtocolError(Exception):
    """The peer's byte stream is not valid protocol (client-side decoder)."""
