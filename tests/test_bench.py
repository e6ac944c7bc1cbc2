"""The benchmark (stylelab.bench): it compares like with like and refuses what it cannot do."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import run_lab

from styleengine.api import EngineSetup
from styleengine.settings import StyleSettings
from stylelab.bench import baseline_run, load_pair


def test_bench_measures_baseline_and_engine(tmp_path, engine_env, hed_weights):
    report = tmp_path / "bench.json"
    done = run_lab(
        ["bench", "--sizes", "64", "--iterations", "5", "--quality-iterations", "5",
         "--end-to-end-iterations", "3", "--device", "cpu", "--weights", "hed",
         "--profile", str(tmp_path / "profile.txt"), "--regions",
         "--json", str(report)],
        engine_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(report.read_text())
    rows = result["rows"]
    assert [row["impl"] for row in rows] == ["baseline", "engine"]
    baseline, engine = rows
    for row in rows:
        assert row["size"] == 64 and row["iterations"] == 5 and row["ms_per_iter"] > 0
        # per pixel of a picture of at most 64 x 64
        assert row["peak_bytes"] > 0 and row["bytes_per_pixel"] >= row["peak_bytes"] / 64**2
    # Same start, same objective, same iterations: the losses say the same kind of thing.
    assert 0.5 < engine["final_loss"] / baseline["final_loss"] < 2
    assert "speed-up" in done.stdout
    for pair in result["final_loss_pairs"]:
        assert 0.5 < pair["engine"] / pair["baseline"] < 2, pair
    quality = result["time_to_quality"]
    assert quality["engine_coarse_to_fine"]["scales"] == 3
    assert quality["baseline_iterations"] == 5 and quality["baseline_seconds"] > 0
    regions = result["regions"]
    assert regions["row"]["impl"] == "regions" and regions["size"] == 64
    assert regions["memory_ratio"] < 1.5  # two masks and two sets of targets, not two runs
    whole = result["end_to_end"]
    assert whole["iterations"] == 3 and whole["size"] == 64
    assert "convolution" in (tmp_path / "profile.txt").read_text()


def test_bench_declines_sizes_the_baseline_cannot_run(engine_env):
    done = run_lab(["bench", "--sizes", "48", "--device", "cpu"], engine_env)
    assert done.returncode == 2
    assert "at least 64" in done.stderr and "Traceback" not in done.stderr


def test_bench_baseline_makes_exactly_the_asked_iterations(hed_weights):
    """torch's L-BFGS makes 20 iterations per step(): a plain loop would give the baseline
    40 for 25 asked, and a lower final loss that is only more work, not a better method."""
    setup = EngineSetup.create("hed", "cpu", "fp32")
    content, style = load_pair(64)
    evaluations = []
    baseline_run(setup, content, style, StyleSettings(scales=1), 25, evaluations.append)
    assert evaluations == list(range(1, 26))


# The layers this comparison was measured with (mean -0.2%). With relu1_2 added (the defaults
# since the later 2026-11-30 sessions) the engine ends lower than the tutorial's loop: on
# these three runs by 4.7% with two threads and by 1.7% with one (the thread count changes
# the rounding, and L-BFGS the path), over eight runs by 2.4% (0.91 to 1.07 a run). Three
# runs cannot hold that within a 2% bound, so the test keeps the layers it was measured with
# (QUALITY.md). The layout term (the defaults' since the fourth 2026-11-30 session) moves the
# paths the same way: with it the engine ended lower on all three runs, by 5.1% with one
# thread and 6.4% with two, and without it 1.3% lower on the same machine; so the test keeps
# the objective it was measured with, no layout term.
MEASURED_LAYERS = {"relu1_1": 2.0, "relu2_1": 2.0, "relu3_1": 1.0, "relu4_1": 0.5, "relu5_1": 0.5}
MEASURED_LAYOUT_WEIGHT = 0.0
# And with Gram matrices at every layer, as the bound was measured: the sliced-Wasserstein
# layers (the defaults' since the fifth 2026-11-30 session) are compared by BENCHMARKS.md.
MEASURED_SLICED_LAYERS: tuple[str, ...] = ()


def test_bench_engine_and_baseline_start_alike_and_end_alike(hed_weights):
    """Same start, same content, same iterations: the final losses say which optimizes
    better (the engine's recolouring once made them 30% apart before any iteration). One
    run's comparison is chance as much as method (L-BFGS amplifies rounding differences
    into other paths: here -8% to +6% by size and iterations), so three are averaged."""
    from stylelab.bench import (
        GENERATED_PAIR,
        compared_settings,
        engine_run,
        objective,
        same_start,
    )

    setup = EngineSetup(hed_weights, torch.device("cpu"), torch.float32)
    ratios = []
    for size, iterations in ((96, 40), (96, 80), (128, 60)):
        content, style = load_pair(size, GENERATED_PAIR)
        start = same_start(content, style)
        assert (start - content).abs().mean() > 0.01  # the recolouring is really there
        settings = compared_settings(
            iterations=iterations,
            scales=1,
            report_every=iterations,
            style_layers=MEASURED_LAYERS,
            layout_weight=MEASURED_LAYOUT_WEIGHT,
            sliced_layers=MEASURED_SLICED_LAYERS,
        )
        baseline = baseline_run(setup, start, style, settings, iterations, lambda _n: None)
        engine = engine_run(setup, start, style, settings, None)
        losses = [objective(setup, settings, start, style, image) for image in (baseline, engine)]
        ratios.append(losses[1] / losses[0])
    assert all(abs(ratio - 1) <= 0.1 for ratio in ratios), ratios
    assert abs(float(np.prod(ratios)) ** (1 / len(ratios)) - 1) <= 0.02, ratios


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--iterations", "2"], "at least 5"),
        (["--json", "missing/dir/x.json"], "does not exist"),
    ],
)
def test_bench_refuses_what_it_cannot_do_before_measuring(engine_env, arguments, message):
    done = run_lab(["bench", "--sizes", "64", "--device", "cpu", *arguments], engine_env)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "machine:" not in done.stdout
