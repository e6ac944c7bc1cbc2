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
    """The first image of a TIFF file as (H, W, C), whatever its compression, tiling or
    planar layout (tifffile and imagecodecs decode them all)."""
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages[0]
        array = page.asarray()
        axes = page.axes
    if axes.startswith("S") and array.ndim == 3:  # planar: samples first
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 2:
        array = array[..., None]
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{array.dtype} samples are not supported; use 8 or 16 bits")
    return array


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
