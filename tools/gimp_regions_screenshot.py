"""README's screenshot of painting by regions in GIMP 3.0.4 (the test suite's debootstrapped
root, as tests/test_gimp_plugin.py uses it).

    sudo python tools/gimp_regions_screenshot.py --images ../shared/images \
        --out docs/images/gimp_regions.png

The Golden Gate photo (scaled to 384 px), its sky saved as a channel (the mask
tools/region_examples.py draws), The Starry Night bound to that channel and The Scream to
everything else, run through the plug-in at its defaults; then the whole window.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tools"))

from gimp_harness import SERIES, Gimp, default_root, ensure_root  # noqa: E402
from region_examples import sky_mask  # noqa: E402

SIZE = 384
# GIMP's window on the 1280x900 screen of the harness's Xvfb
WINDOW = (0, 0, 853, 605)

BATCH = """
from gi.repository import Gio
def load(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
image = load("{photo}")
image.scale({width}, {height})
photo = image.get_layers()[0]
starry, scream = load("{starry}"), load("{scream}")
mask = load("{sky}").get_layers()[0]
width, height = image.get_width(), image.get_height()
sky = Gimp.Channel.new(image, "Sky", width, height, 50.0, Gegl.Color.new("black"))
image.insert_channel(sky, None, 0)
pixels = mask.get_buffer().get(Gegl.Rectangle.new(0, 0, width, height), 1.0, "Y float",
                               Gegl.AbyssPolicy.CLAMP)
sky.get_buffer().set(Gegl.Rectangle.new(0, 0, width, height), "Y float", pixels)
sky.get_buffer().flush()
Gimp.Display.new(image)
status = neural_style(image, photo, starry.get_layers()[0], **{{
    "style-region": sky, "style-layer-2": scream.get_layers()[0]}})
Gimp.displays_flush()
report(status=status.value_nick, layers=[layer.get_name() for layer in image.get_layers()])
open("{done}", "w").write("done")
"""

DRIVER = """
wait_for_file '{done}' 900 || exit 1
sleep 3
import -window root '{shot}'
"""


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    images = args.images.resolve()
    work = Path(tempfile.mkdtemp(prefix="regions-shot-", dir="/tmp"))
    with Image.open(images / "golden_gate.jpg") as photo:
        factor = SIZE / max(photo.size)
        size = (round(photo.width * factor), round(photo.height * factor))
        sky_mask(photo).resize(size).save(work / "sky.png")
    series = SERIES[-1]  # the newest GIMP: the one most users have
    root = default_root(series)
    ensure_root(series, root)
    (work / "home").mkdir()
    shared = [REPO, Path(sys.prefix), Path(sys.base_prefix), work, images]
    gimp = Gimp(series, root, work / "home", shared)
    gimp.install_plugin().check_returncode()
    done, shot = work / "done", work / "shot.png"
    batch = BATCH.format(
        photo=images / "golden_gate.jpg", width=size[0], height=size[1],
        starry=images / "starry_night.jpg", scream=images / "the_scream.jpg",
        sky=work / "sky.png", done=done,
    )  # fmt: skip
    run = gimp.run_gui(batch, DRIVER.format(done=done, shot=shot), work, timeout=1200)
    print(run.results or run.output[-3000:])
    if not shot.is_file():
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(shot) as screen:
        screen.crop(WINDOW).save(args.out)
    print(f"screenshot: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
