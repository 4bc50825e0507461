"""Spending fewer expert evaluations (issue 21): moves and steps that the samplers
(`samplers.py`) chain when the settings ask for them, and the presets of those settings.

- `colour_steps`: Langevin moves of the colours alone, tilted by the reward. The axis
  experts read x, y, z only and the colour expert and the reward r, g, b only, so a move of
  the colours needs neither axis expert: it costs no expert call. It evaluates a snapshot
  restricted to the experts that own no position (`colour_product`).
- `PRESETS`: `classic`, the defaults before issue 21 (128 levels x (1 ODE step + 3
  Langevin moves), 509 grouped calls), and `default`, today's defaults.

Why a colour-only move is valid (docs/evaluations.md): the level's target factorises into
a positions part and a colours part, q_t(x) = q_t^xyz(xyz) q_t^rgb(rgb) (the experts that own
positions read positions only; the colour expert reads colours only), and the reward reads
the colours only, so the tilted level pi_t ~ q_t exp(lambda R) has the colour conditional
pi_t(rgb | xyz) ~ q_t^rgb(rgb) exp(lambda R(rgb)). A Metropolis-tested move of the colours
that leaves that conditional invariant leaves pi_t invariant (a Gibbs block). The ULA
proposal is reversible for q_t^rgb only approximately (its step bias; as the tilted ULA
moves of every level already are), so the move is approximately pi_t-invariant, exactly so
as the step goes to 0.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from .moves import langevin_step, tilted_langevin_steps
from .product import POSITIONS, Snapshot

# Settings of the presets (SamplerSettings fields); a field they lack keeps its default.
# `classic` is exactly the defaults before issue 21; `default` today's (a test checks).
PRESETS = {
    "classic": {"steps": 128, "langevin_steps": 3, "colour_moves": 0, "time_grid": "uniform",
                "langevin_from": 1.0},
    "default": {"steps": 16, "langevin_steps": 1, "colour_moves": 8, "time_grid": "uniform",
                "langevin_from": 0.25},  # SamplerSettings()'s
}


def preset_settings(name: str) -> dict:
    """The SamplerSettings fields a preset sets (both presets name the same fields)."""
    return dict(PRESETS[name])


def colour_product(product: Snapshot) -> Snapshot:
    """The snapshot restricted to the experts that own no position (the colour expert), with
    the same reward and cost counter: its score and steps on the colours are the product's
    own (the experts' channels do not overlap), and it leaves positions where they are."""
    experts = tuple((e, w) for e, w in product.experts
                    if not any(c in POSITIONS for c in e.channels))
    return replace(product, experts=experts, stacks=(), potentials=())


def colour_steps(
    product: Snapshot, x: torch.Tensor, t: float, kappa: float, n: int,
    scale: torch.Tensor | None, generator: torch.Generator, tests: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor | float]:
    """`n` Langevin moves of the colours at level t: tilted by exp(scale R) when a `scale`
    is given and a reward is in play (`moves.tilted_langevin_steps`), blind otherwise.
    Positions do not move. Returns the particles and the tilted test's mean acceptance
    (NaN: blind)."""
    colours = colour_product(product)
    if not colours.experts:  # no expert owns a colour: nothing moves
        return x, float("nan")
    if scale is not None and colours.reward is not None:
        return tilted_langevin_steps(colours, x, t, kappa, n, scale, generator, tests)
    for _ in range(n):
        x = langevin_step(colours, x, t, kappa, generator)
    return x, float("nan")
