"""What a user notices about the picture the API makes: the Strength control does what it
says, the photo's straight lines stay straight at the defaults, a striped painting gives
stripes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import make_content, make_style, stripe_orientation, stylize_pair

from styleengine.api import stylize, stylize_image_data, to_tensor
from styleengine.errors import BadInputError
from styleengine.image.files import from_array
from styleengine.settings import StyleSettings
from stylelab.quality import EmbeddingJudge, Judge


def _stylize(setup, content, style, settings):
    return to_tensor(stylize_pair(setup, settings, content, style)[0].rgb)


def test_strength_moves_style_up_and_structure_down_monotonically(setup, hed_weights):
    """The dialog's Strength 0, 50, 100 (StyleSettings.at_strength, as --strength), at the default
    iterations, judged as the issue judges the picture: the style gap seen by Magenta's
    style embedding (stylelab.quality.EmbeddingJudge). Above 50 the painting's share
    saturates (QUALITY.md): 100 must not be less painted than 50 beyond the judge's noise.
    (Not the VGG style measure: since the sliced-Wasserstein layers the engine optimizes a
    distance of the same kind as that measure, which then saturates at 50 already: 0.762,
    0.752 and 0.745 at 50, 75 and 100 while the structure went on falling.)"""
    content, style = make_content(96, 128), make_style(96, 96)
    judge, style_judge = Judge(hed_weights), EmbeddingJudge()
    gaps, structures = [], []
    for strength in (0, 50, 100):
        settings = StyleSettings.at_strength(strength)
        result = _stylize(setup, content, style, settings)
        photo, painting = to_tensor(content), to_tensor(style)
        gaps.append(style_judge.style_gap(result, photo, painting))
        structures.append(judge.scores(result, photo, painting).structure)
    assert gaps[0] < gaps[1] - 0.05 and gaps[2] >= gaps[1] - 0.02, gaps
    assert structures[0] > structures[1] + 0.05 and structures[2] <= structures[1] + 0.02, (
        structures
    )


def test_a_firmer_layout_keeps_more_of_the_photos_layout(setup, hed_weights):
    """The layout weight (--layout-weight) holds the photo's edges at a quarter of its size:
    raised, the picture keeps more of the photo's layout, and still carries the painting."""
    content, style = make_content(96, 128), make_style(96, 96)
    judge = Judge(hed_weights)
    scores = []
    for layout_weight in (0.0, 1.0):
        result = _stylize(setup, content, style, StyleSettings(layout_weight=layout_weight))
        scores.append(judge.scores(result, to_tensor(content), to_tensor(style)))
    loose, firm = scores
    assert firm.structure > loose.structure + 0.05, (loose.structure, firm.structure)
    assert firm.style > 0.5 * loose.style, (loose.style, firm.style)


# Rows are averaged in bands of this many before the edge is looked for: a painting's
# diagonal strokes cross a row at one column and the next row a column further, so they
# cancel over a band, while the building's vertical edge adds up.
EDGE_BAND_ROWS = 8


def _edge_columns(image: torch.Tensor, rows: slice) -> np.ndarray:
    """Per band of rows, the column of the strongest left-right luminance change of the
    blurred image (the vertical edge of the synthetic building)."""
    grey = image[0].mean(0, keepdim=True)[None]
    blurred = torch.nn.functional.avg_pool2d(grey, 5, stride=1, padding=2)[0, 0]
    change = (blurred[:, 4:] - blurred[:, :-4]).abs()
    # Away from the image's own borders, where the padding of the network shows.
    margin = 8
    inner = change[rows, margin:-margin]
    bands = inner.reshape(-1, EDGE_BAND_ROWS, inner.shape[1]).mean(dim=1)
    return bands.argmax(dim=1).numpy() + 2 + margin


