"""The engine's command line and the plug-in's processes in a Python that behaves as
Windows' does (tests/simulated_windows/sitecustomize.py: sys.platform "win32", the names
Windows lacks removed, os.kill(pid, 0) a Ctrl-C, select for sockets only, kernel32 answered
from /proc). The same runs as on Linux: the same exit codes, events, files and picture.

A simulation, not Windows: the README's "Platforms" says what has never run for real."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, save_pair

from styleengine import contract
from styleengine.contract import ErrorKind

SIMULATION = REPO / "tests" / "simulated_windows"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the simulated Windows stands on Linux's /proc"
)


def simulated_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{SIMULATION}{os.pathsep}{REPO}", **(extra or {})}


def engine(args: list[str], simulated: bool, **popen) -> subprocess.CompletedProcess:
    env = simulated_env() if simulated else {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "styleengine", *args], capture_output=True, text=True,
        env=env, timeout=300, stdin=subprocess.DEVNULL, **popen,
    )  # fmt: skip


def test_the_simulation_is_windows_where_this_project_can_tell():
    probe = (
        "import os, signal, sys, ctypes, select; "
        "print(sys.platform, hasattr(os, 'getuid'), hasattr(os, 'O_NONBLOCK'), "
        "hasattr(signal, 'SIGHUP'), hasattr(os, 'sysconf'), hasattr(ctypes, 'WinDLL'))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=simulated_env(), check=True)  # fmt: skip
    assert done.stdout.split() == ["win32", "False", "False", "False", "False", "True"]
    # os.kill(pid, 0) is a Ctrl-C there, not a question: a process asked so is interrupted.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        subprocess.run([sys.executable, "-c", f"import os; os.kill({sleeper.pid}, 0)"],
                       env=simulated_env(), check=True)  # fmt: skip
        assert sleeper.wait(timeout=10) != 0
    finally:
        sleeper.kill()


def test_doctor_says_what_linux_says(hed_weights):
    linux, windows = (engine(["doctor", "--weights", "hed"], simulated) for simulated in (0, 1))
    assert windows.returncode == linux.returncode == 0, windows.stderr
    labels = [line.split(":")[0] for line in windows.stdout.splitlines()]
    assert labels == [line.split(":")[0] for line in linux.stdout.splitlines()]
    assert "free memory" in windows.stdout  # measured there too (GlobalMemoryStatusEx)


def test_a_run_with_previews_and_json_progress_is_linuxs_run(tmp_path, hed_weights):
    content, style = save_pair(tmp_path, (48, 64), 48)
    results = {}
    for simulated in (False, True):
        out = tmp_path / f"out{int(simulated)}"
        out.mkdir()
        done = engine(
            ["stylize", str(content), str(style), "-o", str(out / "result.png"),
             "--preview", str(out / "preview.png"), "--preview-every", "1",
             "--iterations", "3", "--progress", "json", "--device", "cpu", "--weights", "hed",
             "--seed", "3"],
            simulated,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        events = [contract.read_event(line) for line in done.stdout.splitlines()]
        results[simulated] = (
            [type(e).__name__ for e in events],
            sorted(p.name for p in out.iterdir()),
            np.asarray(__import__("PIL.Image").Image.open(out / "result.png")),
        )
    (linux_events, linux_files, linux_picture), (events, files, picture) = results.values()
    assert events == linux_events and "PreviewEvent" in events
    assert files == linux_files == ["preview.png", "result.png"]
    assert np.array_equal(picture, linux_picture)


def test_a_killed_runs_partial_file_goes_and_a_running_ones_stays(tmp_path, hed_weights):
    """Beside the result: a partial file of a run that was killed (removed) and one of a run
    still writing (kept, and that run not interrupted: Windows has no signal 0)."""
    from styleengine.image.files import PARTIAL_PREFIX

    content, style = save_pair(tmp_path, (32, 32), 32)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f"{PARTIAL_PREFIX}{int(finished.stdout)}-a1.png"
    dead.write_bytes(b"half a picture")
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        alive = tmp_path / f"{PARTIAL_PREFIX}{writer.pid}-b2.png"
        alive.write_bytes(b"being written")
        done = engine(
            ["stylize", str(content), str(style), "-o", str(tmp_path / "result.png"),
             "--iterations", "1", "--device", "cpu", "--weights", "hed", "--progress", "none"],
            simulated=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert not dead.exists() and alive.read_bytes() == b"being written"
        assert writer.poll() is None, "the running writer was interrupted"
    finally:
        writer.kill()
        writer.wait()


def test_closing_stdin_cancels_as_on_linux(tmp_path, hed_weights):
    content, style = save_pair(tmp_path, (64, 64), 48)
    output = tmp_path / "never.png"
    process = subprocess.Popen(
        [sys.executable, "-m", "styleengine", "stylize", str(content), str(style), "-o",
         str(output), "--iterations", "5000", "--progress", "json", "--device", "cpu",
         "--weights", "hed", "--cancel-on-stdin-eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=simulated_env(),
    )  # fmt: skip
    try:
        for line in process.stdout:
            if isinstance(contract.read_event(line), contract.ProgressEvent):
                break
        process.stdin.close()
        process.wait(timeout=30)
    finally:
        process.kill()
    last = contract.read_event(process.stdout.read().splitlines()[-1])
    assert process.returncode == ErrorKind.CANCELLED.exit_code, process.stderr.read()
    assert isinstance(last, contract.ErrorEvent) and last.kind == "cancelled"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["content.png", "style.png"]


def test_a_users_mistake_is_one_line_there_too(tmp_path):
    """The error report's last write used os.set_blocking and select on a pipe: on Windows
    the user read an AttributeError instead of what went wrong."""
    done = engine(["stylize", str(tmp_path / "missing.png"), "gallery:van_gogh_starry_night", "-o",
                   str(tmp_path / "out.png")], simulated=True)  # fmt: skip
    assert done.returncode == ErrorKind.BAD_INPUT.exit_code
    assert "Traceback" not in done.stderr and "missing.png" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_shared_helpers_answer_as_windows_would(tmp_path):
    """system.py in the simulated Windows: a process's life from its exit code (never a
    signal), memory from GlobalMemoryStatusEx, the last word on a pipe without select."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    probe = f"""
