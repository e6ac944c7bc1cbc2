"""The terms of the objective: content, style (Gram matrices), layout and total variation.

Every term is normalized to be dimensionless, so that one set of default weights gives the
same balance whatever the image size, the style image size, or the weight source (Caffe-style
weights see inputs in 0..255 and have activations far larger than torchvision's):

- content: the mean squared feature difference divided by the mean squared target feature;
- style: Gram matrices are averaged over positions (not summed), so they do not grow with the
  number of pixels of either image, and each layer's loss is the squared Frobenius distance
  divided by the target Gram's squared norm: a relative error per layer;
- total variation: the mean squared difference of neighbouring pixels of the image in [0, 1],
  a per-pixel quantity that measures the pixel-level noise it is there to suppress;
- layout: the relative squared error of the photo's edges at a quarter of the picture's size
  (a Laplacian loss, Li et al. 2017), made relative as the content term is.

Gram products accumulate in float32 (bfloat16 matrix products do so internally) and the
losses are computed in float32 even when the features are bfloat16.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn


def gram_matrix(features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Channel co-occurrences of ``features`` (1, C, H, W), averaged over positions.

    ``weights`` (1, 1, H, W) in [0, 1] makes positions count in proportion (used so that
    transparent style pixels do not count at all, rather than as black).
    """
    _, channels, height, width = features.shape
    # (positions, channels): a view, not a copy, of the channels-last maps the network makes.
    # (Indexing [0] instead would give the gradient a plain layout, and adding it to the
    # channels-last one from the next layer then costs more than the product.)
    flat = features.permute(0, 2, 3, 1).reshape(height * width, channels)
    # The product runs in the features' dtype; bfloat16 matrix products accumulate in float32
    # and only the result is rounded, which is then carried on in float32.
    if weights is None:
        return _Gram.apply(flat, None)
    flat_weights = weights.permute(0, 2, 3, 1).reshape(height * width, 1).float()
    total = flat_weights.sum().clamp_min(1.0)
    return _Gram.apply(flat, flat_weights.to(flat.dtype)) * (flat.shape[0] / total)


class _Gram(torch.autograd.Function):
    """F^T diag(w) F / N (w: one weight a position, or none) with a backward of one
    product, w F (dG + dG^T) / N, that keeps only F (a view of the features) and w.

    Autograd's own backward of ``flat.T @ flat`` makes two products, one per operand, and
    adds two position-sized gradients: on a CPU that was a fifth of an iteration's time.
    With weights it also kept a weighted copy of every layer's features, and a picture of
    two regions took twice the time and a third more memory of one without.
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(flat, weights)
        # (sqrt(w) F)^T (sqrt(w) F) = F^T diag(w) F
        scaled = flat if weights is None else flat * weights.sqrt()
        return (scaled.T @ scaled).float() / flat.shape[0]

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        flat, weights = ctx.saved_tensors
        symmetric = ((grad + grad.T) / flat.shape[0]).to(flat.dtype)
        gradient = flat @ symmetric
        return (gradient if weights is None else gradient * weights), None


# The formula of each term, written once: the whole-image objective (the modules below), the
# tiled objective of the detail pass (optim/tiled.py, which adds up partial sums over tiles)
# and the benchmark's textbook baseline (stylelab/baseline.py) all call these, so a change of
# the formula is a change in one place.


def content_term(squared_error_sum: torch.Tensor, target_square_sum: torch.Tensor) -> torch.Tensor:
    """Relative squared error: sum (f - t)^2 / sum t^2 (the same as the ratio of the means)."""
    return squared_error_sum / target_square_sum.clamp_min(1e-8)


def style_term(gram: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Relative squared Frobenius distance between two position-averaged Gram matrices."""
    return (gram - target_gram).pow(2).sum() / target_gram.pow(2).sum().clamp_min(1e-8)


def layout_term(squared_error_sum: torch.Tensor, target_square_sum: torch.Tensor) -> torch.Tensor:
    """The layout's relative squared error, written as the content's is."""
    return content_term(squared_error_sum, target_square_sum)


def tv_term(
    horizontal_sum: torch.Tensor, horizontal_count: int, vertical_sum: torch.Tensor,
    vertical_count: int,
) -> torch.Tensor:  # fmt: skip
    """Mean squared difference of horizontal plus of vertical neighbours, from their sums."""
    return horizontal_sum / max(1, horizontal_count) + vertical_sum / max(1, vertical_count)


