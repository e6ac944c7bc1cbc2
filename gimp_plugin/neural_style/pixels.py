"""The plug-in's pixels: what it reads of GIMP's layers and channels for the engine (at full
size for a run, scaled down for the dialog's preview), and the layers it puts back: the
result's, the live preview's on the canvas, a gallery painting's image."""

import contextlib
import operator
from array import array
from pathlib import Path

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
import engine_link  # noqa: E402
import npy_files  # noqa: E402
from engine_link import LinkError, contract  # noqa: E402
from gi.repository import Gegl, Gimp  # noqa: E402

# Perceptual (gamma-encoded) sRGB in float: what the network expects, at full precision.
RGB_FORMATS = {True: "R'G'B'A float", False: "R'G'B' float"}
GRAY_FORMATS = {True: "Y'A float", False: "Y' float"}
FLOAT_BYTES = 4
# A channel's coverage, 0 to 1, as the engine reads a mask.
MASK_FORMAT = "Y float"


def read_pixels(drawable, x, y, width, height, pixel_format, scale=1.0):
    """The pixels of the rectangle (x, y, width, height); at a ``scale`` below 1, the
    rectangle shrunk by it (``scaled``), as GEGL averages it down."""
    buffer = drawable.get_buffer()
    if scale == 1.0:
        rectangle = Gegl.Rectangle.new(x, y, width, height)
    else:
        rectangle = Gegl.Rectangle.new(
            int(x * scale), int(y * scale), *scaled(width, height, scale)
        )
    return buffer.get(rectangle, scale, pixel_format, Gegl.AbyssPolicy.CLAMP)


def scaled(width, height, scale):
    """A size shrunk by ``scale``, at least a pixel each way."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def style_input(source, path, longest=None):
    """What the engine reads for one style: a gallery painting by its name, a file as it is
    (the engine reads image files itself, with its own checks), a layer's pixels written to
    ``path`` (shrunk to ``longest`` on its longer side, if given and larger)."""
    if isinstance(source, contract.Painting):
        return contract.GALLERY_PREFIX + source.name
    if isinstance(source, Path):
        return source
    width, height = source.get_width(), source.get_height()
    scale = 1.0 if longest is None else min(1.0, longest / max(width, height))
    pixels = read_pixels(source, 0, 0, width, height, RGB_FORMATS[True], scale)
    mask = source.get_mask()
    if mask is not None and source.get_apply_mask():
        # What the mask hides is not part of the painting: it counts as transparent, as the
        # engine counts a painting's own transparency (nothing at all visible is refused).
        rgba = array("f", pixels)
        shown = array("f", read_pixels(mask, 0, 0, width, height, MASK_FORMAT, scale))
        rgba[3::4] = array("f", map(operator.mul, rgba[3::4], shown))
        pixels = rgba.tobytes()
    width, height = scaled(width, height, scale)
    npy_files.write_npy(path, height, width, 4, pixels)
    return path


def mask_input(drawable, area, path, scale=1.0):
    """A channel's (image coordinates) or a layer mask's (the layer's) grey values over the
    processed area (shrunk by ``scale``), written to ``path`` for the engine."""
    x, y = area.x, area.y
    if not isinstance(drawable, Gimp.LayerMask):
        offset_x, offset_y = area.layer.get_offsets()[1:]
        x, y = x + offset_x, y + offset_y
    pixels = read_pixels(drawable, x, y, area.width, area.height, MASK_FORMAT, scale)
    width, height = scaled(area.width, area.height, scale)
    npy_files.write_npy(path, height, width, 1, pixels)
    return path


def image_of(painting, shape, pixels):
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


class Area:
    """The part of the active layer a run repaints, and how to put a layer over it."""

    def __init__(self, image, layer, x, y, width, height, masked):
        self.image, self.layer = image, layer
        self.x, self.y, self.width, self.height = x, y, width, height
        self.masked = masked
        self.gray = image.get_base_type() == Gimp.ImageBaseType.GRAY
        self.has_alpha = layer.has_alpha()
        self.pixel_format = (GRAY_FORMATS if self.gray else RGB_FORMATS)[self.has_alpha]

    @classmethod
    def of(cls, image, layer):
        """The layer's area a run repaints: with a selection, only its bounding box within
        the layer."""
        if Gimp.Selection.is_empty(image):
            return cls(image, layer, 0, 0, layer.get_width(), layer.get_height(), False)
        overlaps, x, y, width, height = layer.mask_intersect()
        if not overlaps:
            raise LinkError("The selection does not touch the active layer.")
        return cls(image, layer, x, y, width, height, True)

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


class PreviewLayer:
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
        with undo_frozen(area.image):
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
            with undo_frozen(image):
                image.remove_layer(self.layer)
            Gimp.displays_flush()


@contextlib.contextmanager
def undo_frozen(image):
    image.undo_freeze()
    try:
        yield
    finally:
        image.undo_thaw()
