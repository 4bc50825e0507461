"""What a run leaves behind: the final cloud as a PLY file, the whole trajectory as an
.npz file, and the run's configuration as JSON, replayable with `poe-engine sample --config`.

Shared by the command line and the desktop app, so both write the same formats.
"""

from __future__ import annotations

import argparse
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .experts import parse_color
from .samplers import RESAMPLING, SAMPLERS, WEIGHTING, SamplerSettings

CONFIG_FORMAT = "poe-run-config/1"
DEVICES = ("auto", "cpu", "cuda")

# The argparse dests of `cli.add_sampler_options`, less `weights` (a local folder).
CONFIG_KEYS = (
    "sampler", "experts", "reward", "strength", "seed", "particles", "points", "steps",
    "langevin", "kappa", "ode_scale", "ess_threshold", "resampling", "weighting", "device",
)
_INTEGERS = ("seed", "particles", "points", "steps", "langevin")
_NUMBERS = ("strength", "kappa", "ode_scale", "ess_threshold")
_CHOICES = {"sampler": tuple(SAMPLERS), "resampling": RESAMPLING, "weighting": WEIGHTING,
            "device": DEVICES}
# Config keys whose allowed range SamplerSettings knows under another name.
_LIMIT_NAMES = {"langevin": "langevin_steps"}


# --------------------------------------------------------------------------- PLY


