"""A built-in sample pair, drawn here so that a fresh install can show a result with no
photo at hand: a small landscape (content) and a swirling, stroked "painting" (style)."""

from __future__ import annotations

import numpy as np

SAMPLE_HEIGHT, SAMPLE_WIDTH = 192, 256
# From the painted start the sample looks painted after a few iterations: install.py runs it
# every time, so it proves the engine in seconds (from the photo it took 60 iterations, 20 s
# on a 2-core AMD EPYC).
SAMPLE_ITERATIONS = 20


def sample_content(height: int = SAMPLE_HEIGHT, width: int = SAMPLE_WIDTH) -> np.ndarray:
    """A landscape: sky, sun, two hills, a lake and a house; float32 RGB in [0, 1]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    v, u = y / height, x / width
    image = np.zeros((height, width, 3), np.float32)
    image[...] = np.stack([0.45 + 0.3 * v, 0.65 + 0.2 * v, 0.95 - 0.1 * v], axis=-1)  # sky
    sun = (u - 0.78) ** 2 + ((v - 0.22) * height / width) ** 2 < 0.07**2
    image[sun] = (1.0, 0.85, 0.3)
    far_hill = v > 0.55 - 0.12 * np.exp(-(((u - 0.3) / 0.25) ** 2))
    image[far_hill] = np.stack([0.25 + 0 * v, 0.45 + 0.1 * v, 0.3 + 0 * v], -1)[far_hill]
    near_hill = v > 0.72 - 0.1 * np.exp(-(((u - 0.75) / 0.2) ** 2))
    image[near_hill] = (0.2, 0.55, 0.2)
    lake = (v > 0.8) & (np.abs(u - 0.3) < 0.25)
    image[lake] = np.stack([0.2 + 0 * u, 0.4 + 0 * u, 0.7 + 0.1 * u], -1)[lake]
    wall = (np.abs(u - 0.62) < 0.06) & (v > 0.55) & (v < 0.68)
    image[wall] = (0.85, 0.8, 0.7)
    roof = (v > 0.47) & (v <= 0.55) & (np.abs(u - 0.62) < 0.075 * (v - 0.47) / 0.08)
    image[roof] = (0.65, 0.15, 0.1)
    door = (np.abs(u - 0.62) < 0.012) & (v > 0.61) & (v < 0.68)
    image[door] = (0.3, 0.2, 0.1)
    return image


def sample_style(height: int = 256, width: int = 256, seed: int = 3) -> np.ndarray:
    """Short curved strokes of a dark-blue and yellow palette that follow swirls."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    # A flow field of a few vortices decides the stroke directions.
    angle = np.zeros((height, width), np.float32)
    for _ in range(5):
        cy, cx, strength = rng.random() * height, rng.random() * width, rng.choice([-1, 1])
        angle += strength * np.arctan2(y - cy, x - cx) + np.pi / 2
    palette = np.array(
        [
            (0.08, 0.15, 0.4),
            (0.15, 0.3, 0.6),
            (0.95, 0.85, 0.3),
            (0.3, 0.5, 0.75),
            (0.9, 0.95, 0.9),
        ],
        np.float32,
    )
    image = np.empty((height, width, 3), np.float32)
    image[...] = palette[0]
    for _ in range(2500):
        py, px = rng.random() * height, rng.random() * width
        colour = palette[rng.choice(len(palette), p=[0.3, 0.3, 0.15, 0.2, 0.05])]
        colour = np.clip(colour + rng.normal(0, 0.05, 3), 0, 1)
        for _step in range(12):  # walk along the flow, painting a short thick stroke
            iy, ix = int(py) % height, int(px) % width
            image[max(0, iy - 1) : iy + 2, max(0, ix - 1) : ix + 2] = colour
            py += 1.5 * np.sin(angle[iy, ix])
            px += 1.5 * np.cos(angle[iy, ix])
    return image
