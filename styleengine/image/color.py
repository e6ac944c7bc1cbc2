"""Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style
Transfer"): keep the content photo's colours while taking the painting's texture.

Images here are float tensors (3, H, W) with RGB in [0, 1].
"""

from __future__ import annotations

import torch

# RGB -> YIQ (NTSC), the colour space the paper uses to split luminance from chrominance.
_RGB_TO_YIQ = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ],
    dtype=torch.float64,
)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB -> (N, 1, H, W) luminance: YIQ's Y, BT.601's luma."""
    weights = _RGB_TO_YIQ[0].to(image.dtype).to(image.device).view(1, 3, 1, 1)
    return (image * weights).sum(dim=1, keepdim=True)


def _apply(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,jhw->ihw", matrix.to(image.dtype), image)


def transfer_luminance(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The result's luminance (Y) with the content's chrominance (I and Q)."""
    result_yiq = _apply(_RGB_TO_YIQ, result.double())
    content_yiq = _apply(_RGB_TO_YIQ, content.double())
    combined = torch.cat([result_yiq[:1], content_yiq[1:]])
    rgb = _apply(torch.linalg.inv(_RGB_TO_YIQ), combined)
    return rgb.clamp(0, 1).to(result.dtype)


ColourStatistics = tuple[torch.Tensor, torch.Tensor]  # RGB mean (3,), covariance (3, 3)


def colour_statistics(image: torch.Tensor, weights: torch.Tensor | None = None) -> ColourStatistics:
    """Mean and covariance of the RGB values of ``image`` (3, H, W), in float64;
    ``weights`` (H, W) in [0, 1] make pixels count in proportion."""
    pixels = image.reshape(3, -1).double()
    if weights is None:
        w = torch.ones(pixels.shape[1], dtype=torch.float64)
    else:
        w = weights.reshape(-1).double()
    w = w / w.sum().clamp_min(1e-12)
    mean = pixels @ w
    centred = pixels - mean[:, None]
    covariance = (centred * w) @ centred.T
    return mean, covariance


def mixture_statistics(parts: list[ColourStatistics], shares: list[float]) -> ColourStatistics:
    """The mean and covariance of the pixels of several images pooled in these shares."""
    mean = sum(share * m for (m, _), share in zip(parts, shares))
    second_moment = sum(share * (c + torch.outer(m, m)) for (m, c), share in zip(parts, shares))
    return mean, second_moment - torch.outer(mean, mean)


def _matrix_power(symmetric: torch.Tensor, power: float) -> torch.Tensor:
    # A small ridge keeps flat (e.g. grey) images invertible.
    values, vectors = torch.linalg.eigh(symmetric + 1e-5 * torch.eye(3, dtype=symmetric.dtype))
    return vectors @ torch.diag(values.clamp_min(1e-10).pow(power)) @ vectors.T


def recolour(
    image: torch.Tensor, target: ColourStatistics, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """``image`` (3, H, W) mapped linearly so its colour mean and covariance are ``target``'s.

    The map is C_t^(1/2) C_i^(-1/2), the one Gatys et al. (2017) recommend; ``weights`` as in
    ``colour_statistics``.
    """
    image_mean, image_cov = colour_statistics(image, weights)
    target_mean, target_cov = target
    transform = _matrix_power(target_cov, 0.5) @ _matrix_power(image_cov, -0.5)
    pixels = image.reshape(3, -1).double() - image_mean[:, None]
    matched = transform @ pixels + target_mean[:, None]
    return matched.reshape(image.shape).clamp(0, 1).to(image.dtype)


def match_histogram(
    style: torch.Tensor,
    content: torch.Tensor,
    style_weights: torch.Tensor | None = None,
    content_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Recolour ``style`` so its colour mean and covariance equal the content's;
    ``*_weights`` (H, W) in [0, 1] let transparent pixels drop out of the statistics."""
    return recolour(style, colour_statistics(content, content_weights), style_weights)


def toward_palette(
    content: torch.Tensor,
    styles: list[tuple[torch.Tensor, torch.Tensor | None]],
    blend: list[float],
    share: float,
) -> torch.Tensor:
    """``content`` (1, 3, H, W) with its colour statistics moved ``share`` of the way to
    those of the styles' pixels (each (rgb, alpha) as (1, 3, H, W), (1, 1, H, W) or None;
    pooled by ``blend``; transparent pixels do not count)."""
    palettes = [
        colour_statistics(rgb[0], None if alpha is None else alpha[0, 0]) for rgb, alpha in styles
    ]
    own = colour_statistics(content[0])
    target = mixture_statistics([own, mixture_statistics(palettes, blend)], [1 - share, share])
    return recolour(content[0], target)[None]
