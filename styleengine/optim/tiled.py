"""The full-image objective and its gradient, computed tile by tile.

A Gram matrix is a sum over positions, so the style statistic of a whole image is the sum
of its tiles' statistics, provided each tile's features equal the untiled ones. They do when
every tile is cut out with a halo that covers what its interior positions see
(``network.receptive_reach`` of the deepest layer) and when tiles start on multiples of the
deepest layer's stride, so the poolings group the same pixels as in the whole image (the
tiles are cut by ``plan.tiles``, where the plan sizes them). Then,
per evaluation:

1. a pass without gradients adds up each style layer's Gram sum over all tile interiors;
2. the style loss's derivative with respect to each Gram matrix, C = dL/dS, follows from
   those sums; it is a constant for the second pass;
3. a pass with gradients computes, per tile, <C, S_tile> (whose gradient with respect to the
   tile's features is the true one, 2 C f) plus the tile's share of the content loss, and
   adds the tile's pixel gradient (halo included) into the image's gradient.

The sliced-Wasserstein layers (loss/sliced.py) compare each value with the painting's quantile at
its rank in the whole picture. Pass 1 also gathers a regular sample of each such layer's
projected values (at most sliced.SAMPLE_POSITIONS positions), where pass 2 finds each
value's rank: exactly the whole picture's when the sample holds every position, within a
fraction of a percent of the distribution beyond.

Memory is bounded by one tile's activations; the image and its gradient are the only
full-size tensors (with the optimizer's state). The pixel terms (layout, total variation)
need no network: each adds its own gradient (``PixelTerm.value_and_gradient``, in bands of
rows where the whole image would cost full-size tensors).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..loss.objective import StyleRegion, as_regions, pixel_terms, weighted_total
from ..loss.sliced import (
    LevelReference,
    flat_weights,
    projections,
    sample_step,
    sampled,
    sliced_term,
    table_of,
    targets_at,
)
from ..loss.terms import content_term, mask_at_positions, style_term
from ..model.network import VGGFeatures, layer_stride
from ..plan.tiles import Tile, plan_tiles
from ..settings import StyleSettings


def _interior(features: torch.Tensor, tile: Tile, stride: int) -> torch.Tensor:
    """The positions of a tile's interior in a map of ``stride`` computed on its crop."""
    top = (tile.top - tile.crop_top) // stride
    left = (tile.left - tile.crop_left) // stride
    # The last row of positions of the image may be cut by the poolings: floor division of
    # the image's own size, as the untiled network does.
    bottom = tile.bottom // stride - tile.crop_top // stride
    right = tile.right // stride - tile.crop_left // stride
    return features[..., top:bottom, left:right]


