"""The tiled objective is the untiled one: same loss terms and gradient, to rounding."""

from __future__ import annotations

import inspect

import pytest
import torch
from conftest import make_content, make_style

from styleengine.api import to_tensor
from styleengine.loss.objective import PIXEL_TERMS, StyleImage, StyleRegion
from styleengine.loss.terms import PixelTerm, TVLoss
from styleengine.optim.stylizer import Stylizer
from styleengine.optim.tiled import TiledObjective
from styleengine.settings import StyleSettings


@pytest.fixture(scope="module")
def stylizer(hed_weights):
    return Stylizer(hed_weights, torch.device("cpu"), torch.float32)


def _banded(term) -> bool:
    return "band_rows" in inspect.signature(term.value_and_gradient).parameters


@pytest.mark.parametrize("band_rows", [1, 7, 40, 1000])
@pytest.mark.parametrize("term_class", PIXEL_TERMS, ids=lambda term: term.name)
def test_every_pixel_terms_tiled_form_is_its_whole_image_form(term_class, band_rows):
    """What the detail pass adds for each pixel term (its value, and its gradient spread band
    by band where it has bands) against autograd on the whole image, at a size that is not a
    multiple of the layout's blocks: a new term is right in both objectives or fails here."""
    generator = torch.Generator().manual_seed(2)
    photo = torch.rand(1, 3, 43, 29, generator=generator)
    image = torch.rand(1, 3, 43, 29, generator=generator)
    term = term_class.for_photo(photo)
    pixels = image.clone().requires_grad_(True)
    expected = term(pixels)
    (3.0 * expected).backward()
    gradient = torch.zeros_like(image)
    bands = {"band_rows": band_rows} if _banded(term) else {}
    value = term.value_and_gradient(image, gradient, 3.0, **bands)
    torch.testing.assert_close(value, expected.detach())
    torch.testing.assert_close(gradient, pixels.grad)


def test_the_default_tiled_form_of_a_pixel_term_is_autograds():
    """The form a new term gets without writing one (``PixelTerm.value_and_gradient``)."""
    image = torch.rand(1, 3, 37, 23, generator=torch.Generator().manual_seed(1))
    term = TVLoss()
    pixels = image.clone().requires_grad_(True)
    (2.5 * term(pixels)).backward()
    gradient = torch.ones_like(image)  # added to, not replaced
    value = PixelTerm.value_and_gradient(term, image, gradient, 2.5)
    torch.testing.assert_close(value, term(image))
    torch.testing.assert_close(gradient, 1 + pixels.grad)


def _style(stylizer, size, masked):
    """The style targets of the whole image, or of two regions meeting at a feathered
    diagonal edge (soft masks are weights, not only 0 and 1)."""
    if not masked:
        style = StyleImage(to_tensor(make_style(96, 96)))
        return stylizer.targets.of_styles([style], [1.0], max(size))
    height, width = size
    y, x = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    sky = ((x - y * 1.3 + 20) / 25).clamp(0, 1).float()[None, None]
    regions = []
    for seed, mask in ((1, sky), (2, 1 - sky)):
        style = StyleImage(to_tensor(make_style(96, 96, seed=seed)))
        targets = stylizer.targets.of_styles([style], [1.0], max(size))
        regions.append(StyleRegion(targets, mask, float(mask.mean())))
    return regions


@pytest.mark.parametrize("masked", [False, True], ids=["whole", "regions"])
@pytest.mark.parametrize("size", [(160, 208), (131, 197)], ids=["aligned", "odd"])
def test_tiled_objective_and_gradient_equal_the_untiled_ones(stylizer, size, masked):
    settings = StyleSettings(layout_weight=0.5)
    content = to_tensor(make_content(*size))
    image = content + 0.1 * torch.randn(content.shape, generator=torch.Generator().manual_seed(0))
    image = image.clamp(0, 1)
    style = _style(stylizer, size, masked)
    whole = stylizer.objective(content, style, settings)
    pixels = image.clone().requires_grad_(True)
    terms = whole.terms(stylizer.features(pixels), pixels)
    terms["total"].backward()

    tiled = TiledObjective(stylizer.network, content, style, settings, 48, torch.device("cpu"))
    assert len(tiled.tiles) >= 12
    total, gradient, tiled_terms = tiled.loss_and_gradient(image)
    for name in ("content", "style", "layout", "tv", "total"):
        assert float(tiled_terms[name]) == pytest.approx(terms[name].item(), rel=1e-4), name
    error = (gradient - pixels.grad).norm() / pixels.grad.norm()
    assert error < 1e-4, float(error)


def test_style_targets_in_tiles_equal_the_whole_image_ones(stylizer):
    style = StyleImage(to_tensor(make_style(150, 230)))
    whole = stylizer.targets.of_styles([style], [1.0], 230)
    tiled = stylizer.targets.of_styles([style], [1.0], 230, tile_side=48)
    for name in whole:
        error = (tiled[name] - whole[name]).norm() / whole[name].norm()
        assert error < 1e-5, (name, float(error))
