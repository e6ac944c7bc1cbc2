"""The painted start: the photo painted by Magenta's network, refined by the optimization."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from styleengine.api import to_tensor
from styleengine.errors import NoWeightsError
from styleengine.image.color import luminance
from styleengine.loss.objective import StyleImage
from styleengine.loss.regions import RegionGroup
from styleengine.optim.painted_start import PaintedStart, with_photo_layout
from styleengine.settings import StyleSettings
from tests.conftest import make_content, make_style, stylize_pair
from tests.test_feedforward import _gallery


@pytest.fixture(scope="module")
def painter():
    return PaintedStart(torch.device("cpu"))


def _whole(styles: int = 1, blend: list[float] | None = None) -> list[RegionGroup]:
    return [RegionGroup(list(range(styles)), blend or [1.0 / styles] * styles, None)]


def _gap(painter: PaintedStart, image: torch.Tensor, style: torch.Tensor) -> float:
    """How far apart two pictures' styles are, in the network's own embedding (1 - cosine)."""
    first, second = painter.embedding(image), painter.embedding(style)
    return 1.0 - float(torch.nn.functional.cosine_similarity(first, second))


def test_the_start_is_painted_and_its_share_says_how_much(painter):
    """Share 1 paints the photo in the painting's style, 0 leaves the photo as it is, and a
    half-painted start is in between, in pixels as in style."""
    photo = to_tensor(_gallery("monet_water_lilies_1919", 192))
    painting = to_tensor(_gallery("van_gogh_starry_night", 256))
    styles = [StyleImage(painting)]
    starts = {share: painter.start(photo, styles, _whole(), share) for share in (0.0, 0.5, 1.0)}
    assert torch.equal(starts[0.0], photo)
    moved = {share: float((start - photo).abs().mean()) for share, start in starts.items()}
    assert 0 < moved[0.5] < moved[1.0]
    gaps = {share: _gap(painter, start, painting) for share, start in starts.items()}
    assert gaps[1.0] < gaps[0.5] < gaps[0.0]


def _hue_and_saturation(pixel: torch.Tensor) -> tuple[float, float]:
    import colorsys

    hue, saturation, _value = colorsys.rgb_to_hsv(*map(float, pixel))
    return hue, saturation


def test_the_start_takes_the_photos_light_and_keeps_the_paintings_colours():
    """Half the photo's coarse light and shade: an orange painted over the bright half of a
    photo brightens and over the dark half darkens, as the same orange (its hue and
    saturation, not washed out with grey nor burnt); black paint over the bright half is
    lifted too."""
    photo = torch.full((1, 3, 64, 64), 0.2)
    photo[..., :32] = 0.7  # the left half bright, the right dark
    orange = torch.tensor([0.8, 0.4, 0.1]).view(1, 3, 1, 1)
    painted = orange.expand(1, 3, 64, 64).clone()
    painted[..., 8:20, 8:20] = 0.0  # black paint where the photo is bright
    start = with_photo_layout(painted, photo, 0.5)
    bright, dark = start[0, :, 40, 24], start[0, :, 40, 48]
    painted_light = float(luminance(orange))
    light = {name: float(luminance(pixel.view(1, 3, 1, 1))) for name, pixel in
             (("bright", bright), ("dark", dark))}  # fmt: skip
    # half of the way to the photo's light, each way
    assert light["bright"] == pytest.approx((painted_light + 0.7) / 2, abs=0.02)
    assert light["dark"] == pytest.approx((painted_light + 0.2) / 2, abs=0.02)
    hue, saturation = _hue_and_saturation(orange.flatten())
    for pixel in (bright, dark):
        assert _hue_and_saturation(pixel) == pytest.approx((hue, saturation), abs=0.03)
    lifted = start[0, :, 14, 14]
    assert float(lifted.min()) > 0.25  # black over the bright photo is lifted toward it
    # Where the light does not move (the photo's own light), the picture stays as it was.
    assert torch.equal(with_photo_layout(photo, photo, 0.5), photo)


def _fine_detail(image: torch.Tensor) -> float:
    """The mean size of the picture's pixel-to-pixel changes: smaller with larger strokes."""
    return float((image[..., 1:, :] - image[..., :-1, :]).abs().mean())


def test_larger_strokes_paint_a_picture_of_the_same_size_with_less_fine_detail(painter):
    photo = to_tensor(_gallery("monet_water_lilies_1919", 192))
    styles = [StyleImage(to_tensor(_gallery("van_gogh_starry_night", 256)))]
    starts = {
        size: painter.start(photo, styles, _whole(), 1.0, stroke_size=size) for size in (1, 2)
    }
    assert starts[2].shape == starts[1].shape == photo.shape
    assert _fine_detail(starts[2]) < 0.8 * _fine_detail(starts[1])
    # still painted, not the photo blurred: as far from the photo as the start of usual strokes
    moved = {size: float((start - photo).abs().mean()) for size, start in starts.items()}
    assert moved[2] > 0.8 * moved[1]


