"""The README's table of the ``stylize`` options says what the command line does."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from styleengine.cli import build_parser
from styleengine.settings import StyleSettings

README = Path(__file__).resolve().parent.parent / "README.md"
TABLE_HEADER = "| Option | Default | Meaning |"


def _table_rows() -> list[tuple[str, str]]:
    """(option cell, default cell) of each row of the README's option table."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(TABLE_HEADER) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows.append((cells[0], cells[1]))
    return rows


def _stylize_flags() -> dict[str, argparse.Action]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    stylize = commands.choices["stylize"]
    return {
        flag: action
        for action in stylize._actions
        for flag in action.option_strings
        if flag.startswith("--") and flag != "--help"
    }


def test_every_stylize_flag_is_in_the_readme_and_every_flag_there_exists():
    documented = {flag for cell, _ in _table_rows() for flag in re.findall(r"--[a-z-]+", cell)}
    flags = _stylize_flags()
    assert set(flags) - documented == set(), "flags the README does not explain"
    assert documented - set(flags) == set(), "flags the README names that do not exist"


def test_the_readmes_layer_defaults_are_the_engines():
    """The defaults a user copies to change one weight: the layers and their weights."""
    defaults = StyleSettings()
    cells = {cell.strip("`"): default.strip("`") for cell, default in _table_rows()}
    style = ",".join(
        name if weight == 1 else f"{name}:{weight:g}"
        for name, weight in defaults.style_layers.items()
    )
    assert cells["--style-layers"] == style
    assert cells["--content-layers"] == ",".join(defaults.content_layers)
    assert cells["--sliced-layers"] == ",".join(defaults.sliced_layers)
    assert cells["--iterations N"] == str(defaults.iterations)
