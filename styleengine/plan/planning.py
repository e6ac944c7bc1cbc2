"""One plan, made before any work: every size of a run, its tiles, and what it will cost.

content size -> output size -> working size (given, or automatic: the largest that fits the
device's memory and a time budget) -> coarse-to-fine scales at the working size -> detail
pass at the output size, in tiles (when the output is larger than the working size and the
time allows) -> peak memory and seconds, from the device's measured speed.

Sizes are (height, width) tuples throughout.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..contract import (
    OPTIONS_BY_NAME,
    OUTPUT_SIZE,
    WORKING_SIZE,
    DetailPass,
    StartEvent,
    lower_output_size_advice,
    lower_working_size_advice,
)
from ..errors import BadInputError, OutOfMemoryError, check_option
from ..model.canvas import MIN_WORK_SIDE, Size, network_canvas
from ..settings import StyleSettings
from .cost import Machine, estimate_peak_bytes
from .tiles import halo_for, plan_tiles

# The painted start (optim/painted_start.py) costs about a fifth of an iteration at the working size
# (on a 2-core CPU: 0.18 s at 384x288, 2.8 s at 1536x1152, where an iteration takes about 0.5 s
# and 10 s); counted as a quarter.
PAINTED_START_ITERATIONS = 0.25
# Each coarser scale halves the side, but none is made smaller than this.
MIN_SCALE_SIDE = 64
# L-BFGS memory: 20 pairs keep the optimizer's state small (3 floats a pixel a pair) at a
# convergence rate indistinguishable from 100 for this problem.
LBFGS_HISTORY = 20
# How long the automatic working size lets the optimization at the working size take, by
# the device's measured speed: a few minutes is what a GIMP user waits for a filter on a
# laptop's CPU; on a GPU the same sizes take seconds, so a minute buys a far larger size.
TIME_BUDGET_SECONDS = {"cpu": 240.0, "mps": 120.0, "cuda": 60.0}
# Only this share of the free memory is planned for: the estimate is a model, and the
# user's other programs keep running.
MEMORY_SHARE = 0.85
# The detail pass: tiles of this interior side; a short L-BFGS memory, because its state is
# kept for every pixel of the output (3 floats a pixel a pair: 24 MP x 3 pairs = 1.7 GB).
DETAIL_TILE_SIDE = 512
DETAIL_HISTORY = 3
DETAIL_MIN_ITERATIONS = 3
DETAIL_MAX_ITERATIONS = 20
DETAIL_DEFAULT_ITERATIONS = 10
# An output this much larger than the working size gains from a detail pass.
DETAIL_MIN_UPSCALE = 1.25
# Full-size float32 RGB tensors alive in the detail pass besides L-BFGS's pairs: the image,
# its gradient, L-BFGS's previous gradient and its two-loop vector with one temporary, and
# the photo three times (as read, as a tensor, recoloured). The pairs are kept in bfloat16
# (half a float32 copy each); the content features for the content loss are kept in the
# network's precision (relu4_2: 512 channels at 1/64 of the pixels: 8 values a pixel).
DETAIL_FULL_SIZE_COPIES = 8
DETAIL_PAIR_COPIES = 1  # s and y of a pair, each half a float32 copy
DETAIL_CONTENT_VALUES_PER_PIXEL = 8
DETAIL = OPTIONS_BY_NAME["detail"]
DETAIL_ITERATIONS = OPTIONS_BY_NAME["detail_iterations"]
# The detail pass's cost, in iterations over its crops' pixels at the working size's speed:
# each iteration (the pass without gradients, the one with them, the per-tile Gram products,
# the full-size L-BFGS and total-variation work), and once before the first (the style
# targets at the output size and the content's features, passes without gradients). Fit to
# a 2-core Xeon's runs at 1 and 24 MP (BENCHMARKS.md): 1.27-1.36 an iteration, 1.1 before.
# The sliced-Wasserstein layers' tiled form (a sample's sort and every tile's ranks in it)
# makes it 1.55: a default 1 MP run's detail pass took 271 s where 1.3 planned 229 s.
DETAIL_ITERATION_COST = 1.55
DETAIL_SETUP_COST = 1.1


def fit(size: Size, longest: int) -> Size:
    """``size`` scaled so that its longest side is ``longest``."""
    height, width = size
    factor = longest / max(height, width)
    return max(1, round(height * factor)), max(1, round(width * factor))


def output_size(content: Size, output_side: int | None) -> Size:
    """The result's size: the content's, or with the longest side ``output_side``."""
    if not output_side:
        return content
    return fit(content, output_side)


def scale_sizes(height: int, width: int, scales: int) -> list[Size]:
    """The size of each scale, coarse to fine, ending at (height, width).

    A coarser scale halves the sides; it is kept only while its longest side is at least
    MIN_SCALE_SIDE and its shortest at least MIN_WORK_SIDE, so a strip-shaped image is never
    shrunk to a side the network's poolings cannot take.
    """
    sizes: list[Size] = []
    # Halving more often than the longest side has bits leaves less than a pixel: a larger
    # count (--scales 1000000) adds nothing, and is not looped over.
    for step in range(min(scales - 1, max(height, width).bit_length()), 0, -1):
        size = fit((height, width), round(max(height, width) / 2**step))
        if max(size) >= MIN_SCALE_SIDE and min(size) >= MIN_WORK_SIDE and size not in sizes:
            sizes.append(size)
    if (height, width) not in sizes:
        sizes.append((height, width))
    return sizes


def iterations_per_scale(total: int, scales: int) -> list[int]:
    """An equal share for every scale; the finest gets the remainder."""
    share = [total // scales] * scales
    share[-1] += total - sum(share)
    return share


@dataclass(frozen=True)
class DetailPlan:
    iterations: int
    tile_side: int
    tiles: int
    iteration_seconds: float
    peak_bytes: int
    setup_seconds: float = 0.0
    crop_pixels: int = 0

    @property
    def seconds(self) -> float:
        return self.setup_seconds + self.iterations * self.iteration_seconds


@dataclass(frozen=True)
class Plan:
    content_size: Size
    output_size: Size
    working_size: Size
    automatic_working_size: bool
    scale_sizes: list[Size]
    scale_iterations: list[int]
    working_seconds: float
    working_peak_bytes: int
    machine: Machine
    detail: DetailPlan | None = None
    # The paintings' style targets (``targets_seconds``): one per scale, then the detail pass's
    targets_seconds: tuple[float, ...] = ()

    def iteration_seconds(self, size: Size) -> float:
        """The estimated seconds of one iteration at ``size``."""
        return self.machine.iteration_seconds(size)

    @property
    def seconds(self) -> float:
        detail = self.detail.seconds if self.detail else 0.0
        return self.working_seconds + detail + sum(self.targets_seconds)

    @property
    def peak_bytes(self) -> int:
        return max(self.working_peak_bytes, self.detail.peak_bytes if self.detail else 0)

    def start_event(self, device: str, precision: str, weights: str) -> StartEvent:
        """The plan as the protocol's ``start`` event carries it (sizes as [width, height]),
        with what the run uses."""

        def wh(size: Size) -> list[int]:
            return [size[1], size[0]]

        detail = None
        if self.detail is not None:
            detail = DetailPass(self.detail.iterations, self.detail.tiles)
        return StartEvent(
            device=device,
            precision=precision,
            weights=weights,
            content_size=wh(self.content_size),
            output_size=wh(self.output_size),
            working_size=wh(self.working_size),
            working_size_automatic=self.automatic_working_size,
            scales=[wh(s) for s in self.scale_sizes],
            total_iterations=sum(self.scale_iterations),
            detail=detail,
            estimated_seconds=round(self.seconds, 1),
            estimated_peak_bytes=self.peak_bytes,
        )


def _working_seconds(size: Size, settings: StyleSettings, machine: Machine) -> float:
    sizes = scale_sizes(*size, settings.scales)
    shares = iterations_per_scale(settings.iterations, len(sizes))
    start = painted_start_seconds(size, settings, machine)
    return start + sum(n * machine.iteration_seconds(s) for n, s in zip(shares, sizes))


# The paintings' style targets: each painting once through the network for each scale (and
# the detail pass), a pass without gradients at the painting's size for that scale: 0.42 of an
# iteration's time per pixel on a 2-core CPU (a 0.95 MP painting: 4.0 s, where an iteration
# takes 9.3 s per million pixels). The estimate counts them; the automatic working size and the
# detail pass's iterations leave them out (a few percent of a photo's time: they decide no
# size, and a picture stays the one it was). For a strip, whose painting has up to four times
# its area (style_side), they were a third of the time, and a plan 1.6 to 1.9 times short.
TARGETS_COST = 0.45


def targets_seconds(
    size: Size, style_area: float, style_count: int, machine: Machine, already: float = 0.0
) -> float:
    """The estimated seconds of the paintings' targets for a picture of ``size``, less
    ``already`` pixels' worth that another estimate counts."""
    pixels = max(0.0, style_count * style_area * style_side(size) ** 2 - already)
    return pixels / 1e6 * machine.seconds_per_megapixel * TARGETS_COST


