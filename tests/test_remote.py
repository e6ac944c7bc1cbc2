"""The engine on another machine over ssh (styleengine.run.remote), against a real OpenSSH
server on 127.0.0.1 (tests/ssh_server.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import ssh_server
from conftest import make_content, run_cli, save_pair
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from styleengine import contract
from styleengine.contract import SSH_CONFIG_VARIABLE
from styleengine.errors import ErrorKind
from styleengine.run.remote import RUN_FOLDER_PREFIX


@pytest.fixture
def pair(tmp_path):
    return save_pair(tmp_path, (48, 64), 64)


def _stylize(content, style, output, *options):
    return ["stylize", str(content), str(style), "-o", str(output), "--weights", "hed",
            "--device", "cpu", "--iterations", "3", "--progress", "json", *options]  # fmt: skip


def _remote(*options, python=sys.executable):
    return ["--remote", ssh_server.HOST_ALIAS, "--remote-python", python, *options]


def _events(stdout: str) -> list:
    return [contract.read_event(line) for line in stdout.splitlines()]


def _remote_folders() -> list[Path]:
    return list(Path("/tmp").glob(RUN_FOLDER_PREFIX + "*"))


def test_a_remote_run_gives_the_local_runs_picture_with_its_events_and_previews(
    pair, tmp_path, remote_env, hed_weights
):
    content, style = pair
    local, remote = tmp_path / "local.npy", tmp_path / "remote.npy"
    preview = tmp_path / "preview.npy"
    done = run_cli(_stylize(content, style, local, "--seed", "3"), remote_env)
    assert done.returncode == 0, done.stderr
    done = run_cli(
        _stylize(content, style, remote, "--seed", "3", "--preview", str(preview),
                 "--preview-every", "1", *_remote()),
        remote_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # The same machine, the same seed: the same picture, bit for bit, and the same mode.
    assert np.array_equal(np.load(local), np.load(remote))
    assert local.stat().st_mode & 0o777 == remote.stat().st_mode & 0o777
    events = _events(done.stdout)
    assert isinstance(events[0], contract.StartEvent) and events[0].total_iterations == 3
    assert [e.iteration for e in events if isinstance(e, contract.ProgressEvent)] == [0, 1, 2, 3]
    previews = [e for e in events if isinstance(e, contract.PreviewEvent)]
    assert previews and all(e.path == str(preview) for e in previews)  # the caller's path
    assert preview.is_file() and np.load(preview).shape == np.load(remote).shape
    assert isinstance(events[-1], contract.DoneEvent) and events[-1].output == str(remote)
    assert _remote_folders() == []  # the remote run's folder is gone with it


def test_painting_by_regions_on_a_remote_gives_the_local_picture(tmp_path, remote_env, hed_weights):
    """Every file an option names reaches the remote, N=PATH values included: a region's
    mask was sent, then named as '@input2.png' there (issue 48, family 5). The second painting
    is the gallery's, which travels by name and is read there from the remote's gallery."""
    content, first = save_pair(tmp_path, (48, 64), 64)
    second = "gallery:munch_the_scream"
    mask = np.zeros((48, 64), np.uint8)
    mask[:, :32] = 255
    left = tmp_path / "left.png"
    Image.fromarray(mask).save(left)

    def arguments(output: Path, *extra: str) -> list[str]:
        return ["stylize", str(content), str(first), str(second), "-o", str(output),
                "--weights", "hed", "--device", "cpu", "--iterations", "3", "--seed", "2",
                "--progress", "json", "--style-region", f"1={left}", "--strength-map",
                str(left), *extra]  # fmt: skip

    local, remote = tmp_path / "local.npy", tmp_path / "remote.npy"
    done = run_cli(arguments(local), remote_env)
    assert done.returncode == 0, done.stderr
    done = run_cli(arguments(remote, *_remote()), remote_env)
    assert done.returncode == 0, done.stderr
    assert np.array_equal(np.load(local), np.load(remote))
    assert _remote_folders() == []


def test_the_processes_that_only_carry_the_files_never_load_pytorch(
    pair, tmp_path, remote_env, hed_weights
):
    """The caller of a remote run and the relay there only pass files on: without PyTorch
    they start at once and hold little memory (a 24 MP photo through both: BENCHMARKS.md)."""
    probe = (
        "import sys; from styleengine.cli import main; code = main(sys.argv[1:]); "
        "print(code, 'torch' in sys.modules)"
    )

    def loaded(arguments: list[str]) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", probe, *arguments], input="", capture_output=True,
            text=True, env=remote_env, timeout=300,
        )  # fmt: skip
        return done.stdout.split()[-2:]

    content, style = pair
    output = tmp_path / "remote.png"
    assert loaded(_stylize(content, style, output, "--progress", "none", *_remote())) == [
        "0", "False"
    ]  # fmt: skip
    assert output.is_file()
    relay_code, relay_torch = loaded(["relay"])  # no request: refused, after its start
    assert relay_code == str(ErrorKind.BAD_INPUT.exit_code) and relay_torch == "False"


@pytest.mark.parametrize(
    "name", ["$(touch PWNED).png", "; rm -rf ~ ;.png", "`touch PWNED`.png", "-o x.png"]
)
def test_a_file_name_reaches_no_shell(name, pair, tmp_path, remote_env, hed_weights):
    content, style = pair
    hostile = tmp_path / name
    content.rename(hostile)
    output = tmp_path / "out.png"
    done = run_cli(_stylize(hostile, style, output, *_remote()), remote_env)
    assert done.returncode == 0, done.stderr
    assert output.is_file() and hostile.is_file()
    assert not list(tmp_path.glob("PWNED")) and not Path.home().joinpath("PWNED").exists()


def test_killing_the_ssh_client_stops_the_remote_engine_and_removes_its_folder(
    pair, tmp_path, remote_env, hed_weights
):
    content, style = pair
    big = tmp_path / "big.png"
    Image.fromarray((make_content(384, 512) * 255).astype(np.uint8)).save(big)
    process = subprocess.Popen(
        [sys.executable, "-m", "styleengine",
         *_stylize(big, style, tmp_path / "out.png", "--iterations", "500", *_remote())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=remote_env, text=True,
    )  # fmt: skip
    for line in process.stdout:  # until the remote engine is optimizing
        if isinstance(contract.read_event(line), contract.ProgressEvent):
            break
    assert _remote_folders(), "the remote run's folder should exist while it runs"
    ssh = _children(process.pid, "ssh")
    assert ssh, "the caller should run ssh"
    os.kill(ssh[0], signal.SIGKILL)  # the connection drops
    deadline = time.monotonic() + 10
    while (_remote_folders() or _engines_of(RUN_FOLDER_PREFIX)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _remote_folders() == [] and _engines_of(RUN_FOLDER_PREFIX) == []
    process.wait(timeout=30)
    assert process.returncode != 0 and not (tmp_path / "out.png").exists()


def test_cancelling_the_caller_cancels_the_remote_run(pair, tmp_path, remote_env, hed_weights):
    content, style = pair
    process = subprocess.Popen(
        [sys.executable, "-m", "styleengine",
         *_stylize(content, style, tmp_path / "out.png", "--iterations", "5000", *_remote())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=remote_env, text=True,
    )  # fmt: skip
    for line in process.stdout:
        if isinstance(contract.read_event(line), contract.ProgressEvent):
            break
    process.send_signal(signal.SIGTERM)
    stdout, _stderr = process.communicate(timeout=30)
    assert process.returncode == ErrorKind.CANCELLED.exit_code
    assert contract.read_event(stdout.splitlines()[-1]).kind == "cancelled"
    deadline = time.monotonic() + 10
    while _remote_folders() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _remote_folders() == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"port": True}, "Could not connect to"),
        ({"key": True}, "Permission denied"),
        ({"python": "/nonexistent/python"}, "has no Neural Style engine at /nonexistent/python"),
    ],
    ids=["unreachable", "refused key", "no engine there"],
)
def test_each_remote_failure_is_one_message_saying_what_to_do(
    change, words, pair, tmp_path, server, remote_env
):
    content, style = pair
    config = server.config.read_text()
    if change.get("port"):
        config = config.replace(f"Port {server.port}", f"Port {ssh_server._free_port()}")
    if change.get("key"):
        config = config.replace(str(server.user_key), str(server.folder / "stranger_key"))
    edited = tmp_path / "ssh_config"
    edited.write_text(config)
    env = {**remote_env, SSH_CONFIG_VARIABLE: str(edited)}
    python = change.get("python", sys.executable)
    done = run_cli(_stylize(content, style, tmp_path / "o.png", *_remote(python=python)), env)
    assert done.returncode == ErrorKind.BAD_INPUT.exit_code, done.stdout + done.stderr
    last = contract.read_event(done.stdout.splitlines()[-1])
    assert isinstance(last, contract.ErrorEvent) and words in last.message, last.message
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o.png").exists()


def test_the_remote_engine_refuses_what_the_local_one_would_in_its_words(
    pair, tmp_path, remote_env, hed_weights
):
    content, style = pair
    options = ["--content-layers", "relu9_9"]
    local = run_cli(_stylize(content, style, tmp_path / "a.png", *options), remote_env)
    remote = run_cli(_stylize(content, style, tmp_path / "b.png", *options, *_remote()), remote_env)
    assert local.returncode == remote.returncode == ErrorKind.BAD_INPUT.exit_code
    said = [contract.read_event(d.stdout.splitlines()[-1]).message for d in (local, remote)]
    assert said[1] == f"On {ssh_server.HOST_ALIAS}: {said[0]}"


def _children(pid: int, name: str) -> list[int]:
    """The processes ``pid`` started whose program is ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and Path(command).name == name:
            found.append(int(entry.name))
    return found


