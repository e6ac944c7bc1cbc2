"""The contract between the GIMP plug-in and the engine: one definition of what both sides say.

The options a user sets (with their command-line flag, dialog label, type, range, default and
help), the Strength scale, the progress events' fields and texts, the error kinds and their
exit codes, the out-of-memory advice, and the per-user folders. The command line and the
plug-in's dialog are generated from ``OPTIONS``: an option the dialog shows is one entry here
plus its use in the engine.

Standard library only, and no imports from the engine: GIMP's Python loads this very file.
``install.py`` copies it beside the installed plug-in as ``styleengine_contract.py``; run from
the repository, the plug-in loads it from here (``engine_link``).
"""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

APP_NAME = "gimp-neural-style"
# Written by install.py next to the installed plug-in: which Python runs the engine.
CONFIG_NAME = "neural_style.json"
PROTOCOL_VERSION = 1


# --------------------------------------------------------------------------------------------
# Errors


class ErrorKind(str, Enum):
    """What went wrong, as the protocol's ``error`` event names it, with its exit code."""

    INTERNAL = "internal"
    BAD_INPUT = "bad_input"
    NO_WEIGHTS = "no_weights"
    OUT_OF_MEMORY = "out_of_memory"
    CANCELLED = "cancelled"
    WRITE_FAILED = "write_failed"

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self.value]


_EXIT_CODES = {
    "internal": 1,
    "bad_input": 2,
    "no_weights": 3,
    "out_of_memory": 4,
    "cancelled": 5,
    "write_failed": 6,
}


# --------------------------------------------------------------------------------------------
# The engine's defaults that the plug-in's Strength scale is built around


# Chosen with the quality harness on the whole shared set (QUALITY.md; settings.py says why).
# From the painted start (painted_start.py) 40 iterations paint more than 115 did from the
# photo, in 40% of the time (QUALITY.md, 2026-12-02).
DEFAULT_ITERATIONS = 40
DEFAULT_STYLE_WEIGHT = 40.0
# How far the photo's colours move to the painting's before the strokes are painted.
DEFAULT_PALETTE = 0.7
# How much of the painted start (painted_start.py) is the painted picture; the rest is the photo.
DEFAULT_PAINTED_SHARE = 1.0
# How much of the photo's coarse light and shade the painted start keeps (QUALITY.md).
DEFAULT_PHOTO_LIGHT = 0.5
# The painted start's strokes, in multiples of the size the network paints them at: larger
# above the default Strength, up to STROKE_SIZE_AT_MAX at 100, where the painting takes over
# (QUALITY.md). MAX_STROKE_SIZE bounds what a caller may ask.
DEFAULT_STROKE_SIZE = 1.0
STROKE_SIZE_AT_MAX = 2.0
MAX_STROKE_SIZE = 4.0

# Strength, the dialog's one control for how much of the painting: 50 gives the engine's
# defaults; every 20 points multiply or divide the style weight by ten, so that 0 is the photo
# with a hint of the painting's texture and 100 a painting with the photo's layout. The
# palette follows: none of the painting's colours at 0, the default at 50, all at 100, where
# a larger style weight alone no longer paints more in the same iterations (QUALITY.md).
DEFAULT_STRENGTH = 50.0
MAX_STRENGTH = 100.0
STRENGTH_DECADE = 20.0


def _clamped_strength(strength: float) -> float:
    return min(max(float(strength), 0.0), MAX_STRENGTH)


def style_weight_for(strength: float) -> float:
    """The engine's style weight at a strength of 0..100 (logarithmic)."""
    above_default = _clamped_strength(strength) - DEFAULT_STRENGTH
    return DEFAULT_STYLE_WEIGHT * 10 ** (above_default / STRENGTH_DECADE)


def palette_for(strength: float) -> float:
    """The engine's palette shift at a strength of 0..100."""
    return _rising(strength, DEFAULT_PALETTE)


def painted_share_for(strength: float) -> float:
    """How much of the painted start is painted at a strength of 0..100: none at 0 (the
    photo itself, for a hint of texture), all of it at 100."""
    return _rising(strength, DEFAULT_PAINTED_SHARE)


