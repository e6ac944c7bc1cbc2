"""Stopping a run promptly: on SIGTERM/SIGINT, and when the parent process goes away.

A closed stdin cancels only when the caller asks for it (``--cancel-on-stdin-eof``, which the
GIMP plug-in passes: its pipe closes when GIMP kills it). Other callers often close stdin
at once (``echo | ...``, ``subprocess.run(input=...)``) and mean nothing by it.

A signal raises ``CancelRequested`` in the main thread. Python runs signal handlers between
bytecodes, so the run stops after the tensor operation in progress (well under a second),
and the ``finally`` blocks on the way out remove partial files. It is a KeyboardInterrupt,
not an Exception: a library's own ``except Exception`` (PyTorch's, while it loads its CUDA
libraries) cannot swallow it. Should something swallow it all the same, the cancel is still
on record: the run's next step asks (``check_cancelled``), and a later signal raises again.
A cancel that arrives while a module is imported is only recorded, and raised by the first
``check_cancelled`` after the import: an exception thrown through a library's C++ while it
initialises ends the process with an abort.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import signal
import stat
import sys
import threading
import time
from types import FrameType

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class CancelRequested(KeyboardInterrupt):
    """A cancel arrived (a signal, or the end of stdin when asked to watch it)."""


# When the last cancel was raised (monotonic seconds), None before any. A second signal
# within this long is the same cancel, still on its way out: raising again would cut the
# clean-up short. Later, the first one was evidently swallowed.
RAISE_AGAIN_AFTER_S = 1.0
_raised_at: float | None = None
_finishing = False


def _raise_cancelled(signum: int, frame: FrameType | None) -> None:
    global _raised_at
    now = time.monotonic()
    if _finishing or (_raised_at is not None and now - _raised_at < RAISE_AGAIN_AFTER_S):
        return
    _raised_at = now
    if _importing(frame):
        # Raised inside a module's import, the exception can cross a library's C++ (PyTorch's
        # initialisation calls back into Python), which cannot pass it on and aborts the
        # process (exit -6, measured 2 in 24 cancels 0.7-0.9 s into a run). The cancel stays
        # on record: check_cancelled raises it once the import is done.
        return
    raise CancelRequested()


def _importing(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside an import (importlib's frames are on its stack)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def cancel_requested() -> bool:
    return _raised_at is not None


def check_cancelled() -> None:
    """Raise the cancel again if one arrived and the run went on (something swallowed it)."""
    if _raised_at is not None and not _finishing:
        raise CancelRequested()


def finishing() -> None:
    """The run is saying its last words: no signal interrupts them any more."""
    global _finishing
    _finishing = True


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


def install_signal_handlers() -> None:
    """SIGTERM, SIGINT (and Windows' Ctrl-Break) cancel from now on: called first thing, so
    that a cancel while the libraries load is one too."""
    for signum in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGBREAK", None)):
        if signum is not None:
            signal.signal(signum, _raise_cancelled)


def install_cancellation(cancel_on_stdin_eof: bool = False) -> None:
    """Make SIGTERM, SIGINT, (on Linux) the parent's death and, when asked, the end of a
    stdin pipe cancel."""
    install_signal_handlers()
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
