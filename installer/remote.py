"""The engine on another machine: this repository's engine sent over ssh and installed there
by its own install.py (no GIMP needed there), or removed there again.

The remote command line is this module's own words, each quoted: the folder the source goes
to and the installer's options; the host is ssh's to read, after ``--``. ssh runs the
command from the remote user's home, so the default places need no shell expansion.
"""

from __future__ import annotations

import io
import shlex
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

from .common import ENGINE_PYTHON_LINE, REPO, InstallError, contract, say

# Where the source goes on the remote, from the remote user's home.
REMOTE_SOURCE = f".local/share/{contract.APP_NAME}/source"
# Written into the source folder there: this installer made it, and may replace or remove it.
SOURCE_MARKER = f".installed-by-{contract.APP_NAME}"
# The files install.py needs to install the engine (not the plug-in: no GIMP there; only its
# loader of the engine's standard-library modules, which the installer shares).
SOURCE_PARTS = (
    "install.py",
    "installer",
    "styleengine",
    "pyproject.toml",
    "README.md",
    "gimp_plugin/neural_style/engine_contract.py",
)  # the installer's module loader


def _source_filter(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    parts = Path(info.name).parts
    return None if "__pycache__" in parts or info.name.endswith(".pyc") else info


def _run_there(host: str, remote_command: str, send_source: bool) -> list[str]:
    """Run ``remote_command`` on ``host``; its output is shown as it comes, and returned."""
    try:
        process = subprocess.Popen(
            contract.ssh_command(host, remote_command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
    except FileNotFoundError:
        raise InstallError("--remote needs OpenSSH's ssh command on this computer.") from None
    said: list[str] = []
    relay = threading.Thread(target=_relay_output, args=(process.stdout, said), daemon=True)
    relay.start()
    try:
        if send_source:
            with tarfile.open(fileobj=process.stdin, mode="w|gz") as archive:
                for part in SOURCE_PARTS:
                    archive.add(REPO / part, arcname=part, filter=_source_filter)
        process.stdin.close()
    except BrokenPipeError:
        pass  # ssh ended early: its own message is on the terminal, its code below
    code = process.wait()
    relay.join()
    if code == 255:
        raise InstallError(contract.ssh_refused(host, "its message is above"))
    if code != 0:
        raise InstallError(f"the installer on {host} stopped (exit code {code}); see above.")
    return said


def _relay_output(stream, said: list[str]) -> None:
    for line in io.TextIOWrapper(stream, encoding="utf-8", errors="replace"):
        sys.stdout.write(line)
        sys.stdout.flush()
        said.append(line.rstrip("\n"))


def reported_python(said: list[str]) -> str | None:
    """The engine's Python that the remote's installer named in its summary."""
    named = [line[len(ENGINE_PYTHON_LINE) :].strip() for line in said
             if line.startswith(ENGINE_PYTHON_LINE)]  # fmt: skip
    return named[-1] if named and named[-1] else None


# A remote's system as `uname -s` names it; the commands sent are a POSIX shell's.
POSIX_SYSTEMS = ("Linux", "Darwin", "FreeBSD", "OpenBSD", "NetBSD")


def check_remote_system(host: str) -> str:
    """The remote's system, or one line saying why the engine cannot be set up there from
    here: Windows' OpenSSH starts cmd.exe or PowerShell, not a POSIX shell."""
    try:
        done = subprocess.run(
            contract.ssh_command(host, "uname -s"), capture_output=True, text=True,
            stdin=subprocess.DEVNULL, timeout=120,
        )  # fmt: skip
    except FileNotFoundError:
        raise InstallError("--remote needs OpenSSH's ssh command on this computer.") from None
    except subprocess.TimeoutExpired:
        raise InstallError(f"{host} did not answer over ssh within 2 minutes.") from None
    if done.returncode == 255:
        raise InstallError(contract.ssh_refused(host, done.stderr.strip()[-200:]))
    system = done.stdout.strip()
    if done.returncode != 0 or system not in POSIX_SYSTEMS:
        raise InstallError(
            f"{host} does not answer as Linux or macOS does (a Windows machine?): install.py "
            "--remote sends a POSIX shell's commands. Set the engine up there by hand with its "
            "own installer (py install.py --engine-only)."
        )
    return system


def install_remote(host: str, options: list[str]) -> str | None:
    """Send the engine's source to ``host`` and run its install.py there with ``options``
    (``--engine-only`` always: no GIMP is needed there). Every step there is the local
    installer's own, so running it again is quick and repairs an interrupted one. Returns
    the engine's Python there, as that installer names it."""
    check_remote_system(host)
    source = shlex.quote(REMOTE_SOURCE)
    installer = shlex.join(["python3", f"{REMOTE_SOURCE}/install.py", "--engine-only", *options])
    # A fresh copy each time (no file of an older version stays behind), but only over a
    # folder this installer made: anything else there is the user's and is left alone.
    command = (
        f"{_refuse_unless_ours(source)} rm -rf {source} && mkdir -p {source} && "
        f"tar -xzf - -C {source} && : > {source}/{SOURCE_MARKER} && {installer}"
    )
    say(f"Installing the engine on {host} over ssh")
    return reported_python(_run_there(host, command, send_source=True))


def uninstall_remote(host: str, options: list[str]) -> None:
    """Remove what ``install_remote`` made on ``host``: its environment, then the source."""
    source = shlex.quote(REMOTE_SOURCE)
    installer = shlex.join(
        ["python3", f"{REMOTE_SOURCE}/install.py", "--engine-only", "--uninstall", *options]
    )
    say(f"Removing the engine from {host}")
    remove = f"if [ -f {source}/{SOURCE_MARKER} ]; then rm -rf {source}; fi"
    _run_there(host, f"{installer} && {remove}", send_source=False)


def _refuse_unless_ours(source: str) -> str:
    """Shell words that stop the command when ``source`` exists without the marker."""
    return (
        f"if [ -e {source} ] && [ ! -f {source}/{SOURCE_MARKER} ]; then echo '{REMOTE_SOURCE} "
        "holds files this installer did not put there; move them away.' >&2; exit 3; fi;"
    )
