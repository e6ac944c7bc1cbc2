"""The plug-in's link to the engine (engine_link.py): standard library only, no GIMP."""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "gimp_plugin" / "neural_style"))
import engine_link  # noqa: E402
from engine_link import LinkError, StyleRequest, contract  # noqa: E402


@pytest.mark.parametrize("shape", [(3, 5, 1), (4, 2, 3), (7, 9, 4)])
def test_npy_writer_is_read_by_numpy(tmp_path, shape):
    pixels = np.random.default_rng(0).random(shape).astype("<f4")
    engine_link.write_npy(tmp_path / "a.npy", *shape, pixels.tobytes())
    assert np.array_equal(np.load(tmp_path / "a.npy"), pixels)
    assert (tmp_path / "a.npy").read_bytes()[:128].index(b"\n") % 64 == 63  # data aligned


def test_npy_reader_reads_numpy_files(tmp_path):
    pixels = np.random.default_rng(1).random((5, 6, 3)).astype(np.float32)
    np.save(tmp_path / "b.npy", pixels)
    shape, data = engine_link.read_npy(tmp_path / "b.npy")
    assert shape == (5, 6, 3)
    assert np.array_equal(np.frombuffer(data, "<f4").reshape(shape), pixels)


def test_8bit_values_round_trip_exactly(tmp_path):
    levels = (np.arange(256, dtype=np.float32) / 255).reshape(16, 16, 1)
    engine_link.write_npy(tmp_path / "c.npy", 16, 16, 1, levels.tobytes())
    _shape, data = engine_link.read_npy(tmp_path / "c.npy")
    back = np.round(np.frombuffer(data, "<f4") * 255).astype(int)
    assert list(back) == list(range(256))


def test_npy_reader_refuses_other_dtypes(tmp_path):
    np.save(tmp_path / "d.npy", np.zeros((2, 2, 3), np.float64))
    with pytest.raises(ValueError, match="float32"):
        engine_link.read_npy(tmp_path / "d.npy")


def test_engine_arguments_are_accepted_by_the_engine(tmp_path):
    from styleengine.cli import _settings_from, build_parser

    options = {"iterations": 120, "working_size": 512, "preserve_colors": "luminance",
               "style_scale": 1.5, "seed": 3, "device": "gpu"}  # fmt: skip
    request = StyleRequest(strength=70, options=options)
    arguments = engine_link.engine_arguments(
        request, tmp_path / "c.npy", [tmp_path / "s.npy"], tmp_path / "o.npy", "hed"
    )
    assert arguments[:3] == ["-m", "styleengine", "stylize"]
    parsed = build_parser().parse_args(arguments[2:])
    assert parsed.iterations == 120 and parsed.working_size == 512 and parsed.device == "gpu"
    assert parsed.preserve_colors == "luminance" and parsed.style_scale == 1.5
    assert parsed.progress == "json" and parsed.weights == "hed" and parsed.seed == 3
    # The dialog's Strength reaches the engine as its own option, the same number.
    settings = _settings_from(parsed, "cpu")
    assert parsed.strength == 70 and settings.palette == contract.palette_for(70)
    assert settings.style_weight == contract.style_weight_for(70)
    plain = engine_link.engine_arguments(StyleRequest(), Path("c"), [Path("s")], Path("o"), "auto")
    parsed_plain = build_parser().parse_args(plain[2:])
    assert parsed_plain.working_size == 0 and parsed_plain.style_blend is None  # automatic
    two = engine_link.engine_arguments(
        StyleRequest(), Path("c"), [Path("a"), Path("b")], Path("o"), "auto", [1.0, 0.5]
    )
    parsed_two = build_parser().parse_args(two[2:])
    assert parsed_two.styles == ["a", "b"] and parsed_two.style_blend == (1.0, 0.5)
    assert engine_link.result_layer_name(["Starry", "Scream"]) == "Neural Style (Starry + Scream)"


