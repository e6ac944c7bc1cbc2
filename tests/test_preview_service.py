"""The dialog's preview engine (``python -m styleengine preview-service``), as the plug-in
talks to it: typed requests on stdin, typed events on stdout, frames in its folder."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import fuzz_examples, run_cli, save_pair
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from styleengine import contract

SIDE = 64


class Service:
    """The preview service in a process of its own, spoken to as the dialog does."""

    def __init__(self, folder: Path, env: dict[str, str], *options: str) -> None:
        self.folder = folder
        self.process = subprocess.Popen(
            [sys.executable, "-m", "styleengine", "preview-service", "--folder", str(folder),
             "--weights", "hed", "--device", "cpu", *options],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env,
        )  # fmt: skip

    def ask(self, request: contract.PreviewRequest) -> None:
        self.process.stdin.write(contract.event_line(request))
        self.process.stdin.flush()

    def next_event(self):
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read()
        return contract.read_event(line)

    def until_final(self, request: int) -> list:
        """The events up to request ``request``'s last frame or its error."""
        seen = []
        while True:
            event = self.next_event()
            seen.append(event)
            if getattr(event, "request", None) == request and (
                isinstance(event, contract.ErrorEvent) or event.final
            ):
                return seen

    def close(self) -> int:
        self.process.stdin.close()
        code = self.process.wait(timeout=60)
        self.process.stdout.close()
        self.process.stderr.close()
        return code


@pytest.fixture
def service(tmp_path, engine_env, hed_weights):
    frames = tmp_path / "frames"
    frames.mkdir()
    running = Service(frames, engine_env)
    assert isinstance(running.next_event(), contract.ReadyEvent)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def _request(number: int, content: Path, style: Path | str, **fields) -> contract.PreviewRequest:
    return contract.PreviewRequest(number, str(content), [str(style)], **fields)


