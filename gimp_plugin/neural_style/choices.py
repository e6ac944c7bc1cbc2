"""What the procedure's arguments choose: the paintings with their weights and regions, the
strength map, the options, and Run on's machine (for a run and for the dialog's preview)."""

import shutil
from pathlib import Path

import gi

gi.require_version("Gimp", "3.0")
import engine_link  # noqa: E402
import flatpak  # noqa: E402
from engine_link import LinkError, contract  # noqa: E402
from gi.repository import Gimp  # noqa: E402

PLUGIN_DIR = Path(__file__).resolve().parent


def recorded_remotes():
    """Run on's machines, from the config install.py wrote (none before it did)."""
    try:
        return engine_link.load_config(PLUGIN_DIR).remotes
    except LinkError:
        return {}


def run_on_offered():
    # In Flathub's sandbox the engine, and so ssh, runs on the host (flatpak.py).
    ssh_found = shutil.which("ssh") is not None or flatpak.in_flatpak()
    return engine_link.run_on_offered(recorded_remotes(), ssh_found)


def options(config, from_script):
    """The contract options' values of this run. In a script's run an older argument name
    counts where the new one was left at its default; never in the dialog's, which does not
    show the old names (a value GIMP remembered for one would stick there for good)."""
    values = {}
    for option in contract.OPTIONS:
        if option.section is None:
            continue
        value = config.get_property(option.argument)
        for old in option.old_arguments if from_script else ():
            if value == option.default:
                value = config.get_property(old)
        if value is None and option.kind is str:
            value = ""  # GIMP gives an empty text as None
        values[option.name] = engine_link.remote_host(value) if option.name == "remote" else value
    return values


def guess_style_layer(image, layer):
    """A first choice for the dialog: another layer of this image, else of another image."""
    for candidate in image.get_layers():
        if candidate != layer:
            return candidate
    for other in Gimp.get_images():
        if other != image and other.get_layers():
            return other.get_layers()[0]
    return None


def style_name(source):
    if isinstance(source, contract.Painting):
        return source.label
    return source.stem.replace("_", " ") if isinstance(source, Path) else source.get_name()


def gallery_painting(config, argument):
    """The gallery painting chosen in ``argument``, or None."""
    return contract.GALLERY_BY_NAME.get(config.get_property(argument))


def first_style(config):
    """The first painting: from the gallery when one is chosen there, else the file, else
    the style layer; None when none is given."""
    painting = gallery_painting(config, "style-preset")
    if painting is not None:
        return painting
    style_file = config.get_property("style-file")
    if style_file is not None and style_file.get_path():
        return Path(style_file.get_path())
    return config.get_property("style-layer")


def chosen_styles(config, layer):
    """The paintings chosen, each with its blend weight and region, and the strength map; a
    LinkError saying what is missing."""
    first = first_style(config)
    if first is None:
        raise LinkError(
            "Choose the painting: one from the gallery, a style layer, or an image file of it "
            "(Painting from a file)."
        )
    styles = [(first, config.get_property("style-weight"), config.get_property("style-region"))]
    for number in (2, 3):
        extra = gallery_painting(config, f"style-preset-{number}") or config.get_property(
            f"style-layer-{number}"
        )
        if extra is not None:
            styles.append((extra, config.get_property(f"style-weight-{number}"),
                           config.get_property(f"style-region-{number}")))  # fmt: skip
    strength_map = config.get_property("strength-map")
    if config.get_property("strength-from-layer-mask"):
        strength_map = layer.get_mask()
        if strength_map is None:
            raise LinkError(
                "The layer has no mask to use as the strength map; add one (Layer > Mask) or "
                "choose a channel."
            )
    return styles, strength_map


def run_on(config, engine):
    """Run on's machine and the engine's Python there; None for this computer."""
    host = engine_link.remote_host(config.get_property(contract.OPTIONS_BY_NAME["remote"].argument))
    return (host, engine.remotes[host]) if host and host in engine.remotes else None
