"""The Gatys optimization: coarse-to-fine, with L-BFGS or Adam, over the pixels of an image.

Images here are float32 tensors (1, 3, H, W) with RGB in [0, 1] on the CPU; the work happens
on the chosen device and precision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .color import colour_statistics, mixture_statistics, recolour
from .device import available_memory_bytes, describe_device
from .lbfgs import LBFGS
from .losses import ContentLoss, StyleLoss, TVLoss, gram_matrix, position_weights_for
from .machine_profile import machine_key, remembered
from .network import VGGFeatures
from .planning import (
    DETAIL_HISTORY,
    LBFGS_HISTORY,
    MIN_WORK_SIDE,
    Machine,
    Plan,
    fit,
    make_plan,
    network_canvas,
    out_of_memory_during_run,
)
from .settings import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_SCALES,
    DEFAULT_STYLE_LAYERS,
    INIT_CHOICES,
    OPTIMIZERS,
    RESCALE_CHOICES,
    StyleSettings,
)
from .tiling import TiledObjective, gram_matrices_in_tiles
from .weights import WeightSet

__all__ = [
    "DEFAULT_SCALES",
    "INIT_CHOICES",
    "OPTIMIZERS",
    "RESCALE_CHOICES",
    "StyleSettings",
    "Stylizer",
]

ADAM_LEARNING_RATE = 0.02
# The device's speed is measured on a few iterations of this side before a run is planned.
SPEED_PROBE_SIDE = 192
SPEED_PROBE_ITERATIONS = 2
# A GPU's iteration has a fixed cost (a hundred kernel launches) that a small probe measures
# rather than the cost per pixel: on an H200 the 192 px probe alone made every estimate 2.5
# to 5 times too long. There a second, larger probe separates the two.
SPEED_PROBE_LARGE_SIDE = 768
# A plan made without measuring (fixed sizes, no estimate wanted) has this speed: 0 s/MP.
UNMEASURED_SPEED = 0.0

# torch.OutOfMemoryError came with torch 2.5; before, only CUDA's existed (the CPU's is a
# RuntimeError, handled by its message). pyproject allows torch from 2.1.
TORCH_OUT_OF_MEMORY = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)

# Reading the losses back for a progress report makes the host wait for the device; on a GPU
# an iteration takes about a millisecond, so reports come every tenth.
REPORT_EVERY_ON_CPU = 1
REPORT_EVERY_ON_GPU = 10


@dataclass
class StyleImage:
    """A style image (1, 3, H, W) in [0, 1], with an optional alpha (1, 1, H, W)."""

    rgb: torch.Tensor
    alpha: torch.Tensor | None = None


@dataclass
class Progress:
    """What a progress callback is told after an iteration."""

    scale: int  # 1-based
    scales: int
    width: int
    height: int
    iteration: int  # 1-based, counted over all scales
    total: int
    losses: dict[str, float]
    elapsed: float
    current_image: Callable[[], torch.Tensor] | None  # None: no image to show at this point
    stage: str = "scale"  # "scale": coarse to fine at the working size; "detail"
    tile: int = 0  # in the detail pass: tiles done of ``tiles`` in this iteration
    tiles: int = 0
    seconds_left: float = 0.0


ProgressCallback = Callable[[Progress], None]


def default_report_every(device_type: str) -> int:
    return REPORT_EVERY_ON_CPU if device_type == "cpu" else REPORT_EVERY_ON_GPU


def _padding(size: tuple[int, ...], canvas: tuple[int, ...]) -> tuple[int, int, int, int]:
    """F.pad's (left, right, top, bottom) that centre ``size`` on ``canvas``."""
    top, left = (canvas[0] - size[0]) // 2, (canvas[1] - size[1]) // 2
    return left, canvas[1] - size[1] - left, top, canvas[0] - size[0] - top


def pad_to_canvas(image: torch.Tensor) -> torch.Tensor:
    size = tuple(image.shape[-2:])
    canvas = network_canvas(*size)
    if canvas == size:
        return image
    return F.pad(image, _padding(size, canvas), mode="replicate")


