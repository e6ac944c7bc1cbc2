"""Image files and arrays keep what they hold: alpha, grey, 16 bits, float."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import make_content, make_style
from PIL import Image

from styleengine.api import stylize_image_data
from styleengine.errors import BadInputError
from styleengine.image.files import ImageData, from_array, read_image, write_image
from styleengine.settings import StyleSettings


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16bit_files_round_trip_exactly(tmp_path, suffix, channels):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 65536, (7, 9, channels), dtype=np.uint16)
    image = from_array(pixels)
    assert image.bit_depth == 16
    path = tmp_path / f"deep{suffix}"
    write_image(path, image)
    again = read_image(path)
    assert again.bit_depth == 16 and again.grayscale == (channels <= 2)
    back = np.round(again.channels() * 65535).astype(np.uint16)
    if channels <= 2:
        # grey goes through RGB and back; exact up to float32 rounding of the luma weights
        assert np.abs(back.astype(int) - pixels.astype(int)).max() <= 1
    else:
        assert np.array_equal(back, pixels)


def test_pillow_writes_readable_16bit_png(tmp_path):
    pixels = np.arange(0, 65535, 257, dtype=np.uint16)[None, :16].repeat(3, 0)
    write_image(tmp_path / "g.png", from_array(pixels[..., None].repeat(3, axis=-1)))
    decoded = read_image(tmp_path / "g.png")
    assert np.array_equal(np.round(decoded.rgb[..., 0] * 65535).astype(np.uint16), pixels)


def test_8bit_png_rgba_round_trip(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png")
    write_image(tmp_path / "b.png", image)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "b.png")), pixels)


def test_npy_float_keeps_precision(tmp_path):
    pixels = np.random.default_rng(1).random((6, 4, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", pixels)
    image = read_image(tmp_path / "x.npy")
    write_image(tmp_path / "y.npy", image)
    assert np.array_equal(np.load(tmp_path / "y.npy"), pixels)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not an image at all", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n broken", "not a readable image"),
    ],
)
def test_corrupt_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(BadInputError, match=message):
        read_image(path)


def test_empty_array_is_refused():
    with pytest.raises(BadInputError, match="empty"):
        from_array(np.zeros((0, 5, 3), np.float32))


def test_output_is_written_whole_or_not_at_all(tmp_path):
    with pytest.raises(BadInputError, match="unknown output format"):
        write_image(tmp_path / "out.xyz", from_array(make_content(4, 4)))
    assert list(tmp_path.iterdir()) == []


def test_alpha_passes_through_untouched(setup):
    content = make_content(48, 48)
    alpha = np.random.default_rng(2).random((48, 48)).astype(np.float32)
    result = stylize_image_data(
        ImageData(content, alpha, False, 32),
        [from_array(make_style())],
        StyleSettings(iterations=3, scales=1),
        setup,
    )
    assert np.array_equal(result.alpha, alpha)
    assert result.channels().shape == (48, 48, 4)


def test_grayscale_content_gives_grayscale_result(setup, tmp_path):
    grey = (make_content(40, 40).mean(-1) * 255).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    content = read_image(tmp_path / "grey.png")
    result = stylize_image_data(
        content, [from_array(make_style())], StyleSettings(iterations=3, scales=1), setup
    )
    write_image(tmp_path / "out.png", result)
    with Image.open(tmp_path / "out.png") as written:
        assert written.mode == "L" and written.size == (40, 40)


def test_16bit_content_gives_16bit_result(setup, tmp_path):
    deep = (make_content(40, 40) * 65535).astype(np.uint16)
    write_image(tmp_path / "deep.tif", from_array(deep))
    content = read_image(tmp_path / "deep.tif")
    result = stylize_image_data(
        content, [from_array(make_style())], StyleSettings(iterations=2, scales=1), setup
    )
    write_image(tmp_path / "out.tif", result)
    written = read_image(tmp_path / "out.tif")
    assert written.bit_depth == 16
    levels = np.unique(np.round(written.rgb * 65535))
    assert len(levels) > 256  # more than 8 bits of levels survive


@pytest.mark.parametrize(
    "options",
    [
        {"compression": "lzw"},
        {"compression": "zlib", "tile": (16, 16)},
        {"compression": "jpeg"},
        {"compression": "packbits", "planarconfig": "separate"},
    ],
    ids=["lzw", "zlib-tiled", "jpeg", "packbits-planar"],
)
def test_tiffs_as_cameras_and_scanners_write_them_are_read(tmp_path, options):
    """Compressed, tiled and planar TIFFs (Lightroom, scanners) are read with every level."""
    import tifffile

    depth = np.uint8 if options["compression"] == "jpeg" else np.uint16
    scale = 255 if depth == np.uint8 else 65535
    pixels = (make_content(32, 48) * scale).astype(depth)
    planar = options.get("planarconfig") == "separate"
    stored = np.moveaxis(pixels, -1, 0) if planar else pixels
    tifffile.imwrite(tmp_path / "photo.tif", stored, photometric="rgb", **options)
    image = read_image(tmp_path / "photo.tif")
    assert image.rgb.shape == (32, 48, 3)
    assert image.bit_depth == (8 if depth == np.uint8 else 16)
    error = np.abs(image.rgb - pixels / scale)
    if options["compression"] == "jpeg":  # lossy: close on average
        assert error.mean() < 0.02
    else:
        assert error.max() < 1e-6


def test_exif_orientation_is_applied(tmp_path):
    """A phone's portrait JPEG is stored sideways with orientation 6 (rotate 90 degrees)."""
    upright = (make_content(40, 24) * 255).astype(np.uint8)  # taller than wide
    stored = Image.fromarray(np.rot90(upright, k=1).copy())  # as the sensor wrote it
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=98)
    image = read_image(tmp_path / "phone.jpg")
    assert image.rgb.shape == (40, 24, 3)
    assert np.abs(image.rgb - upright / 255).mean() < 0.03


def test_result_gets_the_mode_of_any_new_file(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        write_image(tmp_path / "out.png", from_array(make_content(4, 4)))
    finally:
        os.umask(old)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o644


def test_a_killed_runs_partial_file_is_removed_by_the_next_run_and_nothing_else(tmp_path):
    """A run killed (SIGKILL, a power cut) while writing leaves its partial file beside the
    user's; the next run in that folder removes it, and only what is certainly such a file."""
    from styleengine.image.files import PARTIAL_PREFIX, check_output_path

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead = int(finished.stdout)
    stale = tmp_path / f"{PARTIAL_PREFIX}{dead}-k3j2.png"
    stale.write_bytes(b"half a picture")
    kept = {
        f"{PARTIAL_PREFIX}{os.getpid()}-live.png": "a run still writing",
        f"{PARTIAL_PREFIX}notes.png": "a name that is not the engine's",
        "photo.png": "the user's",
    }
    for name, text in kept.items():
        (tmp_path / name).write_text(text)
    (tmp_path / f"{PARTIAL_PREFIX}{dead}-folder").mkdir()
    (tmp_path / f"{PARTIAL_PREFIX}{dead}-link.png").symlink_to(tmp_path / "photo.png")
    check_output_path(tmp_path / "out.png")
    assert not stale.exists()
    assert {n: (tmp_path / n).read_text() for n in kept} == kept
    assert (tmp_path / f"{PARTIAL_PREFIX}{dead}-folder").is_dir()
    assert (tmp_path / f"{PARTIAL_PREFIX}{dead}-link.png").is_symlink()