def painted_start_seconds(size: Size, settings: StyleSettings, machine: Machine) -> float:
    """The painted start's estimated seconds at the working size (0 for another start)."""
    if settings.init != "painted":
        return 0.0
    return PAINTED_START_ITERATIONS * machine.iteration_seconds(size)


# A painting is resized to the picture's longest side (times Stroke size), so that its strokes
# keep their size relative to the picture. For a strip that side is no measure of it: a
# panorama 40 times as wide as high had its painting resized to 40 times its height, 1,600
# times the strip's own area through the network (10 GiB and five times the planned time for a
# 0.3 MP strip). Beyond an aspect of 4:1 the painting's side is twice the picture's mean side.
STYLE_SIDE_PER_MEAN_SIDE = 2.0


def style_side(size: Size, style_scale: float = 1.0) -> float:
    """The longest side a painting is resized to for a picture of ``size``."""
    height, width = size
    mean_side = math.sqrt(height * width)
    return style_scale * min(max(size), STYLE_SIDE_PER_MEAN_SIDE * mean_side)


def _working_peak(size: Size, machine: Machine, style_area: float, output_pixels: int) -> int:
    canvas = network_canvas(*size)
    style_pixels = round(style_area * style_side(size) ** 2)
    return estimate_peak_bytes(
        math.prod(canvas), machine.dtype, LBFGS_HISTORY, style_pixels, output_pixels
    )


