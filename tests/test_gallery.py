"""The gallery: paintings chosen by name on the command line, in Python and in the list."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO, folder_snapshot, make_content, run_cli
from PIL import Image

from styleengine import cli
from styleengine.contract import GALLERY, GALLERY_PREFIX
from styleengine.errors import BadInputError, ErrorKind
from styleengine.image.files import read_image
from styleengine.image.gallery import (
    PAINTINGS_DIR,
    credits_markdown,
    painting_path,
    readme_section,
    style_source,
    unknown_name_message,
)

NAMES = [painting.name for painting in GALLERY]


def test_the_folder_holds_exactly_the_listed_paintings_with_their_credits():
    files = sorted(path.name for path in PAINTINGS_DIR.iterdir())
    assert files == sorted([*(f"{name}.jpg" for name in NAMES), "CREDITS.md", "gallery.json"])
    # The credits and the README's section are made from the list (gallery.json): a painting
    # added there is in both, or this fails and says so.
    assert (PAINTINGS_DIR / "CREDITS.md").read_text(encoding="utf-8") == credits_markdown()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    count, table = readme_section()
    assert count in readme and table in readme
    assert len(GALLERY) >= 12 and len(set(NAMES)) == len(NAMES)
    for painting in GALLERY:
        assert painting.died <= 1955, f"{painting.name}: not in the public domain in the EU"
        assert painting.source and painting.look and painting.title in painting.label


@pytest.mark.parametrize("name", NAMES)
def test_every_painting_reads_as_a_colour_image_of_the_size_the_engine_needs(name):
    image = read_image(painting_path(GALLERY[NAMES.index(name)]))
    assert 512 <= max(image.height, image.width) <= 1024
    assert not image.grayscale and float(image.rgb.std()) > 0.05


@pytest.mark.parametrize(
    ("typed", "nearest"),
    [
        ("hokusai", "gallery:hokusai_great_wave"),
        ("great_wave", "gallery:hokusai_great_wave"),
        ("Klimt_The_Kiss ", None),  # a name as typed: case and spaces do not matter
        ("starry_nite", "gallery:van_gogh_starry_night"),
    ],
)
def test_a_name_is_found_or_the_message_names_the_nearest(typed, nearest):
    if nearest is None:
        assert style_source(GALLERY_PREFIX + typed) == str(
            painting_path(GALLERY[NAMES.index("klimt_the_kiss")])
        )
        return
    with pytest.raises(BadInputError) as raised:
        style_source(GALLERY_PREFIX + typed)
    assert nearest in raised.value.message and "\n" not in raised.value.message


def test_a_path_is_not_a_gallery_name_and_nothing_near_says_how_to_list():
    assert style_source("paintings/wave.jpg") == "paintings/wave.jpg"
    assert "python -m styleengine gallery" in unknown_name_message("zzzz")
    assert unknown_name_message(" ").startswith("Give a painting's name after gallery:")


def test_stylize_takes_every_gallery_name(tmp_path, hed_weights):
    """Each painting of the gallery, by name, gives a result (one iteration, small)."""
    content = tmp_path / "photo.png"
    Image.fromarray((make_content(40, 56) * 255).astype(np.uint8)).save(content)
    for name in NAMES:
        output = tmp_path / f"{name}.png"
        code = cli.main(
            ["stylize", str(content), GALLERY_PREFIX + name, "-o", str(output), "--weights",
             "hed", "--device", "cpu", "--iterations", "1", "--progress", "none"]
        )  # fmt: skip
        assert code == 0 and Image.open(output).size == (56, 40), name


def test_an_unknown_name_is_one_line_with_the_nearest_and_writes_nothing(tmp_path, engine_env):
    content = tmp_path / "photo.png"
    Image.fromarray((make_content(40, 56) * 255).astype(np.uint8)).save(content)
    before = folder_snapshot(tmp_path)
    done = run_cli(
        ["stylize", str(content), "gallery:hokusai_wave", "-o", str(tmp_path / "out.png")],
        engine_env,
    )
    assert done.returncode == ErrorKind.BAD_INPUT.exit_code == 2
    assert done.stderr.strip().splitlines() == [
        "error: The gallery has no painting called 'hokusai_wave' "
        "(nearest: gallery:hokusai_great_wave)."
    ]
    assert folder_snapshot(tmp_path) == before


def test_the_list_names_every_painting_with_its_credits(engine_env):
    listed = run_cli(["gallery"], engine_env)
    assert listed.returncode == 0
    for painting in GALLERY:
        assert f"{GALLERY_PREFIX}{painting.name} " in listed.stdout
        assert painting.painter in listed.stdout and painting.title in listed.stdout
    records = json.loads(run_cli(["gallery", "--json"], engine_env).stdout)
    assert [record["name"] for record in records] == NAMES
    assert all(read_image(record["path"]) for record in records[:2])


def test_a_painting_is_written_out_to_look_at_but_never_over_the_gallery(tmp_path, engine_env):
    output = tmp_path / "wave.png"
    wave = painting_path(GALLERY[NAMES.index("hokusai_great_wave")])
    done = run_cli(["gallery", "hokusai_great_wave", "-o", str(output)], engine_env)
    assert done.returncode == 0, done.stderr
    written, original = np.asarray(Image.open(output)), np.asarray(Image.open(wave))
    assert written.shape == original.shape
    before = wave.read_bytes()
    refused = run_cli(["gallery", "gallery:hokusai_great_wave", "-o", str(wave)], engine_env)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert wave.read_bytes() == before


def test_python_users_name_a_gallery_painting_as_a_style(hed_weights):
    from styleengine import StyleSettings, stylize

    photo = (make_content(32, 48) * 255).astype(np.uint8)
    result = stylize(photo, "gallery:munch_the_scream", StyleSettings(iterations=2),
                     weights="hed", device="cpu")  # fmt: skip
    assert result.shape == photo.shape and result.dtype == np.uint8
    with pytest.raises(BadInputError, match="nearest: gallery:munch_the_scream"):
        stylize(photo, "gallery:the_scream", weights="hed", device="cpu")


def test_the_readme_lists_every_painting_and_shows_the_gallery_picture():
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for painting in GALLERY:
        assert f"| `{painting.name}` | {painting.painter}, *{painting.title}*" in readme
    assert "(docs/images/gallery.jpg)" in readme and (REPO / "docs/images/gallery.jpg").is_file()
