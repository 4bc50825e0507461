"""Smoke tests proving the OpenGL stack (Qt + pyqtgraph.opengl + Mesa) renders pixels."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pytest
from numpy.typing import NDArray

if TYPE_CHECKING:
    from PySide6.QtOpenGLWidgets import QOpenGLWidget

pytestmark = pytest.mark.gui

SIDE = 320
BACKGROUND = (30, 30, 30)
DISTANCE = 10.0
FOV = 60.0


def framebuffer_rgb(view: QOpenGLWidget) -> NDArray[np.uint8]:
    """``view.grabFramebuffer()`` as an (H, W, 3) uint8 array, rows top to bottom."""
    from PySide6.QtGui import QImage

    image = view.grabFramebuffer().convertToFormat(QImage.Format.Format_RGBA8888)
    height, width = image.height(), image.width()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(height, image.bytesPerLine())
    return rows[:, : width * 4].reshape(height, width, 4)[..., :3].copy()


def is_green(pixels: NDArray[np.uint8]) -> bool:
    mean = pixels.reshape(-1, 3).astype(float).mean(axis=0)
    return bool(mean[1] > 200 and mean[0] < 60 and mean[2] < 60)


def test_scatter_points_land_where_the_camera_says(qtbot) -> None:
    import pyqtgraph.opengl as gl
    from pyqtgraph import Vector

    view = gl.GLViewWidget()
    qtbot.addWidget(view)
    view.setFixedSize(SIDE, SIDE)
    view.setBackgroundColor(BACKGROUND)
    # Looking straight down the z axis: world +x is screen right, world +y is screen up.
    view.setCameraParams(fov=FOV)
    view.setCameraPosition(pos=Vector(0, 0, 0), distance=DISTANCE, elevation=90, azimuth=-90)

    offset = 2.0
    points = np.array([[0, 0, 0], [offset, 0, 0], [0, offset, 0]], dtype=np.float32)
    scatter = gl.GLScatterPlotItem(
        pos=points, color=(0.0, 1.0, 0.0, 1.0), size=20, pxMode=True, glOptions="translucent"
    )
    view.addItem(scatter)

    with qtbot.waitExposed(view):
        view.show()
    assert view.isValid(), "QOpenGLWidget has no valid OpenGL context (is Mesa installed?)"

    rgb = framebuffer_rgb(view)
    height, width, _ = rgb.shape
    assert (height, width) == (round(SIDE * view.devicePixelRatioF()),) * 2
    scale = width / SIDE
    # Pixels per world unit in the plane through the orbit centre.
    px_per_unit = (SIDE / 2) / (DISTANCE * math.tan(math.radians(FOV / 2))) * scale
    cx, cy = width // 2, height // 2
    r = round(4 * scale)  # well inside the 20 px disc

    def patch(x: float, y: float) -> NDArray[np.uint8]:
        xi, yi = round(x), round(y)
        return rgb[yi - r : yi + r + 1, xi - r : xi + r + 1]

    assert is_green(patch(cx, cy)), f"centre not green: {patch(cx, cy).mean(axis=(0, 1))}"
    right = cx + offset * px_per_unit
    assert is_green(patch(right, cy)), "point at +x is not right of centre"
    up = cy - offset * px_per_unit
    assert is_green(patch(cx, up)), "point at +y is not above centre"
    # Mirror positions hold no point.
    assert not is_green(patch(cx - offset * px_per_unit, cy))
    assert not is_green(patch(cx, cy + offset * px_per_unit))

    corner = rgb[: 10 * round(scale), : 10 * round(scale)].reshape(-1, 3).astype(int)
    assert np.abs(corner - np.array(BACKGROUND)).max() <= 3, "corner is not background"


def test_main_window_shows_red_cloud(qtbot) -> None:
    from poe_desktop import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 820)
    assert window.windowTitle() == "PoE Desktop"
    assert window.statusBar().currentMessage() == "Ready"

    rng = np.random.default_rng(0)
    xyz = 0.5 + rng.uniform(-0.05, 0.05, size=(60, 3))
    rgb_in = np.tile([1.5, 0.0, -0.2], (60, 1))  # out of range on purpose: must be clipped
    window.view3d.show_cloud(np.hstack([xyz, rgb_in]))

    with qtbot.waitExposed(window):
        window.show()
    view = window.findChild(type(window.view3d), "view3d")
    assert view is window.view3d
    assert view.isValid(), "QOpenGLWidget has no valid OpenGL context (is Mesa installed?)"

    rgb = framebuffer_rgb(view).astype(int)
    height, width, _ = rgb.shape
    box = rgb[height // 2 - 40 : height // 2 + 40, width // 2 - 40 : width // 2 + 40]
    red = (box[..., 0] > 200) & (box[..., 1] < 50) & (box[..., 2] < 50)
    assert red.sum() >= 20, f"only {red.sum()} red pixels near the centre"
    assert not ((rgb[..., 0] > 200) & (rgb[..., 1] < 50))[:20, :20].any(), "red in the corner"
