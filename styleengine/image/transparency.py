"""Transparency means ignored: what hides under a fully transparent pixel must not change the
picture, through any path (the painting's statistics, the network's features beside a
transparent edge, resizing, the painted start's reading of the painting)."""

from __future__ import annotations

import torch


def fill_hidden(rgb: torch.Tensor, alpha: torch.Tensor | None) -> torch.Tensor:
    """``rgb`` (1, 3, H, W) with each fully transparent pixel (``alpha`` (1, 1, H, W) at 0)
    set to the mean colour of the visible ones, weighted by their alpha: a colour made of
    what shows only. Unchanged without alpha, without a hidden pixel, or with nothing shown
    (which the caller refuses)."""
    if alpha is None:
        return rgb
    hidden = alpha <= 0
    if not bool(hidden.any()):
        return rgb
    weights = alpha.clamp(0, 1).to(rgb.dtype)
    total = weights.sum()
    if float(total) <= 0:
        return rgb
    mean = (rgb * weights).sum(dim=(2, 3), keepdim=True) / total
    return torch.where(hidden, mean.expand_as(rgb), rgb)
