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

from .device import available_memory_bytes, estimate_peak_bytes, largest_fitting_side
from .errors import OutOfMemoryError
from .lbfgs import LBFGS
from .losses import ContentLoss, StyleLoss, TVLoss, gram_matrix, position_weights_for
from .network import VGGFeatures
from .settings import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_SCALES,
    DEFAULT_STYLE_LAYERS,
    INIT_CHOICES,
    OPTIMIZERS,
    RESCALE_CHOICES,
    StyleSettings,
)
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
# L-BFGS memory: 20 pairs keep the optimizer's state small (3 floats a pixel a pair) at a
# convergence rate indistinguishable from 100 for this problem.
LBFGS_HISTORY = 20
# The network pools four times before relu5_1; below this side the deepest maps vanish, so
# thinner images are optimized on a padded canvas of this side and cropped back.
MIN_WORK_SIDE = 32
# Each coarser scale halves the side, but none is made smaller than this.
MIN_SCALE_SIDE = 64

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
    current_image: Callable[[], torch.Tensor]


ProgressCallback = Callable[[Progress], None]


def default_report_every(device_type: str) -> int:
    return REPORT_EVERY_ON_CPU if device_type == "cpu" else REPORT_EVERY_ON_GPU


def scale_sizes(height: int, width: int, scales: int) -> list[tuple[int, int]]:
    """The (height, width) of each scale, coarse to fine, ending at (height, width).

    A coarser scale halves the sides; it is kept only while its longest side is at least
    MIN_SCALE_SIDE and its shortest at least MIN_WORK_SIDE, so a strip-shaped image is never
    shrunk to a side the network's poolings cannot take.
    """
    sizes: list[tuple[int, int]] = []
    for step in range(scales - 1, 0, -1):
        size = _fit(height, width, round(max(height, width) / 2**step))
        if max(size) >= MIN_SCALE_SIDE and min(size) >= MIN_WORK_SIDE and size not in sizes:
            sizes.append(size)
    if (height, width) not in sizes:
        sizes.append((height, width))
    return sizes


def _fit(height: int, width: int, longest: int) -> tuple[int, int]:
    factor = longest / max(height, width)
    return max(1, round(height * factor)), max(1, round(width * factor))


def network_canvas(height: int, width: int) -> tuple[int, int]:
    """The canvas an image of (height, width) is optimized on: each side at least
    MIN_WORK_SIDE, because the network pools four times before relu5_1. A thinner image
    (a strip, a 1x1 layer) is padded with its edge pixels, and cropped back afterwards."""
    return max(height, MIN_WORK_SIDE), max(width, MIN_WORK_SIDE)


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


def optimization_size(height: int, width: int, work_side: int | None) -> tuple[int, int]:
    """Where the finest scale runs for an output of (height, width)."""
    if work_side and work_side < max(height, width):
        return _fit(height, width, work_side)
    return height, width


def iterations_per_scale(total: int, scales: int) -> list[int]:
    """An equal share for every scale; the finest gets the remainder."""
    share = [total // scales] * scales
    share[-1] += total - sum(share)
    return share


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

    def peak_bytes(self, size: tuple[int, int], style_area: float, output_pixels: int) -> int:
        """Estimated peak memory for optimizing at ``size`` with style images whose largest
        is ``style_area`` times the square of the longest side (stroke size included)."""
        canvas = network_canvas(*size)
        style_pixels = round(style_area * max(size) ** 2)
        return estimate_peak_bytes(
            canvas[0] * canvas[1], self.dtype, LBFGS_HISTORY, style_pixels, output_pixels
        )

    def check_memory(self, size: tuple[int, int], style_area: float, output_pixels: int) -> None:
        available = available_memory_bytes(self.device)
        if available is None:
            return
        if self.peak_bytes(size, style_area, output_pixels) > available:
            raise self.out_of_memory(size, style_area, output_pixels, available)

    def out_of_memory(
        self,
        size: tuple[int, int],
        style_area: float,
        output_pixels: int,
        available: int | None = None,
    ) -> OutOfMemoryError:
        if available is None:
            available = available_memory_bytes(self.device) or 0
        height, width = size
        free = f"{available / 2**30:.1f} GiB free"

        def peak_for_side(side: int) -> int:
            return self.peak_bytes(_fit(height, width, max(side, 1)), style_area, output_pixels)

        side = largest_fitting_side(available, peak_for_side, max(size))
        if side < MIN_SCALE_SIDE:
            return OutOfMemoryError(
                f"There is not enough free memory on {self.device.type} ({free}) even for "
                f"a {MIN_SCALE_SIDE} px working size; close other programs, use a smaller "
                "Stroke size (--style-scale), or another device."
            )
        return OutOfMemoryError(
            f"A {width}x{height} working size does not fit in the memory of "
            f"{self.device.type} ({free}). The largest that fits is about {side} px on the "
            f"longest side: set the Working size (--work-size) to {side} or less."
        )

    def style_targets(
        self, styles: list[StyleImage], blend: list[float], longest: int
    ) -> dict[str, torch.Tensor]:
        """Gram targets per style layer, blended over the style images."""
        targets: dict[str, torch.Tensor] = {}
        for style, weight in zip(styles, blend):
            size = _fit(*style.rgb.shape[-2:], max(MIN_WORK_SIDE, round(longest)))
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
        style_area = settings.style_scale**2 * max(
            min(s.rgb.shape[-2:]) / max(s.rgb.shape[-2:]) for s in styles
        )
        memory_needs = (style_area, out_height * out_width)
        self.check_memory((height, width), *memory_needs)
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
                    image = start_of_finer_scale(image, content, scale_size, settings.rescale)
                targets = self.style_targets(styles, blend, max(scale_size) * settings.style_scale)
                image = self._optimize_scale(
                    image, content_scaled, targets, iterations, run, scale_index
                )
                del targets
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
        except TORCH_OUT_OF_MEMORY as error:
            raise self.out_of_memory((height, width), *memory_needs) from error
        except RuntimeError as error:
            if "can't allocate memory" in str(error) or "out of memory" in str(error):
                raise self.out_of_memory((height, width), *memory_needs) from error
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
                current_image=lambda: crop_from_canvas(
                    pixels.detach().clamp(0, 1), (height, width)
                ).cpu(),
            )
        )
