"""Previews: the image so far, written to a file while a stylization runs.

A program that shows the picture as it emerges (the GIMP plug-in's preview layer) reads
the file after each ``preview`` event. Previews are written at the result's size, so that
they can be shown in the result's place as they are, and whole (write_image writes a
temporary file and renames it), so that a reader never sees half a picture.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..contract import PreviewEvent
from ..errors import WriteFailedError
from ..image.files import ImageData, write_image
from ..model.canvas import resize
from .progress import Progress
from .protocol import Reporter


class PreviewWriter:
    """Writes a preview every ``every`` iterations, or when ``seconds`` have passed since
    the last one (the first at the first image there is to show), whichever comes first;
    0 switches either rule off."""

    def __init__(
        self,
        path: Path,
        reporter: Reporter,
        every: int,
        seconds: float,
        grayscale: bool,
        bit_depth: int,
    ) -> None:
        self.path = path
        self.reporter = reporter
        self.every = every
        self.seconds = seconds
        self.grayscale = grayscale
        self.bit_depth = bit_depth
        self.output_size: tuple[int, int] | None = None
        self._last_written: float | None = None

    def due(self, iteration: int) -> bool:
        if self.every and iteration % self.every == 0:
            return True
        if not self.seconds:
            return False
        return self._last_written is None or time.monotonic() - self._last_written >= self.seconds

    def on_progress(self, progress: Progress) -> None:
        if progress.current_image is None or not self.due(progress.iteration):
            return
        image = progress.current_image()
        if self.output_size is not None:
            image = resize(image, self.output_size)
        pixels = image[0].permute(1, 2, 0).numpy()
        try:
            write_image(self.path, ImageData(pixels, None, self.grayscale, self.bit_depth))
        except WriteFailedError:
            # On Windows a file that a reader holds open cannot be replaced: this preview is
            # skipped, the next one tries again, and the run goes on.
            return
        self._last_written = time.monotonic()
        self.reporter.preview(PreviewEvent(str(self.path), progress.iteration))
