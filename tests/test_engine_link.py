"""The plug-in's link to the engine (engine_link.py): its arguments and config, no GIMP."""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(REPO / "gimp_plugin" / "neural_style"))
import engine_link  # noqa: E402
from engine_link import LinkError, StyleRequest, contract  # noqa: E402


def test_engine_arguments_are_accepted_by_the_engine(tmp_path):
    from styleengine.cli import build_parser
    from styleengine.engines import Job

    options = {"iterations": 120, "working_size": 512, "preserve_colors": "luminance",
               "style_scale": 1.5, "seed": 3, "device": "gpu"}  # fmt: skip
    request = StyleRequest(strength=70, options=options)
    arguments = engine_link.engine_arguments(
        request, tmp_path / "c.npy", [tmp_path / "s.npy"], tmp_path / "o.npy", "hed"
    )
    assert arguments[:3] == ["-m", "styleengine", "stylize"]
    parsed = build_parser().parse_args(arguments[2:])
    assert parsed.iterations == 120 and parsed.working_size == 512 and parsed.device == "gpu"
    assert parsed.preserve_colors == "luminance" and parsed.style_scale == 1.5
    assert parsed.progress == "json" and parsed.weights == "hed" and parsed.seed == 3
    # The dialog's Strength reaches the engine as its own option, the same number.
    settings = Job.of_arguments(parsed).settings("cpu")
    assert parsed.strength == 70 and settings.palette == contract.palette_for(70)
    assert settings.style_weight == contract.style_weight_for(70)
    plain = engine_link.engine_arguments(StyleRequest(), Path("c"), [Path("s")], Path("o"), "auto")
    parsed_plain = build_parser().parse_args(plain[2:])
    assert parsed_plain.working_size == 0 and parsed_plain.style_blend is None  # automatic
    two = engine_link.engine_arguments(
        StyleRequest(), Path("c"), [Path("a"), Path("b")], Path("o"), "auto", [1.0, 0.5]
    )
    parsed_two = build_parser().parse_args(two[2:])
    assert parsed_two.styles == ["a", "b"] and parsed_two.style_blend == (1.0, 0.5)
    assert engine_link.result_layer_name(["Starry", "Scream"]) == "Neural Style (Starry + Scream)"


def test_live_preview_is_for_the_dialog_unless_a_script_asks():
    dialog, script = True, False
    assert StyleRequest().shows_preview(dialog) and not StyleRequest().shows_preview(script)
    assert StyleRequest(live_preview="always").shows_preview(script)
    assert not StyleRequest(live_preview="never").shows_preview(dialog)
    with pytest.raises(LinkError, match="live preview"):
        StyleRequest(live_preview="sometimes").shows_preview(dialog)
    from styleengine.cli import build_parser

    with_preview = engine_link.engine_arguments(
        StyleRequest(), Path("c"), [Path("s")], Path("o"), "auto", preview=Path("p.npy")
    )
    parsed = build_parser().parse_args(with_preview[2:])
    assert parsed.preview == "p.npy" and parsed.preview_seconds == engine_link.PREVIEW_SECONDS
    without = engine_link.engine_arguments(
        StyleRequest(), Path("c"), [Path("s")], Path("o"), "auto"
    )
    assert "--preview" not in without


def test_config_missing_or_damaged_says_how_to_repair(tmp_path):
    with pytest.raises(LinkError, match="install.py"):
        engine_link.load_config(tmp_path)
    (tmp_path / engine_link.CONFIG_NAME).write_text("{broken")
    with pytest.raises(LinkError, match="damaged"):
        engine_link.load_config(tmp_path)
    (tmp_path / engine_link.CONFIG_NAME).write_text(json.dumps({"python": "/no/such/python"}))
    with pytest.raises(LinkError, match="does not exist"):
        engine_link.load_config(tmp_path)


def test_plugin_file_uses_only_standard_library_and_gi():
    """Every file of the plug-in, new ones included: GIMP's Python has no numpy or torch."""
    folder = REPO / "gimp_plugin" / "neural_style"
    own = {path.stem for path in folder.glob("*.py")}
    assert {"neural_style", "engine_link", "npy_files", "run_folders"} <= own
    allowed = set(sys.stdlib_module_names) | {"gi"} | own
    for path in folder.glob("*.py"):
        name = path.name
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] in allowed, f"{name} imports {module}"
    assert os.access(REPO / "gimp_plugin" / "neural_style" / "neural_style.py", os.X_OK)