def test_a_blend_paints_between_its_paintings(painter):
    photo = to_tensor(_gallery("monet_water_lilies_1919", 192))
    first = to_tensor(_gallery("van_gogh_starry_night", 256))
    second = to_tensor(_gallery("hokusai_great_wave", 256))
    styles = [StyleImage(first), StyleImage(second)]
    only_first = painter.start(photo, styles, _whole(2, [1.0, 0.0]), 1.0)
    half = painter.start(photo, styles, _whole(2, [0.5, 0.5]), 1.0)
    only_second = painter.start(photo, styles, _whole(2, [0.0, 1.0]), 1.0)
    assert _gap(painter, only_first, first) < _gap(painter, half, first)
    assert _gap(painter, only_second, second) < _gap(painter, half, second)


def test_a_region_is_painted_and_what_no_region_covers_stays_the_photo(painter):
    photo = to_tensor(make_content(96, 128))
    painting = to_tensor(make_style(96, 96))
    left = torch.zeros(1, 1, 96, 128)
    left[..., :64] = 1.0
    start = painter.start(photo, [StyleImage(painting)], [RegionGroup([0], [1.0], left)], 1.0)
    assert torch.equal(start[..., 64:], photo[..., 64:])
    assert float((start[..., :64] - photo[..., :64]).abs().mean()) > 0.05


def test_a_run_shows_its_painted_start_before_the_first_iteration(setup):
    """The preview's first picture: the painted start, reported as iteration 0 before any
    iteration ran; a run from the photo has nothing new to show before its first."""
    content = _gallery("monet_water_lilies_1919", 96)
    style = _gallery("van_gogh_starry_night", 96)
    firsts = {}
    for init in ("content", "painted"):
        _, seen = stylize_pair(setup, StyleSettings(init=init, iterations=3), content=content,
                               style=style)  # fmt: skip
        assert [p.iteration for p in seen][-3:] == [1, 2, 3]
        firsts[init] = seen[0]
    assert firsts["content"].iteration == 1
    start = firsts["painted"]
    assert start.iteration == 0 and start.losses == {}
    shown = start.current_image()[0].permute(1, 2, 0).numpy()
    assert shown.shape == content.shape
    assert np.abs(shown - content).mean() > 0.05


def test_without_the_network_the_painted_start_says_how_to_install_it(monkeypatch, tmp_path):
    from styleengine.model import weights

    monkeypatch.setenv("STYLEENGINE_CACHE", str(tmp_path))
    monkeypatch.setattr(weights, "_package_file", lambda package, parts: None)
    with pytest.raises(NoWeightsError, match="install.py.*--init content"):
        PaintedStart(torch.device("cpu"))


def test_a_damaged_converted_file_is_refused_and_named(monkeypatch, tmp_path):
    from styleengine.model.weights import FEEDFORWARD_CACHE_FILE

    monkeypatch.setenv("STYLEENGINE_CACHE", str(tmp_path))
    (tmp_path / FEEDFORWARD_CACHE_FILE).write_bytes(b"not torch")
    with pytest.raises(NoWeightsError, match=FEEDFORWARD_CACHE_FILE):
        PaintedStart(torch.device("cpu"))
    torch.save({"predictor": {}, "transformer": {}}, tmp_path / FEEDFORWARD_CACHE_FILE)
    with pytest.raises(NoWeightsError, match="Delete it"):
        PaintedStart(torch.device("cpu"))


def test_an_unwritable_cache_still_paints(monkeypatch, tmp_path):
    """A cache folder that is a file costs the conversion again, not the run."""
    blocker = tmp_path / "cache"
    blocker.write_bytes(b"")
    monkeypatch.setenv("STYLEENGINE_CACHE", str(blocker))
    painter = PaintedStart(torch.device("cpu"))
    photo = to_tensor(make_content(32, 32))
    assert painter.paint(photo, torch.zeros(1, 100)).shape == photo.shape
    assert np.array_equal(blocker.read_bytes(), b"")


@settings(
    max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(
    st.integers(1, 70), st.integers(1, 70), st.integers(1, 40), st.integers(1, 40),
    st.floats(0.25, 4.0),
)  # fmt: skip
def test_any_photo_and_painting_shape_gets_a_start_of_the_photos_shape(
    painter, height, width, style_height, style_width, stroke_size
):
    """Strips, single pixels and odd sides, in the photo as in the painting, at any stroke
    size (the network pads what its reflection padding cannot take; larger strokes paint a
    copy smaller still)."""
    photo = torch.rand(1, 3, height, width)
    painting = torch.rand(1, 3, style_height, style_width)
    start = painter.start(photo, [StyleImage(painting)], _whole(), 1.0, stroke_size=stroke_size)
    assert start.shape == photo.shape
    assert torch.isfinite(start).all() and 0 <= float(start.min()) <= float(start.max()) <= 1
