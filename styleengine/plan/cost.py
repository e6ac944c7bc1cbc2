"""What a run costs on this machine: its speed (measured once and remembered), its memory
(a model of the bytes a pixel takes), and ``Machine``, which holds both for a plan.

The speed probe times real iterations of the objective on this device; everything else here
is arithmetic. Plans (plan/planning.py) are made from these numbers alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..model.canvas import Size, network_canvas
from ..model.device import available_memory_bytes, describe_device
from .machine_profile import machine_key, remembered

# The device's speed is measured on a few iterations of this side before a run is planned.
SPEED_PROBE_SIDE = 192
SPEED_PROBE_ITERATIONS = 2
# A GPU's iteration has a fixed cost (a hundred kernel launches) that a small probe measures
# rather than the cost per pixel: on an H200 the 192 px probe alone made every estimate 2.5
# to 5 times too long. There a second, larger probe separates the two.
SPEED_PROBE_LARGE_SIDE = 768
# A plan made without measuring (fixed sizes, no estimate wanted) has this speed: 0 s/MP.
UNMEASURED_SPEED = 0.0


@dataclass(frozen=True)
class Machine:
    """What a plan needs to know of where it runs."""

    device_type: str
    dtype: torch.dtype
    free_bytes: int | None  # None: unknown (no memory limit is planned for)
    seconds_per_megapixel: float  # one iteration (forward and backward) per million pixels
    seconds_per_iteration: float = 0.0  # and its fixed part (a GPU's kernel launches)

    def iteration_seconds(self, size: Size) -> float:
        """The estimated seconds of one iteration at ``size``."""
        megapixels = math.prod(network_canvas(*size)) / 1e6
        return self.seconds_per_iteration + megapixels * self.seconds_per_megapixel


# One iteration at side x side, set up and ready to run: called once to warm up, then timed.
# It returns a tensor whose reading waits for the device.
IterationAt = Callable[[int], Callable[[], torch.Tensor]]


def machine_for(
    device: torch.device,
    dtype: torch.dtype,
    iteration_at: IterationAt | None = None,
    layers: tuple[str, ...] = (),
) -> Machine:
    """This device as a plan sees it: its free memory and, with ``iteration_at``, its speed
    (measured on the first run on this machine and remembered); without, unmeasured.

    The speed is remembered for the network's ``layers``: they decide how deep it runs and
    which Gram matrices or sorts an iteration makes (relu5_1 against relu4_2 is 14%, relu1_2's
    Gram at the full size 5%, the sliced layers' sorts 8%, QUALITY.md), so a timing of other
    layers would mislead the plan."""
    fixed, per_megapixel = 0.0, UNMEASURED_SPEED
    if iteration_at is not None:
        fixed, per_megapixel = remembered(
            machine_key("iteration seconds", describe_device(device), str(dtype), ",".join(layers)),
            lambda: list(_measure_speed(device, iteration_at)),
        )
    return Machine(device.type, dtype, available_memory_bytes(device), per_megapixel, fixed)


def _measure_speed(device: torch.device, iteration_at: IterationAt) -> tuple[float, float]:
    """(fixed seconds of one iteration, seconds per million pixels), measured here and now.
    On a CPU the fixed part is negligible and only the small probe runs."""
    small = _probe_seconds(device, iteration_at, SPEED_PROBE_SIDE)
    small_megapixels = SPEED_PROBE_SIDE**2 / 1e6
    if device.type == "cpu":
        return 0.0, small / small_megapixels
    large_megapixels = SPEED_PROBE_LARGE_SIDE**2 / 1e6
    large = _probe_seconds(device, iteration_at, SPEED_PROBE_LARGE_SIDE)
    per_megapixel = max(large - small, 0.0) / (large_megapixels - small_megapixels)
    if per_megapixel == 0.0:  # noise: the large probe was not slower
        return 0.0, large / large_megapixels
    return max(0.0, small - small_megapixels * per_megapixel), per_megapixel


def _probe_seconds(device: torch.device, iteration_at: IterationAt, side: int) -> float:
    """Seconds of one iteration at side x side."""
    iteration = iteration_at(side)
    iteration()  # the first one pays for allocations and kernel choices
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(SPEED_PROBE_ITERATIONS):
        done = iteration()
    float(done.sum())  # waits for the device
    return (time.perf_counter() - started) / SPEED_PROBE_ITERATIONS


# Bytes per pixel of one optimization step at the largest scale: activations kept for the
# backward pass (about 530 values per pixel up to relu5_1, most of them in block 1 at full
# resolution), gradients and their sums, float32 copies, and the optimizer's state (L-BFGS
# keeps two vectors of 3 floats per pixel per history entry). 1100 values a pixel is above
# the benchmark's measured growth (about 2.45 KB per pixel in bfloat16 on the CPU between
# 256 and 512 px, L-BFGS state included); see BENCHMARKS.md.
_ACTIVATION_VALUES_PER_PIXEL = 1100
_FIXED_OVERHEAD_BYTES = 600 * 2**20


def bytes_per_pixel(dtype: torch.dtype, history_size: int) -> int:
    element = torch.finfo(dtype).bits // 8
    optimizer_state = (2 * history_size + 6) * 3 * 4
    return _ACTIVATION_VALUES_PER_PIXEL * element + optimizer_state


# The style image goes through the network once per scale, without gradients: at most the
# input and output of a block-1 layer and the style layers' maps are alive (about 260 values
# a pixel). At the output size the content and the result live as float32 RGB in numpy and
# in torch, with an enlarged copy: about five 12-byte copies a pixel.
_STYLE_VALUES_PER_PIXEL = 260
_OUTPUT_BYTES_PER_PIXEL = 64


def estimate_peak_bytes(
    pixels: int,
    dtype: torch.dtype,
    history_size: int,
    style_pixels: int = 0,
    output_pixels: int = 0,
) -> int:
    """Peak memory of a run optimizing ``pixels``, with the largest style image of
    ``style_pixels`` (its pass comes before the optimization's, so the larger one counts)
    and a result of ``output_pixels``."""
    element = torch.finfo(dtype).bits // 8
    optimization = pixels * bytes_per_pixel(dtype, history_size)
    style = style_pixels * _STYLE_VALUES_PER_PIXEL * element
    return (
        _FIXED_OVERHEAD_BYTES + max(optimization, style) + output_pixels * _OUTPUT_BYTES_PER_PIXEL
    )
