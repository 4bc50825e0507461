"""Every particle of a step as a small picture, without Qt: the population panel's tiles.

`render_cloud` draws one particle's cloud from the 3-D view's default camera angle into an
RGB array on the theme's background (points as 2x2 splats, nearer points in front, farther
ones faded toward the background; a point too close to the background's lightness gets a
one-pixel outline, as the view gives it a rim), in plain numpy:
a step's L tiles cost a few milliseconds, far less than the sampler's step.
"""

from __future__ import annotations

import math

import numpy as np

from poe_engine.world import SPHERE_CENTER

from .genealogy import lineage

BACKGROUND = (22, 22, 27)  # the dark theme's; the panel passes the theme's own
HALF_WIDTH = 0.62  # of the tile, in world units around the sphere's centre (radius 0.5)


def normalised_weights(log_weights: np.ndarray) -> np.ndarray:
    """exp(log_weights), summing to 1 (float64); uniform where they are all -inf or NaN."""
    lw = np.nan_to_num(np.asarray(log_weights, dtype=np.float64), nan=-np.inf)
    if lw.size == 0 or not np.isfinite(lw).any():
        return np.full(lw.size, 1.0 / max(lw.size, 1))
    w = np.exp(lw - lw[np.isfinite(lw)].max())
    return w / w.sum()


def render_cloud(cloud: np.ndarray, size: int = 112, azimuth: float = 40.0,
                 elevation: float = 22.0, background=BACKGROUND, outline=None,
                 outline_rgb=(204, 204, 204)) -> np.ndarray:
    """(size, size, 3) uint8: the cloud (N, 6: position, colour in [0, 1]) seen from
    `azimuth` and `elevation` degrees, orthographic, on `background` (r, g, b in 0..255).
    The nearest points show their own colour; farther ones fade toward the background.
    `outline` (N,) in [0, 1]: how much of `outline_rgb` each point's one-pixel outline
    takes (none without it); the point's own 2x2 pixels keep its colour."""
    ground = np.asarray(background, dtype=np.float64)[:3]
    image = np.empty((size, size, 3), dtype=np.uint8)
    image[:] = ground
    cloud = np.nan_to_num(np.asarray(cloud, dtype=np.float64), nan=0.0, posinf=9.0,
                          neginf=-9.0)
    if cloud.size == 0:
        return image
    p = cloud[:, :3] - np.array(SPHERE_CENTER)
    a, e = math.radians(azimuth), math.radians(elevation)
    # the camera looks at the centre from (cos e cos a, cos e sin a, sin e), z up
    right = np.array([-math.sin(a), math.cos(a), 0.0])
    up = np.array([-math.sin(e) * math.cos(a), -math.sin(e) * math.sin(a), math.cos(e)])
    toward = np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
    u = (p @ right / HALF_WIDTH + 1.0) * 0.5 * (size - 2)
    v = (1.0 - p @ up / HALF_WIDTH) * 0.5 * (size - 2)
    depth = p @ toward  # larger is nearer
    near = np.clip(0.5 + depth, 0.0, 1.0)
    colour = np.clip(cloud[:, 3:6], 0.0, 1.0) * 255.0
    x, y = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    # 2x2 splats, and the outline's ring of 12 pixels around them just behind the point
    # (its own splat covers it, a nearer point's covers it too); the nearest wins a pixel
    parts = [(x + dx, y + dy, colour, depth, near) for dx in (0, 1) for dy in (0, 1)]
    if outline is not None:
        strength = np.clip(np.nan_to_num(np.asarray(outline, np.float64), nan=0.0), 0, 1)
        k = strength > 0.0
        ring = colour + (np.asarray(outline_rgb, np.float64) - colour) * strength[:, None]
        parts += [(x[k] + dx, y[k] + dy, ring[k], depth[k] - 1e-6, near[k])
                  for dx in (-1, 0, 1, 2) for dy in (-1, 0, 1, 2)
                  if not (dx in (0, 1) and dy in (0, 1))]
    px, py, colour, depth, fade = (np.concatenate(c) for c in zip(*parts, strict=True))
    colour = ground + (colour - ground) * (0.55 + 0.45 * fade)[:, None]
    inside = (px >= 0) & (px < size) & (py >= 0) & (py < size)
    pixel = (py * size + px)[inside]
    depth, colour = depth[inside], colour[inside]
    order = np.lexsort((depth, pixel))  # by pixel, then far to near
    pixel, colour = pixel[order], colour[order]
    last = np.r_[pixel[1:] != pixel[:-1], True] if pixel.size else np.zeros(0, bool)
    image.reshape(-1, 3)[pixel[last]] = np.rint(colour[last]).astype(np.uint8)
    return image


LOG_FLOOR = -30.0  # nats below the best particle: the weights chart's floor


def relative_log_weights(log_weights: np.ndarray, floor: float = LOG_FLOOR) -> np.ndarray:
    """Each particle's log-weight relative to the best (<= 0, the best at 0), floored at
    `floor` nats (float64): what a log-scaled weights chart plots, readable from 2 to
    hundreds of particles. All 0 where none is finite (uniform, as `normalised_weights`)."""
    lw = np.nan_to_num(np.asarray(log_weights, dtype=np.float64), nan=-np.inf)
    if lw.size == 0 or not np.isfinite(lw).any():
        return np.zeros(lw.size)
    return np.maximum(lw - lw[np.isfinite(lw)].max(), floor)


def tile_grid(count: int, width: float, height: float, label: float) -> tuple[int, int, float]:
    """Columns, rows and the tile side that fill a `width` x `height` area best with
    `count` square tiles, each with a `label` high row below it; rows and columns never
    overlap (side <= width / columns, a row's pitch is side + label)."""
    count = max(count, 1)
    best = (1, count, 0.0)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        side = min(width / cols, height / rows - label)
        if side > best[2]:
            best = (cols, rows, side)
    return best


def founders(ancestors, particles: int) -> np.ndarray | None:
    """(L,) ints: the first step's particle each particle of the last step descends from
    (`ancestors` as genealogy.lineage takes them, one entry a step up to the shown one);
    None before any resampling (every particle is then its own founder)."""
    if not any(a is not None for a in ancestors[:-1]):
        return None
    return lineage(ancestors, particles)[0]
