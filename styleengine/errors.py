"""The engine's error kinds: every failure a user can act on is one of these.

Each kind (``contract.ErrorKind``, shared with the plug-in) has its own process exit code, so
scripts and the GIMP plug-in can tell them apart without parsing messages. The JSON progress
protocol (see ``styleengine.run.protocol``) reports the same kind in its ``error`` event.
"""

from __future__ import annotations

import errno
from typing import Any

from .contract import ErrorKind, Option

__all__ = [
    "BadInputError",
    "CancelledError",
    "EngineError",
    "ErrorKind",
    "NoWeightsError",
    "OutOfMemoryError",
    "WriteFailedError",
    "check_option",
    "from_os_error",
    "system_reason",
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


# The system's refusals that mean "there is no room to write", not "that path is wrong".
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def system_reason(error: OSError) -> str:
    """The system's reason for ``error``, as it reads inside a sentence (lower case)."""
    if error.errno in (errno.EEXIST, errno.ENOTDIR):  # the system's words mislead here
        return "a file is where a folder is needed"
    reason = error.strerror or str(error) or type(error).__name__
    return reason[:1].lower() + reason[1:]


def from_os_error(error: OSError) -> EngineError:
    """The operating system's no, from anywhere in a run (a cache folder that is a file, a
    temporary folder that is gone, a disk that is full), as one line that names the path
    and says what to do: never an internal error, which is kept for the engine's bugs."""
    path = error.filename if error.filename is not None else ""
    place = f"{path}: " if path else ""
    reason = system_reason(error)
    if error.errno in _NO_ROOM:
        return WriteFailedError(f"{place}{reason}; free some disk space or choose another place.")
    return BadInputError(
        f"{place}{reason}; check that path and its permissions (the engine also uses its cache "
        "folder, STYLEENGINE_CACHE or XDG_CACHE_HOME, and the temporary folder, TMPDIR)."
    )


def check_option(option: Option, value: object) -> Any:
    """A contract option's value from Python, by the option's one rule (Option.check):
    BadInputError in the words the command line and the plug-in use."""
    try:
        return option.check(value)
    except ValueError as error:
        raise BadInputError(f"{error}.") from None
