"""The contract between plug-in and engine (styleengine.contract): Strength, options, texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from styleengine import contract
from styleengine.contract import palette_for, style_weight_for
from styleengine.settings import DEFAULT_PALETTE, DEFAULT_STYLE_WEIGHT, StyleSettings


def test_strength_50_is_the_engines_defaults_and_each_20_points_a_factor_of_ten():
    assert style_weight_for(50) == pytest.approx(DEFAULT_STYLE_WEIGHT)
    decades = 50 / contract.STRENGTH_DECADE
    assert style_weight_for(100) == pytest.approx(DEFAULT_STYLE_WEIGHT * 10**decades)
    assert style_weight_for(0) == pytest.approx(DEFAULT_STYLE_WEIGHT / 10**decades)
    # the dialog's defaults are the engine's
    assert contract.OPTIONS_BY_NAME["iterations"].default == StyleSettings().iterations
    assert palette_for(50) == pytest.approx(DEFAULT_PALETTE)
    assert palette_for(100) == pytest.approx(1.0)
    assert palette_for(0) == 0 < palette_for(25) < DEFAULT_PALETTE
    assert DEFAULT_PALETTE < palette_for(75) < 1.0
    assert style_weight_for(75) > style_weight_for(25)
    assert style_weight_for(500) == style_weight_for(100)


def test_every_dialog_option_is_a_setting_or_a_run_option_of_the_command_line():
    from styleengine.cli import build_parser

    defaults = build_parser().parse_args(["stylize", "c.png", "s.png", "-o", "o.png"])
    for option in contract.OPTIONS:
        assert getattr(defaults, option.name) == option.default, option.name
        if option.section is not None:
            assert option.section in ("look", "more") and option.label and option.help


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
    ],
)  # fmt: skip
def test_progress_place_reads_as_the_user_sees_the_run(event, text):
    assert contract.progress_place(event) == text


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
