"""What a run costs (styleengine.plan.cost): the speed probe is run once a machine, memory grows
with the pixels."""

from __future__ import annotations

import time

import torch

from styleengine.plan import cost


def test_the_speed_is_probed_on_the_first_run_and_remembered_after(monkeypatch, tmp_path):
    monkeypatch.setenv("STYLEENGINE_CACHE", str(tmp_path))
    calls = []

    def iteration_at(side):
        def iteration():
            calls.append(side)
            return torch.zeros(1)

        return iteration

    cpu = torch.device("cpu")
    first = cost.machine_for(cpu, torch.float32, iteration_at)
    assert calls == [cost.SPEED_PROBE_SIDE] * (1 + cost.SPEED_PROBE_ITERATIONS)
    again = cost.machine_for(cpu, torch.float32, iteration_at)
    assert len(calls) == 1 + cost.SPEED_PROBE_ITERATIONS  # not measured again
    assert again.seconds_per_megapixel == first.seconds_per_megapixel
    unmeasured = cost.machine_for(cpu, torch.float32)
    assert unmeasured.seconds_per_megapixel == cost.UNMEASURED_SPEED


def test_other_layers_are_timed_for_themselves(monkeypatch, tmp_path):
    """A network cut at relu4_2 runs 14% faster than one to relu5_1: a speed remembered for
    one set of layers must not plan a run with another."""
    monkeypatch.setenv("STYLEENGINE_CACHE", str(tmp_path))
    cpu = torch.device("cpu")

    def probe(seconds):
        def iteration_at(side):
            def iteration():
                time.sleep(seconds)
                return torch.zeros(1)

            return iteration

        return iteration_at

    deep = cost.machine_for(cpu, torch.float32, probe(0.04), ("relu4_2", "relu5_1"))
    shallow = cost.machine_for(cpu, torch.float32, probe(0.0), ("relu4_2", "relu4_1"))
    assert shallow.seconds_per_megapixel < deep.seconds_per_megapixel
    again = cost.machine_for(cpu, torch.float32, probe(0.0), ("relu4_2", "relu5_1"))
    assert again.seconds_per_megapixel == deep.seconds_per_megapixel  # remembered


def test_memory_grows_with_the_pixels_and_halves_its_activations_in_bfloat16():
    small = cost.estimate_peak_bytes(512 * 512, torch.float32, 20)
    large = cost.estimate_peak_bytes(1024 * 1024, torch.float32, 20)
    assert large - small == 3 * 512 * 512 * cost.bytes_per_pixel(torch.float32, 20)
    assert cost.bytes_per_pixel(torch.bfloat16, 20) < cost.bytes_per_pixel(torch.float32, 20)
