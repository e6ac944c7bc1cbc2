"""The engine's error kinds: every failure a user can act on is one of these.

Each kind (``contract.ErrorKind``, shared with the plug-in) has its own process exit code, so
scripts and the GIMP plug-in can tell them apart without parsing messages. The JSON progress
protocol (see ``styleengine.progress``) reports the same kind in its ``error`` event.
"""

from __future__ import annotations

from .contract import ErrorKind

__all__ = [
    "BadInputError",
    "CancelledError",
    "EngineError",
    "ErrorKind",
    "NoWeightsError",
    "OutOfMemoryError",
    "WriteFailedError",
]


class EngineError(Exception):
    """A failure with a message meant for the user, not a programming error."""

    kind = ErrorKind.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInputError(EngineError):
    kind = ErrorKind.BAD_INPUT


class NoWeightsError(EngineError):
    kind = ErrorKind.NO_WEIGHTS


class OutOfMemoryError(EngineError):
    kind = ErrorKind.OUT_OF_MEMORY


class CancelledError(EngineError):
    kind = ErrorKind.CANCELLED

    def __init__(self, message: str = "Cancelled; no output was written.") -> None:
        super().__init__(message)


class WriteFailedError(EngineError):
    """The result could not be written (a full disk, a folder that became read-only)."""

    kind = ErrorKind.WRITE_FAILED