def test_plugin_asks_the_engine_to_stop_when_its_pipe_closes():
    arguments = engine_link.engine_arguments(
        StyleRequest(), Path("c.npy"), [Path("s.npy")], Path("o.npy"), "hed"
    )
    assert "--cancel-on-stdin-eof" in arguments


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"iterations": 0}, "Iterations must be from 1 to 5000, not 0"),
        ({"device": "tpu"}, "Device must be one of auto, gpu, cpu"),
        ({"style_scale": "big"}, "Stroke size must be a number, not 'big'"),
        ({"seed": 2.5}, "Seed must be a whole number, not 2.5"),
    ],
)
def test_a_scripts_value_outside_the_contract_is_one_clear_message(options, message):
    with pytest.raises(LinkError, match=message):
        engine_link.engine_arguments(
            StyleRequest(options=options), Path("c"), [Path("s")], Path("o"), "auto"
        )


def test_regions_and_a_strength_map_reach_the_engine_as_its_own_options():
    from styleengine.cli import build_parser

    arguments = engine_link.engine_arguments(
        StyleRequest(), Path("c"), [Path("a"), Path("b")], Path("o"), "auto", [1.0, 1.0],
        regions={2: Path("right.npy")}, strength_map=Path("keep.npy"),
    )  # fmt: skip
    parsed = build_parser().parse_args(arguments[2:])
    assert parsed.style_region == [(2, "right.npy")] and parsed.strength_map == "keep.npy"


def test_run_on_offers_this_computer_and_each_recorded_machine(tmp_path):
    """Run on: the machines install.py --remote recorded, each with its engine's Python,
    greyed while none is recorded or no ssh is here; this computer runs with no --remote."""
    from styleengine.cli import build_parser

    python = tmp_path / "python"
    python.touch()
    config = {"python": str(python), "remotes": [
        {"host": "gpu-box", "python": "envs/ns/bin/python"}, {"host": "me@lab"},
        {"host": ""}, "not an entry", {"host": 7},
    ]}  # fmt: skip
    (tmp_path / engine_link.CONFIG_NAME).write_text(json.dumps(config))
    remotes = engine_link.load_config(tmp_path).remotes
    assert remotes == {"gpu-box": "envs/ns/bin/python", "me@lab": contract.DEFAULT_REMOTE_PYTHON}
    choices = engine_link.run_on_choices(remotes)
    assert choices == [(engine_link.RUN_HERE, "This computer"), ("gpu-box", "gpu-box"),
                       ("me@lab", "me@lab")]  # fmt: skip
    assert engine_link.run_on_offered(remotes, ssh_found=True)
    assert not engine_link.run_on_offered(remotes, ssh_found=False)
    assert not engine_link.run_on_offered({}, ssh_found=True)

    def parsed(choice: str):
        request = StyleRequest(options={"remote": engine_link.remote_host(choice)})
        arguments = engine_link.engine_arguments(
            request, Path("c"), [Path("s")], Path("o"), "auto",
            remote_python=remotes.get(engine_link.remote_host(choice)),
        )  # fmt: skip
        return build_parser().parse_args(arguments[2:])

    here = parsed(engine_link.RUN_HERE)
    assert here.remote == "" and here.remote_python == contract.DEFAULT_REMOTE_PYTHON
    there = parsed("gpu-box")
    assert there.remote == "gpu-box" and there.remote_python == "envs/ns/bin/python"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_ENTRY = st.fixed_dictionaries({}, optional={"host": _JSON | st.text(), "python": _JSON})


@settings(max_examples=200, deadline=None)
@given(remotes=_JSON | st.lists(_ENTRY | _JSON, max_size=5))
def test_a_hand_edited_remotes_record_never_stops_the_plugin(tmp_path_factory, remotes):
    """Whatever a hand-edited config holds under "remotes", the plug-in still loads it: a
    malformed entry loses that machine, never the run; a kept one is a host and a Python."""
    folder = tmp_path_factory.mktemp("config")
    (folder / "python").touch()
    config = {"python": str(folder / "python"), "remotes": remotes}
    (folder / engine_link.CONFIG_NAME).write_text(json.dumps(config))
    kept = engine_link.load_config(folder).remotes
    for host, python in kept.items():
        assert isinstance(host, str) and host.strip() and isinstance(python, str) and python
    assert [value for value, _label in engine_link.run_on_choices(kept)][0] == engine_link.RUN_HERE