def write_ply(path: str | Path, cloud: Any) -> Path:
    """Write an (N, 6) cloud (x y z r g b, colours in [0, 1]; numpy or torch) as a binary
    little-endian PLY: float x, y, z and uchar red, green, blue. Returns the path."""
    if hasattr(cloud, "detach"):  # a torch tensor, possibly on the GPU
        cloud = cloud.detach().cpu().numpy()
    cloud = np.asarray(cloud)
    if cloud.ndim != 2 or cloud.shape[1] != 6:
        raise ValueError(f"a cloud must have shape (N, 6), got {cloud.shape}")
    vertices = np.empty(len(cloud), dtype=[
        ("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
        ("red", "u1"), ("green", "u1"), ("blue", "u1"),
    ])
    for i, name in enumerate(("x", "y", "z")):
        vertices[name] = cloud[:, i]
    # NaN colours would cast to arbitrary bytes; show them black as the viewer does.
    rgb = np.rint(255.0 * np.clip(np.nan_to_num(cloud[:, 3:6].astype(np.float64)), 0.0, 1.0))
    for i, name in enumerate(("red", "green", "blue")):
        vertices[name] = rgb[:, i].astype(np.uint8)
    header = "\n".join([
        "ply", "format binary_little_endian 1.0", "comment written by poe-engine",
        f"element vertex {len(vertices)}",
        "property float x", "property float y", "property float z",
        "property uchar red", "property uchar green", "property uchar blue",
        "end_header",
    ]) + "\n"
    path = Path(path)
    with path.open("wb") as f:
        f.write(header.encode("ascii"))
        f.write(vertices.tobytes())
    return path


# --------------------------------------------------------------------------- trajectories


def write_trajectory_npz(
    path: str | Path,
    trajectory: np.ndarray,
    log_weights: np.ndarray,
    ess: np.ndarray,
    resampled: np.ndarray,
    t: np.ndarray,
    meta: dict,
) -> Path:
    """The .npz of `poe-engine sample`: trajectory (T, N, 6), final (N, 6), log_weights
    (T, L), ess (T), resampled (T), t (T) and meta (a JSON string). `meta` must be
    JSON-serialisable; the run's configuration (`config_from_args`) belongs in it."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"{path}: the output file must end in .npz")
    trajectory = np.asarray(trajectory, dtype=np.float32)
    if trajectory.ndim != 3 or trajectory.shape[2] != 6 or len(trajectory) == 0:
        raise ValueError(f"a trajectory must have shape (T >= 1, N, 6), got {trajectory.shape}")
    columns = {
        "log_weights": np.asarray(log_weights, dtype=np.float32),
        "ess": np.asarray(ess, dtype=np.float64),
        "resampled": np.asarray(resampled, dtype=bool),
        "t": np.asarray(t, dtype=np.float64),
    }
    for name, values in columns.items():
        if len(values) != len(trajectory):
            raise ValueError(f"{name} has {len(values)} steps, the trajectory {len(trajectory)}")
    np.savez_compressed(
        path, trajectory=trajectory, final=trajectory[-1], **columns,
        meta=np.array(json.dumps(meta)),
    )
    return path


# --------------------------------------------------------------------------- configurations


def config_from_args(args: argparse.Namespace) -> dict:
    """The run configuration of parsed sampler options (`cli.add_sampler_options`)."""
    return {"format": CONFIG_FORMAT, **{key: getattr(args, key) for key in CONFIG_KEYS}}


def check_config(config: dict, source: str = "configuration") -> dict:
    """Validate a configuration; returns it normalised (format first, keys in CONFIG_KEYS
    order, numbers as floats). Raises ValueError naming `source` and the problem."""
    from .runs import parse_experts  # runs imports this module

    def fail(problem: str) -> ValueError:
        return ValueError(f"{source}: {problem}")

    if not isinstance(config, dict):
        raise fail("not a run configuration (expected a JSON object)")
    if config.get("format") != CONFIG_FORMAT:
        raise fail(f"not a run configuration (format {config.get('format')!r}, "
                   f"expected {CONFIG_FORMAT!r})")
    unknown = [str(k) for k in config if k != "format" and k not in CONFIG_KEYS]
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}: use {', '.join(CONFIG_KEYS)}")
    out: dict = {"format": CONFIG_FORMAT}
    for key in (k for k in CONFIG_KEYS if k in config):
        value = config[key]
        if key in _INTEGERS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise fail(f"{key} must be an integer, got {value!r}")
        elif key in _NUMBERS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(f"{key} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise fail(f"{key} must be finite, got {value!r}")
            value = float(value)
        elif key == "experts":
            # A list is what the app and older files hold; the option takes a comma list.
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = ",".join(value)
            if not isinstance(value, str):
                raise fail(f"experts must be a comma list such as 'x,y,z,color', got {value!r}")
            try:
                value = ",".join(parse_experts(value))
            except ValueError as err:
                raise fail(str(err)) from None
        elif key == "reward":
            value = "none" if value is None else value  # null: no reward
            if not isinstance(value, str):
                raise fail(f"reward must be a string, got {value!r}")
            if value.lower() != "none":
                try:
                    parse_color(value)
                except ValueError as err:
                    raise fail(str(err)) from None
        elif key in _CHOICES:
            if value not in _CHOICES[key]:
                raise fail(f"{key} must be one of {', '.join(_CHOICES[key])}, got {value!r}")
        limits = SamplerSettings.LIMITS.get(_LIMIT_NAMES.get(key, key))
        if limits is not None and not limits[0] <= value <= limits[1]:
            raise fail(f"{key} must lie in [{limits[0]}, {limits[1]}], got {value}")
        if key == "strength" and value < 0:
            raise fail(f"strength must be >= 0, got {value}")
        out[key] = value
    return out


def save_config(path: str | Path, config: dict) -> Path:
    """Write a configuration as pretty JSON, for `--config`. Keys outside CONFIG_KEYS
    (for instance the rest of an .npz meta) are left out; values are checked first."""
    path = Path(path)
    kept = {k: v for k, v in config.items() if k == "format" or k in CONFIG_KEYS}
    text = json.dumps(check_config(kept, str(path)), indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def load_config(path: str | Path) -> dict:
    """Read and check a configuration: a JSON file written by `save_config`, or an .npz
    written by `poe-engine sample` (its meta; keys beyond the configuration are ignored).
    Keys it lacks are absent from the result, so the caller's defaults apply. Raises
    ValueError with one line naming the file and the problem."""
    path = Path(path)
    if path.suffix == ".npz":
        try:
            with np.load(path) as run:
                text = str(run["meta"])
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else err
            raise ValueError(f"{path}: cannot read a run's meta: {reason}") from None
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"{path}: cannot read: {err.strerror or err}") from None
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not a text file") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON: {err}") from None
    if path.suffix == ".npz" and isinstance(config, dict):
        config = {k: v for k, v in config.items() if k == "format" or k in CONFIG_KEYS}
    return check_config(config, str(path))
