"""Seconds and peak memory of stylizing large photos, beside the plan's estimates.

    python tools/measure_large.py --photo P.jpg --style S.jpg --megapixels 1,12,24 \
        --detail auto,off --out DIR [--json results.json] [-- more stylize options]

The photo is enlarged (Lanczos) to each size, keeping its aspect; each run is one
``python -m styleengine stylize --progress json`` in a fresh process, so that its peak
resident memory (and, on a GPU, the peak the engine allocated) is that run's alone. Prints
one line per run and writes every number to --json. Used for BENCHMARKS.md's large photos.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's engine
from styleengine import contract  # noqa: E402

WORKER_FLAG = "--worker"
PEAKS_KEY = "measured_peaks"
LANCZOS_JPEG_QUALITY = 95


def enlarged(photo: Path, megapixels: float, folder: Path) -> Path:
    """``photo`` scaled to about ``megapixels`` million pixels (cached in ``folder``)."""
    from PIL import Image

    with Image.open(photo) as image:
        image = image.convert("RGB")
        factor = math.sqrt(megapixels * 1e6 / (image.width * image.height))
        size = (round(image.width * factor), round(image.height * factor))
        path = folder / f"{photo.stem}_{size[0]}x{size[1]}.jpg"
        if not path.is_file():
            image.resize(size, Image.Resampling.LANCZOS).save(path, quality=LANCZOS_JPEG_QUALITY)
    return path


def worker(stylize_arguments: list[str]) -> int:
    """Runs the engine's command line in this process, then reports this process's peaks."""
    from styleengine.cli import main

    code = main(["stylize", *stylize_arguments, "--progress", "json"])
    # The tool's own line, beside the protocol's events (which it is not).
    peaks = {
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    import torch

    if torch.cuda.is_available():
        peaks["cuda_max_allocated_bytes"] = torch.cuda.max_memory_allocated()
        peaks["cuda_max_reserved_bytes"] = torch.cuda.max_memory_reserved()
    print(json.dumps({PEAKS_KEY: peaks}), flush=True)
    return code


def measure(content: Path, style: Path, output: Path, options: list[str], timeout: float) -> dict:
    """One run in a child process: the plan, the measured seconds and peaks."""
    command = [sys.executable, __file__, WORKER_FLAG, str(content), str(style), "-o", str(output)]
    started = time.perf_counter()
    record: dict = {"content": content.name, "options": options, "finished": False}
    child = subprocess.Popen([*command, *options], stdout=subprocess.PIPE, text=True)
    try:
        for line in child.stdout:  # type: ignore[union-attr]
            if time.perf_counter() - started > timeout:
                break
            event = contract.read_event(line)
            if isinstance(event, contract.StartEvent):
                record["plan"] = dataclasses.asdict(event)
            elif isinstance(event, contract.ProgressEvent) and event.stage == "detail":
                record.setdefault("detail_began_seconds", round(time.perf_counter() - started, 1))
            elif isinstance(event, contract.DoneEvent):
                record["finished"] = True
                record["engine_seconds"] = event.elapsed
            elif isinstance(event, contract.ErrorEvent):
                record["error"] = event.message
            elif event is None and PEAKS_KEY in line:
                record.update(json.loads(line)[PEAKS_KEY])
    finally:
        if child.poll() is None:
            child.kill()  # our own child, by its id
        child.wait()
    record["wall_seconds"] = round(time.perf_counter() - started, 1)
    return record


def describe(record: dict) -> str:
    plan = record.get("plan", {})
    estimate = plan.get("estimated_seconds")
    seconds = record.get("engine_seconds")
    ratio = f"{seconds / estimate:.2f}" if seconds and estimate else "-"
    detail = plan.get("detail")
    peak = record.get("cuda_max_allocated_bytes", record.get("max_rss_bytes", 0))
    return (
        f"{record['content']} {' '.join(record['options'])}: working "
        f"{plan.get('working_size')}, detail {detail}, "
        f"{'done in ' + str(seconds) + ' s' if record['finished'] else 'NOT finished'} "
        f"(estimate {estimate} s, ratio {ratio}); peak {peak / 2**30:.2f} GiB "
        f"(estimate {plan.get('estimated_peak_bytes', 0) / 2**30:.2f}), "
        f"RSS {record.get('max_rss_bytes', 0) / 2**30:.2f} GiB"
    )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == WORKER_FLAG:
        return worker(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", type=Path, required=True)
    parser.add_argument("--style", type=Path, required=True)
    parser.add_argument("--megapixels", default="1,12,24")
    parser.add_argument("--detail", default="auto,off", help="detail modes to run at each size")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=math.inf, help="seconds for all runs")
    parser.add_argument("options", nargs="*", help="more stylize options, after --")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    deadline = time.perf_counter() + args.timeout
    # Runs are added to what --json already holds, so one file collects several calls.
    records = json.loads(args.json.read_text()) if args.json and args.json.is_file() else []
    for megapixels in (float(v) for v in args.megapixels.split(",")):
        content = enlarged(args.photo, megapixels, args.out)
        for mode in args.detail.split(","):
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            output = args.out / f"result_{content.stem}_{mode}.jpg"
            options = ["--detail", mode, *args.options]
            record = measure(content, args.style, output, options, left)
            record["megapixels"] = megapixels
            records.append(record)
            print(describe(record), flush=True)
            if args.json:
                args.json.write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
