"""End-to-end: the plug-in inside a real GIMP 3.0.4 and a real GIMP 3.2.6, called through the
PDB as a script would: every test of what GIMP shows and does runs in both (the ``gimp``
fixture); those about the engine behind the plug-in, in the newest (``newest_gimp``)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import gimp_harness
import numpy as np
import pytest
from conftest import REPO, edge_correlation
from gimp_harness import PRELUDE, Gimp

from styleengine import contract

pytestmark = pytest.mark.gimp


_INSTALLED: dict[str, Gimp] = {}


@pytest.fixture(
    scope="session", params=gimp_harness.SERIES, ids=lambda series: f"gimp{series.series}"
)
def gimp(request, tmp_path_factory, hed_weights) -> Gimp:
    """Each GIMP series users have, in turn: every test that takes it runs in both."""
    return _installed_gimp(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def newest_gimp(tmp_path_factory, hed_weights) -> Gimp:
    """The GIMP most users have, for what GIMP's version cannot change: the engine's own
    behaviour seen through the plug-in (its failures, its seeds, its temporary folders)."""
    return _installed_gimp(gimp_harness.SERIES[-1], tmp_path_factory)


def _installed_gimp(series, tmp_path_factory) -> Gimp:
    if series.series in _INSTALLED:
        return _INSTALLED[series.series]
    reason = gimp_harness.why_unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; in CI the real-GIMP tests must run")
        pytest.skip(reason)
    root = gimp_harness.default_root(series)
    gimp_harness.ensure_root(series, root)
    home = tmp_path_factory.mktemp(f"gimp-{series.series}-home")
    shared = [REPO, Path(sys.prefix), Path(sys.base_prefix), Path("/tmp")]
    instance = Gimp(series, root, home, shared)
    done = instance.install_plugin("--dev")
    assert done.returncode == 0, done.stdout + done.stderr
    plugin = instance.plugins_dir / "neural_style" / "neural_style.py"
    assert plugin.is_file() and os.access(plugin, os.X_OK)
    _INSTALLED[series.series] = instance
    return instance


def _work_dirs() -> list[Path]:
    """The plug-in's temporary folders (in /tmp, which the GIMP root shares)."""
    return list(Path("/tmp").glob("gimp-neural-style-*"))


def _run(gimp: Gimp, body: str):
    run = gimp.run(PRELUDE + body)
    assert run.results, run.output[-3000:]
    assert _work_dirs() == [], "the plug-in left temporary files behind"
    return run


def test_procedure_is_registered_under_filters_artistic(gimp):
    run = _run(
        gimp,
        """
procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
run_on = Gimp.param_spec_choice_get_choice(procedure.find_argument("remote"))
report(menu=list(procedure.get_menu_paths()), label=procedure.get_menu_label(),
       arguments=[spec.name for spec in procedure.get_arguments()],
       run_on=run_on.list_nicks())
""",
    )
    found = run.results[0]
    # No machine recorded (install.py --remote): Run on offers this computer only.
    assert found["run_on"] == ["this-computer"]
    assert found["menu"] == ["<Image>/Filters/Artistic"]
    assert found["label"] == "Neural _Style…"
    for name in ("style-preset", "style-preset-2", "style-preset-3", "style-layer",
                 "style-file", "style-weight", "style-layer-2", "style-weight-2",
                 "style-layer-3", "style-weight-3", "strength", "iterations", "working-size",
                 "style-region", "style-region-2", "style-region-3", "strength-map",
                 "strength-from-layer-mask", "size", "detail",
                 "preserve-colors", "style-scale", "variation", "seed", "device",
                 "live-preview"):  # fmt: skip
        assert name in found["arguments"]


def test_stylized_layer_is_added_above_the_content(gimp, tmp_path):
    dump, original = tmp_path / "result.raw", tmp_path / "content.raw"
    run = _run(
        gimp,
        f'''
image, content, style = make_pair()
before = len(image.get_layers())
dump_pixels(content, "{original}")
status = neural_style(image, content, style, iterations=30, strength=60.0)
layers = image.get_layers()
report(status=status.value_nick, before=before, after=len(layers),
       top=layer_info(layers[0]), below=layers[1].get_name())
dump_pixels(layers[0], "{dump}")
''',
    )
    found = run.results[0]
    assert found["status"] == "success", run.output[-3000:]
    assert found["after"] == found["before"] + 1
    assert found["top"] == {
        "name": "Neural Style (Waves)", "width": 96, "height": 64, "offsets": [7, 5],
        "has_mask": False,
    }  # fmt: skip
    assert found["below"] == "Photo"
    result = np.fromfile(dump, dtype="<f4").reshape(64, 96, 3)
    content = np.fromfile(original, dtype="<f4").reshape(64, 96, 3)
    assert np.abs(result - content).mean() > 0.03
    # What the plug-in is answerable for: the engine's picture, in the layer's place. How much
    # of the photo's layout the engine keeps is measured on real photos (QUALITY.md): on this
    # 96x64 drawing with a stripe "painting", the painted start's 30 iterations keep 0.16 of
    # its edges (the photo start kept 0.39), a known defect of the painted start on small
    # pictures (issue 32's note).
    assert edge_correlation(result, content) > 0.0


