"""The procedure's dialog: its sections, made from the contract's options, with the layer
previewed as it will be painted beside them (dialog_preview.py)."""

import shutil

import gi

gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
import choices  # noqa: E402
import engine_link  # noqa: E402
import npy_files  # noqa: E402
import pixels  # noqa: E402
import run_folders  # noqa: E402
from dialog_preview import DialogPreview  # noqa: E402
from engine_link import LinkError, contract  # noqa: E402
from gi.repository import GimpUi, Gtk  # noqa: E402

# A style layer is read for the preview at most this large: the engine shrinks a painting to
# the picture's size anyway.
PREVIEW_PAINTING_SIDE = 1024


def _contract_arguments(section):
    return tuple(option.argument for option in contract.dialog_options(section))


# The dialog's sections, in order: what a first run needs in frames on top, what few touch
# in expanders, folded away (a dialog that fits a laptop's screen). Besides the plug-in's own
# arguments, each shows the contract's options of its section.
DIALOG_SECTIONS = (
    ("painting", "Painting", False, ("style-preset", "style-layer", "style-file", "style-region")),
    ("paintings", "More paintings, blended or by regions", True,
     ("style-weight", "style-preset-2", "style-layer-2", "style-weight-2", "style-region-2",
      "style-preset-3", "style-layer-3", "style-weight-3", "style-region-3")),
    ("look", "Look", False, ("strength", "strength-map", "strength-from-layer-mask",
                             *_contract_arguments("look"))),
    ("more", "More options", True, (*_contract_arguments("more"), "live-preview")),
)  # fmt: skip


def fill_dialog(dialog):
    """Frames for the painting and the look, expanders (closed) for the rest."""
    # Strength is the one control most runs change: a slider, read at a glance.
    dialog.get_scale_entry("strength", 1.0)
    sections = []
    for key, title, folded, arguments in DIALOG_SECTIONS:
        dialog.fill_box(f"{key}-box", list(arguments))
        dialog.get_label(f"{key}-title", title, False, False)
        container = dialog.fill_expander if folded else dialog.fill_frame
        container(f"{key}-section", f"{key}-title", False, f"{key}-box")
        sections.append(f"{key}-section")
    # Run on stays visible, greyed, until install.py --remote records a machine to run on.
    run_on = contract.OPTIONS_BY_NAME["remote"].argument
    dialog.set_sensitive(run_on, choices.run_on_offered(), None, None, False)
    dialog.fill(sections)


def dialog_accepted(procedure, config, image, layer):
    """The dialog, with the layer previewed as it will be painted while it is open."""
    GimpUi.init(procedure.get_name())
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "Neural Style")
    fill_dialog(dialog)
    work = run_folders.make_work_dir()
    preview = None
    try:
        try:
            engine = engine_link.load_config(choices.PLUGIN_DIR)
        except LinkError as error:
            engine = error
        if not isinstance(engine, LinkError):
            area = pixels.Area.of(image, layer)
            preview = DialogPreview(
                engine.python, engine.weights, work,
                lambda number: _preview_request(config, area, work, number),
                lambda: choices.run_on(config, engine),
            )  # fmt: skip
            _place_beside(dialog, preview.widget)
            handler = config.connect("notify", preview.changed)
            preview.start()
        accepted = dialog.run()
        if preview is not None:
            config.disconnect(handler)
        return accepted
    finally:
        if preview is not None:
            preview.stop()
        dialog.destroy()
        shutil.rmtree(work, ignore_errors=True)


def _place_beside(dialog, widget):
    """``widget`` to the left of the dialog's sections."""
    content = dialog.get_content_area()
    sections = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=content.get_spacing())
    for child in content.get_children():
        expand, fill, padding, _pack = content.query_child_packing(child)
        content.remove(child)
        sections.pack_start(child, expand, fill, padding)
    row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=12)
    row.pack_start(widget, False, False, 0)
    row.pack_start(sections, True, True, 0)
    content.pack_start(row, True, True, 0)
    row.show_all()


def _preview_request(config, area, work, number):
    """The dialog's choices as a preview request: the area and the paintings (layers and
    masks shrunk to the preview's size, written into ``work``)."""
    styles, strength_map = choices.chosen_styles(config, area.layer)
    scale = min(1.0, contract.PREVIEW_SIDE / max(area.width, area.height))
    content = work / "preview-content.npy"
    if not content.is_file():  # the layer does not change while the dialog is open
        channels = (1 if area.gray else 3) + (1 if area.has_alpha else 0)
        width, height = pixels.scaled(area.width, area.height, scale)
        data = pixels.read_pixels(
            area.layer, area.x, area.y, area.width, area.height, area.pixel_format, scale
        )
        npy_files.write_npy(content, height, width, channels, data)
    style_paths = [
        str(pixels.style_input(source, work / f"preview-style{n}.npy", PREVIEW_PAINTING_SIDE))
        for n, (source, _weight, _region) in enumerate(styles, start=1)
    ]
    regions = {
        str(n): str(pixels.mask_input(region, area, work / f"preview-region{n}.npy", scale))
        for n, (_source, _weight, region) in enumerate(styles, start=1)
        if region is not None
    }
    strength_path = None
    if strength_map is not None:
        strength_path = str(pixels.mask_input(strength_map, area, work / "preview-map.npy", scale))
    chosen = choices.options(config, from_script=False)
    options = {name: chosen[name] for name in contract.PREVIEW_OPTIONS if name in chosen}
    if len(styles) > 1:
        options["style_blend"] = [weight for _source, weight, _region in styles]
    return contract.PreviewRequest(
        number, str(content), style_paths, config.get_property("strength"), options, regions,
        strength_path,
    )  # fmt: skip
