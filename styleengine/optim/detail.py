"""The detail pass: the result enlarged to the output size and refined there, with the exact
objective of the whole image computed in tiles (optim/tiled.py), so that a photo of any size is
painted with strokes of the output's scale within the memory of a tile."""

from __future__ import annotations

import torch

from ..loss.objective import StyleRegion
from ..model.canvas import crop_from_canvas, pad_to_canvas, resize, start_of_finer_scale
from ..model.network import VGGFeatures
from ..plan.planning import DETAIL_HISTORY, Plan
from ..run.progress import RunProgress
from ..settings import StyleSettings
from .lbfgs import LBFGS
from .tiled import TiledObjective


def detail_pass(
    network: VGGFeatures,
    device: torch.device,
    working_result: torch.Tensor,
    content: torch.Tensor,
    style_targets: dict[str, torch.Tensor] | list[StyleRegion],
    settings: StyleSettings,
    plan: Plan,
    run: RunProgress,
) -> torch.Tensor:
    """Refine the enlarged result at the output size, with the exact objective of the
    whole image computed in tiles (optim/tiled.py); ``style_targets`` are the Gram targets at the
    output's scale."""
    assert plan.detail is not None
    output = plan.output_size
    # On the network's canvas, as the working pass: a side thinner than its poolings need (a
    # strip, a layer of a few pixels) is padded with its edge pixels and cropped back.
    content_full = pad_to_canvas(resize(content, output))
    # The enlarged result lacks the detail the working size could not hold; the
    # content's own detail at the output size is the start the strokes grow from.
    start = pad_to_canvas(start_of_finer_scale(working_result, content, output, "content_detail"))
    objective = TiledObjective(
        network,
        content_full,
        style_targets,
        settings,
        plan.detail.tile_side,
        device,
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
    return crop_from_canvas(pixels.detach(), output)
