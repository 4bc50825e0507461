"""A run's steps stacked into arrays: what its .npz holds and what a recording draws.

`Trajectory.from_records` takes a run's step records (`samplers.StepRecord`, tensors on
any device) or anything with the same fields in host memory (the app's frames), so the
command line, the recorder and the app stack a run in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .exports import write_trajectory_npz
from .steering import columns


def _scalar(value: Any, default: float) -> float:
    """A record's float field (a float or a 0-d tensor); `default` where it is missing."""
    return default if value is None else float(value)


def particle_columns(records: Sequence) -> dict[str, np.ndarray]:
    """The particle system per step, as .npz columns: `ancestors` (T, L) int64, -1 where
    no resampling happened; `reward_scale` (T) the reward's multiplier lambda in [0, 1];
    `acceptance` (T) the moves' mean acceptance (MALA's, or the reward test of tilted
    moves), NaN where they make no test; `log_z` (T) the running log Z estimate; for an
    OR's mixture, `branches` (T, L), each particle's branch. Records without these fields
    (older frames) give -1 / NaN."""
    particles = len(_host(records[0].log_weights))
    ancestors = np.full((len(records), particles), -1, dtype=np.int64)
    for i, r in enumerate(records):
        a = getattr(r, "ancestors", None)
        if a is not None:
            ancestors[i] = _host(a)
    nan = float("nan")
    branches = {}
    if any(getattr(r, "branch_labels", None) is not None for r in records):
        # an OR's mixture (mixture.py): each particle's branch at each step
        branches["branches"] = np.stack([
            np.zeros(particles, np.int64) if getattr(r, "branch_labels", None) is None
            else _host(r.branch_labels).astype(np.int64) for r in records])
    return branches | {
        "ancestors": ancestors,
        "reward_scale": np.array([_scalar(getattr(r, "reward_scale", None), nan)
                                  for r in records], dtype=np.float64),
        "acceptance": np.array([_scalar(getattr(r, "acceptance", None), nan)
                                for r in records], dtype=np.float64),
        "log_z": np.array([_scalar(getattr(r, "log_z", None), nan) for r in records],
                          dtype=np.float64),
    }


def _host(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, possibly on the GPU
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@dataclass(frozen=True)
class Trajectory:
    """T steps of a run. Per step: the shown (best) cloud, the log-weights, ESS, whether it
    resampled, its level t, and what it multiplied together (experts in play with their
    weights, the reward and its strength)."""

    clouds: np.ndarray  # (T, N, 6)
    log_weights: np.ndarray  # (T, L)
    ess: np.ndarray  # (T,)
    resampled: np.ndarray  # (T,) bool
    t: np.ndarray  # (T,)
    experts: tuple[tuple[str, ...], ...]
    reward: tuple[str | None, ...]
    steered: dict[str, np.ndarray] = field(default_factory=dict)  # `steering.columns`
    system: dict[str, np.ndarray] = field(default_factory=dict)  # `particle_columns`
    # the last step's every particle (L, N, 6) and their log-weights (L), where the last
    # record holds its particles (`SamplerSettings.keep_particles`, the app's frames)
    population: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_records(cls, records: Sequence) -> Trajectory:
        """Stacked from step records (StepRecord: `best`; a Frame: `cloud`), in order."""
        if not records:
            raise ValueError("a trajectory needs at least one step")
        clouds = [r.cloud if hasattr(r, "cloud") else r.best for r in records]
        last = records[-1]
        population = (None if getattr(last, "particles", None) is None
                      else (_host(last.particles), _host(last.log_weights)))
        return cls(
            clouds=np.stack([_host(c) for c in clouds]),
            log_weights=np.stack([_host(r.log_weights) for r in records]),
            ess=np.array([r.ess for r in records]),
            resampled=np.array([r.resampled for r in records], dtype=bool),
            t=np.array([r.t for r in records]),
            experts=tuple(tuple(r.experts) for r in records),
            reward=tuple(r.reward for r in records),
            steered=columns(records),
            system=particle_columns(records),
            population=population,
        )

    def __len__(self) -> int:
        return len(self.clouds)

    @property
    def final(self) -> np.ndarray:
        """The last step's cloud (N, 6)."""
        return self.clouds[-1]

    def save_npz(self, path: str | Path, meta: dict, particles: bool = False) -> Path:
        """The .npz of `poe-engine sample` (`exports.write_trajectory_npz`); with
        `particles`, the final population too (ValueError where it was not kept)."""
        if particles and self.population is None:
            raise ValueError("the run kept no particles to save")
        return write_trajectory_npz(path, self.clouds, self.log_weights, self.ess,
                                    self.resampled, self.t, meta,
                                    steered=self.steered | self.system,
                                    population=self.population if particles else None)
