"""What running on a remote engine costs beyond the run itself: the same short stylization of
a large photo, here and through ``--remote HOST``, alternated, with the medians and their
difference (the photo up, the result and the preview down, the relay's start).

    python tools/measure_remote.py --photo P.jpg --style S.jpg --host HOST [--runs 3]

With the host on this machine (the tests' loopback sshd), it also records the highest
resident memory of the two processes that only carry the files, this side's client and the
relay there: a picture that streamed through them in pieces leaves them far below its size.

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


def _peak_kib(pid: int) -> int:
    """The process's highest resident memory so far (VmHWM), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _relays() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"styleengine" in words and b"relay" in words:
            found.append(int(entry.name))
    return found


def timed(command: list[str]) -> tuple[float, dict[str, float]]:
    """Seconds of the whole command, and the highest memory (MB) of its own process and of
    any relay on this machine while it ran (watched every 20 ms: both grow only by what
    they hold at once, so a picture held whole would show)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    peaks = {"client": 0, "relay": 0}
    while process.poll() is None:
        peaks["client"] = max(peaks["client"], _peak_kib(process.pid))
        peaks["relay"] = max([peaks["relay"], *map(_peak_kib, _relays())])
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return seconds, {role: round(kib / 1024, 1) for role, kib in peaks.items()}


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
    peaks: list[dict[str, float]] = []
    for run in range(args.runs):
        for where in ("local", "remote"):
            output = folder / f"{where}.npy"
            remote = ["--remote", args.host, "--remote-python", args.remote_python]
            command = [*base, "-o", str(output), *SHORT_RUN, *(remote if where == "remote" else [])]
            took, peak = timed(command)
            seconds[where].append(round(took, 2))
            if where == "remote":
                peaks.append(peak)
            print(f"run {run + 1} {where}: {seconds[where][-1]} s", flush=True)
    import numpy as np

    same = bool(np.array_equal(np.load(folder / "local.npy"), np.load(folder / "remote.npy")))
    record = {
        "photo": args.photo.name, "photo_bytes": args.photo.stat().st_size,
        "result_bytes": (folder / "remote.npy").stat().st_size, "options": SHORT_RUN,
        "seconds": seconds, "median_local": statistics.median(seconds["local"]),
        "median_remote": statistics.median(seconds["remote"]), "same_picture": same,
        "remote_peaks_mb": peaks,
    }  # fmt: skip
    record["overhead_seconds"] = round(record["median_remote"] - record["median_local"], 2)
    print(json.dumps(record, indent=1))
    if args.json:
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
