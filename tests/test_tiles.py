"""Where a tiled pass's tiles lie (styleengine.plan.tiles)."""

from __future__ import annotations

import torch

from styleengine.model.network import receptive_reach
from styleengine.plan.tiles import halo_for, plan_tiles


def test_tiles_cover_the_image_once():
    tiles = plan_tiles(200, 333, 64, ["relu5_1"])
    covered = torch.zeros(200, 333, dtype=torch.int32)
    for tile in tiles:
        covered[tile.top : tile.bottom, tile.left : tile.right] += 1
        assert tile.top % 16 == 0 and tile.left % 16 == 0  # poolings group the same pixels
    assert (covered == 1).all()


def test_each_tile_carries_a_halo_that_covers_what_its_interior_sees():
    tiles = plan_tiles(200, 333, 64, ["relu5_1"])
    halo = halo_for(["relu5_1"])
    assert halo >= receptive_reach("relu5_1") and halo % 16 == 0
    for tile in tiles:
        assert tile.crop_top == max(0, tile.top - halo)
        assert tile.crop_bottom == min(200, tile.bottom + halo)
        assert tile.crop_left == max(0, tile.left - halo)
        assert tile.crop_right == min(333, tile.right + halo)
