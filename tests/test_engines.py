"""The engine interface: a job run here or on another machine, by the same calls."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import ssh_server
from conftest import fuzz_examples, save_pair
from hypothesis import given, settings
from hypothesis import strategies as st

from styleengine import Job, LocalEngine, RemoteEngine, contract
from styleengine.contract import SSH_CONFIG_VARIABLE, DoneEvent, ProgressEvent, StartEvent
from styleengine.errors import BadInputError
from styleengine.run.protocol import Reporter


class _Recorder(Reporter):
    def __init__(self) -> None:
        self.events: list[object] = []

    def start(self, event: StartEvent) -> None:
        self.events.append(event)

    def progress(self, event: ProgressEvent) -> None:
        self.events.append(event)


def test_a_python_caller_runs_a_job_here_or_remotely_the_same_way(
    tmp_path, server, monkeypatch, hed_weights
):
    monkeypatch.setenv(SSH_CONFIG_VARIABLE, str(server.config))
    content, style = save_pair(tmp_path, (48, 64), 64)
    engines = {
        "here": LocalEngine(weights="hed", device="cpu"),
        "there": RemoteEngine(weights="hed", device="cpu", host=ssh_server.HOST_ALIAS,
                              remote_python=sys.executable),
    }  # fmt: skip
    pictures = {}
    for name, engine in engines.items():
        output = tmp_path / f"{name}.npy"
        # A file and a gallery painting, blended: the remote gets the file and the name.
        job = Job(str(content), [str(style), "gallery:munch_the_scream"], str(output),
                  {"iterations": 2, "seed": 3, "style_blend": (2, 1)})  # fmt: skip
        recorder = _Recorder()
        done = engine.stylize(job, recorder)
        assert isinstance(done, DoneEvent) and done.output == str(output)
        assert isinstance(recorder.events[0], StartEvent)
        progress = [e.iteration for e in recorder.events if isinstance(e, ProgressEvent)]
        assert progress[-1] == 2
        pictures[name] = np.load(output)
    assert pictures["here"].shape == pictures["there"].shape == (48, 64, 3)
    # The same machine, the same seed: the same picture, bit for bit.
    assert np.array_equal(pictures["here"], pictures["there"])


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"device": "cpu"}, "A job takes no option 'device'"),
        ({"iteratons": 3}, "A job takes no option 'iteratons'"),
        ({"preview_every": 2}, "--preview-every and --preview-seconds need --preview PATH"),
        ({"strength": 80, "palette": 0.5}, "--strength sets --palette"),
    ],
)
def test_a_job_that_cannot_work_is_refused_before_anything_is_written(tmp_path, options, words):
    content, style = save_pair(tmp_path, (32, 32), 32)
    output = tmp_path / "out.png"
    job = Job(str(content), [str(style)], str(output), {"iterations": 1, **options})
    with pytest.raises(BadInputError, match=words):
        LocalEngine(weights="hed", device="cpu").stylize(job)
    assert not output.exists()


def test_a_job_takes_paths_as_a_python_caller_has_them(tmp_path, hed_weights):
    content, style = save_pair(tmp_path, (32, 32), 32)
    output = tmp_path / "out.npy"
    # Path objects, and one painting alone rather than a list of one
    job = Job(content, style, output, {"iterations": 1})
    assert job.styles == [str(style)] and job.content == str(content)
    done = LocalEngine(weights="hed", device="cpu").stylize(job)
    assert done.output == str(output) and np.load(output).shape == (32, 32, 3)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda c, s, o: Job(None, [s], o), "A Job's content must be a file's path, not None"),
        (lambda c, s, o: Job(c, [], o), "A Job's styles must be one or more"),
        (lambda c, s, o: Job(c, [s, 3], o), "A Job's styles must be a file's path, not 3"),
        (lambda c, s, o: Job(c, [s], o, ["iterations"]), "A Job's options must be a dict"),
        (lambda c, s, o: RemoteEngine(host=""), "A RemoteEngine needs host"),
    ],
)
def test_what_a_python_caller_gets_wrong_is_one_sentence_naming_it(tmp_path, make, words):
    content, style = save_pair(tmp_path, (32, 32), 32)
    with pytest.raises(BadInputError, match=words):
        make(str(content), str(style), str(tmp_path / "out.png"))


_ODD_VALUES = [None, True, 0, -1, 2.5, 1e308, float("nan"), "", "2", "x", [], [1], (1, "m.png"),
               [(1, "m.png")], {}, {"a": 1}, b"x", 10**30]  # fmt: skip


def test_a_jobs_options_in_any_python_form_are_taken_or_refused_in_one_sentence(tmp_path):
    """The family of option values a Python caller may pass, generated: a job's check and
    its settings take each or refuse it with BadInputError, never another error."""
    output = str(tmp_path / "out.png")
    names = [o.name for o in contract.OPTIONS
             if o.name not in ("weights", "device", "precision", "remote", "remote_python",
                               "output")]  # fmt: skip

    @given(options=st.dictionaries(st.sampled_from(names), st.sampled_from(_ODD_VALUES),
                                   max_size=3))  # fmt: skip
    @settings(max_examples=fuzz_examples(300), deadline=None)
    def taken_or_refused(options):
        job = Job("photo.png", ["painting.png"], output, options)
        try:
            job.check()
            job.settings("cpu").validate(style_count=1)
        except BadInputError as error:
            assert "\n" not in error.message

    taken_or_refused()
    assert list(tmp_path.iterdir()) == []  # the check wrote nothing
