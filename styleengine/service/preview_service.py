"""The dialog's preview: one engine for the whole dialog (``python -m styleengine
preview-service``), answering the contract's PreviewRequests with frames.

The network and the paintings stay loaded between requests. Each request is the run the
dialog's OK would make, at the preview's size and without the detail pass: its painted start
is the first frame (the run's own, at that size: the same seed gives the same picture), then
a few iterations refine it. A newer request replaces the one in work at its next iteration,
so the dialog never waits on a picture it no longer wants. Frames are written whole into the
caller's folder (the plug-in's private run folder), each over the last.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np

from ..contract import (
    PREVIEW_OPTIONS,
    ErrorEvent,
    Event,
    FrameEvent,
    PreviewRequest,
    ProtocolError,
    ReadyEvent,
    event_line,
    read_event,
)
from ..errors import BadInputError, EngineError, WriteFailedError
from ..image.files import ImageData, read_image, write_image
from ..image.gallery import style_source
from ..loss.regions import RegionMasks
from ..run.cancellation import check_cancelled
from ..run.progress import Progress
from ..run.protocol import SafeStream
from ..settings import whole_number


class Superseded(Exception):
    """A newer request arrived: the one in work is dropped at its next iteration."""


class Inbox:
    """The requests as they arrive (from a thread of their own), of which only the newest
    waits: the one in work learns that it is superseded without reading anything itself."""

    def __init__(self) -> None:
        self._newest: PreviewRequest | None = None
        self._ended = False
        self._ready = threading.Condition()

    def put(self, request: PreviewRequest) -> None:
        with self._ready:
            self._newest = request
            self._ready.notify()

    def end(self) -> None:
        """The caller is gone: no more requests, and the one in work is not wanted."""
        with self._ready:
            self._ended = True
            self._ready.notify()

    def read_lines(self, stream: IO[str]) -> None:
        """Start reading requests from ``stream``'s lines (a line of another kind is
        ignored); its end is the inbox's."""

        def read() -> None:
            for line in stream:
                try:
                    message = read_event(line)
                except ProtocolError:
                    message = None
                if isinstance(message, PreviewRequest):
                    self.put(message)
            self.end()

        threading.Thread(target=read, daemon=True).start()

    def next(self) -> PreviewRequest | None:
        """The newest request, once there is one; None when the caller has gone."""
        with self._ready:
            while self._newest is None and not self._ended:
                self._ready.wait(0.2)
                check_cancelled()
            request, self._newest = self._newest, None
            return request

    def has_newer(self) -> bool:
        return self._newest is not None or self._ended


class PreviewService:
    """The network loaded once (``setup``), the paintings read once, frames into ``folder``,
    each event to ``emit``."""

    def __init__(self, setup, folder: Path, emit: Callable[[Event], None]) -> None:
        self.setup = setup
        self.folder = folder
        self.emit = emit
        self._paintings: dict[str, ImageData] = {}

    def serve(self, inbox: Inbox) -> None:
        while (request := inbox.next()) is not None:
            try:
                self.answer(request, inbox)
            except Superseded:
                continue
            except (EngineError, OSError, ValueError, KeyError, TypeError) as error:
                kind, message = _refusal(error)
                number = request.request if whole_number(request.request) else None
                self.emit(ErrorEvent(kind, message, number))

    def answer(self, request: PreviewRequest, inbox: Inbox) -> None:
        from ..api import stylize_image_data
        from ..settings import StyleSettings

        started = time.perf_counter()
        check_form(request)
        content = read_image(request.content)
        styles = [self._painting(style) for style in request.styles]
        options = dict(request.options)
        strays = sorted(set(options) - set(PREVIEW_OPTIONS))
        if strays:
            raise BadInputError(f"A preview does not take {', '.join(strays)}.")
        run_options = {"preserve_colors": options.pop("preserve_colors", None)}
        settings = StyleSettings.at_strength(
            request.strength, iterations=max(1, request.refine), scales=1, report_every=1,
            **options,
        )  # fmt: skip
        side = max(content.height, content.width)

        def on_progress(progress: Progress) -> None:
            check_cancelled()
            if inbox.has_newer():
                raise Superseded()
            if progress.iteration == 0 and progress.current_image is not None:
                pixels = progress.current_image()[0].permute(1, 2, 0).numpy()
                self._frame(request, pixels, 0, False, started)

        result = stylize_image_data(
            content, styles, settings, self.setup, output_size=side, working_size=side,
            detail="off", callback=on_progress, regions=_regions(request),
            **run_options,
        )  # fmt: skip
        self._frame(request, result.rgb, settings.iterations, True, started)

    def _painting(self, style: str) -> ImageData:
        """A painting read once: the gallery's by name, a file by its path and its time (the
        dialog writes a style layer's pixels again when they change)."""
        source = style_source(style)
        key = f"{source}:{Path(source).stat().st_mtime_ns}"
        if key not in self._paintings:
            self._paintings = {key: read_image(source), **dict(list(self._paintings.items())[:7])}
        return self._paintings[key]

    def _frame(
        self, request: PreviewRequest, rgb: np.ndarray, iteration: int, final: bool,
        started: float,
    ) -> None:  # fmt: skip
        """``rgb`` (H, W, 3) written whole as the request's frame: colour, as the dialog
        shows it, whatever the photo's alpha or greyness."""
        path = self.folder / f"frame-{'final' if final else 'start'}.npy"
        try:
            write_image(path, ImageData(rgb, None, False, 32))
        except WriteFailedError:
            # On Windows a file the dialog holds open cannot be replaced: a start frame is
            # skipped (the refined one follows, as run/previews.py skips a preview); the last
            # frame's failure is the request's, said under the preview.
            if final:
                raise
            return
        elapsed = round(time.perf_counter() - started, 3)
        self.emit(FrameEvent(request.request, str(path), iteration, final, elapsed))


