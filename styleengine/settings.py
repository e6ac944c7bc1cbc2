"""What a stylization is asked to do, besides the images: ``StyleSettings`` and its checks.

The checks serve the command line, the Python API and the GIMP plug-in alike, so their
messages name a setting the way each caller knows it: its words, its field, its option.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .contract import (
    DEFAULT_ITERATIONS,
    DEFAULT_PAINTED_SHARE,
    DEFAULT_PALETTE,
    DEFAULT_PHOTO_LIGHT,
    DEFAULT_STROKE_SIZE,
    DEFAULT_STYLE_WEIGHT,
    MAX_STROKE_SIZE,
    OPTIONS,
    STRENGTH,
    Option,
    painted_share_for,
    palette_for,
    photo_light_for,
    stroke_size_for,
    style_weight_for,
)
from .errors import BadInputError
from .network import check_layer_names

# Layers of Gatys et al., and relu1_2. In the 115 iterations a run makes, L-BFGS does not
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
# losses are normalized, losses.py) then sets how much of the painting it carries; total
# variation in the same ratio to style as before keeps flat areas free of crumpled shading.
DEFAULT_CONTENT_WEIGHT = 1.0
DEFAULT_TV_WEIGHT = 16.0
# The layout term (losses.LayoutLoss) holds the photo's edges at a quarter of the picture's
# size, where the layout is read and the strokes are not. At 0.03 it keeps more of the
# towers, bridges and windows at almost no cost to the painting: on the screening set its
# structure +0.028 for judged style -0.001, where every other way to keep more of the layout
# (a second content layer, larger strokes) cost about a point of judged style per point of
# structure; on all 24 pairs at 384 px, structure +0.027 for judged style -0.001 (QUALITY.md,
# 2026-11-30, fourth session).
DEFAULT_LAYOUT_WEIGHT = 0.03
# The style layers compared as whole distributions (sliced.py) rather than by Gram matrices.
# Every Gram-matrix setting screened ended at the same judged style, whatever it gave up of
# the layout: the deep layers' Gram matrices are satisfied by a picture that co-occurs like
# the painting without its strokes. Their distributions ask for the strokes and were the one
# change that moved the frontier (QUALITY.md, 2026-11-30, fifth session). At the first
# layers, at the picture's full size, sorting would cost more than the rest of an iteration.
DEFAULT_SLICED_LAYERS = ("relu3_1", "relu4_1", "relu5_1")
DEFAULT_SCALES = 1


# The largest weight of any term. The losses are relative errors (losses.py), of order 1 to
# 1e3 at the start of a run, and everything is summed in float32 (largest 3.4e38): 1e39
# gave infinity, then NaN, then a black picture. Far above this, one term already drowns the
# others completely, so a larger weight could change nothing a user wants.
MAX_WEIGHT = 1e6

OPTIMIZERS = ("lbfgs", "adam")
# Where the optimization starts: a fast painting of the photo (painted_start.py), the photo
# itself, or noise.
INIT_CHOICES = ("painted", "content", "noise")
# How a finer scale starts from the coarser scale's result: plainly enlarged, or enlarged with
# the content's detail of that scale (what the coarser scale could not hold) added back.
RESCALE_CHOICES = ("upsample", "content_detail")


@dataclass
class StyleSettings:
    """Everything the optimization takes besides the images. Defaults give a good result."""

    iterations: int = DEFAULT_ITERATIONS
    optimizer: str = "lbfgs"
    content_weight: float = DEFAULT_CONTENT_WEIGHT
    style_weight: float = DEFAULT_STYLE_WEIGHT
    tv_weight: float = DEFAULT_TV_WEIGHT
    # Holds the photo's edges at a quarter of the picture's size (losses.LayoutLoss).
    layout_weight: float = DEFAULT_LAYOUT_WEIGHT
    content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS
    style_layers: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_STYLE_LAYERS))
    # Of the style layers, those whose style is their whole distribution (sliced.py).
    sliced_layers: tuple[str, ...] = DEFAULT_SLICED_LAYERS
    init: str = "painted"
    # How much of the painted start is the painted picture; the rest is the photo.
    painted_share: float = DEFAULT_PAINTED_SHARE
    # How much of the photo's coarse light and shade the painted start keeps.
    photo_light: float = DEFAULT_PHOTO_LIGHT
    # How many times larger than the network paints them the painted start's strokes are.
    stroke_size: float = DEFAULT_STROKE_SIZE
    # Standard deviation of the seeded noise added to the content start: 0 gives the same
    # picture for every seed; above 0, each seed gives its own variant.
    variation: float = 0.0
    seed: int = 0
    scales: int = DEFAULT_SCALES
    style_scale: float = 1.0
    style_blend: tuple[float, ...] | None = None
    rescale: str = "upsample"
    # How far the photo's colours are moved to the painting's before the optimization (their
    # colour mean and covariance, pooled over the style images): 0 keeps the photo's, 1 is the
    # painting's palette.
    palette: float = DEFAULT_PALETTE
    # Multiplies the content weight at every scale but the finest: the coarse scales decide
    # the layout, the finest the strokes.
    coarse_content_weight: float = 1.0
    report_every: int = 1

    @classmethod
    def at_strength(cls, strength: float, **others: Any) -> StyleSettings:
        """The settings at the dialog's Strength (0..100): its style weight, palette and painted
        start's share, the
        rest as given; outside its range, BadInputError in the Option's words."""
        strength = check_option(STRENGTH, strength)
        return cls(
            style_weight=style_weight_for(strength),
            palette=palette_for(strength),
            painted_share=painted_share_for(strength),
            photo_light=photo_light_for(strength),
            stroke_size=stroke_size_for(strength),
            **others,
        )

    def blend_weights(self, style_count: int) -> list[float]:
        """One weight per style image, summing to 1 (equal when no blend is given)."""
        blend = list(self.style_blend or [1.0] * style_count)
        return [w / sum(blend) for w in blend]

    def for_scale(self, scale_index: int, scale_count: int) -> StyleSettings:
        """The settings one scale of the coarse-to-fine schedule runs with."""
        if scale_index == scale_count - 1 or self.coarse_content_weight == 1.0:
            return self
        return replace(self, content_weight=self.content_weight * self.coarse_content_weight)

    def validate(self, style_count: int) -> None:
        """Raise BadInputError for settings that cannot work, saying what to change."""
        # The dialog's settings: the contract's one rule and words, as on every other side.
        for option in OPTIONS:
            if option.name in _FIELD_NAMES and not option.choices:
                check_option(option, getattr(self, option.name))
        _check(self.optimizer in OPTIMIZERS, "optimizer", _one_of(OPTIMIZERS))
        _check(self.init in INIT_CHOICES, "init", _one_of(INIT_CHOICES))
        _check(_finite(self.photo_light) and 0 <= self.photo_light <= 1, "photo_light",
               "must be from 0 to 1")  # fmt: skip
        _check(_finite(self.painted_share) and 0 <= self.painted_share <= 1, "painted_share",
               "must be from 0 to 1")  # fmt: skip
        finest, largest = 1 / MAX_STROKE_SIZE, MAX_STROKE_SIZE
        _check(_finite(self.stroke_size) and finest <= self.stroke_size <= largest,
               "stroke_size", f"must be from {finest:g} to {largest:g}")  # fmt: skip
        _check(self.rescale in RESCALE_CHOICES, "rescale", _one_of(RESCALE_CHOICES))
        _check(_finite(self.palette) and 0 <= self.palette <= 1, "palette",
               "must be between 0 and 1")  # fmt: skip
        _check(whole_number(self.scales) and self.scales >= 1, "scales",
               "must be a whole number, at least 1")  # fmt: skip
        weights = ("content_weight", "style_weight", "tv_weight", "layout_weight")
        for name in (*weights, "coarse_content_weight"):
            value = getattr(self, name)
            _check(_weight(value), name, f"must be a number from 0 to {MAX_WEIGHT:g}")
        # The collections' types first: a Python caller's 1.5 would fail below in other words.
        for name in ("content_layers", "sliced_layers"):
            _check(_names(getattr(self, name)), name, "must be a list of layer names")
        _check(isinstance(self.style_layers, dict) and _names(list(self.style_layers)),
               "style_layers", "must map layer names to weights")  # fmt: skip
        _check(self.style_blend is None or _names(self.style_blend, of=numbers.Real),
               "style_blend", "must be a list of numbers, one per style image")  # fmt: skip
        _check(bool(self.content_layers), "content_layers", "needs at least one layer")
        _check(bool(self.style_layers), "style_layers", "needs at least one layer")
        try:
            check_layer_names([*self.content_layers, *self.style_layers])
        except ValueError as error:
            raise BadInputError(str(error)) from error
        for layer, weight in self.style_layers.items():
            requirement = f"weights must be numbers from 0 to {MAX_WEIGHT:g} ({layer} has {weight})"
            _check(_weight(weight), "style_layers", requirement)
        _check(sum(self.style_layers.values()) > 0, "style_layers", "weights must not all be 0")
        strays = [name for name in self.sliced_layers if name not in self.style_layers]
        _check(not strays, "sliced_layers",
               f"must be among the style layers ({', '.join(strays)} is not)")  # fmt: skip
        if self.style_blend is not None:
            blend = self.style_blend
            _check(len(blend) == style_count, "style_blend",
                   f"has {len(blend)} weights for {style_count} style images; give one "
                   "weight per style image")  # fmt: skip
            _check(all(_weight(w) for w in blend) and sum(blend) > 0, "style_blend",
                   f"weights must be numbers from 0 to {MAX_WEIGHT:g}, and not all 0")  # fmt: skip


