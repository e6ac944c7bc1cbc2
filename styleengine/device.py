"""Choosing the compute device and precision, and checking that a size fits its memory."""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import time

import torch

from .errors import BadInputError
from .machine_profile import machine_key, remembered

DEVICE_CHOICES = ("auto", "gpu", "cuda", "mps", "cpu")
PRECISION_CHOICES = ("auto", "fp32", "bf16")


def select_device(
    name: str = "auto", cuda: bool | None = None, mps: bool | None = None
) -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; ``gpu`` CUDA or MPS, whichever is
    here; a named device must be present. (``cuda`` and ``mps`` say what is present; by
    default PyTorch is asked.)"""
    if name not in DEVICE_CHOICES:
        raise BadInputError(
            f"Unknown Device {name!r} (--device); choose one of {', '.join(DEVICE_CHOICES)}."
        )
    cuda = torch.cuda.is_available() if cuda is None else cuda
    mps = torch.backends.mps.is_available() if mps is None else mps
    if name == "auto":
        name = "cuda" if cuda else "mps" if mps else "cpu"
    if name == "gpu":
        if not (cuda or mps):
            raise BadInputError(
                "No GPU is available to PyTorch here (neither CUDA nor Apple MPS); choose "
                "Device Automatic or CPU (--device auto or cpu)."
            )
        name = "cuda" if cuda else "mps"
    if name == "cuda" and not cuda:
        raise BadInputError(
            "No CUDA GPU is available to PyTorch here; choose Device Automatic or CPU "
            "(--device auto or cpu)."
        )
    if name == "mps" and not mps:
        raise BadInputError(
            "Apple MPS is not available here; choose Device Automatic or CPU "
            "(--device auto or cpu)."
        )
    return torch.device(name)


def cpu_supports_bf16() -> bool:
    """True when oneDNN has native bfloat16 kernels on this CPU (AVX-512 BF16 or AMX)."""
    checker = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(checker()) if checker is not None else False
    except RuntimeError:
        return False


def select_precision(name: str, device: torch.device) -> torch.dtype:
    """The dtype the network runs in. ``auto`` uses bfloat16 where the hardware does it
    natively and, on a CPU, faster than float32 (bf16, not fp16: Gram matrices overflow
    fp16's range)."""
    if name not in PRECISION_CHOICES:
        raise BadInputError(
            f"Unknown precision {name!r}; choose one of {', '.join(PRECISION_CHOICES)}."
        )
    if name == "fp32":
        return torch.float32
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if device.type == "cpu" and cpu_supports_bf16() and bf16_faster_on_cpu():
        return torch.bfloat16
    return torch.float32


# bfloat16 is chosen on a CPU only when it is clearly faster: some CPUs that report native
# bf16 (AVX-512 BF16) run the network's convolutions slower in it than in float32 (measured
# 8.0 against 4.9 s a megapixel on a 2-core Xeon VM), and float32 is the more exact.
BF16_MIN_SPEEDUP = 1.1
_PROBE_CHANNELS, _PROBE_SIDE, _PROBE_REPEATS, _PROBE_ROUNDS = 64, 96, 3, 5


def conv_seconds(dtype: torch.dtype) -> float:
    """Seconds of one forward and backward pass of a VGG-like 3x3 convolution in ``dtype``
    on this CPU (the network's time is mostly such convolutions)."""
    generator = torch.Generator().manual_seed(0)
    conv = torch.nn.Conv2d(_PROBE_CHANNELS, _PROBE_CHANNELS, 3, padding=1)
    conv = conv.to(dtype=dtype, memory_format=torch.channels_last)
    shape = (1, _PROBE_CHANNELS, _PROBE_SIDE, _PROBE_SIDE)
    pixels = torch.rand(shape, generator=generator).to(dtype)
    pixels = pixels.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    conv(pixels).float().sum().backward()  # the first pass pays for the kernels' set-up
    started = time.perf_counter()
    for _ in range(_PROBE_REPEATS):
        conv(pixels).float().sum().backward()
    return (time.perf_counter() - started) / _PROBE_REPEATS


@functools.cache
def bf16_faster_on_cpu() -> bool:
    """Whether bfloat16 beats float32 by BF16_MIN_SPEEDUP here: measured once a machine and
    remembered (machine_profile.py), so that a noisy timing never flips the precision, and
    with it the picture, between two runs with the same seed."""
    float32, bfloat16 = remembered(
        machine_key("cpu conv seconds float32,bfloat16"), _conv_seconds_both
    )
    return float32 >= BF16_MIN_SPEEDUP * bfloat16


def _conv_seconds_both() -> list[float]:
    """float32's and bfloat16's best of a few alternating rounds: another program's burst
    of work slows a round, never speeds one up, and alternating spreads it over both."""
    rounds = [(conv_seconds(torch.float32), conv_seconds(torch.bfloat16))
              for _ in range(_PROBE_ROUNDS)]  # fmt: skip
    return [min(r[0] for r in rounds), min(r[1] for r in rounds)]


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        return f"cuda: {properties.name}, {properties.total_memory / 2**30:.1f} GiB"
    if device.type == "mps":
        return "mps: Apple GPU"
    return f"cpu: {torch.get_num_threads()} threads"


def available_memory_bytes(device: torch.device) -> int | None:
    """Memory the run may use on ``device``, or None when it cannot be known."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        return _host_available_bytes()
    return None


def _host_available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


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


# glibc serves allocations below its mmap threshold from heaps it seldom gives back, and it
# raises that threshold (up to 32 MB) each time a large block is freed; the network's
# activations (1-30 MB each, made and freed for every tile of the detail pass) then stay
# resident as fragments. A fixed threshold maps them and returns them when freed: a 3 MP
# detail pass peaked at 2.01 GiB instead of 2.55 (BENCHMARKS.md).
GLIBC_MMAP_THRESHOLD_BYTES = 1 << 20
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def return_freed_memory_promptly() -> None:
    """On glibc, map every allocation of GLIBC_MMAP_THRESHOLD_BYTES or more, so that freed
    memory leaves the process. Called by the engine's command line, whose process it is."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # another C library (musl): its own policy stands
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, GLIBC_MMAP_THRESHOLD_BYTES)
