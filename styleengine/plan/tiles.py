"""Where the tiles of a tiled pass lie: each interior with the halo its features need.

The geometry alone, for the plan (how many tiles a detail pass costs) and for the tiled
objective (``optim.tiled``), which computes the whole picture's loss tile by tile: a tile's
features equal the untiled ones when its halo covers what its interior positions see and it
starts on a multiple of the deepest layer's stride.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..model.network import layer_stride, receptive_reach


@dataclass(frozen=True)
class Tile:
    """Interior rows/columns [top, bottom) x [left, right); the crop adds the halo."""

    top: int
    bottom: int
    left: int
    right: int
    crop_top: int
    crop_bottom: int
    crop_left: int
    crop_right: int


def halo_for(layers: list[str]) -> int:
    """A halo covering the deepest layer's reach, in whole strides of that layer."""
    stride = max(layer_stride(name) for name in layers)
    reach = max(receptive_reach(name) for name in layers)
    return math.ceil(reach / stride) * stride


def plan_tiles(height: int, width: int, tile_side: int, layers: list[str]) -> list[Tile]:
    """Tiles of about ``tile_side`` whose interiors cover the image once."""
    stride = max(layer_stride(name) for name in layers)
    halo = halo_for(layers)
    side = max(stride, tile_side // stride * stride)
    tiles = []
    for top in range(0, height, side):
        for left in range(0, width, side):
            bottom, right = min(top + side, height), min(left + side, width)
            tiles.append(
                Tile(
                    top,
                    bottom,
                    left,
                    right,
                    max(0, top - halo),
                    min(height, bottom + halo),
                    max(0, left - halo),
                    min(width, right + halo),
                )  # fmt: skip
            )
    return tiles