def _text(value: object) -> bool:
    return isinstance(value, str)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _texts(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(map(_text, value))


def _named(value: object) -> bool:
    return isinstance(value, dict) and all(map(_text, value))


def _masks(value: object) -> bool:
    return _named(value) and all(map(_text, value.values()))  # type: ignore[union-attr]


# Each field of a request, what it must hold, and that in words: a caller of another version
# or a script may send anything the JSON can say.
_FORMS = {
    "request": (whole_number, "a whole number"),
    "content": (_text, "a file's path"),
    "styles": (_texts, "a list of paintings (paths or gallery names)"),
    "strength": (_number, "a number"),
    "options": (_named, "options by name"),
    "regions": (_masks, "masks' paths by style number"),
    "strength_map": (lambda value: value is None or _text(value), "a file's path"),
    "refine": (whole_number, "a whole number"),
}


def check_form(request: PreviewRequest) -> None:
    """BadInputError naming the first field of ``request`` that holds another kind of value
    than its own."""
    for name, (holds, what) in _FORMS.items():
        value = getattr(request, name)
        if not holds(value):
            raise BadInputError(
                f"The preview request's {name} must be {what}, not {json.dumps(value)[:60]}."
            )


def _regions(request: PreviewRequest) -> RegionMasks | None:
    if not request.regions and request.strength_map is None:
        return None
    photo = {int(number): path for number, path in request.regions.items()}
    return RegionMasks(photo, strength=request.strength_map)


def _refusal(error: Exception) -> tuple[str, str]:
    """A failed request as the error event tells it: the engine's own words where it has
    them, else the error's, which the dialog shows under the preview."""
    if isinstance(error, EngineError):
        return error.kind.value, error.message
    if isinstance(error, OSError):
        from ..errors import from_os_error

        refused = from_os_error(error)
        return refused.kind.value, refused.message
    return "bad_input", f"The preview request could not be read ({error})."


def run_preview_service(
    weights: str, device: str, precision: str, folder: Path, stdin: IO[str], stdout: IO[str]
) -> int:
    """Answer the requests on ``stdin`` until it ends, frames into ``folder``."""
    if not folder.is_dir():
        raise BadInputError(f"--folder {folder} is not a folder.")
    out = SafeStream(stdout)

    def emit(event: Event) -> None:
        out.write(event_line(event))

    inbox = Inbox()
    inbox.read_lines(stdin)
    serve(weights, device, precision, folder, inbox, emit)
    return 0


def serve(
    weights: str, device: str, precision: str, folder: Path, inbox: Inbox,
    emit: Callable[[Event], None],
) -> None:  # fmt: skip
    """Load the network, say ready, answer ``inbox``'s requests until it ends (here, or on
    a remote machine for a caller at the other end of the connection: run/remote.py)."""
    from ..api import EngineSetup
    from ..model.device import describe_device

    check_cancelled()  # one that arrived while the imports above ran
    setup = EngineSetup.create(weights, device, precision)
    precision_name = "bf16" if "bfloat16" in str(setup.dtype) else "fp32"
    emit(ReadyEvent(describe_device(setup.device), precision_name))
    PreviewService(setup, folder, emit).serve(inbox)