def _gram_sum(features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Sum over positions of f f^T, each position weighted by ``weights`` (1, 1, h, w)."""
    flat = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    if weights is None:
        return (flat.T @ flat).float()
    flat_weights = weights.permute(0, 2, 3, 1).reshape(-1, 1).to(flat.dtype)
    return (flat.T @ (flat * flat_weights)).float()


def _interior_weights(weights: torch.Tensor | None, tile: Tile, stride: int):
    """A region's weights (at the whole image's positions of a layer) over a tile's interior."""
    if weights is None:
        return None
    return weights[..., tile.top // stride : tile.bottom // stride,
                   tile.left // stride : tile.right // stride]  # fmt: skip


def _sample(features: torch.Tensor, tile: Tile, stride: int, step: int) -> torch.Tensor:
    """A tile interior's positions (``_interior``) on the layer's sampling grid."""
    return sampled(features, tile.top // stride, tile.left // stride, step)


def style_statistics_in_tiles(
    network: VGGFeatures,
    image: torch.Tensor,
    layers: tuple[str, ...],
    sliced_layers: tuple[str, ...],
    tile_side: int,
    device: torch.device,
) -> dict[str, torch.Tensor]:
    """The style targets of ``image`` at ``layers`` (objective.style_statistic), with the
    memory of one tile (a style image at the size of a 24 MP output would not go through the
    network whole): Gram matrices equal to the untiled ones; quantile tables of a regular
    sample of the positions (all of them up to sliced.SAMPLE_POSITIONS)."""
    height, width = image.shape[-2:]
    sums: dict[str, torch.Tensor] = {}
    samples: dict[str, list[torch.Tensor]] = {name: [] for name in sliced_layers}
    steps = {
        n: sample_step(height // layer_stride(n), width // layer_stride(n)) for n in sliced_layers
    }
    with torch.no_grad():
        for tile in plan_tiles(height, width, tile_side, list(layers)):
            crop = image[..., tile.crop_top : tile.crop_bottom, tile.crop_left : tile.crop_right]
            features = network(crop.to(device))
            for name in layers:
                stride = layer_stride(name)
                interior = _interior(features[name], tile, stride)
                if name in sliced_layers:
                    samples[name].append(projections(_sample(interior, tile, stride, steps[name])))
                else:
                    sums[name] = sums.get(name, 0) + _gram_sum(interior)
    positions = {
        n: max(1, (height // layer_stride(n)) * (width // layer_stride(n))) for n in layers
    }
    return {
        name: table_of(torch.cat(samples[name], dim=-1))
        if name in sliced_layers
        else sums[name] / positions[name]
        for name in layers
    }


class TiledObjective:
    """The objective of ``loss.objective.Objective`` over an image too large for one pass."""

    def __init__(
        self,
        network: VGGFeatures,
        content: torch.Tensor,
        style_targets: dict[str, torch.Tensor] | list[StyleRegion],
        settings: StyleSettings,
        tile_side: int,
        device: torch.device,
        on_tile: Callable[[int, int], None] | None = None,
    ) -> None:
        """``style_targets``: of the whole image, or per region with its mask at the
        content's size (a guided Gram matrix is a weighted sum over positions, so it adds
        up over tiles as the plain one does)."""
        self.network = network
        self.on_tile = on_tile
        self.settings = settings
        self.device = device
        self.content_layers = tuple(settings.content_layers)
        self.style_layers = tuple(settings.style_layers)
        self.sliced_layers = tuple(n for n in self.style_layers if n in settings.sliced_layers)
        self.gram_layers = tuple(n for n in self.style_layers if n not in self.sliced_layers)
        layers = [*self.content_layers, *self.style_layers]
        height, width = content.shape[-2:]
        self.tiles = plan_tiles(height, width, tile_side, layers)
        self.positions = {
            n: (height // layer_stride(n)) * (width // layer_stride(n)) for n in layers
        }
        self.steps = {
            n: sample_step(height // layer_stride(n), width // layer_stride(n))
            for n in self.sliced_layers
        }
        self.regions = []  # per region: share, targets, weights and their sum by layer
        for region in as_regions(style_targets):
            targets = {n: t.to(device).float() for n, t in region.targets.items()}
            weights: dict[str, torch.Tensor | None] = dict.fromkeys(self.style_layers)
            totals = {n: float(self.positions[n]) for n in self.style_layers}
            if region.mask is not None:
                for n in self.style_layers:
                    stride = layer_stride(n)
                    weights[n] = mask_at_positions(region.mask, (height // stride, width // stride))
                    totals[n] = max(1.0, float(weights[n].sum()))
            self.regions.append((region.share, targets, weights, totals))
        # Each region's weights at the sliced layers' sampled positions, in the order pass 1
        # gathers the values (tile by tile): the masks do not change, so made once.
        self.sample_weights: list[dict[str, torch.Tensor | None]] = [
            {
                n: None
                if weights[n] is None
                else torch.cat([
                    flat_weights(self._sampled_weights(weights[n], tile, n))
                    for tile in self.tiles
                ]).to(device)
                for n in self.sliced_layers
            }
            for _share, _targets, weights, _totals in self.regions
        ]  # fmt: skip
        # The content's features, tile by tile, kept (in the network's dtype) for the
        # content loss, whose relative error is sum (f - t)^2 / sum t^2 over the image.
        self.content_features: list[dict[str, torch.Tensor]] = []
        squares = dict.fromkeys(self.content_layers, 0.0)
        with torch.no_grad():
            for tile in self.tiles:
                features = self._features(content, tile)
                kept = {}
                for name in self.content_layers:
                    interior = _interior(features[name], tile, layer_stride(name))
                    # Kept exact: rounded to bfloat16, the targets' rounding noise alone
                    # drives the content loss near its minimum and paints fine noise (the
                    # seam test's gradient energy rose fivefold).
                    kept[name] = interior.clone()
                    squares[name] += float(interior.float().pow(2).sum())
                self.content_features.append(kept)
        self.content_norms = {n: torch.tensor(squares[n]) for n in self.content_layers}
        self.pixel_terms = pixel_terms(content)

    def _features(self, image: torch.Tensor, tile: Tile) -> dict[str, torch.Tensor]:
        crop = image[..., tile.crop_top : tile.crop_bottom, tile.crop_left : tile.crop_right]
        return self.network(crop.to(self.device))

    def _sampled_weights(self, weights: torch.Tensor, tile: Tile, name: str) -> torch.Tensor:
        """A region's ``weights`` at layer ``name`` over a tile's sampled positions."""
        stride = layer_stride(name)
        local = _interior_weights(weights, tile, stride)
        return _sample(local, tile, stride, self.steps[name])

    def style_sums(
        self, image: torch.Tensor
    ) -> tuple[list[dict[str, torch.Tensor]], list[dict[str, LevelReference]]]:
        """Pass 1: each region's Gram sum of each Gram layer over the whole image, and
        where the values of each sliced layer stand in the image's distribution."""
        sums: list[dict[str, torch.Tensor]] = [{} for _ in self.regions]
        values: dict[str, list[torch.Tensor]] = {n: [] for n in self.sliced_layers}
        with torch.no_grad():
            for tile in self.tiles:
                features = self._features(image, tile)
                for name in self.sliced_layers:
                    stride, step = layer_stride(name), self.steps[name]
                    interior = _interior(features[name], tile, stride)
                    values[name].append(projections(_sample(interior, tile, stride, step)))
                for region_sums, (_share, _targets, weights, _totals) in zip(sums, self.regions):
                    for name in self.gram_layers:
                        stride = layer_stride(name)
                        interior = _interior(features[name], tile, stride)
                        local = _interior_weights(weights[name], tile, stride)
                        gram = _gram_sum(interior, None if local is None else local.to(self.device))
                        region_sums[name] = region_sums.get(name, 0) + gram
        sample = {name: torch.cat(values[name], dim=-1) for name in self.sliced_layers}
        references = [
            {
                name: LevelReference(sample[name], sample_weights[name], totals[name])
                for name in self.sliced_layers
            }
            for sample_weights, (_share, _targets, _weights, totals) in zip(
                self.sample_weights, self.regions
            )
        ]
        return sums, references

    def loss_and_gradient(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """The total loss, its gradient with respect to ``image`` and the loss terms."""
        settings = self.settings
        sums, references = self.style_sums(image)
        style = torch.zeros((), device=self.device)
        # Each layer's term depends on the image only through its Gram sum S (G = S / N):
        # its slope dL/dS, taken by autograd through loss.terms.style_term, turns the Gram
        # product of every tile into a surrogate whose gradient is the term's.
        slopes: list[dict[str, torch.Tensor]] = []
        for region_sums, (share, targets, _weights, totals) in zip(sums, self.regions):
            region_slopes = {}
            for name in self.gram_layers:
                count = totals[name]
                gram = (region_sums[name] / count).detach().requires_grad_(True)
                with torch.enable_grad():
                    term = style_term(gram, targets[name])
                    (slope,) = torch.autograd.grad(term, gram)
                weight = share * settings.style_layers[name]
                style = style + weight * term.detach()
                region_slopes[name] = settings.style_weight * weight * slope / count
            slopes.append(region_slopes)
        gradient = torch.zeros_like(image)
        content = torch.zeros((), device=self.device)
        for index, (tile, content_features) in enumerate(zip(self.tiles, self.content_features)):
            crop = image[..., tile.crop_top : tile.crop_bottom, tile.crop_left : tile.crop_right]
            crop = crop.to(self.device).detach().requires_grad_(True)
            features = self.network(crop)
            surrogate = torch.zeros((), device=self.device)
            for region_slopes, (_share, _targets, weights, _totals) in zip(slopes, self.regions):
                for name in self.gram_layers:
                    stride = layer_stride(name)
                    interior = _interior(features[name], tile, stride)
                    local = _interior_weights(weights[name], tile, stride)
                    local = None if local is None else local.to(self.device)
                    surrogate = surrogate + (region_slopes[name] * _gram_sum(interior, local)).sum()
            for name in self.sliced_layers:
                stride = layer_stride(name)
                values = projections(_interior(features[name], tile, stride))
                for region_references, (share, targets, weights, totals) in zip(
                    references, self.regions
                ):
                    local = _interior_weights(weights[name], tile, stride)
                    local = None if local is None else flat_weights(local).to(self.device)
                    levels = region_references[name].levels(values.detach(), local)
                    wanted = targets_at(targets[name], levels)
                    part = sliced_term(values, wanted, local, targets[name], totals[name])
                    weight = share * settings.style_layers[name]
                    surrogate = surrogate + settings.style_weight * weight * part
                    style = style + weight * part.detach()
            tile_content = torch.zeros((), device=self.device)
            for name in self.content_layers:
                interior = _interior(features[name], tile, layer_stride(name)).float()
                error = (interior - content_features[name].float()).pow(2).sum()
                tile_content = tile_content + content_term(error, self.content_norms[name])
            (surrogate + settings.content_weight * tile_content).backward()
            gradient[..., tile.crop_top : tile.crop_bottom, tile.crop_left : tile.crop_right] += (
                crop.grad.to(gradient.device)
            )
            content = content + tile_content.detach()
            if self.on_tile is not None:
                self.on_tile(index + 1, len(self.tiles))
        terms = {"content": content, "style": style}
        for term in self.pixel_terms:
            terms[term.name] = term.value_and_gradient(image, gradient, term.weight(settings))
        total = weighted_total(settings, terms)
        return total, gradient, {**terms, "total": total}
