""".npy files of float32 pixels (H, W, C), written and read with the standard library: how
pixels travel between GIMP's Python (no numpy) and the engine."""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

_NPY_MAGIC = b"\x93NUMPY"


def write_npy(path: Path, height: int, width: int, channels: int, data: bytes) -> None:
    """Write little-endian float32 pixels in the .npy format (version 1.0)."""
    if len(data) != height * width * channels * 4:
        raise ValueError("pixel data does not match the shape")
    if sys.byteorder != "little":
        data = _swap_float32(data)
    header = (
        f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({height}, {width}, {channels}), }}"
    )
    # The header is padded with spaces so that the data starts at a multiple of 64 bytes.
    total = len(_NPY_MAGIC) + 2 + 2 + len(header) + 1
    header += " " * (-total % 64) + "\n"
    with open(path, "wb") as handle:
        handle.write(_NPY_MAGIC + bytes([1, 0]) + struct.pack("<H", len(header)))
        handle.write(header.encode("latin1"))
        handle.write(data)


def read_npy(path: Path) -> tuple[tuple[int, ...], bytes]:
    """Read a float32 .npy file; returns its shape and its pixels as native float32 bytes."""
    with open(path, "rb") as handle:
        if handle.read(6) != _NPY_MAGIC:
            raise ValueError(f"{path} is not a .npy file")
        major = handle.read(2)[0]
        size_format = "<H" if major == 1 else "<I"
        (header_size,) = struct.unpack(size_format, handle.read(struct.calcsize(size_format)))
        header = ast.literal_eval(handle.read(header_size).decode("latin1"))
        data = handle.read()
    if header.get("fortran_order") or header.get("descr") not in ("<f4", ">f4"):
        raise ValueError(f"{path}: expected C-ordered float32 pixels, got {header}")
    shape = tuple(int(n) for n in header["shape"])
    expected = 4
    for n in shape:
        expected *= n
    if len(data) != expected:
        raise ValueError(f"{path}: {len(data)} bytes of pixels for the shape {shape}")
    if (header["descr"] == "<f4") != (sys.byteorder == "little"):
        data = _swap_float32(data)
    return shape, data


def _swap_float32(data: bytes) -> bytes:
    swapped = bytearray(data)
    for offset in range(4):
        swapped[offset::4] = data[3 - offset :: 4]
    return bytes(swapped)
