"""The engine's tuned defaults, each with the reason it was chosen (QUALITY.md has the
measurements), and the Strength's curves, which move them together."""

from __future__ import annotations

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


def settings_at_strength(strength: float) -> dict[str, float]:
    """Every setting the Strength sets, by its option's name, at a strength of 0..100."""
    return {
        "style_weight": style_weight_for(strength),
        "palette": palette_for(strength),
        "painted_share": painted_share_for(strength),
        "photo_light": photo_light_for(strength),
        "stroke_size": stroke_size_for(strength),
    }


# The options the Strength sets: give it or them, not both.
SET_BY_STRENGTH = tuple(settings_at_strength(DEFAULT_STRENGTH))
