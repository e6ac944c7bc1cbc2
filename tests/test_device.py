"""Device choice as the dialog and the CLI name it, on every kind of machine (what is
present is passed in: this machine has neither CUDA nor MPS)."""

from __future__ import annotations

import pytest
import torch

from styleengine.errors import BadInputError
from styleengine.model.device import select_device


@pytest.mark.parametrize(
    "name, cuda, mps, expected",
    [
        ("auto", True, False, "cuda"),
        ("auto", False, True, "mps"),
        ("auto", False, False, "cpu"),
        ("gpu", True, False, "cuda"),
        ("gpu", False, True, "mps"),  # Apple silicon: the dialog's GPU works there too
        ("cpu", True, True, "cpu"),
        ("mps", False, True, "mps"),
    ],
)
def test_device_choice(name, cuda, mps, expected):
    assert select_device(name, cuda=cuda, mps=mps) == torch.device(expected)


@pytest.mark.parametrize("name", ["gpu", "cuda", "mps"])
def test_missing_gpu_says_what_to_choose_in_the_dialog_and_the_cli(name):
    with pytest.raises(BadInputError) as raised:
        select_device(name, cuda=False, mps=False)
    assert "Device Automatic or CPU" in raised.value.message
    assert "--device" in raised.value.message


def test_out_of_memory_class_of_torch_before_2_5_is_used(monkeypatch):
    """pyproject allows torch 2.1, which has no torch.OutOfMemoryError."""
    import importlib

    import styleengine.optim.stylizer as optimization

    monkeypatch.delattr(torch, "OutOfMemoryError", raising=False)
    try:
        reloaded = importlib.reload(optimization)
        assert reloaded.TORCH_OUT_OF_MEMORY is torch.cuda.OutOfMemoryError
    finally:
        monkeypatch.undo()
        importlib.reload(optimization)


def test_cpu_auto_precision_is_float32_and_explicit_choices_are_kept():
    """bfloat16's CPU kernels changed from process to process on a 2-core Xeon VM (a tenfold
    speed difference), and the same seed gave another picture: auto never picks it on a
    CPU; asked for, it is used."""
    from styleengine.model import device

    assert device.select_precision("auto", torch.device("cpu")) == torch.float32
    assert device.select_precision("fp32", torch.device("cpu")) == torch.float32
    assert device.select_precision("bf16", torch.device("cpu")) == torch.bfloat16
