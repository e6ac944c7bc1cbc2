"""The engine's environment: a virtual environment of its own, PyTorch built for this
machine's GPU (or CPU), checked as a working pair with torchvision, and the engine package."""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .common import (
    REPO,
    VENV_MARKER,
    EnvState,
    InstallError,
    python_works,
    run,
    say,
    source_fingerprint,
    venv_python,
)

# Run inside the engine's environment: proves that torch and torchvision are a working pair.
VERIFY_TORCH = """
import numpy, torch, torchvision
from torchvision.models import vgg16
# The engine hands pixels between numpy and torch both ways: a torch built against another
# NumPy (an Intel Mac's last torch, 2.2.2, and NumPy 2) fails here, not in the first run.
assert torch.from_numpy(numpy.arange(6, dtype=numpy.float32)).mul(2).numpy()[5] == 10
boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
with torch.no_grad():
    vgg16(weights=None).features(torch.rand(1, 3, 32, 32))
print(torch.__version__, torchvision.__version__, torch.cuda.is_available())
"""


def ensure_venv(venv: Path) -> bool:
    """A working virtual environment at ``venv``; returns True when it had to be (re)made."""
    python = venv_python(venv)
    if python_works(python, "import venv, pip") and (venv / VENV_MARKER).exists():
        return False
    if venv.exists() and any(venv.iterdir()) and not (venv / VENV_MARKER).exists():
        raise InstallError(
            f"{venv} exists and was not made by this installer; choose another --venv "
            "or remove that folder."
        )
    say(f"Creating the engine's environment in {venv}")
    if venv.exists():
        shutil.rmtree(venv)
    venv.mkdir(parents=True)
    # The marker comes first, so that an interrupted creation is recognized and redone.
    EnvState(venv).set("created", time.time())
    run([sys.executable, "-m", "venv", venv])
    return True


def nvidia_smi_output() -> str | None:
    """What ``nvidia-smi`` prints (its header names the driver's CUDA version), or None."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        done = subprocess.run([smi], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 and "NVIDIA" in done.stdout else None


def driver_cuda_version(smi_output: str) -> tuple[int, int] | None:
    """'CUDA Version: 12.4' in nvidia-smi's header -> (12, 4)."""
    marker = "CUDA Version:"
    if marker not in smi_output:
        return None
    text = smi_output.split(marker, 1)[1].split()[0]
    try:
        major, minor = text.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


# PyTorch's CUDA builds (its index's folder names), newest first; a driver runs builds of
# its own CUDA version and older.
PYTORCH_INDEX = "https://download.pytorch.org/whl"
CUDA_BUILDS = (((12, 8), "cu128"), ((12, 6), "cu126"), ((12, 4), "cu124"), ((11, 8), "cu118"))
# Before pip is given an index, the installer checks that it answers; pip's own retries on
# an unreachable index take minutes.
PROBE_SECONDS = 3.0


@dataclass
class TorchChoice:
    index_url: str | None  # None: the package registry pip is configured with
    reason: str


def choose_torch_build(system: str, smi_output: str | None, override: str | None) -> TorchChoice:
    """Which build of torch fits this machine, and why, in words for the user."""
    if override:
        return TorchChoice(override, f"from {override}, as asked")
    if system == "Darwin":
        return TorchChoice(None, "macOS: the registry's build, which uses the Apple GPU (MPS)")
    if smi_output is not None:
        if system != "Windows":
            return TorchChoice(None, "NVIDIA GPU found: the registry's build, which is CUDA's")
        cuda = driver_cuda_version(smi_output) or (0, 0)
        tag = next((t for version, t in CUDA_BUILDS if version <= cuda), CUDA_BUILDS[-1][1])
        driver = ".".join(map(str, cuda)) if cuda != (0, 0) else "unknown"
        return TorchChoice(
            f"{PYTORCH_INDEX}/{tag}",
            f"NVIDIA GPU with a driver for CUDA {driver}: PyTorch's {tag} build",
        )
    if system == "Linux":
        return TorchChoice(
            f"{PYTORCH_INDEX}/cpu",
            "no NVIDIA GPU: PyTorch's CPU-only build (a fraction of the CUDA build's size)",
        )
    return TorchChoice(None, "no NVIDIA GPU: the registry's build")


def index_reachable(index_url: str, timeout: float = PROBE_SECONDS) -> bool:
    """True when the index answers for torch within ``timeout`` seconds (name lookups
    included: the check runs in a thread that is given up on)."""
    answer: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(index_url.rstrip("/") + "/torch/", timeout=timeout):
                answer.append(True)
        except (OSError, ValueError):
            answer.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(answer and answer[0])


