"""The fast path's bfloat16 still gives the float32 result.

Two levels: the loss terms of one image computed in bfloat16 are within 2% of float32; and a
whole optimization in bfloat16 ends at the float32 run's total loss, never passing through
NaN or infinity. The second is held to 5%, not 2%: the optimization itself is that sensitive
(measured: moving the content by 1e-3 moved the float32 run's final style term by 7% and its
total by 3.4%), so a tighter bound would test chance, not precision. BENCHMARKS.md has the
numbers.
"""

from __future__ import annotations

import math

import pytest
import torch
from conftest import make_content, make_style

from styleengine.optimization import StyleImage, StyleSettings, Stylizer


def _tensor(pixels):
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].contiguous()


def _pair(size: int):
    return _tensor(make_content(size, size)), [StyleImage(_tensor(make_style(size, size)))]


def _check_terms(weights, device: torch.device) -> None:
    content, styles = _pair(96)
    settings = StyleSettings(iterations=15, scales=1)
    image = Stylizer(weights, device, torch.float32).run(content, styles, settings)
    exact = Stylizer(weights, device, torch.float32).evaluate(image, content, styles, settings)
    fast = Stylizer(weights, device, torch.bfloat16).evaluate(image, content, styles, settings)
    for term in ("content", "style", "total"):
        assert fast[term] == pytest.approx(exact[term], rel=0.02), (term, fast, exact)


def _check_optimization(weights, device: torch.device) -> None:
    content, styles = _pair(64)
    settings = StyleSettings(iterations=300, scales=1, seed=3)
    final = {}
    for dtype in (torch.float32, torch.bfloat16):
        seen = []
        result = Stylizer(weights, device, dtype).run(
            content, styles, settings, callback=seen.append
        )
        assert all(math.isfinite(v) for p in seen for v in p.losses.values())
        scorer = Stylizer(weights, device, torch.float32)
        final[dtype] = scorer.evaluate(result, content, styles, settings)["total"]
    assert final[torch.bfloat16] == pytest.approx(final[torch.float32], rel=0.05), final


def test_bf16_loss_terms_match_fp32_on_cpu(hed_weights):
    _check_terms(hed_weights, torch.device("cpu"))


def test_bf16_optimization_matches_fp32_on_cpu(hed_weights):
    _check_optimization(hed_weights, torch.device("cpu"))


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.gpu
@needs_cuda
def test_bf16_loss_terms_match_fp32_on_cuda(hed_weights):
    _check_terms(hed_weights, torch.device("cuda"))


@pytest.mark.gpu
@needs_cuda
def test_bf16_optimization_matches_fp32_on_cuda(hed_weights):
    _check_optimization(hed_weights, torch.device("cuda"))
