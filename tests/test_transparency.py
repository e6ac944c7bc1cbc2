"""Transparency means ignored (styleengine/image/transparency.py; issue 48, family 3): the
generator draws a painting or a photo transparent but for a part of any size anywhere,
sharp or feathered, and two different things hidden under its transparent pixels; the
pictures must be the same bit for bit. Regions drawn over transparent parts paint or get one
line."""

from __future__ import annotations

import numpy as np
from conftest import fuzz_examples, make_content, make_style
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from styleengine.api import stylize
from styleengine.errors import EngineError
from styleengine.loss.regions import RegionMasks
from styleengine.settings import StyleSettings

PHOTO = make_content(24, 32)
PAINTING = make_style(40, 40)
SETTINGS = st.builds(
    StyleSettings,
    iterations=st.just(1),
    scales=st.sampled_from([1, 2]),
    init=st.sampled_from(["painted", "content"]),
    palette=st.sampled_from([0.0, 0.7]),
    variation=st.sampled_from([0.0, 0.5]),
)


@st.composite
def shown_parts(draw, shape: tuple[int, int]) -> np.ndarray:
    """An alpha of ``shape``: 0 but for a rectangle of any size anywhere (a pixel, a strip,
    nearly all), sharp or with a feathered edge."""
    height, width = shape
    top, left = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
    bottom = draw(st.integers(top + 1, height))
    right = draw(st.integers(left + 1, width))
    alpha = np.zeros(shape, np.float32)
    alpha[top:bottom, left:right] = 1.0
    if draw(st.booleans()):  # feathered: a ring of half-transparent pixels around it
        ring = np.zeros(shape, np.float32)
        ring[max(0, top - 1) : bottom + 1, max(0, left - 1) : right + 1] = 0.5
        alpha = np.maximum(alpha, ring)
    return alpha


def _with_hidden(pixels: np.ndarray, alpha: np.ndarray, seed: int) -> np.ndarray:
    """``pixels`` with ``alpha``, and noise of ``seed`` where it is fully transparent."""
    rgba = np.concatenate([pixels, alpha[..., None]], axis=-1)
    hidden = alpha == 0
    rgba[hidden, :3] = np.random.default_rng(seed).random((int(hidden.sum()), 3))
    return rgba


def _outcome(call) -> tuple[str, object]:
    try:
        return "picture", call()
    except EngineError as error:
        assert "\n" not in error.message
        return "refused", error.message


@settings(
    max_examples=fuzz_examples(16), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    which=st.sampled_from(["painting", "photo"]),
    data=st.data(),
    options=SETTINGS,
    preserve=st.sampled_from([None, "histogram", "luminance"]),
)
def test_what_hides_under_transparent_pixels_changes_nothing(which, data, options, preserve):
    base = PAINTING if which == "painting" else PHOTO
    alpha = data.draw(shown_parts(base.shape[:2]))

    def run(seed: int):
        hidden = _with_hidden(base, alpha, seed)
        photo, painting = (PHOTO, hidden) if which == "painting" else (hidden, PAINTING)
        return lambda: stylize(photo, painting, options, weights="hed", preserve_colors=preserve)

    first, second = _outcome(run(1)), _outcome(run(2))
    assert first[0] == second[0]
    if first[0] == "picture":
        assert np.array_equal(first[1], second[1])
    else:
        assert first[1] == second[1]


@settings(
    max_examples=fuzz_examples(10), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(alpha=shown_parts((24, 32)), region=shown_parts((24, 32)), options=SETTINGS)
def test_a_region_over_transparent_parts_paints_or_gets_one_line(alpha, region, options):
    """Two paintings, the first where ``region`` is, over a photo shown only where ``alpha``
    is: wherever the two fall, a picture of the photo's size, or one line."""
    photo = np.concatenate([PHOTO, alpha[..., None]], axis=-1)
    masks = RegionMasks({1: region})
    kind, outcome = _outcome(
        lambda: stylize(
            photo, [PAINTING, make_style(30, 30, seed=2)], options, weights="hed", regions=masks
        )  # fmt: skip
    )
    if kind == "picture":
        assert outcome.shape == photo.shape and np.isfinite(outcome).all()
        assert np.array_equal(outcome[..., 3], photo[..., 3])  # the photo's alpha, kept


def test_an_entirely_transparent_photo_is_refused_in_one_line():
    """Nothing shows: nothing to paint (its hidden colours were painted, exit 0)."""
    photo = np.concatenate([PHOTO, np.zeros((24, 32, 1), np.float32)], axis=-1)
    kind, message = _outcome(lambda: stylize(photo, PAINTING, StyleSettings(iterations=1)))
    assert kind == "refused" and message.startswith("The photo is entirely transparent")
