"""The dialog's preview on another machine: ``preview-service --remote HOST`` here, and over
ssh ``preview-relay`` there, which runs the preview service (service/preview_service.py) on that
machine's device, in the same kind of connection as a remote run (styleengine/run/remote.py):

1. the relay says hello (``Hello``) once its network is loading;
2. for each request the caller sends one line (``RemotePreview``: the request, its files
   named by tokens, and the files that follow: only those not sent before or changed since),
   then their bytes;
3. the relay answers with the service's events; before each frame event it sends the frame
   (``FileFrame`` and its bytes), which the caller writes into its own folder.

The caller's end of the connection is the service's: when the dialog stops its engine here,
the connection closes, the service there stops and its private folder (0700) is removed.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import IO, Any

from ..contract import (
    GALLERY_PREFIX,
    PROTOCOL_VERSION,
    STOP_PATIENCE_SECONDS,
    ErrorEvent,
    Event,
    FrameEvent,
    PreviewRequest,
    ProtocolError,
    event_line,
    read_event,
    stop_process,
)
from ..errors import BadInputError, EngineError
from ..run.protocol import SafeStream
from ..run.remote import (
    CHUNK,
    RELAY_VERSION,
    RUN_FOLDER_PREFIX,
    FileFrame,
    Hello,
    SentFile,
    _connect,
    _read_frame,
    _receive_file,
    _send_file,
    _write_line,
    end_on_hangup,
    greeted,
    sent_name,
)
from .preview_service import Inbox, serve

# What a frame sent back may be called: the service's own names, nothing with a folder.
FRAME_NAME = re.compile(r"frame-[a-z]+\.npy")


@dataclass(frozen=True)
class RemotePreview:
    """A preview request as it crosses the connection: its file fields hold tokens
    (``@name``) or gallery names, and ``files`` lists the files whose bytes follow."""

    request: dict[str, Any]
    files: list[SentFile]

    def __post_init__(self) -> None:
        if not isinstance(self.request, dict) or not isinstance(self.files, list):
            raise BadInputError("The preview caller sent a request of another form.")
        object.__setattr__(self, "files", [
            f if isinstance(f, SentFile) else SentFile(str(f["name"]), int(f["size"]))
            for f in self.files
        ])  # fmt: skip


def _with_paths(request: PreviewRequest, place: Any) -> PreviewRequest:
    """``request`` with each file it names passed through ``place`` (gallery names kept)."""

    def placed(value: str) -> str:
        return value if value.startswith(GALLERY_PREFIX) else place(value)

    return replace(
        request,
        content=placed(request.content),
        styles=[placed(style) for style in request.styles],
        regions={number: placed(mask) for number, mask in request.regions.items()},
        strength_map=None if request.strength_map is None else placed(request.strength_map),
    )


# --------------------------------------------------------------------------------------------
# The remote end


def preview_relay(
    stdin: IO[bytes], stdout: IO[bytes], weights: str, device: str, precision: str
) -> int:
    """Serve the caller at the other end of ``stdin`` and ``stdout`` until it goes."""
    _write_line(stdout, Hello(RELAY_VERSION, PROTOCOL_VERSION))
    folder = Path(tempfile.mkdtemp(prefix=RUN_FOLDER_PREFIX))  # private: 0700
    writing = threading.Lock()

    def emit(event: Event) -> None:
        with writing:
            if isinstance(event, FrameEvent):
                _send_file(stdout, Path(event.path).name, Path(event.path))
                event = replace(event, path=Path(event.path).name)
            stdout.write(event_line(event).encode())
            stdout.flush()

    inbox = Inbox()
    threading.Thread(target=_receive, args=(stdin, folder, inbox, emit), daemon=True).start()
    try:
        serve(weights, device, precision, folder, inbox, emit)
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _receive(stdin: IO[bytes], folder: Path, inbox: Inbox, emit: Any) -> None:
    """The caller's requests and their files, into ``inbox`` and ``folder``; its end is the
    inbox's (and a request of another form ends the connection)."""
    try:
        while (line := stdin.readline()) is not None and line:
            sent = _read_frame(line, RemotePreview)
            if sent is None:
                break
            for entry in sent.files:
                if not re.fullmatch(r"input[0-9]+(\.[a-z0-9]{1,10})?", entry.name):
                    raise BadInputError(f"The preview caller sent a file named {entry.name!r}.")
                _receive_file(stdin, entry.size, folder / entry.name)
            tokens = {f"@{p.name}": str(p) for p in folder.glob("input*")}
            try:
                request = PreviewRequest(**sent.request)
            except TypeError:
                break
            inbox.put(_with_paths(request, partial(_placed, tokens)))
    except (EngineError, OSError, ValueError) as error:
        emit(ErrorEvent("bad_input", str(error)))
    finally:
        inbox.end()


