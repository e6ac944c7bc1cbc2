"""The README's gallery picture: one photo painted at the defaults in every gallery painting.

    python tools/gallery_sheet.py --photo ../shared/images/tubingen.jpg --out docs/images

Each cell shows a thumbnail of the painting beside the result, with the painting's label.
The photo is tubingen.jpg from jcjohnson/neural-style (MIT), scaled to 384 px; only the
engine's results and the gallery's own paintings (public domain) are in the picture. Results
are kept in ``--work`` so that an interrupted run resumes. It also prints, per painting, the
style judge's share and the structure kept (stylelab.quality), to see which paintings earn
their place in the gallery.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's engine

from styleengine import api  # noqa: E402
from styleengine.contract import GALLERY, GALLERY_PREFIX  # noqa: E402
from styleengine.image.gallery import painting_path  # noqa: E402

SIZE = 384
THUMBNAIL = 150  # the painting's box beside each result: this wide, the result's height
COLUMNS = 4
GAP = 12
CAPTION = 26
SHEET_NAME = "gallery.jpg"


def _tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)[None]


def paint_all(photo: Image.Image, work: Path, names: list[str]) -> dict[str, Image.Image]:
    results = {}
    for painting in GALLERY:
        if names and painting.name not in names:
            continue
        path = work / f"{painting.name}.png"
        if not path.is_file():
            started = time.perf_counter()
            api.stylize(photo, GALLERY_PREFIX + painting.name).save(path)
            print(f"{painting.name}: {time.perf_counter() - started:.1f} s", flush=True)
        results[painting.name] = Image.open(path).convert("RGB")
    return results


def report_scores(photo: Image.Image, results: dict[str, Image.Image]) -> None:
    from stylelab.quality import EmbeddingJudge, structure_kept

    judge = EmbeddingJudge()
    content = _tensor(photo)
    print("| painting | judged style | structure |\n| --- | --- | --- |")
    for name, result in results.items():
        style = _tensor(Image.open(painting_path_by_name(name)).convert("RGB"))
        painted = _tensor(result)
        print(
            f"| {name} | {judge.style_gap(painted, content, style):.3f} "
            f"| {structure_kept(painted, content):.3f} |"
        )


def painting_path_by_name(name: str) -> Path:
    return painting_path(next(p for p in GALLERY if p.name == name))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans where the system has it (Pillow's own font lacks accents: Léger)."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def compose(results: dict[str, Image.Image]) -> Image.Image:
    labels = {p.name: f"{p.label} ({p.year})" for p in GALLERY}
    some = next(iter(results.values()))
    cell_w, cell_h = THUMBNAIL + GAP // 2 + some.width, some.height + CAPTION
    rows = -(-len(results) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * (cell_w + GAP) + GAP, rows * (cell_h + GAP) + GAP), "white")
    draw = ImageDraw.Draw(sheet)
    font = _font(16)
    for index, (name, result) in enumerate(results.items()):
        x = GAP + (index % COLUMNS) * (cell_w + GAP)
        y = GAP + (index // COLUMNS) * (cell_h + GAP)
        painting = Image.open(painting_path_by_name(name)).convert("RGB")
        painting.thumbnail((THUMBNAIL, result.height), Image.Resampling.LANCZOS)
        sheet.paste(painting, (x + THUMBNAIL - painting.width, y))
        sheet.paste(result, (x + THUMBNAIL + GAP // 2, y))
        draw.text((x, y + result.height + 4), labels[name], fill="black", font=font)
    return sheet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for gallery.jpg")
    parser.add_argument("--work", type=Path, default=Path("/tmp/gallery-sheet"))
    parser.add_argument("--only", nargs="*", default=[], help="gallery names to paint")
    parser.add_argument("--scores", action="store_true", help="print the judges' numbers")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    photo = Image.open(args.photo).convert("RGB")
    photo.thumbnail((SIZE, SIZE), Image.Resampling.LANCZOS)
    results = paint_all(photo, args.work, args.only)
    if args.scores:
        report_scores(photo, results)
    if not args.only:
        compose(results).save(args.out / SHEET_NAME, quality=85, optimize=True)
        print(f"wrote {args.out / SHEET_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
