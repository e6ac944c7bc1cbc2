"""The contract between the GIMP plug-in and the engine: one definition of what both sides say.

The options a user sets (with their command-line flag, dialog label, type, range, default and
help), the Strength scale, the progress events' fields and texts, the error kinds and their
exit codes, the out-of-memory advice, and the per-user folders. Every ``stylize`` flag, the
plug-in's arguments and dialog and ``StyleSettings``' defaults and checks are made from
``OPTIONS``: a new option is one entry here plus its use in the engine.

Standard library only, and no imports from the engine: GIMP's Python loads this very file.
``install.py`` copies it beside the installed plug-in as ``styleengine_contract.py``; run from
the repository, the plug-in loads it from here (``engine_link``).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import platform
import sys
from dataclasses import asdict, dataclass, field, fields
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
# The engine's defaults, each with the reason it was chosen


# Chosen with the quality harness on the whole shared set (QUALITY.md; the layers below say why).
# From the painted start (optim/painted_start.py) 40 iterations paint more than 115 did from the
# photo, in 40% of the time (QUALITY.md, 2026-12-02).
DEFAULT_ITERATIONS = 40
DEFAULT_STYLE_WEIGHT = 40.0
# How far the photo's colours move to the painting's before the strokes are painted.
DEFAULT_PALETTE = 0.7
# How much of the painted start (optim/painted_start.py) is the painted picture; the rest is
# the photo.
DEFAULT_PAINTED_SHARE = 1.0
# How much of the photo's coarse light and shade the painted start keeps (QUALITY.md).
DEFAULT_PHOTO_LIGHT = 0.5
# The painted start's strokes, in multiples of the size the network paints them at: larger
# above the default Strength, up to STROKE_SIZE_AT_MAX at 100, where the painting takes over
# (QUALITY.md). MAX_STROKE_SIZE bounds what a caller may ask.
DEFAULT_STROKE_SIZE = 1.0
STROKE_SIZE_AT_MAX = 2.0
MAX_STROKE_SIZE = 4.0

# Layers of Gatys et al., and relu1_2. In the 40 iterations a run makes, L-BFGS does not
# converge: how far it moves from the photo, and in what, is decided by which layers'
# gradients lead. Led by the first layers (the painting's colours and its paint texture) the
# picture takes more of the painting, as an independent judge sees it, than led by the deep
# layers, which in that time only emboss the photo with creases. relu1_2 adds the texture of
# the paint at the scale of a few pixels (crisp stroke edges, not a soft sheen): more of the
# painting for the judge at little cost to the layout, which lives at coarser scales. The
# network computes relu1_2 on its way to relu2_1 anyway; its Gram matrix at the full size
# still makes an iteration 5% slower on a CPU, which six fewer iterations pay for
# (QUALITY.md, 2026-11-30). From the painted start the picture already carries the painting's
# strokes and its layout; in 40 iterations the first layers' fine texture is what it can still
# gain, and leading with them four times as strongly as from the photo raised both style
# judges at a small cost to structure (QUALITY.md, 2026-12-02, "The first layers lead").
DEFAULT_CONTENT_LAYERS = ("relu4_2",)
DEFAULT_STYLE_LAYERS = {
    "relu1_1": 8.0,
    "relu1_2": 8.0,
    "relu2_1": 8.0,
    "relu3_1": 1.0,
    "relu4_1": 0.5,
    "relu5_1": 0.5,
}
# Chosen with the quality harness (QUALITY.md) on every photo x painting of the shared set:
# coarse-to-fine erased the photo's layout at the coarse scale (the finer scales start from
# it and cannot bring it back), so the default works at one scale, with the iterations that
# cost what the old three scales cost (100 each at 1/16, 1/4 and 1 of the pixels); from a
# content start and unconverged, the picture keeps the layout, and the style weight (the
# losses are normalized, loss/terms.py) then sets how much of the painting it carries; total
# variation in the same ratio to style as before keeps flat areas free of crumpled shading.
DEFAULT_CONTENT_WEIGHT = 1.0
DEFAULT_TV_WEIGHT = 16.0
# The layout term (loss/terms.py, LayoutLoss) holds the photo's edges at a quarter of the picture's
# size, where the layout is read and the strokes are not. At 0.03 it keeps more of the
# towers, bridges and windows at almost no cost to the painting: on the screening set its
# structure +0.028 for judged style -0.001, where every other way to keep more of the layout
# (a second content layer, larger strokes) cost about a point of judged style per point of
# structure; on all 24 pairs at 384 px, structure +0.027 for judged style -0.001 (QUALITY.md,
# 2026-11-30, fourth session).
DEFAULT_LAYOUT_WEIGHT = 0.03
# The style layers compared as whole distributions (loss/sliced.py) rather than by Gram matrices.
# Every Gram-matrix setting screened ended at the same judged style, whatever it gave up of
# the layout: the deep layers' Gram matrices are satisfied by a picture that co-occurs like
# the painting without its strokes. Their distributions ask for the strokes and were the one
# change that moved the frontier (QUALITY.md, 2026-11-30, fifth session). At the first
# layers, at the picture's full size, sorting would cost more than the rest of an iteration.
DEFAULT_SLICED_LAYERS = ("relu3_1", "relu4_1", "relu5_1")
DEFAULT_SCALES = 1


# The largest weight of any term. The losses are relative errors (loss/terms.py), of order 1 to
# 1e3 at the start of a run, and everything is summed in float32 (largest 3.4e38): 1e39
# gave infinity, then NaN, then a black picture. Far above this, one term already drowns the
# others completely, so a larger weight could change nothing a user wants.
MAX_WEIGHT = 1e6

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
    # Set by the Strength together with the others so marked: give it or them, not both
    set_by_strength: bool = False
    metavar: str | None = None
    # What the value is to the engine (ROLES): each side takes what to do with it from here
    role: str = "setting"

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


# Where install.py puts the engine's Python on Linux, from the user's home (where ssh starts a
# remote command): found on another machine without a shell expanding anything.
DEFAULT_REMOTE_PYTHON = f".local/share/{APP_NAME}/venv/bin/python"
# An ssh_config file for the connections to a remote engine instead of the user's own (tests,
# unusual setups): read by the engine and by install.py --remote alike.
SSH_CONFIG_VARIABLE = "STYLEENGINE_SSH_CONFIG"


def ssh_command(host: str, remote_command: str, *options: str) -> list[str]:
    """ssh to ``host`` for ``remote_command`` (the engine's and install.py --remote's one
    way): keys only, so a prompt is an error with ssh's own words, never a hang; host keys
    checked as ssh always checks them; ``--`` ends ssh's options, so a host that starts with a
    dash is refused by ssh as a host, never read as an option."""
    command = ["ssh", "-o", "BatchMode=yes", *options]
    config = os.environ.get(SSH_CONFIG_VARIABLE)
    if config:
        command += ["-F", config]
    return [*command, "--", host, remote_command]


def typed(text: str) -> str:
    """``text`` as a user types it back into this system's shell in a command the advice
    gives (a host with a space or a quote in it, as ssh's config allows, stays one word)."""
    if sys.platform == "win32":
        import subprocess

        return subprocess.list2cmdline([text])
    import shlex

    return shlex.quote(text)


def ssh_refused(host: str, said: str) -> str:
    """What to do when ssh itself failed (its exit code 255): ``said`` is ssh's reason."""
    return (
        f"Could not connect to {host} over ssh ({said or 'no reason given'}). Check that "
        f"'ssh {typed(host)}' works in a terminal without a password prompt (a key, with the "
        "host's key already known)."
    )


# The machines install.py --remote set up, recorded in the plug-in's config (CONFIG_NAME) as
# {"remotes": [{"host": HOST, "python": PATH}, ...]}: what the dialog's Run on offers.
CONFIG_REMOTES = "remotes"


def recorded_remotes(config: dict[str, Any]) -> dict[str, str]:
    """Each recorded remote's host and the engine's Python there, in the order recorded.
    Entries of another shape are skipped: a hand-edited config loses a remote, never a run."""
    remotes = {}
    entries = config.get(CONFIG_REMOTES)
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        host, python = entry.get("host"), entry.get("python", DEFAULT_REMOTE_PYTHON)
        if isinstance(host, str) and host.strip() and isinstance(python, str) and python:
            remotes[host] = python
    return remotes


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
            f"how strongly the painting's style is asked for (default {DEFAULT_STYLE_WEIGHT:g})",
            set_by_strength=True),
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
           float, DEFAULT_PAINTED_SHARE, 0.0, 1.0, set_by_strength=True),  # fmt: skip
    Option("photo_light", "Photo light",
           "0..1: how much of the photo's coarse light and shade the painted start keeps",
           float, DEFAULT_PHOTO_LIGHT, 0.0, 1.0, set_by_strength=True),  # fmt: skip
    Option("stroke_size", "Painted stroke size",
           "the painted start's strokes, in multiples of the size the network paints them at",
           float, DEFAULT_STROKE_SIZE, 1 / MAX_STROKE_SIZE, MAX_STROKE_SIZE,
           set_by_strength=True),  # fmt: skip
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
        float, DEFAULT_PALETTE, 0.0, 1.0, set_by_strength=True,
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