def photo_light_for(strength: float) -> float:
    """How much of the photo's coarse light and shade the painted start keeps at a strength
    of 0..100: the default up to the default strength, then less, to none at 100 (the
    network's picture as it is: the painting taking over)."""
    strength = _clamped_strength(strength)
    if strength <= DEFAULT_STRENGTH:
        return DEFAULT_PHOTO_LIGHT
    return DEFAULT_PHOTO_LIGHT * (MAX_STRENGTH - strength) / (MAX_STRENGTH - DEFAULT_STRENGTH)


def stroke_size_for(strength: float) -> float:
    """The painted start's stroke size at a strength of 0..100: the default up to the default
    strength, then larger, to STROKE_SIZE_AT_MAX at 100."""
    above = max(_clamped_strength(strength) - DEFAULT_STRENGTH, 0.0)
    share = above / (MAX_STRENGTH - DEFAULT_STRENGTH)
    return DEFAULT_STROKE_SIZE + share * (STROKE_SIZE_AT_MAX - DEFAULT_STROKE_SIZE)


def _rising(strength: float, at_default: float) -> float:
    """0 at strength 0, linear to ``at_default`` at the default strength, then on to 1 at
    the maximum."""
    strength = _clamped_strength(strength)
    if strength <= DEFAULT_STRENGTH:
        return at_default * strength / DEFAULT_STRENGTH
    above = (strength - DEFAULT_STRENGTH) / (MAX_STRENGTH - DEFAULT_STRENGTH)
    return at_default + (1.0 - at_default) * above


# --------------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True)
class Option:
    """One setting a user can give, from the command line and, with a ``section``, from the
    dialog. ``name`` is the Python name (a ``StyleSettings`` field or a run option); the flag
    and the dialog's argument are made from it."""

    name: str
    label: str  # the dialog's words, with its mnemonic
    help: str
    kind: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    # (value, dialog words) for a choice
    choices: tuple[tuple[str, str], ...] = ()
    # Accepted, but not offered in the dialog
    unlisted_choices: tuple[str, ...] = ()
    # "look" or "more": where the dialog shows it; None: the command line only
    section: str | None = None
    # Older command-line flags and dialog argument names that still work
    old_flags: tuple[str, ...] = ()
    old_arguments: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def argument(self) -> str:
        """The plug-in's procedure argument (what scripts pass)."""
        return self.name.replace("_", "-")

    @property
    def values(self) -> list[str]:
        """The choices the dialog offers."""
        return [value for value, _words in self.choices]

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every choice the engine takes."""
        return (*self.values, *self.unlisted_choices)

    @property
    def words(self) -> str:
        """The label as a sentence names it: 'Working size'."""
        return self.label.replace("_", "")

    def check(self, value: Any) -> Any:
        """``value`` (or its text, as typed on the command line) as this option's type, or
        ValueError saying what is allowed: the one rule of the command line, the Python API
        and the plug-in, in the same words."""
        if self.choices:
            if value not in self.accepted:
                allowed = ", ".join(self.accepted)
                raise ValueError(f"{self.words} must be one of {allowed}, not {value!r}")
            return value
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            number = math.nan
        if math.isnan(number):
            raise ValueError(f"{self.words} must be a number, not {value!r}")
        # The value as a number reads ("5" for 5.0 and for "5.0"), whole numbers exactly.
        given = self._text(number)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            given = str(int(value))
        if self.kind is int and not number.is_integer():
            raise ValueError(f"{self.words} must be a whole number, not {given}")
        low = self.minimum if self.minimum is not None else -math.inf
        high = self.maximum if self.maximum is not None else math.inf
        if not low <= number <= high:
            raise ValueError(
                f"{self.words} must be from {self._text(low)} to {self._text(high)}, not {given}"
            )
        return self.kind(number)

    def _text(self, number: float) -> str:
        whole = self.kind is int and math.isfinite(number) and float(number).is_integer()
        return str(int(number)) if whole else f"{number:g}"

    def command_line(self, value: Any) -> list[str]:
        """The engine's arguments that give this option ``value``."""
        value = self.check(value)
        text = f"{value:.6g}" if self.kind is float else str(value)
        return [self.flag, text]


