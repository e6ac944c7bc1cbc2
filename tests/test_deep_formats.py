"""TIFF read for what its tags declare (image/deep_formats.py): every form tifffile writes of
one photo reads as that photo, and a form the engine cannot read correctly is refused in one
line, never painted wrong (issue 48, family 2). A CMYK TIFF used to come out fully
transparent with exit 0: its black ink was taken for alpha."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from styleengine.errors import BadInputError
from styleengine.image.files import read_image

HEIGHT, WIDTH = 12, 20
PHOTO = np.random.default_rng(4).random((HEIGHT, WIDTH, 3))
# Where each orientation tag's stored pixels come from: what is stored is the seen photo
# turned the other way (TIFF's Orientation, as EXIF's).
STORED = {
    1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, 1),
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1], 8: lambda a: np.rot90(a, -1),
}  # fmt: skip


def _samples(values: np.ndarray, depth: int) -> np.ndarray:
    scale = 2**depth - 1
    return np.round(values * scale).astype(np.uint8 if depth == 8 else np.uint16)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    form=st.sampled_from(
        [
            "rgb",
            "rgba",
            "rgba premultiplied",
            "rgb + unspecified",
            "grey",
            "grey inverted",
            "grey + alpha",
            "cmyk",
            "palette",
        ]
    ),  # fmt: skip
    depth=st.sampled_from([8, 16]),
    planar=st.booleans(),
    tiled=st.booleans(),
    compression=st.sampled_from([None, "zlib", "lzw"]),
    orientation=st.sampled_from(sorted(STORED)),
    pages=st.integers(1, 2),
)
def test_every_form_of_a_tiff_reads_as_its_photo(
    tmp_path_factory, form, depth, planar, tiled, compression, orientation, pages
):
    alpha = np.linspace(0.2, 1.0, WIDTH)[None, :].repeat(HEIGHT, 0)
    grey = PHOTO.mean(axis=-1)
    seen_colour, seen_alpha, options = PHOTO, None, {"photometric": "rgb"}
    if form == "rgb":
        stored = PHOTO
    elif form in ("rgba", "rgba premultiplied"):
        premultiplied = form.endswith("premultiplied")
        colour = PHOTO * alpha[..., None] if premultiplied else PHOTO
        stored = np.concatenate([colour, alpha[..., None]], axis=-1)
        seen_alpha = alpha
        options["extrasamples"] = ["assocalpha" if premultiplied else "unassalpha"]
    elif form == "rgb + unspecified":  # an extra channel that is not transparency
        stored = np.concatenate([PHOTO, alpha[..., None]], axis=-1)
        options["extrasamples"] = ["unspecified"]
    elif form.startswith("grey"):
        seen_colour = grey[..., None].repeat(3, -1)
        stored = (1 - grey if form == "grey inverted" else grey)[..., None]
        options["photometric"] = "miniswhite" if form == "grey inverted" else "minisblack"
        if form == "grey + alpha":
            stored = np.concatenate([stored, alpha[..., None]], axis=-1)
            seen_alpha = alpha
            options["extrasamples"] = ["unassalpha"]
    elif form == "cmyk":  # ink: no black ink here, the photo's complement in CMY
        stored = np.concatenate([1 - PHOTO, np.zeros((HEIGHT, WIDTH, 1))], axis=-1)
        options["photometric"] = "separated"
    else:  # palette: grey levels through a colour map
        levels = 2**depth - 1 if depth == 8 else 255
        index = np.round(grey * levels).astype(np.uint8)
        colormap = np.zeros((3, 256), np.uint16)
        colormap[:] = (np.arange(256) / levels * 65535).clip(0, 65535).astype(np.uint16)
        seen_colour = (index / levels)[..., None].repeat(3, -1)
        stored, options = None, {"photometric": "palette", "colormap": colormap}
    data = index if form == "palette" else _samples(stored, depth)
    data = STORED[orientation](data)
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[..., 0]
    if planar and data.ndim == 3:
        data = np.ascontiguousarray(np.moveaxis(data, -1, 0))
        options["planarconfig"] = "separate"
    path = tmp_path_factory.mktemp("tiff") / "photo.tif"
    with tifffile.TiffWriter(path) as writer:
        for page in range(pages):  # a second page (a preview, another picture) is not read
            writer.write(
                data if page == 0 else data[::-1].copy(), compression=compression,
                tile=(16, 16) if tiled else None, extratags=[(274, "H", 1, orientation, True)],
                **options,
            )  # fmt: skip
    image = read_image(path)
    step = 1.0 / (2**depth - 1)
    tolerance = 1e-6 if form == "palette" else step * (4 if "premultiplied" in form else 0.51)
    assert image.rgb.shape == (HEIGHT, WIDTH, 3)
    assert np.abs(image.rgb - seen_colour).max() <= tolerance + 1e-6
    if seen_alpha is None:
        assert image.alpha is None
    else:
        assert np.abs(image.alpha - seen_alpha).max() <= step * 0.51 + 1e-6


@pytest.mark.parametrize(
    "photometric, channels", [("cielab", 3), ("ycbcr", 3)], ids=["Lab", "YCbCr uncompressed"]
)
def test_a_tiff_of_colours_it_cannot_read_is_refused_in_one_line(tmp_path, photometric, channels):
    path = tmp_path / "photo.tif"
    tifffile.imwrite(path, _samples(PHOTO[..., :channels], 8), photometric=photometric)
    with pytest.raises(BadInputError) as refused:
        read_image(path)
    assert "cannot be read correctly here" in str(refused.value)
    assert "\n" not in str(refused.value)


# Every 8-bit form Pillow writes, in every format it writes it to: the engine reads what the
# file declares as Pillow itself reads it (CMYK inks as colours, a palette as its colours,
# transparency as alpha), or refuses it in one line.
PILLOW_MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB",
                "HSV", "La", "RGBa"]  # fmt: skip
PILLOW_FORMATS = ["png", "jpg", "tif", "webp", "bmp", "gif", "ppm", "tga", "jp2", "pcx", "sgi",
                  "im", "qoi", "ico", "icns", "psd", "blp", "dds"]  # fmt: skip


def test_every_form_pillow_writes_reads_as_pillow_reads_it(tmp_path):
    """All of them, each mode in each format (about 80 of the 250 pairs are written)."""
    from PIL import Image

    photo = Image.fromarray(np.round(PHOTO * 255).astype(np.uint8))
    read, wrong = [], []
    for mode, suffix in itertools.product(PILLOW_MODES, PILLOW_FORMATS):
        path = tmp_path / f"photo-{PILLOW_MODES.index(mode)}.{suffix}"
        try:
            photo.convert(mode).save(path)
            with Image.open(path) as written:
                seen = np.asarray(written.convert("RGBA"), np.float32) / 255
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a form Pillow does not write or read back: nothing to compare
        try:
            image = read_image(path)
        except BadInputError as refusal:
            if "\n" in refusal.message or str(path) not in refusal.message:
                wrong.append((mode, suffix, refusal.message))
            continue
        read.append((mode, suffix))
        alpha = np.ones(seen.shape[:2]) if image.alpha is None else image.alpha
        if image.rgb.shape != seen.shape[:2] + (3,) or not (
            np.allclose(image.rgb, seen[..., :3], atol=1 / 255 + 1e-6)
            and np.allclose(alpha, seen[..., 3], atol=1 / 255 + 1e-6)
        ):
            wrong.append((mode, suffix, "read otherwise than Pillow reads it"))
    assert len(read) > 60 and not wrong, wrong
