"""A run's frames as the arrays the statistics plot, without Qt, kept up incrementally.

During a run the list of frames only grows, so each update reads just the frames that
arrived since the last one and writes them into preallocated arrays (doubled when full);
the plots then take views of the first `count` rows. A list that shrank or whose first
frame changed is a new run: everything is read again. A frame's fidelity is computed when
first read (`frames.Lazy`), so its columns (LAZY_FIELDS) are read when a plot asks for them,
not at each update: a hidden plot computes none; while a run streams in, the app computes
them on another thread and the plots take those ready (`wait_for_lazy`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .genealogy import lineage

FIELDS = ("ess", "radial_error", "off_sphere", "chamfer", "reward_scale", "acceptance",
          "log_z")
LAZY_FIELDS = ("radial_error", "off_sphere", "chamfer")
DEFAULTS = {"reward_scale": 1.0, "acceptance": math.nan, "log_z": math.nan}
START_CAPACITY = 128


class FrameSeries:
    """Per-step arrays of a run: `steps` (1-based), the scalars of FIELDS, `resampled`,
    `rewards` (count, L; NaN rows where a frame has none) and `parents` (count, L: the
    ancestor arrays, the identity where a step did not resample)."""

    def __init__(self) -> None:
        self.clear()

    # False: the lazy columns read only the values computed already (NaN until then), so
    # that a reader on the GUI's thread never computes one while a run streams in
    wait_for_lazy = True

    def clear(self) -> None:
        self.count = 0
        self.particles = 0  # L, from the first frame's log-weights
        self.first = None  # the first frame read: another one means another run
        self.newest = None  # the last frame read
        self.rewards_seen = False
        self._frames: Sequence = ()  # the frames read, for the lazy columns
        self._lazy_count = 0  # rows of LAZY_FIELDS read so far
        self._allocate(START_CAPACITY)

    def _allocate(self, capacity: int) -> None:
        old, n = getattr(self, "_arrays", None), self.count
        shapes = {name: () for name in ("steps", *FIELDS, "resampled")}
        shapes |= {"rewards": (self.particles,), "parents": (self.particles,)}
        dtypes = {"resampled": bool, "parents": np.int64}
        self._arrays = {name: np.full((capacity, *shape), np.nan, dtype=np.float64)
                        if name not in dtypes else np.zeros((capacity, *shape), dtypes[name])
                        for name, shape in shapes.items()}
        if old is not None and n:
            for name, array in self._arrays.items():
                array[:n] = old[name][:n]

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("_arrays")
        if arrays is None or name not in arrays:
            raise AttributeError(name)
        if name in LAZY_FIELDS and self._lazy_count < self.count:
            self._read_lazy()
        return arrays[name][:self.count]

    def _read_lazy(self) -> None:
        # (a run's list of frames is emptied as the next run starts, before the next sync)
        for k in range(self._lazy_count, min(self.count, len(self._frames))):
            frame = self._frames[k]
            if not self.wait_for_lazy and not getattr(getattr(frame, "metrics", None), "done",
                                                      True):
                return  # still being computed elsewhere: a later read gets it
            for name in LAZY_FIELDS:
                self._arrays[name][k] = float(getattr(frame, name, math.nan))
            self._lazy_count = k + 1

    def sync(self, frames: Sequence) -> int:
        """Read the frames not read yet; returns how many were new (all of them after a new
        run began)."""
        if frames and (len(frames) < self.count or frames[0] is not self.first
                       or len(frames[0].log_weights) != self.particles):
            self.clear()
        if not frames:
            if self.count:
                self.clear()
            return 0
        if self.first is None:
            self.first, self.particles = frames[0], len(frames[0].log_weights)
            self._allocate(START_CAPACITY)
        new = frames[self.count:]
        capacity = len(self._arrays["steps"])
        if self.count + len(new) > capacity:
            while capacity < self.count + len(new):
                capacity *= 2
            self._allocate(capacity)
        identity = np.arange(self.particles)
        a = self._arrays
        for k, frame in enumerate(new, start=self.count):
            a["steps"][k] = frame.index + 1
            for name in FIELDS:
                if name in LAZY_FIELDS:
                    continue
                a[name][k] = float(getattr(frame, name, DEFAULTS.get(name, math.nan)))
            a["resampled"][k] = bool(frame.resampled)
            rewards = getattr(frame, "rewards", None)
            if rewards is not None and len(rewards) == self.particles:
                a["rewards"][k] = rewards
                self.rewards_seen = True
            else:
                a["rewards"][k] = np.nan
            ancestors = getattr(frame, "ancestors", None)
            known = ancestors is not None and len(ancestors) == self.particles
            a["parents"][k] = ancestors if known else identity
        self.count += len(new)
        self._frames = frames
        self.newest = frames[self.count - 1]
        return len(new)

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """The ancestry as line segments taken in pairs, from (step k, its particle
        parents[k - 1][j]) to (step k + 1, particle j), steps 1-based: what
        `genealogy.segments` gives, from the kept table."""
        table, particles = self.parents[:-1], self.particles
        if len(table) == 0:
            return np.zeros(0), np.zeros(0)
        k = np.repeat(np.arange(1, len(table) + 1, dtype=np.float64), particles)
        j = np.tile(np.arange(particles, dtype=np.float64), len(table))
        x = np.stack([k, k + 1], axis=1).ravel()
        y = np.stack([table.ravel().astype(np.float64), j], axis=1).ravel()
        return x, y

    def lineage(self) -> np.ndarray:
        """(count, L): the particle of each step from which today's particle j descends."""
        return lineage(self.parents, self.particles)


def distinct_per_row(lines: np.ndarray) -> np.ndarray:
    """How many distinct values each row of an integer table holds (vectorised)."""
    if lines.size == 0:
        return np.zeros(len(lines), dtype=np.int64)
    ordered = np.sort(lines, axis=1)
    return 1 + (np.diff(ordered, axis=1) != 0).sum(axis=1)


def nice_range(low: float, high: float, floor_zero: bool = False) -> tuple[float, float]:
    """Bounds around [low, high] on a 1-2-5 grid of about four steps: they change only
    when the data outgrow them by a step, so that an axis is not redrawn at each update."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return (0.0, 1.0)
    if floor_zero:
        low = min(low, 0.0)
    span = high - low
    if span <= 0:
        span = abs(high) or 1.0
        low, high = low - span / 2, high + span / 2
    raw = span / 4
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return (math.floor(low / step) * step, math.ceil(high / step) * step)
