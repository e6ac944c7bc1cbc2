"""16-bit-per-channel PNG and TIFF, which Pillow cannot hold in colour.

Pillow keeps 16 bits only for single-channel images; an RGB(A) 16-bit file would be cut to
8 bits. These small codecs keep every bit: PNG is decoded by torchvision and encoded here
(zlib, no filter); TIFF is written uncompressed and read back when uncompressed (compressed
16-bit TIFFs are declined with a clear message rather than silently truncated).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type


def png_bit_depth(path: Path) -> int | None:
    """The bit depth in a PNG's header, or None when the file is not a PNG."""
    with open(path, "rb") as handle:
        head = handle.read(26)
    if len(head) < 26 or not head.startswith(_PNG_SIGNATURE):
        return None
    return head[24]


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


# TIFF tag numbers used below (TIFF 6.0 specification).
_WIDTH, _LENGTH, _BITS, _COMPRESSION, _PHOTOMETRIC = 256, 257, 258, 259, 262
_STRIP_OFFSETS, _SAMPLES, _ROWS_PER_STRIP, _STRIP_BYTES, _PLANAR = 273, 277, 278, 279, 284
_EXTRA_SAMPLES, _SAMPLE_FORMAT = 338, 339
_SHORT, _LONG = 3, 4
_TYPE_SIZES = {1: 1, 3: 2, 4: 4}


def tiff_bits_per_sample(path: Path) -> int | None:
    """The first IFD's bits per sample, or None when the file is not a TIFF we can parse."""
    try:
        tags, _order, _data = _read_tiff_tags(path)
    except (ValueError, struct.error):
        return None
    bits = tags.get(_BITS, [8])
    return int(bits[0])


def _read_tiff_tags(path: Path) -> tuple[dict[int, list[int]], str, bytes]:
    data = Path(path).read_bytes()
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack(order + "H", data[2:4])[0] != 42:
        raise ValueError("not a TIFF file")
    (ifd,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    tags: dict[int, list[int]] = {}
    for entry in range(count):
        start = ifd + 2 + 12 * entry
        tag, kind, n = struct.unpack(order + "HHI", data[start : start + 8])
        if kind not in _TYPE_SIZES:
            continue
        size = _TYPE_SIZES[kind] * n
        where = start + 8
        if size > 4:
            (where,) = struct.unpack(order + "I", data[start + 8 : start + 12])
        code = {1: "B", 3: "H", 4: "I"}[kind]
        tags[tag] = list(struct.unpack(order + code * n, data[where : where + size]))
    return tags, order, data


def read_tiff16(path: Path) -> np.ndarray:
    """An uncompressed, interleaved 16-bit TIFF as a uint16 array (H, W, C)."""
    tags, order, data = _read_tiff_tags(path)
    if tags.get(_COMPRESSION, [1])[0] != 1 or tags.get(_PLANAR, [1])[0] != 1:
        raise ValueError(
            "compressed or planar 16-bit TIFF files are not supported; save it uncompressed, "
            "as 16-bit PNG, or as .npy"
        )
    width, height = tags[_WIDTH][0], tags[_LENGTH][0]
    channels = tags.get(_SAMPLES, [1])[0]
    pixels = bytearray()
    for offset, length in zip(tags[_STRIP_OFFSETS], tags[_STRIP_BYTES]):
        pixels += data[offset : offset + length]
    array = np.frombuffer(bytes(pixels), dtype=order + "u2", count=height * width * channels)
    return array.reshape(height, width, channels).astype(np.uint16)


def write_tiff16(path: Path, array: np.ndarray) -> None:
    """Write a uint16 array (H, W, C) with C in 1..4 as an uncompressed 16-bit TIFF."""
    height, width, channels = array.shape
    pixels = array.astype("<u2").tobytes()
    has_alpha = channels in (2, 4)
    entries: list[tuple[int, int, list[int]]] = [
        (_WIDTH, _LONG, [width]),
        (_LENGTH, _LONG, [height]),
        (_BITS, _SHORT, [16] * channels),
        (_COMPRESSION, _SHORT, [1]),
        (_PHOTOMETRIC, _SHORT, [2 if channels >= 3 else 1]),
        (_STRIP_OFFSETS, _LONG, [0]),  # patched below, once the layout is known
        (_SAMPLES, _SHORT, [channels]),
        (_ROWS_PER_STRIP, _LONG, [height]),
        (_STRIP_BYTES, _LONG, [len(pixels)]),
        (_PLANAR, _SHORT, [1]),
    ]
    if has_alpha:
        entries.append((_EXTRA_SAMPLES, _SHORT, [2]))  # unassociated alpha
    entries.append((_SAMPLE_FORMAT, _SHORT, [1] * channels))
    ifd_offset = 8
    extra_offset = ifd_offset + 2 + 12 * len(entries) + 4
    extra = bytearray()
    table = bytearray(struct.pack("<H", len(entries)))
    for tag, kind, values in entries:
        code = "H" if kind == _SHORT else "I"
        packed = struct.pack("<" + code * len(values), *values)
        if len(packed) <= 4:
            table += struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\0")
        else:
            table += struct.pack("<HHII", tag, kind, len(values), extra_offset + len(extra))
            extra += packed
    table += struct.pack("<I", 0)
    pixel_offset = extra_offset + len(extra)
    strip_entry = 2 + 12 * [e[0] for e in entries].index(_STRIP_OFFSETS)
    table[strip_entry + 8 : strip_entry + 12] = struct.pack("<I", pixel_offset)
    with open(path, "wb") as handle:
        handle.write(b"II" + struct.pack("<HI", 42, ifd_offset))
        handle.write(bytes(table))
        handle.write(bytes(extra))
        handle.write(pixels)
