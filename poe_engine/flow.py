"""Flow-matching maths under the one time convention of `poe_engine.world`:

    x_t = (1 - t) x_0 + t eps,   eps ~ N(mu, sigma^2 I),   v = eps - x_0.

Given a flow model's velocity v(x, t) = E[eps - x_0 | x_t = x], the posterior
means follow from x = (1 - t) E[x_0|x] + t E[eps|x]:

    E[eps | x] = x + (1 - t) v,      E[x_0 | x] = x - t v.

Since x_t | x_0 ~ N((1 - t) x_0 + t mu, t^2 sigma^2), Tweedie's formula gives
the score of the level-t marginal exactly:

    grad log p_t(x) = -(E[eps | x] - mu) / (t sigma^2) = -(x + (1 - t) v - mu) / (t sigma^2).
"""

from __future__ import annotations

import math

import torch

# Levels below this are treated as data: the score is singular at t = 0.
MIN_LEVEL = 1e-6


def interpolate(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """The noisy point x_t of the time convention."""
    return (1.0 - t) * x0 + t * eps


def velocity_to_score(
    velocity: torch.Tensor, x: torch.Tensor, t: float, mean: float, std: float
) -> torch.Tensor:
    """Exact score of the level-t marginal for a Gaussian noise prior N(mean, std^2)."""
    t = max(t, MIN_LEVEL)
    eps_hat = x + (1.0 - t) * velocity
    return -(eps_hat - mean) / (t * std * std)


GRIDS = ("uniform", "cosine", "quadratic")


def time_grid(steps: int, grid: str = "uniform") -> list[float]:
    """Levels t_0 = 1 > t_1 > ... > t_steps = 0. With u_k = k / steps: `uniform` t = 1 - u
    (evenly spaced); `cosine` t = (1 + cos(pi u)) / 2 (levels crowd at both ends);
    `quadratic` t = (1 - u)^2 (crowd near the data, t = 0). (A grid crowded near the noise,
    t = sqrt(1 - u), was measured and dropped: its last step, into t = 0, is too long;
    docs/evaluations.md.)"""
    if grid == "uniform":
        return [1.0 - k / steps for k in range(steps)] + [0.0]
    if grid == "cosine":
        levels = [0.5 * (1.0 + math.cos(math.pi * k / steps)) for k in range(steps)]
    elif grid == "quadratic":
        levels = [(1.0 - k / steps) ** 2 for k in range(steps)]
    else:
        raise ValueError(f"grid must be one of {', '.join(GRIDS)}, got {grid!r}")
    return levels + [0.0]
