"""A run's progress, as the caller is told it: iterations over the scales and the detail
pass, the losses, and the seconds left (the plan's estimate of the work left, scaled by the
speed so far)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..contract import ProgressEvent
from ..model.canvas import crop_from_canvas
from ..plan.planning import Plan, painted_start_seconds
from ..settings import StyleSettings

# Reading the losses back for a progress report makes the host wait for the device; on a GPU
# an iteration takes about a millisecond, so reports come every tenth.
REPORT_EVERY_ON_CPU = 1
REPORT_EVERY_ON_GPU = 10


@dataclass(frozen=True)
class Progress(ProgressEvent):
    """What a progress callback is told: the protocol's progress record (contract.ProgressEvent,
    with its losses and times unrounded; ``rounded()`` is the wire's copy) and the picture so
    far, made only when asked for (None: no picture to show at this point)."""

    current_image: Callable[[], torch.Tensor] | None = None


ProgressCallback = Callable[[Progress], None]


def default_report_every(device_type: str) -> int:
    return REPORT_EVERY_ON_CPU if device_type == "cpu" else REPORT_EVERY_ON_GPU


class RunProgress:
    """Counts iterations over the scales and the detail pass and reports them, with the
    seconds left: the plan's estimate of the work left, scaled by the speed so far."""

    def __init__(
        self, settings: StyleSettings, callback: ProgressCallback | None, plan: Plan
    ) -> None:
        self.settings = settings
        self.callback = callback
        self.plan = plan
        self.report_every = settings.report_every or default_report_every(plan.machine.device_type)
        detail_iterations = plan.detail.iterations if plan.detail else 0
        self.total = sum(plan.scale_iterations) + detail_iterations
        self.scales = len(plan.scale_sizes)
        # The plan's seconds for one iteration of each scale, then of the detail pass.
        self.iteration_seconds = [plan.iteration_seconds(size) for size in plan.scale_sizes]
        if plan.detail:
            self.iteration_seconds.append(plan.detail.iteration_seconds)
        self.planned_done = 0.0
        self.iteration = 0
        self.started = time.perf_counter()

    def seconds_left(self, planned_done: float) -> float:
        elapsed = time.perf_counter() - self.started
        if planned_done <= 0 or elapsed <= 0:
            return self.plan.seconds
        left = self.plan.seconds - planned_done
        if left <= self.plan.seconds * 1e-9:  # the sum of the parts, rounded: nothing is left
            return 0.0
        return left * elapsed / planned_done

    def start_done(self, image: torch.Tensor) -> None:
        """The painted start is made: worth showing at once (the preview's first picture),
        before the first iteration."""
        working = self.plan.scale_sizes[-1]
        self.planned_done += painted_start_seconds(working, self.settings, self.plan.machine)
        if self.callback is None:
            return
        height, width = image.shape[-2:]
        image = image.detach().clone()  # the optimization goes on in place
        self.callback(
            Progress(
                stage="scale", scale=1, scales=self.scales, width=int(width), height=int(height),
                iteration=0, total=self.total, losses={},
                elapsed=time.perf_counter() - self.started, current_image=lambda: image,
                seconds_left=self.seconds_left(self.planned_done),
            )
        )  # fmt: skip

    def targets_done(self, index: int) -> None:
        """The paintings' targets of scale ``index`` (the scales' count: the detail pass's)
        are made: their planned seconds are done."""
        if index < len(self.plan.targets_seconds):
            self.planned_done += self.plan.targets_seconds[index]

    def detail_setup_done(self) -> None:
        """The detail pass's targets are made: its planned setup is done."""
        if self.plan.detail is not None:
            self.planned_done += self.plan.detail.setup_seconds

    def tile_done(self, tile: int, tiles: int) -> None:
        """A tile of the detail pass's gradient pass is done: worth a report of its own,
        because on a CPU one detail iteration takes minutes."""
        if self.callback is None:
            return
        height, width = self.plan.output_size
        within = self.iteration_seconds[-1] * tile / tiles
        self.callback(
            Progress(
                scale=self.scales, scales=self.scales, width=width, height=height,
                iteration=self.iteration, total=self.total, losses={},
                elapsed=time.perf_counter() - self.started, current_image=None,
                stage="detail", tile=tile, tiles=tiles,
                seconds_left=self.seconds_left(self.planned_done + within),
            )
        )  # fmt: skip

    def iteration_done(
        self,
        scale_index: int,
        width: int,
        height: int,
        terms: dict[str, torch.Tensor],
        pixels: torch.Tensor,
        last: bool,
        stage: str = "scale",
    ) -> None:
        self.iteration += 1
        self.planned_done += self.iteration_seconds[scale_index]
        if self.callback is None:
            return
        if not last and self.iteration % self.report_every:
            return
        # .item() synchronizes with the device: done only at reporting intervals.
        losses = {name: float(value.item()) for name, value in terms.items()}
        self.callback(
            Progress(
                scale=min(scale_index + 1, self.scales),
                scales=self.scales,
                width=int(width),
                height=int(height),
                iteration=self.iteration,
                total=self.total,
                losses=losses,
                elapsed=time.perf_counter() - self.started,
                current_image=lambda: crop_from_canvas(
                    pixels.detach().clamp(0, 1), (height, width)
                ).cpu(),
                stage=stage,
                seconds_left=self.seconds_left(self.planned_done),
            )
        )