def test_live_preview_is_for_the_dialog_unless_a_script_asks():
    dialog, script = True, False
    assert StyleRequest().shows_preview(dialog) and not StyleRequest().shows_preview(script)
    assert StyleRequest(live_preview="always").shows_preview(script)
    assert not StyleRequest(live_preview="never").shows_preview(dialog)
    with pytest.raises(LinkError, match="live preview"):
        StyleRequest(live_preview="sometimes").shows_preview(dialog)
    from styleengine.cli import build_parser

    with_preview = engine_link.engine_arguments(
        StyleRequest(), Path("c"), [Path("s")], Path("o"), "auto", preview=Path("p.npy")
    )
    parsed = build_parser().parse_args(with_preview[2:])
    assert parsed.preview == "p.npy" and parsed.preview_seconds == engine_link.PREVIEW_SECONDS
    without = engine_link.engine_arguments(
        StyleRequest(), Path("c"), [Path("s")], Path("o"), "auto"
    )
    assert "--preview" not in without


def _progress(**changes):
    fields = dict(stage="scale", scale=2, scales=3, width=64, height=48, iteration=140,
                  total=300, losses={}, elapsed=10.0, seconds_left=150.0)  # fmt: skip
    return contract.ProgressEvent(**{**fields, **changes})


def test_progress_lines_read_as_the_user_sees_the_run():
    event = engine_link.parse_event(contract.event_line(_progress()))
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
        scales=[[800, 600]], total_iterations=115, detail={"iterations": 5, "tiles": 48},
        estimated_seconds=400, estimated_peak_bytes=1,
    )  # fmt: skip
    assert engine_link.plan_text(start) == (
        "Neural Style: working at 800x600, then a detail pass in 48 tiles, about 7 min left"
    )
    assert engine_link.parse_event("Traceback (most recent call last):") is None
    assert engine_link.parse_event("[1, 2]") is None


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"event": "start", "protocol": 2}', "another version of the progress protocol"),
        ('{"event": "painting", "stroke": 1}', "another version of the progress protocol"),
    ],
)
def test_an_event_of_another_protocol_is_one_message_saying_what_to_do(line, words):
    with pytest.raises(LinkError, match=words) as raised:
        engine_link.parse_event(line)
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
            engine_link.run_engine(sys.executable, [str(engine)], seen.append)
        assert seen == []


def test_config_missing_or_damaged_says_how_to_repair(tmp_path):
    with pytest.raises(LinkError, match="install.py"):
        engine_link.load_config(tmp_path)
    (tmp_path / engine_link.CONFIG_NAME).write_text("{broken")
    with pytest.raises(LinkError, match="damaged"):
        engine_link.load_config(tmp_path)
    (tmp_path / engine_link.CONFIG_NAME).write_text(json.dumps({"python": "/no/such/python"}))
    with pytest.raises(LinkError, match="does not exist"):
        engine_link.load_config(tmp_path)


def test_engine_environment_drops_gimp_python_variables():
    cleaned = engine_link.engine_environment(
        {"PYTHONPATH": "/gimp/lib", "PYTHONHOME": "/gimp", "HOME": "/home/u", "PATH": "/bin"}
    )
    assert cleaned == {"HOME": "/home/u", "PATH": "/bin"}


def test_work_dir_is_private_and_stale_ones_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_link.tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / (engine_link.TEMP_PREFIX + "old")
    stale.mkdir()
    (stale / engine_link.PID_FILE).write_text("999999999")  # no such process
    work = engine_link.make_work_dir()
    assert not stale.exists()
    assert work.parent == tmp_path and oct(work.stat().st_mode & 0o777) == "0o700"


