"""The command line: ``python -m styleengine stylize|doctor|demo|gallery``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .contract import (
    GALLERY_PREFIX,
    OPTIONS,
    OPTIONS_BY_NAME,
    STRENGTH,
    DoneEvent,
    Option,
)
from .errors import BadInputError, CancelledError, EngineError, ErrorKind, from_os_error
from .image.sample import SAMPLE_ITERATIONS
from .run.protocol import PROGRESS_MODES, Reporter, make_reporter


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
    for name in ("weights", "device"):
        _add_option(doctor, OPTIONS_BY_NAME[name])
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
    for name in ("weights", "device"):
        _add_option(demo, OPTIONS_BY_NAME[name])

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


def run_stylize(args: argparse.Namespace, reporter: Reporter) -> None:
    """The job the command line names, run by the engine it names (engines.py)."""
    from .engines import Job, engine_for

    if args.remote_python != OPTIONS_BY_NAME["remote_python"].default and not args.remote:
        # An option that does nothing without another is refused, as its reverse is.
        raise BadInputError("--remote-python needs --remote HOST: the machine it is on.")
    reporter.done(engine_for(args).stylize(Job.of_arguments(args), reporter))


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
            from .engines import engine_for

            return engine_for(args).serve_previews(Path(args.folder), sys.stdin, sys.stdout)
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