# --------------------------------------------------------------------------------------------
# The gallery: public-domain paintings shipped with the engine (styleengine/image/paintings/)

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


# The gallery's list is data, beside its images (styleengine/image/paintings/gallery.json):
# a painting is added there, with its image; the credits (CREDITS.md) and the README's table
# are made from it (tests/test_gallery.py holds them to it). install.py places a copy beside
# the plug-in, which reads it there.
GALLERY_FILES = (
    Path(__file__).with_name("styleengine_gallery.json"),
    Path(__file__).parent / "image" / "paintings" / "gallery.json",
)


def _read_gallery() -> tuple[Painting, ...]:
    for path in GALLERY_FILES:
        if path.is_file():
            records = json.loads(path.read_text(encoding="utf-8"))
            return tuple(Painting(**record) for record in records)
    raise ImportError(
        "The gallery's list (gallery.json) is missing: run the installer (install.py) from the "
        "Neural Style folder again."
    )


GALLERY = _read_gallery()
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
# The progress protocol's events (styleengine.run.protocol describes the protocol)
#
# One class per event, written by the engine (``line``) and read by the plug-in
# (``read_event``): the only place where an event's fields are named.


class ProtocolError(ValueError):
    """A line that claims to be an event but is not one this side knows how to read."""


@dataclass(frozen=True)
class DetailPass:
    """The detail pass a run plans: its iterations, each made of ``tiles`` tiles."""

    iterations: int
    tiles: int


