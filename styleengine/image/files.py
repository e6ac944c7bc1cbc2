"""Reading and writing images: PNG, JPEG and TIFF (8- and 16-bit) and ``.npy`` float arrays.

Inside the engine an image is an ``ImageData``: float32 RGB in [0, 1], an optional alpha,
and what is needed to give it back in the form it came in (grey or colour, bit depth).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..atomic import new_file_mode, whole_file
from ..errors import BadInputError, EngineError, WriteFailedError, system_reason
from ..system import owned_by_me, process_alive
from . import deep_formats

NPY_SUFFIX = ".npy"
PNG_SUFFIXES = (".png",)
TIFF_SUFFIXES = (".tif", ".tiff")
JPEG_SUFFIXES = (".jpg", ".jpeg")
WRITABLE_SUFFIXES = (NPY_SUFFIX, *PNG_SUFFIXES, *TIFF_SUFFIXES, *JPEG_SUFFIXES)
PARTIAL_PREFIX = ".partial-"
# No image with more pixels is decoded, whatever its file size: a few hundred KB of PNG or
# TIFF can declare 30000x30000 pixels and ask for gigabytes. 40 MP is above the largest
# camera photos the engine is measured on (24 MP, BENCHMARKS.md) and the 36 MP of a
# full-frame camera.
MAX_INPUT_PIXELS = 40_000_000
# Luma weights (ITU-R BT.601) for turning a colour result back into grey.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass
class ImageData:
    """An image as the engine works on it."""

    rgb: np.ndarray  # (H, W, 3) float32 in [0, 1]
    alpha: np.ndarray | None = None  # (H, W) float32 in [0, 1]
    grayscale: bool = False
    bit_depth: int = 8  # 8, 16, or 32 for float data

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    def channels(self) -> np.ndarray:
        """The pixels in the image's own form: (H, W, C), C = 1 to 4, float32 in [0, 1]."""
        base = (self.rgb @ _LUMA)[..., None] if self.grayscale else self.rgb
        if self.alpha is not None:
            base = np.concatenate([base, self.alpha[..., None]], axis=-1)
        return np.clip(base, 0.0, 1.0).astype(np.float32)