# Painting by regions: masks as image files, for each style by its number (from 1).
STYLE_REGION_FLAG = "--style-region"  # N=PATH: where on the photo style N paints
PAINTING_REGION_FLAG = "--painting-region"  # N=PATH: which part of painting N to take
STRENGTH_MAP_FLAG = "--strength-map"  # PATH: how strongly, 0 (the photo) to 1, pixel by pixel

# The two sizes, by role: the output size is the result's (in GIMP: the layer's); the working
# size is where the optimization runs, the result then enlarged and refined to the output.
OUTPUT_SIZE = Option(
    "output_size", "_Output size",
    "longest side of the result in pixels (0: the content's own size)",
    int, 0, 0, 65536, old_flags=("--size",),
)  # fmt: skip
WORKING_SIZE = Option(
    "working_size", "Wor_king size",
    "longest side the optimization works at, the result then enlarged to the output size "
    "(0: automatic, the largest that fits this computer's memory and a few minutes)",
    int, 0, 0, 16384, section="more", old_flags=("--work-size",), old_arguments=("size",),
)  # fmt: skip

OPTIONS: tuple[Option, ...] = (
    OUTPUT_SIZE,
    Option(
        "style_scale", "Stroke si_ze", "size of the painting's strokes relative to the photo",
        float, 1.0, 0.1, 4.0, section="look",
    ),
    Option(
        "preserve_colors", "Co_lors", "keep the photo's colours",
        str, "none",
        choices=(("none", "Style colors"), ("luminance", "Keep layer colors (luminance)"),
                 ("histogram", "Keep layer colors (histogram)")),
        section="look",
    ),
    Option(
        "iterations", "_Iterations", "optimization steps (more: a finer result, slower)",
        int, DEFAULT_ITERATIONS, 1, 5000, section="more",
    ),
    WORKING_SIZE,
    Option(
        "detail", "Detai_l pass",
        "refine the enlarged result at the output size, in tiles (auto: when the output is "
        "larger than the working size and the time allows)",
        str, "auto",
        choices=(("auto", "Automatic"), ("on", "On"), ("off", "Off")),
        section="more",
    ),
    Option(
        "device", "_Device", "where the engine runs (gpu: CUDA or Apple's MPS)",
        str, "auto",
        choices=(("auto", "Automatic"), ("gpu", "GPU"), ("cpu", "CPU")),
        unlisted_choices=("cuda", "mps"), section="more",
    ),
    Option(
        "variation", "Va_riation",
        "0..1: seeded noise mixed into the start (0: every seed gives the same picture)",
        float, 0.0, 0.0, 1.0, section="more",
    ),
    Option(
        "seed", "S_eed", "which variant, when Variation is above 0",
        int, 0, 0, 2**31 - 1, section="more",
    ),
)  # fmt: skip

OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}

# The dialog's Strength, on the command line and in Python too: one number for the style
# weight, the palette and the painted start's share together (style_weight_for, palette_for,
# painted_share_for). The dialog shows it as
# its own slider, so it has no section here.
STRENGTH = Option(
    "strength", "S_trength",
    "0 (subtle: the photo with a hint of the painting) to 100 (the painting takes over); 50 "
    "gives the defaults. It sets the style weight, the palette and how painted the start is "
    "together",
    float, DEFAULT_STRENGTH, 0.0, MAX_STRENGTH,
)  # fmt: skip


def dialog_options(section: str) -> list[Option]:
    return [option for option in OPTIONS if option.section == section]


# --------------------------------------------------------------------------------------------
# The gallery: public-domain paintings shipped with the engine (styleengine/paintings/)

# A painting is named wherever a style image is taken: "gallery:hokusai_great_wave".
GALLERY_PREFIX = "gallery:"


@dataclass(frozen=True)
class Painting:
    """One painting of the gallery, with its credits. Its image is ``paintings/NAME.jpg``."""

    name: str
    painter: str
    known_as: str  # the painter as a label names them: "Hokusai"
    died: int
    title: str
    year: str  # as art history dates it: "c. 1830-32"
    look: str
    source: str  # the repository (and licence) the scan came from, and its path there

    @property
    def label(self) -> str:
        """What a user reads in a list and in the new layer's name."""
        return f"{self.known_as}, {self.title}"

    @property
    def description(self) -> str:
        """One line with the year and the look: a tooltip."""
        return f"{self.painter}, {self.title}, {self.year}: {self.look}"


