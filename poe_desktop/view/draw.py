"""One way to draw a cloud: a Look (model/look.py) put on a CloudView, a cloud drawn in it,
and the view rendered to an image. The window's view, Save view image, the Record
button, `poe-desktop record` and every grid panel all come through here, so that a file
shows what the window showed."""

from __future__ import annotations

from numpy.typing import NDArray
from pyqtgraph import Vector
from PySide6.QtGui import QImage

from ..model.colour_by import Colouring, colours
from ..model.look import Look
from .view3d import WORLD_UNITS_PER_SIZE
from .view_image import render_view

FAINT_ALPHA = 0.2  # of x_t while x0_hat is shown


def apply_look(view, look: Look, camera: bool = True) -> None:
    """Everything of `look` but the data on `view` (a CloudView): points, theme, guides
    and, unless `camera` is False, the camera."""
    view.set_world_size(True)
    view.set_point_size(look.point_size / WORLD_UNITS_PER_SIZE)
    view.set_shading(look.shading)
    view.set_fog(look.fog)
    view.set_axes_visible(look.guides.gizmo)
    view.cube.setVisible(look.guides.box)
    view.sphere.setVisible(look.guides.sphere)
    view.set_ring_visible(look.guides.ring)
    theme = look.view_theme
    view.setBackgroundColor(theme.background)
    for item in view.reference_lines():
        item.setGLOptions(theme.reference_blend)
        item.setData(color=theme.reference_rgba)
    if camera:
        c = look.camera_dict
        view.opts["fov"] = c["fov"]
        view.setCameraPosition(pos=Vector(*c["center"]), distance=c["distance"],
                               elevation=c["elevation"], azimuth=c["azimuth"])
    view.update()


def look_camera(view) -> dict:
    """The camera of `view` in a Look's terms."""
    c = view.opts["center"]
    return {"distance": float(view.opts["distance"]), "elevation": float(view.opts["elevation"]),
            "azimuth": float(view.opts["azimuth"]) % 360.0,
            "center": (float(c.x()), float(c.y()), float(c.z())), "fov": float(view.opts["fov"])}


def draw_cloud(view, look: Look, cloud: NDArray, previous: NDArray | None = None,
               denoised: NDArray | None = None, denoised_previous: NDArray | None = None,
               trail: NDArray | None = None) -> Colouring:
    """Draw `cloud` (N, 6) as `look` says: its own colours or a measure's (`previous`: the
    points' positions one step earlier, for 'moved'); with `look.cloud == 'x0'` and a
    `denoised` cloud, x0_hat bright over x_t faint. `trail` (k, N, 3): the bright cloud's
    path, drawn when the view's trails are on. Returns the colouring of the bright cloud
    (for a colour bar)."""
    if look.cloud == "x0" and denoised is not None:
        shown = colours(look.colour_by, denoised, denoised_previous)
        span = None if shown.low is None else (shown.low, shown.high)
        faint = colours(look.colour_by, cloud, previous, span, FAINT_ALPHA)
        view.show_cloud(cloud, faint.rgba)
        view.show_denoised(denoised, shown.rgba)
        bright = denoised
    else:
        shown = colours(look.colour_by, cloud, previous)
        view.show_cloud(cloud, None if shown.low is None else shown.rgba)
        view.show_denoised(None)
        bright = cloud
    if trail is not None and view.trails.visible():
        view.show_trails(trail, bright, shown.rgba)
    return shown


def render(view, scale: int = 1, transparent: bool = False) -> QImage:
    """What `view` shows, as an image `scale` times its size (view_image.render_view)."""
    return render_view(view, scale, transparent)

