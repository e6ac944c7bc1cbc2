"""Where a run happens: this computer (``LocalEngine``) or another over ssh (``RemoteEngine``).

The command line picks one (``engine_for``: ``--remote`` or not) and then uses it the same way
whichever it is, as a Python caller may::

    engine = RemoteEngine("gpubox")  # or LocalEngine()
    done = engine.stylize(Job("photo.jpg", ["gallery:van_gogh_starry_night"], "out.png"))

An engine is the machine and the network the run uses (weights, device, precision); a
``Job`` is the picture asked for, as files and options. The GIMP plug-in reaches an engine
through the command line, as a process, since its Python has no PyTorch.
"""

from __future__ import annotations

import dataclasses
import os
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO, Any

from .contract import (
    OPTIONS,
    OPTIONS_BY_NAME,
    PAINTING_REGION_FLAG,
    STYLE_REGION_FLAG,
    DoneEvent,
)
from .errors import BadInputError, check_option
from .run.protocol import Reporter

# The options that say which machine and network run a job: an engine's own, not a job's.
ENGINE_OPTIONS = ("weights", "device", "precision")
_NOT_THE_JOBS = (*ENGINE_OPTIONS, "remote", "remote_python", "output")


@dataclasses.dataclass
class Job:
    """One stylization as files: the photo, the paintings (paths or ``gallery:NAME``), where
    the result goes, and every other option of ``stylize`` by its contract name (left out or
    None: the option's default), as ``--iterations 60`` is ``{"iterations": 60}``."""

    content: str
    styles: list[str]
    output: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        # What a Python caller passes: paths as str or Path, one painting alone or several.
        self.content = _path(self.content, "content")
        self.output = _path(self.output, "output")
        styles = self.styles
        if isinstance(styles, (str, os.PathLike)):
            styles = [styles]
        if not isinstance(styles, (list, tuple)) or not styles:
            raise BadInputError("A Job's styles must be one or more paintings' paths or names.")
        self.styles = [_path(style, "styles") for style in styles]
        if not isinstance(self.options, dict) or not all(map(_is_text, self.options)):
            raise BadInputError("A Job's options must be a dict of options by name.")
        self.options = dict(self.options)

    @classmethod
    def of_arguments(cls, args: Any) -> Job:
        """The job a parsed ``stylize`` command line asks for."""
        options = {
            option.name: getattr(args, option.name, None)
            for option in OPTIONS
            if option.name not in _NOT_THE_JOBS
        }
        return cls(args.content, list(args.styles), args.output, options)

    def check(self) -> None:
        """Refuse, before anything starts, what cannot work: an unknown painting, a result
        or preview that cannot be written or would replace an input, a preview with no time
        to be written or a time with no preview."""
        from .image.files import check_output_path, resolved
        from .image.gallery import style_source

        unknown = [name for name in self.options if name not in OPTIONS_BY_NAME]
        if unknown or not set(self.options).isdisjoint(_NOT_THE_JOBS):
            strays = unknown or sorted(set(self.options) & set(_NOT_THE_JOBS))
            raise BadInputError(f"A job takes no option {strays[0]!r}.")
        # Each value by its option's one rule, as the command line reads it: "2" is no count.
        self.options = {name: _checked(name, value) for name, value in self.options.items()}
        sources = [style_source(style) for style in self.styles]
        masks = [path for _n, path in (*self.option("style_region"),
                                       *self.option("painting_region"))]  # fmt: skip
        strength_map = self.given("strength_map")
        inputs = [self.content, *sources, *masks, *([strength_map] if strength_map else [])]
        output = check_output_path(self.output, inputs)
        wants_preview = bool(self.option("preview_every") or self.option("preview_seconds"))
        if wants_preview and not self.given("preview"):
            raise BadInputError("--preview-every and --preview-seconds need --preview PATH.")
        if self.given("preview") and not wants_preview:
            raise BadInputError(
                "--preview needs --preview-every N or --preview-seconds S: when to write it."
            )
        if wants_preview:
            preview_path = check_output_path(self.option("preview"), inputs)
            if resolved(preview_path) == resolved(output):
                raise BadInputError("--preview must name another file than the result (-o).")

    def option(self, name: str) -> Any:
        """The option's value in this job: as given, else its default."""
        value = self.options.get(name)
        return OPTIONS_BY_NAME[name].default if value is None else value

    def given(self, name: str) -> Any:
        """The option's value if the job gives one (not its default): None otherwise."""
        return self.options.get(name)

    def settings(self, device_type: str) -> Any:
        """The job's StyleSettings: every field it gives an option for, the Strength's."""
        from .run.progress import default_report_every
        from .settings import StyleSettings

        report_every = self.option("report_every") or default_report_every(device_type)
        if self.option("preview_every"):
            report_every = min(report_every, self.option("preview_every"))
        given = {
            field.name: self.given(field.name)
            for field in dataclasses.fields(StyleSettings)
            if field.name != "report_every" and self.given(field.name) is not None
        }
        strength = self.given("strength")
        if strength is None:
            return StyleSettings(**given, report_every=report_every)
        return StyleSettings.at_strength(strength, **given, report_every=report_every)

    def region_masks(self) -> Any:
        """The region masks the job names, read as images (None: no regions)."""
        from .image.files import read_image
        from .loss.regions import RegionMasks

        style_regions = self.option("style_region")
        painting_regions = self.option("painting_region")
        strength_map = self.given("strength_map")
        if not (style_regions or painting_regions or strength_map):
            return None
        for flag, given in ((STYLE_REGION_FLAG, style_regions),
                            (PAINTING_REGION_FLAG, painting_regions)):  # fmt: skip
            numbers = [number for number, _path in given]
            if len(set(numbers)) != len(numbers):
                raise BadInputError(f"{flag} is given twice for one style; give each style one.")
        return RegionMasks(
            photo={number: read_image(path) for number, path in style_regions},
            painting={number: read_image(path) for number, path in painting_regions},
            strength=None if strength_map is None else read_image(strength_map),
        )


