"""A closed-form axis expert for tests: the exact flow of the per-point data
distribution (uniform over the golden-spiral points) under the Gaussian prior.

At level t the marginal is a mixture of N((1 - t) x_j + t mu, (t sigma)^2 I);
the velocity is E[eps - x_0 | x] with the mixture's posterior responsibilities.
"""

from __future__ import annotations

import torch

from poe_engine.experts import AXES
from poe_engine.flow import MIN_LEVEL, velocity_to_score
from poe_engine.world import NOISE, XYZ, golden_spiral_sphere


def mixture_log_density(xyz: torch.Tensor, t: float, centres: torch.Tensor) -> torch.Tensor:
    """log p_t(x) of the data mixture, (B, 3) -> (B,)."""
    t = max(t, MIN_LEVEL)
    means = (1 - t) * centres + t * NOISE.position_mean
    var = (t * NOISE.position_std) ** 2
    sq = torch.cdist(xyz.double(), means.double()) ** 2
    log_norm = -1.5 * torch.log(torch.tensor(2 * torch.pi * var, dtype=torch.float64))
    return torch.logsumexp(-sq / (2 * var), dim=1) + log_norm - torch.log(
        torch.tensor(float(len(centres)), dtype=torch.float64))


def exact_velocity(xyz: torch.Tensor, t: float, centres: torch.Tensor) -> torch.Tensor:
    """E[eps - x_0 | x_t = x], (B, 3) -> (B, 3)."""
    t = max(t, MIN_LEVEL)
    means = (1 - t) * centres + t * NOISE.position_mean
    var = (t * NOISE.position_std) ** 2
    resp = torch.softmax(-torch.cdist(xyz, means) ** 2 / (2 * var), dim=1)
    x0_hat = resp @ centres
    eps_hat = (xyz - (1 - t) * x0_hat) / t
    return eps_hat - x0_hat


class ExactAxisExpert:
    """Drop-in for AxisFlowExpert with the exact velocity of the data mixture."""

    noise_std = NOISE.position_std
    bounds = None
    mean_mobility = 0.0

    def __init__(self, axis: str, points: int = 512) -> None:
        self.name = axis
        self.axis = AXES.index(axis)
        self.channels = (self.axis,)
        self.centres = golden_spiral_sphere(points)

    def velocity(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        xyz = cloud[..., XYZ].reshape(-1, 3)
        v = exact_velocity(xyz, t, self.centres.to(xyz))[:, self.axis : self.axis + 1]
        return v.reshape(*cloud.shape[:-1], 1)

    def score(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        own = cloud[..., self.axis : self.axis + 1]
        v = self.velocity(cloud, t)
        return velocity_to_score(v, own, t, NOISE.position_mean, NOISE.position_std)


def exact_experts(points: int = 512) -> dict[str, ExactAxisExpert]:
    return {a: ExactAxisExpert(a, points) for a in AXES}
