"""Properties of the size planning over every image shape a user can have, from 1x1 to
1x5000 and 5000x1 (hypothesis draws them), and real runs on drawn shapes."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from styleengine.api import stylize_image_data
from styleengine.errors import EngineError
from styleengine.image.files import from_array
from styleengine.model.canvas import MIN_WORK_SIDE, network_canvas
from styleengine.plan.planning import fit, scale_sizes
from styleengine.settings import StyleSettings

POOLINGS_BEFORE_RELU5_1 = 4
sides = st.integers(min_value=1, max_value=5000)


@settings(max_examples=400, deadline=None)
@given(
    height=sides,
    width=sides,
    scales=st.integers(min_value=1, max_value=5),
    work_side=st.one_of(st.none(), st.integers(min_value=1, max_value=6000)),
)
def test_every_planned_scale_fits_the_network(height, width, scales, work_side):
    work = (
        fit((height, width), work_side)
        if work_side and work_side < max(height, width)
        else (height, width)
    )
    assert min(work) >= 1 and max(work) <= max(height, width)
    planned = scale_sizes(*work, scales)
    assert planned[-1] == work  # the finest scale is the working size itself
    assert 1 <= len(planned) <= scales
    assert planned == sorted(planned, key=max)  # coarse to fine
    for size in planned:
        canvas = network_canvas(*size)
        assert min(canvas) >= MIN_WORK_SIDE
        assert min(canvas) // 2**POOLINGS_BEFORE_RELU5_1 >= 1  # relu5_1 keeps a position


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    shape=st.one_of(
        st.tuples(st.integers(1, 3), st.integers(1, 600)),
        st.tuples(st.integers(1, 600), st.integers(1, 3)),
        st.tuples(st.integers(1, 120), st.integers(1, 120)),
    ),
    scales=st.integers(min_value=1, max_value=5),
    stroke=st.sampled_from([0.1, 0.5, 1.0, 4.0]),
    style_shape=st.sampled_from([(1, 50), (40, 40), (300, 2)]),
)
def test_real_runs_on_drawn_shapes_succeed_or_say_why(setup, shape, scales, stroke, style_shape):
    rng = np.random.default_rng(0)
    content = from_array(rng.random((*shape, 3)).astype(np.float32))
    style = from_array(rng.random((*style_shape, 3)).astype(np.float32))
    run_settings = StyleSettings(iterations=2, scales=scales, style_scale=stroke)
    try:
        result = stylize_image_data(content, [style], run_settings, setup)
    except EngineError as error:  # allowed, with a message for the user
        assert error.message and "Internal" not in error.message
        return
    assert result.rgb.shape == (*shape, 3)
    assert np.isfinite(result.rgb).all()