@dataclass(frozen=True)
class StartEvent:
    """The plan, before any work (styleengine.plan.planning). Sizes are [width, height]."""

    device: str
    precision: str
    weights: str
    content_size: list[int]
    output_size: list[int]
    working_size: list[int]
    working_size_automatic: bool
    scales: list[list[int]]
    total_iterations: int
    detail: DetailPass | None  # on the wire {"iterations": N, "tiles": N}, or null
    estimated_seconds: float
    estimated_peak_bytes: int
    protocol: int = PROTOCOL_VERSION
    name: ClassVar[str] = "start"

    def __post_init__(self) -> None:
        if isinstance(self.detail, dict):  # as read from a line
            try:
                object.__setattr__(self, "detail", DetailPass(**self.detail))
            except TypeError:
                raise ProtocolError(f"a detail pass of another form: {self.detail}") from None


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

    def rounded(self) -> ProgressEvent:
        """This record as the wire carries it: the losses to 6 places, None where one is not
        finite (JSON has no NaN), the times to 1 ms and 0.1 s; the fields of a subclass (the
        engine's picture so far) left out."""
        values = {f.name: getattr(self, f.name) for f in fields(ProgressEvent)}
        values["losses"] = {
            k: round(v, 6) if v is not None and math.isfinite(v) else None
            for k, v in self.losses.items()
        }
        values["elapsed"] = round(self.elapsed, 3)
        values["seconds_left"] = round(self.seconds_left, 1)
        return ProgressEvent(**values)

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
    """The last event of a failure; ``kind`` is an ErrorKind's value, ``message`` the user's.
    From the preview service, the failure of one request (``request``), which it outlives."""

    kind: str
    message: str
    request: int | None = None
    name: ClassVar[str] = "error"


