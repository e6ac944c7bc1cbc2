"""The options a user sets: each one's flag, dialog label, type, range, default, help and
role (``Option``), and the list every side makes its parser, settings and dialog from
(``OPTIONS``)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from .defaults import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_CONTENT_WEIGHT,
    DEFAULT_ITERATIONS,
    DEFAULT_LAYOUT_WEIGHT,
    DEFAULT_PAINTED_SHARE,
    DEFAULT_PALETTE,
    DEFAULT_PHOTO_LIGHT,
    DEFAULT_SCALES,
    DEFAULT_SLICED_LAYERS,
    DEFAULT_STRENGTH,
    DEFAULT_STROKE_SIZE,
    DEFAULT_STYLE_LAYERS,
    DEFAULT_STYLE_WEIGHT,
    DEFAULT_TV_WEIGHT,
    MAX_STRENGTH,
    MAX_STROKE_SIZE,
    MAX_WEIGHT,
    SET_BY_STRENGTH,
)
from .places import DEFAULT_REMOTE_PYTHON

# What an option's value is to the engine, from which each side knows what to do with it:
# - "setting": a StyleSettings field (what the optimization is asked to do);
# - "preset": sets several settings at once (the Strength);
# - "run": what the Python API takes beside the settings (stylize's keywords);
# - "file": names a file of the caller's that the engine reads (sent along to a remote);
# - "report": how the run shows itself (sent along to a remote);
# - "local": the caller's own (where the result goes, how it is told, where the run goes):
#   never sent to a remote.
ROLES = ("setting", "preset", "run", "file", "report", "local")


@dataclass(frozen=True)
class Option:
    """One setting a user can give: every ``stylize`` flag is one, and with a ``section`` the
    dialog shows it too. ``name`` is the Python name (a ``StyleSettings`` field or a run
    option); the flag and the dialog's argument are made from it.

    ``kind`` says what a value is: ``int``, ``float`` or ``str`` (with ``choices``, one of
    them), ``bool`` (a switch: the flag alone), ``list`` (names: ``relu3_1,relu4_1``),
    ``dict`` (names with weights: ``relu1_1:8,relu2_1``) or ``tuple`` (numbers: ``1,2``).
    ``minimum`` and ``maximum`` bound a number and each number or weight of a collection."""

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
    # The command line's other spelling ("-o"); whether it must be given
    short_flag: str = ""
    required: bool = False
    # "N=VALUE", once per style (by its number, from 1), the flag given as often as needed
    per_style: bool = False
    metavar: str | None = None
    # What the value is to the engine (ROLES): each side takes what to do with it from here
    role: str = "setting"

    @property
    def set_by_strength(self) -> bool:
        """Set by the Strength together with the others it sets: give it or them, not both."""
        return self.name in SET_BY_STRENGTH

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

    @property
    def named(self) -> str:
        """How a refusal names it: by its words where the dialog shows them, with its flag
        where only the command line and Python have it ('Smoothing weight (--tv-weight)')."""
        if self.section is not None or self.name == "strength":
            return self.words
        return f"{self.words} ({self.flag})"

    def given(self, value: Any) -> Any:
        """``value``, or this option's default where it is None: a Python caller's None means
        what leaving the option out means on the command line."""
        return self.default if value is None else value

    def check(self, value: Any) -> Any:
        """``value``, as a Python caller or the plug-in gives it, as this option's type, or
        ValueError saying what is allowed: the one rule of the command line, the Python API
        and the plug-in, in the same words. Text is the command line's: ``parse``."""
        if value is None and self.default is None:
            return None
        if self.per_style:
            return self._numbered(value)
        if self.choices:
            if value not in self.accepted:
                allowed = ", ".join(self.accepted)
                raise ValueError(f"{self.named} must be one of {allowed}, not {value!r}")
            return value
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.named} must be true or false, not {value!r}")
            return value
        if self.kind is str:
            # Empty is a value only where it is the default: "none" (this computer).
            if not isinstance(value, str) or not (value or self.default == ""):
                raise ValueError(f"{self.named} must be a file's path or a name, not {value!r}")
            return value
        if self.kind is list:
            if not _sequence_of(value, str):
                raise ValueError(f"{self.named} must be a list of names, not {value!r}")
            return tuple(value)
        if self.kind is dict:
            if not isinstance(value, dict) or not _sequence_of(list(value), str):
                raise ValueError(f"{self.named} must map names to weights, not {value!r}")
            return {name: self._number(weight, f"{self.named}: the weight of {name}")
                    for name, weight in value.items()}  # fmt: skip
        if self.kind is tuple:
            if not _sequence_of(value, object):
                raise ValueError(f"{self.named} must be a list of numbers, not {value!r}")
            return tuple(float(self._number(number, self.named)) for number in value)
        return self._number(value, self.named)

    def parse(self, text: str) -> Any:
        """The command line's ``text`` as this option's value, by the same rule as ``check``."""
        if self.per_style or self.choices or self.kind is str:
            return self.check(text)
        if self.kind is list:
            return self.check(_comma_parts(text))
        if self.kind is dict:
            weights: dict[str, Any] = {}
            for part in _comma_parts(text):
                name, _, weight = part.partition(":")
                weights[name] = _as_number(weight) if weight else 1.0
            return self.check(weights)
        if self.kind is tuple:
            return self.check([_as_number(part) for part in _comma_parts(text)])
        # A whole number reads as typed ("5", not "5.0").
        number = _as_number(text)
        if isinstance(number, float) and text.strip().lstrip("+-").isdigit():
            number = int(text)
        return self.check(number)

    def _number(self, value: Any, words: str) -> int | float:
        """A number in this option's range, ``int`` for an int option."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{words} must be a number, not {value!r}")
        number = float(value)
        # The value as a number reads ("5" for 5 and 5.0), whole numbers exactly.
        given = str(value) if isinstance(value, numbers.Integral) else self._text(number)
        if math.isnan(number):
            raise ValueError(f"{words} must be a number, not {given}")
        if self.kind is int and math.isfinite(number) and not number.is_integer():
            raise ValueError(f"{words} must be a whole number, not {given}")
        low = self.minimum if self.minimum is not None else -math.inf
        high = self.maximum if self.maximum is not None else math.inf
        if not low <= number <= high:
            if high == math.inf:
                raise ValueError(f"{words} must be {self._text(low)} or more, not {given}")
            raise ValueError(
                f"{words} must be from {self._text(low)} to {self._text(high)}, not {given}"
            )
        if math.isinf(number):
            raise ValueError(f"{words} must be a finite number, not {given}")
        return int(value) if self.kind is int else float(number)

    def _numbered(self, value: Any) -> tuple[int, str]:
        """(N, VALUE) from "N=VALUE" or a pair: a style's number, from 1, and what it takes."""
        if isinstance(value, str):
            number, separator, rest = value.partition("=")
            value = (int(number), rest) if separator and number.strip().isdigit() else None
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str)
                and isinstance(value[0], int) and value[0] >= 1 and value[1]):  # fmt: skip
            raise ValueError(f"{self.named} must be N=PATH (a style's number, from 1), not "
                             f"{value!r}")  # fmt: skip
        return value

    def _text(self, number: float) -> str:
        whole = self.kind is int and math.isfinite(number) and float(number).is_integer()
        return str(int(number)) if whole else f"{number:g}"

    def command_line(self, value: Any) -> list[str]:
        """The engine's arguments that give this option ``value`` (none for a switch that is
        off or a value left out)."""
        value = self.check(value)
        if value is None or value is False or value == "":
            return []
        if value is True:
            return [self.flag]
        if self.per_style:
            return [self.flag, f"{value[0]}={value[1]}"]
        return [self.flag, _value_text(value)]


