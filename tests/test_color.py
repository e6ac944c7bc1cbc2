"""Colour (styleengine.image.color): keeping the photo's colours, moving toward the painting's."""

from __future__ import annotations

import numpy as np
import torch

from styleengine.image.color import match_histogram, toward_palette, transfer_luminance


def test_histogram_matching_gives_content_colour_statistics():
    rng = np.random.default_rng(8)
    style = torch.from_numpy(rng.random((3, 20, 20)).astype(np.float32) * 0.5)
    content = torch.from_numpy(rng.random((3, 20, 20)).astype(np.float32) * 0.3 + 0.4)
    matched = match_histogram(style, content)
    np.testing.assert_allclose(matched.mean((1, 2)), content.mean((1, 2)), atol=2e-3)
    cov = lambda t: np.cov(t.reshape(3, -1).double().numpy())  # noqa: E731
    np.testing.assert_allclose(cov(matched), cov(content), atol=2e-3)


def test_luminance_transfer_keeps_result_luminance_and_content_colour():
    rng = np.random.default_rng(9)
    result = torch.from_numpy(rng.random((3, 8, 8)).astype(np.float32) * 0.5 + 0.25)
    content = torch.from_numpy(rng.random((3, 8, 8)).astype(np.float32) * 0.5 + 0.25)
    combined = transfer_luminance(result, content)
    luma = torch.tensor([0.299, 0.587, 0.114])
    y = lambda t: torch.einsum("c,chw->hw", luma, t)  # noqa: E731
    torch.testing.assert_close(y(combined), y(result), atol=1e-4, rtol=0)
    # chrominance (I, Q) follows the content: two of them identical -> identical colours
    assert not torch.allclose(combined, result, atol=1e-3)


def test_palette_moves_the_photos_colours_toward_the_paintings_as_far_as_asked():
    rng = np.random.default_rng(12)
    photo = torch.from_numpy(rng.random((1, 3, 24, 24)).astype(np.float32) * 0.4 + 0.3)
    painting = torch.from_numpy(rng.random((1, 3, 16, 16)).astype(np.float32) * 0.3)
    painting[:, 0] += 0.6  # a red painting
    styles = [(painting, None)]
    assert torch.allclose(toward_palette(photo, styles, [1.0], 0.0), photo, atol=1e-4)
    whole = toward_palette(photo, styles, [1.0], 1.0)
    np.testing.assert_allclose(whole.mean((0, 2, 3)), painting.mean((0, 2, 3)), atol=2e-3)
    distances = [
        float((toward_palette(photo, styles, [1.0], share).mean((0, 2, 3))
               - painting.mean((0, 2, 3))).norm())
        for share in (0.0, 0.5, 1.0)
    ]  # fmt: skip
    assert distances[0] > distances[1] > distances[2]
    # The layout is the photo's: a linear recolouring keeps every pixel's place.
    assert np.corrcoef(whole[0, 1].ravel(), photo[0, 1].ravel())[0, 1] > 0.5
