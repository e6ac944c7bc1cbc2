"""What a stylization is asked to do, besides the images: ``StyleSettings`` and its checks.

The checks serve the command line, the Python API and the GIMP plug-in alike, so their
messages name a setting the way each caller knows it: its words, its field, its option.
"""

from __future__ import annotations

import contextlib
import numbers
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .contract import (
    OPTIONS,
    OPTIONS_BY_NAME,
    SET_BY_STRENGTH,
    STRENGTH,
    settings_at_strength,
)
from .errors import BadInputError, check_option
from .model.network import check_layer_names


def _default(name: str) -> Any:
    """A field's default, the contract's (a fresh copy of a mutable one)."""
    default = OPTIONS_BY_NAME[name].default
    return field(default_factory=lambda: dict(default)) if isinstance(default, dict) else default


def _with_every_setting(cls: type) -> type:
    """``cls`` with a field, at its option's default, for each setting option its body does
    not write: a weight that only its loss term reads (loss/terms.py, ``weight_setting``)
    can then be its option alone, and StyleSettings, the API's keywords and the command line
    take it with no line here. The fields written out are those type checkers are to see:
    the engine's own reading and the API's documented keywords."""
    annotations = cls.__dict__.get("__annotations__", {})
    for option in OPTIONS:
        if option.role == "setting" and option.name not in annotations:
            annotations[option.name] = option.kind.__name__
            setattr(cls, option.name, _default(option.name))
    cls.__annotations__ = annotations
    return dataclass(cls)


@_with_every_setting
class StyleSettings:
    """Everything the optimization takes besides the images. Defaults give a good result; each
    field is the contract's option of that name (contract.OPTIONS), with its default, range
    and meaning."""

    iterations: int = _default("iterations")
    optimizer: str = _default("optimizer")
    content_weight: float = _default("content_weight")
    style_weight: float = _default("style_weight")
    tv_weight: float = _default("tv_weight")
    layout_weight: float = _default("layout_weight")
    content_layers: tuple[str, ...] = _default("content_layers")
    style_layers: dict[str, float] = _default("style_layers")
    sliced_layers: tuple[str, ...] = _default("sliced_layers")
    init: str = _default("init")
    painted_share: float = _default("painted_share")
    photo_light: float = _default("photo_light")
    stroke_size: float = _default("stroke_size")
    # 0 gives the same picture for every seed; above 0, each seed gives its own variant.
    variation: float = _default("variation")
    seed: int = _default("seed")
    scales: int = _default("scales")
    style_scale: float = _default("style_scale")
    style_blend: tuple[float, ...] | None = _default("style_blend")
    rescale: str = _default("rescale")
    palette: float = _default("palette")
    coarse_content_weight: float = _default("coarse_content_weight")
    # Iterations between progress reports (0: the device's, run/progress.py).
    report_every: int = _default("report_every")

    def __post_init__(self) -> None:
        for option in OPTIONS:
            if option.role != "setting":
                continue
            value = getattr(self, option.name)
            if value is None:
                # None means the default, as leaving the option out does on the command line.
                default = option.default
                setattr(self, option.name, dict(default) if isinstance(default, dict) else default)
                continue
            # A value as its option's rule reads it: a whole float as the count it is (5.0
            # iterations: 5), an array or a tuple of numbers as a tuple. A value the rule
            # refuses stays as given, for validate() to refuse in its words.
            with contextlib.suppress(ValueError):
                setattr(self, option.name, option.check(value))

    @classmethod
    def at_strength(cls, strength: float, **others: Any) -> StyleSettings:
        """The settings at the dialog's Strength (0..100): those it sets (contract's
        ``settings_at_strength``), the rest as given; BadInputError for a Strength out of its
        range, or for a setting it sets given too."""
        strength = check_option(STRENGTH, strength)
        typed = [OPTIONS_BY_NAME[name].flag for name in SET_BY_STRENGTH
                 if others.get(name) is not None]  # fmt: skip
        if typed:
            raise BadInputError(
                f"{STRENGTH.flag} sets {', '.join(typed)} with the others it sets; give it or "
                "them, not both."
            )
        return cls(**settings_at_strength(strength), **others)

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
        # Each field by its option's one rule and words, as on every other side.
        for option in OPTIONS:
            if option.role == "setting":
                check_option(option, getattr(self, option.name))
        # What no one option can say: how the fields fit together and the network's layers.
        _check(bool(self.content_layers), "content_layers", "needs at least one layer")
        _check(bool(self.style_layers), "style_layers", "needs at least one layer")
        try:
            check_layer_names([*self.content_layers, *self.style_layers])
        except ValueError as error:
            raise BadInputError(str(error)) from error
        _check(sum(self.style_layers.values()) > 0, "style_layers", "weights must not all be 0")
        strays = [name for name in self.sliced_layers if name not in self.style_layers]
        _check(not strays, "sliced_layers",
               f"must be among the style layers ({', '.join(strays)} is not)")  # fmt: skip
        if self.style_blend is not None:
            blend = self.style_blend
            _check(len(blend) == style_count, "style_blend",
                   f"has {len(blend)} weights for {style_count} style images; give one "
                   "weight per style image")  # fmt: skip
            _check(sum(blend) > 0, "style_blend", "weights must not all be 0")


def describe_setting(field_name: str) -> str:
    """'Stroke size (style_scale, --style-scale)'."""
    option = OPTIONS_BY_NAME[field_name]
    return f"{option.words} ({field_name}, {option.flag})"


# Every field is a "setting" option (each such option is a field, by _with_every_setting):
# checked at import, so that a field written without its option fails at once, not in a run.
_FIELD_NAMES = {f.name for f in fields(StyleSettings)}
if {option.name for option in OPTIONS if option.role == "setting"} != _FIELD_NAMES:
    raise ImportError("StyleSettings' fields are not the contract's setting options.")


def _check(condition: bool, field_name: str, requirement: str) -> None:
    if not condition:
        raise BadInputError(f"{describe_setting(field_name)} {requirement}.")


def whole_number(value: object) -> bool:
    """An int, or numpy's, and not a bool: what counts and sizes must be (a Python caller may
    pass "5" or 1.5, which would otherwise fail deep inside with another error)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
