"""The plug-in's side of the link to the style engine, with the standard library only.

GIMP's Python has no numpy and no torch, and must not get them: pixels travel to the engine
as ``.npy`` float32 files written and read here, the engine runs as a subprocess of its own
Python (named in the config file install.py writes next to the plug-in), and its progress
comes back as JSON lines (the protocol is documented in ``styleengine.progress``).

Nothing here imports ``gi``, so it is unit-tested without GIMP.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The contract with the engine (styleengine/contract.py): install.py places it beside the
# plug-in; run from the repository, the plug-in reads the engine's own file.
_HERE = Path(__file__).resolve().parent
CONTRACT_FILES = (
    _HERE / "styleengine_contract.py",
    _HERE.parent.parent / "styleengine" / "contract.py",
)


def _load_contract():
    import importlib.util

    for path in CONTRACT_FILES:
        if path.is_file():
            spec = importlib.util.spec_from_file_location("styleengine_contract", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # its dataclasses look themselves up there
            spec.loader.exec_module(module)
            return module
    raise ImportError(
        f"The Neural Style plug-in is incomplete: {CONTRACT_FILES[0].name} is missing. "
        "Run 'python3 install.py' from the Neural Style folder again."
    )


contract = _load_contract()
CONFIG_NAME = contract.CONFIG_NAME
time_left_text = contract.time_left_text

TEMP_PREFIX = "gimp-neural-style-"
PID_FILE = "plugin.pid"
PID_FILE_MAX_BYTES = 32
MAX_PID = 2**31 - 1  # larger numbers are no process's (and overflow os.kill)
INSTALL_HINT = "Run 'python3 install.py' from the Neural Style folder to install the engine."

# When the live preview layer is shown: in runs from the dialog, in every run (scripts too),
# or never.
LIVE_PREVIEW = ("interactive", "always", "never")
PREVIEW_LAYER_NAME = "Neural Style - preview"
# The engine writes the picture so far at most this often: a refresh every few seconds shows
# it emerge without spending the engine's time on writing files.
PREVIEW_SECONDS = 3.0

_NPY_MAGIC = b"\x93NUMPY"


class LinkError(Exception):
    """Something the user must be told, in words they can act on."""


# --------------------------------------------------------------------------------------------
# .npy files of float32 pixels (H, W, C)


def write_npy(path: Path, height: int, width: int, channels: int, data: bytes) -> None:
    """Write little-endian float32 pixels in the .npy format (version 1.0)."""
    if len(data) != height * width * channels * 4:
        raise ValueError("pixel data does not match the shape")
    if sys.byteorder != "little":
        data = _swap_float32(data)
    header = (
        f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({height}, {width}, {channels}), }}"
    )
    # The header is padded with spaces so that the data starts at a multiple of 64 bytes.
    total = len(_NPY_MAGIC) + 2 + 2 + len(header) + 1
    header += " " * (-total % 64) + "\n"
    with open(path, "wb") as handle:
        handle.write(_NPY_MAGIC + bytes([1, 0]) + struct.pack("<H", len(header)))
        handle.write(header.encode("latin1"))
        handle.write(data)


def read_npy(path: Path) -> tuple[tuple[int, ...], bytes]:
    """Read a float32 .npy file; returns its shape and its pixels as native float32 bytes."""
    with open(path, "rb") as handle:
        if handle.read(6) != _NPY_MAGIC:
            raise ValueError(f"{path} is not a .npy file")
        major = handle.read(2)[0]
        size_format = "<H" if major == 1 else "<I"
        (header_size,) = struct.unpack(size_format, handle.read(struct.calcsize(size_format)))
        header = ast.literal_eval(handle.read(header_size).decode("latin1"))
        data = handle.read()
    if header.get("fortran_order") or header.get("descr") not in ("<f4", ">f4"):
        raise ValueError(f"{path}: expected C-ordered float32 pixels, got {header}")
    shape = tuple(int(n) for n in header["shape"])
    expected = 4
    for n in shape:
        expected *= n
    if len(data) != expected:
        raise ValueError(f"{path}: {len(data)} bytes of pixels for the shape {shape}")
    if (header["descr"] == "<f4") != (sys.byteorder == "little"):
        data = _swap_float32(data)
    return shape, data


def _swap_float32(data: bytes) -> bytes:
    swapped = bytearray(data)
    for offset in range(4):
        swapped[offset::4] = data[3 - offset :: 4]
    return bytes(swapped)


# --------------------------------------------------------------------------------------------
# Arguments and configuration


@dataclass
class StyleRequest:
    """The plug-in's public arguments, as a script passes them: Strength, the live preview,
    and the contract's options by name (``contract.OPTIONS``; a missing one has its default)."""

    strength: float = contract.DEFAULT_STRENGTH
    live_preview: str = "interactive"
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str) -> Any:
        return self.options.get(name, contract.OPTIONS_BY_NAME[name].default)

    def shows_preview(self, interactive: bool) -> bool:
        """Whether this run keeps a preview layer on the canvas while it works."""
        if self.live_preview not in LIVE_PREVIEW:
            raise LinkError(f"Unknown live preview choice {self.live_preview!r}.")
        return self.live_preview == "always" or (interactive and self.live_preview == "interactive")


