"""What a run leaves behind: the final cloud as a PLY file, the whole trajectory as an
.npz file, and the run's configuration as JSON, replayable with `poe-engine sample --config`.

A configuration holds everything a run depends on: the sampler options, the device and
precision that ran, every expert's weight, the checksums of the expert weight files and
the steering made during the run (`steering.py`). `check_config` is the one place that
says what it may hold.

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
from .experts import AXES, EXPERT_NAMES, MAX_STRENGTH, parse_color, parse_experts
from .precision import PRECISIONS
from .product import MAX_WEIGHT
from .samplers import RESAMPLING, SAMPLERS, WEIGHTING, SamplerSettings
from .steering import STEERING_KEYS
from .world import SEED_RANGE

CONFIG_FORMAT = "poe-run-config/2"
# Formats read: a /1 file lacks the keys of RUN_KEYS (its runs had no expert weights
# but 1 and no steering); a missing key means `poe-engine sample`'s default.
CONFIG_FORMATS = ("poe-run-config/1", CONFIG_FORMAT)
DEVICES = ("auto", "cpu", "cuda")

# The argparse dests of `cli.add_sampler_options`, less `weights` (a local folder).
CONFIG_KEYS = (
    "sampler", "experts", "reward", "strength", "seed", "particles", "points", "steps",
    "langevin", "kappa", "ode_scale", "ess_threshold", "resampling", "weighting", "device",
    "precision",
)
# Keys of /2 that no option sets: every expert's weight ({"x": 2.0, ...}), the sha256 of
# each axis expert's weight file ({"x": "<64 hex digits>", ...}; a replay refuses other
# weights), and the changes made during the run (`steering.py`): a list of
# {"step": k, and what changed from step k on: any of STEERING_KEYS}.
RUN_KEYS = ("expert_weights", "checksums", "steering")
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
    steered: dict[str, np.ndarray] | None = None,
) -> Path:
    """The .npz of `poe-engine sample`: trajectory (T, N, 6), final (N, 6), log_weights
    (T, L), ess (T), resampled (T), t (T) and meta (a JSON string). `meta` must be
    JSON-serialisable; the run's configuration (`config_from_args`) belongs in it, best
    through `trajectory_meta`. `steered`: more columns of T rows, what each step multiplied
    together (`steering.columns`: expert_weights (T, 4), reward (T), reward_strength (T))."""
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
        **(steered or {}),
    }
    for name, values in columns.items():
        if len(values) != len(trajectory):
            raise ValueError(f"{name} has {len(values)} steps, the trajectory {len(trajectory)}")
    np.savez_compressed(
        path, trajectory=trajectory, final=trajectory[-1], **columns,
        meta=np.array(json.dumps(meta)),
    )
    return path


def trajectory_meta(config: dict, reached: int) -> dict:
    """The meta of a run's .npz: its configuration, which replays the whole run, and what
    the trajectory holds of it: `reached_step`, its last step (1-based), and `partial`,
    whether that comes before the run's last step (a stopped run: its 'final' cloud is
    that step's), then said in a `note` too."""
    steps = config.get("steps", reached)
    meta = dict(config) | {"partial": reached < steps, "reached_step": reached}
    if reached < steps:
        meta["note"] = (f"a partial run, stopped after step {reached} of {steps}: its final "
                        f"cloud is step {reached}'s; the configuration replays the whole run")
    return meta


# --------------------------------------------------------------------------- configurations


def config_from_args(args: argparse.Namespace) -> dict:
    """The run configuration of parsed sampler options (`cli.add_sampler_options`), with the
    expert weights (every expert's: 1 where none is given) and the steering of the
    --config file they came from, if any. Its `checksums` are those of the weights a run
    loads: the caller adds them."""
    weights = dict.fromkeys(EXPERT_NAMES, 1.0) | (getattr(args, "expert_weights", None) or {})
    return {"format": CONFIG_FORMAT, **{key: getattr(args, key) for key in CONFIG_KEYS},
            "expert_weights": weights, "steering": getattr(args, "steering", None) or []}


def check_config(config: dict, source: str = "configuration") -> dict:
    """Validate a configuration (format /2, or /1); returns it normalised: format /2 first,
    then its keys in CONFIG_KEYS + RUN_KEYS order, numbers as floats, experts as a comma
    list ('none' for none), colours by name. Raises InputError naming `source` and the
    problem. The one place that says what a configuration may hold."""

    def fail(problem: str) -> InputError:
        return InputError(f"{source}: {problem}")

    if not isinstance(config, dict):
        raise fail("not a run configuration (expected a JSON object)")
    version = config.get("format")
    if version not in CONFIG_FORMATS:
        raise fail(f"not a run configuration (format {shown(version)}, "
                   f"expected {CONFIG_FORMAT!r})")
    known = CONFIG_KEYS + (RUN_KEYS if version == CONFIG_FORMAT else ())
    unknown = [str(k) for k in config if k != "format" and k not in known]
    if unknown:
        raise fail(f"unknown key(s) {cut(', '.join(unknown))}: use {', '.join(known)}")
    out: dict = {"format": CONFIG_FORMAT}
    for key in (k for k in known if k in config):
        try:
            out[key] = _checked(key, config[key])
        except InputError as err:
            raise fail(str(err)) from None
    return out


