"""A run's progress (styleengine.run.progress): the iterations counted over the whole run,
reported at the asked cadence, with the seconds left falling to zero."""

from __future__ import annotations

import torch

from styleengine.plan.cost import Machine
from styleengine.plan.planning import make_plan
from styleengine.run.progress import RunProgress
from styleengine.settings import StyleSettings


def test_reports_come_every_nth_iteration_and_at_the_last_with_the_time_left():
    settings = StyleSettings(iterations=25, report_every=10)
    plan = make_plan((48, 64), settings, Machine("cpu", torch.float32, None, 1.0))
    seen = []
    run = RunProgress(settings, seen.append, plan)
    pixels = torch.zeros(1, 3, 48, 64)
    run.start_done(pixels)  # the painted start, shown before the first iteration
    run.targets_done(0)  # the painting's targets, before the first iteration
    for step in range(25):
        run.iteration_done(0, 64, 48, {"total": torch.tensor(2.0)}, pixels, last=step == 24)
    assert [p.iteration for p in seen] == [0, 10, 20, 25]
    assert seen[0].losses == {}
    assert all(p.total == 25 and p.losses == {"total": 2.0} for p in seen[1:])
    assert seen[-1].seconds_left == 0.0 and seen[0].seconds_left >= seen[1].seconds_left
    assert tuple(seen[-1].current_image().shape) == (1, 3, 48, 64)


def test_a_python_callers_default_reports_at_the_devices_cadence_as_the_command_lines():
    """StyleSettings' report_every is its option's default, 0: every iteration on a CPU and
    every tenth on a GPU, as the command line's --report-every 0 (it was 1 everywhere)."""
    settings = StyleSettings(iterations=25)
    assert settings.report_every == 0
    for device_type, wanted in (("cpu", list(range(26))), ("cuda", [0, 10, 20, 25])):
        plan = make_plan((48, 64), settings, Machine(device_type, torch.float32, None, 1.0))
        seen = []
        run = RunProgress(settings, seen.append, plan)
        pixels = torch.zeros(1, 3, 48, 64)
        run.start_done(pixels)
        for step in range(25):
            run.iteration_done(0, 64, 48, {"total": torch.tensor(2.0)}, pixels, last=step == 24)
        assert [p.iteration for p in seen] == wanted, device_type
