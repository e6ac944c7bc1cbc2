"""The catalogue of awkward but ordinary inputs, driven through the real command line.

Each case says what a user or a script does and what they must get: the exit code, a
message that says what to do, no traceback, and none of their files changed or lost. The
plug-in's own cases run in the real GIMP (test_gimp_plugin.py); the installer's in
test_install.py.

The cases are instances of families; the fuzzer (test_cli_fuzz.py) draws each family's
forms, in combination, so that a form no case names is tried too:
- paths the system says no to, as the photo, a painting or the result: missing, a folder, a
  link loop or a link to itself, a dangling link, a link to a folder, a named pipe, a path
  under a file, a name longer than the system allows, an empty argument (one line in the
  system's own words, through one boundary: errors.from_os_error);
- files that are not images: empty, text named .png, an unknown or missing suffix;
- results: a suffix in any case (.NPY, .Png, .JPEG, .TIFF), over an earlier result, over an
  input by another path or a hard link, a folder, a pipe (written whole under a temporary
  name with the format's own suffix, checked finite, never over something not a file; a
  killed run's partial file removed by the next run in that folder);
- option values: not a number, NaN, infinities, beyond float32 or the machine's integers,
  negative, empty lists, unknown layers, counts that would loop for ever (--scales);
- environments: HOME unset or missing, TMPDIR missing or a file, the cache folders files or
  link loops (cli_worker.py runs the fuzzer's cases with them);
- the progress protocol: a reader that stops reading or goes away (test_cli.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import folder_snapshot, make_content, make_fifo, make_style, runs_as_root
from PIL import Image

from styleengine import contract
from styleengine.errors import ErrorKind

FAST = ("--iterations", "3", "--weights", "hed", "--device", "cpu", "--progress", "json")


@dataclass
class Case:
    """``prepare(folder)`` makes the files and returns the arguments after ``stylize``."""

    name: str
    prepare: Callable[[Path], list[str]]
    exit_kind: ErrorKind | None  # None: success
    message: str = ""  # a fragment of the error event's message
    stdin_closed: bool = False
    check: Callable[[Path], None] | None = None
    extra: dict = field(default_factory=dict)


def _png(folder: Path, name: str, height: int, width: int, style: bool = False) -> Path:
    pixels = make_style(height, width) if style else make_content(height, width)
    path = folder / name
    Image.fromarray((pixels * 255).astype(np.uint8)).save(path)
    return path


def _pair(folder: Path, height: int = 48, width: int = 64) -> list[str]:
    content = _png(folder, "content.png", height, width)
    style = _png(folder, "style.png", 40, 40, style=True)
    return [str(content), str(style)]


def _strip(height: int, width: int) -> Callable[[Path], list[str]]:
    def prepare(folder: Path) -> list[str]:
        return [*_pair(folder, height, width), "-o", str(folder / "out.png")]

    return prepare


def _result_shape(height: int, width: int) -> Callable[[Path], None]:
    def check(folder: Path) -> None:
        with Image.open(folder / "out.png") as result:
            assert result.size == (width, height)

    return check


def _setting(*options: str) -> Callable[[Path], list[str]]:
    def prepare(folder: Path) -> list[str]:
        return [*_pair(folder), "-o", str(folder / "out.png"), *options]

    return prepare


def _preview_is_users_file(folder: Path) -> list[str]:
    (folder / "notes.png").write_bytes(b"the user's own file")
    return [*_pair(folder), "-o", str(folder / "out.png"), "--preview-every", "1",
            "--preview", str(folder / "preview.png")]  # fmt: skip


def _preview_kept(folder: Path) -> None:
    assert (folder / "preview.png").is_file() and (folder / "out.png").is_file()


def _preview_equals_output(folder: Path) -> list[str]:
    (folder / "out.png").write_bytes(b"an earlier result the user keeps")
    return [*_pair(folder), "-o", str(folder / "out.png"), "--preview-every", "1",
            "--preview", str(folder / "out.png")]  # fmt: skip


def _compressed_tiff(folder: Path) -> list[str]:
    import tifffile

    deep = (make_content(48, 64) * 65535).astype(np.uint16)
    tifffile.imwrite(folder / "scan.tif", deep, photometric="rgb", compression="lzw",
                     tile=(16, 16))  # fmt: skip
    style = _png(folder, "style.png", 40, 40, style=True)
    return [str(folder / "scan.tif"), str(style), "-o", str(folder / "out.tif")]


def _deep_tiff_out(folder: Path) -> None:
    from styleengine.image.files import read_image

    result = read_image(folder / "out.tif")
    assert result.bit_depth == 16 and result.rgb.shape == (48, 64, 3)


def _phone_jpeg(folder: Path) -> list[str]:
    upright = (make_content(64, 40) * 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; shown after a quarter turn
    Image.fromarray(np.rot90(upright).copy()).save(folder / "phone.jpg", exif=exif)
    style = _png(folder, "style.png", 40, 40, style=True)
    return [str(folder / "phone.jpg"), str(style), "-o", str(folder / "out.png")]


def _missing_folder(folder: Path) -> list[str]:
    return [*_pair(folder), "-o", str(folder / "no" / "such" / "out.png")]


def _output_is(which: str, via_link: bool = False) -> Callable[[Path], list[str]]:
    """-o naming an input itself, or a link to it."""

    def prepare(folder: Path) -> list[str]:
        content, style = _pair(folder)
        target = Path(content if which == "content" else style)
        if via_link:
            (folder / "link.png").symlink_to(target)
            target = folder / "link.png"
        return [content, style, "-o", str(target)]

    return prepare


def _preview_is_style(folder: Path) -> list[str]:
    content, style = _pair(folder)
    return [content, style, "-o", str(folder / "out.png"), "--preview-every", "1",
            "--preview", style]  # fmt: skip


def _png_header_only(folder: Path, width: int, height: int, depth: int) -> Path:
    """A PNG whose header declares width x height but whose data is a few rows: a few
    hundred bytes that would ask for gigabytes if decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + width * 3 * depth // 8) * 4)
    path = folder / f"bomb{depth}.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
                     + chunk(b"IEND", b""))  # fmt: skip
    return path


