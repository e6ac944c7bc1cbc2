"""The command line: ``python -m styleengine stylize|doctor|demo|gallery``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .contract import (
    DEVICE_CHOICES,
    GALLERY_PREFIX,
    OPTIONS,
    OPTIONS_BY_NAME,
    PAINTING_REGION_FLAG,
    STRENGTH,
    STYLE_REGION_FLAG,
    DoneEvent,
    Option,
)
from .errors import BadInputError, CancelledError, EngineError, ErrorKind, from_os_error
from .image.sample import SAMPLE_ITERATIONS
from .run.protocol import PROGRESS_MODES, Reporter, make_reporter

# Read from the contract, not from model.device: the parser (and so the relay of a remote
# run, --help, the gallery's list) starts without PyTorch.


class _Parser(argparse.ArgumentParser):
    """Usage errors become BadInputError, so they reach the user like every other error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.replace("styleengine", "python -m styleengine", 1)
        raise BadInputError(f"{message} (see: {command} --help)")


def _checked(option: Option) -> Callable[[str], Any]:
    """The option's own check as the parser's type: a value out of its range is refused here
    in the words the plug-in and the Python API use (not argparse's)."""

    def convert(text: str) -> Any:
        try:
            return option.parse(text)
        except ValueError as error:
            raise BadInputError(f"{error}.") from None

    return convert


def _add_option(parser: argparse.ArgumentParser, option: Option) -> None:
    """A contract option as a command-line option, with its older flags as aliases. The
    Strength and the options it sets are None unless typed, so that a typed one can be told
    from the default."""
    flags = [*filter(None, [option.short_flag]), option.flag, *option.old_flags]
    if option.kind is bool:
        parser.add_argument(*flags, dest=option.name, action="store_true", help=option.help)
        return
    default = None if option.set_by_strength or option is STRENGTH else option.default
    choices = "{" + ",".join(option.accepted) + "}" if option.choices else None
    parser.add_argument(
        *flags,
        dest=option.name,
        type=_checked(option),
        action="append" if option.per_style else "store",
        default=[] if option.per_style else default,
        required=option.required,
        metavar=option.metavar or choices,
        help=option.help,
    )


