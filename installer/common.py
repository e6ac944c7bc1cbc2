"""What every step of the installer shares: the repository's places, the engine's
standard-library modules it reads (the contract, whole files), the error a user can act on,
running a command, and the state an environment keeps of what was done to it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN_SOURCE = REPO / "gimp_plugin" / "neural_style"
# The contract between plug-in and engine (standard library only, a package): the installer
# reads its folders and names, and places it beside the plug-in, which loads it under this name.
CONTRACT_SOURCE = REPO / "styleengine" / "contract"
PLUGIN_CONTRACT = "styleengine_contract"
SYSTEM_SOURCE = REPO / "styleengine" / "system.py"
GALLERY_LIST = REPO / "styleengine" / "image" / "paintings" / "gallery.json"
# The engine's standard-library modules the plug-in loads from beside itself, by the names it
# loads them under (gimp_plugin/neural_style/engine_contract.py): the contract (a folder,
# with the gallery's list in it, which it reads there) and what the systems do differently.
PLUGIN_ENGINE_MODULES = {
    PLUGIN_CONTRACT: CONTRACT_SOURCE,
    "styleengine_system.py": SYSTEM_SOURCE,
}
PLUGIN_NAME = "neural_style"
PLUGIN_MAIN = "neural_style.py"


# The plug-in's loader of the engine's standard-library modules, which reads the contract and
# the system module from the repository when run from it (nothing else of the plug-in's runs).
sys.path.insert(0, str(PLUGIN_SOURCE))
try:
    import engine_contract
finally:
    sys.path.remove(str(PLUGIN_SOURCE))

contract = engine_contract.contract
# A file that appears whole or not at all, as the engine writes its own.
whole_file = engine_contract.load_module(
    "styleengine_atomic", REPO / "styleengine" / "atomic.py"
).whole_file
# What the systems do differently, the engine's one place for it.
system = engine_contract.system
INSTALL_COMMAND = system.INSTALL_COMMAND
APP_NAME = contract.APP_NAME
CONFIG_NAME = contract.CONFIG_NAME  # written next to the installed plug-in, never committed
# Written into the installed plug-in's folder: what this installer put there. It writes into
# and removes only what a marker names, never someone else's plug-in of the same name.
PLUGIN_MARKER = f"{APP_NAME}-installed.json"
INSTALL_LOCK = ".install.lock"
VENV_MARKER = f"{APP_NAME}-env.json"  # state of a venv this installer made
MIN_PYTHON = (3, 10)
# The line of install.py's summary that names the engine's Python: install.py --remote reads
# it from the remote's installer, which knows its own system's places (a Mac's venv is not
# where Linux keeps it).
ENGINE_PYTHON_LINE = "  engine:   "


class InstallError(Exception):
    """A step failed in a way the user can act on; the message says how."""


def say(message: str) -> None:
    print(f"[neural-style] {message}", flush=True)


def venv_python(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def store_python_refusal(executable: str, prefix: str) -> str | None:
    """Why this Python cannot install the engine, or None. The Microsoft Store's Python keeps
    what it writes under %APPDATA% and %LOCALAPPDATA% in a private copy of its own, where
    GIMP never looks (its plug-in folder and the engine's environment would be invisible)."""
    if sys.platform != "win32":
        return None
    places = (executable + "\\" + prefix).replace("/", "\\").lower()
    if "\\windowsapps\\" not in places and "pythonsoftwarefoundation.python." not in places:
        return None
    return (
        "This is the Microsoft Store's Python, which keeps the folders it makes where GIMP "
        "cannot see them. Install Python from python.org (tick 'py launcher'), then run: "
        f"{INSTALL_COMMAND}"
    )


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
        with whole_file(self.path) as temporary:
            temporary.write_text(json.dumps(self.data, indent=2))

    def forget(self, key: str) -> None:
        if self.data.pop(key, None) is not None:
            self.set("updated", time.time())