def _bomb(kind: str) -> Callable[[Path], list[str]]:
    def prepare(folder: Path) -> list[str]:
        content, style = _pair(folder)
        if kind == "png16":
            bomb = _png_header_only(folder, 8000, 8000, 16)
        elif kind == "png8":
            bomb = _png_header_only(folder, 30000, 30000, 8)
        elif kind == "npy":
            bomb = folder / "bomb.npy"
            with open(bomb, "wb") as handle:
                header = {"descr": "<f4", "fortran_order": False, "shape": (20000, 20000, 3)}
                np.lib.format.write_array_header_1_0(handle, header)
        else:
            bomb = _tiff_declaring(folder, 40000, 40000)
        if kind == "style":
            return [content, str(bomb), "-o", str(folder / "out.png")]
        return [str(bomb), style, "-o", str(folder / "out.png")]

    return prepare


def _mask(folder: Path, height: int, width: int, value: float = 1.0) -> Path:
    path = folder / f"mask_{height}x{width}_{value:g}.png"
    Image.fromarray(np.full((height, width), round(value * 255), np.uint8)).save(path)
    return path


def _region(kind: str) -> Callable[[Path], list[str]]:
    """Painting by regions with a mask a user may well give: -o naming the mask, a mask that
    declares a huge image, one made for another picture, a strength map all black."""

    def prepare(folder: Path) -> list[str]:
        content, style = _pair(folder)
        output = str(folder / "out.png")
        if kind == "output":
            mask = _mask(folder, 48, 64)
            return [content, style, "-o", str(mask), "--style-region", f"1={mask}"]
        if kind == "bomb":
            return [content, style, "-o", output,
                    "--style-region", f"1={_png_header_only(folder, 30000, 30000, 8)}"]  # fmt: skip
        if kind == "aspect":
            return [content, style, "-o", output, "--style-region", f"1={_mask(folder, 64, 64)}"]
        return [content, style, "-o", output, "--strength-map", str(_mask(folder, 48, 64, 0.0))]

    return prepare


