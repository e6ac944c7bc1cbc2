"""The engine as a Python function: arrays or Pillow images in, a stylized image out."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .contract import GALLERY_PREFIX, OPTIONS_BY_NAME
from .errors import BadInputError, EngineError, check_option
from .image.color import match_histogram, transfer_luminance
from .image.files import ImageData, from_array, from_pil, read_image
from .image.gallery import style_source
from .image.transparency import fill_hidden
from .loss.objective import StyleImage
from .loss.regions import RegionMasks, Regions, mask_tensor
from .model.canvas import resize
from .model.device import hold_thread_count, select_device, select_precision
from .model.weights import WeightSet, load_weights
from .optim.stylizer import Stylizer
from .plan.planning import Plan, PlanRequest
from .run.progress import ProgressCallback
from .settings import StyleSettings

ImageLike = ImageData | np.ndarray | Image.Image
# A style may also be a painting of the gallery, by name: "gallery:hokusai_great_wave".
StyleLike = ImageLike | str


@dataclass
class EngineSetup:
    """Where and how the engine runs; built once, reusable for several images."""

    weights: WeightSet
    device: torch.device
    dtype: torch.dtype

    @classmethod
    def create(
        cls, weights: str | None = None, device: str | None = None, precision: str | None = None
    ) -> EngineSetup:
        """The network's weights, the device and the precision (None: the options'
        defaults, "auto"), each checked by its option's rule before any is loaded."""
        weights, device, precision = (
            check_option(OPTIONS_BY_NAME[name], OPTIONS_BY_NAME[name].given(value))
            for name, value in (("weights", weights), ("device", device),
                                ("precision", precision))
        )  # fmt: skip
        chosen = select_device(device)
        hold_thread_count()
        return cls(load_weights(weights), chosen, select_precision(precision, chosen))

    def stylizer(self, settings: StyleSettings) -> Stylizer:
        return Stylizer(
            self.weights,
            self.device,
            self.dtype,
            content_layers=tuple(settings.content_layers),
            style_layers=tuple(settings.style_layers),
            sliced_layers=tuple(settings.sliced_layers),
        )


def as_image_data(image: StyleLike, name: str) -> ImageData:
    if isinstance(image, ImageData):
        return image
    if isinstance(image, Image.Image):
        return from_pil(image, name)
    if isinstance(image, np.ndarray):
        return from_array(image, name)
    if isinstance(image, str) and image.startswith(GALLERY_PREFIX):
        return read_image(style_source(image))
    raise BadInputError(
        f"{name}: expected a numpy array, a PIL image or a gallery painting "
        f"({GALLERY_PREFIX}NAME), got {type(image).__name__}."
    )


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """(H, W, C) numpy -> (1, C, H, W) float32 tensor."""
    return (
        torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None].float().contiguous()
    )