def _region_masks(args: argparse.Namespace) -> Any:
    """The region masks the command line names, read as images (None: no regions)."""
    from .image.files import read_image
    from .loss.regions import RegionMasks

    if not (args.style_region or args.painting_region or args.strength_map):
        return None
    for flag, given in ((STYLE_REGION_FLAG, args.style_region),
                        (PAINTING_REGION_FLAG, args.painting_region)):  # fmt: skip
        numbers = [number for number, _path in given]
        if len(set(numbers)) != len(numbers):
            raise BadInputError(f"{flag} is given twice for one style; give each style one.")
    return RegionMasks(
        photo={number: read_image(path) for number, path in args.style_region},
        painting={number: read_image(path) for number, path in args.painting_region},
        strength=None if args.strength_map is None else read_image(args.strength_map),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="styleengine", description="Neural style transfer (Gatys et al.) on VGG-16."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("stylize", help="stylize a content image with one or more styles")
    run.add_argument("content", help="content image: PNG, JPEG, TIFF or .npy")
    run.add_argument(
        "styles",
        nargs="+",
        metavar="style",
        help=f"style image(s): a file, or a painting of the gallery ({GALLERY_PREFIX}NAME; "
        "see: python -m styleengine gallery)",
    )
    for option in OPTIONS:
        _add_option(run, option)

    doctor = commands.add_parser("doctor", help="check the installation and say what would be used")
    doctor.add_argument("--weights", default="auto")
    doctor.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    doctor.add_argument(
        "--remeasure",
        action="store_true",
        help="forget this machine's remembered speed (it sets the automatic working size) and "
        "measure it anew",
    )
    for name in ("remote", "remote_python"):
        _add_option(doctor, OPTIONS_BY_NAME[name])

    commands.add_parser(
        "relay",
        help="run one stylization for a caller at the other end of stdin and stdout: what "
        "stylize --remote starts on the remote machine over ssh",
    )

    previews = commands.add_parser(
        "preview-service",
        help="answer the GIMP dialog's preview requests (JSON lines on stdin) with frames "
        "written into --folder, the network loaded once; ends when stdin ends",
    )
    previews.add_argument("--folder", required=True, help="where the frames are written")
    for name in ("weights", "device", "precision", "remote", "remote_python"):
        _add_option(previews, OPTIONS_BY_NAME[name])
    preview_relay = commands.add_parser(
        "preview-relay",
        help="the preview service for a caller at the other end of stdin and stdout: what "
        "preview-service --remote starts on the remote machine over ssh",
    )
    for name in ("weights", "device", "precision"):
        _add_option(preview_relay, OPTIONS_BY_NAME[name])

    demo = commands.add_parser("demo", help="stylize the built-in sample pair")
    demo.add_argument("-o", "--output-dir", required=True, help="folder for the pair and result")
    demo.add_argument("--iterations", type=int, default=SAMPLE_ITERATIONS)
    demo.add_argument("--weights", default="auto")
    demo.add_argument("--device", choices=DEVICE_CHOICES, default="auto")

    gallery = commands.add_parser(
        "gallery", help="list the gallery's paintings, to use as styles by name"
    )
    gallery.add_argument(
        "painting", nargs="?", help="with -o: the painting to write out, to look at it"
    )
    gallery.add_argument("-o", "--output", help="where to write it: .png, .jpg, .tif or .npy")
    listing = gallery.add_mutually_exclusive_group()
    listing.add_argument(
        "--json", action="store_true", help="one record per painting, with its file"
    )
    listing.add_argument("--credits", action="store_true", help="the credits table (Markdown)")
    gallery.add_argument("--progress", choices=PROGRESS_MODES, default="none")

    return parser


def run_gallery(args: argparse.Namespace, reporter: Reporter) -> int:
    """The list of paintings, or (a painting and -o) that painting written to a file."""
    from .image.gallery import catalogue, credits_markdown, style_source

    if args.painting is None and args.output is None:
        text = credits_markdown() if args.credits else catalogue(as_json=args.json) + "\n"
        sys.stdout.write(text)
        return 0
    if args.painting is None or args.output is None:
        raise BadInputError("Give a painting's name and -o FILE to write it out.")
    from .image.files import check_output_path, read_image, write_image

    started = time.perf_counter()
    name = args.painting.removeprefix(GALLERY_PREFIX)
    source = style_source(GALLERY_PREFIX + name)
    output = check_output_path(args.output, [source])
    write_image(output, read_image(source))
    reporter.done(DoneEvent(str(output), round(time.perf_counter() - started, 3)))
    return 0


def _settings_from(args: argparse.Namespace, device_type: str) -> Any:
    """The StyleSettings of a run: every field the command line has an option for."""
    from .run.progress import default_report_every
    from .settings import StyleSettings

    report_every = args.report_every or default_report_every(device_type)
    if args.preview_every:
        report_every = min(report_every, args.preview_every)
    given = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(StyleSettings)
        if field.name != "report_every" and getattr(args, field.name, None) is not None
    }
    if args.strength is None:
        return StyleSettings(**given, report_every=report_every)
    typed = [o.flag for o in OPTIONS if o.set_by_strength and getattr(args, o.name) is not None]
    if typed:
        raise BadInputError(
            f"{STRENGTH.flag} sets {', '.join(typed)} with the others it sets; give it or "
            "them, not both."
        )
    return StyleSettings.at_strength(args.strength, **given, report_every=report_every)


def _refuse_what_does_nothing(args: argparse.Namespace, wants_preview: bool) -> None:
    """An option that does nothing without another is refused, as its reverse is: a user who
    typed it expected something of it."""
    if wants_preview and not args.preview:
        raise BadInputError("--preview-every and --preview-seconds need --preview PATH.")
    if args.preview and not wants_preview:
        raise BadInputError(
            "--preview needs --preview-every N or --preview-seconds S: when to write it."
        )
    if args.remote_python != OPTIONS_BY_NAME["remote_python"].default and not args.remote:
        raise BadInputError("--remote-python needs --remote HOST: the machine it is on.")