def test_the_first_frame_is_the_runs_painted_start_and_then_it_is_refined(
    service, tmp_path, engine_env
):
    """The preview's first frame is the picture the run (OK) starts from at the preview's
    size, bit for bit, for the same seed; then a few iterations refine it."""
    content, style = save_pair(tmp_path, (48, SIDE), 64)
    options = {"seed": 4, "variation": 0.3, "style_scale": 1.2}
    service.ask(_request(1, content, style, strength=70.0, options=options, refine=2))
    events = service.until_final(1)
    frames = [e for e in events if isinstance(e, contract.FrameEvent)]
    assert [(f.iteration, f.final) for f in frames] == [(0, False), (2, True)]
    start = np.load(frames[0].path)
    assert start.shape == (48, SIDE, 3)
    # The run the dialog's OK makes, at the preview's size: its first preview is its start.
    preview = tmp_path / "run-preview.npy"
    done = run_cli(
        ["stylize", str(content), str(style), "-o", str(tmp_path / "run.npy"), "--weights",
         "hed", "--device", "cpu", "--strength", "70", "--seed", "4", "--variation", "0.3",
         "--style-scale", "1.2", "--iterations", "1", "--output-size", str(SIDE),
         "--working-size", str(SIDE), "--detail", "off", "--preview", str(preview),
         "--preview-seconds", "10000"],
        engine_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert np.array_equal(start, np.load(preview))
    refined = np.load(frames[1].path)
    assert np.abs(refined - start).mean() > 1e-3  # the iterations changed the picture
    assert service.close() == 0


def test_a_newer_request_replaces_the_one_in_work(service, tmp_path):
    content, style = save_pair(tmp_path, (48, SIDE), 64)
    service.ask(_request(1, content, style, refine=500))
    assert service.next_event().request == 1  # its painted start: it is in work
    service.ask(_request(2, content, "gallery:munch_the_scream", refine=1))
    events = service.until_final(2)
    assert not [e for e in events if e.request == 1 and e.final]  # dropped, not finished
    assert events[-1].final and events[-1].request == 2
    assert service.close() == 0


def test_a_bad_request_is_answered_with_one_line_and_the_service_goes_on(service, tmp_path):
    content, style = save_pair(tmp_path, (48, SIDE), 64)
    service.ask(_request(1, tmp_path / "gone.png", style))
    error = service.until_final(1)[-1]
    assert isinstance(error, contract.ErrorEvent) and error.kind == "bad_input"
    assert "gone.png" in error.message and "\n" not in error.message
    service.ask(_request(2, content, "gallery:no_such_painting"))
    error = service.until_final(2)[-1]
    assert "no painting called" in error.message
    service.ask(_request(3, content, style, options={"iterations": 9}))
    assert "does not take iterations" in service.until_final(3)[-1].message
    service.ask(_request(4, content, style, refine=1))
    assert service.until_final(4)[-1].final
    assert service.close() == 0


def test_a_cancel_stops_it_at_once_and_a_line_it_cannot_read_is_ignored(service, tmp_path):
    content, style = save_pair(tmp_path, (48, SIDE), 64)
    service.process.stdin.write("not a request\n" + json.dumps({"event": "frame"}) + "\n")
    service.ask(_request(1, content, style, refine=5000))
    assert service.next_event().request == 1
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(timeout=30) == contract.ErrorKind.CANCELLED.exit_code


def test_run_on_another_machine_previews_there_with_the_same_frames(service, tmp_path, remote_env):
    """With Run on set, the preview comes from that machine over ssh (here a real OpenSSH
    server on 127.0.0.1): the same frames as this machine's, written into the caller's
    folder; closing it leaves no engine and no folder there (issue 47)."""
    import ssh_server

    from styleengine.run.remote import RUN_FOLDER_PREFIX

    content, style = save_pair(tmp_path, (48, SIDE), 64)
    request = _request(1, content, style, options={"seed": 2, "variation": 0.5}, refine=1)
    service.ask(request)
    here = [np.load(e.path) for e in service.until_final(1) if isinstance(e, contract.FrameEvent)]
    frames = tmp_path / "remote-frames"
    frames.mkdir()
    remote = Service(frames, remote_env, "--remote", ssh_server.HOST_ALIAS, "--remote-python",
                     sys.executable)  # fmt: skip
    assert isinstance(remote.next_event(), contract.ReadyEvent)
    remote.ask(request)
    events = [e for e in remote.until_final(1) if isinstance(e, contract.FrameEvent)]
    assert all(Path(e.path).parent == frames for e in events)  # the caller's own folder
    there = [np.load(e.path) for e in events]
    assert len(there) == len(here) == 2
    assert all(np.array_equal(a, b) for a, b in zip(here, there))
    remote.ask(_request(2, content, "gallery:munch_the_scream", refine=1))  # content not resent
    assert remote.until_final(2)[-1].final
    assert remote.close() == 0
    assert list(Path("/tmp").glob(RUN_FOLDER_PREFIX + "*")) == []


def test_a_frame_the_dialog_holds_open_is_skipped_unless_it_is_the_last(tmp_path, monkeypatch):
    """Windows cannot replace a file a reader holds open: the start frame is skipped (the
    refined one follows); the last frame's failure is the request's, said in one line."""
    import os

    from styleengine.errors import WriteFailedError
    from styleengine.service.preview_service import PreviewService

    real_replace = os.replace

    def held_open(source, target):
        if Path(target).name.startswith("frame-"):
            raise PermissionError(13, "The process cannot access the file")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", held_open)
    told = []
    service = PreviewService(None, tmp_path, told.append)
    request = contract.PreviewRequest(1, "photo.npy", ["gallery:munch_the_scream"])
    rgb = np.zeros((4, 6, 3), np.float32)
    service._frame(request, rgb, 0, False, 0.0)
    assert told == [] and not list(tmp_path.glob("frame-*"))
    with pytest.raises(WriteFailedError):
        service._frame(request, rgb, 6, True, 0.0)


# Values of every kind a request's field may hold when a caller (a plug-in of another
# version, a script, a remote's relay) gets it wrong.
_ODD = [None, True, -1, 0, 2.5, 1e308, "", "x", [], {}, [1], {"a": 1}, "gallery:nope",
        "gallery:munch_the_scream", "1"]  # fmt: skip


def _fields(photo: str, painting: str, mask: str, folder: str):
    odd = st.sampled_from([*_ODD, folder, photo + ".missing"])

    def seldom_odd(valid, one_in: int, odd_form=odd):
        """``valid``, or once in ``one_in`` draws an odd value: most requests then reach the
        fields after the first."""
        return st.integers(1, one_in).flatmap(lambda n: odd_form if n == 1 else valid)

    return st.fixed_dictionaries(
        {
            "request": seldom_odd(st.integers(-3, 3), 8),
            "content": seldom_odd(st.just(photo), 8),
            "styles": seldom_odd(
                st.sampled_from([[painting], ["gallery:munch_the_scream", painting]]), 6,
                st.one_of(odd, st.lists(odd, min_size=1, max_size=2)),
            ),
        },
        optional={
            "strength": seldom_odd(st.sampled_from([0, 50, 100.0, 101, -1]), 3),
            "options": seldom_odd(st.dictionaries(
                st.sampled_from([*contract.PREVIEW_OPTIONS, "iterations", "detail", ""]),
                st.one_of(st.sampled_from([1, 3, 0.5, "luminance", [1, 2]]), odd),
                max_size=2,
            ), 3),
            "regions": seldom_odd(st.dictionaries(
                st.sampled_from(["1", "2", "0", "x"]), st.one_of(st.just(mask), odd),
                max_size=2,
            ), 3),
            "strength_map": seldom_odd(st.just(mask), 3),
            "refine": seldom_odd(st.sampled_from([0, 1, 2]), 3),
        },
    )  # fmt: skip


def test_every_form_of_request_is_answered_in_one_line_and_the_service_goes_on(
    tmp_path, engine_env, hed_weights
):
    """The family of malformed requests, generated: whatever a request's fields hold, the
    service answers it with frames or one line that is not an internal error, writes nothing
    but its frames, and answers the next request."""
    content, style = save_pair(tmp_path, (16, 24), 24)
    mask = tmp_path / "mask.png"
    Image.fromarray(np.full((16, 24), 255, np.uint8)).save(mask)
    frames = tmp_path / "frames"
    frames.mkdir()
    service = Service(frames, engine_env)
    watchdog = threading.Timer(900, service.process.kill)  # a hang fails, never waits forever
    watchdog.start()
    before = sorted(tmp_path.iterdir())
    try:
        assert isinstance(service.next_event(), contract.ReadyEvent)

        @given(fields=_fields(str(content), str(style), str(mask), str(tmp_path)))
        # Each was a defect: a frame the dialog could not read (its request null), the
        # service dead (regions a list).
        @example(fields={"request": None, "content": str(content), "styles": [str(style)]})
        @example(fields={"request": 1, "content": str(content), "styles": [str(style)],
                         "regions": [str(mask)]})  # fmt: skip
        @settings(max_examples=fuzz_examples(40), deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
        def answered(fields):
            line = json.dumps({"event": "preview_request", **fields})
            try:
                readable = isinstance(contract.read_event(line), contract.PreviewRequest)
            except contract.ProtocolError:
                readable = False
            service.process.stdin.write(line + "\n")
            service.process.stdin.flush()
            if readable:
                number = fields["request"]
                number = number if type(number) is int else None  # the service's answer's
                events = service.until_final(number)
                last = events[-1]
                if isinstance(last, contract.ErrorEvent):
                    assert last.kind != contract.ErrorKind.INTERNAL.value, last.message
                    assert "\n" not in last.message and "Traceback" not in last.message
            # The service goes on: the next request is answered.
            service.ask(_request(10_000, content, style, refine=1))
            assert service.until_final(10_000)[-1].final

        answered()
        assert sorted(p.name for p in frames.iterdir()) <= ["frame-final.npy", "frame-start.npy"]
        assert sorted(tmp_path.iterdir()) == before  # nothing written beside the inputs
        assert service.close() == 0
    finally:
        watchdog.cancel()
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait()
