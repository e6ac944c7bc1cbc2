"""The progress protocol: the events the engine writes and the plug-in reads (one JSON
object per line), the dialog's preview requests, and their codec."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from .defaults import DEFAULT_STRENGTH

PROTOCOL_VERSION = 1


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