def test_a_straight_edge_stays_straight_at_the_defaults(setup):
    """A photo with one long vertical edge (a building against the sky), stylized with a
    painting of diagonal strokes at every default: the edge may move a little, not bend."""
    height, width = 128, 128
    content = np.empty((height, width, 3), np.float32)
    content[:] = (0.55, 0.7, 0.9)  # sky
    content[:, : width // 2 - 8] = (0.25, 0.2, 0.18)  # the building's dark wall
    style = make_style(128, 128)
    result = _stylize(setup, content, style, StyleSettings())
    columns = _edge_columns(result, slice(16, height - 16))
    # A brush stroke may outshine the edge in a band; a bent edge shifts many.
    near = np.abs(columns - np.median(columns)) <= 10
    rows = np.arange(len(columns))
    slope, offset = np.polyfit(rows[near], columns[near], 1)
    straight = np.abs(columns - (slope * rows + offset)) <= 4
    # From the photo 0.9 of the rows kept the edge in place; from the painted start 0.75 do
    # on this small drawing (QUALITY.md: the painted start's defect on small pictures).
    assert straight.mean() >= 0.7, columns
    assert abs(slope) * len(columns) <= 4, slope  # vertical, as in the photo
    assert abs(np.median(columns) - (width // 2 - 8)) <= 4


def test_a_striped_painting_gives_clean_stripes_of_its_orientation_on_a_flat_photo(setup):
    """On a flat photo nothing of the photo competes: the result must carry the painting's
    stripes, in their orientation, not broken noise."""
    size = 96
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    stripes = (np.sin((x + y) * 2 * np.pi / 12) > 0).astype(np.float32)
    light, dark = np.array([0.95, 0.9, 0.3]), np.array([0.1, 0.1, 0.5])  # yellow on blue
    style = (stripes[..., None] * light + (1 - stripes[..., None]) * dark).astype(np.float32)
    content = np.full((size, size, 3), 0.5, np.float32)
    content += np.random.default_rng(0).normal(0, 0.01, content.shape).astype(np.float32)
    result = _stylize(setup, content, style, StyleSettings())
    style_angle, _ = stripe_orientation(to_tensor(style))
    angle, coherence = stripe_orientation(result)
    difference = abs((angle - style_angle + 90) % 180 - 90)
    # Broken, noisy stripes point every way: their coherence falls (here 0.95 at the defaults).
    assert difference <= 10 and coherence >= 0.8, (angle, style_angle, coherence)


def test_work_size_optimizes_smaller_and_returns_the_output_size(setup):
    settings = StyleSettings(iterations=2, scales=1)
    content = make_content(96, 128)
    result, seen = stylize_pair(setup, settings, content, working_size=64, detail="off")
    assert (seen[-1].width, seen[-1].height) == (64, 48)  # where the optimization ran
    assert result.rgb.shape == (96, 128, 3)  # scaled back up


def test_size_option_sets_longest_side(setup):
    settings = StyleSettings(iterations=2, scales=1)
    result, _ = stylize_pair(setup, settings, make_content(40, 80), size=48)
    assert result.rgb.shape == (24, 48, 3)


@pytest.mark.parametrize(
    "photo, size, expected",
    [((64, 96), 1, (1, 1)), ((64, 96), 2, (1, 2)), ((64, 96), 3, (2, 3)), ((1, 40), None, (1, 40)),
     ((40, 1), 5, (5, 1)), ((3, 200), 64, (1, 64))],
)  # fmt: skip
def test_every_output_size_in_range_gives_a_picture(setup, photo, size, expected):
    """--output-size 1 is in range (a 1 px picture of a photo is one colour, not a blank
    result): every size from 1, and thin photos, give their picture (issue 48, family 4)."""
    settings = StyleSettings(iterations=1)
    result, _ = stylize_pair(setup, settings, make_content(*photo), size=size)
    assert result.rgb.shape[:2] == expected and np.isfinite(result.rgb).all()


@pytest.mark.parametrize(
    "opaque",
    [(slice(0, 1), slice(0, 1)), (slice(0, 2), slice(0, 2)), (slice(30, 31), slice(None)),
     (slice(None), slice(63, 64))],
    ids=["one pixel", "a 2x2 corner", "one row", "the last column"],
)  # fmt: skip
def test_a_painting_transparent_but_for_a_sliver_paints(setup, opaque):
    """What shows of a painting may be tiny: a corner of 2x2 pixels was an internal error
    (a quantile table of one point; issue 48, family 3). It paints, with the sliver's
    colours."""
    style = np.zeros((64, 64, 4), np.float32)
    style[..., :3] = make_style(64, 64)
    style[..., 3][opaque] = 1.0
    result, _ = stylize_pair(setup, StyleSettings(iterations=2), style=style)
    assert np.isfinite(result.rgb).all() and result.rgb.std() > 0.01


def test_style_blend_needs_one_weight_per_style(setup):
    settings = StyleSettings(iterations=1, style_blend=(0.5, 0.3, 0.2))
    with pytest.raises(BadInputError, match="one weight per style"):
        stylize_pair(setup, settings)


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


def test_a_blank_or_broken_result_is_never_handed_over():
    """The last check before a result is written: one flat colour from inputs that were not
    flat, or a NaN anywhere, is the engine's failure, not a picture."""
    from styleengine.api import check_not_blank
    from styleengine.errors import EngineError, ErrorKind

    photo = to_tensor(make_content(24, 32))
    flat = torch.full((1, 3, 24, 32), 0.4)
    check_not_blank(to_tensor(make_style(24, 32)), photo)  # a picture: no complaint
    check_not_blank(flat, flat)  # flat from a flat photo is right
    check_not_blank(torch.full((1, 3, 1, 1), 0.4), photo[..., :1, :1])  # one pixel is a pixel
    for broken in (flat, photo.clone().fill_(float("nan"))):
        with pytest.raises(EngineError) as raised:
            check_not_blank(broken, photo)
        assert raised.value.kind == ErrorKind.INTERNAL and "nothing was written" in str(
            raised.value
        )


def test_none_means_the_command_lines_default_wherever_it_has_one():
    """A Python caller's None is leaving the option out (issue 48, family 6): for every
    setting with a default, and for the run's options."""
    from styleengine import contract
    from styleengine.settings import StyleSettings

    names = [
        f.name for f in dataclasses.fields(StyleSettings) if f.name in contract.OPTIONS_BY_NAME
    ]
    assert StyleSettings(**dict.fromkeys(names)) == StyleSettings()
    pixels = np.full((16, 16, 3), 0.5, np.float32)
    given = stylize(pixels, pixels, StyleSettings(iterations=1, scales=1), preserve_colors=None,
                    weights="hed", device=None, precision=None, detail=None)  # fmt: skip
    default = stylize(pixels, pixels, StyleSettings(iterations=1, scales=1), weights="hed")
    assert np.array_equal(given, default)


def test_whole_floats_count_and_any_sequence_lists():
    """What a Python user passes (issue 48, family 6): a whole float where a count goes, an
    array, tuple or range where a list goes, read as the command line reads its text; 1.5
    iterations are still refused in a sentence naming them."""
    settings = StyleSettings(iterations=2.0, scales=np.int64(1), seed=np.float32(3),
                             style_blend=np.array([1.0, 3.0]), content_layers=("relu4_2",),
                             sliced_layers=[])  # fmt: skip
    assert (settings.iterations, settings.scales, settings.seed) == (2, 1, 3)
    assert type(settings.iterations) is int and settings.style_blend == (1.0, 3.0)
    assert StyleSettings(style_blend=range(1, 3)).style_blend == (1.0, 2.0)
    pixels = np.full((16, 16, 3), 0.5, np.float32)
    result = stylize(pixels, [pixels, pixels], settings, weights="hed", output_size=12.0,
                     working_size=np.int32(12))  # fmt: skip
    assert result.shape == (12, 12, 3)
    with pytest.raises(BadInputError, match=r"Iterations must be a whole number, not 1\.5"):
        stylize(pixels, pixels, StyleSettings(iterations=1.5), weights="hed")