def _painting(name: str, painter: str, died: int, title: str, year: str, look: str,
              source: str, known_as: str = "") -> Painting:  # fmt: skip
    return Painting(name, painter, known_as or painter.split()[-1], died, title, year, look, source)


GALLERY = (
    _painting(
        "van_gogh_starry_night", "Vincent van Gogh", 1890, "The Starry Night", "1889",
        "a swirling night sky in thick curved strokes, deep blue and yellow",
        "jcjohnson/neural-style (MIT), examples/inputs/starry_night.jpg", "Van Gogh",
    ),
    _painting(
        "van_gogh_wheat_field_with_cypresses", "Vincent van Gogh", 1890,
        "Wheat Field with Cypresses", "1889", "thick swirling paint, greens and ochres",
        "gordicaleksa/pytorch-neural-style-transfer (MIT), data/style-images/vg_wheat_field.jpg",
        "Van Gogh",
    ),
    _painting(
        "hokusai_great_wave", "Katsushika Hokusai", 1849, "The Great Wave off Kanagawa",
        "c. 1830-32", "woodblock print: flat blue planes, claw-like foam",
        "mihalybaci/NeuralStyle.jl (BSD-2-Clause), "
        "style_images/katsushika-hokusai_the-great-wave-off-kanagawa_1829.jpg",
    ),
    _painting(
        "munch_the_scream", "Edvard Munch", 1944, "The Scream", "1893",
        "wavy bands of orange, blue and green, long restless strokes",
        "jcjohnson/neural-style (MIT), examples/inputs/the_scream.jpg",
    ),
    _painting(
        "turner_shipwreck", "J. M. W. Turner", 1851, "The Shipwreck", "c. 1805",
        "a stormy sea in churning browns and greys, flecks of white foam",
        "jcjohnson/neural-style (MIT), examples/inputs/shipwreck.jpg",
    ),
    _painting(
        "kandinsky_composition_vii", "Wassily Kandinsky", 1944, "Composition VII", "1913",
        "a dense abstract tangle of colour patches and black lines",
        "mihalybaci/NeuralStyle.jl (BSD-2-Clause), "
        "style_images/vassily-kandinsky_composition-VII_1913.jpg",
    ),
    _painting(
        "mondrian_tableau_no2_composition_vii", "Piet Mondrian", 1944,
        "Tableau No. 2 / Composition No. VII", "1913",
        "a cubist grid of ochre and grey tiles, short black strokes",
        "xunhuang1995/AdaIN-style (MIT), input/style/mondrian.jpg",
    ),
    _painting(
        "monet_water_lilies_1919", "Claude Monet", 1926, "Water Lilies", "1919",
        "soft broken strokes, violet, blue and green",
        "titu1994/Neural-Style-Transfer (Apache-2.0), "
        "images/inputs/style/water-lilies-1919-2.jpg",
    ),
    _painting(
        "lemmen_beach_at_heist", "Georges Lemmen", 1916, "The Beach at Heist", "1891",
        "pointillism: fine dots of complementary colour",
        "mihalybaci/NeuralStyle.jl (BSD-2-Clause), "
        "style_images/georges-lemmen_the-beach-at-heist_1891.jpg",
    ),
    _painting(
        "delaunay_portrait_of_metzinger", "Robert Delaunay", 1941,
        "Portrait of Jean Metzinger", "1906", "a mosaic of large square colour dabs",
        "zhanghang1989/PyTorch-Multi-Style-Transfer (MIT), "
        "experiments/images/21styles/Robert_Delaunay,_1906,_Portrait.jpg",
    ),
    _painting(
        "klimt_the_kiss", "Gustav Klimt", 1918, "The Kiss", "1907-08",
        "gold leaf and patterned ornament",
        "iSach/clipmorph (MIT), training_data/styles/klimt.jpg (a Google Art Project scan)",
    ),
    _painting(
        "leger_contrast_of_forms", "Fernand Léger", 1955, "Contrast of Forms", "1913",
        "tube shapes, bold red and blue strokes, black contours",
        "xunhuang1995/AdaIN-style (MIT), input/style/contrast_of_forms.jpg",
    ),
    _painting(
        "picabia_edtaonisl", "Francis Picabia", 1953, "Edtaonisl (Ecclesiastic)", "1913",
        "curved ribbons in pink, ochre and grey planes",
        "gordicaleksa/pytorch-neural-style-transfer (MIT), data/style-images/edtaonisl.jpg",
    ),
    _painting(
        "gauguin_three_tahitian_women", "Paul Gauguin", 1903, "Three Tahitian Women", "1896",
        "flat warm colour areas with outlines",
        "gordicaleksa/pytorch-neural-style-transfer (MIT), data/style-images/tahiti_guaguin.jpg",
    ),
    _painting(
        "marc_fate_of_the_animals", "Franz Marc", 1916, "The Fate of the Animals", "1913",
        "splintered diagonals in red, blue and green",
        "mihalybaci/NeuralStyle.jl (BSD-2-Clause), "
        "style_images/franz-marc_the-fate-of-the-animals_1913.jpg",
    ),
    _painting(
        "rembrandt_night_watch", "Rembrandt van Rijn", 1669, "The Night Watch", "1642",
        "dark chiaroscuro, warm browns and gold",
        "mihalybaci/NeuralStyle.jl (BSD-2-Clause), style_images/rembrandt_the-nightwatch_1642.jpg",
        "Rembrandt",
    ),
)  # fmt: skip

