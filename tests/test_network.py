"""VGG-16 as a feature extractor (styleengine.model.network): cut after the deepest layer, frozen,
layers by name."""

from __future__ import annotations

import pytest

from styleengine.model.network import VGG16_LAYERS, VGGFeatures, check_layer_names


def test_network_is_cut_after_deepest_layer_and_frozen(hed_weights):
    network = VGGFeatures(hed_weights, ["relu1_1", "relu3_1"])
    assert len(network.stack) == VGG16_LAYERS.index("relu3_1") + 1
    assert not any(p.requires_grad for p in network.parameters())
    assert not network.training


def test_unknown_layer_name_is_rejected():
    with pytest.raises(ValueError, match="relu9_9"):
        check_layer_names(["relu1_1", "relu9_9"])
