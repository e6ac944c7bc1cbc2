"""``python -m stylelab bench|compare``, from the repository's root."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from styleengine.contract import DEVICE_CHOICES, OPTIONS_BY_NAME
from styleengine.errors import EngineError


def build_parser() -> argparse.ArgumentParser:
    from .compare import add_arguments as add_compare_arguments

    parser = argparse.ArgumentParser(
        prog="python -m stylelab", description="Measure the style engine: speed and quality."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench", help="time the engine against a plain baseline")
    bench.add_argument("--sizes", type=lambda t: tuple(int(v) for v in t.split(",")), default=None)
    bench.add_argument("--iterations", type=int, default=None)
    bench.add_argument(
        "--device", choices=DEVICE_CHOICES, default=OPTIONS_BY_NAME["device"].default
    )
    bench.add_argument("--weights", default=OPTIONS_BY_NAME["weights"].default)
    bench.add_argument("--json", default=None, help="also write the results here")
    bench.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # IMPL:SIZE, internal
    bench.add_argument(
        "--quality-iterations",
        type=int,
        default=300,
        help="time to reach the baseline's loss after this many iterations (0: skip)",
    )
    bench.add_argument(
        "--loss-pairs",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="compare final losses on every sample image pair at the first size",
    )
    bench.add_argument(
        "--profile", default=None, help="write a profile of the engine at the first size here"
    )
    bench.add_argument(
        "--regions",
        action="store_true",
        help="also time two paintings in two regions at the first size, against one",
    )
    bench.add_argument(
        "--end-to-end-iterations",
        type=int,
        default=None,
        help="time a whole stylization of this many iterations (default: 500 on a GPU at "
        "512 px, --iterations on a CPU; 0: skip)",
    )
    compare = commands.add_parser(
        "compare", help="the quality harness: stylize sample pairs, score them, write a sheet"
    )
    add_compare_arguments(compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "bench":
            from .bench import run_benchmark

            return run_benchmark(args)
        from .compare import run_compare

        return run_compare(args)
    except EngineError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return error.kind.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
