"""The GIMP plug-in: copied into a plug-ins folder with its config and a marker of what
this installer wrote, and removed again, never touching another author's files."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from .common import (
    APP_NAME,
    CONFIG_NAME,
    GALLERY_LIST,
    INSTALL_LOCK,
    PLUGIN_ENGINE_MODULES,
    PLUGIN_MAIN,
    PLUGIN_MARKER,
    PLUGIN_NAME,
    PLUGIN_SOURCE,
    VENV_MARKER,
    InstallError,
    contract,
    say,
    whole_file,
)
from .gimp_folders import (
    default_data_dir,
)


def install_plugin(plugin_dir: Path, python: Path, weights: str) -> Path:
    """Copy the plug-in into a GIMP plug-ins folder and write its config next to it. A
    folder of the same name that this installer did not make is never written into."""
    target = plugin_dir / PLUGIN_NAME
    _check_owned(target)
    target.mkdir(parents=True, exist_ok=True)
    previous = _installed_files(target) or []
    sources = {p.name: p for p in PLUGIN_SOURCE.iterdir() if p.is_file() and p.suffix == ".py"}
    sources.update(PLUGIN_ENGINE_MODULES)
    for name, source in sources.items():
        if source.is_dir():
            _copy_package(source, target / name)
        else:
            _copy_if_changed(source, target / name)
    written = list(sources)
    # What an older version of this installer put there and this one does not (the contract
    # was one file, styleengine_contract.py) goes, as uninstalling would remove it.
    _remove_installed(target, [name for name in previous if name not in (*written, CONFIG_NAME)])
    main = target / PLUGIN_MAIN
    main.chmod(main.stat().st_mode | 0o755)
    # The remotes recorded by install.py --remote stay recorded through a new install.
    config = {"python": str(python), "weights": weights}
    remotes = _config(target).get(contract.CONFIG_REMOTES)
    if remotes:
        config[contract.CONFIG_REMOTES] = remotes
    write_config(target / CONFIG_NAME, config)
    marker = {"installed_by": APP_NAME, "files": sorted([*written, CONFIG_NAME])}
    write_config(target / PLUGIN_MARKER, marker)
    return target


def _copy_if_changed(source: Path, destination: Path) -> None:
    if not destination.exists() or destination.read_bytes() != source.read_bytes():
        shutil.copy2(source, destination)


def _copy_package(source: Path, destination: Path) -> None:
    """A standard-library package of the engine's (its modules, not their compiled copies),
    with the gallery's list in it, which the contract reads beside itself; a module that
    is no longer the engine's goes."""
    if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
        raise InstallError(f"{destination} is not a folder this installer made; move it away.")
    destination.mkdir(exist_ok=True)
    files = {p.name: p for p in source.glob("*.py")}
    files[GALLERY_LIST.name] = GALLERY_LIST
    for name, path in files.items():
        _copy_if_changed(path, destination / name)
    for stale in destination.glob("*.py"):
        if stale.name not in files:
            stale.unlink()


def _remove_installed(target: Path, names: list[str]) -> None:
    """Remove what this installer put into ``target`` under ``names`` (plain names, from its
    marker): a file, or a package of the engine's it copied."""
    for name in names:
        path = target / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


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
    except OSError:
        return False
    return PLUGIN_MAIN in names and names <= ours and "python" in _config(target)


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


def _config(target: Path) -> dict:
    """The plug-in's config in ``target``; an empty one when it is missing or not ours."""
    try:
        config = json.loads((target / CONFIG_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def record_remote(plugin_dirs: list[Path], host: str, python: str | None) -> list[Path]:
    """Offer ``host`` (its engine's Python at ``python``, or at the default place) in Run on
    of each plug-in this installer put into ``plugin_dirs``; ``python`` None: forget it.
    Returns the plug-in folders whose record changed."""
    changed = []
    for target in (d / PLUGIN_NAME for d in plugin_dirs):
        config = _config(target)
        if _installed_files(target) is None or "python" not in config:
            continue  # no plug-in of this installer's there: nothing offers a remote
        remotes = contract.recorded_remotes(config)
        if python is None:
            remotes.pop(host, None)
        else:
            remotes[host] = python  # a machine recorded again keeps its place in the list
        config[contract.CONFIG_REMOTES] = [{"host": h, "python": p} for h, p in remotes.items()]
        if write_config(target / CONFIG_NAME, config):
            _query_again(target / PLUGIN_MAIN)
            changed.append(target)
    return changed


def offered_remotes(plugin_dirs: list[Path]) -> set[str]:
    """The hosts Run on offers in the plug-ins in ``plugin_dirs``."""
    return {h for d in plugin_dirs for h in contract.recorded_remotes(_config(d / PLUGIN_NAME))}


def _query_again(main: Path) -> None:
    """GIMP keeps a plug-in's procedures (Run on's choices among them) until the plug-in's
    file changes: a later modification time has it asked again at GIMP's next start."""
    stat = main.stat()
    later = max(time.time(), stat.st_mtime + 1)
    os.utime(main, (stat.st_atime, later))


def write_config(path: Path, config: dict) -> bool:
    """Write the JSON config; returns False (and leaves the file alone) when unchanged."""
    text = json.dumps(config, indent=2) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    with whole_file(path) as temporary:
        temporary.write_text(text)
    return True


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
        _remove_installed(target, [*files, PLUGIN_MARKER])
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
