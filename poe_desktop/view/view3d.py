"""The 3-D view: the cloud as shaded spheres (gl_points.py), faint references, trails,
readable axes (axes.py), the predicted clean cloud x0_hat when asked for; its display
options, and images of it for papers."""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph.opengl as gl
from numpy.typing import NDArray
from pyqtgraph import Vector
from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtOpenGL import QOpenGLPaintDevice
from PySide6.QtWidgets import QWidget

from ..qt_utils import qimage_to_array
from .axes import AxesOverlay
from .camera import PERSPECTIVE_FOV, camera_key, orthographic, set_fov
from .gl_points import ShadedPointsItem
from .view_image import render_view, valid_scale, write_image

# pyqtgraph caches each GL item's shader program once per class, which is only valid
# if every view's OpenGL context shares resources with the others; Qt must be told so
# before the application object exists.
if QCoreApplication.instance() is None:
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

BACKGROUND_RGB = (20, 20, 24)
REFERENCE_RGBA = (0.55, 0.55, 0.62, 0.35)
SPHERE_RGBA = (0.55, 0.62, 0.75, 0.22)
RING_RGBA = (0.95, 0.75, 0.25, 0.7)
CENTER = (0.5, 0.5, 0.5)
# pyqtgraph's default field of view is 60 degrees; the cube's bounding sphere (radius
# sqrt(3)/2) fits at a distance of about 1.73, so leave a margin around it.
CAMERA = {"distance": 2.6, "elevation": 22, "azimuth": 40}
DEFAULT_POINT_SIZE = 6.0
# With world-size points a point size of n is n * this cube units across: about n pixels
# at the default camera in a 640-pixel-wide view, and smaller as the camera moves away.
WORLD_UNITS_PER_SIZE = 0.005
POINT_SIZE_RANGE = (1.0, 30.0)  # the toolbar's spin box
OPTION_KEYS = {"shading": "shading", "fog": "fog", "axes": "axes_visible"}


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
    return _as_segments(circles)


def great_circles(segments: int = 96):
    """The sphere's three great circles in the planes x, y, z = 0.5: where an axis
    expert switched off leaves its band of points (the ring guide)."""
    u = np.linspace(0.0, 2.0 * math.pi, segments + 1)
    c, s, o = 0.5 * np.cos(u), 0.5 * np.sin(u), np.zeros_like(u)
    return _as_segments([np.stack(v, axis=-1) for v in ((o, c, s), (c, o, s), (c, s, o))])


def _as_segments(circles) -> NDArray[np.float32]:
    segments_ = [np.stack([c[:-1], c[1:]], axis=1).reshape(-1, 3) for c in circles]
    return (np.concatenate(segments_) + np.array(CENTER)).astype(np.float32)


def cloud_colors(cloud: NDArray, alpha: float = 1.0) -> NDArray[np.float32]:
    rgba = np.empty((cloud.shape[0], 4), dtype=np.float32)
    rgba[:, :3] = np.clip(np.nan_to_num(cloud[:, 3:6], nan=0.0), 0.0, 1.0)
    rgba[:, 3] = alpha
    return rgba


class ReferenceLines(gl.GLLinePlotItem):
    """A GLLinePlotItem that remembers the GL options last set (`gl_options`: the theme
    switches them), so that an image render can change and restore them."""

    def setGLOptions(self, opts) -> None:  # noqa: N802 (pyqtgraph's name)
        self.gl_options = opts
        super().setGLOptions(opts)


