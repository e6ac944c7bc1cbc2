#!/usr/bin/env python3
"""Neural Style for GIMP 3: Filters > Artistic > Neural Style...

Paints the active layer in the style of a painting (Gatys et al.): a painting of the built-in
gallery, another layer or an image file; the result is a new layer above it, in one undo
step. The work is done by the style engine, which runs in its own Python as a subprocess
(see engine_link.py); this file only talks to GIMP. Filters > Artistic > Neural Style
Gallery... opens a gallery painting as an image, to look at it before choosing it.
"""

import contextlib
import operator
import shutil
import sys
from array import array
from pathlib import Path

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GimpUi, GLib, GObject  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import engine_link  # noqa: E402
import engine_process  # noqa: E402
import flatpak  # noqa: E402
import npy_files  # noqa: E402
import run_folders  # noqa: E402
from engine_link import LinkError, StyleRequest, contract  # noqa: E402

PROCEDURE = "python-fu-neural-style"
GALLERY_PROCEDURE = "python-fu-neural-style-gallery"
# The gallery choice's value when the painting comes from a layer or a file.
NO_PAINTING = "none"
PLUGIN_DIR = Path(__file__).resolve().parent
# Perceptual (gamma-encoded) sRGB in float: what the network expects, at full precision.
RGB_FORMATS = {True: "R'G'B'A float", False: "R'G'B' float"}
GRAY_FORMATS = {True: "Y'A float", False: "Y' float"}
FLOAT_BYTES = 4
# A channel's coverage, 0 to 1, as the engine reads a mask.
MASK_FORMAT = "Y float"


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
        choice = _choice(*engine_link.run_on_choices(_recorded_remotes()))
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


def _recorded_remotes():
    """Run on's machines, from the config install.py wrote (none before it did)."""
    try:
        return engine_link.load_config(PLUGIN_DIR).remotes
    except LinkError:
        return {}


def _run_on_offered():
    # In Flathub's sandbox the engine, and so ssh, runs on the host (flatpak.py).
    ssh_found = shutil.which("ssh") is not None or flatpak.in_flatpak()
    return engine_link.run_on_offered(_recorded_remotes(), ssh_found)


def _options(config, from_script):
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


def _fail(procedure, message):
    Gimp.message(message)
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))


def _guess_style_layer(image, layer):
    """A first choice for the dialog: another layer of this image, else of another image."""
    for candidate in image.get_layers():
        if candidate != layer:
            return candidate
    for other in Gimp.get_images():
        if other != image and other.get_layers():
            return other.get_layers()[0]
    return None


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


def _fill_dialog(dialog):
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
    dialog.set_sensitive(contract.OPTIONS_BY_NAME["remote"].argument, _run_on_offered(), None,
                         None, False)  # fmt: skip
    dialog.fill(sections)


def _read_pixels(drawable, x, y, width, height, pixel_format):
    buffer = drawable.get_buffer()
    rectangle = Gegl.Rectangle.new(x, y, width, height)
    return buffer.get(rectangle, 1.0, pixel_format, Gegl.AbyssPolicy.CLAMP)


def _style_input(source, path):
    """What the engine reads for one style: a gallery painting by its name, a file as it is
    (the engine reads image files itself, with its own checks), a layer's pixels written to
    ``path``."""
    if isinstance(source, contract.Painting):
        return contract.GALLERY_PREFIX + source.name
    if isinstance(source, Path):
        return source
    width, height = source.get_width(), source.get_height()
    pixels = _read_pixels(source, 0, 0, width, height, RGB_FORMATS[True])
    mask = source.get_mask()
    if mask is not None and source.get_apply_mask():
        # What the mask hides is not part of the painting: it counts as transparent, as the
        # engine counts a painting's own transparency (nothing at all visible is refused).
        rgba = array("f", pixels)
        shown = array("f", _read_pixels(mask, 0, 0, width, height, MASK_FORMAT))
        rgba[3::4] = array("f", map(operator.mul, rgba[3::4], shown))
        pixels = rgba.tobytes()
    npy_files.write_npy(path, height, width, 4, pixels)
    return path


