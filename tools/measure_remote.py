"""What running on a remote engine costs beyond the run itself: the same short stylization of
a large photo, here and through ``--remote HOST``, alternated, with the medians and their
difference (the photo up, the result and the preview down, the relay's start).

    python tools/measure_remote.py --photo P.jpg --style S.jpg --host HOST [--runs 3]

The run is kept short (a small working size, one iteration, no detail pass) so that the
difference is the transport's; both sides must be the same kind of machine for the picture
to be the same, which the tool checks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHORT_RUN = ["--working-size", "256", "--iterations", "1", "--detail", "off", "--weights", "hed",
             "--progress", "none"]  # fmt: skip


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", type=Path, required=True)
    parser.add_argument("--style", type=Path, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--remote-python", default=sys.executable)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="measure-remote-"))
    base = [sys.executable, "-m", "styleengine", "stylize", str(args.photo), str(args.style)]
    seconds: dict[str, list[float]] = {"local": [], "remote": []}
    for run in range(args.runs):
        for where in ("local", "remote"):
            output = folder / f"{where}.npy"
            remote = ["--remote", args.host, "--remote-python", args.remote_python]
            command = [*base, "-o", str(output), *SHORT_RUN, *(remote if where == "remote" else [])]
            seconds[where].append(round(timed(command), 2))
            print(f"run {run + 1} {where}: {seconds[where][-1]} s", flush=True)
    import numpy as np

    same = bool(np.array_equal(np.load(folder / "local.npy"), np.load(folder / "remote.npy")))
    record = {
        "photo": args.photo.name, "photo_bytes": args.photo.stat().st_size,
        "result_bytes": (folder / "remote.npy").stat().st_size, "options": SHORT_RUN,
        "seconds": seconds, "median_local": statistics.median(seconds["local"]),
        "median_remote": statistics.median(seconds["remote"]), "same_picture": same,
    }  # fmt: skip
    record["overhead_seconds"] = round(record["median_remote"] - record["median_local"], 2)
    print(json.dumps(record, indent=1))
    if args.json:
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
