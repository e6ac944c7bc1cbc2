"""Timings are measured once a machine and remembered, so that the decisions taken from
them (precision, automatic working size, detail pass) repeat and a seed repeats its picture."""

from __future__ import annotations

import json

import pytest
from conftest import make_fifo

from styleengine.plan import machine_profile


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEENGINE_CACHE", str(tmp_path))
    return tmp_path


def test_a_timing_is_measured_once_and_the_next_run_gets_the_same_numbers(cache):
    measured = iter([[1.5, 2.5], [9.0, 9.0]])
    first = machine_profile.remembered("probe", lambda: next(measured))
    again = machine_profile.remembered("probe", lambda: next(measured))
    assert first == again == [1.5, 2.5]
    assert json.loads((cache / machine_profile.PROFILE_FILE).read_text()) == {"probe": [1.5, 2.5]}


@pytest.mark.parametrize(
    "content", ['{"probe": [NaN, 1]}', '{"probe": "fast"}', "[1, 2]", "not json", '{"probe": []}']
)
def test_a_damaged_profile_is_measured_again_and_repaired(cache, content):
    (cache / machine_profile.PROFILE_FILE).write_text(content)
    assert machine_profile.remembered("probe", lambda: [3.0]) == [3.0]
    assert machine_profile.remembered("probe", lambda: [4.0]) == [3.0]


def test_a_profile_that_is_a_fifo_or_a_link_is_never_read(cache, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "planted.json"
    elsewhere.write_text('{"probe": [0.0]}')
    (cache / machine_profile.PROFILE_FILE).symlink_to(elsewhere)
    assert machine_profile.remembered("probe", lambda: [3.0]) == [3.0]
    assert elsewhere.read_text() == '{"probe": [0.0]}'  # replaced the link, not its target
    (cache / machine_profile.PROFILE_FILE).unlink()
    make_fifo(cache / machine_profile.PROFILE_FILE)
    assert machine_profile.remembered("probe", lambda: [5.0]) == [5.0]  # no hang


def test_keys_name_the_machine_and_pytorch(cache):
    key = machine_profile.machine_key("iteration seconds", "cpu: 2 threads")
    assert key.startswith("iteration seconds|cpu: 2 threads|")
    assert "torch " in key and "threads" in key


def test_doctor_remeasure_forgets_the_timings(cache, engine_env, hed_weights):
    from conftest import run_cli

    machine_profile.remembered("probe", lambda: [1.0])
    done = run_cli(["doctor", "--remeasure", "--device", "cpu"],
                   {**engine_env, "STYLEENGINE_CACHE": str(cache)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "forgotten" in done.stdout
    assert machine_profile.remembered("probe", lambda: [2.0]) == [2.0]