def _engines_of(marker: str) -> list[int]:
    """Running engines whose command line names a remote run's folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_doctor_says_the_remotes_device_speed_and_round_trip(remote_env, hed_weights):
    done = run_cli(
        ["doctor", "--weights", "hed", "--device", "cpu", *_remote()], remote_env, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"remote:      {ssh_server.HOST_ALIAS} (progress protocol 1)"
    assert lines[1].startswith("round trip:  ") and lines[1].endswith(
        " s to connect and start the engine there"
    )
    assert any(line.startswith("device:      cpu") for line in lines)
    assert any(line.startswith("speed:       ") for line in lines)
    assert lines[-1] == "ok: the engine can run"


@given(
    names=st.lists(
        st.text(st.characters(exclude_characters="/\0", exclude_categories=("Cs",)),
                min_size=1, max_size=30).filter(lambda n: n not in (".", "..")),
        min_size=4, max_size=4, unique=True,
    )
)  # fmt: skip
@example(names=["1", "00", "0.=", "0"])  # a suffix of no kind: its token was '@input3.='
@settings(max_examples=200, deadline=None)
def test_no_file_name_of_the_callers_reaches_the_remote_command(names):
    """The family of hostile names, generated: whatever the photo, paintings, masks, result
    and preview are called, the relay gets the caller's options and tokens, never a path."""
    from styleengine.cli import build_parser
    from styleengine.engines import Job
    from styleengine.run.remote import remote_arguments

    folder = "/home/user/my pictures"
    content, style, mask, output = (f"{folder}/{name}" for name in names)
    args = build_parser().parse_args(
        ["stylize", content, style, "gallery:munch_the_scream", "-o", output,
         "--style-region", f"1={mask}", "--strength-map", mask, "--preview", output + ".npy",
         "--preview-seconds", "3", "--iterations", "7", "--remote", "gpubox"]
    )  # fmt: skip
    arguments, files = remote_arguments(Job.of_arguments(args))
    assert not [a for a in arguments if folder in a]  # every path the caller gave stays here
    assert set(files.inputs.values()) == {Path(content), Path(style), Path(mask)}
    # each sent file by the plain name the relay gets, with no folder in it
    assert all(Path(name).name == name and "/" not in name for name in files.inputs)
    sent = {a.split("=", 1)[-1] for a in arguments}
    assert {f"@{name}" for name in files.inputs} <= sent
    assert files.output == Path(output) and files.preview == Path(output + ".npy")
    assert "gallery:munch_the_scream" in arguments and "--iterations" in arguments


