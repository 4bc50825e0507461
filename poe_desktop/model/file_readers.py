"""Files a person opens in the app, read without Qt: a run's .npz trajectory (as
`poe-engine sample --out` and the app's Export write it) as the app's frames, a PLY
cloud as a one-step run, and a run configuration (`poe_engine.exports.load_config`).

Every file is untrusted: each reader checks what it reads (sizes before reading, shapes
and types after) and raises `InputError` with one line naming the file, so the window
can say what is wrong and keep what it shows. Nothing is unpickled.
"""

from __future__ import annotations

import math
import stat
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from poe_engine.errors import InputError, cut, one_line
from poe_engine.experts import EXPERT_NAMES
from poe_engine.exports import load_config
from poe_engine.metrics import chamfer_distance, off_sphere_fraction, radial_error
from poe_engine.paths import stat_input
from poe_engine.steering import Controls

from .frames import Frame, Lazy

KINDS = {".npz": "trajectory", ".ply": "cloud", ".json": "configuration"}
MAX_FILE_BYTES = 1 << 30  # on disk: a default run's .npz is about 1.5 MB
MAX_ARRAY_BYTES = 1 << 30  # an .npz's arrays once uncompressed (a zip may inflate a lot)
MAX_CLOUD_POINTS = 2_000_000  # a PLY's vertices: more would not draw at any useful speed
CHAMFER_MAX_POINTS = 8192  # its cost grows with the square; larger clouds get NaN
PLY_GREY = 0.8  # the colour of a PLY without colours
REQUIRED_COLUMNS = ("trajectory", "log_weights", "ess", "resampled", "t")
# The final population (`poe-engine sample --save-particles`, Export with particles):
# every particle of the last step (L, N, 6) and their log-weights (L); not per step.
POPULATION_COLUMNS = ("final_particles", "final_log_weights")


@dataclass(frozen=True)
class OpenedRun:
    """A file's steps as the app's frames, and the run's configuration when it has one."""

    frames: list[Frame]
    config: dict | None
    note: str = ""  # what the user should know of it (a partial run, a cloud alone)