def _checked(name: str, value: Any) -> Any:
    option = OPTIONS_BY_NAME[name]
    if value is None:
        return None
    if not option.per_style:
        return check_option(option, value)
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise BadInputError(f"{option.named} must be a list of (number, path) pairs.")
    return [check_option(option, item) for item in value]


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _path(value: object, argument: str) -> str:
    """A file's path as a str, from a str or a Path; BadInputError naming ``argument``."""
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return path
    raise BadInputError(f"A Job's {argument} must be a file's path, not {value!r:.60}.")


@dataclasses.dataclass
class Engine(ABC):
    """A machine and network that paint: ``stylize`` runs a job to its result file, its
    start, progress and previews reported to ``reporter`` as they come; ``serve_previews``
    answers the dialog's preview requests (contract.PreviewRequest lines) until they end.
    EngineError (BadInputError, CancelledError...) for what stops either, in one line."""

    weights: str = OPTIONS_BY_NAME["weights"].default
    device: str = OPTIONS_BY_NAME["device"].default
    precision: str = OPTIONS_BY_NAME["precision"].default

    @abstractmethod
    def stylize(self, job: Job, reporter: Reporter | None = None) -> DoneEvent: ...

    @abstractmethod
    def serve_previews(self, folder: Path, requests: IO[str], events: IO[str]) -> int: ...

    def engine_arguments(self) -> list[str]:
        """This engine's options as the command line gives them."""
        return [
            part
            for name in ENGINE_OPTIONS
            for part in OPTIONS_BY_NAME[name].command_line(getattr(self, name))
        ]


