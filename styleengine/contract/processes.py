"""How either side handles a process it started (the plug-in its engine, a remote run's
caller ssh, the relay its engine): what it says on stderr kept, and its end."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from typing import IO, Any

# How long a process no longer wanted has, once its stdin is closed (the engine's own cancel:
# it removes its files and says so; ssh closes the connection, which stops the remote
# engine), before it is terminated: on Windows terminate() is TerminateProcess, which leaves
# no moment to clean up.
STOP_PATIENCE_SECONDS = 5.0


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


def stop_process(process: subprocess.Popen, patience: float = STOP_PATIENCE_SECONDS) -> None:
    """End ``process``, politely first: its stdin closes (a cancel, on every system), and only
    one still there after ``patience`` seconds is terminated, then killed."""
    if process.stdin:
        with contextlib.suppress(OSError, ValueError):
            process.stdin.close()
    for stop in (None, process.terminate, process.kill):
        if stop is not None:
            with contextlib.suppress(OSError):  # it ended meanwhile
                stop()
        try:
            process.wait(timeout=patience)
            return
        except subprocess.TimeoutExpired:
            continue