def file_kind(path: str | Path) -> str:
    """'trajectory', 'cloud' or 'configuration', by the suffix; InputError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in KINDS:
        raise InputError(f"{Path(path).name}: cannot open this kind of file; open a .npz "
                         "trajectory, a .ply cloud or a .json run configuration")
    return KINDS[suffix]


def check_file(path: str | Path) -> int:
    """The size of `path`, a regular file of a sensible size; InputError otherwise."""
    info = stat_input(path)
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: a folder; open a .npz, .ply or .json file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file")
    if info.st_size == 0:
        raise InputError(f"{path}: the file is empty")
    if info.st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: too large to open ({info.st_size:,} bytes; at most "
                         f"{MAX_FILE_BYTES // 2**20} MiB)")
    return info.st_size


def read_file(path: str | Path) -> tuple[str, OpenedRun | dict]:
    """The file's kind and what it holds: an OpenedRun for a trajectory or a cloud, a
    checked configuration for a .json."""
    kind = file_kind(path)
    check_file(path)
    if kind == "trajectory":
        return kind, read_trajectory(path)
    if kind == "cloud":
        return kind, read_cloud(path)
    return kind, load_config(path)


# --------------------------------------------------------------------------- trajectories


def read_trajectory(path: str | Path) -> OpenedRun:
    """A run's .npz as frames: its steps, their log-weights, ESS, resampling, level t and
    what each multiplied together; the fidelity of each step's cloud is computed here.
    Fields the file lacks take the Frame defaults (or its configuration's controls)."""
    path = Path(path)
    config = load_config(path)  # the meta: InputError for a foreign or damaged .npz
    columns = _npz_columns(path)
    population = {name: columns.pop(name) for name in POPULATION_COLUMNS if name in columns}
    clouds = columns["trajectory"]
    if clouds.ndim != 3 or clouds.shape[2] != 6 or len(clouds) == 0 or clouds.shape[1] == 0:
        raise InputError(f"{path}: the trajectory must have shape (steps, points, 6), "
                         f"got {clouds.shape}")
    count = len(clouds)
    for name, values in columns.items():
        if values.ndim == 0 or len(values) != count:
            raise InputError(f"{path}: {name} has {len(values) if values.ndim else 0} steps, "
                             f"the trajectory {count}")
    log_weights = columns["log_weights"]
    if log_weights.ndim != 2 or log_weights.shape[1] == 0:
        raise InputError(f"{path}: log_weights must have shape (steps, particles), "
                         f"got {log_weights.shape}")
    ancestors = columns.get("ancestors")
    if ancestors is not None and not _valid_ancestors(ancestors, log_weights.shape):
        raise InputError(f"{path}: ancestors must be (steps, particles) particle numbers, "
                         "-1 where a step did not resample")
    branches = columns.get("branches")  # a composed run's: each particle's branch
    if branches is not None and not (branches.shape == log_weights.shape
                                     and branches.dtype.kind in "iu"
                                     and bool(((branches >= 0) & (branches < 64)).all())):
        raise InputError(f"{path}: branches must be (steps, particles) branch numbers")
    steps = max(count, int(config.get("steps", count)))
    composes = _composes(config, count)
    controls = Controls.from_config(config)
    precision = config.get("precision", Frame.precision)
    frames = []
    for i in range(count):
        experts, weights, reward, strength = _step_controls(columns, i, controls)
        parents = None if ancestors is None or (ancestors[i] < 0).any() else ancestors[i]
        frames.append(Frame(
            index=i, steps=steps, t=float(columns["t"][i]), cloud=clouds[i],
            log_weights=log_weights[i].astype(np.float64), ess=float(columns["ess"][i]),
            resampled=bool(columns["resampled"][i]), experts=experts, reward=reward,
            **_fidelity(clouds[i]), steps_per_second=0.0, weights=weights, strength=strength,
            precision=precision if precision != "auto" else Frame.precision,
            **{name: float(columns[name][i]) for name in ("reward_scale", "acceptance",
                                                          "log_z") if name in columns},
            ancestors=parents, compose=composes[i],
            branches=None if branches is None else branches[i].astype(np.int64)))
    note = (f"a partial run: {count} of its {steps} steps" if count < steps
            else f"{count} steps")
    if population:
        particles, weights = _population(path, population, (log_weights.shape[1],
                                                            clouds.shape[1], 6))
        frames[-1] = replace(frames[-1], particles=particles, log_weights=weights)
        note += f", its final population of {len(particles)} particles"
    return OpenedRun(frames, config, note)


def _population(path: Path, columns: dict, shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The final population's particles (L, N, 6) float32 and log-weights (L) float64,
    checked against the trajectory's particles L and points N."""
    if len(columns) != len(POPULATION_COLUMNS):
        (have,) = columns
        (lacking,) = (name for name in POPULATION_COLUMNS if name != have)
        raise InputError(f"{path}: {have} without {lacking}")
    particles, weights = (columns[name] for name in POPULATION_COLUMNS)
    if particles.shape != shape or weights.shape != shape[:1]:
        raise InputError(f"{path}: the final population must be {shape} particles with "
                         f"{shape[0]} log-weights, got {particles.shape} and {weights.shape}")
    if particles.dtype.kind != "f" or not np.isfinite(particles).all():
        raise InputError(f"{path}: final_particles must be finite numbers")
    return particles.astype(np.float32, copy=False), weights.astype(np.float64)


def _composes(config: dict, count: int) -> list[str | None]:
    """The expression in force at each step of a composed run (None: not composed)."""
    text, due = config.get("compose"), {e["step"]: e["compose"]
                                        for e in config.get("compose_steering", ())}
    out = []
    for i in range(count):
        text = due.get(i + 1, text)
        out.append(text)
    return out


def _npz_columns(path: Path) -> dict[str, np.ndarray]:
    """The .npz's arrays (not its meta) as numbers, sizes checked before inflating."""
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(f"{path}: not a readable .npz ({cut(one_line(err))})") from None
    if inflated > MAX_ARRAY_BYTES:
        raise InputError(f"{path}: its arrays are too large to open ({inflated:,} bytes "
                         f"uncompressed; at most {MAX_ARRAY_BYTES // 2**20} MiB)")
    columns = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [name for name in REQUIRED_COLUMNS if name not in npz.files]
            if missing:
                raise InputError(f"{path}: not a run's trajectory (no {', '.join(missing)})")
            for name in npz.files:
                if name in ("meta", "final"):
                    continue
                columns[name] = npz[name]
    except InputError:
        raise
    except Exception as err:  # zipfile, zlib and numpy raise many types for damage
        raise InputError(f"{path}: damaged ({cut(one_line(err))})") from None
    for name, values in columns.items():
        if values.dtype.kind not in "biuf" and not (name == "reward" and values.dtype.kind == "U"):
            raise InputError(f"{path}: {name} holds {values.dtype}, not numbers")
    columns["trajectory"] = columns["trajectory"].astype(np.float32, copy=False)
    return columns


def _valid_ancestors(ancestors: np.ndarray, shape: tuple[int, int]) -> bool:
    """(T, L) integers in [-1, L): the genealogy indexes particles by them."""
    return (ancestors.shape == shape and ancestors.dtype.kind in "iu"
            and bool(((ancestors >= -1) & (ancestors < shape[1])).all()))


def _step_controls(columns: dict, i: int, controls: Controls) -> tuple:
    """Experts in play with their weights, reward and strength of step `i`: from the
    file's columns where it has them, else from its configuration."""
    if "expert_weights" in columns and columns["expert_weights"].shape[1:] == (
            len(EXPERT_NAMES),):
        row = columns["expert_weights"][i]
        in_play = {n: float(w) for n, w in zip(EXPERT_NAMES, row, strict=True) if w > 0}
    else:
        in_play = controls.in_play()
    reward = controls.reward
    if "reward" in columns:
        reward = str(columns["reward"][i])
        reward = None if reward == "none" else reward
    strength = controls.strength if reward is not None else None
    if reward is not None and "reward_strength" in columns:
        strength = float(columns["reward_strength"][i])
    return tuple(in_play), tuple(in_play.values()), reward, strength


def _fidelity(cloud: np.ndarray) -> dict[str, Lazy]:
    """A frame's `metrics`, computed when first read (a file may hold hundreds of steps)."""
    def compute() -> tuple[float, float, float]:
        points = torch.from_numpy(np.ascontiguousarray(cloud, dtype=np.float32))
        return (radial_error(points), off_sphere_fraction(points),
                chamfer_distance(points) if len(points) <= CHAMFER_MAX_POINTS else math.nan)
    return {"metrics": Lazy(compute)}


# --------------------------------------------------------------------------- PLY

PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2",
             "int16": "i2", "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4",
             "uint": "u4", "uint32": "u4", "float": "f4", "float32": "f4", "double": "f8",
             "float64": "f8"}
PLY_FORMATS = {"binary_little_endian": "<", "binary_big_endian": ">", "ascii": None}
MAX_PLY_HEADER = 64 * 1024


def read_cloud(path: str | Path) -> OpenedRun:
    """A PLY cloud as a run of one step (it has no levels, weights or experts)."""
    cloud = read_ply(path)
    frame = Frame(index=0, steps=1, t=0.0, cloud=cloud, log_weights=np.zeros(1), ess=1.0,
                  resampled=False, experts=(), reward=None, **_fidelity(cloud),
                  steps_per_second=0.0)
    return OpenedRun([frame], None, f"a cloud of {len(cloud)} points")


def read_ply(path: str | Path) -> np.ndarray:
    """An (N, 6) float32 cloud from a PLY file's vertices: binary (either byte order) or
    ASCII, x y z and, where present, red green blue (integers scaled to [0, 1], floats as
    they are; grey without them). The vertex element must come first."""
    path = Path(path)

    def fail(problem: str) -> InputError:
        return InputError(f"{path}: not a PLY cloud this app reads: {problem}")

    try:
        return _read_ply(path, fail)
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror or err}") from None
    except ValueError as err:  # numpy refused the header's layout (a name twice, ...)
        if isinstance(err, InputError):
            raise
        raise fail(cut(one_line(err))) from None


