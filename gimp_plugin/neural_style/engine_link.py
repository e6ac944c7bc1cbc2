"""The plug-in's side of the link to the style engine, with the standard library only: what
a run asks the engine (its arguments, from the contract's options), the engine's config, and
the progress texts the user reads.

GIMP's Python has no numpy and no torch, and must not get them: pixels travel to the engine
as ``.npy`` float32 files (``npy_files``) in a private run folder (``run_folders``), the engine
runs as a subprocess of its own Python (``engine_process``; named in the config file
install.py writes next to the plug-in), and its progress comes back as JSON lines (the
protocol is documented in ``styleengine.run.protocol``).

Nothing here imports ``gi``, so it is unit-tested without GIMP.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine_contract import CONFIG_NAME, INSTALL_HINT, LinkError, contract, system
from engine_process import failure_message, run_engine

# When the live preview layer is shown: in runs from the dialog, in every run (scripts too),
# or never.
LIVE_PREVIEW = ("interactive", "always", "never")
PREVIEW_LAYER_NAME = "Neural Style - preview"
# The engine writes the picture so far at most this often: a refresh every few seconds shows
# it emerge without spending the engine's time on writing files.
PREVIEW_SECONDS = 3.0


# --------------------------------------------------------------------------------------------
# Arguments and configuration


@dataclass
class StyleRequest:
    """The plug-in's public arguments, as a script passes them: Strength, the live preview,
    and the contract's options by name (``contract.OPTIONS``; a missing one has its default)."""

    strength: float = contract.DEFAULT_STRENGTH
    live_preview: str = "interactive"
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str) -> Any:
        return self.options.get(name, contract.OPTIONS_BY_NAME[name].default)

    def shows_preview(self, interactive: bool) -> bool:
        """Whether this run keeps a preview layer on the canvas while it works."""
        if self.live_preview not in LIVE_PREVIEW:
            raise LinkError(f"Unknown live preview choice {self.live_preview!r}.")
        return self.live_preview == "always" or (interactive and self.live_preview == "interactive")


def result_layer_name(style_names: list[str]) -> str:
    """'Neural Style (Starry Night)', 'Neural Style (Starry Night + The Scream)'."""
    return f"Neural Style ({' + '.join(style_names)})"


def engine_arguments(
    request: StyleRequest,
    content: Path,
    styles: list[Path | str],
    output: Path,
    weights: str,
    style_weights: list[float] | None = None,
    preview: Path | None = None,
    regions: dict[int, Path] | None = None,
    strength_map: Path | None = None,
    remote_python: str | None = None,
) -> list[str]:
    """The ``python -m styleengine`` arguments for a request: one or more style images,
    blended by ``style_weights`` (one each); with ``preview``, the picture so far is
    written there every few seconds; ``regions``: the mask of where style N (from 1)
    paints; ``strength_map``: how strongly, place by place; ``remote_python``: the engine's
    Python on the machine the request runs on, when not this one. Every flag is the
    contract's."""
    by_name = contract.OPTIONS_BY_NAME
    if len(styles) > 1:
        blend = style_weights or [1.0] * len(styles)
        if len(blend) != len(styles) or sum(blend) <= 0:
            raise LinkError("Give the style layers weights above 0 (at least one).")
    # The options the plug-in sets; the others keep the engine's defaults.
    given = [(contract.STRENGTH, request.strength)]
    given += [(o, request.option(o.name)) for o in contract.OPTIONS if o.section is not None]
    given += [
        (by_name["output"], str(output)),
        (by_name["progress"], "json"),
        (by_name["cancel_on_stdin_eof"], True),
        (by_name["weights"], weights),
        (by_name["style_blend"], tuple(blend) if len(styles) > 1 else None),
        (by_name["strength_map"], None if strength_map is None else str(strength_map)),
        *((by_name["style_region"], (n, str(mask))) for n, mask in sorted((regions or {}).items())),
    ]  # fmt: skip
    if request.option("remote") and remote_python:
        given.append((by_name["remote_python"], remote_python))
    if preview is not None:
        given += [(by_name["preview"], str(preview)),
                  (by_name["preview_seconds"], PREVIEW_SECONDS)]  # fmt: skip
    arguments = ["-m", "styleengine", "stylize", str(content), *map(str, styles)]
    for option, value in given:
        try:
            arguments += option.command_line(value)
        except (TypeError, ValueError) as error:
            raise LinkError(f"{error}.") from None
    return arguments


