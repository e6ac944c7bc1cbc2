"""The three terms of the Gatys objective: content, style (Gram matrices) and total variation.

Every term is normalized to be dimensionless, so that one set of default weights gives the
same balance whatever the image size, the style image size, or the weight source (Caffe-style
weights see inputs in 0..255 and have activations far larger than torchvision's):

- content: the mean squared feature difference divided by the mean squared target feature;
- style: Gram matrices are averaged over positions (not summed), so they do not grow with the
  number of pixels of either image, and each layer's loss is the squared Frobenius distance
  divided by the target Gram's squared norm: a relative error per layer;
- total variation: the mean squared difference of neighbouring pixels of the image in [0, 1],
  a per-pixel quantity that measures the pixel-level noise it is there to suppress.

Gram products accumulate in float32 (bfloat16 matrix products do so internally) and the
losses are computed in float32 even when the features are bfloat16.
"""

from __future__ import annotations

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
        return _Gram.apply(flat)
    flat_weights = weights.permute(0, 2, 3, 1).reshape(height * width, 1).to(flat.dtype)
    total = weights.float().sum().clamp_min(1.0)
    return (flat.T @ (flat * flat_weights)).float() / total


class _Gram(torch.autograd.Function):
    """F^T F / N with a backward of one product, F (dG + dG^T) / N.

    Autograd's own backward of ``flat.T @ flat`` makes two products, one per operand, and
    adds two position-sized gradients: on a CPU that was a fifth of an iteration's time.
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(flat)
        return (flat.T @ flat).float() / flat.shape[0]

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (flat,) = ctx.saved_tensors
        symmetric = ((grad + grad.T) / flat.shape[0]).to(flat.dtype)
        return flat @ symmetric


def position_weights_for(alpha: torch.Tensor | None, features: torch.Tensor) -> torch.Tensor | None:
    """An alpha mask (1, 1, h, w) resampled to the spatial size of ``features``."""
    if alpha is None:
        return None
    return F.adaptive_avg_pool2d(alpha.float(), features.shape[-2:])


class ContentLoss(nn.Module):
    """Relative squared error between the features of the image and those of the content."""

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        target = target.detach().float()
        self.register_buffer("target", target)
        self.register_buffer("norm", target.pow(2).mean().clamp_min(1e-8))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features.float() - self.target).pow(2).mean() / self.norm


class StyleLoss(nn.Module):
    """Relative squared error between the image's Gram matrix and a target Gram matrix."""

    def __init__(self, target_gram: torch.Tensor) -> None:
        super().__init__()
        target_gram = target_gram.detach().float()
        self.register_buffer("target", target_gram)
        self.register_buffer("norm", target_gram.pow(2).sum().clamp_min(1e-8))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (gram_matrix(features) - self.target).pow(2).sum() / self.norm


class TVLoss(nn.Module):
    """Mean squared difference between horizontally and vertically neighbouring pixels."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        image = image.float()
        dx = image[..., :, 1:] - image[..., :, :-1]
        dy = image[..., 1:, :] - image[..., :-1, :]
        return dx.pow(2).mean() + dy.pow(2).mean()