class CloudView(gl.GLViewWidget):
    """A GLViewWidget that shows one cloud (N x 6: xyz, rgb) at a time.

    Display options (booleans, see `state`): `shading` (lit spheres, else flat discs),
    `world_size` (point sizes in cube units, shrinking with distance, else in pixels),
    `fog` (a depth cue) and `axes_visible` (the gizmo and the cube's labels);
    `optionsChanged` fires when one of them or the point size changes."""

    optionsChanged = Signal()
    painted = Signal(float)  # seconds from the start of a redraw to its frame on screen
    emptyChanged = Signal(bool)  # the view lost its cloud (True: Reset) or got one
    cameraMoved = Signal()  # the camera changed (an orbit, a zoom, a preset): camera.link

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("view3d")
        self.setBackgroundColor(BACKGROUND_RGB)
        self.setMinimumSize(320, 240)
        self.point_size = DEFAULT_POINT_SIZE
        self.world_size = True
        self.render_scale = 1.0  # pixel sizes times this (images saved at n x the view)
        self.cloud: NDArray[np.float32] | None = None
        self.denoised_cloud: NDArray[np.float32] | None = None  # x0_hat, while drawn
        self.axes = AxesOverlay(self)
        self.last_save_error: str | None = None
        self.image_options = {"scale": 2, "transparent": False}  # Save view image's last
        self._paint_started: float | None = None
        self._camera_said: tuple | None = None  # the camera `cameraMoved` last said
        self.frameSwapped.connect(self._on_frame_swapped)

        # 'additive' items draw without depth writes, so faint lines never hide points.
        self.cube = ReferenceLines(pos=unit_cube_edges(), mode="lines", color=REFERENCE_RGBA,
                                   antialias=True, glOptions="additive")
        self.sphere = ReferenceLines(pos=sphere_wireframe(), mode="lines", color=SPHERE_RGBA,
                                     antialias=True, glOptions="additive")
        self.ring = ReferenceLines(pos=great_circles(), mode="lines", color=RING_RGBA,
                                   antialias=True, width=2.0, glOptions="translucent")
        self.trails = gl.GLLinePlotItem(mode="lines", antialias=True, glOptions="translucent")
        # 'translucent' is ordinary alpha blending: an opaque point keeps its own colour
        # (the default 'additive' would wash overlapping points out to white).
        self.scatter = ShadedPointsItem(size=self.scatter_size(), pxMode=not self.world_size,
                                        glOptions="translucent")
        # x0_hat (see display.py), drawn before the cloud so that x_t, faint, never hides it
        self.denoised = ShadedPointsItem(size=self.scatter_size(), pxMode=not self.world_size,
                                         glOptions="translucent")
        self.denoised.setDepthValue(-1)
        for item in (self.cube, self.sphere, self.ring, self.trails, self.denoised,
                     self.scatter):
            self.addItem(item)
        self.trails.setVisible(False)
        self.ring.setVisible(False)
        self.denoised.setVisible(False)
        self.reset_camera()

    def reference_lines(self) -> tuple[ReferenceLines, ...]:
        """The faint reference items (additive on dark: they never hide a point)."""
        return self.cube, self.sphere

    def reset_camera(self) -> None:
        self.opts["fov"] = PERSPECTIVE_FOV
        self.setCameraPosition(pos=Vector(*CENTER), **CAMERA)

    def update(self) -> None:
        """Repaint later; a camera changed since the last call says so (`cameraMoved`):
        pyqtgraph's orbit, pan, zoom and setCameraPosition all end here."""
        super().update()
        if "center" not in getattr(self, "opts", {}):  # still being built
            return
        key = camera_key(self)
        if key != getattr(self, "_camera_said", None):
            self._camera_said = key
            self.cameraMoved.emit()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """A drag to orbit leaves an axis preset's orthographic look for the perspective."""
        if event.buttons() & Qt.MouseButton.LeftButton and orthographic(self):
            set_fov(self, PERSPECTIVE_FOV)
        super().mouseMoveEvent(event)

    def show_cloud(self, cloud: NDArray, colors: NDArray | None = None) -> None:
        """`colors` (N, 4) instead of the cloud's own (see colour_by.py)."""
        arr = np.asarray(cloud, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != 6:
            raise ValueError(f"a cloud has shape (N, 6), got {arr.shape}")
        was_empty, self.cloud = self.cloud is None, arr
        if was_empty:
            self.emptyChanged.emit(False)
        self.scatter.setData(pos=np.ascontiguousarray(arr[:, :3]),
                             color=cloud_colors(arr) if colors is None else colors,
                             size=self.scatter_size(), pxMode=not self.world_size)

    def show_denoised(self, cloud: NDArray | None, colors: NDArray | None = None) -> None:
        """Draw x0_hat (N, 6) beside the cloud, in `colors` or its own; None hides it."""
        if cloud is None:
            self.denoised_cloud = None
            self.denoised.setVisible(False)
            return
        arr = self.denoised_cloud = np.asarray(cloud, dtype=np.float32)
        self.denoised.setData(pos=np.ascontiguousarray(arr[:, :3]),
                              color=cloud_colors(arr) if colors is None else colors,
                              size=self.scatter_size(), pxMode=not self.world_size)
        self.denoised.setVisible(True)

    def clear_cloud(self) -> None:
        had_cloud, self.cloud = self.cloud is not None, None
        self.scatter.setData(pos=np.zeros((0, 3), np.float32))
        self.trails.setData(pos=np.zeros((0, 3), np.float32))
        self.show_denoised(None)
        if had_cloud:
            self.emptyChanged.emit(True)

    def setBackgroundColor(self, *args, **kwds) -> None:  # noqa: N802 (pyqtgraph's name)
        super().setBackgroundColor(*args, **kwds)
        for child in self.findChildren(QWidget):  # overlays painted in the view's colours
            child.update()

    def scatter_size(self) -> float:
        """The point size as the scatter item takes it: pixels, or cube units."""
        return self.point_size * (WORLD_UNITS_PER_SIZE if self.world_size else 1.0)

    def set_point_size(self, size: float) -> None:
        self.point_size = float(size)
        for item in (self.scatter, self.denoised):
            item.setData(size=self.scatter_size())
        self.optionsChanged.emit()

    # ------------------------------------------------------------------ display options
    shading = property(lambda self: self.scatter.shading)
    fog = property(lambda self: self.scatter.fog)
    axes_visible = property(lambda self: self.axes.visible)

    def points_items(self) -> list[ShadedPointsItem]:
        """Every shaded points item in the scene (the cloud's and any other's): shading
        and fog apply to them all."""
        return [item for item in self.items if isinstance(item, ShadedPointsItem)]

    def set_shading(self, on: bool) -> None:
        for item in self.points_items():
            item.set_options(shading=on)
        self.optionsChanged.emit()

    def set_world_size(self, on: bool) -> None:
        self.world_size = bool(on)
        for item in (self.scatter, self.denoised):
            item.setData(size=self.scatter_size(), pxMode=not self.world_size)
        self.optionsChanged.emit()

    def set_fog(self, on: bool) -> None:
        for item in self.points_items():
            item.set_options(fog=on)
        self.optionsChanged.emit()

    def set_ring_visible(self, on: bool) -> None:
        self.ring.setVisible(bool(on))
        self.update()

    def set_axes_visible(self, on: bool) -> None:
        self.axes.visible = bool(on)
        self.update()
        self.optionsChanged.emit()

    def state(self) -> dict:
        """The display options, the point size and the last image options (Save view
        image), as JSON-able values."""
        values = {key: bool(getattr(self, attr)) for key, attr in OPTION_KEYS.items()}
        values["pointSize"] = self.point_size
        values["imageScale"] = self.image_options["scale"]
        values["imageTransparent"] = self.image_options["transparent"]
        return values

    def apply_state(self, values: dict) -> list[str]:
        """Set what `values` holds (keys as `state` gives them); returns the keys whose
        values were rejected. Missing keys keep the current value; never raises."""
        if not isinstance(values, dict):
            return ["state"]
        setters = {"shading": self.set_shading, "fog": self.set_fog,
                   "axes": self.set_axes_visible}
        rejected = []
        for key, value in values.items():
            if key in setters and isinstance(value, bool):
                setters[key](value)
            elif key == "worldSize":  # settings of an older version: points are in cube units
                pass
            elif key == "pointSize" and _is_number(value) and \
                    POINT_SIZE_RANGE[0] <= value <= POINT_SIZE_RANGE[1]:
                self.set_point_size(value)
            elif key == "imageScale" and valid_scale(value):
                self.image_options["scale"] = value
            elif key == "imageTransparent" and isinstance(value, bool):
                self.image_options["transparent"] = value
            else:
                rejected.append(str(key))
        return rejected

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

    def paintGL(self) -> None:  # noqa: N802 (Qt's name)
        if self._paint_started is None:
            self._paint_started = time.perf_counter()
        super().paintGL()
        if self.axes.visible:
            # into the bound framebuffer: a QPainter on the widget itself would be
            # redirected (and then covered) while the window is grabbed
            device = QOpenGLPaintDevice(self.deviceWidth(), self.deviceHeight())
            device.setDevicePixelRatio(self.devicePixelRatioF())
            painter = QPainter(device)
            self.axes.paint(painter, self.width(), self.height(),
                            cube_labels=self.cube.visible())
            painter.end()

    def begin_redraw(self) -> None:
        """A redraw of the window starts now, before the view's own paint (the panels and
        plots of a step are drawn first): `painted` counts its cost from here."""
        if self._paint_started is None:
            self._paint_started = time.perf_counter()

    def _on_frame_swapped(self) -> None:
        """The window composed the view and showed it: what the paint cost (`painted`)."""
        if self._paint_started is not None:
            self.painted.emit(time.perf_counter() - self._paint_started)
            self._paint_started = None

    def render_image(self, scale: int = 1, transparent: bool = False):
        """The view alone rendered at `scale` times its size (a QImage); see view_image."""
        return render_view(self, scale, transparent)

    def save_image(self, path, scale: int = 2, transparent: bool = False) -> bool:
        """Write the view as a PNG at `scale` x its size; on failure, False with the reason
        in `last_save_error` (never raises)."""
        self.last_save_error = write_image(self, path, scale, transparent)
        return self.last_save_error is None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)