def _usable(machine: Machine) -> float:
    return math.inf if machine.free_bytes is None else machine.free_bytes * MEMORY_SHARE


def _automatic_side(
    output: Size, settings: StyleSettings, machine: Machine, style_area: float
) -> int:
    budget = TIME_BUDGET_SECONDS.get(machine.device_type, TIME_BUDGET_SECONDS["cpu"])
    usable = _usable(machine)
    output_pixels = math.prod(output)

    def fits(side: int) -> bool:
        size = fit(output, side)
        return (
            _working_peak(size, machine, style_area, output_pixels) <= usable
            and _working_seconds(size, settings, machine) <= budget
        )

    return max(largest_side(max(output), fits), min(MIN_SCALE_SIDE, max(output)))


def largest_side(limit: int, fits: Callable[[int], bool]) -> int:
    """The largest side in 1..limit for which ``fits`` holds (it holds for every smaller
    side too), or 0."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _detail_plan(
    output: Size,
    working: Size,
    settings: StyleSettings,
    machine: Machine,
    mode: str,
    iterations: int | None,
) -> DetailPlan | None:
    if mode == "off" or (mode == "auto" and max(output) < DETAIL_MIN_UPSCALE * max(working)):
        return None
    layers = [*settings.content_layers, *settings.style_layers]
    tiles = plan_tiles(*output, DETAIL_TILE_SIDE, layers)
    crop_pixels = sum((t.crop_bottom - t.crop_top) * (t.crop_right - t.crop_left) for t in tiles)
    # Per iteration: a forward pass without gradients over every crop and one with them,
    # each tile paying an iteration's fixed cost in each.
    crops_seconds = crop_pixels / 1e6 * machine.seconds_per_megapixel
    seconds_per_iteration = (
        crops_seconds * DETAIL_ITERATION_COST + len(tiles) * machine.seconds_per_iteration * 2
    )
    setup_seconds = crops_seconds * DETAIL_SETUP_COST
    largest_crop = (DETAIL_TILE_SIDE + 2 * halo_for(layers)) ** 2
    pixels = math.prod(output)
    full_size = pixels * 12 * (DETAIL_FULL_SIZE_COPIES + DETAIL_PAIR_COPIES * DETAIL_HISTORY)
    peak = (
        estimate_peak_bytes(min(largest_crop, crop_pixels), machine.dtype, 0)
        + full_size
        + pixels * DETAIL_CONTENT_VALUES_PER_PIXEL * (torch.finfo(machine.dtype).bits // 8)
    )
    if peak > _usable(machine):
        if mode == "on":
            raise OutOfMemoryError(
                f"The detail pass at {output[1]}x{output[0]} needs about {peak / 2**30:.1f} "
                f"GiB, more than the free memory; switch the detail pass off "
                f"({DETAIL.flag} off) or {lower_output_size_advice(max(output) // 2)}."
            )
        return None
    if mode == "on":
        count = iterations or DETAIL_DEFAULT_ITERATIONS
    else:
        budget = TIME_BUDGET_SECONDS.get(machine.device_type, TIME_BUDGET_SECONDS["cpu"])
        affordable = int((budget - setup_seconds) / seconds_per_iteration)
        count = min(iterations or DETAIL_MAX_ITERATIONS, affordable)
        if count < DETAIL_MIN_ITERATIONS:
            return None
    return DetailPlan(
        count, DETAIL_TILE_SIDE, len(tiles), seconds_per_iteration, peak, setup_seconds,
        crop_pixels,
    )  # fmt: skip


@dataclass(frozen=True)
class PlanRequest:
    """What a caller asks of a run besides its settings, carried as one from the Python API
    and the command line to the plan: the result's longest side (None or 0: the content's),
    the optimization's (None or 0: automatic) and the detail pass (its mode and iterations,
    None or 0: as many as the time allows). Checked by the contract's options on creation."""

    output_side: int | None = None
    working_side: int | None = None
    detail: str = "auto"
    detail_iterations: int | None = None

    def __post_init__(self) -> None:
        # Each by its option's rule, kept as the rule reads it (a whole float, 512.0, as 512).
        for field_name, option, value in (
            ("output_side", OUTPUT_SIZE, self.output_side or 0),
            ("working_side", WORKING_SIZE, self.working_side or 0),
            ("detail", DETAIL, self.detail),
            ("detail_iterations", DETAIL_ITERATIONS, self.detail_iterations or 0),
        ):
            object.__setattr__(self, field_name, check_option(option, value))
        if self.detail == "off" and self.detail_iterations:
            raise BadInputError(
                f"{DETAIL_ITERATIONS.named} need the detail pass, which is off ({DETAIL.flag} off)."
            )


