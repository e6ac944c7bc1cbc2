"""How either side keeps what a process it started says on stderr: the plug-in of its
engine, a remote run's caller of ssh and the relay."""

from __future__ import annotations

import threading
from typing import IO, Any


def stderr_tail(stream: IO[Any], keep: int) -> tuple[list[str], threading.Thread]:
    """The list ``stream``'s last ``keep`` lines go to, and the thread that reads them into it
    (a pipe nobody reads fills, and then the process writing it waits forever). Text or bytes
    (decoded, an odd byte replaced): the lines come without their ends."""
    lines: list[str] = []

    def read() -> None:
        for line in stream:
            text = line.decode(errors="replace") if isinstance(line, bytes) else line
            lines.append(text.rstrip())
            del lines[:-keep]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader
