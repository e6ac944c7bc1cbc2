"""The h5 conversion and the network: engine activations against an independent float64
reference computed with numpy straight from the h5 file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from styleengine.api import to_tensor
from styleengine.model.network import VGGFeatures
from styleengine.model.weights import NoWeightsError, hed_h5_path, load_weights

CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])


def _numpy_vgg(image_rgb: np.ndarray, h5_path, stop_after: str) -> dict[str, np.ndarray]:
    """VGG-16 in float64 numpy, correlation written out; returns conv outputs by name."""
    import h5py

    x = image_rgb[:, :, ::-1].astype(np.float64) * 255.0 - CAFFE_MEAN_BGR  # H, W, C (BGR)
    outputs: dict[str, np.ndarray] = {}
    keras = ("conv2d", "conv2d_1", "conv2d_2")
    counts = (2, 2, 3, 3, 3)
    with h5py.File(h5_path, "r") as h5:
        for block, count in enumerate(counts, start=1):
            for index in range(count):
                group = h5[f"block{block}/layers/{keras[index]}/vars"]
                kernel = np.asarray(group["0"], dtype=np.float64)  # kh, kw, in, out
                bias = np.asarray(group["1"], dtype=np.float64)
                padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
                height, width = x.shape[:2]
                out = np.zeros((height, width, kernel.shape[3]))
                for dy in range(3):
                    for dx in range(3):
                        out += padded[dy : dy + height, dx : dx + width] @ kernel[dy, dx]
                out += bias
                name = f"conv{block}_{index + 1}"
                outputs[name] = out
                x = np.maximum(out, 0)
                if name == stop_after:
                    return outputs
            height, width = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
            x = x[:height, :width].reshape(height // 2, 2, width // 2, 2, -1).max(axis=(1, 3))
    return outputs


def test_hed_conversion_matches_float64_reference(hed_weights):
    rng = np.random.default_rng(0)
    image = rng.random((32, 32, 3))
    reference = _numpy_vgg(image, hed_h5_path(), stop_after="conv5_1")
    network = VGGFeatures(hed_weights, ["conv1_1", "conv5_1"])
    tensor = to_tensor(image)
    with torch.no_grad():
        activations = network(tensor)
    for name in ("conv1_1", "conv5_1"):
        ours = activations[name][0].permute(1, 2, 0).double().numpy()
        expected = reference[name]
        scale = np.abs(expected).max()
        assert ours.shape == expected.shape
        # float32 rounding through ten layers stays near 1e-6 of the activations' range.
        assert np.abs(ours - expected).max() / scale < 2e-5, name


def test_pth_file_round_trip_full_model_layout(tmp_path, hed_weights):
    full = {f"features.{k}": v for k, v in hed_weights.state_dict.items()}
    full["classifier.0.weight"] = torch.zeros(2, 2)
    path = tmp_path / "vgg.pth"
    torch.save(full, path)
    loaded = load_weights(str(path))
    assert set(loaded.state_dict) == set(hed_weights.state_dict)
    assert torch.equal(loaded.state_dict["0.weight"], hed_weights.state_dict["0.weight"])


def test_pickled_object_is_refused(tmp_path):
    from fractions import Fraction  # any class outside torch's weights-only allow list

    path = tmp_path / "evil.pth"
    torch.save({"0.weight": Fraction(1, 3)}, path)
    with pytest.raises(NoWeightsError, match="could not be read"):
        load_weights(str(path))


def test_missing_imagenet_weights_name_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(NoWeightsError, match="install.py --weights imagenet"):
        load_weights("imagenet")


def test_a_cancel_while_a_weights_file_is_read_is_a_cancel_not_a_bad_file(monkeypatch, tmp_path):
    """The cancel's signal raises in the main thread wherever it is; while torch reads a file
    it used to come out as 'could not be read' (exit code 3 instead of 5)."""
    import pytest
    import torch

    from styleengine.errors import CancelledError
    from styleengine.model import weights

    def cancelled(*args, **kwargs):
        raise CancelledError()

    monkeypatch.setattr(torch, "load", cancelled)
    with pytest.raises(CancelledError):
        weights._read_torch_file(tmp_path / "any.pth", "weights", "Repair.")
