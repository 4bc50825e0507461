"""The toy world: a coloured point cloud on a sphere, its data and its noise prior.

A cloud is a tensor of shape (..., N, 6): channels x y z r g b. The target
sphere has radius 0.5 and centre (0.5, 0.5, 0.5); colours live in [0, 1].

Time convention, used by training, Euler, score conversion and Langevin alike:

    x_t = (1 - t) * x_0 + t * eps,     t = 1 is noise, t = 0 is data,

so the flow velocity is v = dx_t/dt = eps - x_0 and a sampler integrates
from t = 1 down to t = 0.

Noise prior. Positions: an isotropic Gaussian N(0.5, 0.5^2) per coordinate,
centred on the sphere's centre. We chose the Gaussian (not the reference demo's
uniform cube) because its score is defined everywhere, which makes the
velocity-to-score conversion exact (see `poe_engine.flow`). Colours: per point,
a mixture of 3 distinct corners of the RGB cube with a wide jitter, clipped to
[0, 1], so each particle starts with its own mean colour.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

XYZ = slice(0, 3)
RGB = slice(3, 6)
CHANNELS = ("x", "y", "z", "r", "g", "b")

SPHERE_CENTER = (0.5, 0.5, 0.5)
SPHERE_RADIUS = 0.5

DEFAULT_POINTS = 512
PALETTE_SIZE = 3  # corners mixed per cloud
DATA_COLOR_JITTER = 0.10
NOISE_COLOR_JITTER = 0.40

# The 8 corners of the RGB cube.
RGB_CORNERS = torch.tensor(list(itertools.product((0.0, 1.0), repeat=3)))


@dataclass(frozen=True)
class NoisePrior:
    """Where sampling starts (t = 1)."""

    position_mean: float = 0.5
    position_std: float = 0.5
    color_jitter: float = NOISE_COLOR_JITTER

    def sample_positions(
        self, shape: tuple[int, ...], generator: torch.Generator, device: torch.device | str
    ) -> torch.Tensor:
        eps = torch.randn(*shape, 3, generator=generator, device=device)
        return self.position_mean + self.position_std * eps

    def sample(
        self,
        particles: int,
        points: int,
        generator: torch.Generator,
        device: torch.device | str = "cpu",
    ) -> torch.Tensor:
        """Noise clouds, shape (particles, points, 6)."""
        xyz = self.sample_positions((particles, points), generator, device)
        rgb = corner_mixture_colors(particles, points, self.color_jitter, generator, device)
        return torch.cat([xyz, rgb], dim=-1)


NOISE = NoisePrior()


def golden_spiral_sphere(
    n: int = DEFAULT_POINTS, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """N points spread evenly over the target sphere (a Fibonacci lattice), shape (n, 3)."""
    i = torch.arange(n, dtype=torch.float64, device=device) + 0.5
    z = 1.0 - 2.0 * i / n
    rho = torch.sqrt((1.0 - z * z).clamp_min(0.0))
    phi = i * math.pi * (3.0 - math.sqrt(5.0))  # golden angle
    unit = torch.stack([rho * torch.cos(phi), rho * torch.sin(phi), z], dim=-1)
    center = torch.tensor(SPHERE_CENTER, dtype=torch.float64, device=device)
    return (center + SPHERE_RADIUS * unit).float()


def corner_mixture_colors(
    clouds: int,
    points: int,
    jitter: float,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Per cloud, K = 3 distinct RGB-cube corners assigned round-robin to the points,
    plus Gaussian jitter, clipped to [0, 1]. Shape (clouds, points, 3)."""
    keys = torch.rand(clouds, len(RGB_CORNERS), generator=generator, device=device)
    chosen = keys.argsort(dim=-1)[:, :PALETTE_SIZE]  # K distinct corners per cloud
    corners = RGB_CORNERS.to(device)[chosen]  # (clouds, K, 3)
    slot = torch.arange(points, device=device) % PALETTE_SIZE
    base = corners[:, slot]  # (clouds, points, 3)
    noise = torch.randn(clouds, points, 3, generator=generator, device=device)
    return (base + jitter * noise).clamp(0.0, 1.0)


def sample_data(
    clouds: int,
    points: int,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Training data: the golden-spiral sphere (identical for every sample) with
    3-corner colours and sigma 0.10 jitter. Shape (clouds, points, 6)."""
    xyz = golden_spiral_sphere(points, device).expand(clouds, points, 3)
    rgb = corner_mixture_colors(clouds, points, DATA_COLOR_JITTER, generator, device)
    return torch.cat([xyz, rgb], dim=-1)


# Seeds are the integers torch.Generator.manual_seed takes without aliasing: it also takes
# negative ones down to -2**63, but maps each s < 0 to 2**64 + s (-1 is 2**64 - 1).
SEED_RANGE = (0, 2**64 - 1)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    from .errors import check_number

    if hasattr(seed, "__index__") and not isinstance(seed, bool):
        seed = seed.__index__()  # numpy and torch integers too
    check_number("seed", seed, *SEED_RANGE, integer=True)
    return torch.Generator(device=device).manual_seed(seed)
