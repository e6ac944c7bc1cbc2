"""Proof that an installation works: the engine's self-check and the sample picture."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .common import (
    run,
    say,
)


def self_check(python: Path, weights: str) -> str:
    output = run([python, "-m", "styleengine", "doctor", "--weights", weights])
    device = next((line for line in output.splitlines() if line.startswith("device:")), "")
    return device.split(":", 1)[-1].strip()


def sample_dir(venv: Path) -> Path:
    """Inside the environment this installer made, so that removing it removes the sample
    and nothing beside it (--venv may name a folder in the user's home)."""
    return venv / "sample"


def run_sample(python: Path, venv: Path, weights: str) -> Path:
    folder = sample_dir(venv)
    folder.mkdir(parents=True, exist_ok=True)
    result = folder / "sample_result.png"
    say("Stylizing the built-in sample pair")
    command = [python, "-m", "styleengine", "demo", "-o", folder, "--weights", weights]
    subprocess.run([str(c) for c in command], check=True, stdout=subprocess.DEVNULL)
    return result
