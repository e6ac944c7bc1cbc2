"""Stopping a run promptly: on SIGTERM/SIGINT, and when the parent process goes away.

A closed stdin cancels only when the caller asks for it (``--cancel-on-stdin-eof``, which the
GIMP plug-in passes: its pipe closes when GIMP kills it). Other callers often close stdin
at once (``echo | ...``, ``subprocess.run(input=...)``) and mean nothing by it.

A signal raises ``CancelledError`` in the main thread. Python runs signal handlers between
bytecodes, so the run stops after the tensor operation in progress (well under a second),
and the ``finally`` blocks on the way out remove partial files.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import signal
import stat
import sys
import threading
from types import FrameType

from ..errors import CancelledError

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _raise_cancelled(signum: int, frame: FrameType | None) -> None:
    # Once cancelling, further signals must not interrupt the clean-up.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise CancelledError()


def _watch_stdin(descriptor: int) -> None:
    # os.read on the bare descriptor: sys.stdin's buffered reader would hold its lock while
    # blocked here, and Python's shutdown then aborts trying to take it.
    try:
        while os.read(descriptor, 4096):
            pass
    except OSError:
        pass
    _thread.interrupt_main(signal.SIGTERM)


def _stdin_is_pipe() -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def install_cancellation(cancel_on_stdin_eof: bool = False) -> None:
    """Make SIGTERM, SIGINT, (on Linux) the parent's death and, when asked, the end of a
    stdin pipe cancel."""
    signal.signal(signal.SIGTERM, _raise_cancelled)
    signal.signal(signal.SIGINT, _raise_cancelled)
    if cancel_on_stdin_eof and _stdin_is_pipe():
        descriptor = sys.stdin.fileno()
        threading.Thread(
            target=_watch_stdin, args=(descriptor,), name="stdin-watch", daemon=True
        ).start()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
