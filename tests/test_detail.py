"""The detail pass (styleengine.optim.detail): the enlarged result refined at the output size in
tiles, without seams."""

from __future__ import annotations

import numpy as np
from conftest import make_content, make_style, stylize_pair

from styleengine.api import stylize_image_data
from styleengine.image.files import from_array
from styleengine.plan import planning
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
    """Across the tile borders the result changes no more than the same picture refined in
    one tile changes across those lines. (Against the other lines of the same picture, the
    test's earlier yardstick, a crisp stroke of the painting that happens to cross a border
    reads as a seam: the sliced-Wasserstein layers' result had one at column 192 of 256,
    tiled or not.)"""
    content = make_content(192, 256)
    energies, pictures = {}, {}
    for side in (64, 1024):
        monkeypatch.setattr(planning, "DETAIL_TILE_SIDE", side)
        plans = []
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
        assert plans[0].detail.tiles == (12 if side == 64 else 1)
        grey = result.rgb.mean(axis=-1)
        # per line, the mean change between it and the one before, across each border
        energies[side] = [
            np.abs(np.diff(grey, axis=1)).mean(axis=0)[[63, 127, 191]],
            np.abs(np.diff(grey, axis=0)).mean(axis=1)[[63, 127]],
        ]
        pictures[side] = result.rgb
    for tiled, whole in zip(energies[64], energies[1024]):
        assert (tiled <= whole + 0.002).all(), (tiled, whole)
    assert np.abs(pictures[64] - pictures[1024]).mean() < 0.002
