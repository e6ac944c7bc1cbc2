"""The gallery: public-domain paintings shipped with the engine, chosen by name.

The list, with each painting's credits, is ``contract.GALLERY`` (the plug-in reads the same
list); the images are ``paintings/NAME.jpg``, downscaled to 1024 px on the long side, which is
more than the engine takes of a painting. ``paintings/CREDITS.md`` is made from the list.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from ..contract import GALLERY, GALLERY_BY_NAME, GALLERY_PREFIX, Painting, gallery_painting
from ..errors import BadInputError

PAINTINGS_DIR = Path(__file__).resolve().parent / "paintings"


def painting_path(painting: Painting) -> Path:
    return PAINTINGS_DIR / f"{painting.name}.jpg"


def style_source(text: str) -> str:
    """A style argument as the file to read: a gallery name ("gallery:NAME") becomes its
    painting's path; anything else is a path already. An unknown name: BadInputError naming
    the nearest names."""
    try:
        painting = gallery_painting(text)
    except KeyError:
        raise BadInputError(unknown_name_message(text[len(GALLERY_PREFIX) :])) from None
    return text if painting is None else str(painting_path(painting))


def unknown_name_message(name: str) -> str:
    if not name.strip():
        return (
            f"Give a painting's name after {GALLERY_PREFIX} (list them with: python -m "
            "styleengine gallery)."
        )
    nearest = difflib.get_close_matches(name.strip().lower(), GALLERY_BY_NAME, n=3, cutoff=0.4)
    if not nearest:  # a painter's name alone ("hokusai") is nearest to its paintings
        nearest = [known for known in GALLERY_BY_NAME if name.strip().lower() in known][:3]
    hint = (
        "nearest: " + ", ".join(GALLERY_PREFIX + known for known in nearest)
        if nearest
        else "list them with: python -m styleengine gallery"
    )
    return f"The gallery has no painting called {name!r} ({hint})."


def catalogue(as_json: bool = False) -> str:
    """The gallery as ``styleengine gallery`` prints it: a name and its credits per painting,
    or (``as_json``) a list of records with each painting's file."""
    if as_json:
        records = [{**vars(p), "label": p.label, "path": str(painting_path(p))} for p in GALLERY]
        return json.dumps(records, indent=1, ensure_ascii=False)
    width = max(len(p.name) for p in GALLERY) + len(GALLERY_PREFIX)
    lines = [
        f"{GALLERY_PREFIX + p.name:{width}}  {p.painter}, {p.title} ({p.year})" for p in GALLERY
    ]
    lines.append(f"\nUse a name wherever a painting is asked for, e.g. {GALLERY_PREFIX}NAME.")
    lines.append(f"Credits and sources: {PAINTINGS_DIR / 'CREDITS.md'}")
    return "\n".join(lines)


def credits_markdown() -> str:
    """``paintings/CREDITS.md``: painter, title, year, source and licence of every painting."""
    rows = [
        "# The gallery's paintings",
        "",
        "Every painting here is in the public domain in the US and in the EU: each painter died",
        "in 1955 or earlier and each work dates from before 1931. The files are faithful",
        "photographs or scans of two-dimensional works, which carry no copyright of their own",
        "(US: Bridgeman v. Corel; EU: Directive 2019/790, art. 14). Each was taken from a public",
        "repository under a permissive licence (named below), converted to sRGB and downscaled",
        "to 1024 px on its long side. The list itself is `gallery.json` beside them; this file",
        "is made from it (`python -m styleengine gallery --credits`).",
        "",
        "| name | painter (died) | title, year | look | source repository (licence), path |",
        "| --- | --- | --- | --- | --- |",
    ]
    rows += [
        f"| {p.name} | {p.painter} ({p.died}) | {p.title}, {p.year} | {p.look} | {p.source} |"
        for p in GALLERY
    ]
    return "\n".join(rows) + "\n"


_COUNTS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
           "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen",
           "Eighteen", "Nineteen", "Twenty")  # fmt: skip


def readme_section() -> tuple[str, str]:
    """What the README says of the gallery, made from its list: how many paintings come with
    the plug-in (its first words), and the table of names, paintings and looks."""
    count = _COUNTS[len(GALLERY)] if len(GALLERY) < len(_COUNTS) else str(len(GALLERY))
    rows = ["| name | painting | look |", "| --- | --- | --- |"]
    rows += [f"| `{p.name}` | {p.painter}, *{p.title}*, {p.year} | {p.look} |" for p in GALLERY]
    return f"{count} paintings come with the plug-in", "\n".join(rows)