# The dialog's preview: ``python -m styleengine preview-service`` starts once when the dialog
# opens, says ``ready`` when its network is loaded, and answers each PreviewRequest (a line on
# its stdin) with frames: the painted start first, then the picture refined. A newer request
# replaces the one in work; the end of stdin ends the service.
PREVIEW_SIDE = 320  # the preview's longest side, in pixels: it fits beside the dialog's sections
PREVIEW_REFINE_ITERATIONS = 6
# The options a preview request may carry, by name: those the dialog shows and a preview can
# show. A control it cannot show (Iterations, Working size, Detail pass) restarts nothing.
PREVIEW_OPTIONS = ("style_scale", "preserve_colors", "variation", "seed", "style_blend")


@dataclass(frozen=True)
class PreviewRequest:
    """What the dialog asks to see: the photo at the preview's size (``content``, a file), the
    paintings (files or gallery names), the Strength, the options the preview shows by name
    (contract OPTIONS: the look, the blend, the seed and variation), the regions' and the
    strength map's masks (files), and how many iterations refine the painted start."""

    request: int
    content: str
    styles: list[str]
    strength: float = DEFAULT_STRENGTH
    options: dict[str, Any] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)  # style number (from 1) -> mask
    strength_map: str | None = None
    refine: int = PREVIEW_REFINE_ITERATIONS
    name: ClassVar[str] = "preview_request"


@dataclass(frozen=True)
class ReadyEvent:
    """The preview service has loaded its network and waits for requests."""

    device: str
    precision: str
    protocol: int = PROTOCOL_VERSION
    name: ClassVar[str] = "ready"


@dataclass(frozen=True)
class FrameEvent:
    """A preview of request ``request`` was written whole to ``path``: the painted start
    (``iteration`` 0), or the picture after ``iteration`` iterations; ``final``: the request's
    last frame. ``elapsed``: seconds since the request arrived."""

    request: int
    path: str
    iteration: int
    final: bool
    elapsed: float
    name: ClassVar[str] = "frame"


Event = (
    StartEvent | ProgressEvent | PreviewEvent | DoneEvent | ErrorEvent | PreviewRequest
    | ReadyEvent | FrameEvent
)  # fmt: skip
EVENT_CLASSES: dict[str, type] = {
    cls.name: cls
    for cls in (StartEvent, ProgressEvent, PreviewEvent, DoneEvent, ErrorEvent, PreviewRequest,
                ReadyEvent, FrameEvent)
}  # fmt: skip


def event_line(event: Event) -> str:
    """One line of JSON, the event's name first; optional fields that are unset are left out.
    ``allow_nan=False``: a strict JSON reader rejects NaN, so a bug that lets one through must
    show as an error, not as a broken line."""
    record = {key: value for key, value in asdict(event).items() if value is not None
              or key not in _OPTIONAL_FIELDS}  # fmt: skip
    return json.dumps({"event": event.name, **record}, allow_nan=False) + "\n"


_OPTIONAL_FIELDS = {"tile", "tiles", "request"}


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
