"""What the user is told in more than one place: advice on sizes, the time left."""

from __future__ import annotations

from .options import OUTPUT_SIZE, WORKING_SIZE


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