def _placed(tokens: dict[str, str], token: str) -> str:
    """Where the file a token names landed here (an unknown token stays as it is, and fails
    to be read as a file: the caller is told in its request's error)."""
    return tokens.get(token, token)


def run_preview_relay(weights: str, device: str, precision: str) -> int:
    """``python -m styleengine preview-relay``: previews for the caller at the other end."""
    end_on_hangup()
    try:
        return preview_relay(sys.stdin.buffer, sys.stdout.buffer, weights, device, precision)
    except BrokenPipeError:
        return 0


# --------------------------------------------------------------------------------------------
# The caller's side


class _Sender:
    """The dialog's requests, sent over the connection with the files they name; a file is
    sent once, and again only when it changed."""

    def __init__(self, connection: IO[bytes], out: Any) -> None:
        self.connection = connection
        self.out = out
        self.sent: dict[str, tuple[tuple[int, int], str]] = {}

    def run(self, stdin: IO[str]) -> None:
        for line in stdin:
            try:
                request = read_event(line)
            except ProtocolError:
                continue
            if isinstance(request, PreviewRequest):
                try:
                    self.send(request)
                except OSError as error:
                    if not isinstance(error, BrokenPipeError):
                        self.out(ErrorEvent("bad_input", f"{error.filename}: {error.strerror}",
                                            request.request))  # fmt: skip
                        continue
                    break
        _close(self.connection)

    def send(self, request: PreviewRequest) -> None:
        files: list[tuple[str, Path]] = []

        def token(path: str) -> str:
            stat = Path(path).stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            known = self.sent.get(path)
            if known is None or known[0] != stamp:
                name = known[1] if known else sent_name(len(self.sent), path)
                files.append((name, Path(path)))
                self.sent[path] = (stamp, name)
            return f"@{self.sent[path][1]}"

        remote = _with_paths(request, token)
        entries = [SentFile(name, path.stat().st_size) for name, path in files]
        _write_line(self.connection, RemotePreview(asdict(remote), entries))
        for _name, path in files:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, self.connection, CHUNK)
        self.connection.flush()


def _close(stream: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        stream.close()


def run_remote_previews(
    host: str, remote_python: str, folder: Path, options: list[str], stdin: IO[str],
    stdout: IO[str],
) -> int:  # fmt: skip
    """The preview service on ``host``, spoken to here as a local one is: requests from
    ``stdin``, events to ``stdout`` with frames written into ``folder``."""
    if not folder.is_dir():
        raise BadInputError(f"--folder {folder} is not a folder.")
    ssh, stderr, drain = _connect(host, remote_python, ("preview-relay", *options))
    try:
        greeted(ssh, host, remote_python, stderr, drain)
        out = SafeStream(stdout)
        writing = threading.Lock()

        def emit(event: Event) -> None:
            with writing:
                out.write(event_line(event))

        sender = _Sender(ssh.stdin, emit)
        threading.Thread(target=sender.run, args=(stdin,), daemon=True).start()
        while line := ssh.stdout.readline():
            frame = _read_frame(line, FileFrame) if line.startswith(b'{"file"') else None
            if frame is not None:
                if not FRAME_NAME.fullmatch(frame.file):
                    raise EngineError(f"The remote engine sent an unexpected file ({frame.file}).")
                _receive_file(ssh.stdout, int(frame.size), folder / frame.file)
                continue
            try:
                event = read_event(line.decode(errors="replace"))
            except ProtocolError:
                continue
            if isinstance(event, FrameEvent):
                event = replace(event, path=str(folder / Path(event.path).name))
            if event is not None:
                emit(event)
        ssh.wait(timeout=STOP_PATIENCE_SECONDS * 6)
        return 0
    finally:
        stop_process(ssh)