def _photo_kept(folder: Path) -> None:
    with Image.open(folder / "out.png") as result, Image.open(folder / "content.png") as photo:
        difference = np.abs(np.asarray(result, np.float32) - np.asarray(photo, np.float32))
    assert difference.max() <= 1, difference.max()  # strength 0 everywhere: the photo


def _tiff_declaring(folder: Path, width: int, height: int) -> Path:
    """A small tiled TIFF whose tags are then made to declare width x height."""
    import struct

    import tifffile

    path = folder / "bomb.tif"
    tifffile.imwrite(path, np.zeros((16, 16), np.uint8), tile=(16, 16))
    with tifffile.TiffFile(path) as tiff:
        tags = tiff.pages[0].tags
        places = [(tags[name].valueoffset, tags[name].dtype)
                  for name in ("ImageWidth", "ImageLength")]  # fmt: skip
    with open(path, "r+b") as handle:
        for (offset, dtype), value in zip(places, (width, height)):
            handle.seek(offset)
            handle.write(struct.pack("<H" if dtype == 3 else "<I", value))
    return path


def _transparent_style(folder: Path) -> list[str]:
    content = _png(folder, "content.png", 48, 64)
    clear = np.zeros((40, 40, 4), np.uint8)
    clear[..., :3] = 200
    Image.fromarray(clear, "RGBA").save(folder / "clear.png")
    return [str(content), str(folder / "clear.png"), "-o", str(folder / "out.png")]


def _photo_is(kind: str) -> Callable[[Path], list[str]]:
    """The photo (or the painting) named by a path the system says no to, in one form."""

    def prepare(folder: Path) -> list[str]:
        content, style = _pair(folder)
        if kind == "link loop":
            (folder / "a.png").symlink_to("b.png")
            (folder / "b.png").symlink_to("a.png")
            content = str(folder / "a.png")
        elif kind == "painting folder":
            (folder / "paintings").mkdir()
            style = str(folder / "paintings")
        elif kind == "painting pipe":
            make_fifo(folder / "painting.png")
            style = str(folder / "painting.png")
        return [content, style, "-o", str(folder / "out.png")]

    return prepare


def _output_named(name: str, make: Callable[[Path], None] | None = None):
    def prepare(folder: Path) -> list[str]:
        if make:
            make(folder / name)
        return [*_pair(folder), "-o", str(folder / name)]

    return prepare


def _whole_npy(name: str) -> Callable[[Path], None]:
    def check(folder: Path) -> None:
        pixels = np.load(folder / name)
        assert pixels.shape == (48, 64, 3) and np.isfinite(pixels).all() and pixels.std() > 0.01
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["content.png", "style.png", name]
        )

    return check