def _comma_parts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _as_number(text: str) -> Any:
    """A number from text, or the text itself (which the check then refuses by name)."""
    try:
        return float(text)
    except (TypeError, ValueError, OverflowError):
        return text


def _sequence_of(values: object, kind: type) -> bool:
    """A sequence as a Python caller has one (a list, a tuple, a range, a one-dimensional
    array; not a string) whose items are all ``kind``."""
    is_sequence = isinstance(values, (list, tuple, range)) or getattr(values, "ndim", None) == 1
    return is_sequence and all(isinstance(v, kind) for v in values)  # type: ignore[union-attr]


def _value_text(value: Any) -> str:
    """A value as the command line reads it back."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ",".join(f"{name}:{_value_text(weight)}" for name, weight in value.items())
    if isinstance(value, tuple):
        return ",".join(_value_text(item) for item in value)
    return str(value)


# The two sizes, by role: the output size is the result's (in GIMP: the layer's); the working
# size is where the optimization runs, the result then enlarged and refined to the output.
OUTPUT_SIZE = Option(
    "output_size", "_Output size",
    "longest side of the result in pixels (0: the content's own size)",
    int, 0, 0, 65536, old_flags=("--size",), role="run",
)  # fmt: skip
WORKING_SIZE = Option(
    "working_size", "Wor_king size",
    "longest side the optimization works at, the result then enlarged to the output size "
    "(0: automatic, the largest that fits this computer's memory and a few minutes)",
    int, 0, 0, 16384, section="more", old_flags=("--work-size",), old_arguments=("size",),
    role="run",
)  # fmt: skip

# The dialog's Strength, on the command line and in Python too: one number for the style
# weight, the palette and the painted start (style_weight_for, palette_for, painted_share_for,
# photo_light_for, stroke_size_for). The dialog shows it as its own slider, above the
# sections.
STRENGTH = Option(
    "strength", "S_trength",
    "0 (subtle: the photo with a hint of the painting) to 100 (the painting takes over); 50 "
    "gives the defaults. It sets the style weight, the palette and the painted start "
    "together",
    float, DEFAULT_STRENGTH, 0.0, MAX_STRENGTH, role="preset",
)  # fmt: skip


def _weight(name: str, words: str, default: float, meaning: str, **more: Any) -> Option:
    """A loss's weight: any number from 0 to MAX_WEIGHT."""
    return Option(name, words, meaning, float, default, 0.0, MAX_WEIGHT, **more)


