"""Running the engine (engine_process.py): its events read back, its failures in one message."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "gimp_plugin" / "neural_style"))
import engine_link  # noqa: E402
import engine_process  # noqa: E402
import flatpak  # noqa: E402
from engine_link import LinkError, contract  # noqa: E402


def _progress(**changes):
    fields = dict(stage="scale", scale=2, scales=3, width=64, height=48, iteration=140,
                  total=300, losses={}, elapsed=10.0, seconds_left=150.0)  # fmt: skip
    return contract.ProgressEvent(**{**fields, **changes})


def test_progress_lines_read_as_the_user_sees_the_run():
    event = engine_process.parse_event(contract.event_line(_progress()))
    assert event == _progress()
    assert engine_link.progress_text(event) == (
        "Neural Style: scale 2/3, iteration 140/300, about 2 min left"
    )
    assert event.fraction() == pytest.approx(140 / 300)
    tile = _progress(stage="detail", tile=3, tiles=12, iteration=300, total=305)
    assert engine_link.progress_text(tile) == (
        "Neural Style: detail pass, tile 3/12, about 2 min left"
    )
    assert tile.fraction() == pytest.approx(300.25 / 305)
    start = contract.StartEvent(
        device="cpu", precision="fp32", weights="hed", content_size=[800, 600],
        output_size=[800, 600], working_size=[800, 600], working_size_automatic=True,
        scales=[[800, 600]], total_iterations=115, detail=contract.DetailPass(5, 48),
        estimated_seconds=400, estimated_peak_bytes=1,
    )  # fmt: skip
    assert engine_link.plan_text(start) == (
        "Neural Style: working at 800x600, then a detail pass in 48 tiles, about 7 min left"
    )
    assert engine_process.parse_event("Traceback (most recent call last):") is None
    assert engine_process.parse_event("[1, 2]") is None


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"event": "start", "protocol": 2}', "another version of the progress protocol"),
        ('{"event": "painting", "stroke": 1}', "another version of the progress protocol"),
    ],
)
def test_an_event_of_another_protocol_is_one_message_saying_what_to_do(line, words):
    with pytest.raises(LinkError, match=words) as raised:
        engine_process.parse_event(line)
    assert "install.py" in str(raised.value)


def test_an_engine_of_another_protocol_version_is_stopped_at_its_first_event(tmp_path):
    """An engine that starts with protocol 2 (newer) or 0 (older) is stopped there, and the
    user is told which of the two is newer."""
    for version, age in ((2, "newer"), (0, "older")):
        start = contract.StartEvent(
            device="cpu", precision="fp32", weights="hed", content_size=[8, 8],
            output_size=[8, 8], working_size=[8, 8], working_size_automatic=True,
            scales=[[8, 8]], total_iterations=1, detail=None, estimated_seconds=1.0,
            estimated_peak_bytes=1, protocol=version,
        )  # fmt: skip
        engine = tmp_path / "engine.py"
        engine.write_text(
            f"import time\nprint({contract.event_line(start)!r}, end='', flush=True)\n"
            "time.sleep(60)\n"
        )
        seen = []
        with pytest.raises(LinkError, match=f"engine is {age} than this plug-in"):
            engine_process.run_engine(sys.executable, [str(engine)], seen.append)
        assert seen == []


def test_engine_environment_drops_gimp_python_variables():
    """GIMP's PYTHONPATH and PYTHONHOME would steer the engine into GIMP's Python; the
    engine's pipes speak UTF-8 whatever the system's code page."""
    cleaned = engine_process.engine_environment(
        {"PYTHONPATH": "/gimp/lib", "PYTHONHOME": "/gimp", "HOME": "/home/u", "PATH": "/bin"}
    )
    assert cleaned == {"HOME": "/home/u", "PATH": "/bin", "PYTHONUTF8": "1",
                       "PYTHONIOENCODING": "utf-8"}  # fmt: skip


def test_run_engine_reports_engine_errors(tmp_path, engine_env, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # dropped for the child, like GIMP's
    seen = []
    missing, style, output = tmp_path / "none.npy", tmp_path / "s.npy", tmp_path / "o.npy"
    arguments = ["-m", "styleengine", "stylize", str(missing), str(style), "-o", str(output),
                 "--progress", "json"]  # fmt: skip
    monkeypatch.chdir(REPO)  # the checkout's engine is importable from the working folder
    result = engine_process.run_engine(sys.executable, arguments, seen.append)
    assert not result.ok and result.kind == "bad_input" and "none.npy" in result.message


def test_engine_gets_no_console_window_on_windows_only():
    assert engine_process.engine_process_options("win32") == {"creationflags": 0x08000000}
    assert engine_process.engine_process_options("linux") == {}


def test_a_sandbox_refusal_says_the_command_that_allows_it(tmp_path, monkeypatch):
    """A simulated sandbox whose flatpak-spawn is refused, as Flathub's GIMP is by default."""
    refusing = tmp_path / "flatpak-spawn"
    refusing.write_text(
        "#!/bin/sh\necho 'Portal call failed: org.freedesktop.DBus.Error.ServiceUnknown' >&2\n"
        "exit 1\n"
    )
    refusing.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(engine_process, "in_flatpak", lambda info=None: True)
    result = engine_process.run_engine(sys.executable, ["-c", "pass"], lambda event: None)
    assert not result.ok and result.sandbox_refused
    message = engine_process.failure_message(result)
    assert flatpak.FLATPAK_ALLOW in message and "Traceback" not in message


def test_every_event_the_engine_writes_the_plugin_reads_back_whole():
    """The plug-in reads with its own copy of the contract (beside it when installed): each
    event the engine's contract writes comes back as the same event in the plug-in's class."""
    from styleengine import contract as engine_contract

    written = [
        engine_contract.ProgressEvent(
            stage="detail", scale=1, scales=1, width=8, height=8, iteration=3, total=5,
            losses={"total": 1.5, "style": None}, elapsed=2.0, seconds_left=9.0, tile=2,
            tiles=4,
        ),
        engine_contract.PreviewEvent("/tmp/p.npy", 3),
        engine_contract.DoneEvent("/tmp/out.png", 2.5),
        engine_contract.ErrorEvent("bad_input", "No such file."),
    ]  # fmt: skip
    for event in written:
        read = engine_process.parse_event(engine_contract.event_line(event))
        assert type(read) is contract.EVENT_CLASSES[event.name] and vars(read) == vars(event)