def run_stylize(args: argparse.Namespace, reporter: Reporter) -> None:
    from .image.files import check_output_path, resolved
    from .image.gallery import style_source

    started = time.perf_counter()
    # An unknown painting is refused here, before anything starts; a known one travels to a
    # remote machine by name (its engine has the gallery) and is read here from its file.
    sources = [style_source(style) for style in args.styles]
    masks = [path for _number, path in (*args.style_region, *args.painting_region)]
    inputs = [
        args.content,
        *sources,
        *masks,
        *([args.strength_map] if args.strength_map else []),
    ]
    output = check_output_path(args.output, inputs)
    wants_preview = bool(args.preview_every or args.preview_seconds)
    _refuse_what_does_nothing(args, wants_preview)
    preview_path = None
    if wants_preview:
        preview_path = check_output_path(args.preview, inputs)
        if resolved(preview_path) == resolved(output):
            raise BadInputError("--preview must name another file than the result (-o).")
    if args.remote:
        _run_remotely(args, reporter)  # no PyTorch here: the files only pass through
        return
    args.styles = sources
    _run_here(args, reporter, output, preview_path, started)


def _run_here(
    args: argparse.Namespace,
    reporter: Reporter,
    output: Path,
    preview_path: Path | None,
    started: float,
) -> None:
    from .api import EngineSetup, stylize_image_data
    from .image.files import read_image, write_image
    from .model.device import describe_device
    from .plan.planning import Plan
    from .run.cancellation import check_cancelled
    from .run.previews import PreviewWriter
    from .run.progress import Progress

    content = read_image(args.content)
    styles = [read_image(path) for path in args.styles]
    regions = _region_masks(args)
    setup = EngineSetup.create(args.weights, args.device, args.precision)
    settings = _settings_from(args, setup.device.type)
    # The last preview stays where it was asked for, like the result: a file the user named.
    preview = None
    if preview_path is not None:
        preview = PreviewWriter(
            preview_path, reporter, args.preview_every, args.preview_seconds,
            content.grayscale, content.bit_depth,
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
        args.output_size or None,
        args.preserve_colors,
        on_progress,
        working_size=args.working_size or None,
        detail=args.detail,
        detail_iterations=args.detail_iterations or None,
        on_plan=on_plan,
        regions=regions,
    )
    check_cancelled()
    write_image(output, result)
    reporter.done(DoneEvent(str(output), round(time.perf_counter() - started, 3)))


def _run_remotely(args: argparse.Namespace, reporter: Reporter) -> None:
    """The run on ``--remote``'s machine over ssh, reported here as a local one is."""
    from .run.remote import remote_arguments, run_remote

    arguments, files = remote_arguments(args)

    def on_event(event: Any) -> None:
        getattr(reporter, event.name)(event)

    reporter.done(run_remote(args.remote, args.remote_python, arguments, files, on_event))


def demo_arguments(args: argparse.Namespace) -> list[str]:
    """Write the sample pair; the ``stylize`` arguments that turn it into a result."""
    from .image.files import from_array, write_image
    from .image.sample import sample_content, sample_style

    folder = Path(args.output_dir)
    if not folder.is_dir():
        raise BadInputError(f"{folder}: no such folder.")
    content, style = folder / "sample_content.png", folder / "sample_style.png"
    write_image(content, from_array(sample_content()))
    write_image(style, from_array(sample_style()))
    return [
        "stylize", str(content), str(style), "-o", str(folder / "sample_result.png"),
        "--iterations", str(args.iterations), "--weights", args.weights, "--device", args.device,
    ]  # fmt: skip


