"""`RegionsItem`: the regions of a composition expression (`cap`, `band`, `ball`) drawn
translucent in the 3-D view, as lines: a cap's plane at its threshold clipped to the cube
(its edge, a hatch across it and the circle where it cuts the sphere), a band's two
planes, a ball's wire sphere. A region the expression negates (`!cap(...)`, a region the
particles are pushed out of) is drawn in a warm colour, one they are pulled into in a
cool one."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph.opengl as gl

from poe_engine.expression import RegionSpec

PULL_RGBA = (0.35, 0.85, 1.0, 0.55)  # a region the particles are pulled into
PUSH_RGBA = (1.0, 0.45, 0.35, 0.55)  # a negated region: pushed out of
HATCH = 6  # lines across a plane, each way
SPHERE_CENTRE, SPHERE_RADIUS = 0.5, 0.5


def _circle(centre: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float,
            segments: int = 64) -> np.ndarray:
    u = np.linspace(0.0, 2 * math.pi, segments + 1)
    points = centre + radius * (np.cos(u)[:, None] * a + np.sin(u)[:, None] * b)
    return np.stack([points[:-1], points[1:]], axis=1).reshape(-1, 3)


def plane_segments(axis: int, value: float) -> np.ndarray:
    """The plane {axis = value} in the unit cube: its square's edges, a hatch, and the
    circle where it cuts the target sphere; line-segment pairs."""
    value = float(np.clip(value, 0.0, 1.0))
    others = [i for i in range(3) if i != axis]

    def point(s: float, t: float) -> np.ndarray:
        p = np.empty(3)
        p[axis], p[others[0]], p[others[1]] = value, s, t
        return p
    lines = []
    for k in range(HATCH + 1):
        s = k / HATCH
        lines += [point(s, 0.0), point(s, 1.0), point(0.0, s), point(1.0, s)]
    out = [np.array(lines)]
    offset = value - SPHERE_CENTRE
    if abs(offset) < SPHERE_RADIUS:
        a, b = np.eye(3)[others[0]], np.eye(3)[others[1]]
        out.append(_circle(point(SPHERE_CENTRE, SPHERE_CENTRE), a, b,
                           math.sqrt(SPHERE_RADIUS ** 2 - offset ** 2)))
    return np.concatenate(out)


def ball_segments(cx: float, cy: float, cz: float, r: float) -> np.ndarray:
    """A wire sphere: three circles of latitude and four of longitude."""
    centre, eye = np.array([cx, cy, cz]), np.eye(3)
    out = []
    for k in (-0.5, 0.0, 0.5):
        ring = math.sqrt(1 - k * k) * r
        out.append(_circle(centre + eye[2] * k * r, eye[0], eye[1], ring))
    for k in range(4):
        az = math.pi * k / 4
        a = math.cos(az) * eye[0] + math.sin(az) * eye[1]
        out.append(_circle(centre, a, eye[2], r))
    return np.concatenate(out)


def region_segments(spec: RegionSpec) -> np.ndarray:
    if spec.kind == "cap":
        return plane_segments(spec.axis, spec.params[0])
    if spec.kind == "band":
        return np.concatenate([plane_segments(spec.axis, v) for v in spec.params])
    return ball_segments(*spec.params)


class RegionsItem(gl.GLLinePlotItem):
    """`set_regions([(spec, sign), ...])` draws them (none: nothing)."""

    def __init__(self) -> None:
        super().__init__(mode="lines", antialias=True, width=1.5, glOptions="translucent")
        self.regions: list[tuple[RegionSpec, int]] = []
        self.setData(pos=np.zeros((0, 3), np.float32))

    def set_regions(self, regions: Sequence[tuple[RegionSpec, int]]) -> None:
        regions = list(regions)
        if regions == self.regions:
            return
        self.regions = regions
        if not regions:
            self.setData(pos=np.zeros((0, 3), np.float32))
            return
        parts = [region_segments(spec) for spec, _ in regions]
        colours = [np.tile(PULL_RGBA if sign > 0 else PUSH_RGBA, (len(p), 1))
                   for p, (_, sign) in zip(parts, regions, strict=True)]
        self.setData(pos=np.concatenate(parts).astype(np.float32),
                     color=np.concatenate(colours).astype(np.float32))
