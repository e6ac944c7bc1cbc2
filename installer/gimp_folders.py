"""Where GIMP 3 keeps its plug-ins: its configuration folders on each system, the
Flatpak's, and which GIMP is installed."""

from __future__ import annotations

import os
import platform
import plistlib
import re
import shutil
import subprocess
from pathlib import Path

from .common import (
    contract,
)


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
    if system in ("Windows", "Darwin"):
        versions = [
            v for v in map(installed_gimp_version, gimp_install_folders(environ, system)) if v
        ]
        return max(versions, key=lambda v: tuple(map(int, v.split(".")))) if versions else None
    return None


def gimp_install_folders(
    environ: dict[str, str] | None = None, system: str | None = None
) -> list[Path]:
    """Where GIMP 3's installers put it: on Windows for all users (Program Files) or for one
    (%LOCALAPPDATA%\\Programs), on macOS in /Applications or the user's ~/Applications."""
    environ = os.environ if environ is None else environ
    system = system or platform.system()
    if system == "Windows":
        home = Path(environ.get("USERPROFILE") or Path.home())
        local = Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        roots = [
            Path(environ.get("PROGRAMFILES") or r"C:\Program Files"),
            Path(environ.get("PROGRAMW6432") or r"C:\Program Files"),
            local / "Programs",
        ]
        return [folder for root in dict.fromkeys(roots) for folder in sorted(root.glob("GIMP 3*"))]
    if system == "Darwin":
        home = Path(environ.get("HOME") or Path.home())
        roots = [Path("/Applications"), home / "Applications"]
        return [app for root in roots for app in sorted(root.glob("GIMP*.app"))]
    return []


def installed_gimp_version(folder: Path) -> str | None:
    """The GIMP 3 series in an install folder ("3.2"): on Windows from its program's name
    (bin\\gimp-3.2.exe), on macOS from the app's Info.plist; "3.0" for a GIMP 3 whose series
    cannot be read; None for another GIMP."""
    binaries = sorted((folder / "bin").glob("gimp-3.*.exe"))
    if binaries:
        return parse_gimp_version(f"version {binaries[-1].stem.removeprefix('gimp-')}")
    info = folder / "Contents" / "Info.plist"
    if info.is_file():
        try:
            with open(info, "rb") as handle:
                said = plistlib.load(handle).get("CFBundleShortVersionString", "")
        except (OSError, ValueError, plistlib.InvalidFileException):
            return None
        return parse_gimp_version(f"version {said}")
    return "3.0" if folder.name.startswith("GIMP 3") else None


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
