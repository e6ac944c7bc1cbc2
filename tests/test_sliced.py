"""The sliced-Wasserstein style term: what it asks of a picture, its blends and regions, and its
tiled form for pictures too large to sort whole."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_content, make_style

from styleengine.api import to_tensor
from styleengine.loss import sliced
from styleengine.loss.objective import StyleImage
from styleengine.loss.sliced import SlicedLoss, quantile_table
from styleengine.loss.terms import StyleLoss, gram_matrix
from styleengine.optim.stylizer import Stylizer
from styleengine.optim.tiled import TiledObjective
from styleengine.settings import StyleSettings


def _features(seed: int, shape=(1, 8, 12, 14)) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).random(shape).astype(np.float32))


def test_the_painting_itself_and_its_strokes_rearranged_cost_nothing():
    painting = _features(0)
    shuffled = painting.flatten(2)[..., torch.randperm(12 * 14)].reshape(painting.shape)
    loss = SlicedLoss(quantile_table(painting))
    assert loss(painting).item() < 1e-6
    assert loss(shuffled).item() < 1e-6
    assert loss(_features(1) * 2).item() > 0.1


def test_it_tells_apart_what_gram_matrices_cannot():
    """Hard two-valued strokes against a soft spread of the same second moments: one Gram
    matrix for both (the foil and the paint look alike to it), not one distribution."""
    generator = torch.Generator().manual_seed(0)
    signs = torch.randint(0, 2, (1, 4, 64, 64), generator=generator).float() * 2 - 1
    spread = torch.randn(1, 4, 64, 64, generator=generator)
    gram = StyleLoss(gram_matrix(signs))(spread).item()
    distribution = SlicedLoss(quantile_table(signs))(spread).item()
    assert gram < 0.01
    assert distribution > 10 * gram


def test_it_does_not_depend_on_the_sizes_of_picture_or_painting():
    painting = _features(2, (1, 8, 30, 30))
    picture = _features(3, (1, 8, 20, 25)) * 1.5
    larger_painting = painting.repeat(1, 1, 2, 3)
    larger_picture = picture.repeat(1, 1, 3, 2)
    value = SlicedLoss(quantile_table(painting))(picture).item()
    assert SlicedLoss(quantile_table(larger_painting))(picture).item() == pytest.approx(
        value, rel=0.02
    )
    assert SlicedLoss(quantile_table(painting))(larger_picture).item() == pytest.approx(
        value, rel=0.02
    )


def test_a_region_is_measured_on_its_own_positions():
    picture, painting = _features(4), _features(5) * 2
    weights = torch.zeros(1, 1, 12, 14)
    weights[..., :5, :] = 1
    table = quantile_table(painting)
    region = SlicedLoss(table, weights)(picture).item()
    alone = SlicedLoss(table)(picture[..., :5, :]).item()
    assert region == pytest.approx(alone, rel=1e-4)
    # and a painting's transparent pixels are not part of its style
    assert torch.allclose(quantile_table(picture, weights), quantile_table(picture[..., :5, :]))


def test_a_blend_of_two_paintings_lies_between_them():
    """Blending tables averages the paintings' quantiles: for a painting and an affine copy
    of it (3 f + 1, which keeps every direction's order), the painting halfway (2 f + 0.5)."""
    first = _features(6)
    second = first * 3 + 1
    blend = SlicedLoss(0.5 * quantile_table(first) + 0.5 * quantile_table(second))
    assert blend(first).item() > 0.05 and blend(second).item() > 0.05
    assert blend(first * 2 + 0.5).item() < 1e-6


def test_a_sample_stands_for_a_picture_too_large_to_sort(hed_weights, monkeypatch):
    """With few positions in the sample (as at 24 MP), the tiled term and its gradient stay
    close to the exact ones of the whole picture."""
    size = (160, 208)
    layers = {"relu3_1": 1.0}
    settings = StyleSettings(
        style_layers=layers, sliced_layers=("relu3_1",), content_weight=0, tv_weight=0,
        layout_weight=0, style_weight=1.0,
    )  # fmt: skip
    model = Stylizer(
        hed_weights, torch.device("cpu"), torch.float32, style_layers=tuple(layers),
        sliced_layers=("relu3_1",),
    )  # fmt: skip
    content = to_tensor(make_content(*size))
    noise = torch.rand(content.shape, generator=torch.Generator().manual_seed(0))
    image = (content + 0.1 * noise).clamp(0, 1)
    targets = model.targets.of_styles([StyleImage(to_tensor(make_style(96, 96)))], [1.0], max(size))
    whole = model.objective(content, targets, settings)
    pixels = image.clone().requires_grad_(True)
    terms = whole.terms(model.features(pixels), pixels)
    terms["total"].backward()

    # relu3_1 has 40 x 52 positions: a sample of every second row and column, 520 values a
    # direction (a 24 MP picture's sample holds 16384)
    monkeypatch.setattr(sliced, "SAMPLE_POSITIONS", 600)
    tiled = TiledObjective(model.network, content, targets, settings, 48, torch.device("cpu"))
    assert tiled.steps["relu3_1"] == 2
    _total, gradient, tiled_terms = tiled.loss_and_gradient(image)
    assert float(tiled_terms["style"]) == pytest.approx(terms["style"].item(), rel=0.03)
    error = (gradient - pixels.grad).norm() / pixels.grad.norm()
    assert error < 0.05, float(error)
