"""The network's canvas (styleengine.model.canvas): thin images padded and cropped back exactly."""

from __future__ import annotations

import torch

from styleengine.model.canvas import (
    MIN_WORK_SIDE,
    crop_from_canvas,
    network_canvas,
    pad_to_canvas,
    resize,
    start_of_finer_scale,
)


def test_a_strip_is_padded_to_the_networks_smallest_side_and_cropped_back_unchanged():
    strip = torch.rand(1, 3, 5, 90, generator=torch.Generator().manual_seed(0))
    padded = pad_to_canvas(strip)
    assert tuple(padded.shape[-2:]) == network_canvas(5, 90) == (MIN_WORK_SIDE, 90)
    assert torch.equal(crop_from_canvas(padded, (5, 90)), strip)


def test_a_finer_scale_starts_with_the_contents_detail_when_asked():
    content = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    coarse = resize(content, (32, 32))
    plain = start_of_finer_scale(coarse, content, (64, 64), "upsample")
    detailed = start_of_finer_scale(coarse, content, (64, 64), "content_detail")
    assert (detailed - content).abs().mean() < 0.5 * (plain - content).abs().mean()
