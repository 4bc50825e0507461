"""What the points' colours show, without Qt: their own colour, or one number per point
mapped through a perceptual colormap (viridis).

A run whose final cloud is one flat colour shows no structure in its own colours; the
radial error | ||p - c|| - 0.5 | shows which points sit off the sphere, the distance moved
in the last step which points are still travelling, a coordinate how the cloud is laid
out along an axis. The map spans the shown values' range (`Colouring.low`, `high`), which
the view's colour bar labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from poe_engine.world import SPHERE_CENTER, SPHERE_RADIUS

# mode -> its label in the view toolbar's combo
MODES = {"own": "Own colour", "radial": "Radial error", "moved": "Distance moved",
         "x": "x coordinate", "y": "y coordinate", "z": "z coordinate"}
DEFAULT_MODE = "own"

# Viridis (van der Walt and Smith, CC0) at 17 evenly spaced stops, interpolated linearly.
VIRIDIS = np.array([
    (0.267, 0.004, 0.329), (0.282, 0.090, 0.412), (0.278, 0.173, 0.478),
    (0.259, 0.247, 0.522), (0.231, 0.318, 0.545), (0.200, 0.384, 0.553),
    (0.173, 0.443, 0.557), (0.149, 0.506, 0.557), (0.129, 0.565, 0.549),
    (0.122, 0.624, 0.533), (0.153, 0.678, 0.502), (0.239, 0.737, 0.451),
    (0.361, 0.784, 0.384), (0.506, 0.827, 0.298), (0.667, 0.863, 0.192),
    (0.835, 0.886, 0.098), (0.992, 0.906, 0.145)], dtype=np.float32)


@dataclass(frozen=True)
class Colouring:
    """Colours of a cloud's points, and the value range the map spans (None in `own`)."""

    mode: str
    rgba: NDArray[np.float32]  # (N, 4)
    low: float | None = None
    high: float | None = None


def parse_mode(value: object) -> str | None:
    """A mode name, or None where `value` is not one."""
    return value if isinstance(value, str) and value in MODES else None


def viridis(u: NDArray) -> NDArray[np.float32]:
    """Colours (n, 3) of values in [0, 1] (clipped; NaN counts as 0)."""
    u = np.clip(np.nan_to_num(np.asarray(u, dtype=np.float64), nan=0.0), 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(VIRIDIS))
    return np.stack([np.interp(u, stops, VIRIDIS[:, c]) for c in range(3)],
                    axis=-1).astype(np.float32)


def values(mode: str, cloud: NDArray, previous_xyz: NDArray | None = None
           ) -> NDArray[np.float64] | None:
    """One number per point for `mode`, (N,); None for `own`. `previous_xyz` (N, 3): the
    same points one step earlier, for `moved` (without it every point moved 0)."""
    xyz = np.asarray(cloud, dtype=np.float64)[:, :3]
    if mode == "radial":
        return np.abs(np.linalg.norm(xyz - np.array(SPHERE_CENTER), axis=1) - SPHERE_RADIUS)
    if mode == "moved":
        if previous_xyz is None or np.shape(previous_xyz) != xyz.shape:
            return np.zeros(len(xyz))
        return np.linalg.norm(xyz - np.asarray(previous_xyz, dtype=np.float64), axis=1)
    if mode in ("x", "y", "z"):
        return xyz[:, "xyz".index(mode)].copy()
    if mode == "own":
        return None
    raise ValueError(f"unknown colour mode {mode!r}: choose from {', '.join(MODES)}")


def own_colours(cloud: NDArray, alpha: float = 1.0) -> NDArray[np.float32]:
    """The points' own rgb, clipped to [0, 1] (NaN as 0), with `alpha`."""
    rgba = np.empty((len(cloud), 4), dtype=np.float32)
    rgba[:, :3] = np.clip(np.nan_to_num(np.asarray(cloud)[:, 3:6], nan=0.0), 0.0, 1.0)
    rgba[:, 3] = alpha
    return rgba


def colours(mode: str, cloud: NDArray, previous_xyz: NDArray | None = None,
            value_range: tuple[float, float] | None = None, alpha: float = 1.0) -> Colouring:
    """The colours of `cloud` (N, 6) in `mode`. The map spans `value_range`, or the finite
    values' own range; a value outside it takes the end colour."""
    v = values(mode, cloud, previous_xyz)
    if v is None:
        return Colouring(mode, own_colours(cloud, alpha))
    if value_range is None:
        finite = v[np.isfinite(v)]
        value_range = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    low, high = value_range
    span = high - low
    u = (v - low) / span if span > 0 else np.zeros_like(v)
    rgba = np.empty((len(v), 4), dtype=np.float32)
    rgba[:, :3] = viridis(u)
    rgba[:, 3] = alpha
    return Colouring(mode, rgba, low, high)


def previous_positions(frame, previous=None, denoised: bool = False) -> NDArray | None:
    """Where the shown points of `frame` (a `frames.Frame`) were one step earlier, (N, 3):
    the shown particle's own ancestor (its trail) where known, else `previous` (the frame
    before it) or None. `denoised`: of x0_hat instead of x_t."""
    trail = frame.denoised_trail if denoised else frame.trail
    if trail is not None and len(trail) >= 2 and np.isfinite(trail[-2]).all():
        return trail[-2]
    cloud = None if previous is None else (previous.denoised if denoised else previous.cloud)
    return None if cloud is None else np.asarray(cloud)[:, :3]
