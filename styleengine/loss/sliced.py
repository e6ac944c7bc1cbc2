"""The sliced-Wasserstein style statistic (Heitz et al., CVPR 2021): a layer's feature vectors
compared with the painting's as whole distributions, not by their second moments alone.

The vectors are projected on fixed random orthonormal directions (as many as there are
channels); along each direction the style is the quantile function of the painting's
projected values, sampled at QUANTILE_LEVELS levels. The picture's value at level ``l``
(its rank among the picture's values) is asked to equal the painting's quantile at ``l``:
the optimal transport between the two one-dimensional distributions. Where a Gram matrix
is satisfied by a picture whose channels co-occur as often as the painting's, however the
paint is spread, this asks for the painting's own mix of strokes, flat planes and edges.

A style is then a table (directions, QUANTILE_LEVELS) that does not depend on the size of
the painting or of the picture, so blends of paintings are weighted averages of their
tables (the Wasserstein barycentre along each direction), as blends of Gram matrices are.
Positions can carry weights (a region's mask, a painting's alpha): a weighted position
counts for its share of the distribution.

Two ways to find a value's level, one formula for the term:
- the whole picture (``SlicedLoss``): sorting its projections gives every rank exactly;
- the tiled detail pass (``LevelReference``): the picture is too large to sort whole (a
  24 MP picture's relu3_1 projections take 1.5 GB), so a regular sample of at most
  SAMPLE_POSITIONS positions, gathered tile by tile, stands for the distribution and each
  tile's values find their level in it. With every position in the sample the levels, and
  so the term, are those of the whole picture.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

QUANTILE_LEVELS = 2048
# A sample of 16384 positions places a level within about 0.8% of the distribution (the
# painting's own table, made at the picture's scale, has steps of a few tenths of a percent),
# and with their levels its sorted values take 160 MB over the three default layers.
SAMPLE_POSITIONS = 16384

_directions: dict[tuple[int, str], torch.Tensor] = {}


def directions(channels: int, device: torch.device) -> torch.Tensor:
    """(channels, channels): orthonormal directions, the same in every run and process
    (drawn from a generator seeded with the channel count), so a picture is repeatable."""
    key = (channels, str(device))
    if key not in _directions:
        generator = torch.Generator().manual_seed(channels)
        basis, _ = torch.linalg.qr(torch.randn(channels, channels, generator=generator))
        _directions[key] = basis.to(device)
    return _directions[key]


def projections(features: torch.Tensor) -> torch.Tensor:
    """Features (1, C, H, W) projected on the C directions: (C, H * W) in float32, each
    direction's values contiguous (sorting them so takes half the time of a transposed
    layout)."""
    channels = features.shape[1]
    flat = features.permute(0, 2, 3, 1).reshape(-1, channels).float()
    return (directions(channels, flat.device).T @ flat.T).contiguous()


def flat_weights(weights: torch.Tensor | None) -> torch.Tensor | None:
    """Position weights (1, 1, H, W) as (H * W,) in float32, in the order of projections."""
    return None if weights is None else weights.reshape(-1).float()


def interpolate(known_x: torch.Tensor, known_y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear y at ``x`` (rows, M) from the points ``known_x``, ``known_y`` (rows,
    N; known_x ascending in each row), held constant beyond the ends."""
    last = known_x.shape[-1] - 1
    if last == 0:  # one point (a painting opaque in one place only): a constant
        return known_y.expand(-1, x.shape[-1])
    right = torch.searchsorted(known_x, x.contiguous()).clamp(1, last)
    left = right - 1
    x0, x1 = known_x.gather(-1, left), known_x.gather(-1, right)
    y0, y1 = known_y.gather(-1, left), known_y.gather(-1, right)
    share = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
    return y0 + share * (y1 - y0)


def _sorted_levels(sorted_weights: torch.Tensor) -> torch.Tensor:
    """The level of each sorted value: the share of the weight below it plus half its own
    (for equal weights, (i + 0.5) / N)."""
    cumulative = sorted_weights.cumsum(-1)
    return (cumulative - sorted_weights / 2) / cumulative[..., -1:].clamp_min(1e-12)


def sort_order(values: torch.Tensor) -> torch.Tensor:
    """The permutation that sorts each row of ``values`` (K, N). On a CPU numpy's, whose
    vectorized sort took 20 ms for relu3_1's projections at 336 x 336 where torch's took 50
    (a third of what the sliced layers add to an iteration)."""
    if values.device.type == "cpu":
        return torch.from_numpy(np.argsort(values.detach().numpy(), axis=-1))
    return torch.argsort(values.detach(), dim=-1)