def _run_preview_service(args: argparse.Namespace) -> int:
    """The dialog's preview engine, here or (--remote) on another machine over ssh."""
    folder = Path(args.folder)
    if args.remote:
        from .service.remote_previews import run_remote_previews

        options = ["--weights", args.weights, "--device", args.device, "--precision",
                   args.precision]  # fmt: skip
        return run_remote_previews(
            args.remote, args.remote_python, folder, options, sys.stdin, sys.stdout
        )
    from .service.preview_service import run_preview_service

    return run_preview_service(
        args.weights, args.device, args.precision, folder, sys.stdin, sys.stdout
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    reporter = make_reporter(progress_mode(argv))
    from .run import cancellation

    if argv[:1] in (["stylize"], ["preview-service"]):
        # Before anything is loaded: a cancel while PyTorch loads is a cancel too.
        cancellation.install_signal_handlers()
        # OpenMP reads this when it starts: no thread count adjusted to the machine's load
        # (the picture depends on the count; model/device.py hold_thread_count does MKL's).
        os.environ.setdefault("OMP_DYNAMIC", "FALSE")
    try:
        args = build_parser().parse_args(argv)
        if args.command == "doctor":
            from .doctor import run_doctor

            return run_doctor(args)
        if args.command == "relay":
            from .run.remote import run_relay

            return run_relay()
        if args.command == "preview-service":
            return _run_preview_service(args)
        if args.command == "preview-relay":
            from .service.remote_previews import run_preview_relay

            return run_preview_relay(args.weights, args.device, args.precision)
        if args.command == "demo":
            return main(demo_arguments(args))
        if args.command == "gallery":
            return run_gallery(args, make_reporter(args.progress))
        cancellation.install_cancellation(args.cancel_on_stdin_eof)
        if not args.remote:
            from .model.device import return_freed_memory_promptly

            return_freed_memory_promptly()
        reporter = make_reporter(args.progress)
        run_stylize(args, reporter)
        cancellation.finishing()
        return 0
    except EngineError as error:
        cancellation.finishing()
        # An error that came of a cancel (a read it cut short) is the cancel.
        reported = CancelledError() if cancellation.cancel_requested() else error
        reporter.error(reported)
        return reported.kind.exit_code
    except OSError as error:  # the system's no, from wherever in the run: one line
        cancellation.finishing()
        refused = CancelledError() if cancellation.cancel_requested() else from_os_error(error)
        reporter.error(refused)
        return refused.kind.exit_code
    except KeyboardInterrupt:
        cancellation.finishing()
        cancelled = CancelledError()
        reporter.error(cancelled)
        return cancelled.kind.exit_code
    except Exception as error:  # a bug: still one clear line for the user, details on stderr
        cancellation.finishing()
        if cancellation.cancel_requested():
            reporter.error(CancelledError())
            return ErrorKind.CANCELLED.exit_code
        import traceback

        if sys.stderr is not None:
            traceback.print_exc(file=sys.stderr)
        internal = EngineError(
            f"Internal error: {type(error).__name__}: {error}. Please report it."
        )
        reporter.error(internal)
        return ErrorKind.INTERNAL.exit_code


def progress_mode(argv: Sequence[str]) -> str:
    """The progress mode the command line asks for, read before it is parsed (a usage error
    must reach a JSON reader as JSON): in every spelling the parser takes, ``--progress
    json``, ``--progress=json`` and an unambiguous prefix (``--prog json``)."""
    long_flags = [
        flag
        for option in OPTIONS
        for flag in (option.flag, *option.old_flags)
        if flag.startswith("--")
    ]
    progress = OPTIONS_BY_NAME["progress"]
    mode = "bar"
    for index, token in enumerate(argv):
        if token == "--":
            break
        name, equals, value = token.partition("=")
        if not name.startswith("--"):
            continue
        named = [flag for flag in long_flags if flag == name] or [
            flag for flag in long_flags if flag.startswith(name)
        ]
        if len(named) != 1 or named[0] not in (progress.flag, *progress.old_flags):
            continue
        given = value if equals else (argv[index + 1] if index + 1 < len(argv) else "")
        mode = "json" if given == "json" else "bar"  # the last one counts, as the parser's
    return mode


def run_as_process() -> NoReturn:
    """``main`` as the process it is (``python -m styleengine``, the ``styleengine`` script),
    ending without the interpreter's teardown: with torch loaded that takes about a second
    (0.55 s after importing torch, 1.0 s after a run, 2.5 s on a busy 2-core machine), which
    every caller waits for, a cancelling GIMP user included. By then every file the run
    wrote is closed and its partial files are removed; only the standard streams may still
    hold output."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away, a stream already closed, or none given (None): nothing
        # more to deliver.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run_as_process()