def export_painting(config: EngineConfig, painting, output: Path) -> None:
    """Have the engine write a gallery painting's pixels to ``output`` (.npy): the engine
    knows where its gallery lives, and can reach it from a sandboxed GIMP too."""
    arguments = [
        "-m", "styleengine", "gallery", painting.name, "-o", str(output), "--progress", "json",
    ]  # fmt: skip
    result = run_engine(config.python, arguments, lambda _event: None)
    if not result.ok:
        raise LinkError(failure_message(result))


@dataclass
class EngineConfig:
    python: str
    weights: str = contract.OPTIONS_BY_NAME["weights"].default
    # Run on's machines (install.py --remote): each host and the engine's Python there.
    remotes: dict[str, str] = field(default_factory=dict)


# Run on's first choice: this computer (the contract's empty host).
RUN_HERE = "this-computer"
RUN_ON_HELP = (
    "Where the painting is computed: this computer, or another machine reached over ssh "
    f"(its engine set up from here with: {system.INSTALL_COMMAND} --remote HOST)"
)


def run_on_choices(remotes: dict[str, str]) -> list[tuple[str, str]]:
    """Run on's (value, label) entries: this computer, then each recorded machine."""
    return [(RUN_HERE, "This computer"), *((host, host) for host in remotes if host != RUN_HERE)]


def run_on_offered(remotes: dict[str, str], ssh_found: bool) -> bool:
    """Whether Run on can be changed: some machine is recorded, and ssh is here to reach it."""
    return bool(remotes) and ssh_found


def remote_host(choice: str | None) -> str:
    """The contract's ``remote`` for Run on's value ("": this computer)."""
    return "" if choice in (None, "", RUN_HERE) else choice


def load_config(plugin_dir: Path) -> EngineConfig:
    """Read the config install.py wrote; a missing or broken one says how to repair it."""
    path = plugin_dir / CONFIG_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        config = EngineConfig(
            python=str(data["python"]),
            weights=str(data.get("weights", EngineConfig.weights)),
            remotes=contract.recorded_remotes(data),
        )
    except FileNotFoundError:
        raise LinkError(
            f"The Neural Style engine is not set up ({path} is missing). {INSTALL_HINT}"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LinkError(
            f"The Neural Style config {path} is damaged ({error}). {INSTALL_HINT}"
        ) from None
    if not Path(config.python).is_file():
        raise LinkError(
            f"The engine's Python ({config.python}) does not exist any more. {INSTALL_HINT}"
        )
    return config


# --------------------------------------------------------------------------------------------
# Progress lines


LOADING_TEXT = "Neural Style: loading the network…"


def plan_text(event: contract.StartEvent) -> str:
    """The start event's plan, before the long part begins."""
    width, height = event.working_size
    then = f", then a detail pass in {event.detail.tiles} tiles" if event.detail else ""
    return (
        f"Neural Style: working at {width}x{height}{then}, "
        f"{contract.time_left_text(event.estimated_seconds)}"
    )


def progress_text(event: contract.ProgressEvent) -> str:
    return f"Neural Style: {event.place()}, {contract.time_left_text(event.seconds_left)}"


def file_error_message(error: OSError) -> str:
    where = f" ({error.filename})" if error.filename else ""
    return (
        f"Neural Style could not use its temporary files{where}: "
        f"{error.strerror or error}. Free some space in {tempfile.gettempdir()} and try again."
    )
