"""L-BFGS over one tensor that never waits for the device.

The algorithm is torch.optim.LBFGS's without a line search (unit steps, the first one scaled
by 1 / |g|_1), which is what the Gatys optimization has always used. torch's implementation
reads numbers back to the host several times an iteration (the loss as a float, the
curvature test ``ys > 1e-10``, the descent test, the tolerances), and every such read makes
the host wait for the GPU to finish, so the GPU then idles while the next iteration's
kernels are launched. Here those decisions are made on the device with ``torch.where``:

- a curvature pair with ``y.s <= 1e-10`` is stored with weight 0, so it takes no part in
  the two-loop recursion (torch skips storing it; the only difference is that it takes a
  history slot until it is overwritten);
- a direction that is not a descent direction (rounding can make one) is replaced by the
  scaled negative gradient, where torch would stop for good;
- there are no tolerances: the caller runs a fixed number of iterations.

The history is preallocated, so an iteration allocates only temporaries.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

# torch.optim.LBFGS's curvature condition for keeping a pair.
CURVATURE_EPSILON = 1e-10


class LBFGS:
    """Minimizes ``closure()`` over ``parameter``; ``step`` makes one iteration.

    ``closure`` must compute the loss, fill ``parameter.grad`` and return the loss tensor.
    """

    def __init__(
        self,
        parameter: torch.Tensor,
        history_size: int,
        lr: float = 1.0,
        history_dtype: torch.dtype | None = None,
    ) -> None:
        """``history_dtype``: how the pairs are stored (the parameter's dtype unless given);
        bfloat16 halves the largest part of the optimizer's memory (the curvature y.s then
        uses the rounded step: rounding errors of millions of terms that mostly cancel)."""
        if not parameter.is_contiguous():
            raise ValueError("L-BFGS needs a contiguous parameter")
        self.parameter = parameter
        self.history_size = history_size
        self.lr = lr
        size, options = parameter.numel(), {"device": parameter.device, "dtype": parameter.dtype}
        stored = {**options, "dtype": history_dtype or parameter.dtype}
        self._steps = torch.zeros(history_size, size, **stored)  # s: position changes
        self._grad_changes = torch.zeros(history_size, size, **stored)  # y: gradient changes
        self._inverse_curvatures = torch.zeros(history_size, **options)  # 1 / y.s, or 0
        self._scale = torch.ones((), **options)  # H_diag: y.s / y.y of the newest kept pair
        self._previous_grad: torch.Tensor | None = None
        self._stored = 0  # pairs written so far; the newest is at (stored - 1) % size

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            loss = closure()
        grad = self.parameter.grad.detach().reshape(-1)
        if self._previous_grad is None:
            direction = -grad
            # torch's first step: at most 1, less when the gradient is large.
            step_size = (1.0 / grad.abs().sum()).clamp(max=1.0) * self.lr
            self._previous_grad = grad.clone()
        else:
            self._remember(grad)
            self._previous_grad.copy_(grad)
            direction = self._two_loop(grad)
            step_size = self.lr
        # Rounding can give a direction that is not downhill: fall back to steepest descent,
        # -grad * scale. Chosen by arithmetic on the device (no branch on the host) and in
        # place: at 24 MP every full-size temporary is 288 MB.
        downhill = (grad.dot(direction) < 0).to(direction.dtype)
        direction.mul_(downhill).addcmul_(grad, (downhill - 1) * self._scale)
        step = direction.mul_(step_size)
        with torch.no_grad():
            self.parameter.view(-1).add_(step)
        # The step is the next pair's s: it goes to its slot now rather than waiting, a
        # full-size copy, for the next gradient.
        self._steps[self._stored % self.history_size].copy_(step)
        return loss

    def _remember(self, grad: torch.Tensor) -> None:
        """The pair of the last step: its s is in the slot already; y = grad - previous."""
        slot = self._stored % self.history_size
        step = self._steps[slot].to(grad.dtype)
        if self._grad_changes.dtype == grad.dtype:
            grad_change = torch.sub(grad, self._previous_grad, out=self._grad_changes[slot])
        else:
            grad_change = grad - self._previous_grad
            self._grad_changes[slot].copy_(grad_change)
        curvature = grad_change.dot(step)
        kept = curvature > CURVATURE_EPSILON
        self._inverse_curvatures[slot] = torch.where(kept, 1.0 / curvature, 0.0)
        self._scale = torch.where(kept, curvature / grad_change.dot(grad_change), self._scale)
        self._stored += 1

    def _two_loop(self, grad: torch.Tensor) -> torch.Tensor:
        count = min(self._stored, self.history_size)
        newest = (self._stored - 1) % self.history_size
        order = [(newest - age) % self.history_size for age in range(count)]  # newest first
        q = -grad
        alphas = {}
        # addcmul_ with a 0-d tensor: add_(..., alpha=tensor) would read the number back.
        for slot in order:
            alphas[slot] = self._steps[slot].to(q.dtype).dot(q) * self._inverse_curvatures[slot]
            q.addcmul_(self._grad_changes[slot], alphas[slot], value=-1.0)
        r = q.mul_(self._scale)
        for slot in reversed(order):
            beta = self._grad_changes[slot].to(r.dtype).dot(r) * self._inverse_curvatures[slot]
            r.addcmul_(self._steps[slot], alphas[slot] - beta)
        return r
