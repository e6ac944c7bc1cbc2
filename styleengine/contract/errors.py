"""What went wrong, as the protocol's error event names it, and each kind's exit code."""

from __future__ import annotations

from enum import Enum


class ErrorKind(str, Enum):
    """What went wrong, as the protocol's ``error`` event names it, with its exit code."""

    INTERNAL = "internal"
    BAD_INPUT = "bad_input"
    NO_WEIGHTS = "no_weights"
    OUT_OF_MEMORY = "out_of_memory"
    CANCELLED = "cancelled"
    WRITE_FAILED = "write_failed"

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self.value]


_EXIT_CODES = {
    "internal": 1,
    "bad_input": 2,
    "no_weights": 3,
    "out_of_memory": 4,
    "cancelled": 5,
    "write_failed": 6,
}
