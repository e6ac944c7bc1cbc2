"""How the style judge and the structure measure answer simple changes of finished results.

Reads a `python -m stylelab compare --out` folder and scores each result again after a blur,
a sharpening, noise, more contrast and a full move of its colours to the painting's, so that
a candidate's gain can be told apart from what a plain filter would give (QUALITY.md).

    python tools/judge_probe.py OUT_FOLDER [--images ../shared/images]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from styleengine.color import toward_palette
from stylelab import SHARED_IMAGES
from stylelab.quality import EmbeddingJudge, structure_kept

# The longest side the painting's palette is read at (as the engine reads it at 384 px).
PALETTE_SIDE = 384


def load(path: Path, longest: int | None = None) -> torch.Tensor:
    image = Image.open(path).convert("RGB")
    if longest:
        scale = longest / max(image.size)
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.LANCZOS
        )
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255


def box_blur(image: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), 3, 1)


def changes(painting: Path) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    palette = [(load(painting, PALETTE_SIDE), None)]
    generator = torch.Generator().manual_seed(0)
    return {
        "as it is": lambda r: r,
        "3x3 box blur": box_blur,
        "unsharp mask 0.5": lambda r: r + 0.5 * (r - box_blur(r)),
        "noise sd 0.03": lambda r: r + 0.03 * torch.randn(r.shape, generator=generator),
        "contrast x1.2": lambda r: (r - r.mean()) * 1.2 + r.mean(),
        "painting's colours": lambda r: toward_palette(r, palette, [1.0], 1.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a compare --out folder")
    parser.add_argument("--images", type=Path, default=SHARED_IMAGES)
    args = parser.parse_args()
    judge = EmbeddingJudge()
    scores: dict[str, list[tuple[float, float]]] = {}
    for result_path in sorted((args.out / "results").glob("*.png")):
        content_name, style_name = result_path.stem.split("+")
        result = load(result_path)
        content = F.interpolate(
            load(args.images / f"{content_name}.jpg"), size=result.shape[-2:], mode="area"
        )
        painting = args.images / f"{style_name}.jpg"
        style = load(painting)
        for name, change in changes(painting).items():
            changed = change(result).clamp(0, 1)
            judged = judge.style_gap(changed, content, style)
            scores.setdefault(name, []).append((structure_kept(changed, content), judged))
    print("| the results, then | structure | judged |\n| --- | --- | --- |")
    for name, values in scores.items():
        structure, judged = np.mean(values, axis=0)
        print(f"| {name} | {structure:.3f} | {judged:.3f} |")


if __name__ == "__main__":
    main()
