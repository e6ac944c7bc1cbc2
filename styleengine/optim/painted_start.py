"""The painted start: the optimization begins from a fast stylization of the photo.

Painting everything from the photo one small step at a time is what costs minutes. Magenta's
arbitrary-style network (``model/feedforward.py``) paints the photo with the chosen painting in one
pass, in a fraction of a second; the optimization then refines that picture with the engine's
own objective and needs far fewer iterations to look painted.

Blends mix the paintings' style embeddings (the network was trained so that they interpolate);
regions get a start each, mixed by their masks; the Strength sets how much of the start is the
painted picture and how much the photo.

The network's picture keeps the photo's shapes but moves its light and shade (a dark sky
patch, a bright roof), which the optimization's few iterations cannot move back: the start
takes the photo's luminance at coarse scales (a Gaussian blur of about a quarter of the
picture's structure scale) and the network's strokes and colours at the fine ones. Starting
instead from a mix with the photo's pixels brings back the photo's flat areas, and with them
the crumpled relief the optimization paints into flat skies (QUALITY.md, 2026-12-02).

The light is moved by scaling each pixel's colour, not by adding grey to it: an added grey
washes a brightened colour out and oversaturates a darkened one, where a scale keeps its hue
and saturation. On the 24 pairs that kept more of both the structure and the painting, by
both judges (QUALITY.md, 2026-12-03).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..contract import DEFAULT_PHOTO_LIGHT
from ..image.color import luminance, toward_palette
from ..loss.objective import StyleImage
from ..loss.regions import RegionGroup, mixed_by_regions
from ..model.canvas import resize
from ..model.feedforward import PREDICTOR_SIDE, StylePredictor, StyleTransformer
from ..model.weights import feedforward_state

# The transformer halves the picture twice and doubles it back: sides must be multiples of 4.
_SIDE_MULTIPLE = 4
# Its reflection padding (4 px at full size, 1 px at a quarter) needs sides larger than that:
# a thin strip or a tiny picture is padded to this side, painted, and cropped back.
MIN_PAINT_SIDE = 32
# The blur that separates the photo's light and shade (kept) from the strokes (painted), as a
# share of the longest side: 4 px at 384, the structure measure's scale (QUALITY.md).
LAYOUT_BLUR_SHARE = 4 / 384
# The light is scaled from this far below black, so that black paint on a bright part of the
# photo is lifted too (a scale alone leaves black black) and no colour is scaled more than
# about twentyfold.
LIGHT_OFFSET = 0.05


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
    def paint(
        self, photo: torch.Tensor, embedding: torch.Tensor, stroke_size: float = 1.0
    ) -> torch.Tensor:
        """``photo`` (1, 3, H, W) painted with ``embedding``, at the photo's size, on the CPU.
        The network's strokes have a size in pixels: another ``stroke_size`` paints a copy
        that many times smaller (or larger, below 1) and brings the picture back to the
        photo's size, so its strokes are that much larger (or finer)."""
        if stroke_size != 1:
            size = tuple(photo.shape[-2:])
            scaled = tuple(max(1, round(side / stroke_size)) for side in size)
            return resize(self.paint(resize(photo, scaled), embedding), size)
        height, width = photo.shape[-2:]
        pad_h = max(MIN_PAINT_SIDE - height, -height % _SIDE_MULTIPLE)
        pad_w = max(MIN_PAINT_SIDE - width, -width % _SIDE_MULTIPLE)
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
        palette: float = 0.0,
        photo_light: float = DEFAULT_PHOTO_LIGHT,
        stroke_size: float = 1.0,
    ) -> torch.Tensor:
        """The start for ``photo``: each region painted with its blend of ``styles``, mixed
        with the photo, ``share`` (0..1) of it painted, its coarse light and shade moved
        ``photo_light`` of the way back to the photo's, and its colours moved ``palette`` of
        the way to its paintings' palette (as the photo's are, settings.palette), its strokes
        ``stroke_size`` times the network's."""
        paintings = [self.embedding(style.rgb) for style in styles]
        palettes = [(style.rgb, style.alpha) for style in styles]

        def painted(group: RegionGroup) -> torch.Tensor:
            blend = sum(w * paintings[i] for i, w in zip(group.styles, group.blend))
            mixed = photo + share * (self.paint(photo, blend, stroke_size) - photo)
            start = with_photo_layout(mixed, photo, photo_light)
            if palette <= 0:
                return start
            chosen = [palettes[i] for i in group.styles]
            return toward_palette(start, chosen, group.blend, palette).clamp(0, 1)

        return mixed_by_regions(photo, groups, painted)


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur, edges replicated (so any size works, however thin)."""
    radius = int(3 * sigma)
    if radius < 1:
        return image
    offsets = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    taps = torch.exp(-(offsets**2) / (2 * sigma**2))
    taps = taps / taps.sum()
    channels = image.shape[1]
    padded = F.pad(image, (radius,) * 4, mode="replicate")
    rows = F.conv2d(padded, taps.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(rows, taps.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def with_photo_layout(painted: torch.Tensor, photo: torch.Tensor, share: float) -> torch.Tensor:
    """``painted`` with its coarse light and shade moved ``share`` of the way to the
    photo's, each colour scaled (from LIGHT_OFFSET below black) so that it keeps its hue and
    saturation."""
    sigma = LAYOUT_BLUR_SHARE * max(photo.shape[-2:])
    light = gaussian_blur(luminance(painted), sigma)
    shift = gaussian_blur(luminance(photo), sigma) - light
    scale = (light + share * shift + LIGHT_OFFSET) / (light + LIGHT_OFFSET)
    # painted + (painted + offset) * (scale - 1): where nothing moves, exactly the picture
    return (painted + (painted + LIGHT_OFFSET) * (scale - 1)).clamp(0, 1)
