"""``python -m stylelab bench``: the engine's optimization loop against a plain baseline.

The baseline (``stylelab.baseline``) is deliberately the textbook PyTorch implementation of
the same objective: it is the yardstick. Both use the same weights, layers, loss weights and
image pair, and both final images are scored by one float32 evaluation of the objective.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from styleengine.api import EngineSetup, to_tensor
from styleengine.contract import DEFAULT_PALETTE
from styleengine.errors import BadInputError
from styleengine.image.color import toward_palette
from styleengine.image.files import read_image
from styleengine.image.sample import sample_content, sample_style
from styleengine.loss.objective import StyleImage
from styleengine.loss.regions import Regions
from styleengine.model.canvas import resize
from styleengine.model.device import describe_device
from styleengine.model.network import VGG16_LAYERS
from styleengine.optim.stylizer import evaluate
from styleengine.run.progress import Progress, default_report_every
from styleengine.settings import StyleSettings

from . import REPOSITORY, SHARED_IMAGES
from .baseline import baseline_run
from .instruments import (
    WARMUP_ITERATIONS,
    IterationClock,
    PeakMemory,
    conv_flops_per_iteration,
)

# (content, style): the first is the main pair; the others show how much a final-loss
# comparison varies with the images.
SHARED_PAIRS = (
    ("tubingen.jpg", "starry_night.jpg"),
    ("golden_gate.jpg", "the_scream.jpg"),
    ("hoovertowernight.jpg", "shipwreck.jpg"),
)
GENERATED_PAIR = ("generated content", "generated style")
CPU_SIZES = (256, 512)
MIN_SIZE = 64
GPU_SIZES = (512, 1024, 2048)
# The GPU target: 500 iterations at 512 px from a loaded model.
GPU_END_TO_END_ITERATIONS = 500
PROFILE_ITERATIONS = 20
PROFILE_ROWS = 25
QUALITY_CHECK_EVERY = 10
# Coarse-to-fine as the engine did by default before QUALITY.md's measurements.
COARSE_TO_FINE = 3
IMPLS = ("baseline", "engine")


@dataclass
class Row:
    impl: str
    size: int
    ms_per_iter: float
    peak_bytes: int
    bytes_per_pixel: float
    final_loss: float
    tflops: float
    iterations: int


def objective(setup: EngineSetup, settings: StyleSettings, content, style, image) -> float:
    """The total loss of ``image``, in float32, the same scorer for both implementations."""
    evaluator = replace(setup, dtype=torch.float32).stylizer(settings)
    return evaluate(evaluator, image, content, [StyleImage(style)], settings)["total"]


def engine_run(
    setup: EngineSetup,
    content: torch.Tensor,
    style: torch.Tensor,
    settings: StyleSettings,
    on_iteration: Callable[[Progress], None] | None,
    regions: bool = False,
) -> torch.Tensor:
    """The engine's run; with ``regions``, two paintings (the style and its mirror image)
    each in one half of the picture, guided Gram matrices and all."""
    stylizer = setup.stylizer(settings)
    if not regions:
        return stylizer.run(content, [StyleImage(style)], settings, callback=on_iteration)
    left = torch.zeros(1, 1, *content.shape[-2:])
    left[..., : content.shape[-1] // 2] = 1
    styles = [StyleImage(style), StyleImage(style.flip(-1))]
    return stylizer.run(
        content, styles, settings, callback=on_iteration, regions=Regions([left, None])
    )


def _shared_images_present() -> bool:
    return all((SHARED_IMAGES / name).is_file() for pair in SHARED_PAIRS for name in pair)


def image_pairs() -> tuple[tuple[str, str], ...]:
    """(content, style) names: the shared sample images, else the one generated pair."""
    return SHARED_PAIRS if _shared_images_present() else (GENERATED_PAIR,)


def image_source() -> str:
    if _shared_images_present():
        return f"shared sample images ({SHARED_IMAGES}); main pair: {' + '.join(SHARED_PAIRS[0])}"
    return "generated images (../shared/images not found)"


def load_pair(size: int, pair: tuple[str, str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A (content, style) pair, each resized to ``size`` on its longest side."""
    content_name, style_name = pair or image_pairs()[0]
    if (content_name, style_name) == GENERATED_PAIR:
        images = (sample_content(), sample_style())
    else:
        images = (read_image(SHARED_IMAGES / name).rgb for name in (content_name, style_name))

    def tensor(pixels: np.ndarray) -> torch.Tensor:
        pixels_t = to_tensor(pixels)
        height, width = pixels_t.shape[-2:]
        factor = size / max(height, width)
        return resize(pixels_t, (round(height * factor), round(width * factor)))

    content, style = (tensor(pixels) for pixels in images)
    return content, style


