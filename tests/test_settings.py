"""StyleSettings (styleengine.settings): what a run is asked to do, and the words of a refusal."""

from __future__ import annotations

import pytest

from styleengine import contract
from styleengine.contract import OPTIONS_BY_NAME
from styleengine.errors import BadInputError
from styleengine.settings import StyleSettings


@pytest.mark.parametrize(
    ("change", "named"),
    [
        # The dialog's settings, in the words the plug-in and the command line use too.
        ({"style_scale": 0.0}, "Stroke size must be from 0.1 to 4, not 0."),
        ({"iterations": 0}, "Iterations must be from 1 to 5000, not 0."),
        ({"seed": "7"}, "Seed must be a number, not '7'."),
        # The others, by their words and their flag (the Python field is the flag's name).
        ({"palette": 1.5}, "Palette (--palette) must be from 0 to 1, not 1.5."),
        ({"tv_weight": float("nan")}, "Smoothing weight (--tv-weight) must be a number, not nan."),
        ({"content_layers": "relu4_2"}, "Content layers (--content-layers) must be a list of"),
        ({"style_layers": {"relu1_1": -1}}, "(--style-layers): the weight of relu1_1 must be"),
        ({"style_blend": (1, "a")}, "Style blend (--style-blend) must be a number, not 'a'."),
        # What one option cannot say alone, with the field too.
        ({"style_layers": {"relu9_9": 1.0}}, "relu9_9"),
        ({"sliced_layers": ("relu2_2",)}, "Sliced-Wasserstein layers (sliced_layers, --slic"),
    ],
)
def test_a_setting_that_cannot_work_is_named_as_every_caller_knows_it(change, named):
    with pytest.raises(BadInputError) as refused:
        StyleSettings(**change).validate(style_count=1)
    assert named in refused.value.message


def test_the_defaults_are_valid_and_a_blend_is_shared_out():
    StyleSettings().validate(style_count=3)
    assert StyleSettings().blend_weights(2) == [0.5, 0.5]
    assert StyleSettings(style_blend=(3.0, 1.0)).blend_weights(2) == [0.75, 0.25]
    with pytest.raises(BadInputError, match="has 2 weights for 3 style images"):
        StyleSettings(style_blend=(3.0, 1.0)).validate(style_count=3)


def test_style_layers_are_read_with_or_without_their_weights():
    style_layers = OPTIONS_BY_NAME["style_layers"]
    assert style_layers.parse("relu1_1, relu2_1:0.5") == {"relu1_1": 1.0, "relu2_1": 0.5}
    with pytest.raises(ValueError, match="the weight of relu2_1 must be a number, not 'heavy'"):
        style_layers.parse("relu1_1,relu2_1:heavy")


def test_only_the_finest_scale_keeps_the_full_content_weight():
    settings = StyleSettings(scales=3, coarse_content_weight=4.0)
    assert settings.for_scale(0, 3).content_weight == 4.0 * settings.content_weight
    assert settings.for_scale(2, 3).content_weight == settings.content_weight


def test_a_setting_option_written_nowhere_else_is_a_field_at_its_default() -> None:
    # What a new loss term's weight relies on: its option alone makes the field.
    from styleengine.settings import _with_every_setting

    class Written:
        iterations: int = 3

    made = _with_every_setting(Written)()
    settings_options = [o for o in contract.OPTIONS if o.role == "setting"]
    assert made.iterations == 3
    for option in settings_options:
        if option.name != "iterations":
            assert getattr(made, option.name) == option.default, option.name


def test_every_pixel_term_written_is_summed_with_its_setting() -> None:
    from styleengine.loss import terms
    from styleengine.loss.objective import PIXEL_TERMS, TERM_WEIGHTS

    written = [
        value
        for value in vars(terms).values()
        if isinstance(value, type) and issubclass(value, terms.PixelTerm)
        and value is not terms.PixelTerm
    ]  # fmt: skip
    assert list(PIXEL_TERMS) == written
    for term in written:
        assert TERM_WEIGHTS[term.name] == term.weight_setting
        assert contract.OPTIONS_BY_NAME[term.weight_setting].role == "setting"
