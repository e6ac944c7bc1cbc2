"""Timings of this machine, measured once and remembered per user.

The engine takes a few decisions from timings: from the device's speed, the automatic
working size and the detail pass's iterations. A timing differs from run to run, so a
decision taken afresh each run could differ too, and the same photo, settings and seed
would then give another picture. Each
timing is therefore measured the first time it is needed and kept in a small file in the
user's own cache folder; every later run on the same machine (same device, PyTorch and
thread count) takes the same decisions and paints the same picture, bit for bit.

The file is only a cache: one that is missing, damaged, not a plain file, or not the user's
own is measured again and replaced, never trusted.
"""

from __future__ import annotations

import json
import math
import os
import platform
import stat
from collections.abc import Callable
from pathlib import Path

import torch

from ..atomic import whole_file
from ..model.weights import cache_dir
from ..system import open_for_reading_untrusted, owned_by_me

PROFILE_FILE = "machine_profile.json"
# Far more than the few entries a machine has; a larger file is not ours.
MAX_PROFILE_BYTES = 64 * 1024


def machine_key(*parts: str) -> str:
    """A key for one timing on this machine: what is measured plus what the timing
    depends on (the processor, PyTorch's version and its thread count)."""
    where = f"{platform.machine()} {platform.processor()}".strip()
    return "|".join((*parts, where, f"torch {torch.__version__}",
                     f"{torch.get_num_threads()} threads"))  # fmt: skip


def profile_path() -> Path:
    return cache_dir() / PROFILE_FILE


def forget_profile() -> None:
    """Measure everything anew from the next run on (a new CPU in the same machine, say).
    Only a plain file is removed; the profile is this engine's own file."""
    path = profile_path()
    if path.is_file() and not path.is_symlink():
        path.unlink()


def remembered(key: str, measure: Callable[[], list[float]]) -> list[float]:
    """The numbers stored under ``key``, or ``measure()``'s, stored for the next run."""
    profile = _read(profile_path())
    stored = profile.get(key)
    if _valid(stored):
        return [float(v) for v in stored]
    values = [float(v) for v in measure()]
    if _valid(values):
        profile[key] = values
        _write(profile_path(), profile)
    return values


def _valid(values: object) -> bool:
    return (
        isinstance(values, list)
        and bool(values)
        and all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in values)
    )


def _read(path: Path) -> dict:
    try:
        # Not through a link, and a plain-file check: a FIFO or a device is never read.
        descriptor = open_for_reading_untrusted(path)
    except OSError:
        return {}
    try:
        info = os.fstat(descriptor)
        too_large = info.st_size > MAX_PROFILE_BYTES
        if not stat.S_ISREG(info.st_mode) or not owned_by_me(info) or too_large:
            return {}
        data = json.loads(os.read(descriptor, MAX_PROFILE_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    finally:
        os.close(descriptor)
    return data if isinstance(data, dict) else {}


def _write(path: Path, profile: dict) -> None:
    """Atomically, in a folder only the user can enter; a failure only costs a new
    measurement next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with whole_file(path) as temporary:
            temporary.write_text(json.dumps(profile), encoding="utf-8")
    except OSError:
        pass