import os, sys
sys.path.insert(0, {str(REPO / "styleengine")!r})
import system
print(system.process_alive({sleeper.pid}), system.process_alive({int(gone.stdout)}),
      system.process_alive(0), system.process_alive(2**40))
print(system.available_memory_bytes() > 0, system.stop_signals()[-1] == 21)
read, write = os.pipe()
print(system.write_within(write, b"x" * 1000, 1.0), len(os.read(read, 5000)))
print(system.write_within(write, b"y" * 200_000, 0.5))  # nobody reads: given up, not stuck
"""
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              env=simulated_env(), timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["True", "False", "False", "False", "True", "True",
                                       "True", "1000", "False"]  # fmt: skip
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_test_suite_collects_there():
    """Nothing POSIX runs at import: every test module is collected on Windows, and the tests
    that need Linux say so when they are skipped."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "--capture=sys",  # pytest's Windows console work-around needs the real Windows
         str(REPO / "tests")],
        capture_output=True, text=True, env=simulated_env(), cwd=REPO, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "error" not in done.stdout.splitlines()[-1]


def test_the_plugins_own_modules_work_there(tmp_path, hed_weights):
    """The plug-in's standard-library side in the simulated Windows: its run folder (a
    killed plug-in's folder removed, a running one's kept and that process not interrupted),
    and a whole engine run through engine_process, events read back and the result there."""
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    temporary = tmp_path / "temp"
    for name, pid in (("killed", int(gone.stdout)), ("running", live.pid)):
        folder = temporary / f"gimp-neural-style-{name}"
        folder.mkdir(parents=True)
        (folder / "plugin.pid").write_text(str(pid))
    content, style = save_pair(tmp_path, (32, 48), 32)
    probe = f"""
import sys, tempfile
from pathlib import Path
sys.path.insert(0, {str(REPO / "gimp_plugin" / "neural_style")!r})
tempfile.tempdir = {str(temporary)!r}
import engine_link, engine_process, run_folders
work = run_folders.make_work_dir()
print(sorted(p.name for p in Path(tempfile.tempdir).iterdir() if p != work))
request = engine_link.StyleRequest(options={{"iterations": 1}})
arguments = engine_link.engine_arguments(
    request, Path({str(content)!r}), [Path({str(style)!r})], work / "result.npy", "hed")
events = []
result = engine_process.run_engine(sys.executable, arguments, events.append)
print(result.ok, [type(e).__name__ for e in events][-1], (work / "result.npy").is_file())
"""
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              env=simulated_env(), timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        folders, outcome = done.stdout.strip().splitlines()[-2:]
        assert folders == "['gimp-neural-style-running']"
        assert outcome == "True DoneEvent True"
        assert live.poll() is None, "the running plug-in was interrupted"
    finally:
        live.kill()
        live.wait()
