"""README's pictures of painting by regions, made by the engine at its defaults.

    python tools/region_examples.py --images ../shared/images --out docs/images

The masks are drawn here from the shared photos (the shared images themselves and anything
derived from them stay out of the repository; only the engine's results are written):

- ``regions_golden_gate.jpg``: the sky of golden_gate in The Starry Night, the rest (bridge,
  water, hills) in The Scream. The sky is the bright, unsaturated part above the hills.
- ``strength_amber.jpg``: amber's door kept as photographed (strength 0), its stone arch
  painted with Udnie (strength 1). The door is the dark middle of the picture.

Each mask is feathered, so the regions meet without a seam.

With ``--large MEGAPIXELS`` it paints the golden_gate sky example enlarged to that size
instead, through the detail pass, and prints the seam measure (BENCHMARKS.md): the mean
luminance gradient across the detail pass's tile borders over the mean everywhere (1: the
borders look like anywhere else), for the result and for the enlarged photo itself.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's engine

SIZE = 384
FEATHER_PX = 6
# Above this share of the height the golden_gate photo shows only sky, hills below.
HORIZON = 0.45


def _grey(mask: np.ndarray) -> Image.Image:
    image = Image.fromarray((mask * 255).astype(np.uint8))
    return image.filter(ImageFilter.GaussianBlur(FEATHER_PX))


def sky_mask(photo: Image.Image) -> Image.Image:
    rgb = np.asarray(photo.convert("RGB"), np.float32) / 255
    red, blue = rgb[..., 0], rgb[..., 2]
    rows = np.arange(rgb.shape[0])[:, None] / rgb.shape[0]
    bridge = (red > 1.4 * blue) & (red > 0.35)  # the towers' and cables' orange
    return _grey((rows < HORIZON) & ~bridge)


def door_mask(photo: Image.Image) -> Image.Image:
    """1 where the photo is painted, 0 on the door: the dark middle part of the picture."""
    grey = np.asarray(photo.convert("L"), np.float32) / 255
    height, width = grey.shape
    y, x = np.mgrid[0:height, 0:width]
    middle = (x > 0.25 * width) & (x < 0.92 * width) & (y > 0.25 * height)
    dark = Image.fromarray(((grey < 0.3) & middle).astype(np.uint8) * 255)
    # closed: the door's carvings and light seams are door too
    door = np.asarray(dark.filter(ImageFilter.MaxFilter(9)).filter(ImageFilter.MinFilter(9)))
    return _grey(1 - door.astype(np.float32) / 255)


def seam_ratio(result: Path, tile_side: int) -> float:
    """Mean luminance gradient across tile borders over the mean gradient everywhere."""
    with Image.open(result) as image:
        grey = np.asarray(image.convert("L"), np.float32)
    across_columns = np.abs(np.diff(grey, axis=1))  # [:, x - 1] is between x - 1 and x
    across_rows = np.abs(np.diff(grey, axis=0))
    columns = np.arange(tile_side, grey.shape[1], tile_side) - 1
    rows = np.arange(tile_side, grey.shape[0], tile_side) - 1
    borders = np.concatenate([across_columns[:, columns].ravel(), across_rows[rows].ravel()])
    everywhere = np.concatenate([across_columns.ravel(), across_rows.ravel()])
    return float(borders.mean() / everywhere.mean())


def large_run(args: argparse.Namespace, engine) -> int:
    from styleengine.plan.planning import DETAIL_TILE_SIDE

    with Image.open(args.images / "golden_gate.jpg") as photo:
        factor = (args.large * 1e6 / (photo.width * photo.height)) ** 0.5
        size = (round(photo.width * factor), round(photo.height * factor))
        large = args.work / f"golden_gate_{size[0]}x{size[1]}.png"
        photo.convert("RGB").resize(size, Image.Resampling.LANCZOS).save(large)
    result = args.work / "regions_large.png"
    code = engine([
        "stylize", str(large), str(args.images / "starry_night.jpg"),
        str(args.images / "the_scream.jpg"), "-o", str(result),
        "--style-region", f"1={args.work / 'sky.png'}", "--detail", "on",
        "--detail-iterations", "2", "--working-size", "640",
    ])  # fmt: skip
    if code == 0:
        # The photo's own edges may lie on those lines: its ratio there is the yardstick.
        ours, photos = seam_ratio(result, DETAIL_TILE_SIDE), seam_ratio(large, DETAIL_TILE_SIDE)
        print(
            f"seams: {ours:.4f} at {size[0]}x{size[1]}; the photo's on the same lines "
            f"{photos:.4f}; relative {ours / photos:.3f}"
        )
    return code


def main(argv: list[str] | None = None) -> int:
    from styleengine.cli import main as engine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--work", type=Path, default=None,
        help="folder for the masks and the large run (default: a new private temporary one)",
    )  # fmt: skip
    parser.add_argument("--large", type=float, default=0, help="megapixels of a large run")
    args = parser.parse_args(argv)
    # Never a fixed name in the shared /tmp: another user could have put a link there.
    args.work = args.work or Path(tempfile.mkdtemp(prefix="region-examples-"))
    args.work.mkdir(parents=True, exist_ok=True)
    images = args.images
    with Image.open(images / "golden_gate.jpg") as photo:
        sky = sky_mask(photo)
    sky.save(args.work / "sky.png")
    if args.large:
        return large_run(args, engine)
    with Image.open(images / "amber.jpg") as photo:
        paint = door_mask(photo)
    paint.save(args.work / "paint_stone.png")
    runs = [
        [images / "golden_gate.jpg", images / "starry_night.jpg", images / "the_scream.jpg",
         "-o", args.out / "regions_golden_gate.jpg",
         "--style-region", f"1={args.work / 'sky.png'}"],
        [images / "amber.jpg", images / "udnie.jpg", "-o", args.out / "strength_amber.jpg",
         "--strength-map", args.work / "paint_stone.png"],
    ]  # fmt: skip
    for run in runs:
        code = engine(["stylize", *map(str, run), "--output-size", str(SIZE)])
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
