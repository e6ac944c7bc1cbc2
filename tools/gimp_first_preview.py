"""Seconds from pressing OK in the real GIMP to the first live preview, and to the layer.

    sudo python tools/gimp_first_preview.py --images ../shared/images \
        [--photo tubingen --painting candy --longest 1155 --series 3.0]

GIMP (the test suite's debootstrapped root) loads the photo, scaled so that its longest side
is --longest, and runs the plug-in on it at its defaults with the live preview on. The clock
starts in GIMP's Python just before the procedure is called (the user's OK); the first
preview is when the engine's first preview file appears, which the plug-in draws into the
preview layer as soon as the engine reports it; the end is when the procedure returns with
the new layer. Prints one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from gimp_harness import PRELUDE, SERIES, Gimp, collect, default_root, ensure_root  # noqa: E402

BATCH = """
import time
from gi.repository import Gio
def load(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
image, painting = load("{photo}"), load("{painting}")
factor = {longest} / max(image.get_width(), image.get_height())
image.scale(round(image.get_width() * factor), round(image.get_height() * factor))
started = time.time()
status = neural_style(image, image.get_layers()[0], painting.get_layers()[0],
                      **{{"live-preview": "always"}})
report(status=status.value_nick, started=started, ended=time.time(),
       size=[image.get_width(), image.get_height()],
       layers=[layer.get_name() for layer in image.get_layers()])
"""


def first_preview_time(stop: threading.Event, found: list[float]) -> None:
    """The modification time of the first preview file any run folder holds."""
    while not stop.is_set():
        for preview in Path("/tmp").glob("gimp-neural-style-*/preview.npy"):
            try:
                found.append(preview.stat().st_mtime)
            except FileNotFoundError:
                continue
            return
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--photo", default="tubingen")
    parser.add_argument("--painting", default="candy")
    parser.add_argument("--longest", type=int, default=1155, help="the photo's longest side")
    parser.add_argument("--series", default=SERIES[0].series, help="GIMP's series: 3.0 or 3.2")
    args = parser.parse_args(argv)
    images = args.images.resolve()
    series = next(s for s in SERIES if s.series == args.series)
    root = default_root(series)
    ensure_root(series, root)
    work = Path(tempfile.mkdtemp(prefix="first-preview-", dir="/tmp"))
    try:
        (work / "home").mkdir()
        shared = [REPO, Path(sys.prefix), Path(sys.base_prefix), Path("/tmp"), images]
        gimp = Gimp(series, root, work / "home", shared)
        gimp.install_plugin().check_returncode()
        batch = BATCH.format(
            photo=images / f"{args.photo}.jpg", painting=images / f"{args.painting}.jpg",
            longest=args.longest,
        )  # fmt: skip
        stop, found = threading.Event(), []
        watcher = threading.Thread(target=first_preview_time, args=(stop, found), daemon=True)
        watcher.start()
        process = gimp.popen(PRELUDE + batch)
        output, _ = process.communicate(timeout=3600)
        stop.set()
        results = collect(process.returncode, output).results
        if not results or not found:
            print(output[-3000:], file=sys.stderr)
            return 1
        run = results[0]
        print(
            json.dumps({
                "gimp": series.series, "photo": args.photo, "painting": args.painting,
                "size": run["size"], "status": run["status"], "layers": run["layers"],
                "first_preview_seconds": round(found[0] - run["started"], 1),
                "layer_seconds": round(run["ended"] - run["started"], 1),
            })
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