def test_two_style_layers_give_one_blended_layer_named_after_both(gimp, tmp_path):
    run = _run(
        gimp,
        """
image, content, style = make_pair()
second = style.copy()
style.get_image().insert_layer(second, None, 0)
second.set_name("Stripes")
before = len(image.get_layers())
status = neural_style(image, content, style, iterations=10, **{"style-layer-2": second,
                      "style-weight-2": 0.5})
report(status=status.value_nick, added=len(image.get_layers()) - before,
       name=image.get_layers()[0].get_name())
""",
    )
    found = run.results[0]
    assert found["status"] == "success", run.output[-3000:]
    assert found["added"] == 1 and found["name"] == "Neural Style (Waves + Stripes)"


def test_two_channels_put_two_paintings_side_by_side_in_one_new_layer(gimp, tmp_path):
    """Each style layer bound to a channel (a saved selection): red stripes on the photo's
    left half, blue on its right, in one new layer; the user's channels are left as they were."""
    dump = tmp_path / "regions.raw"
    run = _run(
        gimp,
        f'''
image, content, style = make_pair()
paintings = style.get_image()
stripes = lambda colour, across: (lambda x, y: colour if ((x if across else y) // 3) % 2
                                  else (0.15, 0.15, 0.15, 1.0))
red = new_layer(paintings, "Red", 64, 64, stripes((0.9, 0.15, 0.1, 1.0), False),
                Gimp.ImageType.RGBA_IMAGE, "R'G'B'A float", 4)
blue = new_layer(paintings, "Blue", 64, 64, stripes((0.1, 0.2, 0.9, 1.0), True),
                 Gimp.ImageType.RGBA_IMAGE, "R'G'B'A float", 4)
middle = 7 + 48  # the photo's layer starts at x = 7 and is 96 wide
channels = [add_channel(image, "Left", lambda x, y: x < middle),
            add_channel(image, "Right", lambda x, y: x >= middle)]
before = len(image.get_layers())
status = neural_style(image, content, red, iterations=40, **{{"style-layer-2": blue,
                      "style-region": channels[0], "style-region-2": channels[1]}})
report(status=status.value_nick, added=len(image.get_layers()) - before,
       channels=[c.get_name() for c in image.get_channels()])
dump_pixels(image.get_layers()[0], "{dump}")
''',
    )
    found = run.results[0]
    assert found["status"] == "success", run.output[-3000:]
    assert found["added"] == 1 and sorted(found["channels"]) == ["Left", "Right"]
    result = np.fromfile(dump, dtype="<f4").reshape(64, 96, 3)
    left, right = result[:, :40], result[:, 56:]
    assert left[..., 0].mean() > left[..., 2].mean() + 0.1
    assert right[..., 2].mean() > right[..., 0].mean() + 0.1


SAME_SEED_RUNS = 10


def test_seed_gives_another_picture_with_variation_and_the_same_one_ten_times(
    newest_gimp, tmp_path
):
    """The same layer, settings and seed give the same layer bit for bit, run after run, with
    a core kept busy beside GIMP: nothing that decides the picture may come from a timing
    (plan/machine_profile.py) or from the machine's load (model/device.py
    hold_thread_count). Every run must succeed: a run that failed adds no layer, and the
    layer read would be the one before."""
    seeds = [1] * SAME_SEED_RUNS + [2]
    dumps = [tmp_path / f"seed{index}.raw" for index in range(len(seeds))]
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        run = _run(
            newest_gimp,
            f"""
image, content, style = make_pair()
statuses = []
for seed, path in zip({seeds}, {[str(d) for d in dumps]}):
    status = neural_style(image, content, style, iterations=10, variation=0.3, seed=seed)
    statuses.append(status.value_nick)
    dump_pixels(image.get_layers()[image.get_item_position(content) - 1], path)  # the new one
report(done=True, statuses=statuses, layers=len(image.get_layers()))
""",
        )
    finally:
        busy.kill()
        busy.wait()
    assert run.results[0]["done"]
    assert run.results[0]["statuses"] == ["success"] * len(seeds)
    assert run.results[0]["layers"] == 1 + len(seeds)
    *same, other = (np.fromfile(d, dtype="<f4") for d in dumps)
    different = [index for index, pixels in enumerate(same) if not np.array_equal(pixels, same[0])]
    assert different == [], f"runs {different} differ from the first"
    assert np.abs(same[0] - other).mean() > 0.01


