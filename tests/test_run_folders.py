"""Run folders (run_folders.py): private, and the stale ones removed without trusting /tmp."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "gimp_plugin" / "neural_style"))
import run_folders  # noqa: E402


def test_work_dir_is_private_and_stale_ones_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(run_folders.tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / (run_folders.TEMP_PREFIX + "old")
    stale.mkdir()
    (stale / run_folders.PID_FILE).write_text("999999999")  # no such process
    work = run_folders.make_work_dir()
    assert not stale.exists()
    assert work.parent == tmp_path and oct(work.stat().st_mode & 0o777) == "0o700"


class _FakeKernel32:
    """The three kernel32 calls the Windows liveness test makes, answering like Windows."""

    def __init__(self, processes: dict[int, int], denied: tuple[int, ...] = ()) -> None:
        self.processes = processes  # pid -> exit code (259: still running)
        self.denied = denied
        self.last_error = 0
        self.closed: list[int] = []

    def OpenProcess(self, access, inherit, pid):  # noqa: N802 (the Windows API's name)
        if pid in self.denied:
            self.last_error = 5
            return 0
        if pid not in self.processes:
            self.last_error = 87  # ERROR_INVALID_PARAMETER: no such process
            return 0
        return pid + 1000

    def GetLastError(self):  # noqa: N802
        return self.last_error

    def GetExitCodeProcess(self, handle, code_pointer):  # noqa: N802
        code_pointer._obj.value = self.processes[handle - 1000]
        return 1

    def CloseHandle(self, handle):  # noqa: N802
        self.closed.append(handle)
        return 1


def test_windows_liveness_never_signals_and_reads_the_exit_code():
    kernel32 = _FakeKernel32({10: 259, 11: 0}, denied=(12,))
    alive = {pid: run_folders._process_alive(pid, "win32", kernel32) for pid in (10, 11, 12, 13)}
    assert alive == {10: True, 11: False, 12: True, 13: False}
    assert kernel32.closed == [1010, 1011]  # every opened handle is closed


def _planted(tmp_path, name: str):
    folder = tmp_path / (run_folders.TEMP_PREFIX + name)
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    "plant",
    [
        lambda f: (f / run_folders.PID_FILE).write_text("9" * 20),  # overflows os.kill
        lambda f: os.mkfifo(f / run_folders.PID_FILE),  # would block a reader for ever
        lambda f: (f / run_folders.PID_FILE).symlink_to("/dev/zero"),  # endless
        lambda f: (f / run_folders.PID_FILE).write_text("-1"),  # "every process" to kill()
        lambda f: (f / run_folders.PID_FILE).write_bytes(b"1" * 10_000_000),
    ],
    ids=["huge number", "fifo", "link to /dev/zero", "negative", "10 MB"],
)
def test_hostile_folders_in_the_shared_temporary_folder_never_stop_a_run(
    tmp_path, monkeypatch, plant
):
    """What another local user can plant in /tmp: the run goes on, their folder stays."""
    monkeypatch.setattr(run_folders.tempfile, "tempdir", str(tmp_path))
    planted = _planted(tmp_path, "planted")
    plant(planted)
    work = run_folders.make_work_dir()
    assert work.is_dir() and planted.is_dir()


@pytest.mark.skipif(
    os.geteuid() != 0 and not os.environ.get("CI"), reason="chown to another user needs root"
)
def test_another_users_stale_looking_folder_is_not_touched(tmp_path, monkeypatch):
    monkeypatch.setattr(run_folders.tempfile, "tempdir", str(tmp_path))
    theirs = _planted(tmp_path, "theirs")
    (theirs / run_folders.PID_FILE).write_text("999999999")  # no such process
    (theirs / "their-work.png").write_bytes(b"kept")
    os.chown(theirs / run_folders.PID_FILE, 65534, 65534)
    os.chown(theirs, 65534, 65534)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / run_folders.PID_FILE).write_text("999999999")
    (tmp_path / (run_folders.TEMP_PREFIX + "link")).symlink_to(elsewhere)
    run_folders.make_work_dir()
    assert (theirs / "their-work.png").read_bytes() == b"kept"
    assert (elsewhere / run_folders.PID_FILE).is_file()
