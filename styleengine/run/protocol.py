"""The progress protocol between the engine and whoever runs it (the GIMP plug-in, a script).

With ``--progress json`` the engine writes one JSON object per line on stdout and nothing
else there (diagnostics go to stderr). Every object has an ``"event"`` key. Each event is one
class of ``styleengine.contract`` (``StartEvent``, ``ProgressEvent``, ``PreviewEvent``,
``DoneEvent``, ``ErrorEvent``): the engine writes them with ``event_line``, the plug-in reads
them back with ``read_event``, which refuses an event of another form (``ProtocolError``); the
plug-in also stops an engine whose ``start`` names another protocol version.

``start``
    ``{"event": "start", "protocol": 1, "device": "cuda: NVIDIA H100, 79.1 GiB",
    "precision": "bf16", "weights": "hed", "content_size": [w, h], "output_size": [w, h],
    "working_size": [w, h], "working_size_automatic": true, "scales": [[w, h], ...],
    "total_iterations": 300, "detail": {"iterations": 5, "tiles": 48} or null,
    "estimated_seconds": 212.5, "estimated_peak_bytes": 3221225472}``: the plan, made before
    any work (``styleengine.plan.planning``). Sizes are [width, height].
``progress``
    ``{"event": "progress", "stage": "scale", "scale": 2, "scales": 3, "width": w,
    "height": h, "iteration": 140, "total": 305, "losses": {"content": .., "style": ..,
    "layout": .., "tv": .., "total": ..}, "elapsed": 12.5, "seconds_left": 40.2}``;
    ``iteration`` counts over all scales and the detail pass, from 1. In the detail pass
    ``stage`` is ``"detail"``, and an event also comes after each tile, with ``"tile": 3,
    "tiles": 48`` (and empty ``losses``).
``preview``
    ``{"event": "preview", "path": "...", "iteration": 140}``: the image so far was written
    to ``path`` (with ``--preview PATH`` and ``--preview-every N`` iterations or
    ``--preview-seconds S``), whole, in the output's format and at the output's size.
``done``
    ``{"event": "done", "output": "...", "elapsed": 30.1}``: the last event of a success.
``error``
    ``{"event": "error", "kind": KIND, "message": "..."}``: the last event of a failure. The
    message is meant for the user. KIND and the process's exit code go together:
    ``internal`` 1, ``bad_input`` 2, ``no_weights`` 3, ``out_of_memory`` 4, ``cancelled`` 5,
    ``write_failed`` 6 (the result could not be written: a full disk, say).

Cancelling: SIGTERM or SIGINT stops the engine within about a second with a ``cancelled``
error and no output file, even when the reader stopped reading (a full pipe): the last event
waits at most a second for room, then the engine ends without it. With
``--cancel-on-stdin-eof`` (what the GIMP plug-in passes) the engine also stops when its
stdin pipe is closed, so a parent that dies (GIMP closing a plug-in) takes the engine with
it; without it a closed stdin means nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import TextIO

from ..contract import (
    PROGRESS_MODES,
    PROTOCOL_VERSION,
    DoneEvent,
    ErrorEvent,
    PreviewEvent,
    ProgressEvent,
    StartEvent,
    event_line,
)
from ..errors import EngineError
from ..system import write_within

__all__ = ["PROTOCOL_VERSION", "PROGRESS_MODES", "Reporter", "make_reporter"]
# How long the last event (an error, a cancel's included) waits for a reader that is not
# reading before the engine ends without it: "within a second or two" of a cancel.
LAST_WRITE_PATIENCE_S = 1.0


class SafeStream:
    """A stream whose failure ends the reporting, never the run: a reader that went away
    (``| head -n 1``), or a stdout or stderr closed before the start, must not throw away
    a result the work has already made."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.lost = stream is None
        self._interrupted = False

    def write(self, text: str) -> None:
        if self.lost:
            return
        self._interrupted = True  # until the text is out: a signal may land in between
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.lost = True
            self._silence()
        self._interrupted = False

    def write_last(self, text: str, patience: float = LAST_WRITE_PATIENCE_S) -> None:
        """The run's last words, which must not keep it alive: a reader that stopped reading
        (a full pipe) would block a plain write for good, a cancel's error event included.
        Waits at most ``patience`` seconds for room, then gives up, and anything after goes
        nowhere. Written past the stream's buffer, where an interrupted line may still sit:
        that line is ended first, so that the event stands on a line of its own."""
        if self.lost:
            return
        try:
            descriptor = self.stream.fileno()
        except (OSError, ValueError, AttributeError):  # in memory: it cannot block
            self.write(text)
            return
        data = (("\n" if self._interrupted else "") + text).encode("utf-8")
        try:
            if write_within(descriptor, data, patience):
                return
        except OSError:
            pass
        self.lost = True
        self._silence()

    def isatty(self) -> bool:
        try:
            return not self.lost and self.stream.isatty()
        except (OSError, ValueError):
            return False

    def _silence(self) -> None:
        """Point the dead descriptor at the null device: the interpreter's last flush at
        exit would otherwise fail on it too and change the exit status."""
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.stream.fileno())
            os.close(null)
        except (OSError, ValueError, AttributeError):
            pass


