"""The quality harness's command (stylelab.compare): table, sheet, resuming, the baseline."""

from __future__ import annotations

import json

import numpy as np
from conftest import make_content, make_style, run_lab
from PIL import Image


def test_compare_harness_writes_table_sheet_and_resumes(tmp_path, engine_env, hed_weights):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray((make_content(48, 64) * 255).astype(np.uint8)).save(images / "photo.jpg")
    Image.fromarray((make_style(40, 40) * 255).astype(np.uint8)).save(images / "paint.jpg")
    out = tmp_path / "out"
    arguments = ["compare", "--images", str(images), "--contents", "photo", "--styles",
                 "paint", "--size", "64", "--set", "iterations=3", "--out", str(out),
                 "--weights", "hed", "--device", "cpu"]  # fmt: skip
    done = run_lab(arguments, engine_env)
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    scores = results["pairs"]["photo+paint"]
    assert 0 < scores["structure"] <= 1 and scores["seconds"] > 0
    assert "photo+paint" in (out / "table.md").read_text()
    with Image.open(out / "sheet.png") as sheet:
        assert sheet.width > 3 * 64
    again = run_lab([*arguments, "--baseline", str(out), "--sheet-without-inputs"], engine_env)
    assert again.returncode == 0, again.stderr
    assert "photo+paint:" not in again.stdout  # resumed: nothing stylized again
    table = (out / "table.md").read_text()
    assert "lower than the baseline's by more than 0.02 on 0 of 1 pairs" in table
    assert -1 <= scores["judged"] <= 1.01
    assert -1 <= scores["texture"] <= 1.01


def test_compare_settings_start_from_the_strength_and_take_overrides():
    from styleengine.settings import StyleSettings
    from stylelab.compare import settings_from

    at_100 = settings_from(["iterations=3"], strength=100)
    assert at_100 == StyleSettings.at_strength(100, iterations=3)
    assert at_100.style_weight > StyleSettings().style_weight
    assert settings_from([]) == StyleSettings()
