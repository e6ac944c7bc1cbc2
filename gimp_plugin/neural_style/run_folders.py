"""Private folders for one run's files, and the removal of those a killed plug-in left.

The temporary folder is shared with every other user of the machine, so nothing found there
is trusted (``remove_stale_work_dirs``)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from engine_contract import contract, system
from flatpak import in_flatpak

TEMP_PREFIX = f"{contract.APP_NAME}-"
PID_FILE = "plugin.pid"
PID_FILE_MAX_BYTES = 32
MAX_PID = 2**31 - 1  # larger numbers are no process's (and overflow os.kill)


def work_dir_parent(sandboxed: bool, environ: dict[str, str] | None = None) -> Path:
    """Where run folders go: the temporary folder; in a sandbox, the app's cache folder, a
    real folder of the host's that the engine (on the host) can read too."""
    environ = dict(os.environ if environ is None else environ)
    if sandboxed and environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]) / contract.APP_NAME / "runs"
    return Path(tempfile.gettempdir())


def make_work_dir() -> Path:
    """A private temporary folder (mode 0700) for one run, marked with this process's id."""
    parent = work_dir_parent(in_flatpak())
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_work_dirs(parent)
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent))
    (folder / PID_FILE).write_text(str(os.getpid()))
    return folder


def remove_stale_work_dirs(parent: Path | None = None) -> None:
    """Remove the folders of runs whose plug-in was killed (GIMP kills a plug-in whose
    progress is cancelled, before it can clean up).

    The temporary folder is shared with every other user of the machine, so nothing found
    there is trusted: only real folders (not links) of this user are looked at, their pid
    file only when it is this user's plain file, and only a few bytes of it; whatever else
    is there (a FIFO, a link to /dev/zero, a number too large for any process) is left
    alone and never stops the run."""
    for folder in (parent or Path(tempfile.gettempdir())).glob(TEMP_PREFIX + "*"):
        try:
            if not _own(os.lstat(folder), stat.S_ISDIR):
                continue
            pid = _read_pid(folder / PID_FILE)
            if pid is not None and pid != os.getpid() and not system.process_alive(pid):
                shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError, OverflowError):
            continue


def _own(info: os.stat_result, is_kind) -> bool:
    """A file of the kind ``is_kind`` asks for, owned by this user (where there are users)."""
    return is_kind(info.st_mode) and system.owned_by_me(info)


def _read_pid(path: Path) -> int | None:
    try:
        descriptor = system.open_for_reading_untrusted(path)
    except OSError:
        return None
    try:
        if not _own(os.fstat(descriptor), stat.S_ISREG):
            return None
        text = os.read(descriptor, PID_FILE_MAX_BYTES)
    finally:
        os.close(descriptor)
    if not text.strip().isdigit():
        return None
    pid = int(text)
    return pid if 0 < pid <= MAX_PID else None