class Reporter:
    """Receives the run's events (contract's event classes); the base class ignores them."""

    def start(self, event: StartEvent) -> None:
        pass

    def progress(self, event: ProgressEvent) -> None:
        pass

    def preview(self, event: PreviewEvent) -> None:
        pass

    def done(self, event: DoneEvent) -> None:
        pass

    def error(self, error: EngineError) -> None:
        pass


class JsonReporter(Reporter):
    """One JSON object per line, flushed at once so the reader sees it immediately."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = SafeStream(stream or sys.stdout)

    def start(self, event: StartEvent) -> None:
        self.stream.write(event_line(event))

    def progress(self, event: ProgressEvent) -> None:
        self.stream.write(event_line(event))

    def preview(self, event: PreviewEvent) -> None:
        self.stream.write(event_line(event))

    def done(self, event: DoneEvent) -> None:
        self.stream.write(event_line(event))

    def error(self, error: EngineError) -> None:
        self.stream.write_last(event_line(ErrorEvent(error.kind.value, error.message)))


class BarReporter(Reporter):
    """A one-line progress bar on a terminal (stderr); plain lines when not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = SafeStream(stream or sys.stderr)
        self.is_terminal = self.stream.isatty()
        self.last_line = 0.0

    def start(self, event: StartEvent) -> None:
        width, height = event.output_size
        work_width, work_height = event.working_size
        detail = event.detail
        detail_text = (
            f", then a detail pass of {detail.iterations} iterations in {detail.tiles} tiles"
            if detail
            else ""
        )
        self.stream.write(
            f"Stylizing to {width}x{height} on {event.device} ({event.precision}, "
            f"weights: {event.weights}): {event.total_iterations} iterations at "
            f"{work_width}x{work_height}{detail_text}; about "
            f"{_clock(event.estimated_seconds)}\n"
        )

    def progress(self, event: ProgressEvent) -> None:
        done, total, elapsed = event.iteration, event.total, event.elapsed
        loss = f" loss {event.losses['total']:.4g}" if event.losses else ""
        left = _clock(event.seconds_left)
        text = f"{event.place()}{loss} {_clock(elapsed)} elapsed, ~{left} left"
        if self.is_terminal:
            columns = shutil.get_terminal_size().columns
            bar_width = max(10, columns - len(text) - 4)
            filled = int(bar_width * done / total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (bar_width - filled)}] {text}")
            if done == total:
                self.stream.write("\n")
        elif time.monotonic() - self.last_line > 5 or done == total:
            self.stream.write(text + "\n")
            self.last_line = time.monotonic()

    def done(self, event: DoneEvent) -> None:
        self.stream.write(f"Done in {_clock(event.elapsed)}.\n")
        SafeStream(sys.stdout).write(event.output + "\n")

    def error(self, error: EngineError) -> None:
        end_of_bar = "\n" if self.is_terminal else ""
        self.stream.write_last(f"{end_of_bar}error: {error.message}\n")


class QuietReporter(Reporter):
    """Only errors, on stderr."""

    def error(self, error: EngineError) -> None:
        SafeStream(sys.stderr).write_last(f"error: {error.message}\n")


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds + 0.5), 60)
    return f"{minutes}:{seconds:02d}"


def make_reporter(mode: str) -> Reporter:
    return {"json": JsonReporter, "bar": BarReporter, "none": QuietReporter}[mode]()