# PyTorch's last build for an Intel Mac is 2.2.2 (x86_64 macOS wheels ended there), built
# against NumPy 1: with NumPy 2 every array handed to torch fails. The pair is installed
# with a NumPy it works with; the engine's own requirement (numpy>=1.22) keeps it.
INTEL_MAC_PINS = ("numpy<2",)


def torch_requirements(system: str, machine: str) -> list[str]:
    """The packages installed together as PyTorch: the pair, and what this machine's build
    needs beside it."""
    pins = INTEL_MAC_PINS if (system, machine.lower()) == ("Darwin", "x86_64") else ()
    return ["torch", "torchvision", *pins]


def torch_install_command(
    python: Path, index_url: str | None, requirements: list[str] | None = None
) -> list:
    """pip's command for the torch/torchvision pair from ``index_url`` (None: registry).
    --isolated: pip ignores configured local wheel folders, which may offer a torch build
    that the index's torchvision cannot load; both come from the same index, together."""
    wanted = requirements or torch_requirements(platform.system(), platform.machine())
    command = [python, "-m", "pip", "install", "--isolated", "--upgrade", *wanted]
    return [*command, "--index-url", index_url] if index_url else command


def _verify_torch(python: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(python), "-c", VERIFY_TORCH], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def ensure_torch(venv: Path, index_url: str | None) -> str:
    """A verified torch/torchvision pair in the environment; returns their versions.

    The build is chosen from the machine (choose_torch_build) and said before downloading.
    When the chosen index does not answer, the registry's build is installed instead and
    that is recorded, so that a later run switches once the index answers."""
    python = venv_python(venv)
    state = EnvState(venv)
    choice = choose_torch_build(platform.system(), nvidia_smi_output(), index_url)
    installed = state.get("torch_index") or "registry"
    wanted = choice.index_url or "registry"
    working = state.get("torch") and python_works(python, VERIFY_TORCH)
    if working and (installed == wanted or not index_reachable(wanted)):
        return str(state.get("torch"))
    state.forget("torch")
    source = choice.index_url
    if source is not None:
        started = time.monotonic()
        if not index_reachable(source):
            say(
                f"{source} cannot be reached (checked in {time.monotonic() - started:.1f} s); "
                "installing the registry's build instead. Run install.py again later to "
                "switch to the chosen build."
            )
            source = None
    say(
        f"Installing PyTorch and torchvision ({choice.reason}"
        f"{'' if source == choice.index_url else '; from the registry for now'}); this "
        "downloads up to a few GB once"
    )
    command = torch_install_command(python, source)
    if working:  # switching builds: the same version number may be another build
        command.append("--force-reinstall")
    run(command)
    check = _verify_torch(python)
    if check.returncode != 0:
        # pip keeps a package whose version is right even when its files are damaged (an
        # interrupted install): reinstall the pair itself once.
        say("The pair does not work yet; reinstalling torch and torchvision")
        run([*command, "--force-reinstall", "--no-deps"])
        check = _verify_torch(python)
    if check.returncode != 0:
        # Leave no half-working pair behind: the next run starts this step afresh.
        subprocess.run(
            [str(python), "-m", "pip", "uninstall", "-y", "torch", "torchvision"],
            capture_output=True,
        )
        last = (check.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise InstallError(
            f"The installed torch and torchvision do not work together ({last}). They were "
            "removed again; run install.py again, or pass --torch-index-url for another build."
        )
    versions = check.stdout.strip()
    state.set("torch", versions)
    state.set("torch_index", source or "registry")
    say(f"PyTorch ready: torch {versions.split()[0]}, torchvision {versions.split()[1]}")
    return versions


def ensure_engine(venv: Path, dev: bool) -> None:
    """The engine package (editable with --dev, with the test tools)."""
    state = EnvState(venv)
    # An editable engine follows the checkout by itself, but not its requirements: a changed
    # pyproject.toml (a new test tool) installs again.
    requirements = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:16]
    source = f"editable {requirements}" if dev else source_fingerprint()
    wanted = {"source": source, "dev": dev, "repo": str(REPO)}
    # An editable engine must be this checkout's: a pip run by hand since may have pointed the
    # environment at another one (which a GIMP run then cannot even see).
    check = "import styleengine"
    if dev:
        check += f"; assert styleengine.__file__.startswith({str(REPO / 'styleengine')!r})"
    if state.get("engine") == wanted and python_works(venv_python(venv), check, isolated=True):
        return
    say("Installing the engine" + (" (editable, with test tools)" if dev else ""))
    target = f"{REPO}[dev]" if dev else str(REPO)
    command = [venv_python(venv), "-m", "pip", "install", "--upgrade-strategy", "only-if-needed"]
    run([*command, *(["-e", target] if dev else [target])])
    state.set("engine", wanted)
