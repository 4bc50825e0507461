"""Camera presets of the 3-D view: look along an axis, an isometric view, frame the shown
cloud, zoom; the view that shows an axis expert's "Saturn ring"; and the camera's state
for the settings file.

pyqtgraph's orbit camera sits at centre + distance (cos e cos a, cos e sin a, sin e) for
elevation e and azimuth a (degrees) and looks at the centre. A preset sets the direction
only: the centre and what the view holds stay as the user left them (F frames the cloud).

The axis presets (x, y, z) look orthographically, near enough: pyqtgraph's camera has only a
perspective, so they narrow the field of view to ORTHO_FOV degrees and move the camera away
to keep the same part of the scene in view (the cube's near and far edges then coincide).
The isometric preset, and the first drag to orbit, go back to the usual 60 degrees.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray
from pyqtgraph import Vector

AXES = ("x", "y", "z")
# name -> (elevation, azimuth): the camera on +x (y right, z up), on -y (x right, z up), on
# +z (x right, y up), and on the (1, 1, 1) diagonal
PRESETS = {"x": (0.0, 0.0), "y": (0.0, -90.0), "z": (90.0, -90.0),
           "iso": (math.degrees(math.atan(1 / math.sqrt(2))), 45.0)}
# An axis expert switched off leaves its axis where the noise put it: the points it cannot
# bring onto the sphere lie in a band along that axis through the sphere's middle (looked
# at: a "Saturn ring" seen edge-on). Each view here looks across the band, which runs
# horizontally for x and y off and vertically for z off (the camera has no roll).
RING_VIEWS = {"x": "y", "y": "x", "z": "y"}
DISTANCE_RANGE = (0.05, 100.0)
CENTRE_LIMIT = 10.0  # |each coordinate| of the centre (as window_state's saved camera)
ZOOM_STEP = 1.25  # a zoom key changes the distance by this factor
FIT_MARGIN = 1.1  # room around the cloud's bounding sphere
MIN_FIT_RADIUS = 0.05  # a cloud collapsed to a point is framed as a small ball
PERSPECTIVE_FOV = 60.0  # pyqtgraph's default (and the Look's)
ORTHO_FOV = 4.0  # the axis presets': 2 % between the cube's near and far faces


def view_direction(view) -> NDArray[np.float64]:
    """The unit vector the camera looks along (from the eye to the centre)."""
    e, a = math.radians(view.opts["elevation"]), math.radians(view.opts["azimuth"])
    return -np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])


def apply_preset(view, name: str) -> None:
    """Point the camera as preset `name` (a key of PRESETS) says."""
    elevation, azimuth = PRESETS[name]
    set_fov(view, ORTHO_FOV if name in AXES else PERSPECTIVE_FOV)
    view.setCameraPosition(elevation=elevation, azimuth=azimuth)


def _visible_scale(fov: float) -> float:
    return math.tan(math.radians(fov) / 2)


def set_fov(view, fov: float) -> None:
    """Change the field of view, moving the camera so that as much of the scene around
    the centre stays in view (an orthographic look: a narrow one, from far away)."""
    old = float(view.opts["fov"])
    if abs(old - fov) < 1e-9:
        return
    distance = view.opts["distance"] * _visible_scale(old) / _visible_scale(fov)
    view.opts["fov"] = fov
    view.setCameraPosition(distance=float(np.clip(distance, *DISTANCE_RANGE)))


def orthographic(view) -> bool:
    return float(view.opts["fov"]) < PERSPECTIVE_FOV / 2


def ring_view(experts_off: Iterable[str]) -> str | None:
    """The preset that shows the ring where exactly one axis expert is off, else None."""
    axes = [name for name in experts_off if name in AXES]
    return RING_VIEWS[axes[0]] if len(axes) == 1 else None


def zoom(view, steps: float) -> None:
    """Move the camera closer (steps > 0) or away, ZOOM_STEP per step."""
    distance = view.opts["distance"] / ZOOM_STEP ** steps
    view.setCameraPosition(distance=float(np.clip(distance, *DISTANCE_RANGE)))


def fit_points(view, points: NDArray) -> bool:
    """Centre the camera on the points' (n, >= 3) bounding sphere and move it so that the
    sphere fills the view; False, and nothing changed, without a finite point."""
    xyz = np.asarray(points, dtype=np.float64).reshape(-1, np.shape(points)[-1])[:, :3]
    xyz = xyz[np.isfinite(xyz).all(axis=1)]
    if not len(xyz):
        return False
    centre = 0.5 * (xyz.min(axis=0) + xyz.max(axis=0))
    radius = max(float(np.linalg.norm(xyz - centre, axis=1).max()), MIN_FIT_RADIUS)
    # pyqtgraph's fov is horizontal: a view taller than wide sees less vertically
    half = math.radians(view.opts["fov"]) / 2
    aspect = view.height() / max(view.width(), 1)
    half = math.atan(math.tan(half) * min(1.0, aspect))
    distance = float(np.clip(FIT_MARGIN * radius / math.sin(half), *DISTANCE_RANGE))
    centre = np.clip(centre, -CENTRE_LIMIT, CENTRE_LIMIT)
    view.setCameraPosition(pos=Vector(*centre), distance=distance)
    return True


def camera_state(view) -> dict:
    """The camera as JSON-able values: distance, elevation, azimuth, centre [x, y, z]; the
    distance is the one at PERSPECTIVE_FOV that shows as much (an axis preset's narrow
    view comes back as the usual perspective)."""
    c = view.opts["center"]
    distance = view.opts["distance"] * _visible_scale(view.opts["fov"]) / _visible_scale(
        PERSPECTIVE_FOV)
    return {"distance": float(np.clip(distance, *DISTANCE_RANGE)),
            "elevation": float(view.opts["elevation"]), "azimuth": float(view.opts["azimuth"]),
            "center": [float(c.x()), float(c.y()), float(c.z())]}


def _number(value: object, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and low <= value <= high else None


def apply_camera_state(view, values: object) -> list[str]:
    """Set what `values` (from `camera_state`) holds that is valid; returns the keys it
    rejected (a missing key keeps the current value). Never raises on bad values."""
    if not isinstance(values, dict):
        return ["camera"]
    rejected: list[str] = []
    accepted: dict = {}
    # the mouse orbits the azimuth without bound: any finite one is an angle
    ranges = {"distance": DISTANCE_RANGE, "elevation": (-90.0, 90.0),
              "azimuth": (-math.inf, math.inf)}
    for key, (low, high) in ranges.items():
        if key in values:
            number = _number(values[key], low, high)
            if number is None:
                rejected.append(key)
            else:
                accepted[key] = number
    if "azimuth" in accepted:
        accepted["azimuth"] = (accepted["azimuth"] + 180.0) % 360.0 - 180.0
    if "center" in values:
        centre = values["center"]
        coords = ([_number(c, -CENTRE_LIMIT, CENTRE_LIMIT) for c in centre]
                  if isinstance(centre, list | tuple) and len(centre) == 3 else [None])
        if any(c is None for c in coords):
            rejected.append("center")
        else:
            accepted["pos"] = Vector(*coords)
    if accepted:
        if "distance" in accepted:
            view.opts["fov"] = PERSPECTIVE_FOV  # the distance is the perspective's
        view.setCameraPosition(**accepted)
    return rejected


# ------------------------------------------------------------------ linked cameras
CAMERA_KEYS = ("distance", "elevation", "azimuth", "fov")


def camera_key(view) -> tuple:
    """The camera of `view` as a tuple: equal tuples, the same picture of the same scene."""
    c = view.opts["center"]
    return (*(float(view.opts[k]) for k in CAMERA_KEYS), float(c.x()), float(c.y()),
            float(c.z()))


def copy_camera(source, target) -> None:
    """Put `source`'s camera on `target` (nothing where it is already there)."""
    if camera_key(source) == camera_key(target):
        return
    c = source.opts["center"]
    target.opts["fov"] = source.opts["fov"]
    target.setCameraPosition(pos=Vector(c.x(), c.y(), c.z()),
                             distance=source.opts["distance"],
                             elevation=source.opts["elevation"],
                             azimuth=source.opts["azimuth"])


def link_cameras(a, b) -> None:
    """Orbiting, zooming or panning either view (CloudViews: `cameraMoved`) moves the
    other with it; `b` takes `a`'s camera now."""
    copy_camera(a, b)
    a.cameraMoved.connect(lambda: copy_camera(a, b))
    b.cameraMoved.connect(lambda: copy_camera(b, a))