def _mask_input(drawable, area, path):
    """A channel's (image coordinates) or a layer mask's (the layer's) grey values over the
    processed area, written to ``path`` for the engine."""
    x, y = area.x, area.y
    if not isinstance(drawable, Gimp.LayerMask):
        offset_x, offset_y = area.layer.get_offsets()[1:]
        x, y = x + offset_x, y + offset_y
    pixels = _read_pixels(drawable, x, y, area.width, area.height, MASK_FORMAT)
    npy_files.write_npy(path, area.height, area.width, 1, pixels)
    return path


def _style_name(source):
    if isinstance(source, contract.Painting):
        return source.label
    return source.stem.replace("_", " ") if isinstance(source, Path) else source.get_name()


def _gallery_painting(config, argument):
    """The gallery painting chosen in ``argument``, or None."""
    return contract.GALLERY_BY_NAME.get(config.get_property(argument))


def _first_style(config):
    """The first painting: from the gallery when one is chosen there, else the file, else
    the style layer; None when none is given."""
    painting = _gallery_painting(config, "style-preset")
    if painting is not None:
        return painting
    style_file = config.get_property("style-file")
    if style_file is not None and style_file.get_path():
        return Path(style_file.get_path())
    return config.get_property("style-layer")


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
        procedure.set_menu_label("Neural _Style…")
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_documentation(
            "Paint the layer in the style of a painting",
            "Neural style transfer (Gatys et al.): the active layer is repainted with the "
            "brush strokes, textures and colours of a painting (from the gallery, a layer or "
            "a file), as a new layer above it. With a selection, only the selection is styled.",
            name,
        )
        procedure.set_attribution("Neural Style for GIMP", "Neural Style for GIMP", "2026")
        flags = GObject.ParamFlags.READWRITE
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
        procedure.set_menu_label("Neural Style _Gallery…")
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_documentation(
            "Open a painting of Neural Style's gallery as a new image",
            "Shows one of the public-domain paintings that Neural Style paints in (Neural "
            "Style, From the gallery) as a new image, its layer named after the painting.",
            name,
        )
        procedure.set_attribution("Neural Style for GIMP", "Neural Style for GIMP", "2026")
        flags = GObject.ParamFlags.READWRITE
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
            dialog = GimpUi.ProcedureDialog.new(procedure, config, "Neural Style Gallery")
            dialog.fill(["painting"])
            accepted = dialog.run()
            dialog.destroy()
            if not accepted:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
        painting = contract.GALLERY_BY_NAME[config.get_property("painting")]
        work = run_folders.make_work_dir()
        try:
            path = work / "painting.npy"
            engine_link.export_painting(engine_link.load_config(PLUGIN_DIR), painting, path)
            image = _image_of(painting, *npy_files.read_npy(path))
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
                config.set_property("style-layer", _guess_style_layer(image, layer))
            if _first_style(config) is None:  # nothing but the photo open: a painting to try
                config.set_property("style-preset", contract.GALLERY[0].name)
            GimpUi.init(PROCEDURE)
            dialog = GimpUi.ProcedureDialog.new(procedure, config, "Neural Style")
            _fill_dialog(dialog)
            accepted = dialog.run()
            dialog.destroy()
            if not accepted:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)

        first_style = _first_style(config)
        if first_style is None:
            return _fail(
                procedure,
                "Choose the painting: one from the gallery, a style layer, or an image file of "
                "it (Painting from a file).",
            )
        styles = [
            (first_style, config.get_property("style-weight"), config.get_property("style-region"))
        ]
        for number in (2, 3):
            extra = _gallery_painting(config, f"style-preset-{number}") or config.get_property(
                f"style-layer-{number}"
            )
            if extra is not None:
                styles.append((extra, config.get_property(f"style-weight-{number}"),
                               config.get_property(f"style-region-{number}")))  # fmt: skip
        strength_map = config.get_property("strength-map")
        if config.get_property("strength-from-layer-mask"):
            strength_map = layer.get_mask()
            if strength_map is None:
                return _fail(
                    procedure,
                    "The layer has no mask to use as the strength map; add one (Layer > Mask) "
                    "or choose a channel.",
                )
        request = StyleRequest(
            strength=config.get_property("strength"),
            live_preview=config.get_property("live-preview"),
            options=_options(config, run_mode != Gimp.RunMode.INTERACTIVE),
        )
        try:
            preview = request.shows_preview(run_mode == Gimp.RunMode.INTERACTIVE)
            return self.stylize(procedure, image, layer, styles, request, preview, strength_map)
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

    def stylize(self, procedure, image, layer, styles, request, with_preview, strength_map):
        config = engine_link.load_config(PLUGIN_DIR)
        # With a selection only its bounding box (within the layer) is processed.
        if Gimp.Selection.is_empty(image):
            x, y, width, height = 0, 0, layer.get_width(), layer.get_height()
            masked = False
        else:
            overlaps, x, y, width, height = layer.mask_intersect()
            if not overlaps:
                raise LinkError("The selection does not touch the active layer.")
            masked = True
        area = _Area(image, layer, x, y, width, height, masked)
        channels = (1 if area.gray else 3) + (1 if area.has_alpha else 0)

        work = run_folders.make_work_dir()
        preview = None
        try:
            content_path, output_path = work / "content.npy", work / "result.npy"
            content_pixels = _read_pixels(layer, x, y, width, height, area.pixel_format)
            npy_files.write_npy(content_path, height, width, channels, content_pixels)
            style_paths = [
                _style_input(source, work / f"style{index + 1}.npy")
                for index, (source, _weight, _region) in enumerate(styles)
            ]
            regions = {
                number: _mask_input(region, area, work / f"region{number}.npy")
                for number, (_source, _weight, region) in enumerate(styles, start=1)
                if region is not None
            }
            strength_path = None
            if strength_map is not None:
                strength_path = _mask_input(strength_map, area, work / "strength.npy")
            arguments = engine_link.engine_arguments(
                request, content_path, style_paths, output_path, config.weights,
                [weight for _layer, weight, _region in styles],
                work / "preview.npy" if with_preview else None, regions, strength_path,
                config.remotes.get(request.option("remote")),
            )  # fmt: skip
            if with_preview:
                # Before the progress starts: GIMP's Cancel kills the plug-in, and must never
                # find the image's undo frozen (_PreviewLayer).
                preview = _PreviewLayer(area, content_pixels)
            Gimp.progress_init(engine_link.LOADING_TEXT)

            def on_event(event):
                if isinstance(event, contract.PreviewEvent):
                    if preview is not None:
                        preview.show(Path(event.path))
                else:
                    self.show_progress(event)

            result = engine_process.run_engine(config.python, arguments, on_event)
            if not result.ok:
                if result.kind == contract.ErrorKind.CANCELLED.value:
                    return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
                raise LinkError(engine_process.failure_message(result))
            shape, pixels = npy_files.read_npy(output_path)
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
                "The image or its layer was closed while Neural Style was working; "
                "nothing was changed."
            )
        name = engine_link.result_layer_name([_style_name(source) for source, _w, _r in styles])
        image.undo_group_start()
        try:
            area.new_layer(name, pixels, area.pixel_format)
        finally:
            image.undo_group_end()
        Gimp.displays_flush()
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)

    def show_progress(self, event):
        if isinstance(event, contract.StartEvent):
            Gimp.progress_set_text(engine_link.plan_text(event))
        elif isinstance(event, contract.ProgressEvent):
            Gimp.progress_set_text(engine_link.progress_text(event))
            Gimp.progress_update(event.fraction())