GALLERY_BY_NAME = {painting.name: painting for painting in GALLERY}


def gallery_painting(text: str) -> Painting | None:
    """The painting a style argument names ("gallery:NAME"), or None for a file's path.
    KeyError for a name that the gallery does not have."""
    if not text.startswith(GALLERY_PREFIX):
        return None
    return GALLERY_BY_NAME[text[len(GALLERY_PREFIX) :].strip().lower()]


# --------------------------------------------------------------------------------------------
# What the user is told


def lower_working_size_advice(side: int) -> str:
    return (
        f"set the {WORKING_SIZE.words} to {side} px or less ({WORKING_SIZE.flag}; in GIMP, "
        "under More options), or to 0 for the automatic size"
    )


def lower_output_size_advice(side: int) -> str:
    return (
        f"make the result at most about {side} px on its longest side ({OUTPUT_SIZE.flag}; in "
        "GIMP, scale the layer down or select a part of it)"
    )


def time_left_text(seconds: float) -> str:
    """'about 3 min left', 'about 40 s left', 'less than 10 s left'."""
    if seconds < 10:
        return "less than 10 s left"
    if seconds < 90:
        return f"about {int(round(seconds, -1))} s left"
    return f"about {int(round(seconds / 60))} min left"


# --------------------------------------------------------------------------------------------
# The progress protocol's events (styleengine.progress describes the protocol)
#
# One class per event, written by the engine (``line``) and read by the plug-in
# (``read_event``): the only place where an event's fields are named.


class ProtocolError(ValueError):
    """A line that claims to be an event but is not one this side knows how to read."""


@dataclass(frozen=True)
class StartEvent:
    """The plan, before any work (styleengine.planning). Sizes are [width, height]."""

    device: str
    precision: str
    weights: str
    content_size: list[int]
    output_size: list[int]
    working_size: list[int]
    working_size_automatic: bool
    scales: list[list[int]]
    total_iterations: int
    detail: dict[str, int] | None  # {"iterations": N, "tiles": N}, or None
    estimated_seconds: float
    estimated_peak_bytes: int
    protocol: int = PROTOCOL_VERSION
    name: ClassVar[str] = "start"


