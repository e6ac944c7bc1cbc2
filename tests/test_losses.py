"""Gram matrices and loss terms against float64 references."""

from __future__ import annotations

import numpy as np
import torch

from styleengine.color import match_histogram, transfer_luminance
from styleengine.losses import ContentLoss, StyleLoss, TVLoss, gram_matrix


def _features(seed: int, shape=(1, 8, 5, 7)) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).random(shape).astype(np.float32))


def test_gram_matrix_is_mean_over_positions():
    features = _features(0)
    flat = features[0].double().numpy().reshape(8, -1)
    expected = flat @ flat.T / flat.shape[1]
    np.testing.assert_allclose(gram_matrix(features).double().numpy(), expected, rtol=1e-5)


def test_gram_matrix_does_not_grow_with_image_size():
    small = _features(1, (1, 4, 6, 6))
    tiled = small.repeat(1, 1, 3, 3)  # the same texture over nine times the area
    torch.testing.assert_close(gram_matrix(tiled), gram_matrix(small), rtol=1e-5, atol=1e-6)


def test_weighted_gram_ignores_zero_weight_positions():
    features = _features(2, (1, 4, 4, 4))
    weights = torch.zeros(1, 1, 4, 4)
    weights[..., :2, :] = 1.0
    torch.testing.assert_close(
        gram_matrix(features, weights), gram_matrix(features[..., :2, :]), rtol=1e-5, atol=1e-6
    )


def test_style_and_content_losses_match_float64_formulas():
    target, current = _features(3), _features(4)
    t, c = target[0].double().numpy().reshape(8, -1), current[0].double().numpy().reshape(8, -1)
    gram_t, gram_c = t @ t.T / t.shape[1], c @ c.T / c.shape[1]
    expected_style = ((gram_c - gram_t) ** 2).sum() / (gram_t**2).sum()
    expected_content = ((c - t) ** 2).mean() / (t**2).mean()
    style = StyleLoss(gram_matrix(target))(current).item()
    content = ContentLoss(target)(current).item()
    np.testing.assert_allclose(style, expected_style, rtol=1e-5)
    np.testing.assert_allclose(content, expected_content, rtol=1e-5)
    assert StyleLoss(gram_matrix(target))(target).item() < 1e-10


def test_losses_are_scale_free():
    """Caffe-style inputs (0..255) give the same loss values as [0, 1] inputs."""
    target, current = _features(5), _features(6)
    for loss in (ContentLoss(target), StyleLoss(gram_matrix(target))):
        scaled = type(loss)(
            target * 255 if isinstance(loss, ContentLoss) else gram_matrix(target * 255)
        )
        np.testing.assert_allclose(scaled(current * 255).item(), loss(current).item(), rtol=1e-4)


def test_tv_loss_matches_float64_formula():
    image = _features(7, (1, 3, 6, 9))
    x = image[0].double().numpy()
    expected = (np.diff(x, axis=2) ** 2).mean() + (np.diff(x, axis=1) ** 2).mean()
    np.testing.assert_allclose(TVLoss()(image).item(), expected, rtol=1e-5)
    assert TVLoss()(torch.full((1, 3, 5, 5), 0.3)).item() == 0


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


def test_gram_gradient_matches_autograd_of_the_plain_product():
    features = _features(10, (1, 6, 5, 4)).double().requires_grad_(True)
    weights = torch.from_numpy(np.random.default_rng(11).random((6, 6)))
    (gram_matrix(features).double() * weights).sum().backward()
    ours = features.grad.clone()
    features.grad = None
    flat = features[0].reshape(6, -1)
    ((flat @ flat.T / flat.shape[1]) * weights).sum().backward()
    torch.testing.assert_close(ours, features.grad)


def test_palette_moves_the_photos_colours_toward_the_paintings_as_far_as_asked():
    from styleengine.optimization import StyleImage, toward_style_palette

    rng = np.random.default_rng(12)
    photo = torch.from_numpy(rng.random((1, 3, 24, 24)).astype(np.float32) * 0.4 + 0.3)
    painting = torch.from_numpy(rng.random((1, 3, 16, 16)).astype(np.float32) * 0.3)
    painting[:, 0] += 0.6  # a red painting
    styles = [StyleImage(painting)]
    assert torch.allclose(toward_style_palette(photo, styles, [1.0], 0.0), photo, atol=1e-4)
    whole = toward_style_palette(photo, styles, [1.0], 1.0)
    np.testing.assert_allclose(whole.mean((0, 2, 3)), painting.mean((0, 2, 3)), atol=2e-3)
    distances = [
        float((toward_style_palette(photo, styles, [1.0], share).mean((0, 2, 3))
               - painting.mean((0, 2, 3))).norm())
        for share in (0.0, 0.5, 1.0)
    ]  # fmt: skip
    assert distances[0] > distances[1] > distances[2]
    # The layout is the photo's: a linear recolouring keeps every pixel's place.
    assert np.corrcoef(whole[0, 1].ravel(), photo[0, 1].ravel())[0, 1] > 0.5