def make_plan(
    content: Size,
    settings: StyleSettings,
    machine: Machine,
    style_aspect: float = 1.0,
    request: PlanRequest = PlanRequest(),
    style_count: int = 1,
) -> Plan:
    """The plan for stylizing content of size ``content`` as ``request`` asks.
    ``style_aspect``: the largest short/long side ratio among the style images (their pass
    through the network counts in the peak memory); ``style_count``: how many there are
    (each passes, in the time)."""
    output_side, working_side = request.output_side, request.working_side
    output = output_size(content, output_side)
    style_area = settings.style_scale**2 * style_aspect
    automatic = not working_side
    if automatic:
        working = fit(output, _automatic_side(output, settings, machine, style_area))
    else:
        working = fit(output, working_side) if working_side < max(output) else output
    peak = _working_peak(working, machine, style_area, math.prod(output))
    if peak > _usable(machine):
        raise _too_large(working, output, machine, style_area)
    sizes = scale_sizes(*working, settings.scales)
    detail = _detail_plan(
        output, working, settings, machine, request.detail, request.detail_iterations
    )
    targets = [targets_seconds(size, style_area, style_count, machine) for size in sizes]
    if detail is not None:
        # DETAIL_SETUP_COST counts a painting of the crops' own pixels: a larger one's excess.
        targets.append(
            targets_seconds(output, style_area, style_count, machine, detail.crop_pixels)
        )
    return Plan(
        content_size=content,
        output_size=output,
        working_size=working,
        automatic_working_size=automatic,
        scale_sizes=sizes,
        scale_iterations=iterations_per_scale(settings.iterations, len(sizes)),
        working_seconds=_working_seconds(working, settings, machine),
        working_peak_bytes=peak,
        machine=machine,
        detail=detail,
        targets_seconds=tuple(targets),
    )


def _too_large(working: Size, output: Size, machine: Machine, style_area: float):
    free = f"{(machine.free_bytes or 0) / 2**30:.1f} GiB free"
    usable = _usable(machine)
    output_pixels = math.prod(output)

    def fits(side: int) -> bool:
        return _working_peak(fit(working, side), machine, style_area, output_pixels) <= usable

    side = largest_side(max(working), fits)
    smallest = fit(working, min(MIN_SCALE_SIDE, max(working)))
    if side < MIN_SCALE_SIDE and _working_peak(smallest, machine, style_area, 0) <= usable:
        # The output itself is what does not fit.
        def output_fits(output_side: int) -> bool:
            pixels = math.prod(fit(output, output_side))
            return _working_peak(smallest, machine, style_area, pixels) <= usable

        largest_output = largest_side(max(output), output_fits)
        return OutOfMemoryError(
            f"A {output[1]}x{output[0]} result does not fit in the memory of "
            f"{machine.device_type} ({free}); {lower_output_size_advice(largest_output)}."
        )
    if side < MIN_SCALE_SIDE:
        return OutOfMemoryError(
            f"There is not enough free memory on {machine.device_type} ({free}) even for a "
            f"{MIN_SCALE_SIDE} px working size; close other programs, use a smaller Stroke "
            "size (--style-scale), or another device."
        )
    return OutOfMemoryError(
        f"A {working[1]}x{working[0]} working size does not fit in the memory of "
        f"{machine.device_type} ({free}). The largest that fits is about {side} px on the "
        f"longest side: {lower_working_size_advice(side)}."
    )


def out_of_memory_during_run(plan: Plan, machine: Machine, style_area: float):
    """The error for a run that ran out of memory although the plan said it would fit."""
    return _too_large(plan.working_size, plan.output_size, machine, style_area)