def test_run_engine_reports_engine_errors(tmp_path, engine_env, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # dropped for the child, like GIMP's
    seen = []
    missing, style, output = tmp_path / "none.npy", tmp_path / "s.npy", tmp_path / "o.npy"
    arguments = ["-m", "styleengine", "stylize", str(missing), str(style), "-o", str(output),
                 "--progress", "json"]  # fmt: skip
    monkeypatch.chdir(REPO)  # the checkout's engine is importable from the working folder
    result = engine_link.run_engine(sys.executable, arguments, seen.append)
    assert not result.ok and result.kind == "bad_input" and "none.npy" in result.message


def test_plugin_file_uses_only_standard_library_and_gi():
    allowed = set(sys.stdlib_module_names) | {"gi", "engine_link"}
    for name in ("neural_style.py", "engine_link.py"):
        tree = ast.parse((REPO / "gimp_plugin" / "neural_style" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] in allowed, f"{name} imports {module}"
    assert os.access(REPO / "gimp_plugin" / "neural_style" / "neural_style.py", os.X_OK)


class _FakeKernel32:
    """The three kernel32 calls the Windows liveness test makes, answering like Windows."""

    def __init__(self, processes: dict[int, int], denied: tuple[int, ...] = ()) -> None:
        self.processes = processes  # pid -> exit code (259: still running)
        self.denied = denied
        self.last_error = 0
        self.closed: list[int] = []

    def OpenProcess(self, access, inherit, pid):  # noqa: N802 (the Windows API's name)
        if pid in self.denied:
            self.last_error = 5
            return 0
        if pid not in self.processes:
            self.last_error = 87  # ERROR_INVALID_PARAMETER: no such process
            return 0
        return pid + 1000

    def GetLastError(self):  # noqa: N802
        return self.last_error

    def GetExitCodeProcess(self, handle, code_pointer):  # noqa: N802
        code_pointer._obj.value = self.processes[handle - 1000]
        return 1

    def CloseHandle(self, handle):  # noqa: N802
        self.closed.append(handle)
        return 1


def test_windows_liveness_never_signals_and_reads_the_exit_code():
    kernel32 = _FakeKernel32({10: 259, 11: 0}, denied=(12,))
    alive = {pid: engine_link._process_alive(pid, "win32", kernel32) for pid in (10, 11, 12, 13)}
    assert alive == {10: True, 11: False, 12: True, 13: False}
    assert kernel32.closed == [1010, 1011]  # every opened handle is closed


def test_engine_gets_no_console_window_on_windows_only():
    assert engine_link.engine_process_options("win32") == {"creationflags": 0x08000000}
    assert engine_link.engine_process_options("linux") == {}


def test_plugin_asks_the_engine_to_stop_when_its_pipe_closes():
    arguments = engine_link.engine_arguments(
        StyleRequest(), Path("c.npy"), [Path("s.npy")], Path("o.npy"), "hed"
    )
    assert "--cancel-on-stdin-eof" in arguments


def test_inside_a_flatpak_the_engine_starts_on_the_host(tmp_path):
    info = tmp_path / ".flatpak-info"
    assert not engine_link.in_flatpak(info)
    info.write_text("[Application]\nname=org.gimp.GIMP\n")
    assert engine_link.in_flatpak(info)
    command = engine_link.engine_command("/home/u/venv/bin/python", ["-m", "styleengine"], True)
    assert command[:3] == ["flatpak-spawn", "--host", "--watch-bus"]
    assert command[3:] == ["/home/u/venv/bin/python", "-m", "styleengine"]
    assert engine_link.engine_command("py", ["-m"], False) == ["py", "-m"]
    cache = {"XDG_CACHE_HOME": "/home/u/.var/app/org.gimp.GIMP/cache"}
    assert engine_link.work_dir_parent(True, cache) == Path(
        "/home/u/.var/app/org.gimp.GIMP/cache/gimp-neural-style/runs"
    )
    assert engine_link.work_dir_parent(False, cache) == Path(engine_link.tempfile.gettempdir())


def test_a_sandbox_refusal_says_the_command_that_allows_it(tmp_path, monkeypatch):
    """A simulated sandbox whose flatpak-spawn is refused, as Flathub's GIMP is by default."""
    refusing = tmp_path / "flatpak-spawn"
    refusing.write_text(
        "#!/bin/sh\necho 'Portal call failed: org.freedesktop.DBus.Error.ServiceUnknown' >&2\n"
        "exit 1\n"
    )
    refusing.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(engine_link, "in_flatpak", lambda info=None: True)
    result = engine_link.run_engine(sys.executable, ["-c", "pass"], lambda event: None)
    assert not result.ok and result.sandbox_refused
    message = engine_link.failure_message(result)
    assert engine_link.FLATPAK_ALLOW in message and "Traceback" not in message


def _planted(tmp_path, name: str):
    folder = tmp_path / (engine_link.TEMP_PREFIX + name)
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    "plant",
    [
        lambda f: (f / engine_link.PID_FILE).write_text("9" * 20),  # overflows os.kill
        lambda f: os.mkfifo(f / engine_link.PID_FILE),  # would block a reader for ever
        lambda f: (f / engine_link.PID_FILE).symlink_to("/dev/zero"),  # endless
        lambda f: (f / engine_link.PID_FILE).write_text("-1"),  # "every process" to kill()
        lambda f: (f / engine_link.PID_FILE).write_bytes(b"1" * 10_000_000),
    ],
    ids=["huge number", "fifo", "link to /dev/zero", "negative", "10 MB"],
)
def test_hostile_folders_in_the_shared_temporary_folder_never_stop_a_run(
    tmp_path, monkeypatch, plant
):
    """What another local user can plant in /tmp: the run goes on, their folder stays."""
    monkeypatch.setattr(engine_link.tempfile, "tempdir", str(tmp_path))
    planted = _planted(tmp_path, "planted")
    plant(planted)
    work = engine_link.make_work_dir()
    assert work.is_dir() and planted.is_dir()


@pytest.mark.skipif(
    os.geteuid() != 0 and not os.environ.get("CI"), reason="chown to another user needs root"
)
def test_another_users_stale_looking_folder_is_not_touched(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_link.tempfile, "tempdir", str(tmp_path))
    theirs = _planted(tmp_path, "theirs")
    (theirs / engine_link.PID_FILE).write_text("999999999")  # no such process
    (theirs / "their-work.png").write_bytes(b"kept")
    os.chown(theirs / engine_link.PID_FILE, 65534, 65534)
    os.chown(theirs, 65534, 65534)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / engine_link.PID_FILE).write_text("999999999")
    (tmp_path / (engine_link.TEMP_PREFIX + "link")).symlink_to(elsewhere)
    engine_link.make_work_dir()
    assert (theirs / "their-work.png").read_bytes() == b"kept"
    assert (elsewhere / engine_link.PID_FILE).is_file()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"iterations": 0}, "Iterations must be from 1 to 5000, not 0"),
        ({"device": "tpu"}, "Device must be one of auto, gpu, cpu"),
        ({"style_scale": "big"}, "Stroke size must be a number, not 'big'"),
        ({"seed": 2.5}, "Seed must be a whole number, not 2.5"),
    ],
)
def test_a_scripts_value_outside_the_contract_is_one_clear_message(options, message):
    with pytest.raises(LinkError, match=message):
        engine_link.engine_arguments(
            StyleRequest(options=options), Path("c"), [Path("s")], Path("o"), "auto"
        )


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
        read = engine_link.parse_event(engine_contract.event_line(event))
        assert type(read) is contract.EVENT_CLASSES[event.name] and vars(read) == vars(event)


def test_regions_and_a_strength_map_reach_the_engine_as_its_own_options():
    from styleengine.cli import build_parser

    arguments = engine_link.engine_arguments(
        StyleRequest(), Path("c"), [Path("a"), Path("b")], Path("o"), "auto", [1.0, 1.0],
        regions={2: Path("right.npy")}, strength_map=Path("keep.npy"),
    )  # fmt: skip
    parsed = build_parser().parse_args(arguments[2:])
    assert parsed.style_region == [(2, "right.npy")] and parsed.strength_map == "keep.npy"