def _read_ply(path: Path, fail) -> np.ndarray:
    with path.open("rb") as f:
        head = f.read(MAX_PLY_HEADER)
        end = head.find(b"end_header")
        if not head.startswith(b"ply") or end < 0:
            raise fail("no PLY header" if not head.startswith(b"ply") else "no end_header")
        header_end = head.index(b"\n", end) + 1 if b"\n" in head[end:] else len(head)
        try:
            lines = head[:end].decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise fail("a header that is not ASCII") from None
        byte_order, count, props = _ply_header([line.strip() for line in lines[1:]], fail)
        f.seek(header_end)
        if byte_order is None:
            table = _ply_ascii(f, count, len(props), fail)
        else:
            dtype = np.dtype([(name, byte_order + kind) for name, kind in props])
            data = f.read(dtype.itemsize * count)
            if len(data) < dtype.itemsize * count:
                raise fail(f"truncated: the header says {count} vertices, the file holds "
                           f"{len(data) // dtype.itemsize}")
            records = np.frombuffer(data, dtype=dtype, count=count)
            table = np.stack([records[name].astype(np.float64) for name, _ in props], axis=1)
    names = [name for name, _ in props]
    cloud = np.full((count, 6), PLY_GREY, dtype=np.float32)
    for i, axis in enumerate(("x", "y", "z")):
        cloud[:, i] = table[:, names.index(axis)]
    if all(c in names for c in ("red", "green", "blue")):
        for i, channel in enumerate(("red", "green", "blue")):
            kind = dict(props)[channel]
            scale = 1.0 if kind[0] == "f" else float(np.iinfo(np.dtype(kind)).max)
            cloud[:, 3 + i] = table[:, names.index(channel)] / scale
    if not np.isfinite(cloud).all():
        raise fail("coordinates or colours that are not finite numbers")
    return cloud


