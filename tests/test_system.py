"""system.py: what Windows, macOS and Linux do differently, each concern in one place, and
the engine's and the plug-in's behaviour that rests on it (Windows' own answers are in
test_simulated_windows.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO

from styleengine import system
from styleengine.errors import OutOfMemoryError

sys.path.insert(0, str(REPO / "gimp_plugin" / "neural_style"))
import engine_process  # noqa: E402
from engine_contract import contract  # noqa: E402

VM_STAT = """Mach Virtual Memory Statistics: (page size of 16384 bytes)
Pages free:                               12345.
Pages active:                            400000.
Pages inactive:                          100000.
Pages speculative:                         2000.
Pages throttled:                              0.
Pages wired down:                        150000.
Pages purgeable:                           3000.
"""


def test_a_macs_free_memory_is_read_from_vm_stat():
    assert system.macos_available_from_vm_stat(VM_STAT) == (12345 + 100000 + 2000 + 3000) * 16384
    assert system.macos_available_from_vm_stat("vm_stat: not what it said") is None


def test_a_process_is_asked_never_signalled():
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert system.process_alive(os.getpid())
    assert not system.process_alive(int(gone.stdout))
    for impossible in (0, -1, 2**31, 10**30):  # "every process", or no process's number
        assert not system.process_alive(impossible)


def test_the_last_word_waits_for_a_reader_only_so_long():
    read, write = os.pipe()
    try:
        assert system.write_within(write, b"done\n", 1.0)
        assert os.read(read, 100) == b"done\n"
        started = time.monotonic()
        assert not system.write_within(write, b"x" * 1_000_000, 0.3)  # nobody reads
        assert time.monotonic() - started < 5
    finally:
        os.close(read)
        os.close(write)


def test_every_stop_signal_exists_here():
    import signal

    assert signal.SIGTERM in system.stop_signals() and signal.SIGINT in system.stop_signals()


def test_a_byte_that_is_no_utf8_never_stops_the_engines_reader(tmp_path):
    """The engine's stderr read in the system's code page (Windows' ANSI page) lost its
    reader at the first odd byte; the engine then blocked on a full pipe for good."""
    script = (
        "import sys; sys.stderr.buffer.write(b'caf\\xe9 \\xff\\n' + b'x' * 200_000 + b'\\n');"
        'sys.stderr.flush(); print(\'{"event": "done", "output": "o", "elapsed": 0.1}\')'
    )
    result: list = []
    reader = threading.Thread(
        target=lambda: result.append(engine_process.run_engine(sys.executable, ["-c", script],
                                                               lambda event: None)),
        daemon=True,
    )  # fmt: skip
    reader.start()
    reader.join(60)
    assert result and result[0].ok


def test_an_unwanted_engine_is_asked_by_its_stdin_before_it_is_terminated(tmp_path):
    """On Windows terminate() is TerminateProcess: no clean-up. The engine is first asked by
    closing its stdin (its --cancel-on-stdin-eof), and given the time to clean up."""
    cleaned = tmp_path / "cleaned"
    script = (
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_DFL);"
        f"sys.stdin.read(); time.sleep(0.5); open({str(cleaned)!r}, 'w').close(); sys.exit(5)"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE)
    contract.stop_process(process, patience=10)
    assert process.returncode == 5 and cleaned.exists()
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.PIPE
    )
    started = time.monotonic()
    contract.stop_process(stubborn, patience=0.5)
    assert stubborn.returncode is not None and time.monotonic() - started < 10


def test_a_preview_that_cannot_replace_the_old_one_is_skipped_not_fatal(tmp_path, monkeypatch):
    """On Windows a file a reader holds open cannot be replaced: that preview waits for the
    next one, and the run goes on."""
    import torch

    from styleengine.run import previews
    from styleengine.run.progress import Progress

    sent = []

    class Reporter:
        def preview(self, event):
            sent.append(event)

    writer = previews.PreviewWriter(tmp_path / "preview.png", Reporter(), 1, 0, False, 8)
    image = torch.rand(1, 3, 8, 8)
    progress = Progress(stage="scale", scale=1, scales=1, width=8, height=8, iteration=1,
                        total=2, losses={},
                        elapsed=0.1, current_image=lambda: image, seconds_left=1.0)  # fmt: skip
    real_replace = os.replace

    def held_open(source, target):
        if Path(target).name == "preview.png":
            raise PermissionError(13, "The process cannot access the file")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", held_open)
    writer.on_progress(progress)
    assert sent == [] and [p.name for p in tmp_path.iterdir()] == []
    monkeypatch.setattr(os, "replace", real_replace)
    writer.on_progress(progress)
    assert len(sent) == 1 and (tmp_path / "preview.png").is_file()


@pytest.mark.parametrize(
    "said",
    [
        "[enforce fail at alloc_cpu.cpp:121] data. DefaultCPUAllocator: not enough memory: "
        "you tried to allocate 34359738368 bytes.",  # Windows' _aligned_malloc
        "[enforce fail at alloc_cpu.cpp:117] err == 0. DefaultCPUAllocator: can't allocate "
        "memory: you tried to allocate 34359738368 bytes. Error code 12 (Cannot allocate "
        "memory)",  # posix_memalign on Linux and macOS
    ],
    ids=["windows", "posix"],
)
def test_the_cpu_allocators_no_is_out_of_memory_on_every_system(setup, monkeypatch, said):
    from conftest import stylize_pair

    from styleengine import api
    from styleengine.settings import StyleSettings

    def refused(*args, **kwargs):
        raise RuntimeError(said)

    # The class the API runs (test_device reloads the stylizer's module: its name there may
    # be a newer class than the one the API holds).
    monkeypatch.setattr(api.Stylizer, "_optimize_scale", refused)
    with pytest.raises(OutOfMemoryError):
        stylize_pair(setup, StyleSettings(iterations=1))