def from_array(array: np.ndarray, name: str = "array") -> ImageData:
    """An ImageData from (H, W) or (H, W, C) pixels: float in [0, 1], uint8 or uint16."""
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise BadInputError(
            f"{name}: expected pixels shaped (height, width) or (height, width, 1-4 channels), "
            f"got {array.shape}."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise BadInputError(f"{name}: the image is empty ({array.shape[1]}x{array.shape[0]}).")
    if array.dtype == np.uint8:
        values, depth = array.astype(np.float32) / 255.0, 8
    elif array.dtype == np.uint16:
        values, depth = array.astype(np.float32) / 65535.0, 16
    elif np.issubdtype(array.dtype, np.floating):
        values, depth = array.astype(np.float32), 32
        if not np.isfinite(values).all():
            raise BadInputError(f"{name}: the pixel values contain NaN or infinity.")
        values = np.clip(values, 0.0, 1.0)
    else:
        raise BadInputError(f"{name}: unsupported pixel type {array.dtype}.")
    channels = values.shape[2]
    grayscale = channels <= 2
    colour = values[..., :1].repeat(3, axis=2) if grayscale else values[..., :3]
    alpha = values[..., -1] if channels in (2, 4) else None
    return ImageData(np.ascontiguousarray(colour), alpha, grayscale, depth)


def from_pil(image: Image.Image, name: str = "image") -> ImageData:
    """An ImageData from a Pillow image of any mode."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return from_array(np.asarray(image).astype(np.uint16), name)
    if mode == "I":
        return from_array(np.clip(np.asarray(image), 0, 65535).astype(np.uint16), name)
    if mode == "F":
        return from_array(np.asarray(image, dtype=np.float32), name)
    if mode in ("L", "LA", "RGB", "RGBA"):
        return from_array(np.asarray(image), name)
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return from_array(np.asarray(image.convert("RGBA" if has_alpha else "RGB")), name)


def read_image(path: str | os.PathLike[str]) -> ImageData:
    """Read an image file; any failure becomes a BadInputError naming the file."""
    path = Path(path)
    _check_readable_file(path)
    try:
        if path.suffix.lower() == NPY_SUFFIX:
            _check_pixels(path, *deep_formats.npy_size(path))
            return from_array(np.load(path, allow_pickle=False), str(path))
        if deep_formats.png_bit_depth(path) == 16:
            _check_pixels(path, *deep_formats.png_size(path))
            return from_array(deep_formats.read_png16(path), str(path))
        if deep_formats.is_tiff(path):
            _check_pixels(path, *deep_formats.tiff_size(path))
            return from_array(deep_formats.read_tiff(path), str(path))
        with Image.open(path) as image:
            _check_pixels(path, *image.size)
            image.load()
            # A phone's JPEG stores its pixels sideways with an EXIF orientation to apply.
            return from_pil(ImageOps.exif_transpose(image), str(path))
    except BadInputError:
        raise
    except Image.DecompressionBombError:
        raise BadInputError(_too_many_pixels(path)) from None
    except MemoryError:
        raise BadInputError(
            f"{path}: there is not enough memory to read this image; close other programs or "
            "scale the image down."
        ) from None
    except OSError as error:
        if error.errno is not None:  # the system's no (permissions, I/O), not the format
            raise BadInputError(f"{path}: cannot be read ({error.strerror}).") from None
        raise BadInputError(f"{path}: not a readable image ({error}).") from error
    except (UnidentifiedImageError, ValueError, RuntimeError, SyntaxError) as error:
        raise BadInputError(f"{path}: not a readable image ({error}).") from error


def _check_readable_file(path: Path) -> None:
    """A path that names a regular file, or one line that says what it names instead, in
    the system's own words where the system refused (a link loop, a permission, a file
    where a folder was expected)."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise BadInputError(f"{path}: {system_reason(error)}; check the path.") from None
    if stat.S_ISDIR(mode):
        raise BadInputError(f"{path}: is a folder, not an image file.")
    if not stat.S_ISREG(mode):
        raise BadInputError(
            f"{path}: is not a regular file (a device, a pipe or a socket); save the image "
            "to a file first."
        )


def resolved(path: Path) -> Path:
    """``path`` with its links followed, or one line naming it (a link loop raises
    RuntimeError before Python 3.13, OSError after)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as error:
        reason = system_reason(error) if isinstance(error, OSError) else "its links form a loop"
        raise BadInputError(f"{path}: {reason}; check the path.") from None


def _too_many_pixels(path: Path, width: int | None = None, height: int | None = None) -> str:
    size = f" is {width}x{height} pixels," if width and height else ""
    return (
        f"{path}{size} more than the {MAX_INPUT_PIXELS // 1_000_000} megapixels the engine "
        "reads; scale it down first."
    )


def _check_pixels(path: Path, width: int, height: int) -> None:
    """The gate before any decoding: the size the file declares, from its header."""
    if width * height > MAX_INPUT_PIXELS:
        raise BadInputError(_too_many_pixels(path, width, height))


def check_output_path(
    path: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str]] = ()
) -> Path:
    """Fail early, before any work, when the output cannot be written, or would be written
    over one of the ``inputs``: the engine never replaces a file it reads (a user's only copy
    of a photo, with its EXIF)."""
    path = Path(path)
    for source in inputs:
        if _same_file(path, Path(source)):
            raise BadInputError(
                f"{path}: is one of the input images; give the result another file name "
                "(the engine never writes over an input)."
            )
    if path.suffix.lower() not in WRITABLE_SUFFIXES:
        raise BadInputError(
            f"{path}: unknown output format; use one of {', '.join(WRITABLE_SUFFIXES)}."
        )
    folder = resolved(path.parent)
    if not folder.is_dir():
        raise BadInputError(f"{path}: the folder {path.parent} does not exist.")
    if path.is_dir():
        raise BadInputError(f"{path}: is a folder; give a file name for the result.")
    if os.path.lexists(path) and not path.is_file():
        # The result replaces what is there: never a pipe, a device or a socket.
        raise BadInputError(
            f"{path}: is not a regular file (a pipe, a device, a socket or a broken link); "
            "give the result another file name."
        )
    _remove_stale_partials(folder)
    # Trying is the only reliable test (permissions, read-only mounts, ACLs): before the
    # work, not after it.
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=_partial_prefix())
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise BadInputError(
            f"{path}: the folder {path.parent} cannot be written ({error.strerror}); "
            "choose another place for the result."
        ) from None
    return path


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.resolve() == second.resolve() or (
            first.exists() and second.exists() and os.path.samefile(first, second)
        )
    except (OSError, RuntimeError):  # a path that cannot be followed is refused later
        return False


def _partial_prefix() -> str:
    """Partial files carry the process's id: a run that was killed leaves one behind, and
    the next run in that folder knows it for its own (see _remove_stale_partials)."""
    return f"{PARTIAL_PREFIX}{os.getpid()}-"


def _remove_stale_partials(folder: Path) -> None:
    """Remove the partial files of engine runs that were killed before they could: regular
    files of this user named by _partial_prefix for a process that no longer exists.
    Nothing else is touched, and a failure to look or to remove is no reason to stop."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        owner = entry.name[len(PARTIAL_PREFIX) :].partition("-")[0]
        if not (entry.name.startswith(PARTIAL_PREFIX) and owner.isdigit()):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or not owned_by_me(info):
                continue
            if process_alive(int(owner)):
                continue
            os.unlink(entry.path)
        except OSError:
            continue


