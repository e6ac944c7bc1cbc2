"""The engine on another machine, over OpenSSH: no server of ours, no open port.

``stylize --remote HOST`` (the caller's side, ``run_remote``) starts ``ssh HOST`` with the
remote engine's ``relay`` command (``relay``) and talks to it over the connection's stdin and
stdout:

1. the relay says hello (``Hello``): one JSON line with its relay and progress-protocol
   versions;
2. the caller sends one JSON line (``Request``: the ``stylize`` arguments, in which the files
   are named by tokens, and the files' names and sizes), then the files' bytes, and keeps
   stdin open: its end is the cancel, as the plug-in's pipe is for a local engine;
3. the relay writes the files into a private folder (0700), runs ``stylize`` there with
   ``--progress json --cancel-on-stdin-eof``, and passes its events back; before a preview
   event and before the done event it sends that file: a line ``{"file": ROLE, "size": N}``
   (``FileFrame``) and N bytes. It removes its folder when the run ends, however it ends.

Nothing a user named (a file, a layer) reaches a shell: the remote command line is the
engine's Python and ``-m styleengine relay``, each quoted, and the files travel inside the
connection under names the relay makes. Host keys are checked as ssh always checks them
(``BatchMode``: a key or password prompt is an error with ssh's own words, never a hang).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

from ..atomic import new_file_mode, whole_file
from ..contract import (
    APP_NAME,
    GALLERY_PREFIX,
    OPTIONS_BY_NAME,
    PROTOCOL_VERSION,
    STOP_PATIENCE_SECONDS,
    DoneEvent,
    ErrorEvent,
    ErrorKind,
    PreviewEvent,
    ProgressEvent,
    StartEvent,
    read_event,
    ssh_refused,
    stderr_tail,
    stop_process,
    typed,
)
from ..contract import ssh_command as contract_ssh_command
from ..errors import BadInputError, EngineError
from ..system import INSTALL_COMMAND, stop_signals

RELAY_VERSION = 1
RUN_FOLDER_PREFIX = f"{APP_NAME}-remote-"
CHUNK = 1 << 20
# The largest file either side accepts in one frame: far above a 24 MP float32 .npy (288 MB).
MAX_FILE_BYTES = 4 << 30


def ssh_command(host: str, remote_python: str, engine_arguments: tuple[str, ...] = ("relay",)
                ) -> list[str]:  # fmt: skip
    """The ssh command that starts the engine (by default its relay) on ``host``
    (contract.ssh_command), its connection watched so a dead network ends it."""
    remote = shlex.join([remote_python, "-m", "styleengine", *engine_arguments])
    return contract_ssh_command(host, remote, "-T", "-o", "ServerAliveInterval=5",
                                "-o", "ServerAliveCountMax=3")  # fmt: skip


# --------------------------------------------------------------------------------------------
# Frames: a JSON line, and for a file, its bytes after it


@dataclass(frozen=True)
class Hello:
    """The relay's first line: the versions it speaks."""

    relay: int
    protocol: int


@dataclass(frozen=True)
class SentFile:
    """A file of the caller's in the request: its name there (a token's) and its size."""

    name: str
    size: int


@dataclass(frozen=True)
class Request:
    """The caller's one line: the engine's arguments (files as tokens), the files that follow
    it in this order, and the names the result and the preview get there."""

    arguments: list[str]
    files: list[SentFile]
    output: str
    preview: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.arguments, list) or not isinstance(self.files, list):
            raise BadInputError("The remote caller sent a request of another form.")
        object.__setattr__(self, "arguments", [str(a) for a in self.arguments])
        object.__setattr__(self, "files", [
            f if isinstance(f, SentFile) else SentFile(str(f["name"]), int(f["size"]))
            for f in self.files
        ])  # fmt: skip


@dataclass(frozen=True)
class FileFrame:
    """Before the bytes of a file the relay sends back: which (ROLES) and how many bytes."""

    file: str
    size: int
    ROLES: ClassVar[tuple[str, ...]] = ("output", "preview")


Frame = TypeVar("Frame", Hello, Request, FileFrame)


