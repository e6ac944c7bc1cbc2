#!/usr/bin/env python3
"""Neural Style for GIMP 3: Filters > Artistic > Neural Style...

Paints the active layer in the style of a painting (Gatys et al.): a painting of the built-in
gallery, another layer or an image file; the result is a new layer above it, in one undo
step. The work is done by the style engine, which runs in its own Python as a subprocess
(see engine_link.py); this file only talks to GIMP. Filters > Artistic > Neural Style
Gallery... opens a gallery painting as an image, to look at it before choosing it.
"""

import shutil
import sys
from pathlib import Path

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
from gi.repository import Gimp, GimpUi, GLib, GObject  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import choices  # noqa: E402
import dialog  # noqa: E402
import engine_link  # noqa: E402
import engine_process  # noqa: E402
import npy_files  # noqa: E402
import pixels  # noqa: E402
import run_folders  # noqa: E402
from engine_link import LinkError, StyleRequest, contract  # noqa: E402

PROCEDURE = "python-fu-neural-style"
GALLERY_PROCEDURE = "python-fu-neural-style-gallery"
# The gallery choice's value when the painting comes from a layer or a file.
NO_PAINTING = "none"


def _choice(*entries):
    """A Gimp.Choice of (nick, label) or (nick, label, help) entries."""
    choice = Gimp.Choice.new()
    for index, (nick, label, *help_text) in enumerate(entries):
        choice.add(nick, index, label, help_text[0] if help_text else "")
    return choice


def _gallery_choice(first=()):
    """The gallery's paintings as a choice, each with its year and look as its help."""
    return _choice(*first, *((p.name, p.label, p.description) for p in contract.GALLERY))


def _add_option(procedure, option, argument, flags):
    """A contract option as a procedure argument: a number in its range, a choice or text;
    the remote as Run on, a choice of this computer and the machines install.py recorded."""
    words = option.help[:1].upper() + option.help[1:]
    if option.name == "remote":
        choice = _choice(*engine_link.run_on_choices(choices.recorded_remotes()))
        procedure.add_choice_argument(
            argument, option.label, engine_link.RUN_ON_HELP, choice, engine_link.RUN_HERE, flags
        )
    elif option.choices:
        choice = _choice(*option.choices)
        procedure.add_choice_argument(argument, option.label, words, choice, option.default, flags)
    elif option.kind is str:
        procedure.add_string_argument(argument, option.label, words, option.default, flags)
    else:
        add = procedure.add_int_argument if option.kind is int else procedure.add_double_argument
        add(argument, option.label, words, option.minimum, option.maximum, option.default, flags)


def _fail(procedure, message):
    Gimp.message(message)
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))


def _stylize(procedure, image, layer, styles, request, with_preview, strength_map):
    """One run of the engine on the layer (or the selection's box) and its new layer."""
    config = engine_link.load_config(choices.PLUGIN_DIR)
    area = pixels.Area.of(image, layer)
    x, y, width, height = area.x, area.y, area.width, area.height
    channels = (1 if area.gray else 3) + (1 if area.has_alpha else 0)

    work = run_folders.make_work_dir()
    preview = None
    try:
        content_path, output_path = work / "content.npy", work / "result.npy"
        content_pixels = pixels.read_pixels(layer, x, y, width, height, area.pixel_format)
        npy_files.write_npy(content_path, height, width, channels, content_pixels)
        style_paths = [
            pixels.style_input(source, work / f"style{index + 1}.npy")
            for index, (source, _weight, _region) in enumerate(styles)
        ]
        regions = {
            number: pixels.mask_input(region, area, work / f"region{number}.npy")
            for number, (_source, _weight, region) in enumerate(styles, start=1)
            if region is not None
        }
        strength_path = None
        if strength_map is not None:
            strength_path = pixels.mask_input(strength_map, area, work / "strength.npy")
        arguments = engine_link.engine_arguments(
            request, content_path, style_paths, output_path, config.weights,
            [weight for _layer, weight, _region in styles],
            work / "preview.npy" if with_preview else None, regions, strength_path,
            config.remotes.get(request.option("remote")),
        )  # fmt: skip
        if with_preview:
            # Before the progress starts: GIMP's Cancel kills the plug-in, and must never
            # find the image's undo frozen (pixels.PreviewLayer).
            preview = pixels.PreviewLayer(area, content_pixels)
        Gimp.progress_init(engine_link.LOADING_TEXT)

        def on_event(event):
            if isinstance(event, contract.PreviewEvent):
                if preview is not None:
                    preview.show(Path(event.path))
            else:
                _show_progress(event)

        result = engine_process.run_engine(config.python, arguments, on_event)
        if not result.ok:
            if result.kind == contract.ErrorKind.CANCELLED.value:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
            raise LinkError(engine_process.failure_message(result))
        shape, result = npy_files.read_npy(output_path)
    finally:
        Gimp.progress_end()
        if preview is not None:
            preview.remove()
        shutil.rmtree(work, ignore_errors=True)

    if shape != (height, width, channels):
        raise LinkError(
            f"The engine returned pixels of shape {shape}, not {(height, width, channels)}."
        )
    if not (image.is_valid() and layer.is_valid()):
        raise LinkError(
            "The image or its layer was closed while Neural Style was working; nothing was changed."
        )
    name = engine_link.result_layer_name([choices.style_name(source) for source, _w, _r in styles])
    image.undo_group_start()
    try:
        area.new_layer(name, result, area.pixel_format)
    finally:
        image.undo_group_end()
    Gimp.displays_flush()
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)