def crop_from_canvas(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    left, _, top, _ = _padding(size, tuple(image.shape[-2:]))
    return image[..., top : top + size[0], left : left + size[1]]


def starting_image(
    content: torch.Tensor, settings: StyleSettings, generator: torch.Generator
) -> torch.Tensor:
    """The first scale's start: the content (with the seed's noise mixed in by
    ``variation``), or noise."""
    if settings.init == "noise":
        return torch.rand(content.shape, generator=generator)
    if settings.variation == 0:
        return content.clone()
    noise = torch.randn(content.shape, generator=generator)
    return (content + settings.variation * noise).clamp(0, 1)


def start_of_finer_scale(
    coarse: torch.Tensor, content: torch.Tensor, size: tuple[int, int], rescale: str
) -> torch.Tensor:
    """The image a finer scale starts from, given the coarser scale's result."""
    enlarged = resize(coarse, size)
    if rescale == "upsample":
        return enlarged
    content_fine = resize(content, size)
    content_detail = content_fine - resize(resize(content_fine, coarse.shape[-2:]), size)
    return (enlarged + content_detail).clamp(0, 1)


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(
        image, size=size, mode="bicubic", antialias=True, align_corners=False
    ).clamp(0, 1)


class Stylizer:
    """Runs the optimization with one network on one device and precision."""

    def __init__(
        self,
        weights: WeightSet,
        device: torch.device,
        dtype: torch.dtype,
        content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS,
        style_layers: tuple[str, ...] = tuple(DEFAULT_STYLE_LAYERS),
    ) -> None:
        self.device = device
        self.dtype = dtype
        self.content_layers = tuple(content_layers)
        self.style_layers = tuple(style_layers)
        self.network = VGGFeatures(weights, [*content_layers, *style_layers]).to(device)
        self.network.stack.to(dtype=dtype, memory_format=torch.channels_last)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.network(image.to(self.device))

    def machine(self, seconds_per_megapixel: float | None = None) -> Machine:
        """This device as a plan sees it; its speed measured unless given."""
        if seconds_per_megapixel is None:
            seconds_per_iteration, seconds_per_megapixel = self.measure_speed()
        else:
            seconds_per_iteration = 0.0
        return Machine(
            self.device.type,
            self.dtype,
            available_memory_bytes(self.device),
            seconds_per_megapixel,
            seconds_per_iteration,
        )

    def measure_speed(self) -> tuple[float, float]:
        """(fixed seconds of one iteration, seconds per million pixels), measured on this
        machine's first run and remembered (machine_profile.py): the automatic working size
        and the detail pass are chosen from it, and the same seed must give the same
        picture."""
        fixed, per_megapixel = remembered(
            machine_key("iteration seconds", describe_device(self.device), str(self.dtype)),
            lambda: list(self._measure_speed()),
        )
        return fixed, per_megapixel

    def _measure_speed(self) -> tuple[float, float]:
        """Measured here and now. On a CPU the fixed part is negligible and only the small
        probe runs."""
        small = self._probe_seconds(SPEED_PROBE_SIDE)
        small_megapixels = SPEED_PROBE_SIDE**2 / 1e6
        if self.device.type == "cpu":
            return 0.0, small / small_megapixels
        large_megapixels = SPEED_PROBE_LARGE_SIDE**2 / 1e6
        large = self._probe_seconds(SPEED_PROBE_LARGE_SIDE)
        per_megapixel = max(large - small, 0.0) / (large_megapixels - small_megapixels)
        if per_megapixel == 0.0:  # noise: the large probe was not slower
            return 0.0, large / large_megapixels
        return max(0.0, small - small_megapixels * per_megapixel), per_megapixel

    def _probe_seconds(self, side: int) -> float:
        """Seconds of one iteration at side x side."""
        size = (side, side)
        generator = torch.Generator().manual_seed(0)
        image = torch.rand(1, 3, *size, generator=generator)
        with torch.no_grad():
            features = self.features(image)
        targets = {n: gram_matrix(features[n]) for n in self.style_layers}
        objective = self.objective(image, targets, StyleSettings(
            content_layers=self.content_layers,
            style_layers=dict.fromkeys(self.style_layers, 1.0),
        ))  # fmt: skip
        pixels = image.to(self.device).requires_grad_(True)

        def iteration() -> None:
            pixels.grad = None
            objective.terms(self.features(pixels), pixels)["total"].backward()

        iteration()  # the first one pays for allocations and kernel choices
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        started = time.perf_counter()
        for _ in range(SPEED_PROBE_ITERATIONS):
            iteration()
        float(pixels.grad.sum())  # waits for the device
        elapsed = time.perf_counter() - started
        return elapsed / SPEED_PROBE_ITERATIONS

    def plan(
        self,
        content_size: tuple[int, int],
        styles: list[StyleImage],
        settings: StyleSettings,
        output_side: int | None = None,
        working_side: int | None = None,
        detail: str = "auto",
        detail_iterations: int | None = None,
        machine: Machine | None = None,
    ) -> Plan:
        return make_plan(
            content_size,
            settings,
            machine or self.machine(),
            _style_aspect(styles),
            output_side,
            working_side,
            detail,
            detail_iterations,
        )

    def style_targets(
        self,
        styles: list[StyleImage],
        blend: list[float],
        longest: int,
        tile_side: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Gram targets per style layer, blended over the style images; with ``tile_side``,
        computed tile by tile (styles without transparency)."""
        targets: dict[str, torch.Tensor] = {}
        for style, weight in zip(styles, blend):
            size = fit(tuple(style.rgb.shape[-2:]), max(MIN_WORK_SIDE, round(longest)))
            if tile_side is not None and style.alpha is None and min(size) >= MIN_WORK_SIDE:
                grams = gram_matrices_in_tiles(
                    self.network, resize(style.rgb, size), self.style_layers, tile_side,
                    self.device,
                )  # fmt: skip
                for name in self.style_layers:
                    targets[name] = targets.get(name, 0) + weight * grams[name]
                continue
            rgb = pad_to_canvas(resize(style.rgb, size))
            alpha = None if style.alpha is None else resize(style.alpha, size)
            if rgb.shape[-2:] != size:
                # The padding of a thin style must not count as style: its weight is 0.
                alpha = torch.ones(1, 1, *size) if alpha is None else alpha
                alpha = F.pad(alpha, _padding(size, rgb.shape[-2:]))
            if alpha is not None:
                alpha = alpha.to(self.device)
            with torch.no_grad():
                features = self.features(rgb)
            for name in self.style_layers:
                gram = gram_matrix(features[name], position_weights_for(alpha, features[name]))
                targets[name] = targets.get(name, 0) + weight * gram
            del features
        return targets

    def run(
        self,
        content: torch.Tensor,
        styles: list[StyleImage],
        settings: StyleSettings,
        plan: Plan | None = None,
        callback: ProgressCallback | None = None,
    ) -> torch.Tensor:
        """Stylize ``content`` as ``plan`` says: coarse to fine at its working size, then
        enlarged to its output size and, when it plans one, refined there in tiles. Without
        a plan: at the content's own size, with no time estimates."""
        settings.validate(len(styles))
        if plan is None:
            size = tuple(content.shape[-2:])
            unmeasured = self.machine(seconds_per_megapixel=UNMEASURED_SPEED)
            plan = self.plan(
                size, styles, settings, working_side=max(size), detail="off", machine=unmeasured
            )
        if (
            tuple(settings.content_layers) != self.content_layers
            or tuple(settings.style_layers) != self.style_layers
        ):
            raise ValueError("settings name other layers than this Stylizer was built for")
        torch.manual_seed(settings.seed)
        generator = torch.Generator().manual_seed(settings.seed)
        blend = settings.blend_weights(len(styles))
        run = _Run(settings, callback, plan)
        if settings.palette > 0:
            content = toward_style_palette(content, styles, blend, settings.palette)
        image: torch.Tensor | None = None
        try:
            for scale_index, (scale_size, iterations) in enumerate(
                zip(plan.scale_sizes, plan.scale_iterations)
            ):
                content_scaled = resize(content, scale_size)
                if image is None:
                    image = starting_image(content_scaled, settings, generator)
                else:
                    image = start_of_finer_scale(image, content, scale_size, settings.rescale)
                targets = self.style_targets(styles, blend, max(scale_size) * settings.style_scale)
                image = self._optimize_scale(
                    image, content_scaled, targets, iterations, run, scale_index
                )
                del targets
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
            assert image is not None
            if plan.detail is None:
                return resize(image, plan.output_size)
            return self._detail_pass(image, content, styles, blend, settings, plan, run)
        except TORCH_OUT_OF_MEMORY as error:
            raise self._out_of_memory(plan, styles, settings) from error
        except RuntimeError as error:
            if "can't allocate memory" in str(error) or "out of memory" in str(error):
                raise self._out_of_memory(plan, styles, settings) from error
            raise

    def _out_of_memory(self, plan: Plan, styles: list[StyleImage], settings: StyleSettings):
        machine = self.machine(seconds_per_megapixel=1.0)
        style_area = settings.style_scale**2 * _style_aspect(styles)
        return out_of_memory_during_run(plan, machine, style_area)

    def _detail_pass(
        self,
        working_result: torch.Tensor,
        content: torch.Tensor,
        styles: list[StyleImage],
        blend: list[float],
        settings: StyleSettings,
        plan: Plan,
        run: _Run,
    ) -> torch.Tensor:
        """Refine the enlarged result at the output size, with the exact objective of the
        whole image computed in tiles (tiling.py)."""
        assert plan.detail is not None
        output = plan.output_size
        content_full = resize(content, output)
        # The enlarged result lacks the detail the working size could not hold; the
        # content's own detail at the output size is the start the strokes grow from.
        start = start_of_finer_scale(working_result, content, output, "content_detail")
        targets = self.style_targets(
            styles, blend, max(output) * settings.style_scale, plan.detail.tile_side
        )
        objective = TiledObjective(
            self.network,
            content_full,
            targets,
            settings,
            plan.detail.tile_side,
            self.device,
            on_tile=run.tile_done,
        )
        del content_full
        run.detail_setup_done()
        pixels = start.contiguous()
        pixels.requires_grad_(True)
        # The pairs in bfloat16: at 24 MP each float32 pair is 576 MB.
        optimizer = LBFGS(pixels, history_size=DETAIL_HISTORY, history_dtype=torch.bfloat16)
        terms: dict[str, torch.Tensor] = {}

        def closure() -> torch.Tensor:
            pixels.grad = None  # L-BFGS keeps its own copy; at 24 MP this is 288 MB
            total, gradient, new_terms = objective.loss_and_gradient(pixels.detach())
            pixels.grad = gradient
            terms.update(new_terms)
            return total

        for step in range(plan.detail.iterations):
            optimizer.step(closure)
            with torch.no_grad():
                pixels.clamp_(0, 1)
            run.iteration_done(
                len(plan.scale_sizes), output[1], output[0], terms, pixels,
                last=step == plan.detail.iterations - 1, stage="detail",
            )  # fmt: skip
        return pixels.detach()

    def objective(
        self, content: torch.Tensor, style_targets: dict[str, torch.Tensor], settings: StyleSettings
    ) -> Objective:
        """The weighted loss terms against ``content`` (at its size) and the style targets."""
        with torch.no_grad():
            content_features = self.features(content)
            content_losses = {n: ContentLoss(content_features[n]) for n in self.content_layers}
        style_losses = {n: StyleLoss(style_targets[n]) for n in self.style_layers}
        return Objective(content_losses, style_losses, settings)

    def evaluate(
        self,
        image: torch.Tensor,
        content: torch.Tensor,
        styles: list[StyleImage],
        settings: StyleSettings,
    ) -> dict[str, float]:
        """The loss terms of ``image`` (no optimization), e.g. to compare two results."""
        blend = settings.blend_weights(len(styles))
        targets = self.style_targets(styles, blend, max(image.shape[-2:]))
        image, content = pad_to_canvas(image), pad_to_canvas(content)
        objective = self.objective(content, targets, settings)
        with torch.no_grad():
            terms = objective.terms(self.features(image), image.to(self.device))
        return {name: float(value) for name, value in terms.items()}

    def _optimize_scale(
        self,
        image: torch.Tensor,
        content: torch.Tensor,
        style_targets: dict[str, torch.Tensor],
        iterations: int,
        run: _Run,
        scale_index: int,
    ) -> torch.Tensor:
        size = tuple(image.shape[-2:])
        settings = run.settings.for_scale(scale_index, run.scales)
        objective = self.objective(pad_to_canvas(content), style_targets, settings)
        # L-BFGS works on the flattened pixels: they must be plainly contiguous.
        pixels = pad_to_canvas(image).to(self.device, torch.float32).contiguous()
        pixels.requires_grad_(True)
        optimizer = _make_optimizer(run.settings.optimizer, pixels)
        terms: dict[str, torch.Tensor] = {}

        def closure() -> torch.Tensor:
            pixels.grad = None
            terms.update(objective.terms(self.features(pixels), pixels))
            terms["total"].backward()
            return terms["total"]

        height, width = size
        for step in range(iterations):
            optimizer.step(closure)
            if run.settings.optimizer == "adam":
                with torch.no_grad():
                    pixels.clamp_(0, 1)
            run.iteration_done(
                scale_index, width, height, terms, pixels, last=step == iterations - 1
            )
        return crop_from_canvas(pixels.detach().clamp(0, 1), size).cpu()


class Objective:
    """Content, style and total-variation terms with their weights."""

    def __init__(
        self,
        content_losses: dict[str, ContentLoss],
        style_losses: dict[str, StyleLoss],
        settings: StyleSettings,
    ) -> None:
        self.content_losses = content_losses
        self.style_losses = style_losses
        self.tv_loss = TVLoss()
        self.settings = settings

    def terms(
        self, features: dict[str, torch.Tensor], pixels: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        settings = self.settings
        content = sum(loss(features[n]) for n, loss in self.content_losses.items())
        style = sum(
            settings.style_layers[n] * loss(features[n]) for n, loss in self.style_losses.items()
        )
        tv = self.tv_loss(pixels)
        total = (
            settings.content_weight * content
            + settings.style_weight * style
            + settings.tv_weight * tv
        )
        return {"content": content, "style": style, "tv": tv, "total": total}


def _make_optimizer(name: str, pixels: torch.Tensor) -> torch.optim.Optimizer | LBFGS:
    if name == "adam":
        return torch.optim.Adam([pixels], lr=ADAM_LEARNING_RATE)
    # One L-BFGS iteration per step(), so progress and cancellation come every iteration;
    # the iteration count is fixed, never a silent early stop (lbfgs.py).
    return LBFGS(pixels, history_size=LBFGS_HISTORY)


class _Run:
    """Counts iterations over the scales and the detail pass and reports them, with the
    seconds left: the plan's estimate of the work left, scaled by the speed so far."""

    def __init__(
        self, settings: StyleSettings, callback: ProgressCallback | None, plan: Plan
    ) -> None:
        self.settings = settings
        self.callback = callback
        self.plan = plan
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
        return max(0.0, (self.plan.seconds - planned_done) * elapsed / planned_done)

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
        if not last and self.iteration % max(1, self.settings.report_every):
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


def toward_style_palette(
    content: torch.Tensor, styles: list[StyleImage], blend: list[float], share: float
) -> torch.Tensor:
    """``content`` (1, 3, H, W) with its colour statistics moved ``share`` of the way to
    those of the styles' pixels (pooled by ``blend``; transparent pixels do not count)."""
    palettes = [
        colour_statistics(s.rgb[0], None if s.alpha is None else s.alpha[0, 0]) for s in styles
    ]
    own = colour_statistics(content[0])
    target = mixture_statistics([own, mixture_statistics(palettes, blend)], [1 - share, share])
    return recolour(content[0], target)[None]


def _style_aspect(styles: list[StyleImage]) -> float:
    """The largest short/long side ratio among the style images."""
    return max(min(s.rgb.shape[-2:]) / max(s.rgb.shape[-2:]) for s in styles)
