"""The detail pass (styleengine.detail): the enlarged result refined at the output size in
tiles, without seams."""

from __future__ import annotations

import numpy as np
from conftest import make_content, make_style, stylize_pair

from styleengine import planning
from styleengine.api import stylize_image_data
from styleengine.images import from_array
from styleengine.settings import StyleSettings


def test_detail_pass_refines_at_the_output_size_in_tiles(setup):
    plans = []
    result, seen = stylize_pair(
        setup, StyleSettings(iterations=4, scales=1), make_content(192, 256),
        working_size=96, detail="on", detail_iterations=2, on_plan=plans.append,
    )  # fmt: skip
    plan = plans[0]
    assert plan.working_size == (72, 96) and plan.output_size == (192, 256)
    assert plan.detail is not None and plan.detail.iterations == 2
    detail = [p for p in seen if p.stage == "detail"]
    assert [p.iteration for p in detail if not p.tiles] == [5, 6]
    tiles = [p.tile for p in detail if p.tiles]
    assert tiles == list(range(1, plan.detail.tiles + 1)) * 2
    assert result.rgb.shape == (192, 256, 3)
    assert all(p.seconds_left >= 0 for p in seen)


def test_detail_pass_leaves_no_seams_along_tile_borders(setup, monkeypatch):
    """The result's gradient energy across tile borders, beyond the photo's own there, is
    not above its excess across the other lines of pixels."""
    monkeypatch.setattr(planning, "DETAIL_TILE_SIDE", 64)
    plans = []
    content = make_content(192, 256)
    result = stylize_image_data(
        from_array(content),
        [from_array(make_style(96, 96))],
        StyleSettings(iterations=20),
        setup,
        working_size=128,
        detail="on",
        detail_iterations=4,
        on_plan=plans.append,
    )
    assert plans[0].detail.tiles == 12
    grey, photo = result.rgb.mean(axis=-1), content.mean(axis=-1)

    def excess(axis: int) -> np.ndarray:  # per line, between line - 1 and line
        other = 1 - axis
        return np.abs(np.diff(grey, axis=axis)).mean(axis=other) - np.abs(
            np.diff(photo, axis=axis)
        ).mean(axis=other)

    for energy, borders in ((excess(1), (64, 128, 192)), (excess(0), (64, 128))):
        at_borders = energy[[b - 1 for b in borders]]
        elsewhere = np.delete(energy, [b - 1 for b in borders])
        assert at_borders.max() <= np.percentile(elsewhere, 95), (at_borders, elsewhere.mean())