def stylize_image_data(
    content: ImageData,
    styles: list[ImageData],
    settings: StyleSettings,
    setup: EngineSetup,
    output_size: int | None = None,
    preserve_colors: str | None = None,
    callback: ProgressCallback | None = None,
    working_size: int | None = None,
    detail: str | None = None,
    detail_iterations: int | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    regions: RegionMasks | None = None,
) -> ImageData:
    """The whole job on ImageData: colour handling, plan, optimization, alpha and grey
    restored. The sizes are longest sides in pixels: ``output_size`` the result's (None or
    0: the content's), ``working_size`` the optimization's (None or 0: automatic).
    ``on_plan`` is told the plan before the work starts. ``regions``: where each style
    paints, from which part of its painting, and how strongly (loss/regions.py). None, for
    any of them, is the command line's default."""
    # The run's options by the contract's one rule, as on the command line and in GIMP.
    preserve_colors = OPTIONS_BY_NAME["preserve_colors"].given(preserve_colors)
    check_option(OPTIONS_BY_NAME["preserve_colors"], preserve_colors)
    detail = OPTIONS_BY_NAME["detail"].given(detail)
    request = PlanRequest(output_size, working_size, detail, detail_iterations)
    if not styles:
        raise BadInputError("At least one style image is needed.")
    if not isinstance(settings, StyleSettings):
        raise BadInputError(
            f"settings: expected a styleengine.settings.StyleSettings, got "
            f"{type(settings).__name__}."
        )
    settings.validate(len(styles))
    if content.alpha is not None and float(content.alpha.max()) <= 0:
        raise BadInputError("The photo is entirely transparent: there is nothing in it to paint.")
    content_alpha = None if content.alpha is None else to_tensor(content.alpha[..., None])
    content_rgb = fill_hidden(to_tensor(content.rgb), content_alpha)
    style_images = []
    for number, style in enumerate(styles, start=1):
        if style.alpha is not None and float(style.alpha.sum()) < 1.0:
            # Its colour statistics would be those of nothing: black, and no style.
            raise BadInputError(
                f"Style image {number} is entirely transparent: there is no painting in it "
                "to take the style from."
            )
        alpha = None if style.alpha is None else to_tensor(style.alpha[..., None])
        rgb = fill_hidden(to_tensor(style.rgb), alpha)
        if preserve_colors == "histogram":
            rgb = match_histogram(
                rgb[0],
                content_rgb[0],
                None if alpha is None else alpha[0, 0],
                None if content.alpha is None else torch.from_numpy(content.alpha),
            )[None]
        style_images.append(StyleImage(rgb, alpha))
    guide = None if regions is None else _regions(regions, content, style_images)
    for style_image in style_images:  # what a painting's region leaves out is hidden too
        style_image.rgb = fill_hidden(style_image.rgb, style_image.alpha)

    stylizer = setup.stylizer(settings)
    plan = stylizer.plan((content.height, content.width), style_images, settings, request)
    if on_plan is not None:
        on_plan(plan)
    height, width = plan.output_size
    result = stylizer.run(content_rgb, style_images, settings, plan, callback, guide)
    # Measured against the photo at the size it was painted at (the working size, at most the
    # result's): a photo painted at 1 px is one flat colour, however large the result.
    check_not_blank(result, resize(content_rgb, plan.working_size))
    result_rgb = result[0]
    if preserve_colors == "luminance":
        result_rgb = transfer_luminance(result_rgb, resize(content_rgb, (height, width))[0])
    alpha = content.alpha
    if alpha is not None and alpha.shape != (height, width):
        alpha_tensor = torch.from_numpy(alpha)[None, None]
        alpha = (
            torch.nn.functional.interpolate(alpha_tensor, size=(height, width), mode="bilinear")
            .clamp(0, 1)[0, 0]
            .numpy()
        )
    return ImageData(
        rgb=result_rgb.permute(1, 2, 0).contiguous().numpy(),
        alpha=alpha,
        grayscale=content.grayscale,
        bit_depth=content.bit_depth,
    )


# A picture whose pixels all lie within this span of each other, in every channel, shows
# nothing.
BLANK_SPAN = 1e-3


def _spatial_span(pixels: torch.Tensor) -> float:
    """The largest difference between two pixels in one channel ((C, H, W) or (1, C, H, W))."""
    flat = pixels.reshape(pixels.shape[-3], -1)
    return float((flat.max(dim=1).values - flat.min(dim=1).values).max())


def check_not_blank(result: torch.Tensor, content: torch.Tensor) -> None:
    """A result that is finite and not one flat colour where the photo was not (every
    result keeps the photo's layout): anything else is the engine's failure, an internal
    error with nothing written, never a picture handed over with exit 0."""
    if not bool(torch.isfinite(result).all()) or (
        _spatial_span(result) < BLANK_SPAN <= _spatial_span(content)
    ):
        raise EngineError(
            "The result came out blank or not finite; nothing was written. This is a bug: "
            "please report it."
        )


