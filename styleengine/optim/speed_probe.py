"""The speed probe: one iteration of a stylizer's objective on a square of random pixels,
which plan/cost.py times once per machine to plan a run's working size and time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..settings import StyleSettings


def iteration_at(stylizer: Any, side: int) -> Callable[[], torch.Tensor]:
    """One iteration of ``stylizer``'s objective (an optim.stylizer.Stylizer, which imports
    this module) at side x side, set up and ready to run."""
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, side, side, generator=generator)
    with torch.no_grad():
        features = stylizer.features(image)
    targets = stylizer.targets.statistics(features)
    objective = stylizer.objective(image, targets, StyleSettings(
        content_layers=stylizer.content_layers,
        style_layers=dict.fromkeys(stylizer.style_layers, 1.0),
        sliced_layers=stylizer.sliced_layers,
    ))  # fmt: skip
    pixels = image.to(stylizer.device).requires_grad_(True)

    def iteration() -> torch.Tensor:
        pixels.grad = None
        objective.terms(stylizer.features(pixels), pixels)["total"].backward()
        return pixels.grad

    return iteration
