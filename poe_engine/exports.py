"""The files a run leaves behind, written and read here: the final cloud as a PLY file,
the whole trajectory as an .npz file, and the run's configuration as JSON, replayable
with `poe-engine sample --config`. What a configuration may hold is `spec.py`'s to say.

Shared by the command line and the desktop app, so both write the same formats.
"""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, cut, one_line
from .paths import stat_input, suffix_of
from .spec import CONFIG_KEYS, RUN_KEYS, check_config

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
    population: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """The .npz of `poe-engine sample`: trajectory (T, N, 6), final (N, 6), log_weights
    (T, L), ess (T), resampled (T), t (T) and meta (a JSON string). `meta` must be
    JSON-serialisable; the run's configuration (`spec.RunSpec.to_dict`) belongs in it, best
    through `trajectory_meta`. `steered`: more columns of T rows, what each step multiplied
    together (`steering.columns`: expert_weights (T, 4), reward (T), reward_strength (T)),
    and the particle system (`trajectory.particle_columns`: ancestors (T, L), reward_scale,
    acceptance, log_z (T)). `population`: the last step's every particle (L, N, 6) and
    their log-weights (L), saved as final_particles and final_log_weights. The file is
    written at `path` as given (run.NPZ stays run.NPZ)."""
    path = Path(path)
    if suffix_of(path) != ".npz":  # as `paths.check_output_path` checked it
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
    if population is not None:
        particles, weights = (np.asarray(population[0], dtype=np.float32),
                              np.asarray(population[1], dtype=np.float64))
        shape = (columns["log_weights"].shape[1], trajectory.shape[1], 6)
        if particles.shape != shape or weights.shape != shape[:1]:
            raise ValueError(f"the final population must be {shape} with {shape[0]} "
                             f"log-weights, got {particles.shape} and {weights.shape}")
        columns |= {"final_particles": particles, "final_log_weights": weights}
    with open(path, "wb") as f:  # a name, numpy would append .npz to run.NPZ
        np.savez_compressed(f, trajectory=trajectory, final=trajectory[-1], **columns,
                            meta=np.array(json.dumps(meta)))
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
    info = stat_input(path)
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: cannot read: a folder, not a configuration file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: cannot read: not a regular file")
    if suffix_of(path) == ".npz":
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
    if suffix_of(path) == ".npz" and isinstance(config, dict):
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
