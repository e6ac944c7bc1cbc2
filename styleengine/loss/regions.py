"""Painting by regions: where on the photo each painting paints, and how strongly.

Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer" (CVPR 2017): a
region's style is a guided Gram matrix, the Gram matrix of the positions its mask covers,
matched to the painting's (or to the part of the painting its own mask covers). Each style
bound to a mask is a region of its own; the styles bound to none share what no mask covers
("everything else"), or the whole photo when no style has a mask. A strength map (0..1 per
pixel) scales every region's mask, and at the end the result is mixed with the photo by it,
so that 0 keeps the photo as it is.

Masks here are float tensors (1, 1, H, W) in [0, 1] at the content's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import BadInputError
from ..image.color import toward_palette
from ..image.files import ImageData
from ..model.canvas import pad_to_canvas, resize

# A region smaller than this share of the picture has no style to speak of: it is left out
# rather than given a Gram matrix of a few pixels.
MIN_REGION_SHARE = 1e-4


# A mask whose aspect differs more than this from its image's was made for another picture.
ASPECT_TOLERANCE = 0.02
# The faintest grey that still counts as painted (half of 8-bit's smallest step).
EMPTY_BELOW = 0.5 / 255


@dataclass
class RegionMasks:
    """Masks as images, as a user gives them: per style number (from 1), where on the photo
    it paints and which part of its painting the style is taken from, and a strength map.
    White paints, black does not; grey and feathered edges blend; transparent is black."""

    # Each an ImageData, a numpy array, a PIL image or an image file's path (api.py reads
    # the others into ImageData).
    photo: dict[int, Any]
    painting: dict[int, Any] = field(default_factory=dict)
    strength: Any = None


def mask_tensor(
    mask: ImageData, size: tuple[int, int], what: str, may_be_empty: bool = False
) -> torch.Tensor:
    """``mask`` as (1, 1, H, W) in [0, 1] at ``size`` (the image it belongs to), or
    BadInputError naming ``what`` when it cannot be: another aspect, or nothing painted."""
    height, width = size
    aspect, own = width / height, mask.width / mask.height
    if abs(own / aspect - 1) > ASPECT_TOLERANCE:
        raise BadInputError(
            f"{what} is {mask.width}x{mask.height}, another shape than its image "
            f"({width}x{height}); give it the image's aspect (the same size is simplest)."
        )
    grey = mask.rgb.mean(axis=-1)
    if mask.alpha is not None:
        grey = grey * mask.alpha
    if not may_be_empty and float(np.max(grey)) < EMPTY_BELOW:
        raise BadInputError(f"{what} is empty (all black): paint white where it applies.")
    tensor = torch.from_numpy(np.ascontiguousarray(grey, dtype=np.float32))[None, None]
    return resize(tensor, size)


@dataclass
class RegionGroup:
    """Styles that paint one region, with their shares of its blend, and its mask (None:
    the whole picture)."""

    styles: list[int]
    blend: list[float]
    mask: torch.Tensor | None
    share: float = 1.0

    def mask_at(self, size: tuple[int, int], canvas: bool) -> torch.Tensor:
        """The mask at ``size``, padded as the image is on the network's canvas."""
        assert self.mask is not None
        mask = resize(self.mask, size)
        return pad_to_canvas(mask) if canvas else mask


@dataclass
class Regions:
    """One photo mask (or None) per style image, and an optional strength map."""

    photo_masks: list[torch.Tensor | None]
    strength: torch.Tensor | None = None

    @property
    def plain(self) -> bool:
        """Nothing to guide: every style paints the whole picture at full strength."""
        return self.strength is None and all(mask is None for mask in self.photo_masks)

    def groups(self, blend: list[float]) -> list[RegionGroup]:
        """The regions to paint, each with the blend of its styles (shares of one)."""
        bound = [i for i, mask in enumerate(self.photo_masks) if mask is not None]
        free = [i for i, mask in enumerate(self.photo_masks) if mask is None]
        masks: list[tuple[list[int], torch.Tensor | None]] = [
            ([i], self.photo_masks[i]) for i in bound
        ]
        if free:
            covered = [self.photo_masks[i] for i in bound]
            rest = None if not covered else (1 - torch.stack(covered).amax(0)).clamp(0, 1)
            masks.append((free, rest))
        groups = []
        for styles, mask in masks:
            if self.strength is not None:
                mask = self.strength if mask is None else mask * self.strength
            weights = [blend[i] for i in styles]
            share = 1.0 if mask is None else float(mask.mean())
            if sum(weights) <= 0 or share < MIN_REGION_SHARE:
                continue
            total = sum(weights)
            groups.append(RegionGroup(styles, [w / total for w in weights], mask, share))
        return groups

    def keep_photo(self, result: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
        """``result`` mixed with ``photo`` (both at the output size) by the strength map."""
        if self.strength is None:
            return result
        strength = resize(self.strength, tuple(result.shape[-2:]))
        return photo + strength * (result - photo)


def mixed_by_regions(
    content: torch.Tensor,
    groups: list[RegionGroup],
    made: Callable[[RegionGroup], torch.Tensor],
) -> torch.Tensor:
    """``content`` changed region by region into what ``made`` makes of it for each region
    (the sky's own palette, the sky's own painted start), mixed by the masks; what no region
    covers stays ``content``."""
    change = torch.zeros_like(content)
    cover = torch.zeros(1, 1, *content.shape[-2:])
    for group in groups:
        mask = (
            torch.ones_like(cover) if group.mask is None else resize(group.mask, content.shape[-2:])
        )
        change += mask * (made(group) - content)
        cover += mask
    return (content + change / cover.clamp_min(1.0)).clamp(0, 1)


def toward_palettes(
    content: torch.Tensor,
    palettes: list[tuple[torch.Tensor, torch.Tensor | None]],
    groups: list[RegionGroup],
    share: float,
) -> torch.Tensor:
    """``content`` recoloured region by region toward its own paintings' palette (the sky
    toward the sky's painting), by the masks."""

    def toned(group: RegionGroup) -> torch.Tensor:
        return toward_palette(content, [palettes[i] for i in group.styles], group.blend, share)

    return mixed_by_regions(content, groups, toned)