def result_layer_name(style_names: list[str]) -> str:
    """'Neural Style (Starry Night)', 'Neural Style (Starry Night + The Scream)'."""
    return f"Neural Style ({' + '.join(style_names)})"


def engine_arguments(
    request: StyleRequest,
    content: Path,
    styles: list[Path | str],
    output: Path,
    weights: str,
    style_weights: list[float] | None = None,
    preview: Path | None = None,
    regions: dict[int, Path] | None = None,
    strength_map: Path | None = None,
) -> list[str]:
    """The ``python -m styleengine`` arguments for a request: one or more style images,
    blended by ``style_weights`` (one each); with ``preview``, the picture so far is
    written there every few seconds; ``regions``: the mask of where style N (from 1)
    paints; ``strength_map``: how strongly, place by place. Every flag is the contract's."""
    by_name = contract.OPTIONS_BY_NAME
    if len(styles) > 1:
        blend = style_weights or [1.0] * len(styles)
        if len(blend) != len(styles) or sum(blend) <= 0:
            raise LinkError("Give the style layers weights above 0 (at least one).")
    # The options the plug-in sets; the others keep the engine's defaults.
    given = [(contract.STRENGTH, request.strength)]
    given += [(o, request.option(o.name)) for o in contract.OPTIONS if o.section is not None]
    given += [
        (by_name["output"], str(output)),
        (by_name["progress"], "json"),
        (by_name["cancel_on_stdin_eof"], True),
        (by_name["weights"], weights),
        (by_name["style_blend"], tuple(blend) if len(styles) > 1 else None),
        (by_name["strength_map"], None if strength_map is None else str(strength_map)),
        *((by_name["style_region"], (n, str(mask))) for n, mask in sorted((regions or {}).items())),
    ]  # fmt: skip
    if preview is not None:
        given += [(by_name["preview"], str(preview)),
                  (by_name["preview_seconds"], PREVIEW_SECONDS)]  # fmt: skip
    arguments = ["-m", "styleengine", "stylize", str(content), *map(str, styles)]
    for option, value in given:
        try:
            arguments += option.command_line(value)
        except (TypeError, ValueError) as error:
            raise LinkError(f"{error}.") from None
    return arguments


def export_painting(config: EngineConfig, painting, output: Path) -> None:
    """Have the engine write a gallery painting's pixels to ``output`` (.npy): the engine
    knows where its gallery lives, and can reach it from a sandboxed GIMP too."""
    arguments = [
        "-m", "styleengine", "gallery", painting.name, "-o", str(output), "--progress", "json",
    ]  # fmt: skip
    result = run_engine(config.python, arguments, lambda _event: None)
    if not result.ok:
        raise LinkError(failure_message(result))