def _regions(masks: RegionMasks, content: ImageData, styles: list[StyleImage]) -> Regions:
    """The masks as tensors; a painting's own mask joins its alpha (what it is made of)."""
    count = len(styles)
    for number in [*masks.photo, *masks.painting]:
        if not 1 <= number <= count:
            raise BadInputError(
                f"A region is given for style {number}, but there are {count} style images "
                f"(numbered 1 to {count})."
            )
    photo_size = (content.height, content.width)
    for number, mask in masks.painting.items():
        style = styles[number - 1]
        size = tuple(style.rgb.shape[-2:])
        what = f"The painting's region for style {number}"
        painted = mask_tensor(_as_mask(mask, what), size, what)
        style.alpha = painted if style.alpha is None else style.alpha * painted
    photo_masks = []
    for number in range(1, count + 1):
        what = f"The region for style {number}"
        given = masks.photo.get(number)
        photo_masks.append(
            None if given is None else mask_tensor(_as_mask(given, what), photo_size, what)
        )
    strength = None
    if masks.strength is not None:
        what = "The strength map"
        strength = mask_tensor(_as_mask(masks.strength, what), photo_size, what, may_be_empty=True)
    return Regions(photo_masks, strength)


def _as_mask(mask: object, what: str) -> ImageData:
    """A mask as a Python user gives it: read (ImageData), an array, a PIL image, or the
    path of an image file."""
    if isinstance(mask, (str, os.PathLike)) and not str(mask).startswith(GALLERY_PREFIX):
        return read_image(mask)
    if isinstance(mask, (ImageData, np.ndarray, Image.Image)):
        return as_image_data(mask, what)
    raise BadInputError(
        f"{what}: expected a numpy array, a PIL image or an image file's path, "
        f"got {type(mask).__name__}."
    )


def stylize(
    content: ImageLike,
    styles: StyleLike | list[StyleLike],
    settings: StyleSettings | None = None,
    *,
    output_size: int | None = None,
    preserve_colors: str | None = None,
    weights: str | None = None,
    device: str | None = None,
    precision: str | None = None,
    callback: ProgressCallback | None = None,
    working_size: int | None = None,
    detail: str | None = None,
    detail_iterations: int | None = None,
    size: int | None = None,
    work_size: int | None = None,
    regions: RegionMasks | None = None,
) -> ImageLike:
    """Stylize ``content`` with one or more ``styles``; returns the same kind as ``content``. A
    style may be a gallery painting's name ("gallery:NAME"; ``styleengine gallery``).

    Arrays are (H, W) or (H, W, C) with C = 1..4, float in [0, 1], uint8 or uint16; the
    content's alpha passes through and a grey content gives a grey result. ``callback`` receives
    a ``run.progress.Progress`` (the protocol's progress record and the picture so far) after
    each reported iteration. ``output_size``: the result's longest side (default: the
    content's); ``working_size``: the longest side the optimization works at (default:
    automatic); ``detail``: "auto", "on" or "off" for the full-size detail pass in tiles, and
    ``detail_iterations`` its iterations (default: as many as the time allows). ``size`` and
    ``work_size`` are their older names. None, for any of these, means the command line's
    default. ``regions``: where each style paints and how strongly (``regions.RegionMasks``).
    """
    style_list = styles if isinstance(styles, list) else [styles]
    content_data = as_image_data(content, "content")
    style_data = [as_image_data(s, f"style {i + 1}") for i, s in enumerate(style_list)]
    setup = EngineSetup.create(weights, device, precision)
    result = stylize_image_data(
        content_data,
        style_data,
        settings or StyleSettings(),
        setup,
        output_size=output_size or size,
        preserve_colors=preserve_colors,
        callback=callback,
        working_size=working_size or work_size,
        detail=detail,
        detail_iterations=detail_iterations,
        regions=regions,
    )
    if isinstance(content, Image.Image):
        pixels = np.round(result.channels() * 255).astype(np.uint8)
        return Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    if isinstance(content, np.ndarray):
        channels = result.channels()
        if content.ndim == 2:
            channels = channels[..., 0]
        if content.dtype == np.uint8:
            return np.round(channels * 255).astype(np.uint8)
        if content.dtype == np.uint16:
            return np.round(channels * 65535).astype(np.uint16)
        return channels
    return result
