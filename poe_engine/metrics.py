"""Fidelity metrics of a final cloud (see docs/fidelity.md), in world coordinates."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import torch

from .reward import ColorReward
from .world import RGB, SPHERE_CENTER, SPHERE_RADIUS, XYZ, golden_spiral_sphere

OFF_SPHERE_TOLERANCE = 0.05
CHANNEL_NAMES = ("red", "green", "blue")


def radial_errors(cloud: torch.Tensor) -> torch.Tensor:
    """| ||p - c|| - r | per point."""
    centre = torch.tensor(SPHERE_CENTER, device=cloud.device, dtype=cloud.dtype)
    return (torch.linalg.vector_norm(cloud[..., XYZ] - centre, dim=-1) - SPHERE_RADIUS).abs()


def radial_error(cloud: torch.Tensor) -> float:
    return float(radial_errors(cloud).mean())


def off_sphere_fraction(cloud: torch.Tensor, tolerance: float = OFF_SPHERE_TOLERANCE) -> float:
    return float((radial_errors(cloud) > tolerance).float().mean())


def chamfer_distance(cloud: torch.Tensor, reference: torch.Tensor | None = None) -> float:
    """Mean nearest-neighbour distance both ways, summed, to the golden-spiral sphere
    of as many points (or to `reference`)."""
    xyz = cloud[..., XYZ].reshape(-1, 3).double()
    if reference is None:
        ref = _sphere_reference(xyz.shape[0], str(xyz.device))
    else:
        ref = reference[..., :3].reshape(-1, 3).double().to(xyz.device)
    d = torch.cdist(xyz, ref)
    return float(d.amin(dim=1).mean() + d.amin(dim=0).mean())


@lru_cache(maxsize=8)
def _sphere_reference(points: int, device: str) -> torch.Tensor:
    """The golden-spiral sphere of `points` points in float64, made once: the app reads
    a step's fidelity for each step it plots."""
    return golden_spiral_sphere(points, device).double()


def mean_color(cloud: torch.Tensor) -> torch.Tensor:
    return cloud[..., RGB].reshape(-1, 3).mean(dim=0)


def dominant_channel(cloud: torch.Tensor) -> str:
    return CHANNEL_NAMES[int(torch.argmax(mean_color(cloud)))]


def color_success(cloud: torch.Tensor, reward: ColorReward | str) -> bool:
    """The reward's colour is the largest channel of the cloud's mean colour.
    Defined for the red, green and blue rewards."""
    name = reward if isinstance(reward, str) else reward.name
    if name not in CHANNEL_NAMES:
        raise ValueError(f"colour success is defined for red, green and blue, not {name!r}")
    return dominant_channel(cloud) == name


def color_spread(cloud: torch.Tensor) -> float:
    """Mean over channels of the per-point standard deviation of colour."""
    return float(cloud[..., RGB].reshape(-1, 3).std(dim=0).mean())


@dataclass(frozen=True)
class Fidelity:
    radial_error: float
    off_sphere: float
    chamfer: float
    color_spread: float
    mean_color: tuple[float, float, float]

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        r, g, b = self.mean_color
        return (
            f"radial error {self.radial_error:.4f} | off-sphere {100 * self.off_sphere:.1f} % | "
            f"Chamfer {self.chamfer:.4f} | colour spread {self.color_spread:.4f} | "
            f"mean colour ({r:.2f}, {g:.2f}, {b:.2f}) {dominant_name(self.mean_color)}"
        )


def dominant_name(rgb: tuple[float, float, float]) -> str:
    return CHANNEL_NAMES[max(range(3), key=lambda i: rgb[i])]


def shape_fidelity(cloud: torch.Tensor) -> tuple[float, float, float]:
    """(radial error, off-sphere fraction, Chamfer distance) of a cloud: its `fidelity`
    without the colour, the distances to the sphere computed once (the app reads these of
    every step it plots)."""
    cloud = cloud.float()
    errors = radial_errors(cloud)
    off = float((errors > OFF_SPHERE_TOLERANCE).float().mean())
    return float(errors.mean()), off, chamfer_distance(cloud)


def fidelity(cloud: torch.Tensor) -> Fidelity:
    cloud = cloud.float()
    radial, off, chamfer = shape_fidelity(cloud)
    return Fidelity(
        radial_error=radial,
        off_sphere=off,
        chamfer=chamfer,
        color_spread=color_spread(cloud),
        mean_color=tuple(float(c) for c in mean_color(cloud)),  # type: ignore[arg-type]
    )
