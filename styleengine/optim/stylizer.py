"""The Gatys optimization: coarse-to-fine, with L-BFGS or Adam, over the pixels of an image.

Images here are float32 tensors (1, 3, H, W) with RGB in [0, 1] on the CPU; the work happens
on the chosen device and precision.
"""

from __future__ import annotations

from functools import partial

import torch

from ..contract import DEFAULT_CONTENT_LAYERS, DEFAULT_SLICED_LAYERS, DEFAULT_STYLE_LAYERS
from ..image.color import toward_palette
from ..loss.objective import (
    Objective,
    StyleImage,
    StyleRegion,
    as_regions,
    pixel_terms,
    style_aspect,
    style_loss,
)
from ..loss.regions import RegionGroup, Regions, toward_palettes
from ..loss.terms import ContentLoss, mask_at_positions
from ..model.canvas import (
    crop_from_canvas,
    pad_to_canvas,
    resize,
    start_of_finer_scale,
)
from ..model.network import VGGFeatures
from ..model.weights import WeightSet
from ..plan.cost import Machine, machine_for
from ..plan.planning import (
    LBFGS_HISTORY,
    Plan,
    PlanRequest,
    make_plan,
    out_of_memory_during_run,
    style_side,
)
from ..run.progress import ProgressCallback, RunProgress
from ..settings import StyleSettings
from .detail import detail_pass
from .lbfgs import LBFGS
from .painted_start import PaintedStart
from .speed_probe import iteration_at
from .targets import StyleTargets

ADAM_LEARNING_RATE = 0.02
# torch.OutOfMemoryError came with torch 2.5; before, only CUDA's existed (the CPU's is a
# RuntimeError, handled by its message). pyproject allows torch from 2.1.
TORCH_OUT_OF_MEMORY = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
# How PyTorch's CPU allocator says it, as a RuntimeError: posix_memalign's failure on Linux
# and macOS, _aligned_malloc's on Windows; and the devices' own words.
ALLOCATOR_OUT_OF_MEMORY = ("can't allocate memory", "not enough memory", "out of memory")


def starting_image(
    content: torch.Tensor,
    settings: StyleSettings,
    generator: torch.Generator,
    painted: torch.Tensor | None = None,
) -> torch.Tensor:
    """The first scale's start: the painted start or the content (with the seed's noise
    mixed in by ``variation``), or noise."""
    if settings.init == "noise":
        return torch.rand(content.shape, generator=generator)
    start = content if painted is None else painted
    if settings.variation == 0:
        return start.clone()
    noise = torch.randn(start.shape, generator=generator)
    return (start + settings.variation * noise).clamp(0, 1)


