"""Generative experts behind one small interface, and their names.

A *generative* expert owns some channels of the cloud (x, y, z, r, g, b) and
gives, on those channels only, a velocity (for the denoising ODE) and a score
(for Langevin refinement) at level t. The discriminative expert, the colour
reward, lives in `reward.py`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from .errors import InputError, cut
from .flow import MIN_LEVEL, velocity_to_score
from .world import NOISE, RGB, XYZ


@runtime_checkable
class GenerativeExpert(Protocol):
    name: str
    channels: tuple[int, ...]  # the cloud channels it moves
    noise_std: float  # std of its channels under the noise prior; sets the Langevin step
    bounds: tuple[float, float] | None  # support of its channels, if bounded
    mean_mobility: float  # extra Langevin mobility of the cloud's mean (see MonochromeColorExpert)

    def velocity(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        """(..., N, 6) -> (..., N, len(channels))."""
        ...

    def score(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        """(..., N, 6) -> (..., N, len(channels))."""
        ...


# --------------------------------------------------------------------------- axis experts

AXES = ("x", "y", "z")
TIME_FREQUENCIES = 8


def time_features(t: torch.Tensor) -> torch.Tensor:
    """t in [0, 1], shape (B, 1) -> (B, 1 + 2F): t and sin/cos at F harmonics."""
    k = torch.arange(1, TIME_FREQUENCIES + 1, device=t.device, dtype=t.dtype)
    angle = math.pi * t * k
    return torch.cat([t, torch.sin(angle), torch.cos(angle)], dim=-1)


class AxisFlowNet(nn.Module):
    """Velocity of one axis from a point's xyz and the time: an MLP of 3 hidden layers."""

    def __init__(self, hidden: int = 256, depth: int = 3) -> None:
        super().__init__()
        width_in = 3 + 1 + 2 * TIME_FREQUENCIES
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(width_in if i == 0 else hidden, hidden), nn.SiLU()]
        layers.append(nn.Linear(hidden, 1))
        self.mlp = nn.Sequential(*layers)
        self.hidden, self.depth = hidden, depth

    def forward(self, xyz: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """xyz (B, 3), t (B, 1) -> velocity (B, 1)."""
        centred = (xyz - NOISE.position_mean) / NOISE.position_std
        return self.mlp(torch.cat([centred, time_features(t)], dim=-1))


class AxisFlowExpert(nn.Module):
    """A trained flow model that sees a point's xyz and moves only its own axis."""

    noise_std = NOISE.position_std
    bounds = None
    mean_mobility = 0.0
    sha256: str | None = None  # of its weight file, when loaded from one (`weights.py`)

    def __init__(self, axis: str, net: AxisFlowNet | None = None) -> None:
        super().__init__()
        self.name = axis
        self.axis = AXES.index(axis)
        self.channels = (self.axis,)
        self.net = net if net is not None else AxisFlowNet()

    @torch.inference_mode()
    def velocity(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        xyz = cloud[..., XYZ].reshape(-1, 3)
        tt = torch.full((xyz.shape[0], 1), float(t), device=xyz.device, dtype=xyz.dtype)
        return self.net(xyz, tt).reshape(*cloud.shape[:-1], 1)

    def score(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return self.score_from_velocity(self.velocity(cloud, t), cloud, t)

    def score_from_velocity(self, v: torch.Tensor, cloud: torch.Tensor, t: float) -> torch.Tensor:
        own = cloud[..., self.axis : self.axis + 1]
        return velocity_to_score(v, own, t, NOISE.position_mean, NOISE.position_std)

    @property
    def group_key(self) -> tuple:
        """Experts with equal keys read the same input through the same architecture, so a
        product may evaluate them together (`stacked.AxisFlowStack`)."""
        return ("axis-flow", self.net.hidden, self.net.depth)


# --------------------------------------------------------------------------- colour expert


class MonochromeColorExpert:
    """Analytic colour expert: pulls every point's colour toward the cloud's mean colour.

    Its model of the data: all points share one colour c_bar, and level t adds
    per-point deviations of std t * sigma. The flow v = (c - c_bar) / t shrinks
    deviations in proportion to t (an Euler step from t to s multiplies them by
    exactly s / t) and leaves the mean colour where it is; the score is
    -(c - c_bar) / (t sigma)^2. Colours live in [0, 1], its bounded support.

    The density says nothing about the mean colour itself (it is flat along a
    shift of all points together), so its Langevin moves may use a preconditioner
    that moves the mean as freely as one point's colour (`mean_mobility` = 1)
    instead of 1/sqrt(N) as much. The target is unchanged; the reward's weights
    then have mean colours to choose from all through the run.
    """

    name = "color"
    channels = (3, 4, 5)
    noise_std = NOISE.color_jitter
    bounds = (0.0, 1.0)
    mean_mobility = 1.0

    def _deviation(self, cloud: torch.Tensor) -> torch.Tensor:
        rgb = cloud[..., RGB]
        return rgb - rgb.mean(dim=-2, keepdim=True)

    def velocity(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return self._deviation(cloud) / max(t, MIN_LEVEL)

    def score(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        level_std = max(t, MIN_LEVEL) * self.noise_std
        return -self._deviation(cloud) / (level_std * level_std)


# --------------------------------------------------------------------------- names

# The generative experts a run can switch on, by name, in the order a composition holds
# them: the three axes and the colour.
EXPERT_NAMES = (*AXES, MonochromeColorExpert.name)


def parse_experts(spec: str | Iterable[str]) -> tuple[str, ...]:
    """'x,color' (or names in a list) -> the names, checked, without repeats;
    'none' -> () (every expert switched off)."""
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [n for n in names if n]
    if [n.lower() for n in names] == ["none"]:
        return ()
    unknown = [n for n in names if n not in EXPERT_NAMES]
    if unknown or not names:
        raise InputError(
            f"unknown expert(s) {cut(', '.join(unknown)) if unknown else '(none given)'}: "
            f"choose from {','.join(EXPERT_NAMES)}, or none"
        )
    return tuple(dict.fromkeys(names))

