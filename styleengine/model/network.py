"""VGG-16's convolutional part as a feature extractor whose layers are addressed by name.

Only the layers up to the deepest one a loss needs are built; the weights are frozen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

# torchvision's VGG-16 configuration: channel counts of the conv layers, "M" for max pooling.
_VGG16_CONFIG = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
)


def _layer_names() -> list[str]:
    """Names of torchvision's ``features`` modules in order: conv1_1, relu1_1, ..., pool5."""
    names: list[str] = []
    block, index = 1, 1
    for entry in _VGG16_CONFIG:
        if entry == "M":
            names.append(f"pool{block}")
            block, index = block + 1, 1
        else:
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
            index += 1
    return names


VGG16_LAYERS: tuple[str, ...] = tuple(_layer_names())
VGG16_CONV_LAYERS: tuple[str, ...] = tuple(n for n in VGG16_LAYERS if n.startswith("conv"))
_LAYER_INDEX = {name: index for index, name in enumerate(VGG16_LAYERS)}


def expected_parameter_shapes() -> dict[str, tuple[int, ...]]:
    """Every conv tensor's shape in VGG-16's ``features``, by state-dict key."""
    shapes: dict[str, tuple[int, ...]] = {}
    channels = 3
    convs = iter(VGG16_CONV_LAYERS)
    for entry in _VGG16_CONFIG:
        if entry != "M":
            weight, bias = conv_parameter_keys(next(convs))
            shapes[weight], shapes[bias] = (entry, channels, 3, 3), (entry,)
            channels = entry
    return shapes


def conv_parameter_keys(conv_name: str) -> tuple[str, str]:
    """The state-dict keys (weight, bias) of a conv layer in torchvision's ``features``."""
    index = _LAYER_INDEX[conv_name]
    return f"{index}.weight", f"{index}.bias"


def layer_stride(name: str) -> int:
    """Pixels per position of a layer's map: 1 in block 1, halved by every pooling."""
    block = int(name[len(name.rstrip("0123456789_")) :].split("_")[0])
    return 2**block if name.startswith("pool") else 2 ** (block - 1)


def receptive_reach(name: str) -> int:
    """How far, in input pixels, a position of layer ``name`` sees beyond its own block of
    ``layer_stride`` pixels on each side: each 3x3 convolution adds one step of the stride
    it runs at (relu5_1: 58 px, so its receptive field is 16 + 2 x 58 = 132 px)."""
    reach, stride = 0, 1
    for layer in VGG16_LAYERS:
        if layer.startswith("conv"):
            reach += stride
        elif layer.startswith("pool"):
            stride *= 2
        if layer == name:
            return reach
    raise ValueError(f"Unknown VGG-16 layer {name!r}")


def check_layer_names(names: Iterable[str]) -> None:
    """Raise ValueError naming the first unknown layer."""
    for name in names:
        if name not in _LAYER_INDEX:
            raise ValueError(
                f"Unknown VGG-16 layer {name!r}; known layers are {', '.join(VGG16_LAYERS)}."
            )


@dataclass(frozen=True)
class Preprocessing:
    """How an RGB image in [0, 1] becomes the network's input for a given set of weights."""

    channel_order: tuple[int, int, int]
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class WeightSet:
    """Weights for VGG-16's ``features`` stack, keyed as in torchvision (``"0.weight"``...)."""

    name: str
    path: Path
    state_dict: dict[str, torch.Tensor]
    preprocessing: Preprocessing


class Normalize(nn.Module):
    """Turns RGB in [0, 1] into the input the weights were trained on."""

    def __init__(self, preprocessing: Preprocessing) -> None:
        super().__init__()
        # A buffer, so it moves to the device with the module: indexing with a Python list
        # copies a fresh index to the GPU at every forward pass, and that copy makes the
        # host wait for the device (measured on an H200: one wait an iteration).
        self.register_buffer("channel_order", torch.tensor(preprocessing.channel_order))
        scale = torch.tensor(preprocessing.scale)
        mean = torch.tensor(preprocessing.mean).view(1, 3, 1, 1)
        std = torch.tensor(preprocessing.std).view(1, 3, 1, 1)
        # x * scale / std - mean / std, as one multiply-add.
        self.register_buffer("multiplier", scale / std)
        self.register_buffer("offset", -mean / std)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image.index_select(1, self.channel_order) * self.multiplier + self.offset


class VGGFeatures(nn.Module):
    """VGG-16 ``features`` cut after the deepest requested layer; returns named activations."""

    def __init__(self, weights: WeightSet, layers: Iterable[str]) -> None:
        super().__init__()
        self.layers = tuple(dict.fromkeys(layers))
        check_layer_names(self.layers)
        deepest = max(_LAYER_INDEX[name] for name in self.layers)
        self.normalize = Normalize(weights.preprocessing)
        self.stack = build_stack(deepest)
        for name in self.layers:
            relu_index = _LAYER_INDEX[name] + 1
            if name.startswith("conv") and relu_index < len(self.stack):
                # An in-place ReLU would overwrite the requested conv output.
                self.stack[relu_index] = nn.ReLU(inplace=False)
        own_keys = set(self.stack.state_dict())
        self.stack.load_state_dict(
            {k: v for k, v in weights.state_dict.items() if k in own_keys}, assign=True
        )
        self.requires_grad_(False)
        self.eval()
        self._wanted = {_LAYER_INDEX[name]: name for name in self.layers}

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Activations of ``image`` (N, 3, H, W), RGB in [0, 1]."""
        activations: dict[str, torch.Tensor] = {}
        # Normalized in float32, then cast to the stack's dtype in channels-last, the layout
        # oneDNN and cuDNN run convolutions fastest in. The cast's backward hands the
        # gradient back to ``image`` in the image's own dtype and layout.
        stack_parameter = next(self.stack.parameters())
        x = self.normalize(image.float()).to(
            dtype=stack_parameter.dtype, memory_format=torch.channels_last
        )
        for index, module in enumerate(self.stack):
            x = module(x)
            name = self._wanted.get(index)
            if name is not None:
                activations[name] = x
        return activations


def build_stack(last_index: int) -> nn.Sequential:
    """torchvision's layer types up to ``last_index``, with in-place ReLUs (less memory
    traffic: the conv output is not kept apart from the ReLU's). The layers are made on the
    meta device, skipping a random initialization that the weights replace anyway: load
    them with ``load_state_dict(..., assign=True)``."""
    modules: list[nn.Module] = []
    channels = 3
    for entry in _VGG16_CONFIG:
        if entry == "M":
            modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            conv = nn.Conv2d(channels, entry, kernel_size=3, padding=1, device="meta")
            modules += [conv, nn.ReLU(inplace=True)]
            channels = entry
    return nn.Sequential(*modules[: last_index + 1])