def test_advice_quotes_the_host_as_the_user_types_it_back():
    """A host of ssh's config may hold a space: the advice's commands keep it one word."""
    from styleengine.run.remote import _no_relay

    refused = _no_relay("gpu box", "/opt/py", 255, ["Permission denied (publickey)."])
    assert "'ssh '\"'\"'gpu box'\"'\"'' works" not in refused.message
    assert "ssh 'gpu box'" in refused.message
    missing = _no_relay("gpu box", "/opt/py", 127, ["/opt/py: not found"])
    assert missing.message.endswith("--remote 'gpu box'")


@given(size=st.integers(1, 5000), arrived=st.floats(0.0, 0.999))
@settings(max_examples=30, deadline=None)
def test_a_file_cut_short_by_a_dead_connection_leaves_nothing(tmp_path_factory, size, arrived):
    """The connection dies mid-file (issue 48, family 5): one line saying so, and neither the
    result nor a part of it where it was to go (an older result there is kept as it was)."""
    import io

    from styleengine.errors import EngineError as Failure
    from styleengine.run.remote import _receive_file

    folder = tmp_path_factory.mktemp("arrivals")
    target = folder / "result.png"
    target.write_bytes(b"the user's older result")
    stream = io.BytesIO(b"x" * int(size * arrived))
    with pytest.raises(Failure, match="ended mid-file"):
        _receive_file(stream, size, target)
    assert sorted(p.name for p in folder.iterdir()) == ["result.png"]
    assert target.read_bytes() == b"the user's older result"
