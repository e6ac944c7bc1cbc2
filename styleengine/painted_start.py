"""The painted start: the optimization begins from a fast stylization of the photo.

Painting everything from the photo one small step at a time is what costs minutes. Magenta's
arbitrary-style network (``feedforward.py``) paints the photo with the chosen painting in one
pass, in a fraction of a second; the optimization then refines that picture with the engine's
own objective and needs far fewer iterations to look painted.

Blends mix the paintings' style embeddings (the network was trained so that they interpolate);
regions get a start each, mixed by their masks; the Strength sets how much of the start is the
painted picture and how much the photo.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .feedforward import PREDICTOR_SIDE, StylePredictor, StyleTransformer
from .objective import StyleImage
from .regions import RegionGroup, mixed_by_regions
from .weights import feedforward_state

# The transformer halves the picture twice and doubles it back: sides must be multiples of 4.
_SIDE_MULTIPLE = 4


class PaintedStart:
    """Both networks on one device, ready to paint starts."""

    def __init__(self, device: torch.device) -> None:
        state = feedforward_state()
        self.device = device
        self.predictor = StylePredictor()
        self.predictor.load_state_dict(state["predictor"])
        self.transformer = StyleTransformer()
        self.transformer.load_state_dict(state["transformer"])
        self.predictor.to(device).eval().requires_grad_(False)
        self.transformer.to(device).eval().requires_grad_(False)

    @torch.no_grad()
    def embedding(self, image: torch.Tensor) -> torch.Tensor:
        """The style embedding (1, 100) of ``image`` (1, 3, H, W): its largest centred square
        at the predictor's size, as Magenta embeds paintings."""
        height, width = image.shape[-2:]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = image[..., top : top + side, left : left + side].to(self.device, torch.float32)
        square = F.interpolate(
            square, size=(PREDICTOR_SIDE, PREDICTOR_SIDE), mode="bilinear", antialias=True,
            align_corners=False,
        ).clamp(0, 1)  # fmt: skip
        return self.predictor(square)

    @torch.no_grad()
    def paint(self, photo: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """``photo`` (1, 3, H, W) painted with ``embedding``, at the photo's size, on the CPU."""
        height, width = photo.shape[-2:]
        pad_h, pad_w = -height % _SIDE_MULTIPLE, -width % _SIDE_MULTIPLE
        pixels = photo.to(self.device, torch.float32)
        if pad_h or pad_w:
            pixels = F.pad(pixels, (0, pad_w, 0, pad_h), mode="replicate")
        painted = self.transformer(pixels, embedding)
        return painted[..., :height, :width].float().cpu()

    def start(
        self,
        photo: torch.Tensor,
        styles: list[StyleImage],
        groups: list[RegionGroup],
        share: float,
    ) -> torch.Tensor:
        """The start for ``photo``: each region painted with its blend of ``styles``, mixed
        with the photo, ``share`` (0..1) of it painted."""
        paintings = [self.embedding(style.rgb) for style in styles]

        def painted(group: RegionGroup) -> torch.Tensor:
            blend = sum(w * paintings[i] for i, w in zip(group.styles, group.blend))
            return photo + share * (self.paint(photo, blend) - photo)

        return mixed_by_regions(photo, groups, painted)
