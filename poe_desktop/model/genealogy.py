"""The particles' ancestry over a run, without Qt: who descends from whom at each
resampling, and how many distinct ancestors today's particles have at each earlier step.

A run of T steps gives T ancestor entries, one a step: `ancestors[k]` is None where step k
did not resample (particle j of step k+1 is particle j of step k) or an (L,) integer array
where it did (particle j of step k+1 descends from particle `ancestors[k][j]` of step k).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def parents(ancestors: Sequence[np.ndarray | None], particles: int) -> np.ndarray:
    """(T, L) int array: row k is step k's ancestor array, the identity where None."""
    identity = np.arange(particles)
    rows = [identity if a is None else np.asarray(a, dtype=np.int64) for a in ancestors]
    return np.stack(rows) if rows else np.zeros((0, particles), dtype=np.int64)


def lineage(ancestors: Sequence[np.ndarray | None], particles: int) -> np.ndarray:
    """(T, L) int array: entry [k, j] is the particle of step k from which particle j of
    the last step (T - 1) descends. The last row is 0..L-1; a step's ancestors lead to
    the next step, so the last entry of `ancestors` (leading past the run) is not used."""
    table = parents(ancestors, particles)
    steps = len(table)
    out = np.empty((steps, particles), dtype=np.int64)
    if steps == 0:
        return out
    out[-1] = np.arange(particles)
    for k in range(steps - 2, -1, -1):
        out[k] = table[k][out[k + 1]]
    return out


def distinct_ancestors(ancestors: Sequence[np.ndarray | None], particles: int) -> np.ndarray:
    """(T,) int array: how many distinct particles of step k the last step's particles
    descend from (L at the last step; it can only fall going back)."""
    return np.array([len(np.unique(row)) for row in lineage(ancestors, particles)],
                    dtype=np.int64)


def segments(ancestors: Sequence[np.ndarray | None], particles: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """The ancestry as line segments, for a plot with steps across and particle indices
    up: x and y arrays of 2 (T - 1) L points, taken in pairs, from (k, ancestors[k][j])
    to (k + 1, j) for every step k < T - 1 and particle j."""
    table = parents(ancestors, particles)[:-1]
    steps = len(table)
    if steps == 0:
        return np.zeros(0), np.zeros(0)
    k = np.repeat(np.arange(steps), particles).astype(np.float64)
    j = np.tile(np.arange(particles), steps).astype(np.float64)
    x = np.stack([k, k + 1], axis=1).ravel()
    y = np.stack([table.ravel().astype(np.float64), j], axis=1).ravel()
    return x, y