def write_image(path: str | os.PathLike[str], image: ImageData) -> None:
    """Write by extension; the file appears whole or not at all (temporary file + rename)."""
    path = check_output_path(path)
    _check_result(path, image)
    # Lower case: writers that look at the name (np.save adds ".npy" to any other) must see
    # the format the engine chose, whatever the case the user typed.
    suffix = path.suffix.lower()
    try:
        with whole_file(path, prefix=_partial_prefix(), suffix=suffix) as temporary:
            # The temporary file is private (0600); a result gets what any new file gets.
            os.chmod(temporary, new_file_mode())
            _write_by_suffix(temporary, suffix, image)
            if os.path.getsize(temporary) == 0:
                raise EngineError(
                    f"{path}: the writer produced an empty file; nothing was written."
                )
    except OSError as error:
        raise WriteFailedError(
            f"{path}: the result could not be written ({error.strerror or error}); "
            "free some disk space or choose another place."
        ) from None


def _check_result(path: Path, image: ImageData) -> None:
    """A result is whole before it replaces anything: every value finite (else it is the
    engine's own failure, never the user's: an internal error, and nothing written)."""
    for name, values in (("colour", image.rgb), ("alpha", image.alpha)):
        if values is not None and not np.isfinite(values).all():
            raise EngineError(
                f"{path}: the result's {name} holds NaN or infinity; nothing was written. "
                "This is a bug: please report it."
            )


def _write_by_suffix(path: Path, suffix: str, image: ImageData) -> None:
    # In range before the integer conversion, where 1.01 would wrap around to 2.
    pixels = np.clip(image.channels(), 0.0, 1.0)
    if suffix == NPY_SUFFIX:
        np.save(path, pixels)
        return
    deep = image.bit_depth > 8 and suffix not in JPEG_SUFFIXES
    values = (
        np.round(pixels * 65535.0).astype(np.uint16)
        if deep
        else np.round(pixels * 255.0).astype(np.uint8)
    )
    if suffix in TIFF_SUFFIXES:
        deep_formats.write_tiff(path, values)
        return
    if deep:
        deep_formats.write_png16(path, values)
        return
    if suffix in JPEG_SUFFIXES and values.shape[2] in (2, 4):
        values = values[..., :-1]  # JPEG has no alpha
    picture = Image.fromarray(values[..., 0] if values.shape[2] == 1 else values)
    format_name = "PNG" if suffix in PNG_SUFFIXES else "JPEG"
    options = {"quality": 95} if format_name == "JPEG" else {}
    picture.save(path, format=format_name, **options)
