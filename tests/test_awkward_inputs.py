"""The catalogue of awkward but ordinary inputs, driven through the real command line.

Each case says what a user or a script does and what they must get: the exit code, a
message that says what to do, no traceback, and none of their files changed or lost. The
plug-in's own cases run in the real GIMP (test_gimp_plugin.py); the installer's in
test_install.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import make_content, make_style
from PIL import Image

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
    from styleengine.images import read_image

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
         "Stroke size (style_scale, --style-scale) must be a finite number above 0"),
    Case("negative style-layer weight", _setting("--style-layers", "relu1_1:-1,relu2_1"),
         ErrorKind.BAD_INPUT, "relu1_1 has -1"),
    Case("LZW-compressed tiled 16-bit TIFF", _compressed_tiff, None, check=_deep_tiff_out),
    Case("phone JPEG with EXIF orientation", _phone_jpeg, None, check=_result_shape(64, 40)),
    Case("output folder missing", _missing_folder, ErrorKind.BAD_INPUT, "does not exist"),
]  # fmt: skip


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


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
    before = _snapshot(tmp_path)
    done = _run(arguments, engine_env, case.stdin_closed)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert "Traceback" not in done.stderr, done.stderr
    last = events[-1]
    if case.exit_kind is None:
        assert done.returncode == 0, done.stdout + done.stderr
        assert last["event"] == "done"
        if case.check:
            case.check(tmp_path)
    else:
        assert done.returncode == case.exit_kind.exit_code, done.stdout + done.stderr
        assert last["event"] == "error" and last["kind"] == case.exit_kind.value
        assert case.message in last["message"], last["message"]
        # refused before any work: not one iteration was made
        assert not any(e["event"] == "progress" for e in events)
    after = _snapshot(tmp_path)
    for name, digest in before.items():  # none of the user's files changed or lost
        assert after.get(name) == digest, f"{name} was changed or removed"
    leftovers = [n for n in after if Path(n).name.startswith(".partial-")]
    assert leftovers == []


# ------------------------------------------------------------------------------------------
# Write failures, on real read-only and full file systems (a private mount namespace: root)


def _mount_and_run(mount: str, folder: Path, arguments: list[str], engine_env: dict):
    """Run the CLI with ``folder`` replaced by ``mount`` (tmpfs options) in a private mount
    namespace that disappears with the process."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
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
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == kind.exit_code, done.stdout + done.stderr
    assert events[-1]["kind"] == kind.value and message in events[-1]["message"]
    assert "Traceback" not in done.stderr
    if kind == ErrorKind.BAD_INPUT:  # known before any work
        assert not any(e["event"] == "progress" for e in events)
