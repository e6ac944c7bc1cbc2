"""A fuzzer for the Python API (styleengine.api.stylize): hypothesis draws what a Python
caller may pass by mistake (arrays of every dtype and shape, values out of range, settings
of the wrong types, sizes that are not numbers) and every call must either return a whole
result of the photo's kind and size or raise one of the engine's errors that says what is wrong:
never a TypeError, an AttributeError or torch's RuntimeError from deep inside."""

from __future__ import annotations

import numpy as np
from conftest import fuzz_examples, make_content, make_style
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from styleengine.api import stylize
from styleengine.errors import EngineError, ErrorKind
from styleengine.settings import StyleSettings

PHOTO = make_content(24, 32)
PAINTING = make_style(20, 20)

DTYPES = [np.uint8, np.uint16, np.float32, np.float64, np.float16, np.int8, np.int32,
          np.int64, np.bool_, np.complex64, object]  # fmt: skip
SHAPES = [(24, 32, 3), (24, 32), (24, 32, 1), (24, 32, 2), (24, 32, 4), (1, 1, 3), (3, 200, 3),
          (24, 32, 5), (24, 32, 0), (0, 32, 3), (24,), (), (2, 24, 32, 3)]  # fmt: skip
SPECIAL = [None, np.nan, np.inf, -np.inf, -1.0, 2.0, 1e30]


@st.composite
def pictures(draw, good: np.ndarray):
    """A picture as a caller might pass it: often the good one, else any dtype and shape,
    with some special values, or something that is not an array at all."""
    kind = draw(st.sampled_from(["good", "good", "good", "array", "not an array"]))
    if kind == "good":
        return good
    if kind == "not an array":
        return draw(st.sampled_from([None, "photo.png", [[0.5]], 0.5, b"\x89PNG"]))
    shape = draw(st.sampled_from(SHAPES))
    dtype = draw(st.sampled_from(DTYPES))
    values = np.resize(good, shape) if shape else np.float32(0.5)
    special = draw(st.sampled_from(SPECIAL))
    if special is not None and np.ndim(values) and values.size:
        values = np.array(values, dtype=np.float64)
        values.flat[draw(st.integers(0, values.size - 1))] = special
    with np.errstate(all="ignore"):
        if dtype is object:
            return np.array(values, dtype=object)
        scale = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else 1
        return np.nan_to_num(values * scale).astype(dtype) if scale != 1 else values.astype(dtype)


# No count that is merely large: a caller who asks for 2**70 iterations gets them.
# Among them what a Python user means well (issue 48, family 6): None for the default, a whole
# float or numpy's number for a count, an array, a tuple or a range for a list.
ODD_VALUES = st.sampled_from(["5", 1.5, None, -1, 0, True, float("nan"), [1], {}, 2.0,
                              np.int64(2), np.float32(1.0), np.array([1.0]), range(1, 2),
                              ("relu4_2",)])  # fmt: skip
SIZES = st.one_of(ODD_VALUES, st.just(10**9))  # a side no machine holds
FIELDS = ["iterations", "scales", "seed", "style_weight", "content_weight", "palette",
          "variation", "style_scale", "style_blend", "style_layers", "sliced_layers"]  # fmt: skip
KEYWORDS = ["output_size", "working_size", "preserve_colors", "detail", "precision"]


@st.composite
def calls(draw):
    fields = {"iterations": 2, "scales": 1}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=1)):
        fields[name] = draw(ODD_VALUES)
    chosen = draw(st.lists(st.sampled_from(KEYWORDS), max_size=1, unique=True))
    keywords = {name: draw(SIZES if name.endswith("size") else ODD_VALUES) for name in chosen}
    as_settings = draw(st.sampled_from(["settings"] * 5 + ["a dict"]))
    return draw(pictures(PHOTO)), draw(pictures(PAINTING)), fields, as_settings, keywords


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(call=calls())
def test_every_call_returns_a_whole_result_or_says_what_is_wrong(hed_weights, call):
    photo, painting, fields, as_settings, keywords = call
    chosen = StyleSettings(**fields) if as_settings == "settings" else fields
    try:
        result = stylize(photo, painting, chosen, device="cpu", weights="hed", **keywords)
    except EngineError as error:  # bad input, or a size that does not fit: said in one line
        event(f"refused: {error.kind.value}")
        assert error.kind != ErrorKind.INTERNAL and str(error) and "\n" not in str(error)
        return
    event("succeeded")
    assert isinstance(result, np.ndarray), type(result)
    same_kind = np.issubdtype(photo.dtype, np.floating) and np.issubdtype(result.dtype, np.floating)
    assert same_kind or result.dtype == photo.dtype, (photo.dtype, result.dtype)
    expected = keywords.get("output_size") or max(photo.shape[:2])
    assert max(result.shape[:2]) == expected and result.ndim == photo.ndim
    assert np.isfinite(result.astype(np.float64)).all()


@st.composite
def sizes(draw):
    """A photo of any size from 1 px, thin to extreme (1 x 300), with an output and a
    working size each anywhere in their range up to a few hundred pixels, and the detail
    pass on, off or automatic (issue 48, family 4)."""
    long_side = draw(st.integers(1, 300))
    short_side = draw(st.sampled_from([1, 2, 3, long_side // 7 + 1, long_side]))
    shape = (long_side, short_side) if draw(st.booleans()) else (short_side, long_side)
    output = draw(st.sampled_from([0, 1, 2, 5, 33, 160, 301]))
    working = draw(st.sampled_from([0, 1, 7, 48, 200]))
    return shape, output, working, draw(st.sampled_from(["auto", "on", "off"]))


@settings(
    max_examples=fuzz_examples(24), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(case=sizes())
def test_every_size_in_range_gives_a_picture_of_that_size_or_one_line(hed_weights, case):
    from styleengine.plan.planning import fit

    (height, width), output, working, detail = case
    photo = np.resize(PHOTO, (height, width, 3))
    options = {"detail_iterations": 1} if detail == "on" else {}
    try:
        result = stylize(photo, PAINTING, StyleSettings(iterations=1), device="cpu",
                         weights="hed", output_size=output, working_size=working, detail=detail,
                         **options)  # fmt: skip
    except EngineError as error:  # a size this machine cannot hold, said in one line
        event(f"refused: {error.kind.value}")
        assert error.kind == ErrorKind.OUT_OF_MEMORY and "\n" not in str(error), str(error)
        return
    event("succeeded")
    expected = fit((height, width), output) if output else (height, width)
    assert result.shape == (*expected, 3) and np.isfinite(result).all()