def _show_progress(event):
    if isinstance(event, contract.StartEvent):
        Gimp.progress_set_text(engine_link.plan_text(event))
    elif isinstance(event, contract.ProgressEvent):
        Gimp.progress_set_text(engine_link.progress_text(event))
        Gimp.progress_update(event.fraction())


def _describe(procedure, name, menu_label, blurb, help_text):
    """The procedure's place in Filters > Artistic and its words; the flags its arguments
    take."""
    procedure.set_menu_label(menu_label)
    procedure.add_menu_path("<Image>/Filters/Artistic")
    procedure.set_documentation(blurb, help_text, name)
    procedure.set_attribution("Neural Style for GIMP", "Neural Style for GIMP", "2026")
    return GObject.ParamFlags.READWRITE


class NeuralStyle(Gimp.PlugIn):
    def do_set_i18n(self, name):
        # The plug-in has no translations; False keeps GIMP from looking for a catalog.
        return False

    def do_query_procedures(self):
        return [PROCEDURE, GALLERY_PROCEDURE]

    def do_create_procedure(self, name):
        if name == GALLERY_PROCEDURE:
            return self.create_gallery_procedure(name)
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        flags = _describe(
            procedure, name, "Neural _Style…", "Paint the layer in the style of a painting",
            "Neural style transfer (Gatys et al.): the active layer is repainted with the "
            "brush strokes, textures and colours of a painting (from the gallery, a layer or "
            "a file), as a new layer above it. With a selection, only the selection is styled.",
        )  # fmt: skip
        procedure.add_choice_argument(
            "style-preset", "From the _gallery",
            "A public-domain painting shipped with Neural Style (Filters > Artistic > Neural "
            "Style Gallery shows them); none: the style layer or the file below",
            _gallery_choice([(NO_PAINTING, "None: the style layer or file below")]),
            NO_PAINTING, flags,
        )  # fmt: skip
        procedure.add_layer_argument(
            "style-layer", "St_yle layer", "The layer whose style is applied", True, flags
        )
        procedure.add_file_argument(
            "style-file", "Painting from a _file",
            "An image file of the painting, used instead of the style layer (none: the layer)",
            Gimp.FileChooserAction.OPEN, True, None, flags,
        )  # fmt: skip
        procedure.add_double_argument(
            "style-weight", "Style _weight", "Share of the first style in a blend",
            0.0, 10.0, 1.0, flags,
        )  # fmt: skip
        procedure.add_channel_argument(
            "style-region", "Paints _where",
            "A channel (a saved selection) where this painting paints; none: wherever no other "
            "painting's channel does", True, flags,
        )  # fmt: skip
        for number in (2, 3):
            procedure.add_choice_argument(
                f"style-preset-{number}", f"Painting {number} from the gallery",
                "A gallery painting to blend in, used instead of the layer below; none: the "
                "layer",
                _gallery_choice([(NO_PAINTING, "None: the layer below")]), NO_PAINTING, flags,
            )  # fmt: skip
            procedure.add_layer_argument(
                f"style-layer-{number}", f"Style layer {number} (optional)",
                "Another painting to blend in; none: not used", True, flags,
            )  # fmt: skip
            procedure.add_double_argument(
                f"style-weight-{number}", f"Style weight {number}",
                f"Share of style {number} in the blend", 0.0, 10.0, 1.0, flags,
            )  # fmt: skip
            procedure.add_channel_argument(
                f"style-region-{number}", f"Style {number} paints where",
                f"A channel where style {number} paints; none: wherever no other painting's "
                "channel does", True, flags,
            )  # fmt: skip
        procedure.add_channel_argument(
            "strength-map", "Strength _map",
            "A channel: white paints at full strength, black keeps the layer as it is; none: "
            "the same strength everywhere", True, flags,
        )  # fmt: skip
        procedure.add_boolean_argument(
            "strength-from-layer-mask", "The layer's mask as strength map",
            "The active layer's mask says how strongly to paint, place by place", False, flags,
        )  # fmt: skip
        _add_option(procedure, contract.STRENGTH, contract.STRENGTH.argument, flags)
        for option in contract.OPTIONS:
            if option.section is not None:
                _add_option(procedure, option, option.argument, flags)
                for old in option.old_arguments:  # what older scripts pass; not in the dialog
                    _add_option(procedure, option, old, flags)
        procedure.add_choice_argument(
            "live-preview", "Live pre_view",
            "A layer above yours shows the picture as it emerges; it is replaced by the result",
            _choice(("interactive", "On (scripts: off)"), ("always", "On, for scripts too"),
                    ("never", "Off")),
            "interactive", flags,
        )  # fmt: skip
        return procedure

    def create_gallery_procedure(self, name):
        procedure = Gimp.Procedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run_gallery, None)
        flags = _describe(
            procedure, name, "Neural Style _Gallery…",
            "Open a painting of Neural Style's gallery as a new image",
            "Shows one of the public-domain paintings that Neural Style paints in (Neural "
            "Style, From the gallery) as a new image, its layer named after the painting.",
        )  # fmt: skip
        procedure.add_enum_argument(
            "run-mode", "Run mode", "The run mode", Gimp.RunMode, Gimp.RunMode.INTERACTIVE, flags
        )
        procedure.add_choice_argument(
            "painting", "_Painting", "The gallery painting to open",
            _gallery_choice(), contract.GALLERY[0].name, flags,
        )  # fmt: skip
        procedure.add_image_return_value("image", "Image", "The painting", False, flags)
        return procedure

    def run_gallery(self, procedure, config, data):
        run_mode = config.get_property("run-mode")
        if run_mode == Gimp.RunMode.INTERACTIVE:
            GimpUi.init(GALLERY_PROCEDURE)
            window = GimpUi.ProcedureDialog.new(procedure, config, "Neural Style Gallery")
            window.fill(["painting"])
            accepted = window.run()
            window.destroy()
            if not accepted:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
        painting = contract.GALLERY_BY_NAME[config.get_property("painting")]
        work = run_folders.make_work_dir()
        try:
            path = work / "painting.npy"
            engine_link.export_painting(engine_link.load_config(choices.PLUGIN_DIR), painting, path)
            image = pixels.image_of(painting, *npy_files.read_npy(path))
        except LinkError as error:
            return _fail(procedure, str(error))
        except OSError as error:
            return _fail(procedure, engine_link.file_error_message(error))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if run_mode == Gimp.RunMode.INTERACTIVE:
            Gimp.Display.new(image)
            Gimp.displays_flush()
        values = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)
        # The image replaces the default return value (pygobject cannot set it in place).
        values.remove(1)
        values.insert(1, GObject.Value(Gimp.Image, image))
        return values

    def run(self, procedure, run_mode, image, drawables, config, data):
        if len(drawables) != 1 or not isinstance(drawables[0], Gimp.Layer):
            return _fail(procedure, "Neural Style works on exactly one selected layer.")
        layer = drawables[0]
        if image.get_base_type() == Gimp.ImageBaseType.INDEXED:
            return _fail(
                procedure,
                "Neural Style needs an RGB or grayscale image; use Image > Mode > RGB first.",
            )
        if run_mode == Gimp.RunMode.INTERACTIVE:
            if config.get_property("style-layer") is None:
                config.set_property("style-layer", choices.guess_style_layer(image, layer))
            if choices.first_style(config) is None:  # nothing but the photo open: a painting to try
                config.set_property("style-preset", contract.GALLERY[0].name)
            if not dialog.dialog_accepted(procedure, config, image, layer):
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)

        try:
            styles, strength_map = choices.chosen_styles(config, layer)
        except LinkError as error:
            return _fail(procedure, str(error))
        request = StyleRequest(
            strength=config.get_property("strength"),
            live_preview=config.get_property("live-preview"),
            options=choices.options(config, run_mode != Gimp.RunMode.INTERACTIVE),
        )
        try:
            preview = request.shows_preview(run_mode == Gimp.RunMode.INTERACTIVE)
            return _stylize(procedure, image, layer, styles, request, preview, strength_map)
        except LinkError as error:
            return _fail(procedure, str(error))
        except OSError as error:  # a full or unwritable temporary folder, a vanished file
            return _fail(procedure, engine_link.file_error_message(error))
        except Exception as error:  # a GIMP user gets one message, never a traceback
            log = engine_process.write_error_log([f"{type(error).__name__}: {error}"])
            return _fail(
                procedure,
                f"Neural Style failed unexpectedly ({type(error).__name__}: {error}). "
                f"Details are in {log}.",
            )


Gimp.main(NeuralStyle.__gtype__, sys.argv)


Gimp.main(NeuralStyle.__gtype__, sys.argv)
