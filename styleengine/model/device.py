"""Choosing the compute device and precision, and checking that a size fits its memory."""

from __future__ import annotations

import ctypes
import sys

import torch

from ..contract import OPTIONS_BY_NAME
from ..errors import BadInputError, check_option
from ..system import available_memory_bytes as host_available_bytes


def select_device(
    name: str = "auto", cuda: bool | None = None, mps: bool | None = None
) -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; ``gpu`` CUDA or MPS, whichever is
    here; a named device must be present. (``cuda`` and ``mps`` say what is present; by
    default PyTorch is asked.)"""
    check_option(OPTIONS_BY_NAME["device"], name)
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


def hold_thread_count() -> int:
    """Keep the CPU's thread count where PyTorch chose it, for every library under it.

    The picture depends on how many threads share the work (MKL_NUM_THREADS=1 paints another
    one), and Intel's conditions for reproducible results are a fixed count with MKL's and
    OpenMP's dynamic adjustment off (MKL_DYNAMIC and OMP_DYNAMIC FALSE). PyTorch turns
    MKL's off only inside set_num_threads, which nothing calls unless asked: this call, with
    PyTorch's own count, does."""
    threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    return threads


def select_precision(name: str, device: torch.device) -> torch.dtype:
    """The dtype the network runs in. ``auto`` uses bfloat16 on a CUDA GPU that does it
    natively (bf16, not fp16: Gram matrices overflow fp16's range) and float32 elsewhere.

    Not bfloat16 on a CPU, even one that reports it: on this project's 2-core Xeon VM its
    kernels ran 10x faster in some processes than in others (0.008 against 0.10 s for the
    same convolution), so they are not the same code from run to run, and the same seed
    gave another picture (the first of ten runs in GIMP). ``bf16`` still asks for it."""
    check_option(OPTIONS_BY_NAME["precision"], name)
    if name == "fp32":
        return torch.float32
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


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
        return host_available_bytes()
    return None


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