def _ply_header(lines: list[str], fail) -> tuple[str | None, int, list[tuple[str, str]]]:
    """Byte order ('<', '>' or None for ASCII), vertex count and the vertex properties."""
    byte_order, count, props, element = "", -1, [], None
    for line in lines:
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format" and len(words) == 3 and words[1] in PLY_FORMATS:
            byte_order = PLY_FORMATS[words[1]]
        elif words[0] == "element" and len(words) == 3:
            if element is None and words[1] != "vertex":
                raise fail(f"its first element is {cut(words[1], 20)!r}, not vertex")
            element = words[1]
            if element == "vertex":
                if not words[2].isdigit():
                    raise fail(f"a vertex count of {cut(words[2], 20)!r}")
                count = int(words[2])
        elif words[0] == "property" and element == "vertex":
            if len(words) != 3 or words[1] not in PLY_TYPES:
                raise fail(f"a vertex property it cannot read: {cut(line, 40)!r}")
            props.append((words[2], PLY_TYPES[words[1]]))
        elif words[0] not in ("property",):
            raise fail(f"a header line it cannot read: {cut(line, 40)!r}")
    if byte_order == "":
        raise fail("no format line")
    if count < 0:
        raise fail("no vertex element")
    if count == 0:
        raise fail("no vertices")
    if count > MAX_CLOUD_POINTS:
        raise fail(f"{count} vertices, more than the {MAX_CLOUD_POINTS} it shows")
    missing = [axis for axis in "xyz" if axis not in dict(props)]
    if missing:
        raise fail(f"no {', '.join(missing)} property")
    return byte_order, count, props


def _ply_ascii(f, count: int, width: int, fail) -> np.ndarray:
    rows = []
    for _ in range(count):
        line = f.readline()
        if not line:
            raise fail(f"truncated: the header says {count} vertices, the file holds "
                       f"{len(rows)}")
        words = line.split()
        if len(words) < width:
            raise fail(f"vertex {len(rows) + 1} has {len(words)} values, not {width}")
        try:
            rows.append([float(w) for w in words[:width]])
        except ValueError:
            raise fail(f"vertex {len(rows) + 1} holds something that is not a number"
                       ) from None
    return np.array(rows, dtype=np.float64)