def test_the_dialogs_strength_gives_the_command_lines_picture(newest_gimp, tmp_path):
    """Strength 80 in GIMP and --strength 80 on the command line, on the same pixels: the
    same picture (one vocabulary for every user)."""
    content_raw, style_raw, result_raw = (tmp_path / f"{n}.raw" for n in ("c", "s", "r"))
    run = _run(
        newest_gimp,
        f"""
image, content, style = make_pair()
dump_pixels(content, "{content_raw}", "R'G'B'A float")
dump_pixels(style, "{style_raw}", "R'G'B'A float")
status = neural_style(image, content, style, iterations=4, strength=80.0)
dump_pixels(image.get_layers()[0], "{result_raw}", "R'G'B'A float")
report(status=status.value_nick)
""",
    )
    assert run.results[0]["status"] == "success", run.output[-3000:]
    content, style = tmp_path / "content.npy", tmp_path / "style.npy"
    np.save(content, np.fromfile(content_raw, "<f4").reshape(64, 96, 4))
    np.save(style, np.fromfile(style_raw, "<f4").reshape(64, 64, 4))
    config = json.loads(
        (newest_gimp.plugins_dir / "neural_style" / "neural_style.json").read_text()
    )
    output = tmp_path / "cli.npy"
    done = subprocess.run(
        [config["python"], "-m", "styleengine", "stylize", str(content), str(style), "-o",
         str(output), "--strength", "80", "--iterations", "4", "--weights", config["weights"],
         "--progress", "none"],
        capture_output=True, text=True, env={**os.environ, "HOME": str(newest_gimp.home)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    from_gimp = np.fromfile(result_raw, "<f4").reshape(64, 96, 4)[..., :3]
    # The same picture, to the 8 bits of the layer's image.
    assert np.abs(from_gimp - np.load(output)[..., :3]).max() <= 0.5 / 255 + 1e-6
    original = np.load(content)[..., :3]
    assert np.abs(from_gimp - original).mean() > 0.03  # a painting, not the photo


def test_a_run_on_a_recorded_ssh_host_adds_the_local_runs_layer(newest_gimp, tmp_path):
    """Run on: a machine recorded as install.py --remote records it, reached over a real
    OpenSSH server (tests/ssh_server.py), paints the same layer, bit for bit, as this
    computer (the same kind of device), with the live preview on, and a layer named like a
    shell command runs nothing; a recorded host that answers nothing is one message and no
    layer; a host never recorded is refused by GIMP itself."""
    import ssh_server

    from installer.plugin import record_remote

    reason = ssh_server.why_unavailable()
    if reason and os.environ.get("CI"):
        pytest.fail(f"{reason}; in CI the remote tests must run")
    if reason:
        pytest.skip(reason)
    server = ssh_server.start(tmp_path / "sshd", {**os.environ, "PYTHONPATH": str(REPO)})
    newest_gimp.environment = {contract.SSH_CONFIG_VARIABLE: str(server.config)}
    host, down = ssh_server.HOST_ALIAS, "nowhere.invalid"
    for recorded in (host, down):
        assert record_remote([newest_gimp.plugins_dir], recorded, sys.executable)
    local, remote = tmp_path / "local.raw", tmp_path / "remote.raw"
    try:
        run = _run(
            newest_gimp,
            f"""
procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
offered = Gimp.param_spec_choice_get_choice(procedure.find_argument("remote")).list_nicks()
image, content, style = make_pair()
content.set_name("$(touch /tmp/pwned-by-layer); rm -rf ~ ;")  # a layer name runs nothing
statuses = []
for choice, path in (("this-computer", "{local}"), ("{host}", "{remote}")):
    status = neural_style(image, content, style, iterations=4, remote=choice,
                          **{{"live-preview": "always"}})
    statuses.append(status.value_nick)
    dump_pixels(image.get_layers()[0], path)
before = len(image.get_layers())
unreachable = neural_style(image, content, style, iterations=4, remote="{down}").value_nick
try:
    unknown = neural_style(image, content, style, iterations=4, remote="never.recorded")
    unknown = unknown.value_nick
except Exception as error:  # GIMP refuses a value its choice does not hold
    unknown = type(error).__name__
report(offered=offered, statuses=statuses, unreachable=unreachable, unknown=unknown,
       added=len(image.get_layers()) - before)
""",
        )
    finally:
        newest_gimp.environment = {}
        server.stop()
        for recorded in (host, down):
            record_remote([newest_gimp.plugins_dir], recorded, None)
    found = run.results[0]
    assert found["offered"] == ["this-computer", host, down]
    assert found["statuses"] == ["success", "success"], run.output[-3000:]
    assert np.array_equal(np.fromfile(local, "<f4"), np.fromfile(remote, "<f4"))
    assert found["unreachable"] != "success" and found["unknown"] != "success"
    assert found["added"] == 0
    assert f"Could not connect to {down}" in run.output
    assert "Traceback" not in run.output
    assert not Path("/tmp/pwned-by-layer").exists()


def test_selection_gives_a_masked_layer_of_its_bounds(gimp):
    run = _run(
        gimp,
        """
image, content, style = make_pair()
image.select_rectangle(Gimp.ChannelOps.REPLACE, 27, 15, 40, 30)
status = neural_style(image, content, style, iterations=10)
report(status=status.value_nick, top=layer_info(image.get_layers()[0]))
""",
    )
    found = run.results[0]
    assert found["status"] == "success", run.output[-3000:]
    # image (27, 15) is layer (20, 10); the layer keeps image coordinates
    assert found["top"]["offsets"] == [27, 15]
    assert (found["top"]["width"], found["top"]["height"]) == (40, 30)
    assert found["top"]["has_mask"]


def test_grayscale_image_gets_grayscale_layer_and_smaller_work_size_is_scaled(gimp):
    """Working size by its name, and by the older name "size" that scripts may pass."""
    run = _run(
        gimp,
        """
image, content, style = make_pair(base=Gimp.ImageBaseType.GRAY)
for name in ("working-size", "size"):
    status = neural_style(image, content, style, iterations=10, **{name: 48})
    top = image.get_layers()[0]
    report(status=status.value_nick, top=layer_info(top), gray=top.is_gray())
""",
    )
    for found in run.results:
        assert found["status"] == "success", run.output[-3000:]
        assert found["gray"] and (found["top"]["width"], found["top"]["height"]) == (96, 64)
    assert len(run.results) == 2


def _run_with_config(gimp: Gimp, **changes: str):
    """One plug-in run with its config file changed, then restored."""
    config = gimp.plugins_dir / "neural_style" / "neural_style.json"
    saved = config.read_text()
    config.write_text(json.dumps({**json.loads(saved), **changes}))
    try:
        return _run(
            gimp,
            """
image, content, style = make_pair()
image.clean_all()
before = len(image.get_layers())
status = neural_style(image, content, style, iterations=10)
report(status=status.value_nick, before=before, after=len(image.get_layers()),
       dirty=image.is_dirty(), undo_enabled=image.undo_is_enabled())
""",
        )
    finally:
        config.write_text(saved)


def _failed_cleanly(found: dict) -> bool:
    """A failed run's traces: none. No new layer, the image not dirty, undo not frozen."""
    return (
        found["status"] == "execution-error"
        and found["after"] == found["before"]
        and not found["dirty"]
        and found["undo_enabled"]
    )


def test_missing_engine_python_is_an_error_and_adds_no_layer(gimp):
    run = _run_with_config(gimp, python="/nonexistent/python")
    found = run.results[0]
    assert _failed_cleanly(found), found
    assert "install.py" in run.output


def _fake_engine(folder: Path, script: str) -> Path:
    fake = folder / "fake-python"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    return fake


def test_engine_that_dies_gives_one_message_naming_its_last_lines(newest_gimp, tmp_path):
    fake = _fake_engine(tmp_path, "echo 'RuntimeError: broke deep inside' >&2\nexit 1\n")
    run = _run_with_config(newest_gimp, python=str(fake))
    found = run.results[0]
    assert _failed_cleanly(found), found
    log = newest_gimp.home / ".cache" / "gimp-neural-style" / "last-error.log"
    assert str(log) in run.output and "broke deep inside" in log.read_text()
    assert "Traceback" not in run.output


def test_engine_done_without_a_result_file_is_a_clear_message(newest_gimp, tmp_path):
    done = contract.event_line(contract.DoneEvent(output="x", elapsed=0)).strip()
    fake = _fake_engine(tmp_path, f"echo '{done}'\n")
    run = _run_with_config(newest_gimp, python=str(fake))
    found = run.results[0]
    assert _failed_cleanly(found), found
    assert "could not use its temporary files" in run.output
    assert "Traceback" not in run.output


def test_damaged_weights_are_an_error_and_add_no_layer(newest_gimp, tmp_path):
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(b"not a weights file")
    run = _run_with_config(newest_gimp, weights=str(damaged))
    found = run.results[0]
    assert _failed_cleanly(found), found
    assert "could not be read" in run.output


def _descendants(root: int) -> set[int]:
    """The processes started, directly or not, by ``root`` (this test's own GIMP)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _started_by(root: int, marker: str) -> list[int]:
    """Those of ``root``'s descendants whose command line holds ``marker``: never a
    process of another GIMP on this machine."""
    return [pid for pid in _descendants(root) if marker in _command_line(pid)]


def _alive(pid: int, marker: str) -> bool:
    return marker in _command_line(pid)


def _preview_files() -> list[Path]:
    return [d / "preview.npy" for d in _work_dirs() if (d / "preview.npy").is_file()]


def _first_preview(deadline: float) -> np.ndarray:
    """The pixels of the first preview the engine writes (read as soon as it is there)."""
    while True:
        assert time.monotonic() < deadline, "no preview was written"
        for path in _preview_files():
            with contextlib.suppress(OSError, ValueError):
                return np.load(path)
        time.sleep(0.05)


def _wait_for_previews(count: int, deadline: float) -> None:
    """Until the engine has written ``count`` previews (each one replaces the file)."""
    seen: set[int] = set()
    while len(seen) < count:
        assert time.monotonic() < deadline, f"only {len(seen)} previews were written"
        for path in _preview_files():
            with contextlib.suppress(OSError):
                seen.add(path.stat().st_ino)
        time.sleep(0.1)


def test_stopping_a_run_keeps_the_preview_and_leaves_no_process_or_frozen_undo(gimp, tmp_path):
    """GIMP's Cancel kills the plug-in: what the user saw stays as a normal layer, the
    engine stops, the image's undo works, and the next run removes the dead one's files."""
    original, shown = tmp_path / "content.raw", tmp_path / "preview.raw"
    process = gimp.popen(
        PRELUDE
        + f"""
image, content, style = make_pair()
dump_pixels(content, "{original}")
status = neural_style(image, content, style, iterations=5000, **{{"live-preview": "always"}})
layers = image.get_layers()
dump_pixels(layers[0], "{shown}")
report(status=status.value_nick, layers=[layer.get_name() for layer in layers],
       undo_enabled=image.undo_is_enabled())
"""
    )
    try:
        deadline = time.monotonic() + 120
        engines: list[int] = []
        while not engines and time.monotonic() < deadline:
            engines = _started_by(process.pid, "styleengine stylize")
            time.sleep(0.5)
        assert engines, "the engine never started"
        started = time.monotonic()
        # The first picture shown is the painted start, made before the first iteration.
        first = _first_preview(started + 120)
        print(f"first preview {time.monotonic() - started:.1f} s after the engine started")
        content = np.fromfile(original, dtype="<f4").reshape(64, 96, 3)
        assert first.shape == content.shape
        assert np.abs(first - content).mean() > 0.05
        _wait_for_previews(2, time.monotonic() + 120)
        time.sleep(1.5)  # the plug-in draws the preview it was told of
        plugins = _started_by(process.pid, "neural_style/neural_style.py")
        assert plugins
        for pid in plugins:
            os.kill(pid, signal.SIGKILL)
        # Orphaned, the engine is no longer GIMP's descendant: follow it by its own id.
        deadline = time.monotonic() + 10
        while any(_alive(pid, "styleengine stylize") for pid in engines):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert not any(_alive(pid, "styleengine stylize") for pid in engines)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    found = gimp_harness.collect(process.returncode, output).results
    assert found, output[-3000:]
    assert found[0]["layers"] == ["Neural Style - preview", "Photo"]
    assert found[0]["undo_enabled"]
    preview = np.fromfile(shown, dtype="<f4").reshape(64, 96, 3)
    content = np.fromfile(original, dtype="<f4").reshape(64, 96, 3)
    assert np.abs(preview - content).mean() > 0.02  # the picture so far, not the photo
    # A killed plug-in cannot clean up; its next run removes what the dead one left.
    assert _work_dirs()
    _run(
        gimp,
        """
image, content, style = make_pair()
report(status=neural_style(image, content, style, iterations=10).value_nick)
""",
    )


def test_one_undo_removes_the_layer_and_redo_restores_it(gimp, tmp_path):
    """Edit > Undo in GIMP's window: the plug-in's layer, pixels and mask are one step; the
    live preview before it left no step of its own."""
    ready = tmp_path / "ready"
    run = gimp.run_gui(
        f"""
image, content, style = make_pair()
Gimp.Display.new(image)
image.select_rectangle(Gimp.ChannelOps.REPLACE, 27, 15, 40, 30)
status = neural_style(image, content, style, iterations=10, **{{"live-preview": "always"}})
report(status=status.value_nick, layers=len(image.get_layers()))
open("{ready}", "w").write("ready")
""",
        f"""
wait_for_file '{ready}' 300 || exit 1
window=$(wait_for_window 'Untitled' 60) || exit 1
sleep 1
echo "NEURAL-STYLE-TEST {{\\"after_plugin\\": \\"$(xdotool getwindowname $window)\\"}}"
xdotool windowfocus --sync $window
xdotool key --clearmodifiers ctrl+z
sleep 1.5
echo "NEURAL-STYLE-TEST {{\\"after_undo\\": \\"$(xdotool getwindowname $window)\\"}}"
xdotool key --clearmodifiers ctrl+y
sleep 1.5
echo "NEURAL-STYLE-TEST {{\\"after_redo\\": \\"$(xdotool getwindowname $window)\\"}}"
""",
        tmp_path,
    )
    found = {k: v for result in run.results for k, v in result.items()}
    assert found.get("status") == "success", run.output[-3000:]
    # GIMP's window title counts the image's layers.
    assert "2 layers" in found["after_plugin"], run.output[-3000:]
    assert "1 layer)" in found["after_undo"]
    assert "2 layers" in found["after_redo"]


def test_preview_layer_shows_the_picture_emerging_in_the_window(gimp, tmp_path):
    """Mid-run, in GIMP's window: a layer above the photo holds the picture so far (the
    screenshot is the README's)."""
    from PIL import Image

    from styleengine.image.sample import sample_content, sample_style

    content, style = tmp_path / "landscape.png", tmp_path / "swirls.png"
    Image.fromarray((sample_content(360, 480) * 255).astype(np.uint8)).save(content)
    Image.fromarray((sample_style(256, 256) * 255).astype(np.uint8)).save(style)
    shot = tmp_path / "preview.png"
    run = gimp.run_gui(
        f"""
from gi.repository import Gio
def load(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
image, painting = load("{content}"), load("{style}")
Gimp.Display.new(image)
neural_style(image, image.get_layers()[0], painting.get_layers()[0], iterations=5000,
             **{{"live-preview": "always"}})
""",
        f"""
# By its size: GIMP 3.0 titles the loaded image "Untitled", 3.2 by its file's name.
window=$(wait_for_window '480x360' 300) || exit 1
# Until the engine has written its second preview (each one replaces the file).
for i in $(seq 1 1500); do
    preview=$(ls /tmp/gimp-neural-style-*/preview.npy 2> /dev/null | head -n 1)
    [ -n "$preview" ] && break
    sleep 0.2
done
first=$(stat -c %i "$preview") || exit 1
for i in $(seq 1 600); do [ "$(stat -c %i "$preview")" != "$first" ] && break; sleep 0.2; done
sleep 2
echo "NEURAL-STYLE-TEST {{\\"mid_run\\": \\"$(xdotool getwindowname $window)\\"}}"
import -window root '{shot}'
""",
        tmp_path,
    )
    found = {k: v for result in run.results for k, v in result.items()}
    assert "2 layers" in found.get("mid_run", ""), run.output[-3000:]
    with Image.open(shot) as picture:
        assert picture.size == (1280, 900)
    # The session was ended mid-run: the plug-in had no chance to clean up.
    sys.path.insert(0, str(REPO / "gimp_plugin" / "neural_style"))
    import run_folders

    deadline = time.monotonic() + 10  # until the killed plug-in is gone for good
    while _work_dirs() and time.monotonic() < deadline:
        run_folders.remove_stale_work_dirs(Path("/tmp"))
        time.sleep(0.2)
    assert _work_dirs() == []


LAPTOP_SCREEN_HEIGHT = 720  # a 1366x768 screen less GIMP's and the desktop's bars


def test_dialog_opens_with_the_style_layer_and_cancel_changes_nothing(gimp, tmp_path):
    done = tmp_path / "done"
    shot = tmp_path / "dialog.png"
    run = gimp.run_gui(
        f"""
image, content, style = make_pair(320, 240)
Gimp.Display.new(image)
Gimp.Display.new(style.get_image())
procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", [content])
# Two paintings by regions, as a user sets them up.
second = style.copy()
style.get_image().insert_layer(second, None, 0)
second.set_name("Stripes")
config.set_property("style-region", add_channel(image, "Sky", lambda x, y: y < 100))
config.set_property("style-layer-2", second)
config.set_property("style-region-2", add_channel(image, "Town", lambda x, y: y >= 100))
result = procedure.run(config)
report(status=result.index(0).value_nick, layers=len(image.get_layers()))
open("{done}", "w").write("done")
""",
        f"""
dialog=$(wait_for_window '^Neural Style$' 120) || exit 1
sleep 2
import -window "$dialog" '{shot}'
xdotool windowfocus --sync $dialog
xdotool key --clearmodifiers Escape
wait_for_file '{done}' 60
""",
        tmp_path,
    )
    found = {k: v for result in run.results for k, v in result.items()}
    assert found.get("status") == "cancel", run.output[-3000:]
    assert found["layers"] == 1
    from PIL import Image

    with Image.open(shot) as picture:
        # Sections, with the rarely used options folded away: it fits a laptop's screen.
        assert picture.width > 300 and 300 < picture.height <= LAPTOP_SCREEN_HEIGHT
    # The dialog's preview engine went with it, whatever it was doing, and its files too.
    assert _preview_engines() == []
    assert _work_dirs() == []


def _preview_engines() -> list[int]:
    """The dialog's preview engines running on this machine (their command lines)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if b"preview-service" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _preview_seconds(log: str, request: int, kind: str) -> float:
    """The seconds the plug-in measured from asking for ``request`` to its ``kind`` frame."""
    pattern = rf"neural-style preview: request {request} {kind} frame ([0-9.]+) s after asking"
    found = re.findall(pattern, log)
    assert found, log[-3000:]
    return float(found[-1])


def test_the_dialog_previews_the_painting_and_follows_a_change(gimp, tmp_path):
    """Before OK, the dialog shows the layer painted: the painted start, then refined; another
    gallery painting replaces it; OK still adds the layer; no engine or file is left behind
    (issue 47). The times are the plug-in's own, reported, not held to a limit."""
    from PIL import Image

    from styleengine.image.sample import sample_content

    photo = tmp_path / "photo.png"
    Image.fromarray((sample_content(360, 480) * 255).astype(np.uint8)).save(photo)
    first, changed, done = tmp_path / "first.png", tmp_path / "changed.png", tmp_path / "done"
    log = tmp_path / "gimp.log"
    run = gimp.run_gui(
        f"""
from gi.repository import Gio
image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path("{photo}"))
Gimp.Display.new(image)
procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", [image.get_layers()[0]])
config.set_property("style-preset", "{contract.GALLERY[0].name}")
config.set_property("iterations", 3)
result = procedure.run(config)
report(status=result.index(0).value_nick, layers=len(image.get_layers()))
open("{done}", "w").write("done")
""",
        f"""
wait_for_line() {{  # $1: text in GIMP's log, $2: seconds
    for i in $(seq 1 $(($2 * 5))); do grep -q "$1" '{log}' && return 0; sleep 0.2; done
    echo "timed out waiting for $1"; return 1
}}
dialog=$(wait_for_window '^Neural Style$' 120) || exit 1
wait_for_line 'request 1 refined frame' 300 || exit 1
import -window "$dialog" '{first}'
xdotool windowfocus --sync $dialog
xdotool key --clearmodifiers alt+g Down
wait_for_line 'request 2 refined frame' 120 || exit 1
import -window "$dialog" '{changed}'
xdotool key --clearmodifiers alt+o
wait_for_file '{done}' 300
""",
        tmp_path,
    )
    found = {k: v for result in run.results for k, v in result.items()}
    assert found.get("status") == "success", run.output[-3000:]
    assert found["layers"] == 2  # OK's run added its layer
    text = log.read_text(errors="replace")
    times = {
        "first frame": _preview_seconds(text, 1, "first"),
        "refined": _preview_seconds(text, 1, "refined"),
        "changed, first frame": _preview_seconds(text, 2, "first"),
        "changed, refined": _preview_seconds(text, 2, "refined"),
        "engine ready after opening": float(
            re.findall(r"engine ready ([0-9.]+) s after opening", text)[-1]
        ),
    }
    print(f"GIMP {gimp.series.series} dialog preview seconds: {json.dumps(times)}")
    with Image.open(first) as before, Image.open(changed) as after:
        # The other painting shows: the dialog's picture changed.
        assert before.size == after.size
        difference = np.abs(np.asarray(before, float) - np.asarray(after, float)).mean()
        assert difference > 2.0
    assert _preview_engines() == []
    assert _work_dirs() == []


def test_hostile_folders_of_another_user_in_tmp_do_not_stop_the_plugin(newest_gimp, tmp_path):
    """Another local user can plant folders in the shared /tmp that look like stale runs;
    the plug-in must run normally and leave them alone."""
    planted = [Path("/tmp") / f"gimp-neural-style-planted{index}" for index in range(3)]
    try:
        for folder in planted:
            folder.mkdir()
        (planted[0] / "plugin.pid").write_text("9" * 20)
        os.mkfifo(planted[1] / "plugin.pid")
        (planted[2] / "plugin.pid").symlink_to("/dev/zero")
        for folder in planted:
            os.lchown(folder / "plugin.pid", 65534, 65534)
            os.chown(folder, 65534, 65534)
        run = newest_gimp.run(
            PRELUDE
            + """
image, content, style = make_pair()
status = neural_style(image, content, style, iterations=10)
report(status=status.value_nick, layers=len(image.get_layers()))
""",
            timeout=300,
        )
        found = run.results[0] if run.results else {}
        assert found.get("status") == "success", run.output[-3000:]
        assert all(folder.is_dir() for folder in planted)
        assert sorted(_work_dirs()) == sorted(planted)  # the run's own folder is gone
    finally:
        for folder in planted:
            subprocess.run(["rm", "-rf", str(folder)], check=False)


def test_a_painting_from_a_file_needs_no_open_layer_and_names_the_new_layer(gimp, tmp_path):
    """A user who has the painting only as a file picks it in the dialog (a script passes
    it): the run adds one layer named after the file, and the file is left as it was."""
    from conftest import make_style
    from PIL import Image

    painting = tmp_path / "blue_swirls.png"
    Image.fromarray((make_style(64, 64) * 255).astype(np.uint8)).save(painting)
    before = painting.read_bytes()
    run = _run(
        gimp,
        f"""
from gi.repository import Gio
image, content, style = make_pair()
style.get_image().delete()  # no painting open anywhere
status = neural_style(image, content, None, iterations=10,
                      **{{"style-file": Gio.File.new_for_path("{painting}")}})
report(status=status.value_nick, layers=[layer.get_name() for layer in image.get_layers()])
""",
    )
    found = run.results[0]
    assert found["status"] == "success", run.output[-3000:]
    assert found["layers"][0] == "Neural Style (blue swirls)" and len(found["layers"]) == 2
    assert painting.read_bytes() == before


def test_a_gallery_painting_by_name_alone_and_blended_with_a_layer_names_the_new_layer(
    gimp, tmp_path
):
    """A script names a gallery painting and nothing else is open: one layer, named after
    the painting; blended with a layer, named after both. The painting is the gallery's:
    the layer takes on its colours, which the photo does not have."""
    from styleengine.contract import GALLERY_BY_NAME

    wave = GALLERY_BY_NAME["hokusai_great_wave"]
    alone, blended, photo = tmp_path / "alone.raw", tmp_path / "blend.raw", tmp_path / "photo.raw"
    run = _run(
        gimp,
        f"""
image, content, style = make_pair()
waves_image = style.get_image()
report(open_images=len(Gimp.get_images()))
waves_image.delete()  # nothing open but the photo
dump_pixels(content, "{photo}")
status = neural_style(image, content, None, iterations=10, **{{"style-preset": "{wave.name}"}})
report(status=status.value_nick, layers=[layer.get_name() for layer in image.get_layers()])
dump_pixels(image.get_layers()[0], "{alone}")
image, content, style = make_pair()
status = neural_style(image, content, None, iterations=10, **{{"style-preset": "{wave.name}",
                      "style-layer-2": style, "style-weight-2": 0.5}})
report(status=status.value_nick, layers=[layer.get_name() for layer in image.get_layers()])
dump_pixels(image.get_layers()[0], "{blended}")
""",
    )
    _opened, first, second = run.results
    assert first["status"] == "success", run.output[-3000:]
    assert first["layers"] == [f"Neural Style ({wave.label})", "Photo"]
    assert second["status"] == "success", run.output[-3000:]
    assert second["layers"] == [f"Neural Style ({wave.label} + Waves)", "Photo"]
    content = np.fromfile(photo, dtype="<f4").reshape(64, 96, 3)
    painted = np.fromfile(alone, dtype="<f4").reshape(64, 96, 3)
    mixed = np.fromfile(blended, dtype="<f4").reshape(64, 96, 3)
    # The painting is the gallery's: the layer's colours move to the painting's own.
    from styleengine.image.files import read_image
    from styleengine.image.gallery import painting_path

    palette = read_image(painting_path(wave)).rgb.mean(axis=(0, 1))
    distance = lambda pixels: np.linalg.norm(pixels.mean(axis=(0, 1)) - palette)  # noqa: E731
    assert distance(painted) < 0.5 * distance(content)
    assert np.abs(mixed - painted).mean() > 0.02  # the layer's waves count in the blend


def test_the_gallery_opens_a_painting_as_an_untitled_image_named_after_it(gimp):
    """Filters > Artistic > Neural Style Gallery: the painting to look at before choosing
    it, as a new image that cannot be saved over the installed file."""
    from styleengine.contract import GALLERY_BY_NAME

    kiss = GALLERY_BY_NAME["klimt_the_kiss"]
    run = _run(
        gimp,
        f"""
procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style-gallery")
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
config.set_property("painting", "{kiss.name}")
result = procedure.run(config)
image = result.index(1)
layers = image.get_layers()
report(status=result.index(0).value_nick, menu=list(procedure.get_menu_paths()),
       size=[image.get_width(), image.get_height()], layers=[l.get_name() for l in layers],
       file=image.get_file() is not None, dirty=image.is_dirty(), images=len(Gimp.get_images()))
""",
    )
    found = run.results[0]
    assert found["status"] == "success", run.output[-3000:]
    assert found["menu"] == ["<Image>/Filters/Artistic"]
    assert found["layers"] == [f"{kiss.label} ({kiss.year})"]
    assert found["size"] == [1020, 1024]
    assert not found["file"] and not found["dirty"] and found["images"] == 1


# Each kind of drawable and image a user may have selected when they choose the filter, and
# what they must get: a new layer ("layer"), or one message (the fragment given) with the
# image exactly as it was. One GIMP session runs them all, a clean image each.
DRAWABLE_KINDS = {
    "text layer": (
        "layer",
        """
image, content, style = make_pair()
target = Gimp.TextLayer.new(image, "Neural", Gimp.context_get_font(), 24, Gimp.Unit.pixel())
image.insert_layer(target, None, 0)
""",
    ),
    "layer group": (
        "layer",
        """
image, content, style = make_pair()
group = Gimp.GroupLayer.new(image)
image.insert_layer(group, None, 0)
image.reorder_item(content, group, 0)
target = group
""",
    ),
    "layer mask": (
        "exactly one selected layer",
        """
image, content, style = make_pair()
mask = content.create_mask(Gimp.AddMaskType.WHITE)
content.add_mask(mask)
target = mask
""",
    ),
    "channel": (
        "exactly one selected layer",
        """
image, content, style = make_pair()
target = add_channel(image, "Saved selection", lambda x, y: x < 40)
""",
    ),
    "layer partly off the canvas": (
        "layer",
        """
image, content, style = make_pair()
content.set_offsets(-30, 40)
target = content
""",
    ),
    "layer larger than the canvas": (
        "layer",
        """
image, content, style = make_pair()
image.resize(40, 30, -10, -10)
target = content
""",
    ),
    "32-bit float linear image": (
        "layer",
        """
image, content, style = make_pair()
image.convert_precision(Gimp.Precision.FLOAT_LINEAR)
target = content
""",
    ),
    "indexed image": (
        "RGB or grayscale",
        """
image, content, style = make_pair()
image.convert_indexed(
    Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False, False, ""
)
target = content
""",
    ),
    "the photo as its own painting": (
        "layer",
        """
image, content, style = make_pair()
target = style = content
""",
    ),
    "an empty selection": (
        "layer",
        """
image, content, style = make_pair()
image.select_rectangle(Gimp.ChannelOps.REPLACE, 10, 10, 20, 20)
image.select_rectangle(Gimp.ChannelOps.SUBTRACT, 10, 10, 20, 20)
target = content
""",
    ),
    "a painting with a mask hiding half": (
        "layer",
        """
image, content, _waves = make_pair()
# Red strokes on the left, shown; blue ones on the right, hidden by the mask.
def halves(x, y):
    stroke = 0.6 + 0.4 * ((x + y) // 3 % 2)
    return (stroke, 0.1, 0.1, 1.0) if x < 32 else (0.1, 0.1, stroke, 1.0)
painting_image = Gimp.Image.new(64, 64, Gimp.ImageBaseType.RGB)
style = new_layer(
    painting_image, "Halves", 64, 64, halves, Gimp.ImageType.RGBA_IMAGE, "R'G'B'A float", 4
)
painting_mask = style.create_mask(Gimp.AddMaskType.WHITE)
style.add_mask(painting_mask)
hidden = float_pixels(32, 64, lambda x, y: (0.0,))
painting_mask.get_buffer().set(Gegl.Rectangle.new(32, 0, 32, 64), "Y float", hidden)
painting_mask.get_buffer().flush()
target = content
""",
    ),
    "a painting its mask hides entirely": (
        "entirely transparent",
        """
image, content, style = make_pair()
style.add_mask(style.create_mask(Gimp.AddMaskType.BLACK))
target = content
""",
    ),
    "fifty layers": (
        "layer",
        """
image, content, style = make_pair()
for number in range(49):
    extra = Gimp.Layer.new(
        image, f"Layer {number}", 8, 8, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL
    )
    image.insert_layer(extra, None, -1)
target = content
""",
    ),
}


def test_every_kind_of_drawable_gives_a_layer_or_one_message_and_the_image_as_it_was(gimp):
    cases = []
    for name, (_expected, setup) in DRAWABLE_KINDS.items():
        cases.append(f"""
try:
{textwrap.indent(setup.strip(), "    ")}
    image.clean_all()
    before = [item.get_name() for item in image.get_layers()]
    status = neural_style(image, target, style, iterations=10)
    after = [item.get_name() for item in image.get_layers()]
    top = image.get_layers()[0]
    whole = Gegl.Rectangle.new(0, 0, top.get_width(), top.get_height())
    pixels = top.get_buffer().get(whole, 1.0, "R'G'B' float", Gegl.AbyssPolicy.CLAMP)
    values = struct.unpack("<%df" % (len(pixels) // 4), pixels)
    report(case={name!r}, status=status.value_nick, before=before, after=after,
           dirty=image.is_dirty(), undo_enabled=image.undo_is_enabled(),
           red=sum(values[0::3]) / len(values[0::3]), blue=sum(values[2::3]) / len(values[2::3]))
except Exception as error:
    report(case={name!r}, status="script: " + repr(error))
""")
    run = _run(gimp, "".join(cases) + "\nreport(done=True)\n")
    found = {result["case"]: result for result in run.results if "case" in result}
    assert run.results[-1] == {"done": True}, run.output[-3000:]
    for name, (expected, _setup) in DRAWABLE_KINDS.items():
        result = found[name]
        assert result["undo_enabled"], (name, result)  # no undo group left frozen
        if expected == "layer":
            assert result["status"] == "success", (name, result, run.output[-3000:])
            assert len(result["after"]) == len(result["before"]) + 1, (name, result)
        else:
            assert _failed_cleanly(result), (name, result)
            assert expected in run.output, (name, run.output[-3000:])
    shown_only = found["a painting with a mask hiding half"]
    assert shown_only["red"] > shown_only["blue"] + 0.1, shown_only  # the hidden blue is not
    assert "Traceback" not in run.output
