"""The network's canvas: resizing, and padding an image too thin for the network's poolings.

Images here are float32 tensors (..., H, W); sizes are (height, width).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# The network pools four times before relu5_1; below this side the deepest maps vanish, so
# thinner images are optimized on a padded canvas of this side and cropped back.
MIN_WORK_SIDE = 32

Size = tuple[int, int]


def network_canvas(height: int, width: int) -> Size:
    """The canvas an image of (height, width) is optimized on: each side at least
    MIN_WORK_SIDE, because the network pools four times before relu5_1. A thinner image
    (a strip, a 1x1 layer) is padded with its edge pixels, and cropped back afterwards."""
    return max(height, MIN_WORK_SIDE), max(width, MIN_WORK_SIDE)


def padding(size: tuple[int, ...], canvas: tuple[int, ...]) -> tuple[int, int, int, int]:
    """F.pad's (left, right, top, bottom) that centre ``size`` on ``canvas``."""
    top, left = (canvas[0] - size[0]) // 2, (canvas[1] - size[1]) // 2
    return left, canvas[1] - size[1] - left, top, canvas[0] - size[0] - top


def pad_to_canvas(image: torch.Tensor) -> torch.Tensor:
    size = tuple(image.shape[-2:])
    canvas = network_canvas(*size)
    if canvas == size:
        return image
    return F.pad(image, padding(size, canvas), mode="replicate")


def crop_from_canvas(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    left, _, top, _ = padding(size, tuple(image.shape[-2:]))
    return image[..., top : top + size[0], left : left + size[1]]


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(
        image, size=size, mode="bicubic", antialias=True, align_corners=False
    ).clamp(0, 1)


def start_of_finer_scale(
    coarse: torch.Tensor, content: torch.Tensor, size: tuple[int, int], rescale: str
) -> torch.Tensor:
    """The image a finer scale starts from, given the coarser scale's result."""
    enlarged = resize(coarse, size)
    if rescale == "upsample":
        return enlarged
    content_fine = resize(content, size)
    content_detail = content_fine - resize(resize(content_fine, coarse.shape[-2:]), size)
    return (enlarged + content_detail).clamp(0, 1)
