"""Run folders (run_folders.py): private, and the stale ones removed without trusting /tmp."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import REPO, make_fifo, runs_as_root

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


def _planted(tmp_path, name: str):
    folder = tmp_path / (run_folders.TEMP_PREFIX + name)
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    "plant",
    [
        lambda f: (f / run_folders.PID_FILE).write_text("9" * 20),  # overflows os.kill
        lambda f: make_fifo(f / run_folders.PID_FILE),  # would block a reader for ever
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
    not runs_as_root() and not os.environ.get("CI"), reason="chown to another user needs root"
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