CASES = [
    Case("closed stdin (echo | ..., subprocess.run(input=...))", _setting(), None,
         stdin_closed=True),
    *[
        Case(f"{h}x{w} strip with 3 scales", _strip(h, w), None, check=_result_shape(h, w))
        for h, w in ((50, 1000), (10, 300), (1, 400), (400, 1), (3, 2000), (1, 1))
    ],
    Case("preview next to the user's files", _preview_is_users_file, None,
         check=_preview_kept),
    Case("preview path equal to the output", _preview_equals_output, ErrorKind.BAD_INPUT,
         "another file than the result"),
    Case("no content layers", _setting("--content-layers", ""), ErrorKind.BAD_INPUT,
         "Content layers (content_layers, --content-layers) needs at least one layer"),
    Case("style blend nan", _setting("--style-blend", "nan"), ErrorKind.BAD_INPUT,
         "Style blend"),
    Case("stroke size inf", _setting("--style-scale", "inf"), ErrorKind.BAD_INPUT,
         "Stroke size must be from 0.1 to 4, not inf"),
    Case("negative style-layer weight", _setting("--style-layers", "relu1_1:-1,relu2_1"),
         ErrorKind.BAD_INPUT, "the weight of relu1_1 must be from 0 to 1e+06, not -1"),
    Case("LZW-compressed tiled 16-bit TIFF", _compressed_tiff, None, check=_deep_tiff_out),
    Case("phone JPEG with EXIF orientation", _phone_jpeg, None, check=_result_shape(64, 40)),
    Case("output folder missing", _missing_folder, ErrorKind.BAD_INPUT, "does not exist"),
    Case("output equal to the photo", _output_is("content"), ErrorKind.BAD_INPUT,
         "is one of the input images"),
    Case("output equal to the painting", _output_is("style"), ErrorKind.BAD_INPUT,
         "is one of the input images"),
    Case("output a link to the photo", _output_is("content", via_link=True),
         ErrorKind.BAD_INPUT, "is one of the input images"),
    Case("preview equal to the painting", _preview_is_style, ErrorKind.BAD_INPUT,
         "is one of the input images"),
    Case("16-bit PNG declaring 8000x8000", _bomb("png16"), ErrorKind.BAD_INPUT, "megapixels"),
    Case("8-bit PNG declaring 30000x30000", _bomb("png8"), ErrorKind.BAD_INPUT, "megapixels"),
    Case("tiled TIFF declaring 40000x40000", _bomb("tiff"), ErrorKind.BAD_INPUT, "megapixels"),
    Case(".npy declaring 20000x20000", _bomb("npy"), ErrorKind.BAD_INPUT, "megapixels"),
    Case("style PNG declaring 8000x8000", _bomb("style"), ErrorKind.BAD_INPUT, "megapixels"),
    Case("style weight beyond float32", _setting("--style-weight", "1e39"),
         ErrorKind.BAD_INPUT, "Style weight (--style-weight) must be from 0 to 1e+06, not 1e+39"),
    Case("style blend of huge weights", _setting("--style-blend", "1e308,1e308"),
         ErrorKind.BAD_INPUT, "Style blend"),
    Case("TV weight 1e30", _setting("--tv-weight", "1e30"), ErrorKind.BAD_INPUT,
         "Smoothing weight"),
    Case("sliced layer that is not a style layer", _setting("--sliced-layers", "relu4_2"),
         ErrorKind.BAD_INPUT, "Sliced-Wasserstein layers (sliced_layers, --sliced-layers) must be"),
    Case("entirely transparent painting", _transparent_style, ErrorKind.BAD_INPUT,
         "entirely transparent"),
    Case("negative detail iterations", _setting("--detail-iterations", "-1"),
         ErrorKind.BAD_INPUT, "Detail iterations (--detail-iterations)"),
    Case("output equal to a region's mask", _region("output"), ErrorKind.BAD_INPUT,
         "is one of the input images"),
    Case("region mask declaring 30000x30000", _region("bomb"), ErrorKind.BAD_INPUT,
         "megapixels"),
    Case("region mask of another aspect", _region("aspect"), ErrorKind.BAD_INPUT,
         "another shape"),
    Case("strength map all black", _region("black"), None, check=_photo_kept),
    # Issue 33's families; each form here stands for a family the fuzzer draws from
    # (test_cli_fuzz.py).
    Case("photo is a link loop", _photo_is("link loop"), ErrorKind.BAD_INPUT,
         "symbolic links"),
    Case("painting is a folder", _photo_is("painting folder"), ErrorKind.BAD_INPUT,
         "is a folder, not an image file"),
    Case("painting is a named pipe", _photo_is("painting pipe"), ErrorKind.BAD_INPUT,
         "not a regular file"),
    Case("-o result.NPY (suffix in capitals)", _output_named("result.NPY"), None,
         check=_whole_npy("result.NPY")),
    Case("-o a named pipe", _output_named("out.png", make_fifo), ErrorKind.BAD_INPUT,
         "not a regular file"),
    Case("seed below the machine's integers", _setting("--seed", str(-(2**63) - 1)),
         ErrorKind.BAD_INPUT, "Seed must be from 0 to 2147483647, not -9223372036854775809"),
    Case("a million scales", _setting("--scales", "1000000"), None,
         check=_result_shape(48, 64)),
]  # fmt: skip


