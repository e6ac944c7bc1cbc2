"""The engine's L-BFGS: torch's algorithm, without waiting for the device."""

from __future__ import annotations

import pytest
import torch

from styleengine.optim.lbfgs import LBFGS

HISTORY = 5


def _least_squares_with_quartic(device: str = "cpu", dtype: torch.dtype = torch.float64):
    generator = torch.Generator().manual_seed(0)
    matrix, target, start = (
        torch.randn(shape, dtype=torch.float64, generator=generator).to(device, dtype)
        for shape in ((50, 40), (50,), (1, 40))
    )

    def loss(x: torch.Tensor) -> torch.Tensor:
        return ((matrix @ x.view(-1) - target) ** 2).sum() + 0.1 * (x**4).sum()

    return loss, start


def _minimize(loss, start: torch.Tensor, make_optimizer, iterations: int) -> list[float]:
    x = start.clone().requires_grad_(True)
    optimizer = make_optimizer(x)

    def closure() -> torch.Tensor:
        x.grad = None
        value = loss(x)
        value.backward()
        return value

    values = []
    for _ in range(iterations):
        optimizer.step(closure)
        values.append(loss(x).item())
    return values


def _torch_lbfgs(x: torch.Tensor) -> torch.optim.LBFGS:
    return torch.optim.LBFGS(
        [x], lr=1, max_iter=1, history_size=HISTORY, tolerance_grad=0, tolerance_change=0
    )


def test_same_iterates_as_torch_lbfgs():
    """More iterations than history slots, so the ring of pairs wraps around."""
    loss, start = _least_squares_with_quartic()
    ours = _minimize(loss, start, lambda x: LBFGS(x, HISTORY), 60)
    reference = _minimize(loss, start, _torch_lbfgs, 60)
    assert ours == pytest.approx(reference, rel=1e-9)
    assert ours[-1] < ours[0] / 100


def test_pairs_kept_in_bfloat16_converge_like_float32_ones():
    """The detail pass keeps its pairs in bfloat16 to halve its largest memory."""
    loss, start = _least_squares_with_quartic(dtype=torch.float32)
    exact = _minimize(loss, start, lambda x: LBFGS(x, HISTORY), 30)
    rounded = _minimize(loss, start, lambda x: LBFGS(x, HISTORY, history_dtype=torch.bfloat16), 30)
    assert rounded[-1] < exact[0] / 100
    assert rounded[-1] == pytest.approx(exact[-1], rel=0.05)


def test_an_uphill_direction_is_never_followed(monkeypatch):
    """Rounding (bfloat16 features) can make the two-loop recursion's direction point
    uphill; torch's L-BFGS then stops moving for good. Ours steps down the gradient."""
    loss, start = _least_squares_with_quartic()
    values = _minimize(loss, start, lambda x: LBFGS(x, HISTORY), 3)
    monkeypatch.setattr(LBFGS, "_two_loop", lambda self, grad: grad.clone())  # uphill
    uphill = _minimize(loss, start, lambda x: LBFGS(x, HISTORY), 3)
    assert uphill[2] < uphill[1] < uphill[0]
    assert values[0] == uphill[0]  # the first step never uses the recursion


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_iterations_never_wait_for_the_gpu():
    """Any read of a number back to the host inside an iteration raises here."""
    loss, start = _least_squares_with_quartic("cuda", torch.float32)
    x = start.requires_grad_(True)
    optimizer = LBFGS(x, HISTORY)

    def closure() -> torch.Tensor:
        x.grad = None
        value = loss(x)
        value.backward()
        return value

    optimizer.step(closure)
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3 * HISTORY):
            optimizer.step(closure)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(loss(x)).item()