def _image_of(painting, shape, pixels):
    """A new, untitled image of ``pixels`` (height, width, 3), one layer named after the
    painting: nothing to save over, nothing in its undo history."""
    height, width, _channels = shape
    image = Gimp.Image.new(width, height, Gimp.ImageBaseType.RGB)
    image.undo_disable()
    layer = Gimp.Layer.new(
        image, f"{painting.label} ({painting.year})", width, height, Gimp.ImageType.RGB_IMAGE,
        100.0, Gimp.LayerMode.NORMAL,
    )  # fmt: skip
    image.insert_layer(layer, None, 0)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), RGB_FORMATS[False], pixels)
    buffer.flush()
    image.undo_enable()
    image.clean_all()
    return image


class _Area:
    """The part of the active layer a run repaints, and how to put a layer over it."""

    def __init__(self, image, layer, x, y, width, height, masked):
        self.image, self.layer = image, layer
        self.x, self.y, self.width, self.height = x, y, width, height
        self.masked = masked
        self.gray = image.get_base_type() == Gimp.ImageBaseType.GRAY
        self.has_alpha = layer.has_alpha()
        self.pixel_format = (GRAY_FORMATS if self.gray else RGB_FORMATS)[self.has_alpha]

    def layer_type(self):
        if self.gray:
            return Gimp.ImageType.GRAYA_IMAGE if self.has_alpha else Gimp.ImageType.GRAY_IMAGE
        return Gimp.ImageType.RGBA_IMAGE if self.has_alpha else Gimp.ImageType.RGB_IMAGE

    def new_layer(self, name, pixels, pixel_format):
        """A layer directly above the active one over the area, holding ``pixels``, with
        the selection as its mask when the run was limited to it."""
        image, layer = self.image, self.layer
        offset_x, offset_y = layer.get_offsets()[1:]
        new = Gimp.Layer.new(
            image, name, self.width, self.height, self.layer_type(), 100.0,
            Gimp.LayerMode.NORMAL,
        )  # fmt: skip
        new.set_offsets(offset_x + self.x, offset_y + self.y)
        image.insert_layer(new, layer.get_parent(), image.get_item_position(layer))
        self.write(new, pixels, pixel_format)
        if self.masked:
            new.add_mask(new.create_mask(Gimp.AddMaskType.SELECTION))
        return new

    def write(self, target, pixels, pixel_format):
        buffer = target.get_buffer()
        buffer.set(Gegl.Rectangle.new(0, 0, self.width, self.height), pixel_format, pixels)
        buffer.flush()
        target.update(0, 0, self.width, self.height)


