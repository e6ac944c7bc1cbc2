"""Gram matrices and loss terms against float64 references."""

from __future__ import annotations

import numpy as np
import torch

from styleengine.loss.terms import ContentLoss, LayoutLoss, StyleLoss, TVLoss, gram_matrix


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


def _layout_reference(image: np.ndarray) -> np.ndarray:
    """Luminance of 4x4 block averages, then the 5-point Laplacian at the inner blocks."""
    _, height, width = image.shape
    blocks = image[:, : height // 4 * 4, : width // 4 * 4]
    blocks = blocks.reshape(3, height // 4, 4, width // 4, 4).mean(axis=(2, 4))
    y = np.tensordot([0.299, 0.587, 0.114], blocks, axes=1)
    return 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]


def test_layout_loss_matches_float64_formula():
    content, image = _features(12, (1, 3, 23, 30)), _features(13, (1, 3, 23, 30))
    target = _layout_reference(content[0].double().numpy())
    current = _layout_reference(image[0].double().numpy())
    expected = ((current - target) ** 2).sum() / (target**2).sum()
    np.testing.assert_allclose(LayoutLoss(content)(image).item(), expected, rtol=1e-5)


def test_layout_leaves_strokes_and_brightness_free_but_not_a_moved_edge():
    """Texture finer than the layout's blocks and a change of overall brightness cost
    nothing; moving the photo's edge by a block does."""
    photo = torch.zeros(1, 3, 32, 32)
    photo[..., :, 16:] = 0.8  # a vertical edge
    loss = LayoutLoss(photo)
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2 * 0.2 - 0.1
    assert loss((photo + 0.1 + checker).clamp(0, 1)).item() < 1e-10
    moved = torch.zeros(1, 3, 32, 32)
    moved[..., :, 20:] = 0.8
    assert loss(moved).item() > 0.5


def test_gram_gradient_matches_autograd_of_the_plain_product():
    features = _features(10, (1, 6, 5, 4)).double().requires_grad_(True)
    weights = torch.from_numpy(np.random.default_rng(11).random((6, 6)))
    (gram_matrix(features).double() * weights).sum().backward()
    ours = features.grad.clone()
    features.grad = None
    flat = features[0].reshape(6, -1)
    ((flat @ flat.T / flat.shape[1]) * weights).sum().backward()
    torch.testing.assert_close(ours, features.grad)


def test_a_regions_gram_gradient_matches_autograd_of_the_weighted_product():
    features = _features(12, (1, 6, 5, 4)).double().requires_grad_(True)
    mask = torch.from_numpy(np.random.default_rng(13).random((1, 1, 5, 4)))
    slope = torch.from_numpy(np.random.default_rng(14).random((6, 6)))
    (gram_matrix(features, mask).double() * slope).sum().backward()
    ours = features.grad.clone()
    features.grad = None
    flat = features[0].reshape(6, -1)
    weights = mask.reshape(1, -1)
    ((flat @ (flat * weights).T / weights.sum()) * slope).sum().backward()
    torch.testing.assert_close(ours, features.grad)
