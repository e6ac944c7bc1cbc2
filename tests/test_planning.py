"""The plan made before any work: sizes, automatic working size, detail pass, estimates.
Machines are described, not measured, so each kind of machine can be planned for here."""

from __future__ import annotations

import re

import pytest
import torch

from styleengine.errors import OutOfMemoryError
from styleengine.model.canvas import network_canvas
from styleengine.plan.cost import Machine
from styleengine.plan.planning import (
    DETAIL_MIN_ITERATIONS,
    PAINTED_START_ITERATIONS,
    TIME_BUDGET_SECONDS,
    PlanRequest,
    iterations_per_scale,
    make_plan,
    scale_sizes,
)
from styleengine.settings import StyleSettings

GIB = 2**30
# This 2-core CPU in bfloat16 (BENCHMARKS.md: 0.68 s an iteration at 512 px), a laptop CPU
# with little memory, and a GPU (an H200's measured speed: 7 ms an iteration plus 7.5 ms a
# megapixel).
THIS_CPU = Machine("cpu", torch.bfloat16, 21 * GIB, 2.6)
SMALL_LAPTOP = Machine("cpu", torch.float32, 3 * GIB, 6.0)
GPU = Machine("cuda", torch.bfloat16, 70 * GIB, 0.0075, 0.007)
PHOTO_12MP = (3000, 4000)
PHOTO_24MP = (4000, 6000)


@pytest.mark.parametrize("machine", [THIS_CPU, SMALL_LAPTOP, GPU], ids=["cpu", "laptop", "gpu"])
@pytest.mark.parametrize("content", [PHOTO_12MP, PHOTO_24MP, (600, 800)], ids=str)
def test_defaults_never_refuse_and_keep_to_memory_and_time(machine, content):
    plan = make_plan(content, StyleSettings(), machine)
    assert plan.output_size == content
    assert plan.automatic_working_size
    assert plan.working_peak_bytes <= machine.free_bytes
    assert plan.working_seconds <= TIME_BUDGET_SECONDS[machine.device_type]
    if plan.detail is not None:
        assert plan.detail.peak_bytes <= machine.free_bytes
        assert plan.detail.iterations >= DETAIL_MIN_ITERATIONS


def test_small_photo_is_worked_at_its_own_size_on_a_gpu():
    plan = make_plan((600, 800), StyleSettings(), GPU)
    assert plan.working_size == (600, 800) and plan.detail is None


def test_a_gpus_fixed_cost_is_counted_once_an_iteration():
    """A small photo on a GPU takes the launches' time, not only its pixels' time."""
    pixels_only = Machine("cuda", torch.bfloat16, 70 * GIB, GPU.seconds_per_megapixel)
    plan = make_plan((600, 800), StyleSettings(), GPU)
    without = make_plan((600, 800), StyleSettings(), pixels_only)
    # The painted start is counted as a share of an iteration, fixed cost included.
    iterations = StyleSettings().iterations + PAINTED_START_ITERATIONS
    assert plan.seconds == pytest.approx(without.seconds + iterations * GPU.seconds_per_iteration)


def test_gpu_works_larger_than_the_cpu():
    on_cpu = make_plan(PHOTO_12MP, StyleSettings(), THIS_CPU)
    on_gpu = make_plan(PHOTO_12MP, StyleSettings(), GPU)
    assert max(on_gpu.working_size) > 2 * max(on_cpu.working_size)


def test_detail_pass_of_24_megapixels_is_planned_under_6_gib():
    plan = make_plan(
        PHOTO_24MP, StyleSettings(), THIS_CPU, request=PlanRequest(detail="on", detail_iterations=3)
    )
    assert plan.detail is not None and plan.detail.tiles >= 80
    assert plan.detail.peak_bytes < 6 * GIB


def test_too_large_a_working_size_names_one_that_fits():
    with pytest.raises(OutOfMemoryError) as raised:
        make_plan(PHOTO_24MP, StyleSettings(), SMALL_LAPTOP, request=PlanRequest(working_side=6000))
    message = raised.value.message
    assert re.search(r"set the Working size to \d+ px or less \(--working-size", message), message
    assert "0 for the automatic size" in message


def test_peak_memory_counts_the_stroke_size_and_the_output():
    unlimited = Machine("cpu", torch.float32, None, 1.0)

    def peak(**options):
        return make_plan(
            (1000, 1000),
            StyleSettings(**options),
            unlimited,
            request=PlanRequest(working_side=1000),
        )

    assert peak(style_scale=4.0).working_peak_bytes > peak().working_peak_bytes
    larger_output = make_plan(
        (4000, 4000), StyleSettings(), unlimited, request=PlanRequest(working_side=1000)
    )
    assert larger_output.working_peak_bytes > peak().working_peak_bytes


def test_start_event_carries_the_plan():
    plan = make_plan(PHOTO_12MP, StyleSettings(), THIS_CPU)
    event = plan.start_event("cpu", "fp32", "hed")
    assert event.output_size == [4000, 3000] and event.device == "cpu"
    # what the user is told is what the plan will spend: minutes on this CPU, not 0
    assert event.estimated_seconds == pytest.approx(plan.seconds, abs=0.1)
    assert 60 < event.estimated_seconds < 2 * TIME_BUDGET_SECONDS["cpu"]
    assert event.estimated_peak_bytes == plan.peak_bytes
    assert event.working_size_automatic is True


def test_scale_plan():
    assert scale_sizes(768, 1024, 3) == [(192, 256), (384, 512), (768, 1024)]
    assert scale_sizes(60, 80, 3) == [(60, 80)]  # never coarser than 64 px
    assert scale_sizes(96, 128, 3) == [(48, 64), (96, 128)]
    assert iterations_per_scale(100, 3) == [33, 33, 34]
    assert scale_sizes(50, 1000, 3) == [(50, 1000)]  # a halved strip would be too thin
    assert network_canvas(1, 1) == (32, 32)
    assert network_canvas(10, 300) == (32, 300)
