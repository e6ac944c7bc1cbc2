"""Running a real GIMP 3 headless, with the plug-in installed: GIMP 3.0.4 from a Debian 13
root and GIMP 3.2.6 from a Debian unstable root.

Debian 12 has no GIMP 3, so ``gimp/build_root.sh`` builds each root once (cached outside the
checkout). Each GIMP run happens in a private mount namespace (``unshare``) where the
checkout, the engine's environment, its base Python and /tmp are bind-mounted at their own
paths, then ``chroot`` starts ``gimp-console-3.x``; the mounts disappear with the namespace,
so nothing needs unmounting afterwards, even when a test fails.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD_ROOT = REPO / "tests" / "gimp" / "build_root.sh"
RESULT_PREFIX = "NEURAL-STYLE-TEST "
_DISPLAY_RUNS = itertools.count()


@dataclass(frozen=True)
class GimpSeries:
    """A GIMP 3 series as the tests get it: from which Debian suite, under which names."""

    series: str  # "3.2": its binaries' suffix and its config folder's name
    suite: str  # the Debian suite whose GIMP is of this series

    @property
    def console(self) -> str:
        return f"gimp-console-{self.series}"

    @property
    def gui(self) -> str:
        return f"gimp-{self.series}"


# Debian 13's GIMP 3.0.4 and unstable's GIMP 3.2.6: the series users have.
SERIES = (GimpSeries("3.0", "trixie"), GimpSeries("3.2", "sid"))


def default_root(series: GimpSeries) -> Path:
    """Where ``series``' root is built: under GIMP_TEST_ROOTS when set, else the user's cache."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    roots = Path(os.environ.get("GIMP_TEST_ROOTS") or cache / "gimp-neural-style-tests")
    return roots / f"{series.suite}-root"


def why_unavailable() -> str | None:
    """None when real-GIMP tests can run here, else the reason."""
    if not sys.platform.startswith("linux"):
        return "the real-GIMP tests need Linux"
    if os.geteuid() != 0:
        return "the real-GIMP tests need root (debootstrap, chroot and bind mounts)"
    for tool in ("unshare", "chroot"):
        if shutil.which(tool) is None:
            return f"the real-GIMP tests need {tool}"
    if shutil.which("debootstrap") is None and shutil.which("apt-get") is None:
        return "the real-GIMP tests need debootstrap (or apt-get to install it)"
    return None