def _run(arguments: list[str], engine_env: dict, stdin_closed: bool, **options):
    return subprocess.run(
        [sys.executable, "-m", "styleengine", "stylize", *arguments, *FAST],
        capture_output=True,
        text=True,
        env=engine_env,
        timeout=600,
        **({"input": ""} if stdin_closed else {"stdin": subprocess.DEVNULL}),
        **options,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_awkward_input(case, tmp_path, engine_env, hed_weights):
    arguments = case.prepare(tmp_path)
    before = folder_snapshot(tmp_path)
    done = _run(arguments, engine_env, case.stdin_closed)
    events = [contract.read_event(line) for line in done.stdout.splitlines()]
    assert "Traceback" not in done.stderr, done.stderr
    last = events[-1]
    if case.exit_kind is None:
        assert done.returncode == 0, done.stdout + done.stderr
        assert isinstance(last, contract.DoneEvent)
        if case.check:
            case.check(tmp_path)
    else:
        assert done.returncode == case.exit_kind.exit_code, done.stdout + done.stderr
        assert isinstance(last, contract.ErrorEvent) and last.kind == case.exit_kind.value
        assert case.message in last.message, last.message
        # refused before any work: not one iteration was made
        assert not any(isinstance(e, contract.ProgressEvent) for e in events)
    after = folder_snapshot(tmp_path)
    for name, digest in before.items():  # none of the user's files changed or lost
        assert after.get(name) == digest, f"{name} was changed or removed"
    leftovers = [n for n in after if Path(n).name.startswith(".partial-")]
    assert leftovers == []


@pytest.mark.parametrize(
    "closed", ["a reader that stops (| head -n 1)", "stdout and stderr closed"]
)
def test_a_progress_reader_that_goes_away_does_not_lose_the_result(
    tmp_path, engine_env, hed_weights, closed
):
    content, style = _pair(tmp_path)
    command = [sys.executable, "-m", "styleengine", "stylize", content, style, "-o",
               str(tmp_path / "out.png"), *FAST]  # fmt: skip
    if closed.startswith("a reader"):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, env=engine_env)  # fmt: skip
        first = process.stdout.readline()
        process.stdout.close()  # what head does after its line
        stderr = process.stderr.read().decode()
        returncode = process.wait(timeout=600)
        assert isinstance(contract.read_event(first.decode()), contract.StartEvent)
    else:
        done = subprocess.run(
            ["sh", "-c", '"$@" >&- 2>&-', "sh", *command], env=engine_env, timeout=600,
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
        )  # fmt: skip
        returncode, stderr = done.returncode, done.stderr
    assert returncode == 0 and "Traceback" not in stderr, stderr
    with Image.open(tmp_path / "out.png") as result:
        assert result.size == (64, 48)


# ------------------------------------------------------------------------------------------
# Write failures, on real read-only and full file systems (a private mount namespace: root)


def _mount_and_run(mount: str, folder: Path, arguments: list[str], engine_env: dict):
    """Run the CLI with ``folder`` replaced by ``mount`` (tmpfs options) in a private mount
    namespace that disappears with the process."""
    if not runs_as_root() or shutil.which("unshare") is None:
        pytest.fail("needs root and unshare (as the real-GIMP tests): run as CI does")
    command = " ".join(
        [f"mount -t tmpfs -o {mount} tmpfs '{folder}' &&", "exec", sys.executable, "-m",
         "styleengine", "stylize", *[f"'{a}'" for a in arguments], *FAST]
    )  # fmt: skip
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", command],
        capture_output=True,
        text=True,
        env=engine_env,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "mount, kind, message",
    [
        ("ro", ErrorKind.BAD_INPUT, "cannot be written"),
        ("size=4k", ErrorKind.WRITE_FAILED, "could not be written"),
    ],
    ids=["read-only folder", "full disk"],
)
def test_write_failures_are_reported_as_such(tmp_path, engine_env, hed_weights, mount, kind,
                                             message):  # fmt: skip
    inputs = tmp_path / "in"
    inputs.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    arguments = [*_pair(inputs, 96, 128), "-o", str(target / "out.png")]
    done = _mount_and_run(mount, target, arguments, engine_env)
    events = [contract.read_event(line) for line in done.stdout.splitlines()]
    assert done.returncode == kind.exit_code, done.stdout + done.stderr
    assert events[-1].kind == kind.value and message in events[-1].message
    assert "Traceback" not in done.stderr
    if kind == ErrorKind.BAD_INPUT:  # known before any work
        assert not any(isinstance(e, contract.ProgressEvent) for e in events)
