"""Device choice as the dialog and the CLI name it, on every kind of machine (what is
present is passed in: this machine has neither CUDA nor MPS)."""

from __future__ import annotations

import pytest
import torch

from styleengine.device import select_device
from styleengine.errors import BadInputError


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

    import styleengine.optimization as optimization

    monkeypatch.delattr(torch, "OutOfMemoryError", raising=False)
    try:
        reloaded = importlib.reload(optimization)
        assert reloaded.TORCH_OUT_OF_MEMORY is torch.cuda.OutOfMemoryError
    finally:
        monkeypatch.undo()
        importlib.reload(optimization)


@pytest.mark.parametrize(("bf16_seconds", "chosen"), [(2.0, torch.float32), (0.5, torch.bfloat16)])
def test_cpu_auto_precision_is_bf16_only_where_it_is_faster(
    monkeypatch, tmp_path, bf16_seconds, chosen
):
    """Some CPUs report native bf16 yet run it slower than float32 (a 2-core Xeon VM: 8.0
    against 4.9 s a megapixel); the timings are given here, measured below."""
    from styleengine import device

    monkeypatch.setenv("STYLEENGINE_CACHE", str(tmp_path))  # nothing remembered yet
    timings = {torch.float32: 1.0, torch.bfloat16: bf16_seconds}
    monkeypatch.setattr(device, "cpu_supports_bf16", lambda: True)
    monkeypatch.setattr(device, "conv_seconds", timings.__getitem__)
    device.bf16_faster_on_cpu.cache_clear()
    try:
        assert device.select_precision("auto", torch.device("cpu")) == chosen
        assert device.select_precision("fp32", torch.device("cpu")) == torch.float32
        assert device.select_precision("bf16", torch.device("cpu")) == torch.bfloat16
    finally:
        device.bf16_faster_on_cpu.cache_clear()


def test_the_precision_probe_times_both_types_on_this_cpu():
    from styleengine import device

    assert device.conv_seconds(torch.float32) > 0 and device.conv_seconds(torch.bfloat16) > 0
    assert device.select_precision("auto", torch.device("cpu")) in (torch.float32, torch.bfloat16)