def sent_name(index: int, path: str) -> str:
    """The name the caller's ``index``th file crosses the connection under: no folder, and
    its suffix, which tells the engine there a file's kind (.npy), only of letters and digits
    ('0.=' is no kind, and would make the token a form the relay does not read)."""
    suffix = Path(path).suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) else ""
    return f"input{index}{suffix}"


def _write_line(stream: IO[bytes], frame: Any) -> None:
    """One frame (a dataclass of this module's) as a JSON line."""
    stream.write(json.dumps(asdict(frame)).encode() + b"\n")
    stream.flush()


def _read_frame(line: bytes, frame: type[Frame]) -> Frame | None:
    """The frame of type ``frame`` a line carries, or None for a line of another kind."""
    try:
        record = json.loads(line)
        return frame(**record) if isinstance(record, dict) else None
    except (ValueError, TypeError, KeyError):
        return None


def _send_file(stream: IO[bytes], role: str, path: Path) -> None:
    size = path.stat().st_size
    _write_line(stream, FileFrame(role, size))
    with open(path, "rb") as source:
        shutil.copyfileobj(source, stream, CHUNK)
    stream.flush()


def _receive_file(stream: IO[bytes], size: int, target: Path) -> None:
    """``size`` bytes of ``stream`` into ``target``, whole or not at all."""
    if not 0 <= size <= MAX_FILE_BYTES:
        raise EngineError(f"The remote engine sent a file of {size} bytes; stopped.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with whole_file(target, suffix=target.suffix) as temporary, open(temporary, "wb") as out:
        # The mode a file made here gets: a result has a local run's permissions.
        os.chmod(temporary, new_file_mode())
        left = size
        while left:
            chunk = stream.read(min(CHUNK, left))
            if not chunk:
                raise EngineError("The connection to the remote engine ended mid-file.")
            out.write(chunk)
            left -= len(chunk)


# --------------------------------------------------------------------------------------------
# The relay: the remote end


def _with_files(argument: str, tokens: dict[str, str]) -> str:
    """An argument with a file's token replaced by where the file landed here: the whole
    argument (``@input0.png``) or a per-style value (``1=@input2.png``, as --style-region
    N=PATH gives it)."""
    if argument in tokens:
        return tokens[argument]
    number, equals, value = argument.partition("=")
    if equals and number.isdigit() and value in tokens:
        return f"{number}={tokens[value]}"
    return argument


def relay(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """One remote run, as ``run_remote`` asks it over ``stdin``; its events and files on
    ``stdout``. Returns the engine's exit code."""
    _write_line(stdout, Hello(RELAY_VERSION, PROTOCOL_VERSION))
    request = _read_frame(stdin.readline(), Request)
    if request is None:
        raise BadInputError("The remote caller sent no request.")
    folder = Path(tempfile.mkdtemp(prefix=RUN_FOLDER_PREFIX))  # private: 0700
    engine = None
    try:
        tokens = {}
        for entry in request.files:
            name, size = entry.name, entry.size
            if Path(name).name != name or name in ("", ".", ".."):
                raise BadInputError(f"The remote caller sent a file named {name!r}.")
            _receive_file(stdin, size, folder / name)
            tokens[f"@{name}"] = str(folder / name)
        for role in FileFrame.ROLES:
            if getattr(request, role):
                tokens[f"@{role}"] = str(folder / Path(str(getattr(request, role))).name)
        arguments = [_with_files(a, tokens) for a in request.arguments]
        engine = subprocess.Popen(
            [sys.executable, "-m", "styleengine", "stylize", *arguments, "--progress", "json",
             "--cancel-on-stdin-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=folder,
        )  # fmt: skip
        # The caller's end of the connection is the run's: when it closes, the engine stops.
        threading.Thread(target=_close_on_eof, args=(stdin, engine), daemon=True).start()
        for line in engine.stdout:
            event = read_event(line.decode())
            if isinstance(event, PreviewEvent) and tokens.get("@preview"):
                _send_file(stdout, "preview", Path(tokens["@preview"]))
            elif isinstance(event, DoneEvent):
                _send_file(stdout, "output", Path(tokens["@output"]))
            stdout.write(line)
            stdout.flush()
        return engine.wait()
    finally:
        if engine is not None:
            stop_process(engine)
        shutil.rmtree(folder, ignore_errors=True)


def _close_on_eof(stdin: IO[bytes], engine: subprocess.Popen) -> None:
    with contextlib.suppress(OSError, ValueError):
        while stdin.read(CHUNK):
            pass
    with contextlib.suppress(OSError, ValueError):
        engine.stdin.close()


def end_on_hangup() -> None:
    """A relay's hang-up or kill of the session (the stop signals) ends it through its
    ``finally`` blocks, which remove its folder, as a closed stdin does."""

    def end(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for signum in stop_signals():
        signal.signal(signum, end)


def run_relay() -> int:
    """``python -m styleengine relay``: one run for the caller at the other end."""
    end_on_hangup()
    try:
        return relay(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        return ErrorKind.CANCELLED.exit_code


# --------------------------------------------------------------------------------------------
# The caller's side


@dataclass
class RemoteFiles:
    """The caller's files for one remote run: what is sent (local path by the name the relay
    gets) and where the results go."""

    inputs: dict[str, Path]
    output: Path
    preview: Path | None


def remote_arguments(job: Any) -> tuple[list[str], RemoteFiles]:
    """The ``stylize`` arguments for the relay, from a job (engines.Job): the same options
    by the contract (so the remote refuses nothing the local parser let through), every file
    by a token, a gallery painting by its name."""
    inputs: dict[str, Path] = {}

    def token(path: str) -> str:
        name = sent_name(len(inputs), path)
        inputs[name] = Path(path)
        return f"@{name}"

    arguments = [token(job.content)]
    arguments += [s if s.startswith(GALLERY_PREFIX) else token(s) for s in job.styles]
    for name, value in job.options.items():
        option = OPTIONS_BY_NAME[name]
        # The caller's own stays here; a file of the caller's goes as a token (Option.role).
        if option.role == "local" or value is None or value == option.default:
            continue
        if option.role == "file" and option.per_style:
            for number, path in value:
                arguments += option.command_line((number, token(path)))
        elif option.role == "file":
            arguments += option.command_line(token(value))
        else:
            arguments += option.command_line(value)
    arguments += ["--output", "@output"]
    preview = job.given("preview")
    if preview:
        arguments += ["--preview", "@preview"]
    return arguments, RemoteFiles(inputs, Path(job.output), Path(preview) if preview else None)


def _connect(host: str, remote_python: str, engine_arguments: tuple[str, ...] = ("relay",)):
    """ssh to the relay (or ``engine_arguments``' command) on ``host``: the process, the
    list its stderr's last lines go to, and the thread that collects them."""
    try:
        ssh = subprocess.Popen(
            ssh_command(host, remote_python, engine_arguments), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
    except FileNotFoundError:
        raise BadInputError(
            "--remote needs OpenSSH's ssh command, which is not on this computer's PATH."
        ) from None
    stderr, drain = stderr_tail(ssh.stderr, 20)
    return ssh, stderr, drain


def run_remote(
    host: str,
    remote_python: str,
    arguments: list[str],
    files: RemoteFiles,
    on_event: Callable[[Any], None],
) -> DoneEvent:
    """Run ``stylize`` with ``arguments`` on ``host`` over ssh; its events go to
    ``on_event`` with the caller's own paths (the preview and the result arrive as files
    first). A cancel here (SIGTERM, Ctrl-C) closes the connection, which stops the remote
    engine and removes its folder. EngineError for an ssh, relay or engine failure."""
    ssh, stderr, drain = _connect(host, remote_python)
    try:
        return _talk(ssh, host, remote_python, arguments, files, on_event, stderr, drain)
    finally:
        stop_process(ssh)  # the connection closed: the remote engine stops


def remote_doctor(host: str, remote_python: str, arguments: list[str]) -> int:
    """``doctor`` on ``host``, its lines printed here, after the round trip: how long the
    connection and the engine's start take before a run can begin."""
    started = time.perf_counter()
    ssh, stderr, drain = _connect(host, remote_python)
    try:
        hello = _hello(ssh.stdout.readline())
        seconds = time.perf_counter() - started
    finally:
        stop_process(ssh)
    drain.join(timeout=STOP_PATIENCE_SECONDS)
    if hello is None:
        raise _no_relay(host, remote_python, ssh.returncode, stderr)
    print(f"remote:      {host} (progress protocol {hello.protocol})")
    print(f"round trip:  {seconds:.1f} s to connect and start the engine there")
    sys.stdout.flush()
    command = ssh_command(host, remote_python, ("doctor", *arguments))
    return subprocess.run(command, stdin=subprocess.DEVNULL, check=False).returncode


def greeted(ssh, host: str, remote_python: str, stderr: list[str], drain) -> None:
    """The relay's hello read, or the error that says why none came (ssh's failure, no
    engine there) or why it is not ours (another version)."""
    hello = _hello(ssh.stdout.readline())
    if hello is None:
        ssh.wait(timeout=STOP_PATIENCE_SECONDS * 6)
        drain.join(timeout=STOP_PATIENCE_SECONDS)
        raise _no_relay(host, remote_python, ssh.returncode, stderr)
    if hello != Hello(RELAY_VERSION, PROTOCOL_VERSION):
        raise EngineError(
            f"The engine on {host} speaks another version of the protocol (relay "
            f"{hello.relay}, progress {hello.protocol}; this one {RELAY_VERSION}, "
            f"{PROTOCOL_VERSION}); install the same version there ({INSTALL_COMMAND} --remote "
            f"{typed(host)})."
        )


def _talk(ssh, host, remote_python, arguments, files, on_event, stderr, drain) -> DoneEvent:
    greeted(ssh, host, remote_python, stderr, drain)
    entries = [SentFile(name, path.stat().st_size) for name, path in files.inputs.items()]
    try:
        _write_line(ssh.stdin, Request(
            arguments, entries, f"output{files.output.suffix}",
            f"preview{files.preview.suffix}" if files.preview else None,
        ))  # fmt: skip
        for path in files.inputs.values():
            with open(path, "rb") as source:
                shutil.copyfileobj(source, ssh.stdin, CHUNK)
        ssh.stdin.flush()
    except BrokenPipeError:
        pass  # the relay ended early; what it said comes next
    received: set[str] = set()
    last = None
    for line in ssh.stdout:
        frame = _read_frame(line, FileFrame) if line.startswith(b'{"file"') else None
        if frame is not None:
            target = files.output if frame.file == "output" else files.preview
            if target is None or frame.file not in FileFrame.ROLES:
                raise EngineError(f"The remote engine sent an unexpected file ({frame.file}).")
            _receive_file(ssh.stdout, int(frame.size), target)
            received.add(frame.file)
            continue
        event = read_event(line.decode())
        # The caller's own paths, where the relay's events name the remote's files
        if isinstance(event, PreviewEvent) and files.preview is not None:
            event = replace(event, path=str(files.preview))
        elif isinstance(event, DoneEvent):
            event = replace(event, output=str(files.output))
        if isinstance(event, (StartEvent, ProgressEvent, PreviewEvent)):
            on_event(event)
        elif isinstance(event, (DoneEvent, ErrorEvent)):
            last = event
    if isinstance(last, DoneEvent) and "output" in received:
        return last
    if isinstance(last, ErrorEvent):
        error = EngineError(f"On {host}: {last.message}")
        error.kind = ErrorKind(last.kind)
        raise error
    ssh.wait(timeout=STOP_PATIENCE_SECONDS * 6)
    drain.join(timeout=STOP_PATIENCE_SECONDS)
    tail = " ".join(stderr[-2:]) or f"ssh's exit code {ssh.returncode}"
    raise EngineError(f"The connection to {host} ended before the result came: {tail}.")


def _hello(line: bytes) -> Hello | None:
    """The relay's hello, of whatever version (another version's may carry more fields: it
    is then refused by its versions, in words that say so)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or "relay" not in record:
        return None
    return Hello(record["relay"], record.get("protocol"))


def _no_relay(host: str, remote_python: str, code: int | None, stderr: list[str]) -> EngineError:
    """Why the relay never said hello, in words that say what to do."""
    said = " ".join(stderr[-2:]).strip()
    if code == 255:  # ssh's own failure: the host, the network, the key
        return BadInputError(ssh_refused(host, said))
    return BadInputError(
        f"{host} has no Neural Style engine at {remote_python} ({said or f'exit code {code}'})."
        f" Install it there with: {INSTALL_COMMAND} --remote {typed(host)}"
    )
