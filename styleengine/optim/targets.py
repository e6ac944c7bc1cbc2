"""The style targets: each painting's statistics at the style layers, which the objective's
style terms compare the picture with, blended over the paintings or per region."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..loss.objective import StyleImage, StyleRegion, style_statistic
from ..loss.regions import RegionGroup
from ..loss.terms import position_weights_for
from ..model.canvas import MIN_WORK_SIDE, pad_to_canvas, padding, resize
from ..model.network import VGGFeatures
from ..plan.planning import fit
from .tiled import style_statistics_in_tiles


class StyleTargets:
    """The targets of ``network``'s style layers (those of ``sliced_layers`` compared as
    whole distributions, the rest by Gram matrices), computed on ``device``."""

    def __init__(
        self,
        network: VGGFeatures,
        device: torch.device,
        style_layers: tuple[str, ...],
        sliced_layers: tuple[str, ...],
    ) -> None:
        self.network = network
        self.device = device
        self.style_layers = style_layers
        self.sliced_layers = sliced_layers

    def statistics(
        self, features: dict[str, torch.Tensor], alpha: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Each style layer's target from a painting's ``features``, its pixels weighted by
        ``alpha`` (1, 1, H, W)."""
        return {
            name: style_statistic(
                features[name],
                position_weights_for(alpha, features[name]),
                name in self.sliced_layers,
            )
            for name in self.style_layers
        }

    def of_styles(
        self,
        styles: list[StyleImage],
        blend: list[float],
        longest: int,
        tile_side: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Targets per style layer (``statistics``), blended over the style images; with
        ``tile_side``, computed tile by tile (styles without transparency)."""
        targets: dict[str, torch.Tensor] = {}
        for style, weight in zip(styles, blend):
            size = fit(tuple(style.rgb.shape[-2:]), max(MIN_WORK_SIDE, round(longest)))
            if tile_side is not None and style.alpha is None and min(size) >= MIN_WORK_SIDE:
                found = style_statistics_in_tiles(
                    self.network, resize(style.rgb, size), self.style_layers,
                    self.sliced_layers, tile_side, self.device,
                )  # fmt: skip
                for name in self.style_layers:
                    targets[name] = targets.get(name, 0) + weight * found[name]
                continue
            rgb = pad_to_canvas(resize(style.rgb, size))
            alpha = None if style.alpha is None else resize(style.alpha, size)
            if rgb.shape[-2:] != size:
                # The padding of a thin style must not count as style: its weight is 0.
                alpha = torch.ones(1, 1, *size) if alpha is None else alpha
                alpha = F.pad(alpha, padding(size, rgb.shape[-2:]))
            if alpha is not None:
                alpha = alpha.to(self.device)
            with torch.no_grad():
                features = self.network(rgb.to(self.device))
            for name, found in self.statistics(features, alpha).items():
                targets[name] = targets.get(name, 0) + weight * found
            del features
        return targets

    def of_regions(
        self,
        styles: list[StyleImage],
        blend: list[float],
        groups: list[RegionGroup] | None,
        size: tuple[int, int],
        longest: float,
        tile_side: int | None = None,
    ) -> dict[str, torch.Tensor] | list[StyleRegion]:
        """The style targets of a picture of ``size``: blended over the whole picture (no
        ``groups``), or per region with its mask (on the network's canvas, except for the
        tiled detail pass, which ``tile_side`` asks for)."""
        if groups is None:
            return self.of_styles(styles, blend, longest, tile_side)
        found = []
        for group in groups:
            chosen = [styles[i] for i in group.styles]
            targets = self.of_styles(chosen, group.blend, longest, tile_side)
            mask = None
            if group.mask is not None:
                mask = group.mask_at(size, canvas=tile_side is None)
            found.append(StyleRegion(targets, mask, group.share))
        return found
