"""The engine's contract as the plug-in finds it, and the plug-in's one kind of error: what a
user is told, in words they can act on."""

from __future__ import annotations

import sys
from pathlib import Path

# The contract with the engine (styleengine/contract.py): install.py places it beside the
# plug-in; run from the repository, the plug-in reads the engine's own file.
_HERE = Path(__file__).resolve().parent
CONTRACT_FILES = (
    _HERE / "styleengine_contract.py",
    _HERE.parent.parent / "styleengine" / "contract.py",
)


def _load_contract():
    import importlib.util

    for path in CONTRACT_FILES:
        if path.is_file():
            spec = importlib.util.spec_from_file_location("styleengine_contract", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # its dataclasses look themselves up there
            spec.loader.exec_module(module)
            return module
    raise ImportError(
        f"The Neural Style plug-in is incomplete: {CONTRACT_FILES[0].name} is missing. "
        "Run 'python3 install.py' from the Neural Style folder again."
    )


contract = _load_contract()
CONFIG_NAME = contract.CONFIG_NAME

INSTALL_HINT = "Run 'python3 install.py' from the Neural Style folder to install the engine."


class LinkError(Exception):
    """Something the user must be told, in words they can act on."""
