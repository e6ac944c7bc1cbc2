"""The Gatys optimization: coarse-to-fine, with L-BFGS or Adam, over the pixels of an image.

Images here are float32 tensors (1, 3, H, W) with RGB in [0, 1] on the CPU; the work happens
on the chosen device and precision.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .device import available_memory_bytes, estimate_peak_bytes, largest_fitting_side
from .errors import BadInputError, OutOfMemoryError
from .lbfgs import LBFGS
from .losses import ContentLoss, StyleLoss, TVLoss, gram_matrix, position_weights_for
from .network import VGGFeatures, check_layer_names
from .weights import WeightSet

# Layers of Gatys et al. The style layers are weighted so that the deep layers, which carry
# the large brush strokes, are not drowned by the many fine-texture values of relu1_1.
DEFAULT_CONTENT_LAYERS = ("relu4_2",)
DEFAULT_STYLE_LAYERS = {
    "relu1_1": 0.5,
    "relu2_1": 1.0,
    "relu3_1": 1.0,
    "relu4_1": 1.0,
    "relu5_1": 1.0,
}
# Chosen by looking at contact sheets of golden_gate with starry_night at 256 and 512 px
# (style weights 0.5, 2, 5 and 20) next to the classic implementation's result: with the
# losses normalized as in losses.py, 0.5 keeps the photo almost intact, 20 bends the bridge
# into the strokes, and 5 gives strong, recognizable strokes with the content readable.
DEFAULT_CONTENT_WEIGHT = 1.0
DEFAULT_STYLE_WEIGHT = 5.0
DEFAULT_TV_WEIGHT = 2.0
DEFAULT_ITERATIONS = 300
DEFAULT_SCALES = 3
ADAM_LEARNING_RATE = 0.02
# L-BFGS memory: 20 pairs keep the optimizer's state small (3 floats a pixel a pair) at a
# convergence rate indistinguishable from 100 for this problem.
LBFGS_HISTORY = 20
# The network pools four times before relu5_1; below this side the deepest maps vanish, so
# smaller images are optimized at this size and scaled back.
MIN_WORK_SIDE = 32
# Each coarser scale halves the side, but none is made smaller than this.
MIN_SCALE_SIDE = 64

# Reading the losses back for a progress report makes the host wait for the device; on a GPU
# an iteration takes about a millisecond, so reports come every tenth.
REPORT_EVERY_ON_CPU = 1
REPORT_EVERY_ON_GPU = 10

OPTIMIZERS = ("lbfgs", "adam")
INIT_CHOICES = ("content", "noise")


@dataclass
class StyleSettings:
    """Everything the optimization takes besides the images. Defaults give a good result."""

    iterations: int = DEFAULT_ITERATIONS
    optimizer: str = "lbfgs"
    content_weight: float = DEFAULT_CONTENT_WEIGHT
    style_weight: float = DEFAULT_STYLE_WEIGHT
    tv_weight: float = DEFAULT_TV_WEIGHT
    content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS
    style_layers: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_STYLE_LAYERS))
    init: str = "content"
    seed: int = 0
    scales: int = DEFAULT_SCALES
    style_scale: float = 1.0
    style_blend: tuple[float, ...] | None = None
    report_every: int = 1

    def blend_weights(self, style_count: int) -> list[float]:
        """One weight per style image, summing to 1 (equal when no blend is given)."""
        blend = list(self.style_blend or [1.0] * style_count)
        return [w / sum(blend) for w in blend]

    def validate(self, style_count: int) -> None:
        """Raise BadInputError for settings that cannot work, with what to change."""
        if self.iterations < 1:
            raise BadInputError("--iterations must be at least 1.")
        if self.optimizer not in OPTIMIZERS:
            raise BadInputError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}.")
        if self.init not in INIT_CHOICES:
            raise BadInputError(f"--init must be one of {', '.join(INIT_CHOICES)}.")
        if self.scales < 1:
            raise BadInputError("--scales must be at least 1.")
        if not self.style_scale > 0:
            raise BadInputError("--style-scale must be greater than 0.")
        weights = (self.content_weight, self.style_weight, self.tv_weight)
        if any(w < 0 or not math.isfinite(w) for w in weights):
            raise BadInputError("Loss weights must be finite and not negative.")
        if not self.style_layers:
            raise BadInputError("At least one style layer is needed.")
        try:
            check_layer_names([*self.content_layers, *self.style_layers])
        except ValueError as error:
            raise BadInputError(str(error)) from error
        if self.style_blend is not None:
            if len(self.style_blend) != style_count:
                raise BadInputError(
                    f"--style-blend has {len(self.style_blend)} weights for {style_count} "
                    "style images; give one weight per style image."
                )
            if any(w < 0 for w in self.style_blend) or sum(self.style_blend) <= 0:
                raise BadInputError("--style-blend weights must be >= 0 and not all 0.")


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
    current_image: Callable[[], torch.Tensor]


ProgressCallback = Callable[[Progress], None]


def default_report_every(device_type: str) -> int:
    return REPORT_EVERY_ON_CPU if device_type == "cpu" else REPORT_EVERY_ON_GPU


def scale_sizes(height: int, width: int, scales: int) -> list[tuple[int, int]]:
    """The (height, width) of each scale, coarse to fine, ending at the work size."""
    longest = max(height, width)
    sides: list[int] = []
    for step in range(scales - 1, -1, -1):
        side = round(longest / 2**step)
        if side >= min(MIN_SCALE_SIDE, longest) and side not in sides:
            sides.append(side)
    return [_fit(height, width, side) for side in sides]


def _fit(height: int, width: int, longest: int) -> tuple[int, int]:
    factor = longest / max(height, width)
    return max(1, round(height * factor)), max(1, round(width * factor))


def work_size(height: int, width: int) -> tuple[int, int]:
    """The size the optimization runs at: the requested one, enlarged if it is too small."""
    shortest = min(height, width)
    if shortest >= MIN_WORK_SIDE:
        return height, width
    factor = MIN_WORK_SIDE / shortest
    return math.ceil(height * factor), math.ceil(width * factor)


def optimization_size(height: int, width: int, work_side: int | None) -> tuple[int, int]:
    """Where the finest scale runs for an output of (height, width)."""
    if work_side and work_side < max(height, width):
        height, width = _fit(height, width, work_side)
    return work_size(height, width)


def iterations_per_scale(total: int, scales: int) -> list[int]:
    """An equal share for every scale; the finest gets the remainder."""
    share = [total // scales] * scales
    share[-1] += total - sum(share)
    return share


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

    def check_memory(self, height: int, width: int) -> None:
        available = available_memory_bytes(self.device)
        if available is None:
            return
        needed = estimate_peak_bytes(height * width, self.dtype, LBFGS_HISTORY)
        if needed > available:
            raise self.out_of_memory(height, width, available)

    def out_of_memory(
        self, height: int, width: int, available: int | None = None
    ) -> OutOfMemoryError:
        if available is None:
            available = available_memory_bytes(self.device) or 0
        aspect = min(height, width) / max(height, width)
        side = largest_fitting_side(available, aspect, self.dtype, LBFGS_HISTORY)
        return OutOfMemoryError(
            f"A {width}x{height} image does not fit in the memory of {self.device.type} "
            f"({available / 2**30:.1f} GiB free). The largest size that fits is about "
            f"{side} px on the longest side: use --size or --work-size {side} or smaller."
        )

    def style_targets(
        self, styles: list[StyleImage], blend: list[float], longest: int
    ) -> dict[str, torch.Tensor]:
        """Gram targets per style layer, blended over the style images."""
        targets: dict[str, torch.Tensor] = {}
        for style, weight in zip(styles, blend):
            size = _fit(*style.rgb.shape[-2:], max(MIN_WORK_SIDE, longest))
            size = work_size(*size)
            alpha = None if style.alpha is None else resize(style.alpha, size).to(self.device)
            with torch.no_grad():
                features = self.features(resize(style.rgb, size))
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
        size: tuple[int, int] | None = None,
        callback: ProgressCallback | None = None,
        work_side: int | None = None,
    ) -> torch.Tensor:
        """Stylize ``content`` into an image of ``size`` (height, width; default the
        content's). With ``work_side`` smaller than that size, the optimization runs with
        that longest side and its result is scaled up to ``size``."""
        settings.validate(len(styles))
        if (
            tuple(settings.content_layers) != self.content_layers
            or tuple(settings.style_layers) != self.style_layers
        ):
            raise ValueError("settings name other layers than this Stylizer was built for")
        out_height, out_width = size or tuple(content.shape[-2:])
        height, width = optimization_size(out_height, out_width, work_side)
        self.check_memory(height, width)
        torch.manual_seed(settings.seed)
        generator = torch.Generator().manual_seed(settings.seed)

        blend = settings.blend_weights(len(styles))
        sizes = scale_sizes(height, width, settings.scales)
        shares = iterations_per_scale(settings.iterations, len(sizes))
        run = _Run(settings, callback, total=settings.iterations, scales=len(sizes))
        image: torch.Tensor | None = None
        try:
            for scale_index, (scale_size, iterations) in enumerate(zip(sizes, shares)):
                content_scaled = resize(content, scale_size)
                if image is None:
                    image = (
                        content_scaled.clone()
                        if settings.init == "content"
                        else torch.rand(content_scaled.shape, generator=generator)
                    )
                else:
                    image = resize(image, scale_size)
                targets = self.style_targets(styles, blend, max(scale_size) * settings.style_scale)
                image = self._optimize_scale(
                    image, content_scaled, targets, iterations, run, scale_index
                )
                del targets
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
        except torch.OutOfMemoryError as error:
            raise self.out_of_memory(height, width) from error
        except RuntimeError as error:
            if "can't allocate memory" in str(error) or "out of memory" in str(error):
                raise self.out_of_memory(height, width) from error
            raise
        assert image is not None
        return resize(image, (out_height, out_width))

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
        objective = self.objective(content, style_targets, run.settings)
        # L-BFGS works on the flattened pixels: they must be plainly contiguous.
        pixels = image.to(self.device, torch.float32).contiguous().requires_grad_(True)
        optimizer = _make_optimizer(run.settings.optimizer, pixels)
        terms: dict[str, torch.Tensor] = {}

        def closure() -> torch.Tensor:
            pixels.grad = None
            terms.update(objective.terms(self.features(pixels), pixels))
            terms["total"].backward()
            return terms["total"]

        height, width = image.shape[-2:]
        for step in range(iterations):
            optimizer.step(closure)
            if run.settings.optimizer == "adam":
                with torch.no_grad():
                    pixels.clamp_(0, 1)
            run.iteration_done(
                scale_index, width, height, terms, pixels, last=step == iterations - 1
            )
        return pixels.detach().clamp(0, 1).cpu()


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
    """Counts iterations over the scales and reports them to the callback."""

    def __init__(
        self, settings: StyleSettings, callback: ProgressCallback | None, total: int, scales: int
    ) -> None:
        self.settings = settings
        self.callback = callback
        self.total = total
        self.scales = scales
        self.iteration = 0
        self.started = time.perf_counter()

    def iteration_done(
        self,
        scale_index: int,
        width: int,
        height: int,
        terms: dict[str, torch.Tensor],
        pixels: torch.Tensor,
        last: bool,
    ) -> None:
        self.iteration += 1
        if self.callback is None:
            return
        if not last and self.iteration % max(1, self.settings.report_every):
            return
        # .item() synchronizes with the device: done only at reporting intervals.
        losses = {name: float(value.item()) for name, value in terms.items()}
        self.callback(
            Progress(
                scale=scale_index + 1,
                scales=self.scales,
                width=int(width),
                height=int(height),
                iteration=self.iteration,
                total=self.total,
                losses=losses,
                elapsed=time.perf_counter() - self.started,
                current_image=lambda: pixels.detach().clamp(0, 1).cpu(),
            )
        )
