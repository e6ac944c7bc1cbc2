"""Neural style transfer (Gatys, Ecker and Bethge, CVPR 2016) on VGG-16.

Python use::

    from styleengine import stylize, StyleSettings
    result = stylize(content_array, [style_array], StyleSettings(iterations=200))

The command line is ``python -m styleengine stylize CONTENT STYLE -o OUT``; its JSON progress
protocol is described in ``styleengine.run.protocol``.
"""

from .api import EngineSetup, stylize, stylize_image_data
from .errors import EngineError, ErrorKind
from .image.files import ImageData, read_image, write_image
from .run.progress import Progress
from .settings import StyleSettings

__all__ = [
    "EngineError",
    "EngineSetup",
    "ErrorKind",
    "ImageData",
    "Progress",
    "StyleSettings",
    "read_image",
    "stylize",
    "stylize_image_data",
    "write_image",
]
__version__ = "0.1.0"