def same_start(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """The photo recoloured as the engine's default run recolours it before optimizing.
    Engine and baseline both start from it, and both hold it as the content, with the
    engine's own recolouring off (``compared_settings``): then their losses after the same
    iterations say which optimizes better, not which started nearer the painting."""
    return toward_palette(content, [(style, None)], [1.0], DEFAULT_PALETTE)


def compared_settings(**fields) -> StyleSettings:
    # The tutorial's loop starts from the photo: so does the engine here, not from its painted
    # start, so that both optimize from the same pixels.
    return StyleSettings(palette=0.0, init="content", **fields)


def measure_one(setup: EngineSetup, impl: str, size: int, iterations: int) -> Row:
    """Time one implementation at one size (run in a fresh process: see run_benchmark)."""
    content, style = load_pair(size)
    content = same_start(content, style)
    clock = IterationClock(setup.device)
    settings = compared_settings(iterations=iterations, scales=1, report_every=clock.every)
    pixels = content.shape[-2] * content.shape[-1]
    deepest = max((*settings.content_layers, *settings.style_layers), key=VGG16_LAYERS.index)
    flops = conv_flops_per_iteration(*content.shape[-2:], deepest)
    with PeakMemory(setup.device) as memory:
        if impl == "baseline":
            image = baseline_run(
                setup, content, style, settings, iterations, clock.tick_at_interval
            )
        else:
            image = engine_run(
                setup, content, style, settings, lambda p: clock.tick(p.iteration),
                regions=impl == "regions",
            )  # fmt: skip
    ms = clock.median_ms()
    return Row(
        impl=impl,
        size=size,
        ms_per_iter=round(ms, 3),
        peak_bytes=int(memory.peak),
        bytes_per_pixel=round(memory.peak / pixels, 1),
        final_loss=round(objective(setup, settings, content, style, image), 5),
        tflops=round(flops / (ms / 1000) / 1e12, 4),
        iterations=iterations,
    )


# glibc moves its threshold for giving large blocks back to the system as blocks are freed,
# so a process's resident peak depends on the order in which the threads free them: the same
# 64 px run peaked anywhere from 93 to 136 MB, and the ratio of two such peaks crossed 1.5
# once in CI. With the threshold fixed, the peak repeats to the MB (105, 106, 105), but every
# large allocation then costs page faults (60% slower iterations): so only the comparisons of
# memory run that way.
EXACT_MEMORY_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def measure_in_subprocess(
    args: argparse.Namespace, impl: str, size: int, iterations: int, exact_memory: bool = False
) -> Row:
    """Each measurement gets a fresh process, so that one's memory (which the CPU allocator
    keeps) and caches do not flatter or burden the next. ``exact_memory``: a peak that
    repeats from run to run, at the cost of the speed (EXACT_MEMORY_ENVIRONMENT)."""
    command = [
        sys.executable, "-m", "stylelab", "bench", "--worker", f"{impl}:{size}",
        "--iterations", str(iterations), "--device", args.device, "--weights", args.weights,
    ]  # fmt: skip
    environment = {**os.environ, **(EXACT_MEMORY_ENVIRONMENT if exact_memory else {})}
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=REPOSITORY, env=environment
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker failed:\n{done.stderr[-2000:]}")
    return Row(**json.loads(done.stdout.strip().splitlines()[-1]))


def final_losses_over_pairs(setup: EngineSetup, size: int, iterations: int) -> list[dict]:
    """Both implementations' final loss on every image pair: one pair's comparison is
    chance as much as method, since L-BFGS with unit steps amplifies rounding differences
    into different paths."""
    results = []
    for pair in image_pairs():
        content, style = load_pair(size, pair)
        content = same_start(content, style)
        settings = compared_settings(iterations=iterations, scales=1, report_every=iterations)
        baseline = baseline_run(setup, content, style, settings, iterations, lambda _n: None)
        engine = engine_run(setup, content, style, settings, None)
        losses = {
            name: round(objective(setup, settings, content, style, image), 5)
            for name, image in (("baseline", baseline), ("engine", engine))
        }
        results.append({"content": pair[0], "style": pair[1], **losses})
    return results


class _Reached(Exception):
    pass


def _engine_seconds_to(
    setup: EngineSetup,
    content: torch.Tensor,
    style: torch.Tensor,
    target: float,
    scales: int,
    iterations: int,
) -> tuple[int | None, float | None]:
    """Iterations and seconds until the engine's image scores ``target`` or less, checked
    every QUALITY_CHECK_EVERY iterations of the finest scale; the checks are not timed."""
    settings = compared_settings(
        iterations=iterations, scales=scales, report_every=QUALITY_CHECK_EVERY
    )
    scoring = StyleSettings(scales=1)
    spent, last, reached = [0.0], [time.perf_counter()], [None]

    def check(progress: Progress) -> None:
        if setup.device.type == "cuda":
            torch.cuda.synchronize()
        spent[0] += time.perf_counter() - last[0]
        if progress.scale == progress.scales:
            loss = objective(setup, scoring, content, style, progress.current_image())
            if loss <= target:
                reached[0] = progress.iteration
                raise _Reached
        last[0] = time.perf_counter()

    with contextlib.suppress(_Reached):
        engine_run(setup, content, style, settings, check)
    return reached[0], (round(spent[0], 2) if reached[0] else None)


def time_to_quality(setup: EngineSetup, size: int, iterations: int) -> dict:
    """Seconds the engine needs to reach the loss the baseline has after ``iterations``:
    on one scale, as the baseline works, and coarse-to-fine, as the engine works by default
    (its iterations then count over all scales)."""
    content, style = load_pair(size)
    content = same_start(content, style)
    settings = compared_settings(iterations=iterations, scales=1)
    clock = IterationClock(setup.device)
    baseline_image = baseline_run(setup, content, style, settings, iterations, clock.tick)
    target = objective(setup, settings, content, style, baseline_image)
    result = {
        "size": size,
        "baseline_iterations": iterations,
        "baseline_seconds": round(clock.elapsed(), 2),
        "target_loss": round(target, 5),
    }
    for name, scales in (("engine_one_scale", 1), ("engine_coarse_to_fine", COARSE_TO_FINE)):
        reached, seconds = _engine_seconds_to(setup, content, style, target, scales, 2 * iterations)
        result[name] = {"scales": scales, "iterations": reached, "seconds": seconds}
    return result


def end_to_end(setup: EngineSetup, size: int, iterations: int) -> dict:
    """Seconds for a whole single-scale stylization from a loaded model (style targets,
    content features, the iterations, the result back in host memory): the first run in
    the process (cuDNN's autotuning included on a GPU) and the next."""
    content, style = load_pair(size)
    settings = StyleSettings(
        iterations=iterations, scales=1, report_every=default_report_every(setup.device.type)
    )
    stylizer = setup.stylizer(settings)
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        stylizer.run(content, [StyleImage(style)], settings, callback=lambda _p: None)
        seconds.append(round(time.perf_counter() - started, 3))
    return {"size": size, "iterations": iterations, "first_seconds": seconds[0],
            "second_seconds": seconds[1]}  # fmt: skip


def profile_engine(setup: EngineSetup, size: int, iterations: int) -> str:
    """Where the engine's time goes: torch.profiler's table of the operations of
    ``iterations`` single-scale iterations at ``size``, after a warm-up run."""
    content, style = load_pair(size)
    settings = StyleSettings(iterations=iterations, scales=1, report_every=iterations)
    stylizer = setup.stylizer(settings)
    warm_up = StyleSettings(iterations=WARMUP_ITERATIONS, scales=1)
    stylizer.run(content, [StyleImage(style)], warm_up)
    cuda = setup.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as profiler:
        stylizer.run(content, [StyleImage(style)], settings)
    order = "self_device_time_total" if cuda else "self_cpu_time_total"
    return profiler.key_averages().table(sort_by=order, row_limit=PROFILE_ROWS)


def machine_description(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores; {describe_device(device)}"


def run_benchmark(args: argparse.Namespace) -> int:
    setup = EngineSetup.create(args.weights, args.device, "auto")
    gpu = setup.device.type == "cuda"
    sizes = args.sizes or (GPU_SIZES if gpu else CPU_SIZES)
    if min(sizes) < MIN_SIZE:
        # The baseline's whole stack pools five times; the sample pairs are up to 1.9:1.
        raise BadInputError(f"Benchmark sizes must be at least {MIN_SIZE} px.")
    iterations = args.iterations or (100 if gpu else 50)
    # The median time per iteration needs two timed intervals past the warm-up.
    minimum = WARMUP_ITERATIONS + 2 * default_report_every(setup.device.type)
    if iterations < minimum:
        raise BadInputError(f"Benchmark --iterations must be at least {minimum} here.")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        folder = Path(args.json).parent
        raise BadInputError(f"--json {args.json}: the folder {folder} does not exist.")
    if args.worker:
        impl, size = args.worker.split(":")
        print(json.dumps(asdict(measure_one(setup, impl, int(size), iterations))))
        return 0
    source = image_source()
    print(f"machine: {machine_description(setup.device)}")
    print(f"engine precision: {setup.dtype}; images: {source}")
    print(f"{'impl':9} {'size':>5} {'ms/iter':>9} {'peak MB':>9} {'B/px':>7} {'TFLOP/s':>8} "
          f"{'final loss':>11}")  # fmt: skip
    rows: list[Row] = []
    for size in sizes:
        measured = [measure_in_subprocess(args, impl, size, iterations) for impl in IMPLS]
        rows += measured
        for row in measured:
            print(f"{row.impl:9} {row.size:>5} {row.ms_per_iter:>9.1f} "
                  f"{row.peak_bytes / 2**20:>9.0f} {row.bytes_per_pixel:>7.0f} "
                  f"{row.tflops:>8.3f} {row.final_loss:>11.4f}")  # fmt: skip
        baseline, engine = measured
        print(f"          speed-up {baseline.ms_per_iter / engine.ms_per_iter:.2f}x, final loss "
              f"{(engine.final_loss / baseline.final_loss - 1) * 100:+.1f}%")  # fmt: skip
    pairs = None
    if args.loss_pairs:
        pairs = final_losses_over_pairs(setup, sizes[0], iterations)
        print(f"final loss after {iterations} iterations at {sizes[0]} px, per image pair:")
        for pair in pairs:
            change = (pair["engine"] / pair["baseline"] - 1) * 100
            print(f"  {pair['content']} + {pair['style']}: baseline {pair['baseline']:.4f}, "
                  f"engine {pair['engine']:.4f} ({change:+.1f}%)")  # fmt: skip
    quality = None
    if args.quality_iterations:
        quality = time_to_quality(setup, sizes[0], args.quality_iterations)
        print(
            f"time to quality at {quality['size']} px: the baseline reaches "
            f"{quality['target_loss']} after {quality['baseline_iterations']} iterations in "
            f"{quality['baseline_seconds']} s"
        )
        for name in ("engine_one_scale", "engine_coarse_to_fine"):
            engine = quality[name]
            reached = (
                f"{engine['seconds']} s ({engine['iterations']} iterations)"
                if engine["iterations"]
                else f"not within {2 * quality['baseline_iterations']} iterations"
            )
            print(f"  engine, {engine['scales']} scale(s): {reached}")
    end_to_end_iterations = (
        args.end_to_end_iterations
        if args.end_to_end_iterations is not None
        else (GPU_END_TO_END_ITERATIONS if gpu else iterations)
    )
    whole = None
    if end_to_end_iterations:
        whole = end_to_end(setup, GPU_SIZES[0] if gpu else sizes[0], end_to_end_iterations)
        print(
            f"end to end, {whole['iterations']} iterations at {whole['size']} px from a loaded "
            f"model: {whole['first_seconds']} s (first run), {whole['second_seconds']} s (next)"
        )
    if args.profile:
        table = profile_engine(setup, sizes[0], PROFILE_ITERATIONS)
        Path(args.profile).write_text(table)
        print(f"profile of {PROFILE_ITERATIONS} engine iterations at {sizes[0]} px: {args.profile}")
    regions = None
    if args.regions:
        one = next(row for row in rows if row.impl == "engine" and row.size == sizes[0])
        two = measure_in_subprocess(args, "regions", sizes[0], iterations)
        one_memory, two_memory = (
            measure_in_subprocess(args, impl, sizes[0], iterations, exact_memory=True)
            for impl in ("engine", "regions")
        )
        regions = {
            "size": sizes[0], "time_ratio": round(two.ms_per_iter / one.ms_per_iter, 3),
            "memory_ratio": round(two_memory.peak_bytes / one_memory.peak_bytes, 3),
            "row": asdict(two),
        }  # fmt: skip
        print(f"two regions at {sizes[0]} px: {two.ms_per_iter:.1f} ms/iter, "
              f"{two.peak_bytes / 2**20:.0f} MB: {regions['time_ratio']:.2f}x the time and "
              f"{regions['memory_ratio']:.2f}x the memory of one style")  # fmt: skip
    if args.json:
        report = {
            "device": describe_device(setup.device),
            "machine": machine_description(setup.device),
            "precision": str(setup.dtype),
            "images": source,
            "rows": [asdict(row) for row in rows],
            "final_loss_pairs": pairs,
            "time_to_quality": quality,
            "end_to_end": whole,
            "regions": regions,
        }
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0