@dataclasses.dataclass
class LocalEngine(Engine):
    """This computer's PyTorch."""

    def stylize(self, job: Job, reporter: Reporter | None = None) -> DoneEvent:
        from .api import EngineSetup, stylize_image_data
        from .image.files import read_image, write_image
        from .image.gallery import style_source
        from .model.device import describe_device
        from .plan.planning import Plan
        from .run.cancellation import check_cancelled
        from .run.previews import PreviewWriter
        from .run.progress import Progress

        check_cancelled()  # one that arrived while the imports above ran
        reporter = reporter or Reporter()
        started = time.perf_counter()
        job.check()
        content = read_image(job.content)
        styles = [read_image(style_source(style)) for style in job.styles]
        regions = job.region_masks()
        setup = EngineSetup.create(self.weights, self.device, self.precision)
        settings = job.settings(setup.device.type)
        # The last preview stays where it was asked for, like the result: a file the user named.
        preview = None
        if job.given("preview"):
            preview = PreviewWriter(
                Path(job.option("preview")), reporter, job.option("preview_every"),
                job.option("preview_seconds"), content.grayscale, content.bit_depth,
            )  # fmt: skip

        def on_plan(plan: Plan) -> None:
            if preview is not None:
                preview.output_size = plan.output_size
            precision = str(setup.dtype).replace("torch.", "")
            precision = precision.replace("bfloat16", "bf16").replace("float32", "fp32")
            reporter.start(
                plan.start_event(describe_device(setup.device), precision, setup.weights.name)
            )

        def on_progress(progress: Progress) -> None:
            check_cancelled()  # a cancel some library swallowed is honoured at the next step
            reporter.progress(progress.rounded())
            if preview is not None:
                preview.on_progress(progress)

        result = stylize_image_data(
            content,
            styles,
            settings,
            setup,
            job.option("output_size") or None,
            job.option("preserve_colors"),
            on_progress,
            working_size=job.option("working_size") or None,
            detail=job.option("detail"),
            detail_iterations=job.option("detail_iterations") or None,
            on_plan=on_plan,
            regions=regions,
        )
        check_cancelled()
        write_image(Path(job.output), result)
        return DoneEvent(job.output, round(time.perf_counter() - started, 3))

    def serve_previews(self, folder: Path, requests: IO[str], events: IO[str]) -> int:
        from .service.preview_service import run_preview_service

        return run_preview_service(
            self.weights, self.device, self.precision, folder, requests, events
        )


@dataclasses.dataclass
class RemoteEngine(Engine):
    """Another machine's engine over ssh (``host`` as ssh knows it, its engine's Python at
    ``remote_python``): the job's files are sent and the results brought back, so that it
    reports, and leaves files, as a local run does. A gallery painting travels by name."""

    host: str = ""
    remote_python: str = OPTIONS_BY_NAME["remote_python"].default

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise BadInputError("A RemoteEngine needs host: the machine, as ssh knows it.")

    def stylize(self, job: Job, reporter: Reporter | None = None) -> DoneEvent:
        from .run.remote import remote_arguments, run_remote

        reporter = reporter or Reporter()
        job.check()  # no PyTorch here: the files only pass through
        arguments, files = remote_arguments(job)

        def on_event(event: Any) -> None:
            getattr(reporter, event.name)(event)

        return run_remote(
            self.host, self.remote_python, [*arguments, *self.engine_arguments()], files, on_event
        )

    def serve_previews(self, folder: Path, requests: IO[str], events: IO[str]) -> int:
        from .service.remote_previews import run_remote_previews

        return run_remote_previews(
            self.host, self.remote_python, folder, self.engine_arguments(), requests, events
        )


def engine_for(args: Any) -> Engine:
    """The engine a parsed command line names: ``--remote HOST``'s, else this computer's."""
    chosen = {name: getattr(args, name) for name in ENGINE_OPTIONS}
    if getattr(args, "remote", ""):
        return RemoteEngine(**chosen, host=args.remote, remote_python=args.remote_python)
    return LocalEngine(**chosen)
