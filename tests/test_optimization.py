"""The optimization on small synthetic pairs with the real weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import edge_correlation, make_content, make_style

from styleengine.api import EngineSetup, stylize, stylize_image_data, to_tensor
from styleengine.errors import BadInputError
from styleengine.images import from_array
from styleengine.optimization import (
    StyleImage,
    StyleSettings,
    Stylizer,
)
from styleengine.planning import iterations_per_scale, network_canvas, scale_sizes


@pytest.fixture(scope="module")
def setup(hed_weights):
    return EngineSetup(hed_weights, torch.device("cpu"), torch.float32)


def _run(setup, settings, content=None, style=None, size=None):
    content = make_content() if content is None else content
    style = make_style() if style is None else style
    seen = []
    result = stylize_image_data(
        from_array(content), [from_array(style)], settings, setup, size=size, callback=seen.append
    )
    return result, seen


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_loss_falls_and_result_is_a_stylization(setup, optimizer):
    iterations = 40 if optimizer == "lbfgs" else 60
    settings = StyleSettings(iterations=iterations, optimizer=optimizer, scales=1)
    content = make_content()
    result, seen = _run(setup, settings, content)
    assert [p.iteration for p in seen] == list(range(1, iterations + 1))  # no early stop
    first, last = seen[0].losses["total"], seen[-1].losses["total"]
    assert last < first / 3, (first, last)
    assert np.abs(result.rgb - content).mean() > 0.03  # visibly changed
    # Structure kept: noise gives about 0. With the style led by relu1_1 and relu2_1 (the
    # defaults since 2026-11-30) Adam keeps 0.28 of this small synthetic photo's edges.
    assert edge_correlation(result.rgb, content) > 0.25


def test_coarse_to_fine_reports_scales_and_ends_at_full_size(setup):
    settings = StyleSettings(iterations=9, scales=3)
    content = make_content(96, 128)
    result, seen = _run(setup, settings, content)
    assert result.rgb.shape == (96, 128, 3)
    # 3 scales asked for; 32 px would be below the coarsest useful side, so 64 then 128 px.
    assert [p.scale for p in seen] == [1] * 4 + [2] * 5
    assert (seen[-1].width, seen[-1].height) == (128, 96)
    assert seen[0].width < seen[-1].width


def test_scale_plan():
    assert scale_sizes(768, 1024, 3) == [(192, 256), (384, 512), (768, 1024)]
    assert scale_sizes(60, 80, 3) == [(60, 80)]  # never coarser than 64 px
    assert scale_sizes(96, 128, 3) == [(48, 64), (96, 128)]
    assert iterations_per_scale(100, 3) == [33, 33, 34]
    assert scale_sizes(50, 1000, 3) == [(50, 1000)]  # a halved strip would be too thin
    assert network_canvas(1, 1) == (32, 32)
    assert network_canvas(10, 300) == (32, 300)


def test_seeded_noise_runs_repeat_exactly(setup):
    settings = StyleSettings(iterations=5, init="noise", seed=7, scales=1)
    first, _ = _run(setup, settings)
    second, _ = _run(setup, settings)
    assert np.array_equal(first.rgb, second.rgb)
    other, _ = _run(setup, StyleSettings(iterations=5, init="noise", seed=8, scales=1))
    assert not np.array_equal(first.rgb, other.rgb)


def test_tiny_and_strip_images_work(setup):
    settings = StyleSettings(iterations=2, scales=1)
    for shape in ((1, 1, 3), (10, 300, 3)):
        content = np.full(shape, 0.5, np.float32)
        result, _ = _run(setup, settings, content)
        assert result.rgb.shape == shape


def test_work_size_optimizes_smaller_and_returns_the_output_size(setup):
    content = make_content(96, 128)
    seen = []
    result = stylize_image_data(
        from_array(content),
        [from_array(make_style())],
        StyleSettings(iterations=2, scales=1),
        setup,
        callback=seen.append,
        work_side=64,
        detail="off",
    )
    assert (seen[-1].width, seen[-1].height) == (64, 48)  # where the optimization ran
    assert result.rgb.shape == (96, 128, 3)  # scaled back up


def test_detail_pass_refines_at_the_output_size_in_tiles(setup):
    content = make_content(192, 256)
    seen, plans = [], []
    result = stylize_image_data(
        from_array(content),
        [from_array(make_style())],
        StyleSettings(iterations=4, scales=1),
        setup,
        callback=seen.append,
        work_side=96,
        detail="on",
        detail_iterations=2,
        on_plan=plans.append,
    )
    plan = plans[0]
    assert plan.working_size == (72, 96) and plan.output_size == (192, 256)
    assert plan.detail is not None and plan.detail.iterations == 2
    detail = [p for p in seen if p.stage == "detail"]
    assert [p.iteration for p in detail if not p.tiles] == [5, 6]
    tiles = [p.tile for p in detail if p.tiles]
    assert tiles == list(range(1, plan.detail.tiles + 1)) * 2
    assert result.rgb.shape == (192, 256, 3)
    assert all(p.seconds_left >= 0 for p in seen)


def test_size_option_sets_longest_side(setup):
    result, _ = _run(setup, StyleSettings(iterations=2, scales=1), make_content(40, 80), size=48)
    assert result.rgb.shape == (24, 48, 3)


def test_style_blend_needs_one_weight_per_style(setup):
    settings = StyleSettings(iterations=1, style_blend=(0.5, 0.3, 0.2))
    with pytest.raises(BadInputError, match="one weight per style"):
        _run(setup, settings)


def test_style_blend_moves_between_styles(setup):
    content = make_content()
    style_a, style_b = make_style(seed=1), np.full((64, 64, 3), (0.9, 0.2, 0.1), np.float32)
    settings = dict(iterations=20, scales=1)
    results = []
    for blend in ((1.0, 0.0), (0.0, 1.0)):
        out = stylize_image_data(
            from_array(content),
            [from_array(style_a), from_array(style_b)],
            StyleSettings(style_blend=blend, **settings),
            setup,
        )
        results.append(out.rgb)
    only_a = stylize_image_data(
        from_array(content), [from_array(style_a)], StyleSettings(**settings), setup
    )
    np.testing.assert_allclose(results[0], only_a.rgb, atol=1e-5)
    assert results[1][..., 0].mean() > results[0][..., 0].mean()  # the red style shows


def test_transparent_style_pixels_do_not_count_as_black(setup, hed_weights):
    stylizer = Stylizer(hed_weights, torch.device("cpu"), torch.float32)
    style = to_tensor(make_style())
    padded = torch.zeros(1, 3, 64, 128)
    padded[..., :64] = style
    alpha = torch.zeros(1, 1, 64, 128)
    alpha[..., :64] = 1
    with_alpha = stylizer.style_targets([StyleImage(padded, alpha)], [1.0], 128)
    as_black = stylizer.style_targets([StyleImage(padded)], [1.0], 128)
    alone = stylizer.style_targets([StyleImage(style)], [1.0], 64)
    for name in ("relu1_1", "relu2_1"):
        error_alpha = (with_alpha[name] - alone[name]).norm() / alone[name].norm()
        error_black = (as_black[name] - alone[name]).norm() / alone[name].norm()
        assert error_alpha < 0.1 and error_black > 2 * error_alpha, name


def test_preserve_colors_luminance_keeps_content_hues(setup):
    content = make_content()
    style = np.stack([make_style()[..., 0]] * 3, axis=-1) * np.array([1.0, 0.2, 0.2], np.float32)
    settings = StyleSettings(iterations=15, scales=1)
    plain = stylize_image_data(from_array(content), [from_array(style)], settings, setup)
    kept = stylize_image_data(
        from_array(content), [from_array(style)], settings, setup, preserve_colors="luminance"
    )

    def hue_error(r):
        return np.abs(
            r.rgb - r.rgb.mean(-1, keepdims=True) - (content - content.mean(-1, keepdims=True))
        ).mean()  # noqa: E501, E731

    assert hue_error(kept) < hue_error(plain)


def test_public_api_takes_and_returns_arrays(hed_weights):
    content = (make_content() * 255).astype(np.uint8)
    result = stylize(
        content, make_style(), StyleSettings(iterations=3, scales=1), device="cpu", weights="hed"
    )
    assert result.dtype == np.uint8 and result.shape == content.shape


def _host_waits(stylizer: Stylizer, content, styles, iterations: int) -> int:
    """How many times a whole single-scale run made the host wait for the GPU."""
    settings = StyleSettings(iterations=iterations, scales=1, report_every=iterations)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            stylizer.run(content, styles, settings, callback=lambda _p: None)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_iterations_do_not_wait_for_the_device(hed_weights):
    """Waits come from setting up and from progress reports, never from the iterations:
    twice the iterations, the same number of waits."""
    stylizer = Stylizer(hed_weights, torch.device("cuda"), torch.bfloat16)
    content = to_tensor(make_content(128, 128))
    styles = [StyleImage(to_tensor(make_style()))]
    _host_waits(stylizer, content, styles, 5)  # cuDNN's autotuning, first allocations
    assert _host_waits(stylizer, content, styles, 40) == _host_waits(stylizer, content, styles, 20)


def test_too_little_free_memory_is_said_plainly(setup, monkeypatch):
    """Below the smallest working size, the advice is not a working size of 0 (which means
    the full size)."""
    import styleengine.optimization as optimization
    from styleengine.errors import OutOfMemoryError

    monkeypatch.setattr(optimization, "available_memory_bytes", lambda device: 300 * 2**20)
    with pytest.raises(OutOfMemoryError) as raised:
        stylize_image_data(
            from_array(make_content(64, 64)),
            [from_array(make_style())],
            StyleSettings(iterations=1),
            setup,
        )
    assert "not enough free memory" in raised.value.message
    assert "--work-size" not in raised.value.message


def test_variation_makes_each_seed_its_own_picture_and_repeats_it(setup):
    content, style = make_content(64, 64), make_style()

    def picture(seed: int) -> np.ndarray:
        settings = StyleSettings(iterations=6, scales=1, variation=0.2, seed=seed)
        return _run(setup, settings, content, style)[0].rgb

    first, again, other = picture(1), picture(1), picture(2)
    assert np.array_equal(first, again)
    assert np.abs(first - other).mean() > 0.01
