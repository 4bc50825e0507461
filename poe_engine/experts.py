"""Experts behind one small interface.

A *generative* expert owns some channels of the cloud (x, y, z, r, g, b) and
gives, on those channels only, a velocity (for the denoising ODE) and a score
(for Langevin refinement) at level t. A *discriminative* expert gives a
log-reward per particle; it has no gradient and acts only through importance
weights and resampling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import torch
import webcolors
from torch import nn

from .errors import InputError, check_number, cut, shown
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
# Every generative expert a run may hold, in the order a composition holds them.
EXPERT_NAMES = (*AXES, "color")
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

# The generative experts a run can switch on, by name: the three axes and the colour.
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


# --------------------------------------------------------------------------- rewards

NAMED_COLORS = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "white": (1.0, 1.0, 1.0),
}
DEFAULT_STRENGTH = 300.0
# The largest reward strength anyone may set (command line, configuration, app). The
# log-reward is computed in float64, where rewards of this size keep weights finite.
MAX_STRENGTH = 1e4


class ColorReward:
    """Log-reward of a cloud's mean colour m, times `strength`.

    - red, green, blue: the chosen channel minus the mean of the other two,
    - white: mean brightness (m_r + m_g + m_b) / 3,
    - any other RGB target: minus the Euclidean distance from m to the target.
    """

    def __init__(self, color: str | tuple[float, float, float], strength: float = DEFAULT_STRENGTH):
        self.name, self.target = parse_color(color)
        check_number("reward strength", strength, 0.0, MAX_STRENGTH)
        self.strength = float(strength)

    def score_mean_color(self, mean_rgb: torch.Tensor) -> torch.Tensor:
        if self.name in ("red", "green", "blue"):
            c = ("red", "green", "blue").index(self.name)
            others = [i for i in range(3) if i != c]
            return mean_rgb[..., c] - 0.5 * mean_rgb[..., others].sum(dim=-1)
        if self.name == "white":
            return mean_rgb.mean(dim=-1)
        target = torch.tensor(self.target, device=mean_rgb.device, dtype=mean_rgb.dtype)
        return -torch.linalg.vector_norm(mean_rgb - target, dim=-1)

    def log_reward(self, clouds: torch.Tensor) -> torch.Tensor:
        """(L, N, 6) -> (L,), in float64 whatever the clouds' precision: weights and ESS
        are computed from it."""
        return self.strength * self.score_mean_color(clouds[..., RGB].double().mean(dim=-2))

    def __repr__(self) -> str:
        return f"ColorReward({self.name!r}, strength={self.strength:g})"


# The one name CSS Color Level 4 adds to CSS3's 147, which webcolors' tables lack.
CSS4_ONLY = {"rebeccapurple": "#663399"}


def css_color(name: str) -> str | None:
    """A CSS colour name ('orange', 'rebeccapurple') -> '#rrggbb', from webcolors' CSS3
    table and CSS4's one addition; None for anything else."""
    if isinstance(name, str) and name.strip().lower() in CSS4_ONLY:
        return CSS4_ONLY[name.strip().lower()]
    try:
        return webcolors.name_to_hex(name, spec=webcolors.CSS3)
    except (ValueError, AttributeError, TypeError):
        return None


def parse_color(color: str | tuple[float, float, float]) -> tuple[str, tuple[float, float, float]]:
    """'red' | 'green' | 'blue' | 'white' | a CSS colour name | '#RRGGBB' | (r, g, b) in
    [0, 1] -> (name, rgb). The four names keep their own rewards (the reference's); any
    other colour is an RGB target named '#rrggbb', so 'orange' is the reward '#ffa500'."""
    if isinstance(color, str):
        key = color.strip().lower()
        if key in NAMED_COLORS:
            return key, NAMED_COLORS[key]
        hexdigits = key.removeprefix("#")
        if len(hexdigits) == 6 and all(ch in "0123456789abcdef" for ch in hexdigits):
            rgb = tuple(int(hexdigits[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
            return "#" + hexdigits, rgb  # type: ignore[return-value]
        css = css_color(key)
        if css is not None:
            return parse_color(css)
        raise InputError(
            f"unknown colour {shown(color)}: use red, green, blue, white, a CSS colour name "
            "(orange, teal, ...) or #RRGGBB"
        )
    try:
        rgb = tuple(float(c) for c in color)
    except (TypeError, ValueError):
        rgb = ()
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        raise InputError(f"an RGB target needs 3 values in [0, 1], got {shown(color)}")
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb), rgb  # type: ignore[return-value]
