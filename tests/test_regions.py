"""Painting by regions (styleengine.loss.regions): each style where its mask says, the photo kept
where the strength map says, and clear refusals (the tiled objective with masks:
test_tiling.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_content, make_stripes, make_style, run_cli, stripe_orientation
from PIL import Image

from styleengine.api import stylize_image_data, to_tensor
from styleengine.errors import BadInputError
from styleengine.image.files import from_array
from styleengine.loss.regions import RegionMasks, Regions, toward_palettes
from styleengine.settings import StyleSettings

RED, BLUE = (0.9, 0.15, 0.1), (0.1, 0.2, 0.9)
HEIGHT, WIDTH = 96, 192
# The network sees about this far across a mask's edge at the style layers that carry the
# strokes; beyond it a half is its own style's alone.
EDGE_BAND = 16


def _flat_photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.5 + rng.normal(0, 0.02, (HEIGHT, WIDTH, 3))).astype(np.float32)


def _left_half() -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), np.float32)
    mask[:, : WIDTH // 2] = 1
    return mask


def test_each_half_takes_its_own_paintings_colours_and_stripes_and_nothing_of_the_other(setup):
    red = from_array(make_stripes(96, 96, RED, vertical=False))
    blue = from_array(make_stripes(96, 96, BLUE, vertical=True))
    # Style 1 on the left half; style 2, bound to nothing, paints everything else.
    regions = RegionMasks(photo={1: from_array(_left_half())}, painting={})
    result = stylize_image_data(
        from_array(_flat_photo()), [red, blue], StyleSettings(iterations=60), setup,
        regions=regions,
    )  # fmt: skip
    left = result.rgb[:, : WIDTH // 2 - EDGE_BAND]
    right = result.rgb[:, WIDTH // 2 + EDGE_BAND :]
    red_over_blue = lambda part: float(part[..., 0].mean() - part[..., 2].mean())  # noqa: E731
    assert red_over_blue(left) > 0.3 and red_over_blue(right) < -0.3
    left_angle, left_coherence = stripe_orientation(to_tensor(np.ascontiguousarray(left)))
    right_angle, right_coherence = stripe_orientation(to_tensor(np.ascontiguousarray(right)))
    # Horizontal stripes vary along y (gradient angle +-90 degrees), vertical ones along x (0).
    assert abs(abs(left_angle) - 90) < 20 and abs(right_angle) < 20, (left_angle, right_angle)
    assert min(left_coherence, right_coherence) > 0.5


def test_a_strength_of_zero_keeps_the_photo_and_one_paints(setup):
    photo = make_content(HEIGHT, WIDTH)
    keep_left = from_array(1 - _left_half())
    result = stylize_image_data(
        from_array(photo), [from_array(make_style())], StyleSettings(iterations=30), setup,
        regions=RegionMasks(photo={}, painting={}, strength=keep_left),
    )  # fmt: skip
    kept = np.abs(result.rgb[:, : WIDTH // 2] - photo[:, : WIDTH // 2]).mean()
    painted = np.abs(result.rgb[:, WIDTH // 2 :] - photo[:, WIDTH // 2 :]).mean()
    assert kept < 0.01 and painted > 0.1, (kept, painted)


def test_a_paintings_own_region_gives_the_style_of_that_part_only(setup):
    """A painting half red stripes, half blue: its left half alone paints red."""
    painting = np.concatenate(
        [make_stripes(96, 96, RED, vertical=False), make_stripes(96, 96, BLUE, vertical=True)],
        axis=1,
    )
    regions = RegionMasks(photo={}, painting={1: from_array(_left_half())})
    result = stylize_image_data(
        from_array(_flat_photo()), [from_array(painting)], StyleSettings(iterations=40), setup,
        regions=regions,
    )  # fmt: skip
    assert result.rgb[..., 0].mean() - result.rgb[..., 2].mean() > 0.3


def test_styles_without_a_mask_share_what_no_mask_covers():
    left = torch.zeros(1, 1, 4, 8)
    left[..., :4] = 1
    groups = Regions([left, None, None]).groups([1.0, 1.0, 3.0])
    assert [group.styles for group in groups] == [[0], [1, 2]]
    assert groups[1].blend == [0.25, 0.75] and torch.equal(groups[1].mask, 1 - left)
    assert [group.share for group in groups] == [0.5, 0.5]
    assert Regions([None, None]).plain and not Regions([None], strength=left).plain


@pytest.mark.parametrize(
    ("masks", "message"),
    [
        (RegionMasks({1: from_array(np.zeros((HEIGHT, WIDTH), np.float32))}, {}), "empty"),
        (RegionMasks({1: from_array(np.ones((HEIGHT, HEIGHT), np.float32))}, {}), "shape"),
        (RegionMasks({3: from_array(np.ones((HEIGHT, WIDTH), np.float32))}, {}), "style 3"),
    ],
    ids=["empty", "another aspect", "no such style"],
)
def test_a_mask_that_cannot_work_is_refused_before_any_work(setup, masks, message):
    with pytest.raises(BadInputError, match=message):
        stylize_image_data(
            from_array(_flat_photo()), [from_array(make_style())], StyleSettings(iterations=1),
            setup, regions=masks,
        )  # fmt: skip


@pytest.mark.parametrize("form", ["ImageData", "array", "uint8 array", "PIL", "path", "str path"])
def test_the_api_takes_a_mask_in_every_form_an_image_takes(setup, tmp_path, form):
    """The photo and the paintings may be arrays or PIL images: so may their masks (a raw
    AttributeError before; issue 48, family 6), or image files' paths. The same picture
    whatever the form."""
    half = _left_half()
    square = np.zeros((WIDTH, WIDTH), np.float32)
    square[:, : WIDTH // 2] = 1

    def as_form(mask: np.ndarray, name: str):
        file = tmp_path / f"{name}.png"
        Image.fromarray((mask * 255).astype(np.uint8)).save(file)
        return {
            "ImageData": from_array(mask), "array": mask, "PIL": Image.open(file),
            "uint8 array": (mask * 255).astype(np.uint8), "path": file, "str path": str(file),
        }[form]  # fmt: skip

    def run(photo_mask, painting_mask, strength):
        return stylize_image_data(
            from_array(_flat_photo()), [from_array(make_style(WIDTH, WIDTH))],
            StyleSettings(iterations=1), setup,
            regions=RegionMasks({1: photo_mask}, {1: painting_mask}, strength),
        ).rgb  # fmt: skip

    given = run(as_form(half, "photo"), as_form(square, "painting"), as_form(half, "strength"))
    reference = run(from_array(half), from_array(square), from_array(half))
    assert np.array_equal(given, reference)


def test_a_mask_of_no_image_kind_is_refused_naming_it(setup):
    with pytest.raises(BadInputError, match="The region for style 1: expected a numpy array"):
        stylize_image_data(
            from_array(_flat_photo()), [from_array(make_style())], StyleSettings(iterations=1),
            setup, regions=RegionMasks({1: [[1, 0], [0, 1]]}),
        )  # fmt: skip


def test_the_command_line_paints_by_regions_and_says_what_is_wrong_in_one_line(
    tmp_path, engine_env, hed_weights
):
    photo, red, blue = tmp_path / "photo.png", tmp_path / "red.png", tmp_path / "blue.png"
    for path, pixels in ((photo, _flat_photo()), (red, make_stripes(64, 64, RED, False)),
                         (blue, make_stripes(64, 64, BLUE, True))):  # fmt: skip
        Image.fromarray((pixels * 255).astype(np.uint8)).save(path)
    sky = tmp_path / "sky.png"
    Image.fromarray((_left_half() * 255).astype(np.uint8)).save(sky)
    output = tmp_path / "out.png"
    common = [str(photo), str(red), str(blue), "-o", str(output), "--iterations", "20",
              "--weights", "hed", "--device", "cpu", "--progress", "none"]  # fmt: skip
    done = run_cli(["stylize", *common, "--style-region", f"1={sky}"], engine_env)
    assert done.returncode == 0, done.stderr
    with Image.open(output) as picture:
        pixels = np.asarray(picture.convert("RGB"), np.float32) / 255
    half = WIDTH // 2
    assert pixels[:, :half, 0].mean() > pixels[:, :half, 2].mean()
    assert pixels[:, half:, 2].mean() > pixels[:, half:, 0].mean()

    text = tmp_path / "notes.png"
    text.write_text("not an image")
    for arguments, message in (
        (["--style-region", f"1={text}"], "notes.png"),
        (["--style-region", "one=sky.png"], "N=PATH"),
        (["--strength-map", str(tmp_path / "missing.png")], "missing.png"),
        (["--style-region", f"1={sky}", "-o", str(sky)], "sky.png"),
    ):
        refused = run_cli(["stylize", *common, *arguments], engine_env)
        assert refused.returncode == 2, (arguments, refused.stderr)
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in refused.stderr


def test_each_region_takes_its_own_paintings_palette_and_the_rest_keeps_the_photos():
    photo = torch.full((1, 3, 8, 16), 0.5)
    red = (torch.tensor(RED)[None, :, None, None] * torch.ones(1, 3, 4, 4), None)
    blue = (torch.tensor(BLUE)[None, :, None, None] * torch.ones(1, 3, 4, 4), None)
    left = torch.zeros(1, 1, 8, 16)
    left[..., :8] = 1
    groups = Regions([left, None]).groups([1.0, 1.0])
    toned = toward_palettes(photo, [red, blue], groups, 1.0)
    assert toned[0, 0, :, :8].mean() > toned[0, 2, :, :8].mean() + 0.5
    assert toned[0, 2, :, 8:].mean() > toned[0, 0, :, 8:].mean() + 0.5
    only_left = toward_palettes(photo, [red], Regions([left]).groups([1.0]), 1.0)
    assert torch.equal(only_left[..., 8:], photo[..., 8:])