# Painting by regions: masks as image files, for each style by its number (from 1).
STYLE_REGION = Option(
    "style_region", "Style region",
    "where style N paints: an image (white: paint, black: not; grey blends) of the photo's "
    "aspect; the styles without one paint everything else",
    str, (), per_style=True, metavar="N=PATH", role="file",
)  # fmt: skip
PAINTING_REGION = Option(
    "painting_region", "Painting region",
    "which part of painting N the style is taken from (white)",
    str, (), per_style=True, metavar="N=PATH", role="file",
)  # fmt: skip
STRENGTH_MAP = Option(
    "strength_map", "Strength map",
    "how strongly to paint, pixel by pixel: white fully, black keeps the photo",
    str, None, metavar="PATH", role="file",
)  # fmt: skip
STYLE_REGION_FLAG = STYLE_REGION.flag
PAINTING_REGION_FLAG = PAINTING_REGION.flag
STRENGTH_MAP_FLAG = STRENGTH_MAP.flag

# Every option of ``python -m styleengine stylize`` but its images: the parser, StyleSettings'
# defaults and checks and the plug-in's arguments are all made from these.
OPTIONS: tuple[Option, ...] = (
    Option("output", "Output", "result: .png, .jpg, .tif or .npy", str, None,
           short_flag="-o", required=True, metavar="PATH", role="local"),  # fmt: skip
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
        section="look", role="run",
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
        section="more", role="run",
    ),
    Option(
        "detail_iterations", "Detail iterations",
        "iterations of the detail pass (0: as many as the time allows, 3-20)",
        int, 0, 0, 5000, role="run",
    ),
    Option(
        "device", "_Device", "where the engine runs (gpu: CUDA or Apple's MPS)",
        str, "auto",
        choices=(("auto", "Automatic"), ("gpu", "GPU"), ("cpu", "CPU")),
        unlisted_choices=("cuda", "mps"), section="more", role="run",
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
    STRENGTH,
    Option(
        "optimizer", "Optimizer", "how the picture is optimized",
        str, "lbfgs", choices=(("lbfgs", "L-BFGS"), ("adam", "Adam")),
    ),
    _weight("content_weight", "Content weight", DEFAULT_CONTENT_WEIGHT,
            "how firmly the photo's content (its deep features) is kept"),
    _weight("style_weight", "Style weight", DEFAULT_STYLE_WEIGHT,
            f"how strongly the painting's style is asked for (default {DEFAULT_STYLE_WEIGHT:g})"),
    _weight("tv_weight", "Smoothing weight", DEFAULT_TV_WEIGHT,
            "total variation: how smooth flat areas stay"),
    _weight("layout_weight", "Layout weight", DEFAULT_LAYOUT_WEIGHT,
            "how firmly the photo's layout (its edges at a quarter of the size) is kept"),
    Option("content_layers", "Content layers", "VGG-16 layers by name, comma-separated",
           list, DEFAULT_CONTENT_LAYERS),  # fmt: skip
    Option(
        "style_layers", "Style layers",
        "comma-separated, optionally with weights: relu1_1:0.5,relu2_1:1",
        dict, DEFAULT_STYLE_LAYERS, 0.0, MAX_WEIGHT,
    ),
    Option(
        "sliced_layers", "Sliced-Wasserstein layers",
        "style layers compared as whole distributions (sliced Wasserstein) rather than by "
        "Gram matrices; empty for none",
        list, DEFAULT_SLICED_LAYERS,
    ),
    Option(
        "init", "Starting image",
        "where the optimization starts: the photo painted by a fast network, the photo, or "
        "noise",
        str, "painted",
        choices=(("painted", "Painted start"), ("content", "The photo"), ("noise", "Noise")),
    ),
    Option("painted_share", "Painted share",
           "0..1: how much of the painted start is the painted picture; the rest is the photo",
           float, DEFAULT_PAINTED_SHARE, 0.0, 1.0),  # fmt: skip
    Option("photo_light", "Photo light",
           "0..1: how much of the photo's coarse light and shade the painted start keeps",
           float, DEFAULT_PHOTO_LIGHT, 0.0, 1.0),  # fmt: skip
    Option("stroke_size", "Painted stroke size",
           "the painted start's strokes, in multiples of the size the network paints them at",
           float, DEFAULT_STROKE_SIZE, 1 / MAX_STROKE_SIZE, MAX_STROKE_SIZE),  # fmt: skip
    Option("scales", "Scales", "coarse-to-fine scales", int, DEFAULT_SCALES, 1, None),
    Option(
        "rescale", "Rescaling between scales",
        "how a finer scale starts: the coarser result enlarged, or with the content's detail "
        "added back",
        str, "upsample",
        choices=(("upsample", "Enlarged"), ("content_detail", "With the photo's detail")),
    ),
    _weight("coarse_content_weight", "Content weight at coarse scales", 1.0,
            "multiplies the content weight at every scale but the finest"),
    Option(
        "palette", "Palette",
        "0..1: how far the photo's colours move to the painting's before the strokes are "
        "painted (0: the photo's own)",
        float, DEFAULT_PALETTE, 0.0, 1.0,
    ),
    Option(
        "style_blend", "Style blend", "one weight per style image", tuple, None, 0.0,
        MAX_WEIGHT, metavar="W,W,...",
    ),
    Option(
        "precision", "Precision", "the numbers' precision (auto: bf16 where a GPU does it "
        "natively, else fp32)",
        str, "auto", choices=(("auto", "Automatic"), ("fp32", "fp32"), ("bf16", "bf16")),
        role="run",
    ),
    Option("weights", "Weights", "auto, imagenet, hed, or a .pth file", str, "auto",
           role="run"),
    Option(
        "progress", "Progress", "how progress is shown (json: one event per line, for programs)",
        str, "bar", choices=(("bar", "A bar"), ("json", "JSON lines"), ("none", "None")),
        role="local",
    ),
    Option(
        "report_every", "Report every",
        "iterations between progress events (0: 1 on CPU, 10 on GPU)", int, 0, 0, None,
    ),
    Option("preview", "Preview", "where previews go (at the result's size)", str, None,
           metavar="PATH", role="local"),  # fmt: skip
    Option("preview_every", "Preview every", "write the image so far every N iterations",
           int, 0, 0, None, role="report"),  # fmt: skip
    Option(
        "preview_seconds", "Preview seconds",
        "write the image so far when this many seconds have passed since the last preview "
        "(the first as soon as there is one): for a program that shows it",
        float, 0.0, 0.0, None, role="report",
    ),
    STYLE_REGION,
    PAINTING_REGION,
    STRENGTH_MAP,
    Option(
        "remote", "Run o_n",
        "run on another machine over ssh (user@host, or a host of ~/.ssh/config) whose engine "
        "python3 install.py --remote HOST set up; empty: this computer",
        str, "", metavar="HOST", section="more", role="local",
    ),
    Option(
        "remote_python", "Remote Python",
        "the engine's Python on the --remote machine (from its home folder)",
        str, DEFAULT_REMOTE_PYTHON, metavar="PATH", role="local",
    ),
    Option(
        "cancel_on_stdin_eof", "Cancel on stdin's end",
        "cancel when stdin (a pipe) is closed: for a parent that holds the pipe open while "
        "it wants the run, as the GIMP plug-in does",
        bool, False, role="local",
    ),
)  # fmt: skip

OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
PROGRESS_MODES = OPTIONS_BY_NAME["progress"].accepted
PRECISION_CHOICES = OPTIONS_BY_NAME["precision"].accepted
DEVICE_CHOICES = OPTIONS_BY_NAME["device"].accepted


def dialog_options(section: str) -> list[Option]:
    return [option for option in OPTIONS if option.section == section]
