"""The Gatys objective: the weighted sum of its terms (the content and style of the network's
features, and the pixel terms: layout, total variation), and the style images it is
measured against.

Each term owns the setting that weighs it; the sum is written once (``weighted_total``), for
the whole-image objective here, the tiled one (optim/tiled.py) and the bench's textbook loop."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..settings import StyleSettings
from .sliced import SlicedLoss, quantile_table
from .terms import ContentLoss, PixelTerm, StyleLoss, gram_matrix


def style_statistic(
    features: torch.Tensor, weights: torch.Tensor | None, sliced: bool
) -> torch.Tensor:
    """A style layer's target from a painting's ``features``, positions weighted by
    ``weights``: its quantile table where the layer is ``sliced`` (loss/sliced.py), else its Gram
    matrix. Either blends as a weighted average."""
    return quantile_table(features, weights) if sliced else gram_matrix(features, weights)


def style_loss(target: torch.Tensor, weights: torch.Tensor | None, sliced: bool) -> nn.Module:
    """The loss that compares a picture's features with ``target`` (``style_statistic``)."""
    return SlicedLoss(target, weights) if sliced else StyleLoss(target, weights)


@dataclass
class StyleRegion:
    """Style targets and where on the picture they apply: ``mask`` (1, 1, H, W) in [0, 1] at
    the optimized image's size (None: everywhere) and the region's ``share`` of the style loss,
    its area: a pixel is then painted as strongly in a region as in a picture of one style."""

    targets: dict[str, torch.Tensor]
    mask: torch.Tensor | None = None
    share: float = 1.0


def as_regions(style: dict[str, torch.Tensor] | list[StyleRegion]) -> list[StyleRegion]:
    """Gram targets alone are one region: the whole picture."""
    return [StyleRegion(style)] if isinstance(style, dict) else style


@dataclass
class StyleImage:
    """A style image (1, 3, H, W) in [0, 1], with an optional alpha (1, 1, H, W)."""

    rgb: torch.Tensor
    alpha: torch.Tensor | None = None


# The terms that see only pixels, in the order they are summed: every PixelTerm written.
PIXEL_TERMS: tuple[type[PixelTerm], ...] = tuple(PixelTerm.every)

# The feature terms (their losses are built per layer, against the network's features) and
# the setting that weighs each, then the pixel terms': every term of the objective in order.
TERM_WEIGHTS: dict[str, str] = {
    "content": "content_weight",
    "style": "style_weight",
    **{term.name: term.weight_setting for term in PIXEL_TERMS},
}


def pixel_terms(photo: torch.Tensor) -> list[PixelTerm]:
    """Every pixel term of a picture painted from ``photo``, at the picture's size."""
    return [term.for_photo(photo) for term in PIXEL_TERMS]


def weighted_total(settings: StyleSettings, terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """The objective's value from its terms by name: each term times the setting that weighs
    it, summed in TERM_WEIGHTS' order."""
    weighted = [getattr(settings, weight) * terms[name] for name, weight in TERM_WEIGHTS.items()]
    total = weighted[0]
    for value in weighted[1:]:
        total = total + value
    return total


class Objective:
    """The feature terms (content, style) and the pixel terms, with their weights."""

    def __init__(
        self,
        content_losses: dict[str, ContentLoss],
        style_losses: list[tuple[float, dict[str, nn.Module]]],
        pixel_terms: list[PixelTerm],
        settings: StyleSettings,
    ) -> None:
        """``style_losses``: per region, its share and its losses by layer."""
        self.content_losses = content_losses
        self.style_losses = style_losses
        self.pixel_terms = pixel_terms
        self.settings = settings

    def terms(
        self, features: dict[str, torch.Tensor], pixels: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        settings = self.settings
        content = sum(loss(features[n]) for n, loss in self.content_losses.items())
        style = sum(
            (
                share * settings.style_layers[n] * loss(features[n])
                for share, losses in self.style_losses
                for n, loss in losses.items()
            ),
            torch.zeros((), device=pixels.device),
        )
        terms = {"content": content, "style": style}
        terms.update((term.name, term(pixels)) for term in self.pixel_terms)
        return {**terms, "total": weighted_total(settings, terms)}


def style_aspect(styles: list[StyleImage]) -> float:
    """The largest short/long side ratio among the style images."""
    return max(min(s.rgb.shape[-2:]) / max(s.rgb.shape[-2:]) for s in styles)