def _checked(key: str, value: Any) -> Any:
    """A configuration's value of `key`, normalised; InputError (the problem) otherwise."""

    if key in _INTEGERS or key in _NUMBERS:
        low, high = _RANGES.get(key) or SamplerSettings.LIMITS[_LIMIT_NAMES.get(key, key)]
        check_number(key, value, low, high, integer=key in _INTEGERS)
        return value if key in _INTEGERS else float(value)
    if key == "experts":
        # A list is what the app and older files hold; the option takes a comma list.
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ",".join(value) or "none"
        if not isinstance(value, str):
            raise InputError(f"experts must be a comma list such as 'x,y,z,color' (or "
                             f"'none'), got {shown(value)}")
        return ",".join(parse_experts(value)) or "none"
    if key == "reward":
        value = "none" if value is None else value  # null: no reward
        if not isinstance(value, str):
            raise InputError(f"reward must be a string, got {shown(value)}")
        return "none" if value.lower() == "none" else parse_color(value)[0]
    if key == "expert_weights":
        return _named(key, value, EXPERT_NAMES, lambda name, w: float(
            check_number(f"{key}.{name}", w, 0.0, MAX_WEIGHT)))
    if key == "checksums":
        return _named(key, value, AXES, _checksum)
    if key == "steering":
        return _steering(value)
    if not isinstance(value, str) or value not in _CHOICES[key]:
        raise InputError(f"{key} must be one of {', '.join(_CHOICES[key])}, got {shown(value)}")
    return value


def _named(key: str, value: Any, names: tuple[str, ...], check) -> dict:
    """An object of some of `names` -> checked values, in the order of `names`."""
    if not isinstance(value, dict):
        raise InputError(f"{key} must be an object such as {{\"{names[0]}\": ...}}, "
                         f"got {shown(value)}")
    unknown = [str(k) for k in value if k not in names]
    if unknown:
        raise InputError(f"{key} names unknown expert(s) {cut(', '.join(unknown))}: "
                         f"use {', '.join(names)}")
    return {name: check(name, value[name]) for name in names if name in value}


def _checksum(name: str, value: Any) -> str:
    if not (isinstance(value, str) and len(value) == 64
            and all(c in "0123456789abcdef" for c in value)):
        raise InputError(f"checksums.{name} must be 64 lowercase hexadecimal digits (a "
                         f"sha256), got {shown(value)}")
    return value


def _steering(value: Any) -> list[dict]:
    """A list of events {"step": k, and some of STEERING_KEYS}, in increasing steps."""
    _, last_step = SamplerSettings.LIMITS["steps"]
    if not isinstance(value, list):
        raise InputError(f"steering must be a list of changes, got {shown(value)}")
    if len(value) > last_step:
        raise InputError(f"steering holds {len(value)} changes; a run has at most "
                         f"{last_step} steps")
    out, previous = [], 0
    for i, event in enumerate(value):
        where = f"steering[{i}]"
        if not isinstance(event, dict) or "step" not in event:
            raise InputError(f"{where} must be an object with a step and what changed, "
                             f"got {shown(event)}")
        unknown = [str(k) for k in event if k != "step" and k not in STEERING_KEYS]
        if unknown:
            raise InputError(f"{where} has unknown key(s) {cut(', '.join(unknown))}: use "
                             f"step, {', '.join(STEERING_KEYS)}")
        step = check_number(f"{where}.step", event["step"], 1, last_step, integer=True)
        if step <= previous:
            raise InputError(f"{where}.step must come after step {previous}, got {step}")
        previous = step
        if len(event) == 1:
            raise InputError(f"{where} changes nothing: give some of "
                             f"{', '.join(STEERING_KEYS)}")
        try:
            changes = {k: _checked(k, event[k]) for k in STEERING_KEYS if k in event}
        except InputError as err:
            raise InputError(f"{where}: {err}") from None
        out.append({"step": step, **changes})
    return out


def save_config(path: str | Path, config: dict) -> Path:
    """Write a configuration as pretty JSON, for `--config`. Keys outside CONFIG_KEYS and
    RUN_KEYS (for instance the rest of an .npz meta) are left out; values are checked
    first."""
    path = Path(path)
    kept = {k: v for k, v in config.items() if k == "format" or k in CONFIG_KEYS + RUN_KEYS}
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
        config = {k: v for k, v in config.items()
                  if k == "format" or k in CONFIG_KEYS + RUN_KEYS}
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
