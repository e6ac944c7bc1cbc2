"""The gallery: the public-domain paintings that ship with the engine, read from their list
(styleengine/image/paintings/gallery.json, or its copy beside the installed plug-in)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# A painting is named wherever a style image is taken: "gallery:hokusai_great_wave".
GALLERY_PREFIX = "gallery:"


@dataclass(frozen=True)
class Painting:
    """One painting of the gallery, with its credits. Its image is ``paintings/NAME.jpg``."""

    name: str
    painter: str
    known_as: str  # the painter as a label names them: "Hokusai"
    died: int
    title: str
    year: str  # as art history dates it: "c. 1830-32"
    look: str
    source: str  # the repository (and licence) the scan came from, and its path there

    @property
    def label(self) -> str:
        """What a user reads in a list and in the new layer's name."""
        return f"{self.known_as}, {self.title}"

    @property
    def description(self) -> str:
        """One line with the year and the look: a tooltip."""
        return f"{self.painter}, {self.title}, {self.year}: {self.look}"


# The gallery's list is data, beside its images (styleengine/image/paintings/gallery.json):
# a painting is added there, with its image; the credits (CREDITS.md) and the README's table
# are made from it (tests/test_gallery.py holds them to it). install.py places a copy in the
# contract's copy beside the plug-in, which reads it there.
GALLERY_FILES = (
    Path(__file__).with_name("gallery.json"),
    Path(__file__).parent.parent / "image" / "paintings" / "gallery.json",
)


def _read_gallery() -> tuple[Painting, ...]:
    for path in GALLERY_FILES:
        if path.is_file():
            records = json.loads(path.read_text(encoding="utf-8"))
            return tuple(Painting(**record) for record in records)
    raise ImportError(
        "The gallery's list (gallery.json) is missing: run the installer (install.py) from the "
        "Neural Style folder again."
    )


GALLERY = _read_gallery()
GALLERY_BY_NAME = {painting.name: painting for painting in GALLERY}


def gallery_painting(text: str) -> Painting | None:
    """The painting a style argument names ("gallery:NAME"), or None for a file's path.
    KeyError for a name that the gallery does not have."""
    if not text.startswith(GALLERY_PREFIX):
        return None
    return GALLERY_BY_NAME[text[len(GALLERY_PREFIX) :].strip().lower()]