def _sort_with_weights(
    values: torch.Tensor, weights: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``values`` (K, N) sorted along each row, the weight of each sorted value and the
    sorting permutation."""
    order = sort_order(values)
    ordered = values.detach().gather(-1, order)
    if weights is None:
        return ordered, torch.ones_like(ordered), order
    return ordered, weights[order], order


def level_grid(device: torch.device) -> torch.Tensor:
    """The levels a quantile table is sampled at: (j + 0.5) / QUANTILE_LEVELS."""
    return (torch.arange(QUANTILE_LEVELS, device=device, dtype=torch.float32) + 0.5) / (
        QUANTILE_LEVELS
    )


def quantile_table(features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The style of ``features`` (1, C, H, W), positions weighted by ``weights`` (1, 1, H, W):
    (C, QUANTILE_LEVELS), the quantile function of each direction's projected values."""
    return table_of(projections(features), flat_weights(weights))


def table_of(values: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The quantile table of projected ``values`` (K, N) with ``weights`` (N,)."""
    if weights is not None:
        # Positions of no weight (transparent, outside the region) are not part of the
        # distribution; left in, they would be points for the interpolation between levels.
        kept = weights > 0
        values, weights = values[:, kept], weights[kept]
    ordered, ordered_weights, _order = _sort_with_weights(values, weights)
    levels = _sorted_levels(ordered_weights)
    grid = level_grid(values.device).expand(values.shape[0], -1)
    return interpolate(levels, ordered, grid)


def targets_at(table: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The painting's quantiles at ``levels`` (K, N): what the values at those levels are
    asked to be (linear between the table's levels, held constant beyond its ends)."""
    position = (levels * QUANTILE_LEVELS - 0.5).clamp(0, QUANTILE_LEVELS - 1)
    left = position.floor().long().clamp(max=QUANTILE_LEVELS - 2)
    share = position - left
    return table.gather(-1, left) * (1 - share) + table.gather(-1, left + 1) * share


def sliced_term(
    values: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor | None,
    table: torch.Tensor,
    total_weight: float,
) -> torch.Tensor:
    """The weighted squared distance of ``values`` (K, N) from their ``targets`` (the
    painting's quantiles at the values' levels, ``targets_at``), over ``total_weight`` (the
    positions' weight in the whole picture, so that tiles add up), averaged over the
    directions and made relative to the ``table``'s mean square: dimensionless, as the Gram
    term is. Its gradient is the sliced-Wasserstein gradient, the targets being constant."""
    error = (values - targets).pow(2)
    if weights is not None:
        error = error * weights
    norm = table.pow(2).mean().clamp_min(1e-8)
    return error.sum() / (max(total_weight, 1e-12) * values.shape[0]) / norm


class SlicedLoss(nn.Module):
    """The sliced-Wasserstein distance of the image's features from the painting's quantile
    ``table``; with ``weights`` (1, 1, H, W) at the layer's positions, of a region's."""

    def __init__(self, table: torch.Tensor, weights: torch.Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("table", table.detach().float())
        self.weights = flat_weights(weights)
        self.total_weight = None if weights is None else float(weights.sum())
        # Without weights the levels of the sorted values are (i + 0.5) / N whatever the
        # picture, so the sorted targets are made once per N.
        self._sorted_targets: torch.Tensor | None = None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        values = projections(features)
        with torch.no_grad():
            order = sort_order(values)
            if self.weights is None:
                sorted_targets = self._uniform_targets(values.shape[-1])
            else:
                sorted_targets = targets_at(self.table, _sorted_levels(self.weights[order]))
            # Each value's target in the values' own order: the loss's gradient is then an
            # elementwise difference, with no sort to differentiate.
            targets = torch.empty_like(values).scatter_(-1, order, sorted_targets)
        total = values.shape[-1] if self.weights is None else self.total_weight
        return sliced_term(values, targets, self.weights, self.table, total)

    def _uniform_targets(self, count: int) -> torch.Tensor:
        if self._sorted_targets is None or self._sorted_targets.shape[-1] != count:
            levels = (torch.arange(count, device=self.table.device) + 0.5) / count
            self._sorted_targets = targets_at(self.table, levels.expand(self.table.shape[0], -1))
        return self._sorted_targets


def sample_step(height: int, width: int) -> int:
    """Every how many rows and columns a layer map of height x width is sampled so that at
    most SAMPLE_POSITIONS positions are kept (1: every position)."""
    return max(1, math.ceil(math.sqrt(height * width / SAMPLE_POSITIONS)))


def sampled(features: torch.Tensor, first_row: int, first_column: int, step: int) -> torch.Tensor:
    """The positions of ``features`` (..., h, w), whose first row and column are the layer's
    ``first_row`` and ``first_column``, on the layer's grid of every ``step``-th row and
    column: tiles sampled so add up to the sample of the whole map."""
    top = -first_row % step
    left = -first_column % step
    return features[..., top::step, left::step]


class LevelReference:
    """Where a value stands in the distribution of a picture's projected values, found from a
    sample of them: ``levels`` of a tile's values as ``SlicedLoss`` finds them by sorting the
    whole picture (exactly so when the sample holds every position)."""

    def __init__(
        self, values: torch.Tensor, weights: torch.Tensor | None, total_weight: float
    ) -> None:
        """``values`` (K, S): the sample's projections; ``weights`` (S,) theirs;
        ``total_weight``: the weight of all the picture's positions."""
        ordered, ordered_weights, _order = _sort_with_weights(values, weights)
        cumulative = ordered_weights.cumsum(-1)
        self.sorted = ordered
        # The sample's weight below each sorted value, as a share of the sample's weight.
        self.below = (cumulative - ordered_weights) / cumulative[..., -1:].clamp_min(1e-12)
        self.total_weight = total_weight

    def levels(self, values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        """The levels of ``values`` (K, n) with ``weights`` (n,): the share of the picture's
        weight below each value plus half the value's own."""
        rank = torch.searchsorted(self.sorted, values.contiguous())
        below = self.below.gather(-1, rank.clamp(max=self.below.shape[-1] - 1))
        below = torch.where(rank >= self.below.shape[-1], torch.ones_like(below), below)
        own = 1.0 if weights is None else weights
        return below + own / (2 * self.total_weight)
