"""Main window: a dark OpenGL 3-D view with a unit-cube frame and a point cloud."""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from numpy.typing import ArrayLike, NDArray
from pyqtgraph import Vector
from PySide6.QtWidgets import QMainWindow, QWidget

BACKGROUND_RGB = (20, 20, 24)
CUBE_COLOR = (0.55, 0.55, 0.62, 0.35)
CUBE_CENTER = (0.5, 0.5, 0.5)
# Horizontal FOV is pyqtgraph's default of 60 deg; the cube's bounding sphere has radius
# sqrt(3)/2 ~ 0.87, which needs a distance of ~1.73 to fit; leave a margin around it.
CAMERA_DISTANCE = 2.6
DEFAULT_POINT_SIZE = 4.0


def unit_cube_edges() -> NDArray[np.float32]:
    """The 12 edges of the cube [0, 1]^3 as 24 endpoints, one pair per edge (``mode='lines'``)."""
    corners = np.array(
        [[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)],
        dtype=np.float32,
    )
    segments = [
        (corners[i], corners[j])
        for i in range(8)
        for j in range(i + 1, 8)
        if np.count_nonzero(corners[i] != corners[j]) == 1
    ]
    return np.asarray(segments, dtype=np.float32).reshape(-1, 3)


class MainWindow(QMainWindow):
    """Top-level window. ``view3d`` shows the cube frame and ``scatter`` the current cloud."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PoE Desktop")
        self.resize(1000, 760)

        self.view3d = gl.GLViewWidget()
        self.view3d.setObjectName("view3d")
        self.view3d.setBackgroundColor(BACKGROUND_RGB)
        self.view3d.setCameraPosition(
            pos=Vector(*CUBE_CENTER), distance=CAMERA_DISTANCE, elevation=22, azimuth=40
        )
        self.setCentralWidget(self.view3d)

        # 'additive' draws without depth test or depth writes, so the faint frame never
        # hides points behind an edge.
        self.cube = gl.GLLinePlotItem(
            pos=unit_cube_edges(),
            mode="lines",
            color=CUBE_COLOR,
            width=1.0,
            antialias=True,
            glOptions="additive",
        )
        self.view3d.addItem(self.cube)

        # 'translucent' blends with standard alpha, so an opaque point shows its own colour;
        # the default 'additive' would brighten overlapping points towards white.
        # No positions yet: the item paints nothing until show_cloud() or setData(pos=...).
        self.scatter = gl.GLScatterPlotItem(
            color=(1.0, 1.0, 1.0, 1.0),
            size=DEFAULT_POINT_SIZE,
            pxMode=True,
            glOptions="translucent",
        )
        self.view3d.addItem(self.scatter)

        self.statusBar().showMessage("Ready")

    def show_cloud(self, cloud: ArrayLike, size: float = DEFAULT_POINT_SIZE) -> None:
        """Display ``cloud``, an (N, 6) array of xyz positions followed by rgb in [0, 1]."""
        arr = np.asarray(cloud, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != 6:
            raise ValueError(f"cloud must have shape (N, 6), got {arr.shape}")
        pos = np.ascontiguousarray(arr[:, :3])
        rgba = np.ones((arr.shape[0], 4), dtype=np.float32)
        rgba[:, :3] = np.clip(np.nan_to_num(arr[:, 3:6], nan=0.0), 0.0, 1.0)
        self.scatter.setData(pos=pos, color=rgba, size=size)