def neighbour_squares(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sums of squared differences of horizontal and of vertical neighbours."""
    horizontal = (image[..., :, 1:] - image[..., :, :-1]).pow(2).sum()
    vertical = (image[..., 1:, :] - image[..., :-1, :]).pow(2).sum()
    return horizontal, vertical


# The layout term compares the pictures' luminance averaged over blocks of LAYOUT_BLOCK pixels:
# the scale at which a photo's layout is read (a bridge's towers, a row of windows, a face),
# coarser than the strokes, which it leaves free. In pixels, not in a share of the picture,
# because the strokes are sized by the picture too: the painting is resized to each scale's
# size, so the ratio of stroke to block is the same at every size.
LAYOUT_BLOCK = 4
_LUMINANCE = (0.299, 0.587, 0.114)
_LAPLACIAN = ((0.0, -1.0, 0.0), (-1.0, 4.0, -1.0), (0.0, -1.0, 0.0))


def layout_blocks(image: torch.Tensor) -> torch.Tensor:
    """``image`` (1, 3, H, W) averaged over LAYOUT_BLOCK x LAYOUT_BLOCK blocks, in float32
    (a remainder of fewer than LAYOUT_BLOCK rows or columns is left out)."""
    return F.avg_pool2d(image.float(), LAYOUT_BLOCK)


def layout_of_blocks(blocks: torch.Tensor) -> torch.Tensor:
    """The Laplacian of the luminance of ``blocks`` (1, 3, h, w): (1, 1, h - 2, w - 2), what
    the layout term compares. The Laplacian leaves out the blocks' mean brightness, which the
    painting's palette is free to change."""
    luminance = torch.tensor(_LUMINANCE, device=blocks.device).view(1, 3, 1, 1)
    kernel = torch.tensor(_LAPLACIAN, device=blocks.device).view(1, 1, 3, 3)
    return F.conv2d((blocks * luminance).sum(1, keepdim=True), kernel)


def position_weights_for(alpha: torch.Tensor | None, features: torch.Tensor) -> torch.Tensor | None:
    """An alpha mask (1, 1, h, w) resampled to the spatial size of ``features``."""
    if alpha is None:
        return None
    return mask_at_positions(alpha, tuple(features.shape[-2:]))


def mask_at_positions(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A mask (1, 1, h, w) in [0, 1] averaged down to a layer's positions ``size``: the
    share of each position's pixels that the mask covers."""
    return F.adaptive_avg_pool2d(mask.float(), size)


class ContentLoss(nn.Module):
    """Relative squared error between the features of the image and those of the content."""

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        target = target.detach().float()
        self.register_buffer("target", target)
        self.register_buffer("square_sum", target.pow(2).sum())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return content_term((features.float() - self.target).pow(2).sum(), self.square_sum)


class StyleLoss(nn.Module):
    """Relative squared error between the image's Gram matrix and a target Gram matrix; with
    ``weights`` (1, 1, H, W) at the layer's positions, the Gram matrix of a region (a guided
    Gram matrix, Gatys et al. 2017)."""

    def __init__(self, target_gram: torch.Tensor, weights: torch.Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("target", target_gram.detach().float())
        self.weights = weights

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return style_term(gram_matrix(features, self.weights), self.target)


class PixelTerm(nn.Module):
    """A term of the objective that sees only the picture's pixels (not the network's
    features): it owns its name in the progress record, the setting that weighs it and its
    form for a picture too large for one pass (``value_and_gradient``). A subclass is one of
    the objective by being written (``every``, in the order written, which is the order of
    the sum): the whole-image and the tiled objective both sum them all, so a new such term
    is one subclass here plus its weight's option (contract/options.py)."""

    # The term's name in the losses the progress record reports
    name: ClassVar[str]
    # The StyleSettings field (an option of contract.OPTIONS) that weighs it
    weight_setting: ClassVar[str]
    # Every term, in the order the classes were written
    every: ClassVar[list[type[PixelTerm]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        PixelTerm.every.append(cls)

    @classmethod
    def for_photo(cls, photo: torch.Tensor) -> PixelTerm:
        """The term of a picture painted from ``photo`` (1, 3, H, W), at the picture's size."""
        return cls()

    def weight(self, settings: Any) -> float:
        return float(getattr(settings, self.weight_setting))

    def value_and_gradient(
        self, image: torch.Tensor, gradient: torch.Tensor, weight: float
    ) -> torch.Tensor:
        """The term of ``image``, its gradient times ``weight`` added into ``gradient``, for a
        picture only the tiled objective holds: autograd on the whole image here (a term that
        would need more than a few full-size tensors so overrides it with a banded form)."""
        pixels = image.detach().float().requires_grad_(True)
        with torch.enable_grad():
            value = self(pixels)
            (weight * value).backward()
        gradient += pixels.grad.to(gradient.dtype)
        return value.detach()


# Rows of a band of the banded forms: a few full-width rows at a time.
BAND_ROWS = 256


class LayoutLoss(PixelTerm):
    """Relative squared error between the layout (``layout_of_blocks``) of the image and that
    of the content: what keeps the photo's towers and windows where they were while the
    strokes, finer than the blocks, are free to change."""

    name = "layout"
    weight_setting = "layout_weight"

    def __init__(self, content: torch.Tensor) -> None:
        super().__init__()
        target = layout_of_blocks(layout_blocks(content.detach()))
        self.register_buffer("target", target)
        self.register_buffer("square_sum", target.pow(2).sum())

    @classmethod
    def for_photo(cls, photo: torch.Tensor) -> LayoutLoss:
        return cls(photo)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.of_blocks(layout_blocks(image))

    def of_blocks(self, blocks: torch.Tensor) -> torch.Tensor:
        """The term from the image's ``layout_blocks``."""
        error = layout_of_blocks(blocks) - self.target
        return layout_term(error.pow(2).sum(), self.square_sum)

    def value_and_gradient(
        self,
        image: torch.Tensor,
        gradient: torch.Tensor,
        weight: float,
        band_rows: int = BAND_ROWS,
    ) -> torch.Tensor:
        """The term sees the image only through its block averages, a sixteenth of its
        pixels, so autograd runs on those; the average's gradient is then spread back over
        each block's pixels in bands of rows, never as a second full-size image."""
        blocks = layout_blocks(image.detach()).requires_grad_(True)
        with torch.enable_grad():
            value = self.of_blocks(blocks)
            (block_gradient,) = torch.autograd.grad(weight * value, blocks)
        share = block_gradient / LAYOUT_BLOCK**2
        block_rows = max(1, band_rows // LAYOUT_BLOCK)
        covered = share.shape[-1] * LAYOUT_BLOCK
        for top in range(0, share.shape[-2], block_rows):
            band = share[..., top : top + block_rows, :]
            band = band.repeat_interleave(LAYOUT_BLOCK, -2).repeat_interleave(LAYOUT_BLOCK, -1)
            row = top * LAYOUT_BLOCK
            gradient[..., row : row + band.shape[-2], :covered] += band.to(gradient)
        return value.detach()


class TVLoss(PixelTerm):
    """Mean squared difference between horizontally and vertically neighbouring pixels."""

    name = "tv"
    weight_setting = "tv_weight"

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        _, channels, height, width = image.shape
        horizontal, vertical = neighbour_squares(image.float())
        return tv_term(
            horizontal, channels * height * (width - 1), vertical, channels * (height - 1) * width
        )

    def value_and_gradient(
        self,
        image: torch.Tensor,
        gradient: torch.Tensor,
        weight: float,
        band_rows: int = BAND_ROWS,
    ) -> torch.Tensor:
        """In bands of rows: on the whole image its differences and their gradients would be
        five more full-size tensors. Each band takes one row more than it owns, for the
        vertical differences across its lower border."""
        _, channels, height, width = image.shape
        horizontal_count = channels * height * (width - 1)
        vertical_count = channels * (height - 1) * width
        total = torch.zeros((), device=image.device)
        for top in range(0, height, band_rows):
            bottom = min(top + band_rows, height)
            band = image[..., top : min(bottom + 1, height), :].detach().float()
            band.requires_grad_(True)
            with torch.enable_grad():
                horizontal, _ = neighbour_squares(band[..., : bottom - top, :])
                _, vertical = neighbour_squares(band)
                value = tv_term(horizontal, horizontal_count, vertical, vertical_count)
                (weight * value).backward()
            gradient[..., top : top + band.shape[-2], :] += band.grad.to(gradient.dtype)
            total = total + value.detach()
        return total
