"""16-bit-per-channel PNG, and TIFF, which Pillow cannot hold in colour.

Pillow keeps 16 bits only for single-channel images; an RGB(A) 16-bit file would be cut to
8 bits. 16-bit PNG is decoded by torchvision and encoded here (zlib, no filter). TIFF, in
every depth, goes through tifffile (with imagecodecs for LZW, JPEG and the other
compressions cameras, scanners and Lightroom use): TIFF has too many layouts to decode by
hand.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF


def png_bit_depth(path: Path) -> int | None:
    """The bit depth in a PNG's header, or None when the file is not a PNG."""
    with open(path, "rb") as handle:
        head = handle.read(26)
    if len(head) < 26 or not head.startswith(_PNG_SIGNATURE):
        return None
    return head[24]


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header, before any decoding."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    return struct.unpack(">II", head[16:24])


def tiff_size(path: Path) -> tuple[int, int]:
    """(width, height) of a TIFF's first image, from its tags, before any decoding."""
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages[0]
        return int(page.imagewidth), int(page.imagelength)


def npy_size(path: Path) -> tuple[int, int]:
    """(width, height) of a ``.npy`` array of (H, W[, C]) pixels, from its header."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, _ = read_header(handle)
    if len(shape) < 2:
        return (shape[0] if shape else 1), 1
    return int(shape[1]), int(shape[0])


def read_png16(path: Path) -> np.ndarray:
    """A 16-bit PNG as a uint16 array (H, W, C)."""
    import warnings

    with warnings.catch_warnings():
        # torchvision 0.29 announces that its image codecs will move to TorchCodec; they
        # still work, and a 16-bit PNG decoder is all that is needed from them.
        warnings.simplefilter("ignore", DeprecationWarning)
        from torchvision.io import ImageReadMode, decode_png, read_file

        decoded = decode_png(read_file(str(path)), mode=ImageReadMode.UNCHANGED)
    return decoded.permute(1, 2, 0).numpy().astype(np.uint16)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def write_png16(path: Path, array: np.ndarray) -> None:
    """Write a uint16 array (H, W, C) with C in 1..4 as a 16-bit PNG."""
    height, width, channels = array.shape
    header = struct.pack(">IIBBBBB", width, height, 16, _PNG_COLOR_TYPES[channels], 0, 0, 0)
    rows = np.ascontiguousarray(array.astype(">u2")).view(np.uint8).reshape(height, -1)
    # Each row is preceded by its filter type, 0 (none).
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)
    with open(path, "wb") as handle:
        handle.write(_PNG_SIGNATURE)
        handle.write(_png_chunk(b"IHDR", header))
        handle.write(_png_chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)))
        handle.write(_png_chunk(b"IEND", b""))


def is_tiff(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) in _TIFF_SIGNATURES


def read_tiff(path: Path) -> np.ndarray:
    """The first image of a TIFF file as (H, W, C) of 1 to 4 channels (grey, grey + alpha,
    RGB, RGBA), read for what its tags declare, whatever its compression, tiling or planar
    layout (tifffile and imagecodecs decode those): its photometric interpretation (black or
    white as zero, a palette, CMYK ink, RGB), which extra sample is alpha (and whether it is
    premultiplied) and its orientation. A form that cannot be read correctly is refused
    (ValueError: one line for the user), never painted wrong."""
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages[0]
        array = page.asarray()
        axes = page.axes
        photometric = int(page.photometric)
        extras = [int(e) for e in (page.extrasamples or ())]
        colormap = page.colormap
        orientation = int(page.tags.valueof(274, 1))  # Orientation
        inkset = int(page.tags.valueof(332, 1))  # InkSet: 1 is CMYK
        compression = int(page.compression)
    if axes.startswith("S") and array.ndim == 3:  # planar: samples first
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(f"a TIFF image of {array.ndim} dimensions ({axes}) is not a picture")
    values, scale = _tiff_samples(array)
    kind = photometric
    if kind == _TIFF_YCBCR and compression in _JPEG_COMPRESSIONS:
        kind = _TIFF_RGB  # the JPEG decoder hands back RGB
    colour_count = array.shape[2] - len(extras)
    if kind == _TIFF_PALETTE:
        if colormap is None:
            raise ValueError("a palette TIFF without its colour map")
        table = np.asarray(colormap, dtype=np.float32).T / 65535.0  # (entries, 3)
        colour = table[np.clip(array[..., 0].astype(np.int64), 0, len(table) - 1)]
    elif kind in (_TIFF_MINISBLACK, _TIFF_MINISWHITE) and colour_count == 1:
        colour = values[..., :1]
        if kind == _TIFF_MINISWHITE:
            colour = 1.0 - colour
    elif kind == _TIFF_RGB and colour_count == 3:
        colour = values[..., :3]
    elif kind == _TIFF_SEPARATED and inkset == 1 and colour_count == 4:
        cyan, magenta, yellow, black = np.moveaxis(values[..., :4], -1, 0)
        colour = np.stack([(1 - cyan) * (1 - black), (1 - magenta) * (1 - black),
                           (1 - yellow) * (1 - black)], axis=-1)  # fmt: skip
    else:
        name = _TIFF_PHOTOMETRIC_NAMES.get(kind, f"photometric {kind}")
        raise ValueError(
            f"its {name} colours ({colour_count} channels) cannot be read correctly here; "
            "save it as an RGB or greyscale TIFF, PNG or JPEG"
        )
    # The first extra sample that is alpha (associated: premultiplied; unassociated: as is);
    # an extra sample of unspecified meaning is not transparency.
    alpha = None
    for index, extra in enumerate(extras):
        if extra in (_ALPHA_ASSOCIATED, _ALPHA_UNASSOCIATED):
            alpha = values[..., colour_count + index]
            if extra == _ALPHA_ASSOCIATED:
                shown = alpha[..., None]
                colour = np.where(shown > 0, colour / np.maximum(shown, 1e-12), 0.0)
            break
    pixels = colour if alpha is None else np.concatenate([colour, alpha[..., None]], axis=-1)
    pixels = _orient(np.clip(pixels, 0.0, 1.0).astype(np.float32), orientation)
    if scale in (255, 65535) and kind != _TIFF_PALETTE:
        # Kept at its depth (the result is written back at it): exact for these samples.
        return np.round(pixels * scale).astype(np.uint8 if scale == 255 else np.uint16)
    return pixels


# TIFF's tag values (TIFF 6.0: PhotometricInterpretation, ExtraSamples).
_TIFF_MINISWHITE, _TIFF_MINISBLACK, _TIFF_RGB, _TIFF_PALETTE = 0, 1, 2, 3
_TIFF_SEPARATED, _TIFF_YCBCR = 5, 6
_JPEG_COMPRESSIONS = (6, 7)  # old-style and new-style JPEG
_ALPHA_ASSOCIATED, _ALPHA_UNASSOCIATED = 1, 2
_TIFF_PHOTOMETRIC_NAMES = {4: "transparency mask", 5: "separated (ink)", 6: "YCbCr",
                           8: "CIE L*a*b*", 9: "ICC L*a*b*", 10: "ITU L*a*b*",
                           32844: "LogL", 32845: "LogLuv"}  # fmt: skip


def _tiff_samples(array: np.ndarray) -> tuple[np.ndarray, float]:
    """Samples as floats in [0, 1], and the integer scale they came from (0 for floats)."""
    if array.dtype == np.bool_:
        return array.astype(np.float32), 1
    if array.dtype.kind == "f":
        return array.astype(np.float32), 0
    if array.dtype in (np.uint8, np.uint16):
        scale = float(np.iinfo(array.dtype).max)
        return array.astype(np.float32) / scale, int(scale)
    raise ValueError(f"{array.dtype} samples are not supported; use 8 or 16 bits")


def _orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """The picture as it is meant to be seen, from TIFF's Orientation tag (as EXIF's)."""
    if orientation in (5, 6, 7, 8):
        pixels = np.swapaxes(pixels, 0, 1)
        orientation = {5: 1, 6: 2, 7: 3, 8: 4}[orientation]  # transposed first
    if orientation in (2, 3):
        pixels = pixels[:, ::-1]
    if orientation in (3, 4):
        pixels = pixels[::-1]
    return np.ascontiguousarray(pixels)


def write_tiff(path: Path, array: np.ndarray) -> None:
    """Write a uint8 or uint16 array (H, W, C), C in 1..4, as a deflate-compressed TIFF."""
    import tifffile

    channels = array.shape[2]
    has_alpha = channels in (2, 4)
    tifffile.imwrite(
        path,
        array[..., 0] if channels == 1 else array,
        photometric="rgb" if channels >= 3 else "minisblack",
        planarconfig="contig" if channels > 1 else None,
        extrasamples=["unassalpha"] if has_alpha else None,
        compression="zlib",
    )