@dataclass
class EngineConfig:
    python: str
    weights: str = "auto"


def load_config(plugin_dir: Path) -> EngineConfig:
    """Read the config install.py wrote; a missing or broken one says how to repair it."""
    path = plugin_dir / CONFIG_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        config = EngineConfig(python=str(data["python"]), weights=str(data.get("weights", "auto")))
    except FileNotFoundError:
        raise LinkError(
            f"The Neural Style engine is not set up ({path} is missing). {INSTALL_HINT}"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LinkError(
            f"The Neural Style config {path} is damaged ({error}). {INSTALL_HINT}"
        ) from None
    if not Path(config.python).is_file():
        raise LinkError(
            f"The engine's Python ({config.python}) does not exist any more. {INSTALL_HINT}"
        )
    return config


def engine_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """GIMP's environment without the variables that would steer the engine's Python into
    GIMP's Python (its PYTHONPATH, PYTHONHOME, ...)."""
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in environ.items() if not k.startswith("PYTHON")}


# --------------------------------------------------------------------------------------------
# Progress lines


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


LOADING_TEXT = "Neural Style: loading the network…"


def plan_text(event: contract.StartEvent) -> str:
    """The start event's plan, before the long part begins."""
    width, height = event.working_size
    then = f", then a detail pass in {event.detail['tiles']} tiles" if event.detail else ""
    return (
        f"Neural Style: working at {width}x{height}{then}, "
        f"{time_left_text(event.estimated_seconds)}"
    )


def progress_text(event: contract.ProgressEvent) -> str:
    return f"Neural Style: {event.place()}, {time_left_text(event.seconds_left)}"


# --------------------------------------------------------------------------------------------
# Running the engine


# --------------------------------------------------------------------------------------------
# GIMP as a Flatpak
#
# Flathub's GIMP (org.gimp.GIMP) runs plug-ins in its sandbox: its /usr is the GNOME
# runtime's, so the engine's environment (a venv whose python links to the host's /usr) does
# not run there. Its manifest grants --filesystem=host (the venv and the user's cache are
# visible at their own paths) but not --talk-name=org.freedesktop.Flatpak, which
# `flatpak-spawn --host` needs to start a program on the host. So the plug-in starts the
# engine through flatpak-spawn --host (with --watch-bus: the engine ends when the plug-in
# does), and when the sandbox refuses, says the one command that allows it.
FLATPAK_INFO = Path("/.flatpak-info")
FLATPAK_ALLOW = "flatpak override --user --talk-name=org.freedesktop.Flatpak org.gimp.GIMP"
FLATPAK_HINT = (
    "GIMP runs as a Flatpak, whose sandbox does not let it start the Neural Style engine "
    f"on this computer. Allow it once in a terminal with: {FLATPAK_ALLOW} ; then restart GIMP."
)


def in_flatpak(info: Path = FLATPAK_INFO) -> bool:
    return info.is_file()


def engine_command(python: str, arguments: list[str], sandboxed: bool) -> list[str]:
    """The command line that starts the engine, from inside a Flatpak sandbox or not."""
    if sandboxed:
        return ["flatpak-spawn", "--host", "--watch-bus", python, *arguments]
    return [python, *arguments]


def work_dir_parent(sandboxed: bool, environ: dict[str, str] | None = None) -> Path:
    """Where run folders go: the temporary folder; in a sandbox, the app's cache folder, a
    real folder of the host's that the engine (on the host) can read too."""
    environ = dict(os.environ if environ is None else environ)
    if sandboxed and environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]) / "gimp-neural-style" / "runs"
    return Path(tempfile.gettempdir())


def make_work_dir() -> Path:
    """A private temporary folder (mode 0700) for one run, marked with this process's id."""
    parent = work_dir_parent(in_flatpak())
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_work_dirs(parent)
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent))
    (folder / PID_FILE).write_text(str(os.getpid()))
    return folder