@dataclass(frozen=True)
class ProgressEvent:
    """After each iteration (and, in the detail pass, after each tile: with ``tile`` and
    ``tiles`` and no losses). ``iteration`` counts over all scales and the detail pass."""

    stage: str  # "scale" or "detail"
    scale: int
    scales: int
    width: int
    height: int
    iteration: int
    total: int
    losses: dict[str, float | None]
    elapsed: float
    seconds_left: float
    tile: int | None = None
    tiles: int | None = None
    name: ClassVar[str] = "progress"

    def place(self) -> str:
        """'scale 1/1, iteration 40/130', 'detail pass, tile 3/48', 'detail pass, iteration
        2/5', 'painted start' (iteration 0: the picture the optimization starts from)."""
        if self.stage == "scale" and self.iteration == 0:
            return "painted start"
        if self.tiles:
            return f"detail pass, tile {self.tile}/{self.tiles}"
        if self.stage == "detail":
            return f"detail pass, iteration {self.iteration}/{self.total}"
        return f"scale {self.scale}/{self.scales}, iteration {self.iteration}/{self.total}"

    def fraction(self) -> float:
        """How much of the run is done, 0 to 1 (within a detail iteration, by its tiles)."""
        done = self.iteration + (self.tile / self.tiles if self.tiles and self.tile else 0)
        return min(max(done / max(self.total, 1), 0.0), 1.0)


@dataclass(frozen=True)
class PreviewEvent:
    """The picture so far was written, whole, to ``path``."""

    path: str
    iteration: int
    name: ClassVar[str] = "preview"


@dataclass(frozen=True)
class DoneEvent:
    """The last event of a success."""

    output: str
    elapsed: float
    name: ClassVar[str] = "done"


@dataclass(frozen=True)
class ErrorEvent:
    """The last event of a failure; ``kind`` is an ErrorKind's value, ``message`` the user's."""

    kind: str
    message: str
    name: ClassVar[str] = "error"


Event = StartEvent | ProgressEvent | PreviewEvent | DoneEvent | ErrorEvent
EVENT_CLASSES: dict[str, type] = {
    cls.name: cls for cls in (StartEvent, ProgressEvent, PreviewEvent, DoneEvent, ErrorEvent)
}


def event_line(event: Event) -> str:
    """One line of JSON, the event's name first; optional fields that are unset are left out.
    ``allow_nan=False``: a strict JSON reader rejects NaN, so a bug that lets one through must
    show as an error, not as a broken line."""
    fields = {key: value for key, value in asdict(event).items() if value is not None
              or key not in _OPTIONAL_FIELDS}  # fmt: skip
    return json.dumps({"event": event.name, **fields}, allow_nan=False) + "\n"


_OPTIONAL_FIELDS = {"tile", "tiles"}


def read_event(line: str) -> Event | None:
    """The event a protocol line carries; None for a line that is no event (the engine may
    print other lines). ProtocolError for an event this side cannot read: an unknown name, a
    field missing or unknown (an engine of another version)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or "event" not in data:
        return None
    cls = EVENT_CLASSES.get(data.pop("event"))
    if cls is None:
        raise ProtocolError(f"an event this plug-in does not know: {line.strip()[:80]}")
    try:
        return cls(**data)
    except TypeError:
        raise ProtocolError(f"a {cls.name} event of another form: {line.strip()[:80]}") from None


# --------------------------------------------------------------------------------------------
# Per-user folders


def _home(environ: dict[str, str]) -> Path:
    return Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())


def user_data_dir(environ: dict[str, str] | None = None, system: str | None = None) -> Path:
    """The per-user folder that holds the engine's environment (install.py)."""
    environ = dict(os.environ if environ is None else environ)
    system = system or platform.system()
    home = _home(environ)
    if system == "Windows":
        return Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / APP_NAME
    if system == "Darwin":
        return home / "Library" / "Application Support" / APP_NAME
    return Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share") / APP_NAME


def user_cache_dir(environ: dict[str, str] | None = None, system: str | None = None) -> Path:
    """The per-user cache folder: converted weights, remembered timings, the last error log."""
    environ = dict(os.environ if environ is None else environ)
    system = system or platform.system()
    home = _home(environ)
    if system == "Windows":
        return Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / APP_NAME / "cache"
    if system == "Darwin":
        return home / "Library" / "Caches" / APP_NAME
    return Path(environ.get("XDG_CACHE_HOME") or home / ".cache") / APP_NAME
