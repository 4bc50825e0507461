"""The 3-D view: the cloud as a GLScatterPlotItem, faint references, trails, and the
predicted clean cloud x0_hat when asked for."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph.opengl as gl
from numpy.typing import NDArray
from pyqtgraph import Vector
from PySide6.QtCore import QCoreApplication, Qt

from .qt_utils import qimage_to_array

# pyqtgraph caches each GL item's shader program once per class, which is only valid
# if every view's OpenGL context shares resources with the others; Qt must be told so
# before the application object exists.
if QCoreApplication.instance() is None:
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

BACKGROUND_RGB = (20, 20, 24)
REFERENCE_RGBA = (0.55, 0.55, 0.62, 0.35)
SPHERE_RGBA = (0.55, 0.62, 0.75, 0.22)
CENTER = (0.5, 0.5, 0.5)
# pyqtgraph's default field of view is 60 degrees; the cube's bounding sphere (radius
# sqrt(3)/2) fits at a distance of about 1.73, so leave a margin around it.
CAMERA = {"distance": 2.6, "elevation": 22, "azimuth": 40}
DEFAULT_POINT_SIZE = 6.0


def unit_cube_edges() -> NDArray[np.float32]:
    """The 12 edges of [0, 1]^3 as 24 endpoints, a pair per edge (mode='lines')."""
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], np.float32)
    pairs = [(corners[i], corners[j]) for i in range(8) for j in range(i + 1, 8)
             if np.count_nonzero(corners[i] != corners[j]) == 1]
    return np.asarray(pairs, dtype=np.float32).reshape(-1, 3)


def sphere_wireframe(latitudes: int = 7, longitudes: int = 12, segments: int = 48):
    """Circles of latitude and longitude of the target sphere, as line-segment pairs."""
    u = np.linspace(0.0, 2.0 * math.pi, segments + 1)
    circles = []
    for k in range(1, latitudes + 1):
        polar = math.pi * k / (latitudes + 1)
        r, z = 0.5 * math.sin(polar), 0.5 * math.cos(polar)
        circles.append(np.stack([r * np.cos(u), r * np.sin(u), np.full_like(u, z)], axis=-1))
    for k in range(longitudes):
        az = math.pi * k / longitudes
        circles.append(np.stack([0.5 * np.sin(u) * math.cos(az), 0.5 * np.sin(u) * math.sin(az),
                                 0.5 * np.cos(u)], axis=-1))
    segments_ = [np.stack([c[:-1], c[1:]], axis=1).reshape(-1, 3) for c in circles]
    return (np.concatenate(segments_) + np.array(CENTER)).astype(np.float32)


def cloud_colors(cloud: NDArray, alpha: float = 1.0) -> NDArray[np.float32]:
    rgba = np.empty((cloud.shape[0], 4), dtype=np.float32)
    rgba[:, :3] = np.clip(np.nan_to_num(cloud[:, 3:6], nan=0.0), 0.0, 1.0)
    rgba[:, 3] = alpha
    return rgba


class CloudView(gl.GLViewWidget):
    """A GLViewWidget that shows one cloud (N x 6: xyz, rgb) at a time."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("view3d")
        self.setBackgroundColor(BACKGROUND_RGB)
        self.setMinimumSize(320, 240)
        self.point_size = DEFAULT_POINT_SIZE
        self.cloud: NDArray[np.float32] | None = None
        self.denoised_cloud: NDArray[np.float32] | None = None  # x0_hat, while drawn

        # 'additive' items draw without depth writes, so faint lines never hide points.
        self.cube = gl.GLLinePlotItem(pos=unit_cube_edges(), mode="lines", color=REFERENCE_RGBA,
                                      antialias=True, glOptions="additive")
        self.sphere = gl.GLLinePlotItem(pos=sphere_wireframe(), mode="lines", color=SPHERE_RGBA,
                                        antialias=True, glOptions="additive")
        self.trails = gl.GLLinePlotItem(mode="lines", antialias=True, glOptions="translucent")
        # 'translucent' is ordinary alpha blending: an opaque point keeps its own colour
        # (the default 'additive' would wash overlapping points out to white).
        self.scatter = gl.GLScatterPlotItem(size=self.point_size, pxMode=True,
                                            glOptions="translucent")
        # x0_hat (see display.py), drawn before the cloud so that x_t, faint, never hides it
        self.denoised = type(self.scatter)(size=self.point_size, pxMode=True,
                                           glOptions="translucent")
        self.denoised.setDepthValue(-1)
        for item in (self.cube, self.sphere, self.trails, self.denoised, self.scatter):
            self.addItem(item)
        self.trails.setVisible(False)
        self.denoised.setVisible(False)
        self.reset_camera()

    def reset_camera(self) -> None:
        self.setCameraPosition(pos=Vector(*CENTER), **CAMERA)

    def show_cloud(self, cloud: NDArray, colors: NDArray | None = None) -> None:
        """`colors` (N, 4) instead of the cloud's own (see colour_by.py)."""
        arr = np.asarray(cloud, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != 6:
            raise ValueError(f"a cloud has shape (N, 6), got {arr.shape}")
        self.cloud = arr
        self.scatter.setData(pos=np.ascontiguousarray(arr[:, :3]),
                             color=cloud_colors(arr) if colors is None else colors,
                             size=self.point_size)

    def show_denoised(self, cloud: NDArray | None, colors: NDArray | None = None) -> None:
        """Draw x0_hat (N, 6) beside the cloud, in `colors` or its own; None hides it."""
        if cloud is None:
            self.denoised_cloud = None
            self.denoised.setVisible(False)
            return
        arr = self.denoised_cloud = np.asarray(cloud, dtype=np.float32)
        self.denoised.setData(pos=np.ascontiguousarray(arr[:, :3]),
                              color=cloud_colors(arr) if colors is None else colors,
                              size=self.point_size)
        self.denoised.setVisible(True)

    def clear_cloud(self) -> None:
        self.cloud = None
        self.scatter.setData(pos=np.zeros((0, 3), np.float32))
        self.trails.setData(pos=np.zeros((0, 3), np.float32))
        self.show_denoised(None)

    def set_point_size(self, size: float) -> None:
        self.point_size = float(size)
        if self.cloud is not None:
            self.scatter.setData(size=self.point_size)
            self.denoised.setData(size=self.point_size)

    def show_trails(self, path: NDArray, cloud: NDArray, colors: NDArray | None = None) -> None:
        """Each point's path (k, N, 3, oldest first) in its colour (or `colors`, N x 4),
        fading with age; a segment with a NaN end (a gap in the path) is left out."""
        if len(path) < 2 or not self.trails.visible():
            self.trails.setData(pos=np.zeros((0, 3), np.float32))
            return
        path = np.asarray(path, dtype=np.float32)
        k, n, _ = path.shape
        pos = np.stack([path[:-1], path[1:]], axis=2).reshape(-1, 3)  # (k-1) * N * 2
        rgba = cloud_colors(cloud) if colors is None else np.asarray(colors, np.float32)
        color = np.repeat(np.repeat(rgba[None], k - 1, axis=0), 2, axis=1)
        color = color.reshape(-1, 4)
        color[:, 3] = np.repeat(np.linspace(0.1, 0.6, k - 1, dtype=np.float32), 2 * n)
        whole = np.isfinite(pos.reshape(-1, 2, 3)).all(axis=(1, 2)).repeat(2)
        self.trails.setData(pos=pos[whole], color=color[whole], mode="lines")

    def view_pixels(self) -> NDArray[np.uint8]:
        """The rendered frame as an (H, W, 4) RGBA array."""
        return qimage_to_array(self.grabFramebuffer(), alpha=True)
