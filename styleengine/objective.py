"""The Gatys objective: the weighted content, style and total-variation terms of an image,
and the style images it is measured against."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .losses import ContentLoss, StyleLoss, TVLoss
from .settings import StyleSettings


@dataclass
class StyleImage:
    """A style image (1, 3, H, W) in [0, 1], with an optional alpha (1, 1, H, W)."""

    rgb: torch.Tensor
    alpha: torch.Tensor | None = None


class Objective:
    """Content, style and total-variation terms with their weights."""

    def __init__(
        self,
        content_losses: dict[str, ContentLoss],
        style_losses: dict[str, StyleLoss],
        settings: StyleSettings,
    ) -> None:
        self.content_losses = content_losses
        self.style_losses = style_losses
        self.tv_loss = TVLoss()
        self.settings = settings

    def terms(
        self, features: dict[str, torch.Tensor], pixels: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        settings = self.settings
        content = sum(loss(features[n]) for n, loss in self.content_losses.items())
        style = sum(
            settings.style_layers[n] * loss(features[n]) for n, loss in self.style_losses.items()
        )
        tv = self.tv_loss(pixels)
        total = (
            settings.content_weight * content
            + settings.style_weight * style
            + settings.tv_weight * tv
        )
        return {"content": content, "style": style, "tv": tv, "total": total}


def style_aspect(styles: list[StyleImage]) -> float:
    """The largest short/long side ratio among the style images."""
    return max(min(s.rgb.shape[-2:]) / max(s.rgb.shape[-2:]) for s in styles)
