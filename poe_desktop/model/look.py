"""A Look: everything that decides how a cloud is drawn, as one frozen value without Qt.

The on-screen view, Save view image, the Record button, `poe-desktop record` and every
panel of a grid draw from a Look through one path (`view/draw.py`), so a file shows what
the window showed. A Look is kept in the settings, written into a run's configuration and
`.npz` meta, and saved as its own JSON file (`poe-look/1`): every key optional (a missing
key takes the default), an unknown key or a bad value an error that names it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from poe_engine.errors import InputError, shown

from .colour_by import MODES

FORMAT = "poe-look/1"
THEMES = ("dark", "light")
CLOUDS = ("xt", "x0")  # the noisy particle x_t, or the clean cloud x0_hat it predicts
GUIDES = ("sphere", "box", "gizmo", "ring")
# Point size in cube units (the sphere has diameter 1): the same share of the cloud in a
# view, an image at 4x or a recording of any size.
DEFAULT_POINT_SIZE = 0.03
POINT_SIZE_RANGE = (0.005, 0.15)
# The camera: distance from its centre, elevation and azimuth in degrees, the point it
# looks at, the field of view in degrees.
DEFAULT_CAMERA = {"distance": 2.6, "elevation": 22.0, "azimuth": 40.0,
                  "center": (0.5, 0.5, 0.5), "fov": 60.0}
CAMERA_RANGES = {"distance": (0.05, 100.0), "elevation": (-90.0, 90.0),
                 "azimuth": (-1e6, 1e6), "fov": (1.0, 120.0)}
CENTRE_LIMIT = 10.0


@dataclass(frozen=True)
class ViewTheme:
    """What a theme means for the 3-D view: its background, the reference lines' colour
    and how they blend (added on dark, so they never hide a point; blended on light,
    where added light would vanish), and the overlays' text and box."""

    background: tuple[int, int, int]
    reference_rgba: tuple[float, float, float, float]
    reference_blend: str
    text_rgb: tuple[int, int, int]
    box_rgba: tuple[int, int, int, int]


VIEW_THEMES = {
    "dark": ViewTheme((20, 20, 24), (0.55, 0.55, 0.62, 0.35), "additive", (235, 235, 235),
                      (0, 0, 0, 150)),
    "light": ViewTheme((236, 236, 240), (0.25, 0.25, 0.32, 0.45), "translucent",
                       (28, 28, 32), (255, 255, 255, 170)),
}


@dataclass(frozen=True)
class Guides:
    sphere: bool = True  # the target sphere's wireframe
    box: bool = True  # the unit cube (and its axis labels)
    gizmo: bool = True  # the x, y, z arrows in the corner
    ring: bool = False  # the ring preset's marker: the plane of a missing expert's band


@dataclass(frozen=True)
class Look:
    colour_by: str = "own"  # a key of colour_by.MODES: own colours or viridis of a measure
    theme: str = "dark"
    point_size: float = DEFAULT_POINT_SIZE  # cube units
    shading: bool = True  # lit spheres, else flat discs
    fog: bool = True  # far points fade toward the background
    cloud: str = "xt"
    guides: Guides = field(default_factory=Guides)
    camera: tuple[tuple[str, Any], ...] = tuple(DEFAULT_CAMERA.items())

    @property
    def camera_dict(self) -> dict:
        return dict(self.camera)

    @property
    def view_theme(self) -> ViewTheme:
        return VIEW_THEMES[self.theme]

    def replace(self, **changes: Any) -> Look:
        if "camera" in changes and isinstance(changes["camera"], dict):
            changes["camera"] = tuple(_camera({**self.camera_dict, **changes["camera"]},
                                              "camera").items())
        if "guides" in changes and isinstance(changes["guides"], dict):
            changes["guides"] = replace(self.guides, **changes["guides"])
        return replace(self, **changes)

    def to_dict(self) -> dict:
        camera = self.camera_dict
        camera["center"] = list(camera["center"])
        return {"format": FORMAT, "colour_by": self.colour_by, "theme": self.theme,
                "point_size": self.point_size, "shading": self.shading, "fog": self.fog,
                "cloud": self.cloud, "guides": asdict(self.guides), "camera": camera}


DEFAULT_LOOK = Look()


def look_from_dict(values: object, source: str = "look") -> Look:
    """A Look from JSON values; raises InputError naming the key that does not check out."""
    if not isinstance(values, dict):
        raise InputError(f"{source}: a look is a JSON object, got {shown(values)}")
    known = {"format", "colour_by", "theme", "point_size", "shading", "fog", "cloud",
             "guides", "camera"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"{source}: unknown key {unknown[0]!r} (known: "
                         f"{', '.join(sorted(known))})")
    if "format" in values and values["format"] != FORMAT:
        raise InputError(f"{source}: format must be {FORMAT!r}, got {shown(values['format'])}")
    changes: dict[str, Any] = {}
    for key, choices in (("colour_by", tuple(MODES)), ("theme", THEMES), ("cloud", CLOUDS)):
        if key in values:
            if values[key] not in choices:
                raise InputError(f"{source}: {key} must be one of {', '.join(choices)}, got "
                                 f"{shown(values[key])}")
            changes[key] = values[key]
    for key in ("shading", "fog"):
        if key in values:
            changes[key] = _flag(values[key], f"{source}: {key}")
    if "point_size" in values:
        changes["point_size"] = _number(values["point_size"], *POINT_SIZE_RANGE,
                                        f"{source}: point_size (cube units)")
    if "guides" in values:
        guides = values["guides"]
        if not isinstance(guides, dict):
            raise InputError(f"{source}: guides must be an object, got {shown(guides)}")
        bad = sorted(set(guides) - set(GUIDES))
        if bad:
            raise InputError(f"{source}: unknown guide {bad[0]!r} (known: {', '.join(GUIDES)})")
        changes["guides"] = Guides(**{**asdict(Guides()), **{
            k: _flag(v, f"{source}: guides.{k}") for k, v in guides.items()}})
    if "camera" in values:
        changes["camera"] = tuple(_camera(values["camera"], f"{source}: camera").items())
    return replace(DEFAULT_LOOK, **changes)


def _camera(values: object, where: str) -> dict:
    if not isinstance(values, dict):
        raise InputError(f"{where} must be an object, got {shown(values)}")
    bad = sorted(set(values) - set(DEFAULT_CAMERA))
    if bad:
        raise InputError(f"{where}: unknown key {bad[0]!r} (known: "
                         f"{', '.join(DEFAULT_CAMERA)})")
    camera = dict(DEFAULT_CAMERA)
    for key, (low, high) in CAMERA_RANGES.items():
        if key in values:
            camera[key] = _number(values[key], low, high, f"{where}.{key}")
    if "center" in values:
        centre = values["center"]
        if not (isinstance(centre, list | tuple) and len(centre) == 3):
            raise InputError(f"{where}.center must be [x, y, z], got {shown(centre)}")
        camera["center"] = tuple(_number(c, -CENTRE_LIMIT, CENTRE_LIMIT, f"{where}.center")
                                 for c in centre)
    return camera


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where} must be true or false, got {shown(value)}")
    return value


def _number(value: object, low: float, high: float, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{where} must be a number from {low:g} to {high:g}, got "
                         f"{shown(value)}")
    return float(value)


def read_look(path: str | Path) -> Look:
    """A look file; a missing, unreadable or invalid one raises InputError naming it."""
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"cannot read the look {path}: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path} is not a look file (JSON): {err}") from None
    return look_from_dict(values, str(path))


def write_look(look: Look, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(look.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path