# Windows API values (processthreadsapi.h, winerror.h, minwinbase.h, winbase.h).
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_ERROR_ACCESS_DENIED = 5
_STILL_ACTIVE = 259
_CREATE_NO_WINDOW = 0x08000000


def _process_alive(pid: int, platform: str = sys.platform, kernel32=None) -> bool:
    if platform == "win32":
        return _windows_process_alive(pid, kernel32)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _windows_process_alive(pid: int, kernel32=None) -> bool:
    """On Windows os.kill(pid, 0) is no test: it ends the process (TerminateProcess). Ask
    the process's exit code instead."""
    import ctypes

    if kernel32 is None:
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        # Another user's process exists but may not be opened; no process: another error.
        return kernel32.GetLastError() == _ERROR_ACCESS_DENIED
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # cannot tell: keep its folder
        return code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def engine_process_options(platform: str = sys.platform) -> dict:
    """Popen options for the engine: on Windows, no console window of its own (a Python
    started from GIMP, a GUI program, would open one)."""
    return {"creationflags": _CREATE_NO_WINDOW} if platform == "win32" else {}


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
            if pid is not None and pid != os.getpid() and not _process_alive(pid):
                shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError, OverflowError):
            continue


def _own(info: os.stat_result, is_kind) -> bool:
    """A file of the kind ``is_kind`` asks for, owned by this user (where there are users)."""
    return is_kind(info.st_mode) and (not hasattr(os, "getuid") or info.st_uid == os.getuid())


def _read_pid(path: Path) -> int | None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
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


@dataclass
class EngineResult:
    ok: bool
    message: str = ""
    kind: str = ""  # the engine's ErrorKind value
    stderr_tail: list[str] = field(default_factory=list)
    # A Flatpak GIMP's sandbox refused to start the engine: the message says how to allow it.
    sandbox_refused: bool = False


def run_engine(python: str, arguments: list[str], on_event) -> EngineResult:
    """Run the engine, calling ``on_event`` for each protocol event; never leaves it running.

    The engine's stdin is a pipe that stays open while this process lives: when GIMP kills
    the plug-in, the pipe closes and the engine stops by itself.
    """
    sandboxed = in_flatpak()
    try:
        process = subprocess.Popen(
            engine_command(python, arguments, sandboxed),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=engine_environment(),
            text=True,
            bufsize=1,
            **engine_process_options(),
        )
    except OSError as error:
        hint = FLATPAK_HINT if sandboxed else INSTALL_HINT
        raise LinkError(f"The engine could not be started ({error}). {hint}") from None
    stderr_lines: list[str] = []
    drain = threading.Thread(target=_collect, args=(process.stderr, stderr_lines), daemon=True)
    drain.start()
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
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdin:
            process.stdin.close()
        drain.join(timeout=5)
    if isinstance(last, contract.DoneEvent) and process.returncode == 0:
        return EngineResult(True)
    if isinstance(last, contract.ErrorEvent):
        return EngineResult(False, last.message, last.kind, stderr_lines)
    if sandboxed and last is None:  # refused by the sandbox before the engine said anything
        return EngineResult(False, FLATPAK_HINT, "internal", stderr_lines, sandbox_refused=True)
    tail = " ".join(stderr_lines[-3:]) or f"exit code {process.returncode}"
    return EngineResult(False, f"The engine stopped unexpectedly: {tail}", "internal", stderr_lines)


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
    if result.kind in ("internal", "") and result.stderr_tail:
        log = write_error_log(result.stderr_tail)
        message += f" The engine's last lines are in {log}."
    return message


def file_error_message(error: OSError) -> str:
    where = f" ({error.filename})" if error.filename else ""
    return (
        f"Neural Style could not use its temporary files{where}: "
        f"{error.strerror or error}. Free some space in {tempfile.gettempdir()} and try again."
    )


def _collect(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip())
        del lines[:-50]
