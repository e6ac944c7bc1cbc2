"""The contract between plug-in and engine (styleengine.contract): Strength, options, texts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from styleengine import contract
from styleengine.contract import (
    DEFAULT_PALETTE,
    DEFAULT_STYLE_WEIGHT,
    palette_for,
    style_weight_for,
)
from styleengine.errors import BadInputError
from styleengine.settings import StyleSettings

sys.path.insert(0, str(REPO / "gimp_plugin" / "neural_style"))
import engine_link  # noqa: E402


def test_strength_50_is_the_engines_defaults_and_each_20_points_a_factor_of_ten():
    assert style_weight_for(50) == pytest.approx(DEFAULT_STYLE_WEIGHT)
    decades = 50 / contract.STRENGTH_DECADE
    assert style_weight_for(100) == pytest.approx(DEFAULT_STYLE_WEIGHT * 10**decades)
    assert style_weight_for(0) == pytest.approx(DEFAULT_STYLE_WEIGHT / 10**decades)
    assert palette_for(50) == pytest.approx(DEFAULT_PALETTE)
    assert palette_for(100) == pytest.approx(1.0)
    assert palette_for(0) == 0 < palette_for(25) < DEFAULT_PALETTE
    assert DEFAULT_PALETTE < palette_for(75) < 1.0
    assert style_weight_for(75) > style_weight_for(25)
    assert style_weight_for(500) == style_weight_for(100)
    # the painted start: the photo itself at 0, the default share at 50, all painted at 100
    settings = {s: StyleSettings.at_strength(s).painted_share for s in (0, 25, 50, 75, 100)}
    assert settings[0] == 0 < settings[25] <= settings[50] <= settings[75] <= settings[100] == 1
    assert settings[50] == pytest.approx(StyleSettings().painted_share)
    # above 50 the start keeps less of the photo's light and shade, none at 100
    light = {s: StyleSettings.at_strength(s).photo_light for s in (0, 50, 75, 100)}
    assert light[0] == light[50] == StyleSettings().photo_light > light[75] > light[100] == 0
    # and its strokes grow: the painting taking over
    strokes = {s: StyleSettings.at_strength(s).stroke_size for s in (0, 50, 75, 100)}
    assert strokes[0] == strokes[50] == StyleSettings().stroke_size < strokes[75] < strokes[100]


def _refusals(option):
    """(text on the command line, the same value from Python) pairs the option must refuse:
    beyond each end of its range, a fraction where it counts whole numbers, a word where it
    takes a number; a choice it does not offer; a weight out of range in a list."""
    if option.choices:
        return [("sometimes", "sometimes")]
    if option.per_style:
        return [("mask.png", "mask.png"), ("0=mask.png", "0=mask.png")]
    if option.kind is str:
        return [("", "")] if option.default != "" else []  # empty: none (this computer)
    if option.kind is dict:
        return [("relu1_1:-1", {"relu1_1": -1.0}), ("relu1_1:heavy", {"relu1_1": "heavy"})]
    if option.kind is tuple:
        return [("1,-2", (1.0, -2.0)), ("1,x", (1.0, "x"))]
    if option.kind in (bool, list):  # a switch, and names: any text is one
        return []
    wrong = [option.minimum - 1, "many", "inf"]
    wrong += [option.maximum + 1] if option.maximum is not None else []
    wrong += [option.minimum + 0.5] if option.kind is int else []
    return [(str(value), float(value) if value == "inf" else value) for value in wrong]


def _python_takes(option) -> bool:
    """Whether a Python caller gives this option (Option.role; the rest are the command
    line's own)."""
    return option.role in ("setting", "preset", "run")


def _from_python(option, value, setup):
    """``value`` given to the Python API where a Python caller gives this option
    (``_python_takes``)."""
    from styleengine.api import EngineSetup, stylize_image_data
    from styleengine.image.files import from_array

    if option.role == "setting":
        StyleSettings(**{option.name: value}).validate(style_count=1)
    elif option.role == "preset":
        StyleSettings.at_strength(value)
    elif option.name in ("weights", "device", "precision"):
        EngineSetup.create(**{option.name: value})
    else:
        pixels = from_array(np.full((8, 8, 3), 0.5, np.float32))
        stylize_image_data(pixels, [pixels], StyleSettings(), setup, **{option.name: value})


def _typed(option, text):
    command = ["stylize", "c.png", "s.png"] + ([] if option.name == "output" else ["-o", "o.png"])
    return command + ([option.flag] if option.kind is bool else [option.flag, text])


@pytest.mark.parametrize("option", contract.OPTIONS, ids=lambda option: option.name)
def test_every_option_is_refused_by_one_rule_in_the_same_words_everywhere(option, setup):
    """The command line, the plug-in (as a script passes the value) and the Python API
    refuse the same values, each with the option's one sentence; its default passes all."""
    from styleengine.cli import build_parser
    from styleengine.engines import Job
    from styleengine.errors import check_option

    for text, value in _refusals(option):
        with pytest.raises(ValueError) as rule:
            option.check(value)
        sentence = f"{rule.value}."
        with pytest.raises(BadInputError) as typed:
            build_parser().parse_args(_typed(option, text))
        assert typed.value.message == sentence
        if option.section is not None or option is contract.STRENGTH:
            request = (
                engine_link.StyleRequest(strength=value)
                if option is contract.STRENGTH
                else engine_link.StyleRequest(options={option.name: value})
            )
            with pytest.raises(engine_link.LinkError) as sent:
                engine_link.engine_arguments(request, Path("c"), [Path("s")], Path("o"), "hed")
            assert str(sent.value) == sentence
        if _python_takes(option):
            with pytest.raises(BadInputError) as called:
                _from_python(option, value, setup)
            assert called.value.message == sentence
    if option.default in (None, (), "") or option.kind is bool:  # nothing to type for these
        return
    parsed = build_parser().parse_args(_typed(option, option.command_line(option.default)[-1]))
    assert check_option(option, getattr(parsed, option.name)) == option.default
    Job.of_arguments(parsed).settings("cpu").validate(style_count=1)


def test_every_flag_of_stylize_is_a_contract_option():
    """The parser is made from the contract: nothing hand-declared beside it but the images."""
    from styleengine.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    actions = [a for a in commands.choices["stylize"]._actions if a.dest != "help"]
    assert [a.dest for a in actions if not a.option_strings] == ["content", "styles"]
    flagged = {a.dest: a.option_strings for a in actions if a.option_strings}
    assert flagged == {
        o.name: [*filter(None, [o.short_flag]), o.flag, *o.old_flags] for o in contract.OPTIONS
    }


def test_the_strength_and_what_it_sets_are_given_one_way():
    from styleengine.cli import build_parser
    from styleengine.engines import Job

    base = ["stylize", "c.png", "s.png", "-o", "o.png", "--strength", "80"]
    for option in [o for o in contract.OPTIONS if o.set_by_strength]:
        parsed = build_parser().parse_args([*base, *option.command_line(option.default)])
        with pytest.raises(BadInputError, match=f"--strength sets {option.flag}"):
            Job.of_arguments(parsed).settings("cpu")
    parsed = build_parser().parse_args(base)
    assert Job.of_arguments(parsed).settings("cpu").style_weight == style_weight_for(80)


def test_old_flags_still_work():
    from styleengine.cli import build_parser

    old = ["stylize", "c.png", "s.png", "-o", "o.png", "--size", "800", "--work-size", "300"]
    parsed = build_parser().parse_args(old)
    assert parsed.output_size == 800 and parsed.working_size == 300


def test_the_out_of_memory_advice_names_the_size_by_role_for_both_callers():
    working = contract.lower_working_size_advice(640)
    assert "Working size to 640 px" in working and "--working-size" in working
    assert "More options" in working
    output = contract.lower_output_size_advice(2000)
    assert "2000 px" in output and "--output-size" in output and "scale the layer" in output


@pytest.mark.parametrize(
    ("event", "text"),
    [
        ({"scale": 1, "scales": 2, "iteration": 40, "total": 130}, "scale 1/2, iteration 40/130"),
        ({"stage": "detail", "scale": 1, "scales": 1, "iteration": 2, "total": 5},
         "detail pass, iteration 2/5"),
        ({"tile": 3, "tiles": 48, "iteration": 1, "total": 5}, "detail pass, tile 3/48"),
        ({"iteration": 0, "total": 40}, "painted start"),
    ],
)  # fmt: skip
def test_progress_place_reads_as_the_user_sees_the_run(event, text):
    fields = {"stage": "scale", "width": 8, "height": 8, "losses": {}, "elapsed": 1.0,
              "seconds_left": 1.0, "scale": 1, "scales": 1, **event}  # fmt: skip
    assert contract.ProgressEvent(**fields).place() == text


@pytest.mark.parametrize(
    ("system", "environ", "cache"),
    [
        ("Linux", {"HOME": "/h"}, "/h/.cache/gimp-neural-style"),
        ("Linux", {"HOME": "/h", "XDG_CACHE_HOME": "/c"}, "/c/gimp-neural-style"),
        ("Darwin", {"HOME": "/h"}, "/h/Library/Caches/gimp-neural-style"),
        ("Windows", {"USERPROFILE": "/u", "LOCALAPPDATA": "/l"}, "/l/gimp-neural-style/cache"),
    ],
)
def test_one_per_user_cache_folder_for_engine_and_plugin(system, environ, cache):
    assert contract.user_cache_dir(environ, system) == Path(cache)
