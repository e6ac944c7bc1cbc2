"""The yardstick: the textbook PyTorch implementation of the engine's objective, as people write
it after the PyTorch neural-transfer tutorial: float32, the whole VGG-16 ``features`` stack,
the default (NCHW) layout, the losses as modules placed in a copy of the network, weights left
trainable (so autograd also computes their gradients), and L-BFGS from ``torch.optim`` with
its default settings. It is kept honest and unoptimized on purpose."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from styleengine.api import EngineSetup
from styleengine.loss.objective import pixel_terms, weighted_total
from styleengine.loss.sliced import SlicedLoss, quantile_table
from styleengine.loss.terms import content_term, style_term
from styleengine.model.network import VGG16_LAYERS, Normalize, build_stack
from styleengine.settings import StyleSettings

DEFAULT_LBFGS_MAX_ITER = 20  # torch.optim.LBFGS's default


class _TutorialContentLoss(nn.Module):
    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.target = target.detach()
        self.loss = torch.tensor(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = content_term((x - self.target).pow(2).sum(), self.target.pow(2).sum())
        return x


class _TutorialStyleLoss(nn.Module):
    """The tutorial's Gram-matrix style loss; at a sliced-Wasserstein layer, the engine's own
    loss (loss/sliced.py), which a textbook loop has no version of."""

    def __init__(self, target_feature: torch.Tensor, weight: float, sliced: bool) -> None:
        super().__init__()
        self.sliced = SlicedLoss(quantile_table(target_feature)) if sliced else None
        self.target = None if sliced else self._gram(target_feature).detach()
        self.weight = weight
        self.loss = torch.tensor(0.0)

    @staticmethod
    def _gram(x: torch.Tensor) -> torch.Tensor:
        a, b, c, d = x.size()
        features = x.view(a * b, c * d)
        return torch.mm(features, features.t()) / (c * d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sliced is not None:
            self.loss = self.weight * self.sliced(x)
        else:
            self.loss = self.weight * style_term(self._gram(x), self.target)
        return x


def baseline_run(
    setup: EngineSetup,
    content: torch.Tensor,
    style: torch.Tensor,
    settings: StyleSettings,
    iterations: int,
    on_iteration: Callable[[int], None],
    on_loss: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """The tutorial's loop; ``on_iteration(evaluations so far)`` after every evaluation, and
    ``on_loss(its total)`` (torch's L-BFGS reads each loss back to the host anyway)."""
    device = setup.device
    cnn = build_stack(len(VGG16_LAYERS) - 1)  # the whole features stack
    cnn.load_state_dict(setup.weights.state_dict, assign=True)
    cnn = cnn.to(device).eval()
    normalization = Normalize(setup.weights.preprocessing).to(device)
    content, style = content.to(device), style.to(device)
    model = nn.Sequential(normalization)
    # The tutorial takes targets from the model under construction, which needs both images
    # at one size; here they keep their own shapes, so targets come from the bare layers.
    bare = nn.Sequential(normalization)
    content_losses, style_losses = [], []
    for name, layer in zip(VGG16_LAYERS, copy.deepcopy(cnn)):
        if isinstance(layer, nn.ReLU):
            layer = nn.ReLU(inplace=False)
        model.add_module(name, layer)
        bare.add_module(name, layer)
        if name in settings.content_layers:
            loss = _TutorialContentLoss(bare(content))
            model.add_module(f"content_loss_{name}", loss)
            content_losses.append(loss)
        if name in settings.style_layers:
            loss = _TutorialStyleLoss(
                bare(style), settings.style_layers[name], name in settings.sliced_layers
            )
            model.add_module(f"style_loss_{name}", loss)
            style_losses.append(loss)
    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([image])
    others = pixel_terms(content)
    evaluations = [0]

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        model(image)
        terms = {
            "content": sum(loss.loss for loss in content_losses),
            "style": sum(loss.loss for loss in style_losses),
            **{term.name: term(image) for term in others},
        }
        loss = weighted_total(settings, terms)
        loss.backward()
        evaluations[0] += 1
        on_iteration(evaluations[0])
        if on_loss is not None:
            on_loss(loss.item())
        return loss

    # torch's L-BFGS makes up to ``max_iter`` (default 20) iterations per step(); the last
    # step is cut short so that both implementations make exactly ``iterations`` (a plain
    # `while evaluations < n: step()` loop, as in the tutorial, overshoots to a multiple of 20).
    while evaluations[0] < iterations:
        group = optimizer.param_groups[0]
        group["max_iter"] = min(DEFAULT_LBFGS_MAX_ITER, iterations - evaluations[0])
        optimizer.step(closure)
    return image.detach().clamp(0, 1).cpu()