def ensure_root(series: GimpSeries, root: Path) -> None:
    done = subprocess.run(
        ["sh", str(BUILD_ROOT), series.suite, str(root)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"building the GIMP root failed:\n{done.stdout}\n{done.stderr}")


@dataclass
class GimpRun:
    returncode: int
    output: str
    results: list[dict]


class Gimp:
    """One GIMP installation (a root) plus the folders it must see."""

    def __init__(
        self, series: GimpSeries, root: Path, home: Path, shared_paths: list[Path]
    ) -> None:
        self.series = series
        self.root = root
        self.home = home
        self.shared = sorted({p.resolve() for p in shared_paths}, key=lambda p: len(p.parts))
        # More of the environment GIMP (and so the plug-in and the engine) runs in.
        self.environment: dict[str, str] = {}

    @property
    def plugins_dir(self) -> Path:
        return self.home / ".config" / "GIMP" / self.series.series / "plug-ins"

    def install_plugin(self, *options: str) -> subprocess.CompletedProcess:
        """The plug-in installed the way users install it (install.py, this Python's
        environment as the engine's), into this GIMP's plug-ins folder."""
        return subprocess.run(
            [sys.executable, str(REPO / "install.py"), "--venv", sys.prefix, "--no-sample",
             "--gimp-plugins-dir", str(self.plugins_dir), *options],
            capture_output=True, text=True,
        )  # fmt: skip

    def _namespace_script(self, command: str) -> str:
        lines = ["set -e", f"mount -t proc proc '{self.root}/proc'"]
        lines.append(f"mount --rbind /dev '{self.root}/dev'")
        for path in self.shared:
            inside = f"{self.root}{path}"
            lines.append(f"mkdir -p '{inside}' && mount --bind '{path}' '{inside}'")
        lines.append(command)
        return "\n".join(lines)

    def popen(self, script: str) -> subprocess.Popen:
        """Start GIMP on a python-fu-eval batch script; the caller waits for it."""
        environment = {
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "STYLEENGINE_CACHE": str(self.home / "engine-cache"),
            **self.environment,
        }
        env_args = " ".join(f"{k}='{v}'" for k, v in environment.items())
        command = (
            f"exec chroot '{self.root}' env -i {env_args} "
            f"{self.series.console} -i --batch-interpreter python-fu-eval -b - --quit"
        )
        process = subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                self._namespace_script(command),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdin is not None
        process.stdin.write(script)
        process.stdin.close()
        process.stdin = None  # written and closed: communicate() must not flush it
        return process

    def run_gui(self, batch: str, driver: str, work: Path, timeout: float = 600) -> GimpRun:
        """GIMP's full user interface on a private Xvfb display (no TCP listener): ``batch``
        runs at start-up, then the shell script ``driver`` works the windows (xdotool)."""
        (work / "batch.py").write_text(PRELUDE + batch)
        (work / "driver.sh").write_text(GUI_DRIVER_PRELUDE + driver)
        # A display of its own per run: an X server killed by the previous run leaves its
        # lock and socket behind for a moment.
        display = f":{100 + os.getpid() % 400 + 400 * next(_DISPLAY_RUNS)}"
        session = f"""
Xvfb {display} -screen 0 1280x900x24 -nolisten tcp > '{work}/xvfb.log' 2>&1 &
XVFB=$!
export DISPLAY={display}
for i in $(seq 1 100); do xdotool getdisplaygeometry > /dev/null 2>&1 && break; sleep 0.1; done
{self.series.gui} -n --no-splash --batch-interpreter python-fu-eval -b - \
    < '{work}/batch.py' > '{work}/gimp.log' 2>&1 &
GIMP=$!
sh '{work}/driver.sh'
echo $? > '{work}/status'
kill -9 $GIMP $XVFB 2> /dev/null
"""
        (work / "session.sh").write_text(session)
        command = (
            f"exec chroot '{self.root}' env -i HOME='{self.home}' LANG=C.UTF-8 "
            f"PATH=/usr/bin:/bin STYLEENGINE_CACHE='{self.home / 'engine-cache'}' "
            f"sh '{work}/session.sh'"
        )
        status_file = work / "status"
        with open(work / "session.log", "w") as log:
            # A new session: its process group holds everything it starts (GIMP, its
            # plug-ins and helpers, Xvfb), which is ended by that group's id once the driver
            # is done; GIMP's helpers outlive a polite request when images are dirty.
            process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 self._namespace_script(command)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            deadline = time.monotonic() + timeout
            try:
                while process.poll() is None and not status_file.is_file():
                    if time.monotonic() > deadline:
                        raise subprocess.TimeoutExpired(process.args, timeout)
                    time.sleep(0.2)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        output = (work / "session.log").read_text(errors="replace")
        gimp_log = (work / "gimp.log").read_text(errors="replace")
        status = int(status_file.read_text()) if status_file.is_file() else process.returncode
        return collect(status, output + gimp_log)

    def run(self, script: str, timeout: float = 600) -> GimpRun:
        process = self.popen(script)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            raise
        return collect(process.returncode, output)


def collect(returncode: int, output: str) -> GimpRun:
    results = [
        json.loads(line[len(RESULT_PREFIX) :])
        for line in output.splitlines()
        if line.startswith(RESULT_PREFIX)
    ]
    return GimpRun(returncode, output, results)


# Shell helpers for GUI driver scripts.
GUI_DRIVER_PRELUDE = r"""
wait_for_file() {  # $1: path, $2: seconds
    for i in $(seq 1 $(($2 * 5))); do [ -f "$1" ] && return 0; sleep 0.2; done
    echo "timed out waiting for $1"; return 1
}
wait_for_window() {  # $1: title pattern, $2: seconds; prints the window id
    for i in $(seq 1 $(($2 * 5))); do
        found=$(xdotool search --name "$1" 2> /dev/null | head -n 1)
        [ -n "$found" ] && { echo "$found"; return 0; }
        sleep 0.2
    done
    return 1
}
"""

# Code put before every batch script: helpers to make images and call the procedure.
PRELUDE = r"""
import json, struct, sys
import gi
gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gimp, Gegl

def report(**fields):
    print("NEURAL-STYLE-TEST " + json.dumps(fields), flush=True)

def float_pixels(width, height, function):
    values = []
    for y in range(height):
        for x in range(width):
            values.extend(function(x, y))
    return struct.pack("<%df" % len(values), *values)

def content_pixel(x, y):
    disc = (x - 30) ** 2 + (y - 34) ** 2 < 15 ** 2
    bar = 50 <= x < 85 and 12 <= y < 20
    if disc:
        return (0.15, 0.1, 0.05)
    if bar:
        return (0.95, 0.9, 0.2)
    return (0.3 + 0.4 * y / 64, 0.5 + 0.2 * x / 96, 0.8 - 0.3 * y / 64)

def style_pixel(x, y):
    import math
    w = math.sin((x + y) / 3.0) * 0.5 + 0.5
    return (w, 1 - w, 0.5 + 0.5 * math.sin(x / 5.0), 1.0)

def new_layer(image, name, width, height, function, kind, fmt, channels):
    layer = Gimp.Layer.new(image, name, width, height, kind, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, None, 0)
    data = float_pixels(width, height, lambda x, y: function(x, y)[:channels])
    layer.get_buffer().set(Gegl.Rectangle.new(0, 0, width, height), fmt, data)
    layer.get_buffer().flush()
    return layer

def make_pair(width=96, height=64, base=Gimp.ImageBaseType.RGB):
    image = Gimp.Image.new(width + 20, height + 20, base)
    if base == Gimp.ImageBaseType.GRAY:
        gray = lambda x, y: (sum(content_pixel(x, y)) / 3,)
        content = new_layer(image, "Photo", width, height, gray, Gimp.ImageType.GRAY_IMAGE, "Y' float", 1)
    else:
        content = new_layer(image, "Photo", width, height, content_pixel, Gimp.ImageType.RGB_IMAGE, "R'G'B' float", 3)
    content.set_offsets(7, 5)
    style_image = Gimp.Image.new(64, 64, Gimp.ImageBaseType.RGB)
    style = new_layer(style_image, "Waves", 64, 64, style_pixel, Gimp.ImageType.RGBA_IMAGE, "R'G'B'A float", 4)
    return image, content, style

def add_channel(image, name, inside):
    # A channel (a saved selection) of the image: white where inside(x, y).
    width, height = image.get_width(), image.get_height()
    channel = Gimp.Channel.new(image, name, width, height, 50.0, Gegl.Color.new("black"))
    image.insert_channel(channel, None, 0)
    data = float_pixels(width, height, lambda x, y: (1.0 if inside(x, y) else 0.0,))
    channel.get_buffer().set(Gegl.Rectangle.new(0, 0, width, height), "Y float", data)
    channel.get_buffer().flush()
    return channel

def neural_style(image, layer, style, **arguments):
    procedure = Gimp.get_pdb().lookup_procedure("python-fu-neural-style")
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    config.set_property("style-layer", style)
    for name, value in arguments.items():
        config.set_property(name, value)
        # GIMP refuses a value out of an argument's range with a mere warning and runs with
        # the default: a test would then test something else than it says.
        if isinstance(value, (int, float, str)) and config.get_property(name) != value:
            raise ValueError(f"GIMP refused {name}={value!r} (out of its range?)")
    result = procedure.run(config)
    return result.index(0)

def layer_info(layer):
    return {
        "name": layer.get_name(),
        "width": layer.get_width(),
        "height": layer.get_height(),
        "offsets": list(layer.get_offsets()[1:]),
        "has_mask": layer.get_mask() is not None,
    }

def dump_pixels(layer, path, fmt="R'G'B' float"):
    width, height = layer.get_width(), layer.get_height()
    data = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, width, height), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
    with open(path, "wb") as handle:
        handle.write(data)
"""