class _PreviewLayer:
    """The picture so far, on the canvas above the user's layer while the engine works.

    It must not become part of the user's undo history: the image's undo is frozen while it
    is added and while it is removed (gimp_image_undo_freeze, which GIMP documents for
    in-situ previews), and its pixels are written straight into its buffer, which records
    no undo step. Both happen outside the progress's lifetime, so GIMP's Cancel (which kills
    the plug-in) never finds the undo frozen: it leaves this layer in the image as a normal
    layer, the picture at the moment the user stopped, to keep or delete.
    """

    def __init__(self, area, content_pixels):
        self.area = area
        self.format = (GRAY_FORMATS if area.gray else RGB_FORMATS)[False]
        # It starts as the layer itself, so the canvas does not change until there is
        # something to show.
        with _undo_frozen(area.image):
            self.layer = area.new_layer(
                engine_link.PREVIEW_LAYER_NAME, content_pixels, area.pixel_format
            )
        Gimp.displays_flush()

    def show(self, path):
        if not self.layer.is_valid():  # the user deleted it: nothing to show on
            return
        try:
            shape, pixels = npy_files.read_npy(path)
        except (OSError, ValueError):
            return  # a preview is a courtesy: the next one will do
        if shape != (self.area.height, self.area.width, 1 if self.area.gray else 3):
            return
        self.area.write(self.layer, pixels, self.format)
        Gimp.displays_flush()

    def remove(self):
        image = self.area.image
        if image.is_valid() and self.layer.is_valid():
            with _undo_frozen(image):
                image.remove_layer(self.layer)
            Gimp.displays_flush()


@contextlib.contextmanager
def _undo_frozen(image):
    image.undo_freeze()
    try:
        yield
    finally:
        image.undo_thaw()


Gimp.main(NeuralStyle.__gtype__, sys.argv)
