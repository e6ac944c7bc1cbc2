"""What the benchmark measures with: the convolutions' floating-point operations, a block's
peak memory and the time per iteration."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import torch

from styleengine.model.network import VGG16_CONV_LAYERS, VGG16_LAYERS
from styleengine.run.progress import default_report_every

WARMUP_ITERATIONS = 3


def conv_flops_per_iteration(height: int, width: int, deepest: str) -> float:
    """Floating-point operations of one forward pass up to ``deepest`` plus the backward pass
    to the input (no weight gradients): twice the forward convolutions."""
    flops = 0.0
    channels, h, w = 3, height, width
    for name in VGG16_LAYERS[: VGG16_LAYERS.index(deepest) + 1]:
        if name.startswith("pool"):
            h, w = h // 2, w // 2
        elif name in VGG16_CONV_LAYERS:
            out = 64 * 2 ** min(int(name[4]) - 1, 3)
            flops += 2.0 * channels * out * 9 * h * w
            channels = out
    return 2 * flops


class PeakMemory:
    """Peak memory of a block: CUDA's allocator peak, or the process's resident peak on CPU.

    On Linux the kernel keeps the resident high-water mark (VmHWM) and lets a process reset it,
    so the CPU peak is exact. Sampling RSS instead misses short peaks, more of them when the
    machine is busy, and a ratio of two sampled peaks then drifts with the load.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.peak = 0
        self._running = False
        self._exact = False

    @staticmethod
    def _status(field: str) -> int:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
        return 0

    @staticmethod
    def _reset_high_water_mark() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, self._status("VmRSS") - self.start)
            time.sleep(0.005)

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            self.start = torch.cuda.memory_allocated()
            return self
        self._exact = self._reset_high_water_mark()
        self.start = self._status("VmRSS")
        if not self._exact:
            self._running = True
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self.start
        elif self._exact:
            self.peak = max(0, self._status("VmHWM") - self.start)
        else:
            self._running = False
            self._thread.join()


class IterationClock:
    """Wall time at iteration counts. On a GPU it synchronizes at each tick, so it ticks at
    the engine's report interval there (as the command line reports), not every iteration:
    a wait every iteration would be a cost the engine does not have."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.every = default_report_every(device.type)
        self.marks = [(time.perf_counter(), 0)]

    def tick(self, iterations_done: int) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.marks.append((time.perf_counter(), iterations_done))

    def tick_at_interval(self, iterations_done: int) -> None:
        if iterations_done % self.every == 0:
            self.tick(iterations_done)

    def median_ms(self) -> float:
        per_iteration = [
            (t1 - t0) / (i1 - i0)
            for (t0, i0), (t1, i1) in zip(self.marks, self.marks[1:])
            if i0 >= WARMUP_ITERATIONS and i1 > i0
        ]
        return float(statistics.median(per_iteration)) * 1000

    def elapsed(self) -> float:
        return self.marks[-1][0] - self.marks[0][0]
