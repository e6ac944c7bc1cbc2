"""The quality harness: ``python -m stylelab compare``.

Runs the engine over every content photo x painting of a folder (by default the project's
shared sample images), scores each result with ``quality.Judge`` and writes, into ``--out``:

- ``results/<content>+<style>.png``: the results;
- ``results.json``: the settings, and per pair the scores and seconds (written after every
  pair, so an interrupted sweep resumes where it stopped when run again with the same
  settings);
- ``table.md``: the table per pair, with the means (and the change against ``--baseline``);
- ``sheet.png``: content | style | (baseline result) | result, with the settings and scores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from styleengine.api import EngineSetup, stylize_image_data, to_tensor
from styleengine.contract import OPTIONS_BY_NAME
from styleengine.errors import BadInputError
from styleengine.image.files import ImageData, read_image
from styleengine.model.canvas import resize
from styleengine.settings import StyleSettings

from . import SHARED_IMAGES
from .quality import EmbeddingJudge, Judge, RandomTextureJudge

CONTENT_PHOTOS = ("tubingen", "golden_gate", "hoovertowernight", "amber")
PAINTINGS = ("starry_night", "the_scream", "shipwreck", "mosaic", "candy", "udnie")
IMAGE_SUFFIX = ".jpg"
SHEET_THUMB_HEIGHT = 150
SHEET_GAP = 6
SHEET_TEXT_HEIGHT = 14
SHEET_BACKGROUND = (255, 255, 255)
SHEET_TEXT = (0, 0, 0)
RESULTS_FILE = "results.json"
SCORE_NAMES = ("structure", "judged", "texture", "style", "colour")
# A pair whose judged style falls by more than this against the baseline is counted as worse.
JUDGED_TOLERANCE = 0.02


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder for the results, table and sheet")
    parser.add_argument("--images", default=None, help="folder of the images (default: shared)")
    parser.add_argument("--size", type=int, default=384, help="longest side of the results")
    parser.add_argument("--contents", default=",".join(CONTENT_PHOTOS), help="photo names")
    parser.add_argument("--styles", default=",".join(PAINTINGS), help="painting names")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a StyleSettings field, e.g. --set style_weight=3 --set scales=2",
    )
    parser.add_argument(
        "--strength",
        type=float,
        default=None,
        help="start from the settings at the dialog's Strength (0..100), then apply --set",
    )
    parser.add_argument("--label", default=None, help="the settings' name on the sheet")
    parser.add_argument("--baseline", default=None, help="an earlier --out folder to compare")
    parser.add_argument(
        "--sheet-without-inputs",
        action="store_true",
        help="leave the photos and paintings off the sheet (for a sheet to publish: only "
        "the engine's results may be)",
    )
    for name in ("weights", "device"):
        parser.add_argument(OPTIONS_BY_NAME[name].flag, default=OPTIONS_BY_NAME[name].default)


def settings_from(assignments: list[str], strength: float | None = None) -> StyleSettings:
    """StyleSettings (at ``strength``, if given) with ``name=value`` overrides, each read as
    the command line reads its option."""

    defaults = StyleSettings() if strength is None else StyleSettings.at_strength(strength)
    changes: dict[str, object] = {}
    fields = {f.name for f in dataclasses.fields(StyleSettings)}
    for assignment in assignments:
        name, _, text = assignment.partition("=")
        # An empty list is a value for the layers compared as distributions: none of them.
        if name not in fields or not (text or name == "sliced_layers"):
            raise BadInputError(
                f"--set {assignment!r}: expected NAME=VALUE with NAME one of "
                f"{', '.join(sorted(fields))}."
            )
        try:
            changes[name] = OPTIONS_BY_NAME[name].parse(text)
        except ValueError as error:
            raise BadInputError(f"--set {assignment!r}: {error}.") from None
    return dataclasses.replace(defaults, **changes)


def _pair_name(content: str, style: str) -> str:
    return f"{content}+{style}"


def _load(images: Path, name: str) -> ImageData:
    path = images / f"{name}{IMAGE_SUFFIX}"
    if not path.is_file():
        raise BadInputError(f"{path}: not found; the harness needs the shared sample images.")
    return read_image(path)


def _fit_longest(image: torch.Tensor, longest: float) -> torch.Tensor:
    height, width = image.shape[-2:]
    factor = longest / max(height, width)
    return resize(image, (max(1, round(height * factor)), max(1, round(width * factor))))


def _settings_record(settings: StyleSettings, size: int, weights: str) -> dict:
    record = dataclasses.asdict(settings)
    record.pop("report_every")
    return {"size": size, "weights": weights, **record}


def _load_previous(path: Path, record: dict) -> dict[str, dict]:
    if not path.is_file():
        return {}
    previous = json.loads(path.read_text())
    if json.loads(json.dumps(record)) != previous.get("settings"):
        return {}
    return previous.get("pairs", {})


def run_compare(args: argparse.Namespace) -> int:
    images = Path(args.images) if args.images else SHARED_IMAGES
    if not images.is_dir():
        raise BadInputError(f"{images}: no such folder of sample images.")
    out = Path(args.out)
    (out / "results").mkdir(parents=True, exist_ok=True)
    settings = settings_from(args.set, args.strength)
    setup = EngineSetup.create(args.weights, args.device)
    settings.validate(1)
    record = _settings_record(settings, args.size, setup.weights.name)
    at_strength = [] if args.strength is None else [f"Strength {args.strength:g}"]
    label = args.label or (", ".join([*at_strength, *args.set]) or "defaults")
    pairs = _load_previous(out / RESULTS_FILE, record)
    judge = Judge(setup.weights)
    embedding_judge = EmbeddingJudge()
    texture_judge = RandomTextureJudge()
    contents = [c for c in args.contents.split(",") if c]
    styles = [s for s in args.styles.split(",") if s]
    for content_name in contents:
        content = _load(images, content_name)
        for style_name in styles:
            name = _pair_name(content_name, style_name)
            saved = out / "results" / f"{name}.png"
            style = _load(images, style_name)
            if name in pairs and saved.is_file():
                if "texture" not in pairs[name]:  # measured before the second judge existed
                    result_t = to_tensor(np.asarray(Image.open(saved).convert("RGB")) / 255.0)
                    pairs[name]["texture"] = texture_judge.style_gap(
                        result_t, to_tensor(content.rgb), to_tensor(style.rgb)
                    )
                    _write_results(out, record, label, pairs)
                continue
            started = time.perf_counter()
            # The size under test is worked at directly: no automatic size, no detail pass.
            result = stylize_image_data(
                content, [style], settings, setup, output_size=args.size, working_size=args.size,
                detail="off",
            )  # fmt: skip
            seconds = time.perf_counter() - started
            height, width = result.rgb.shape[:2]
            result_t = to_tensor(result.rgb)
            style_t = _fit_longest(to_tensor(style.rgb), max(height, width) * settings.style_scale)
            content_t = to_tensor(content.rgb)
            scores = judge.scores(result_t, content_t, style_t)
            judged = embedding_judge.style_gap(result_t, content_t, to_tensor(style.rgb))
            texture = texture_judge.style_gap(result_t, content_t, to_tensor(style.rgb))
            pixels = np.round(np.clip(result.rgb, 0, 1) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(saved)
            pairs[name] = {**scores.as_dict(), "judged": judged, "texture": texture,
                           "seconds": seconds}  # fmt: skip
            print(
                f"{name}: structure {scores.structure:.3f}, judged style {judged:.3f}, "
                f"texture style {texture:.3f}, style {scores.style:.3f}, "
                f"colour {scores.colour:.3f}, {seconds:.1f} s",
                flush=True,
            )
            _write_results(out, record, label, pairs)
    baseline = _read_baseline(args.baseline)
    (out / "table.md").write_text(table(label, pairs, baseline))
    sheet = make_sheet(images, out, label, pairs, baseline, not args.sheet_without_inputs)
    sheet.save(out / "sheet.png")
    print(f"wrote {out / 'table.md'} and {out / 'sheet.png'}")
    print(summary_line(label, pairs))
    return 0


def _write_results(out: Path, record: dict, label: str, pairs: dict[str, dict]) -> None:
    (out / RESULTS_FILE).write_text(
        json.dumps({"settings": record, "label": label, "pairs": pairs}, indent=1)
    )


def _read_baseline(folder: str | None) -> tuple[Path, dict] | None:
    if folder is None:
        return None
    path = Path(folder) / RESULTS_FILE
    if not path.is_file():
        raise BadInputError(f"--baseline {folder}: no {RESULTS_FILE} there.")
    return Path(folder), json.loads(path.read_text())


def means(pairs: dict[str, dict]) -> dict[str, float]:
    keys = (*SCORE_NAMES, "seconds")
    # Results measured before the judge existed have no judged score: NaN, not a fake 0.
    return {
        k: sum(p.get(k, float("nan")) for p in pairs.values()) / max(1, len(pairs)) for k in keys
    }


def summary_line(label: str, pairs: dict[str, dict]) -> str:
    mean = means(pairs)
    return (
        f"{label}: {len(pairs)} pairs, mean structure {mean['structure']:.3f}, judged style "
        f"{mean['judged']:.3f}, texture style {mean['texture']:.3f}, style {mean['style']:.3f}, "
        f"colour {mean['colour']:.3f}, "
        f"{mean['seconds']:.1f} s"
    )


def _score_cells(scores: dict) -> str:
    return " | ".join(f"{scores.get(k, float('nan')):.3f}" for k in SCORE_NAMES)


def table(label: str, pairs: dict[str, dict], baseline: tuple[Path, dict] | None) -> str:
    """A markdown table per pair; with a baseline, its scores beside and the change."""
    base = baseline[1]["pairs"] if baseline else {}
    header = "| pair | structure | judged style | texture style | style | colour | seconds |"
    if base:
        header += " baseline structure | baseline judged | judged change |"
    lines = [f"Settings: {label}", "", header, "|" + " --- |" * (header.count("|") - 1)]
    for name, scores in sorted(pairs.items()):
        line = f"| {name} | {_score_cells(scores)} | {scores['seconds']:.1f} |"
        if name in base:
            old = base[name]
            change = scores.get("judged", float("nan")) - old.get("judged", float("nan"))
            line += (
                f" {old['structure']:.3f} | {old.get('judged', float('nan')):.3f} | {change:+.3f} |"
            )
        lines.append(line)
    mean = means(pairs)
    lines.append(f"| **mean** | {_score_cells(mean)} | {mean['seconds']:.1f} |")
    if base:
        shared = [n for n in pairs if n in base]
        worse = [
            n
            for n in shared
            if pairs[n].get("judged", 0) < base[n].get("judged", 0) - JUDGED_TOLERANCE
        ]
        old_mean = means({n: base[n] for n in shared})
        new_mean = means({n: pairs[n] for n in shared})
        lines[-1] += (
            f" {old_mean['structure']:.3f} | {old_mean['judged']:.3f} | "
            f"{new_mean['judged'] - old_mean['judged']:+.3f} |"
        )
        named = f": {', '.join(sorted(worse))}" if worse else ""
        lines += [
            "",
            f"Judged style lower than the baseline's by more than {JUDGED_TOLERANCE} on "
            f"{len(worse)} of {len(shared)} pairs{named}.",
        ]
    return "\n".join(lines) + "\n"


def _thumb(image: Image.Image) -> Image.Image:
    width = round(image.width * SHEET_THUMB_HEIGHT / image.height)
    return image.convert("RGB").resize((width, SHEET_THUMB_HEIGHT), Image.LANCZOS)


def _caption(scores: dict) -> str:
    return (
        f"s {scores['structure']:.2f} j {scores.get('judged', float('nan')):.2f} "
        f"t {scores.get('texture', float('nan')):.2f}"
    )


def make_sheet(
    images: Path,
    out: Path,
    label: str,
    pairs: dict[str, dict],
    baseline: tuple[Path, dict] | None,
    with_inputs: bool = True,
) -> Image.Image:
    """content | style | (baseline) | result per row, scores under each result; without
    inputs, the pair's name goes under the results."""
    rows = []
    for name, scores in sorted(pairs.items()):
        content_name, style_name = name.split("+")
        cells = []
        if with_inputs:
            cells = [
                (_thumb(Image.open(images / f"{content_name}{IMAGE_SUFFIX}")), content_name),
                (_thumb(Image.open(images / f"{style_name}{IMAGE_SUFFIX}")), style_name),
            ]
        if baseline and name in baseline[1]["pairs"]:
            old = baseline[1]["pairs"][name]
            cells.append(
                (
                    _thumb(Image.open(baseline[0] / "results" / f"{name}.png")),
                    f"{baseline[1].get('label', 'baseline')}: {_caption(old)}",
                )
            )
        prefix = "" if with_inputs else f"{name}, "
        cells.append(
            (
                _thumb(Image.open(out / "results" / f"{name}.png")),
                f"{prefix}{label}: {_caption(scores)}",
            )
        )
        rows.append(cells)
    columns = max((len(r) for r in rows), default=0)
    widths = [max(r[i][0].width for r in rows if len(r) > i) for i in range(columns)]
    row_height = SHEET_THUMB_HEIGHT + SHEET_TEXT_HEIGHT + SHEET_GAP
    sheet = Image.new(
        "RGB",
        (sum(widths) + SHEET_GAP * (columns + 1), row_height * len(rows) + 2 * SHEET_TEXT_HEIGHT),
        SHEET_BACKGROUND,
    )
    draw = ImageDraw.Draw(sheet)
    draw.text((SHEET_GAP, 2), summary_line(label, pairs), fill=SHEET_TEXT)
    for row_index, cells in enumerate(rows):
        top = 2 * SHEET_TEXT_HEIGHT + row_index * row_height
        left = SHEET_GAP
        for column, (thumb, caption) in enumerate(cells):
            sheet.paste(thumb, (left, top))
            draw.text((left, top + SHEET_THUMB_HEIGHT + 1), caption, fill=SHEET_TEXT)
            left += widths[column] + SHEET_GAP
    return sheet