# How each setting is known: in words (as in the GIMP dialog where it has a control) and by
# its command-line option; the Python field name is the key. The dialog's own are the
# contract's.
SETTING_NAMES = {
    "optimizer": ("Optimizer", "--optimizer"),
    "init": ("Starting image", "--init"),
    "rescale": ("Rescaling between scales", "--rescale"),
    "scales": ("Scales", "--scales"),
    "palette": ("Palette", "--palette"),
    "content_weight": ("Content weight", "--content-weight"),
    "coarse_content_weight": ("Content weight at coarse scales", "--coarse-content-weight"),
    "style_weight": ("Style weight (Strength)", "--style-weight"),
    "tv_weight": ("Smoothing weight", "--tv-weight"),
    "layout_weight": ("Layout weight", "--layout-weight"),
    "content_layers": ("Content layers", "--content-layers"),
    "style_layers": ("Style layers", "--style-layers"),
    "sliced_layers": ("Sliced-Wasserstein layers", "--sliced-layers"),
    "style_blend": ("Style blend", "--style-blend"),
    **{option.name: (option.words, option.flag) for option in OPTIONS},
}


def parse_layer_list(text: str) -> tuple[str, ...]:
    """``relu4_2`` or ``relu3_2,relu4_2``."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_style_layers(text: str) -> dict[str, float]:
    """``relu1_1,relu2_1`` or with weights ``relu1_1:0.5,relu2_1:1``; ValueError if a weight
    is not a number."""
    layers: dict[str, float] = {}
    for part in parse_layer_list(text):
        name, _, weight = part.partition(":")
        try:
            layers[name] = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"bad layer weight in {part!r}") from None
    return layers


def describe_setting(field_name: str) -> str:
    """'Stroke size (style_scale, --style-scale)'."""
    words, option = SETTING_NAMES[field_name]
    return f"{words} ({field_name}, {option})"


_FIELD_NAMES = {f.name for f in fields(StyleSettings)}


def check_option(option: Option, value: object) -> Any:
    """A contract option's value from Python, by the option's one rule (Option.check):
    BadInputError in the words the command line and the plug-in use. Only numbers count as
    numbers here; the command line's text is its own parser's to read."""
    if not option.choices and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise BadInputError(f"{option.words} must be a number, not {value!r}.")
    try:
        return option.check(value)
    except ValueError as error:
        raise BadInputError(f"{error}.") from None


def _check(condition: bool, field_name: str, requirement: str) -> None:
    if not condition:
        raise BadInputError(f"{describe_setting(field_name)} {requirement}.")


def _names(values: object, of: type = str) -> bool:
    """A list or tuple (not a string) whose items are all ``of``."""
    return isinstance(values, (list, tuple)) and all(isinstance(v, of) for v in values)


def whole_number(value: object) -> bool:
    """An int, or numpy's, and not a bool: what counts and sizes must be (a Python caller may
    pass "5" or 1.5, which would otherwise fail deep inside with another error)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _weight(value: float) -> bool:
    return _finite(value) and 0 <= value <= MAX_WEIGHT


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except TypeError:
        return False


def _one_of(choices: tuple[str, ...]) -> str:
    return f"must be one of {', '.join(choices)}"
