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

from styleengine.api import to_tensor
from styleengine.image.color import toward_palette
from styleengine.image.files import read_image
from stylelab import SHARED_IMAGES
from stylelab.compare import IMAGE_SUFFIX
from stylelab.quality import EmbeddingJudge, structure_kept


def load(path: Path) -> torch.Tensor:
    """An image as compare reads it: the engine's reader, at its own size."""
    return to_tensor(read_image(path).rgb)


def box_blur(image: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), 3, 1)


def changes(painting: torch.Tensor) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    palette = [(painting, None)]
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
        # Both measures take the photo at its own size, as compare gives it to them.
        content = load(args.images / f"{content_name}{IMAGE_SUFFIX}")
        style = load(args.images / f"{style_name}{IMAGE_SUFFIX}")
        for name, change in changes(style).items():
            changed = change(result).clamp(0, 1)
            judged = judge.style_gap(changed, content, style)
            scores.setdefault(name, []).append((structure_kept(changed, content), judged))
    print("| the results, then | structure | judged |\n| --- | --- | --- |")
    for name, values in scores.items():
        structure, judged = np.mean(values, axis=0)
        print(f"| {name} | {structure:.3f} | {judged:.3f} |")


if __name__ == "__main__":
    main()
