"""A sheet of the dialog's Strength: each pair at several strengths, at full size, scored.

    python tools/strength_sheet.py --out DIR --pairs tubingen+candy,golden_gate+starry_night \
        [--strengths 0,50,100 --size 384] [--sheet docs/images/strength_painted_start.jpg]

Each strength is one quality-harness run (``python -m stylelab compare --strength S``) into
DIR/strength-S, so its scores and pictures stay there, and a run interrupted resumes. The
sheet has a row per pair and a column per strength, each picture at the size it was made,
captioned with the harness's structure (s), judged style (j) and texture style (t).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
GAP = 6
CAPTION_HEIGHT = 16


def run_strength(out: Path, strength: float, pairs: list[tuple[str, str]], size: int) -> dict:
    folder = out / f"strength-{strength:g}"
    for content, style in pairs:  # the harness crosses its lists: one call per pair
        subprocess.run(
            [sys.executable, "-m", "stylelab", "compare", "--out", str(folder), "--size",
             str(size), "--strength", f"{strength:g}", "--contents", content, "--styles", style],
            cwd=REPO, check=True,
        )  # fmt: skip
    return json.loads((folder / "results.json").read_text())["pairs"]


def sheet(out: Path, strengths: list[float], pairs: list[tuple[str, str]]) -> Image.Image:
    scores = {s: json.loads((out / f"strength-{s:g}" / "results.json").read_text())["pairs"]
              for s in strengths}  # fmt: skip
    rows = []
    for content, style in pairs:
        name = f"{content}+{style}"
        rows.append([
            (Image.open(out / f"strength-{s:g}" / "results" / f"{name}.png").convert("RGB"),
             f"{name}, Strength {s:g}: s {scores[s][name]['structure']:.2f} "
             f"j {scores[s][name]['judged']:.2f} t {scores[s][name]['texture']:.2f}")
            for s in strengths
        ])  # fmt: skip
    width = max(sum(p.width for p, _ in row) + GAP * (len(row) + 1) for row in rows)
    height = sum(max(p.height for p, _ in row) + CAPTION_HEIGHT + GAP for row in rows) + GAP
    page = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    top = GAP
    for row in rows:
        left = GAP
        for picture, caption in row:
            draw.text((left, top), caption, fill=(0, 0, 0))
            page.paste(picture, (left, top + CAPTION_HEIGHT))
            left += picture.width + GAP
        top += max(p.height for p, _ in row) + CAPTION_HEIGHT + GAP
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pairs", required=True, help="photo+painting, comma-separated")
    parser.add_argument("--strengths", default="0,50,100")
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--sheet", type=Path, default=None, help="default: OUT/strength.png")
    args = parser.parse_args(argv)
    pairs = [tuple(p.split("+", 1)) for p in args.pairs.split(",") if p]
    strengths = [float(s) for s in args.strengths.split(",")]
    for strength in strengths:
        run_strength(args.out, strength, pairs, args.size)
    target = args.sheet or args.out / "strength.png"
    sheet(args.out, strengths, pairs).save(target, quality=90)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
