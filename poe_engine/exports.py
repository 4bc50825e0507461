"""What a run leaves behind: the final cloud as a PLY file, the whole trajectory as an
.npz file, and the run's configuration as JSON, replayable with `poe-engine sample --config`.

Shared by the command line and the desktop app, so both write the same formats.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, check_number, cut, one_line, shown
from .experts import MAX_STRENGTH, parse_color, parse_experts
from .precision import PRECISIONS
from .samplers import RESAMPLING, SAMPLERS, WEIGHTING, SamplerSettings
from .world import SEED_RANGE

CONFIG_FORMAT = "poe-run-config/1"
DEVICES = ("auto", "cpu", "cuda")

# The argparse dests of `cli.add_sampler_options`, less `weights` (a local folder).
CONFIG_KEYS = (
    "sampler", "experts", "reward", "strength", "seed", "particles", "points", "steps",
    "langevin", "kappa", "ode_scale", "ess_threshold", "resampling", "weighting", "device",
    "precision",
)
_INTEGERS = ("seed", "particles", "points", "steps", "langevin")
_NUMBERS = ("strength", "kappa", "ode_scale", "ess_threshold")
_CHOICES = {"sampler": tuple(SAMPLERS), "resampling": RESAMPLING, "weighting": WEIGHTING,
            "device": DEVICES, "precision": PRECISIONS}
# Config keys whose allowed range SamplerSettings knows under another name.
_LIMIT_NAMES = {"langevin": "langevin_steps"}
# Ranges of the keys that SamplerSettings does not check.
_RANGES = {"seed": SEED_RANGE, "strength": (0.0, MAX_STRENGTH)}
# A configuration is a few hundred bytes; a file (or an .npz's meta) larger than this is
# refused before it is read.
MAX_CONFIG_BYTES = 1 << 20


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
    order, numbers as floats). Raises InputError naming `source` and the problem."""
    def fail(problem: str) -> InputError:
        return InputError(f"{source}: {problem}")

    if not isinstance(config, dict):
        raise fail("not a run configuration (expected a JSON object)")
    if config.get("format") != CONFIG_FORMAT:
        raise fail(f"not a run configuration (format {shown(config.get('format'))}, "
                   f"expected {CONFIG_FORMAT!r})")
    unknown = [str(k) for k in config if k != "format" and k not in CONFIG_KEYS]
    if unknown:
        raise fail(f"unknown key(s) {cut(', '.join(unknown))}: use {', '.join(CONFIG_KEYS)}")
    out: dict = {"format": CONFIG_FORMAT}
    for key in (k for k in CONFIG_KEYS if k in config):
        value = config[key]
        if key in _INTEGERS or key in _NUMBERS:
            low, high = _RANGES.get(key) or SamplerSettings.LIMITS[_LIMIT_NAMES.get(key, key)]
            try:
                check_number(key, value, low, high, integer=key in _INTEGERS)
            except InputError as err:
                raise fail(str(err)) from None
            value = value if key in _INTEGERS else float(value)
        elif key == "experts":
            # A list is what the app and older files hold; the option takes a comma list.
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = ",".join(value)
            if not isinstance(value, str):
                raise fail(f"experts must be a comma list such as 'x,y,z,color', "
                           f"got {shown(value)}")
            try:
                value = ",".join(parse_experts(value))
            except InputError as err:
                raise fail(str(err)) from None
        elif key == "reward":
            value = "none" if value is None else value  # null: no reward
            if not isinstance(value, str):
                raise fail(f"reward must be a string, got {shown(value)}")
            if value.lower() != "none":
                try:
                    parse_color(value)
                except InputError as err:
                    raise fail(str(err)) from None
        elif key in _CHOICES:
            if not isinstance(value, str) or value not in _CHOICES[key]:
                raise fail(f"{key} must be one of {', '.join(_CHOICES[key])}, "
                           f"got {shown(value)}")
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
    InputError with one line naming the file and the problem; nothing larger than
    MAX_CONFIG_BYTES is read, and only regular files are."""
    path = Path(path)
    if not str(path).strip():
        raise InputError("configuration: empty path")
    try:
        info = os.stat(path)
    except (OSError, ValueError) as err:  # ValueError: a NUL in the path
        raise InputError(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}"
                         ) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: cannot read: a folder, not a configuration file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: cannot read: not a regular file")
    if path.suffix == ".npz":
        text = _npz_meta(path)
    else:
        if info.st_size > MAX_CONFIG_BYTES:
            raise InputError(f"{path}: too large for a configuration ({info.st_size} bytes; "
                             f"at most {MAX_CONFIG_BYTES})")
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_CONFIG_BYTES + 1)  # the size may have lied (or grown)
        except OSError as err:
            raise InputError(f"{path}: cannot read: {err.strerror or err}") from None
        if len(data) > MAX_CONFIG_BYTES:
            raise InputError(f"{path}: too large for a configuration (more than "
                             f"{MAX_CONFIG_BYTES} bytes)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a text file (not UTF-8)") from None
    config = _parse_json(path, text)
    if path.suffix == ".npz" and isinstance(config, dict):
        config = {k: v for k, v in config.items() if k == "format" or k in CONFIG_KEYS}
    return check_config(config, str(path))


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON: {err}") from None
    except RecursionError:
        raise InputError(f"{path}: not a run configuration (nested too deeply)") from None
    except ValueError:  # an integer of more digits than Python converts to a number
        raise InputError(f"{path}: not valid JSON: a number too long to read") from None


def _npz_meta(path: Path) -> str:
    """The `meta` string of a run's .npz, read without loading the rest (or anything
    larger than MAX_CONFIG_BYTES, or pickled)."""

    def fail(problem: object) -> InputError:
        return InputError(f"{path}: cannot read a run's meta: {problem}")

    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise fail("not an .npz file (not a zip archive)") from None
    except OSError as err:
        raise fail(err.strerror or err) from None
    with archive:
        try:
            member = archive.getinfo("meta.npy")
        except KeyError:
            raise fail("none in it (not written by poe-engine sample)") from None
        if member.file_size > MAX_CONFIG_BYTES:
            raise fail(f"too large ({member.file_size} bytes; at most {MAX_CONFIG_BYTES})")
        try:
            with archive.open(member) as f:
                meta = np.lib.format.read_array(f, allow_pickle=False)
        except Exception as err:  # zipfile, zlib and numpy raise many types for damage
            raise fail(f"damaged ({cut(one_line(err))})") from None
    if meta.shape != () or meta.dtype.kind != "U":
        raise fail("not a string")
    return str(meta)
