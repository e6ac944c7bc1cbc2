"""Neural style transfer (Gatys, Ecker and Bethge, CVPR 2016) on VGG-16.

Python use::

    from styleengine import stylize, StyleSettings
    result = stylize(content_array, [style_array], StyleSettings(iterations=200))

A run from files, here or on another machine over ssh, the way the command line runs it::

    from styleengine import Job, RemoteEngine
    RemoteEngine(host="gpubox").stylize(Job("photo.jpg", ["gallery:munch_the_scream"], "out.png"))

The command line is ``python -m styleengine stylize CONTENT STYLE -o OUT``; its JSON progress
protocol is described in ``styleengine.run.protocol``.
"""

from importlib import import_module
from typing import Any

# Where each public name lives. They are imported on first use (PEP 562), so that what needs
# no network (the relay of a remote run, the gallery's list, --help) starts without PyTorch.
_PUBLIC = {
    "EngineSetup": "api",
    "stylize": "api",
    "stylize_image_data": "api",
    "Job": "engines",
    "LocalEngine": "engines",
    "RemoteEngine": "engines",
    "EngineError": "errors",
    "ErrorKind": "errors",
    "ImageData": "image.files",
    "read_image": "image.files",
    "write_image": "image.files",
    "Progress": "run.progress",
    "StyleSettings": "settings",
}


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'styleengine' has no attribute {name!r}")
    return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)


__all__ = [
    "EngineError",
    "EngineSetup",
    "ErrorKind",
    "ImageData",
    "Job",
    "LocalEngine",
    "Progress",
    "RemoteEngine",
    "StyleSettings",
    "read_image",
    "stylize",
    "stylize_image_data",
    "write_image",
]
__version__ = "0.1.0"
