"""Running the engine: the process, its progress lines read back as the contract's events,
and one message when it fails. It never leaves the engine running."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine_contract import INSTALL_HINT, LinkError, contract
from flatpak import FLATPAK_HINT, engine_command, in_flatpak

_CREATE_NO_WINDOW = 0x08000000  # winbase.h


def engine_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """GIMP's environment without the variables that would steer the engine's Python into
    GIMP's Python (its PYTHONPATH, PYTHONHOME, ...), and with the engine's pipes in UTF-8
    whatever the system's code page (Windows' ANSI page cannot carry every file name)."""
    environ = dict(os.environ if environ is None else environ)
    cleaned = {k: v for k, v in environ.items() if not k.startswith("PYTHON")}
    return {**cleaned, "PYTHONUTF8": "1", "PYTHONIOENCODING": "utf-8"}


def engine_process_options(platform: str = sys.platform) -> dict:
    """Popen options for the engine: on Windows, no console window of its own (a Python
    started from GIMP, a GUI program, would open one)."""
    return {"creationflags": _CREATE_NO_WINDOW} if platform == "win32" else {}


def parse_event(line: str):
    """One protocol line as its event (the contract's event classes), None for a line that is
    no event; LinkError for an engine that speaks another version of the protocol."""
    try:
        return contract.read_event(line)
    except contract.ProtocolError as error:
        raise LinkError(version_mismatch_message(str(error))) from None


def check_protocol(event: contract.StartEvent) -> None:
    """An engine of another protocol version is stopped at its first event, with the reason."""
    if event.protocol != contract.PROTOCOL_VERSION:
        age = "newer" if event.protocol > contract.PROTOCOL_VERSION else "older"
        raise LinkError(
            f"The style engine is {age} than this plug-in (progress protocol {event.protocol}, "
            f"the plug-in's {contract.PROTOCOL_VERSION}). {INSTALL_HINT}"
        )


def version_mismatch_message(detail: str) -> str:
    return (
        f"The style engine speaks another version of the progress protocol ({detail}); "
        f"install the engine and the plug-in from the same version. {INSTALL_HINT}"
    )


@dataclass
class EngineResult:
    ok: bool
    message: str = ""
    kind: str = ""  # the engine's ErrorKind value
    stderr_tail: list[str] = field(default_factory=list)
    # A Flatpak GIMP's sandbox refused to start the engine: the message says how to allow it.
    sandbox_refused: bool = False


def start_engine(python: str, arguments: list[str]):
    """The engine started with ``arguments``, its stdin a pipe held open (when GIMP kills the
    plug-in, the pipe closes and the engine stops by itself): the process, the list its
    stderr's lines go to, and the thread that collects them."""
    sandboxed = in_flatpak()
    try:
        process = subprocess.Popen(
            engine_command(python, arguments, sandboxed),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=engine_environment(),
            text=True,
            encoding="utf-8",
            errors="replace",  # one odd byte must not end the reading, and the engine with it
            bufsize=1,
            **engine_process_options(),
        )
    except OSError as error:
        hint = FLATPAK_HINT if sandboxed else INSTALL_HINT
        raise LinkError(f"The engine could not be started ({error}). {hint}") from None
    stderr_lines, drain = contract.stderr_tail(process.stderr, 50)
    return process, stderr_lines, drain


def run_engine(python: str, arguments: list[str], on_event) -> EngineResult:
    """Run the engine, calling ``on_event`` for each protocol event; never leaves it running."""
    sandboxed = in_flatpak()
    process, stderr_lines, drain = start_engine(python, arguments)
    last = None
    try:
        for line in process.stdout:
            event = parse_event(line)
            if event is None:
                continue
            if isinstance(event, contract.StartEvent):
                check_protocol(event)
            last = event
            on_event(event)
        process.wait()
    finally:
        contract.stop_process(process)
        drain.join(timeout=5)
    if isinstance(last, contract.DoneEvent) and process.returncode == 0:
        return EngineResult(True)
    if isinstance(last, contract.ErrorEvent):
        return EngineResult(False, last.message, last.kind, stderr_lines)
    if sandboxed and last is None:  # refused by the sandbox before the engine said anything
        return EngineResult(
            False,
            FLATPAK_HINT,
            contract.ErrorKind.INTERNAL.value,
            stderr_lines,
            sandbox_refused=True,
        )
    tail = " ".join(stderr_lines[-3:]) or f"exit code {process.returncode}"
    return EngineResult(
        False,
        f"The engine stopped unexpectedly: {tail}",
        contract.ErrorKind.INTERNAL.value,
        stderr_lines,
    )


def error_log_path() -> Path:
    """Where the engine's last lines go when a run fails: the user's cache folder."""
    return contract.user_cache_dir() / "last-error.log"


def write_error_log(lines: list[str]) -> Path:
    """Keep what the user (or a bug report) needs; the path is named in the message."""
    path = error_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError:
        return Path(tempfile.gettempdir())  # nowhere to write: the message still stands
    return path


def failure_message(result: EngineResult) -> str:
    """One message for a failed run, in the dialog's words, naming the log for details."""
    if result.sandbox_refused:
        return result.message
    message = f"Neural Style failed: {result.message}"
    if result.kind in (contract.ErrorKind.INTERNAL.value, "") and result.stderr_tail:
        log = write_error_log(result.stderr_tail)
        message += f" The engine's last lines are in {log}."
    return message