class Stylizer:
    """Runs the optimization with one network on one device and precision."""

    def __init__(
        self,
        weights: WeightSet,
        device: torch.device,
        dtype: torch.dtype,
        content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS,
        style_layers: tuple[str, ...] = tuple(DEFAULT_STYLE_LAYERS),
        sliced_layers: tuple[str, ...] = DEFAULT_SLICED_LAYERS,
    ) -> None:
        self.device = device
        self.dtype = dtype
        self.content_layers = tuple(content_layers)
        self.style_layers = tuple(style_layers)
        self.sliced_layers = tuple(sliced_layers)
        self.network = VGGFeatures(weights, [*content_layers, *style_layers]).to(device)
        self.network.stack.to(dtype=dtype, memory_format=torch.channels_last)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.targets = StyleTargets(self.network, device, self.style_layers, self.sliced_layers)
        # Loaded on the first painted start: runs that start elsewhere never read its weights.
        self._painter: PaintedStart | None = None

    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.network(image.to(self.device))

    def machine(self, measured: bool = True) -> Machine:
        """This device as a plan sees it: its memory and (unless not ``measured``) its
        speed, measured on this machine's first run and remembered (plan/cost.py)."""
        # The sorts of the sliced layers are part of an iteration's time, so part of its key.
        sliced = tuple(f"sliced {name}" for name in self.sliced_layers)
        layers = (*self.content_layers, *self.style_layers, *sliced)
        return machine_for(
            self.device, self.dtype, partial(iteration_at, self) if measured else None, layers
        )

    def plan(
        self,
        content_size: tuple[int, int],
        styles: list[StyleImage],
        settings: StyleSettings,
        request: PlanRequest | None = None,
        machine: Machine | None = None,
    ) -> Plan:
        """The plan of a run as ``request`` asks (None: at the content's size, its working
        size automatic), on this machine unless another is given."""
        return make_plan(
            content_size,
            settings,
            machine or self.machine(),
            style_aspect(styles),
            request or PlanRequest(),
            len(styles),
        )

    def run(
        self,
        content: torch.Tensor,
        styles: list[StyleImage],
        settings: StyleSettings,
        plan: Plan | None = None,
        callback: ProgressCallback | None = None,
        regions: Regions | None = None,
    ) -> torch.Tensor:
        """Stylize ``content`` as ``plan`` says: coarse to fine at its working size, then
        enlarged to its output size and, when it plans one, refined there in tiles; each
        style where ``regions`` puts it (loss/regions.py). Without a plan: at the content's own
        size, with no time estimates. A plan is made from
        settings already validated (the API's first step); without one they are checked here."""
        if plan is None:
            settings.validate(len(styles))
            size = tuple(content.shape[-2:])
            unmeasured = self.machine(measured=False)
            whole = PlanRequest(working_side=max(size), detail="off")
            plan = self.plan(size, styles, settings, whole, unmeasured)
        if (
            tuple(settings.content_layers) != self.content_layers
            or tuple(settings.style_layers) != self.style_layers
            or tuple(settings.sliced_layers) != self.sliced_layers
        ):
            raise ValueError("settings name other layers than this Stylizer was built for")
        torch.manual_seed(settings.seed)
        generator = torch.Generator().manual_seed(settings.seed)
        blend = settings.blend_weights(len(styles))
        run = RunProgress(settings, callback, plan)
        # The regions' masks at the content's size, made once for the whole run.
        groups = None if regions is None or regions.plain else regions.groups(blend)
        photo = content
        if settings.palette > 0:
            palettes = [(style.rgb, style.alpha) for style in styles]
            if groups is None:
                content = toward_palette(content, palettes, blend, settings.palette)
            else:
                content = toward_palettes(content, palettes, groups, settings.palette)
        image: torch.Tensor | None = None
        try:
            for scale_index, (scale_size, iterations) in enumerate(
                zip(plan.scale_sizes, plan.scale_iterations)
            ):
                content_scaled = resize(content, scale_size)
                if image is None:
                    painted = self._painted_start(photo, styles, groups, settings, plan)
                    if painted is not None:
                        painted = resize(painted, scale_size)
                    image = starting_image(content_scaled, settings, generator, painted)
                    if painted is not None:
                        run.start_done(image)
                else:
                    image = start_of_finer_scale(image, content, scale_size, settings.rescale)
                longest = style_side(scale_size, settings.style_scale)
                targets = self.targets.of_regions(styles, blend, groups, scale_size, longest)
                run.targets_done(scale_index)
                image = self._optimize_scale(
                    image, content_scaled, targets, iterations, run, scale_index
                )
                del targets
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
            assert image is not None
            if plan.detail is None:
                result = resize(image, plan.output_size)
            else:
                longest = style_side(plan.output_size, settings.style_scale)
                targets = self.targets.of_regions(
                    styles, blend, groups, plan.output_size, longest, plan.detail.tile_side
                )
                run.targets_done(len(plan.scale_sizes))
                result = detail_pass(
                    self.network, self.device, image, content, targets, settings, plan, run
                )
            if regions is None:
                return result
            return regions.keep_photo(result, resize(photo, plan.output_size))
        except TORCH_OUT_OF_MEMORY as error:
            raise self._out_of_memory(plan, styles, settings) from error
        except RuntimeError as error:
            if any(words in str(error) for words in ALLOCATOR_OUT_OF_MEMORY):
                raise self._out_of_memory(plan, styles, settings) from error
            raise

    def _painted_start(
        self,
        photo: torch.Tensor,
        styles: list[StyleImage],
        groups: list[RegionGroup] | None,
        settings: StyleSettings,
        plan: Plan,
    ) -> torch.Tensor | None:
        """The painted start at the working size (the network's strokes are sized in pixels,
        so it paints where the finest scale will refine), or None for another start."""
        if settings.init != "painted":
            return None
        if self._painter is None:
            self._painter = PaintedStart(self.device)
        if groups is None:
            groups = [
                RegionGroup(list(range(len(styles))), settings.blend_weights(len(styles)), None)
            ]
        working = resize(photo, plan.scale_sizes[-1])
        return self._painter.start(
            working, styles, groups, settings.painted_share, settings.palette,
            settings.photo_light, settings.stroke_size,
        )  # fmt: skip

    def _out_of_memory(self, plan: Plan, styles: list[StyleImage], settings: StyleSettings):
        machine = self.machine(measured=False)
        style_area = settings.style_scale**2 * style_aspect(styles)
        return out_of_memory_during_run(plan, machine, style_area)

    def objective(
        self,
        content: torch.Tensor,
        style: dict[str, torch.Tensor] | list[StyleRegion],
        settings: StyleSettings,
    ) -> Objective:
        """The weighted loss terms against ``content`` (at its size) and the style targets,
        of the whole picture or of each region (masks at the content's size)."""
        with torch.no_grad():
            features = self.features(content)
            content_losses = {n: ContentLoss(features[n]) for n in self.content_layers}
        style_losses = []
        for region in as_regions(style):
            losses = {}
            for n in self.style_layers:
                weights = None
                if region.mask is not None:
                    weights = mask_at_positions(
                        region.mask.to(self.device), tuple(features[n].shape[-2:])
                    )
                losses[n] = style_loss(region.targets[n], weights, n in self.sliced_layers)
            style_losses.append((region.share, losses))
        return Objective(
            content_losses, style_losses, pixel_terms(content.to(self.device)), settings
        )

    def _optimize_scale(
        self,
        image: torch.Tensor,
        content: torch.Tensor,
        style_targets: dict[str, torch.Tensor] | list[StyleRegion],
        iterations: int,
        run: RunProgress,
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


def evaluate(
    stylizer: Stylizer,
    image: torch.Tensor,
    content: torch.Tensor,
    styles: list[StyleImage],
    settings: StyleSettings,
) -> dict[str, float]:
    """The loss terms of ``image`` (no optimization), e.g. to compare two results."""
    blend = settings.blend_weights(len(styles))
    targets = stylizer.targets.of_styles(styles, blend, style_side(tuple(image.shape[-2:])))
    image, content = pad_to_canvas(image), pad_to_canvas(content)
    objective = stylizer.objective(content, targets, settings)
    with torch.no_grad():
        terms = objective.terms(stylizer.features(image), image.to(stylizer.device))
    return {name: float(value) for name, value in terms.items()}


def _make_optimizer(name: str, pixels: torch.Tensor) -> torch.optim.Optimizer | LBFGS:
    if name == "adam":
        return torch.optim.Adam([pixels], lr=ADAM_LEARNING_RATE)
    # One L-BFGS iteration per step(), so progress and cancellation come every iteration;
    # the iteration count is fixed, never a silent early stop (optim/lbfgs.py).
    return LBFGS(pixels, history_size=LBFGS_HISTORY)
