"""The engine's contract as the plug-in finds it, the engine's one place for what the systems
do differently, and the plug-in's one kind of error: what a user is told, in words they can
act on."""

from __future__ import annotations

import sys
from pathlib import Path

# The engine's standard-library modules the plug-in shares (the package styleengine/contract/
# and styleengine/system.py): install.py places them beside the plug-in under these names;
# run from the repository, the plug-in reads the engine's own files.
_HERE = Path(__file__).resolve().parent
ENGINE_MODULES = {"styleengine_contract": "contract/__init__.py", "styleengine_system": "system.py"}


def engine_module_files(name: str) -> tuple[Path, Path]:
    """Where the module ``name`` is looked for: beside the plug-in, then in the repository."""
    engine_file = ENGINE_MODULES[name]
    beside = _HERE / name / "__init__.py" if "/" in engine_file else _HERE / f"{name}.py"
    return beside, _HERE.parent.parent / "styleengine" / engine_file


def load_module(name: str, path: Path):
    """The module in the file ``path`` under ``name`` (a package's ``__init__.py``: the
    package), the plug-in's and the installer's one way to load the engine's standard-library
    modules without the engine installed."""
    import importlib.util

    package = [str(path.parent)] if path.name == "__init__.py" else None
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=package)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def _load_engine_module(name: str):
    for path in engine_module_files(name):
        if path.is_file():
            return load_module(name, path)
    raise ImportError(
        f"The Neural Style plug-in is incomplete: {name}.py is missing. "
        "Run the installer (install.py) from the Neural Style folder again."
    )


contract = _load_engine_module("styleengine_contract")
system = _load_engine_module("styleengine_system")
CONFIG_NAME = contract.CONFIG_NAME

INSTALL_HINT = f"Run '{system.INSTALL_COMMAND}' from the Neural Style folder to install the engine."


class LinkError(Exception):
    """Something the user must be told, in words they can act on."""
