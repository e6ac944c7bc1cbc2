"""The quality harness's measures (stylelab.quality): each sees what it is meant to see."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_content, make_style

from styleengine.api import to_tensor
from stylelab.quality import sliced_wasserstein, ssim, structure_kept


def test_ssim_is_one_for_equal_images_and_falls_with_noise():
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.random((1, 1, 40, 40))).float()
    noisy = (image + 0.2 * torch.from_numpy(rng.standard_normal((1, 1, 40, 40)))).clamp(0, 1)
    noisier = (image + 0.5 * torch.from_numpy(rng.standard_normal((1, 1, 40, 40)))).clamp(0, 1)
    assert ssim(image, image) == pytest.approx(1.0)
    assert 1.0 > ssim(image, noisy.float()) > ssim(image, noisier.float())


def test_sliced_wasserstein_is_zero_for_the_same_distribution_only():
    rng = np.random.default_rng(1)
    points = torch.from_numpy(rng.standard_normal((500, 8))).float()
    shuffled = points[torch.randperm(500)]
    shifted = points + 1.0
    assert sliced_wasserstein(points, shuffled, seed=0) == pytest.approx(0.0, abs=1e-9)
    assert sliced_wasserstein(points, shifted, seed=0) > 0.2


def test_structure_kept_is_high_for_the_photo_and_low_for_the_painting():
    content = to_tensor(make_content(128, 128))
    style = to_tensor(make_style(128, 128))
    assert structure_kept(content, content) == pytest.approx(1.0)
    assert structure_kept(style, content) < 0.3


@pytest.mark.parametrize("judge_name", ["EmbeddingJudge", "RandomTextureJudge"])
def test_each_style_judge_sees_the_painting_in_a_blend_and_not_in_the_photo(judge_name):
    """Both judges share nothing with the engine's optimization: Magenta's style embedding,
    and Gram statistics of a network with fixed random weights (no network the engine runs,
    its VGG-16 or the painted start's, is related to it). Each gives the same number every
    time it is made."""
    from stylelab import quality

    judge = getattr(quality, judge_name)()
    photo = to_tensor(make_content(96, 128))
    painting = to_tensor(make_style(96, 96))
    halfway = 0.5 * photo + 0.5 * to_tensor(make_style(96, 128))
    assert judge.style_gap(photo, photo, painting) == pytest.approx(0.0)
    assert judge.style_gap(painting, photo, painting) == pytest.approx(1.0, abs=1e-5)
    gap = judge.style_gap(halfway, photo, painting)
    assert 0.1 < gap < 0.95
    assert getattr(quality, judge_name)().style_gap(halfway, photo, painting) == gap
