"""Cancelling (run/cancellation.py): a cancel is honoured at every instant of a run, from
the moment the engine can take it (its signal handlers, installed before any library
loads) to its last line, through any library's broad exception handlers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, save_pair
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from styleengine import contract
from styleengine.contract import ErrorKind
from styleengine.run import cancellation

EXAMPLES = int(os.environ.get("STYLEENGINE_FUZZ_EXAMPLES", "6"))


def test_a_cancel_goes_through_a_librarys_except_exception(monkeypatch):
    """PyTorch loads its CUDA libraries inside try/except Exception: a cancel raised there
    was swallowed, the run went on and every later signal was ignored."""
    monkeypatch.setattr(cancellation, "_raised_at", None)
    monkeypatch.setattr(cancellation, "_finishing", False)
    with pytest.raises(KeyboardInterrupt), contextlib.suppress(Exception):  # PyTorch's kind
        cancellation._raise_cancelled(signal.SIGTERM, None)
    # Swallowed all the same (except BaseException): the run's next step raises it again,
    # and so does a later signal.
    with contextlib.suppress(BaseException):
        cancellation._raise_cancelled(signal.SIGTERM, None)
    with pytest.raises(KeyboardInterrupt):
        cancellation.check_cancelled()
    monkeypatch.setattr(cancellation, "_raised_at", time.monotonic() - 5)
    with pytest.raises(KeyboardInterrupt):
        cancellation._raise_cancelled(signal.SIGINT, None)
    cancellation.finishing()  # the last words: nothing interrupts them
    cancellation._raise_cancelled(signal.SIGTERM, None)
    cancellation.check_cancelled()


def _handles_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler yet (/proc's caught-signal mask)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            caught = next(line for line in status if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def test_a_cancel_during_an_import_is_raised_once_the_import_is_done(tmp_path):
    """Raised inside an import, a cancel crossed PyTorch's C++ initialisation, which aborted
    the whole process (exit -6, no clean-up, no cancel event): 2 in 24 cancels 0.7-0.9 s into
    a run. It is recorded there and raised by the first check after the import."""
    (tmp_path / "slow_module.py").write_text(
        "import os, signal, time\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "time.sleep(0.2)  # the handler runs here, inside the import\n"
        "LOADED = True\n"
    )
    script = (
        "from styleengine.run import cancellation\n"
        "cancellation.install_signal_handlers()\n"
        "import slow_module\n"
        "print('imported', slow_module.LOADED, flush=True)\n"
        "try:\n"
        "    cancellation.check_cancelled()\n"
        "except cancellation.CancelRequested:\n"
        "    raise SystemExit(5)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert (done.returncode, done.stdout) == (5, "imported True\n"), done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc's signal masks")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="STYLEENGINE_FUZZ_EXAMPLES" not in os.environ,
    # Each example makes its own folder; the fixtures are only the environment and weights.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(how=st.sampled_from(["SIGTERM", "SIGINT", "stdin"]), delay=st.floats(0.0, 4.0))
def test_a_cancel_at_any_instant_ends_the_run_with_nothing_left(
    tmp_path_factory, engine_env, hed_weights, how, delay
):
    """SIGTERM, Ctrl-C or the end of stdin (the plug-in's death), at a drawn moment after the
    engine can take one: while PyTorch loads (the CUDA build loads its libraries for about a
    second), while the weights are read, while the painted start or the optimization runs.
    Always exit 5, the cancel's event last, no result and no partial file left beside it (the
    last preview stays, as the user asked for it: the plug-in shows it after a stop)."""
    folder = tmp_path_factory.mktemp("cancel")
    content, style = save_pair(folder, (64, 64), 48)
    before = sorted(p.name for p in folder.iterdir())
    process = subprocess.Popen(
        [sys.executable, "-m", "styleengine", "stylize", str(content), str(style), "-o",
         str(folder / "result.png"), "--iterations", "5000", "--progress", "json",
         "--weights", "hed", "--device", "cpu", "--cancel-on-stdin-eof",
         "--preview", str(folder / "preview.png"), "--preview-every", "1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=engine_env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _handles_sigterm(process.pid) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        if how == "stdin":
            process.stdin.close()
            process.stdin = None  # closed: communicate() must not flush it
        else:
            process.send_signal(getattr(signal, how))
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == ErrorKind.CANCELLED.exit_code, (how, delay, stderr[-2000:])
    last = contract.read_event(stdout.splitlines()[-1])
    assert isinstance(last, contract.ErrorEvent) and last.kind == "cancelled"
    assert sorted(p.name for p in folder.iterdir() if p.name != "preview.png") == before
