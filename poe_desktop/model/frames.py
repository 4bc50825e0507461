"""What the app shows of a run, without Qt: each sampler step as a `Frame` in host memory.

`FrameSource` turns a sampler's stream of step records into frames: the best particle
with its fidelity and its predicted clean cloud x0_hat (`StepRecord.denoised`), the shown
particle's trail along its own ancestry (of x_t, and of x0_hat), the recent rate
and the time left, and (on the CPU) the sampler's thread count chosen by timing the
first steps. It is a plain iterator; the app runs it on a worker thread
(`worker.StreamWorker`) and tests drive it directly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from poe_engine.metrics import fidelity

from .pacing import RateMeter, ThreadTrial

TRAIL_LENGTH = 8


@dataclass(frozen=True)
class Frame:
    """One denoising step, in host memory, ready to draw."""

    index: int
    steps: int
    t: float
    cloud: np.ndarray  # (N, 6) best particle
    log_weights: np.ndarray  # (L,)
    ess: float
    resampled: bool
    experts: tuple[str, ...]
    reward: str | None
    radial_error: float
    off_sphere: float
    chamfer: float
    steps_per_second: float  # the true average over the last couple of seconds
    trail: np.ndarray | None = None  # (k, N, 3): the shown particle's own last k positions
    seconds_left: float | None = None  # at the recent rate
    threads: str = ""  # the sampler's thread count, once chosen
    # what the step used (see StepRecord): its steering log is derived from these
    weights: tuple[float, ...] = ()  # of `experts`
    strength: float | None = None  # of `reward`
    precision: str = "fp32"
    # the population (see issue 10): read with defaults, so that records without them work
    reward_scale: float = 1.0  # lambda(t): the fraction of the reward's strength in force
    acceptance: float = math.nan  # MALA or the tilted moves' test; NaN: no test
    log_z: float = math.nan  # running estimate of the reward tilt's log normalizer
    rewards: np.ndarray | None = None  # (L,) each particle's log-reward
    ancestors: np.ndarray | None = None  # (L,) ints after a resampling, else None
    particles: np.ndarray | None = None  # (L, N, 6) float32, every particle of the step
    denoised: np.ndarray | None = None  # (N, 6): the shown particle's x0_hat = x_t - t v
    # (k, N, 3): x0_hat along the shown particle's ancestry, NaN at the steps where an
    # ancestor was not the shown particle (x0_hat is computed for that one alone)
    denoised_trail: np.ndarray | None = None


def _host(value) -> np.ndarray | None:
    return None if value is None else value.detach().cpu().numpy()


def frame_from(record, rate: float, trail: np.ndarray | None = None,
               seconds_left: float | None = None, threads: str = "",
               denoised_trail: np.ndarray | None = None) -> Frame:
    """A step record (`poe_engine.samplers.StepRecord`) as a Frame: its best particle and
    that cloud's fidelity, in host memory."""
    best = record.best.detach().float()
    fid = fidelity(best)
    particles = record.particles
    rewards = getattr(record, "rewards", None)
    denoised = getattr(record, "denoised", None)
    return Frame(
        index=record.index, steps=record.steps, t=record.t, cloud=best.cpu().numpy(),
        log_weights=record.log_weights.detach().cpu().numpy(), ess=record.ess,
        resampled=record.resampled, experts=record.experts, reward=record.reward,
        radial_error=fid.radial_error, off_sphere=fid.off_sphere, chamfer=fid.chamfer,
        steps_per_second=rate, trail=trail, seconds_left=seconds_left, threads=threads,
        weights=record.weights, strength=record.strength, precision=record.precision,
        reward_scale=float(getattr(record, "reward_scale", 1.0)),
        acceptance=float(getattr(record, "acceptance", math.nan)),
        log_z=float(getattr(record, "log_z", math.nan)),
        rewards=None if rewards is None else _host(rewards.float()),
        ancestors=_host(record.ancestors),
        particles=None if particles is None else _host(particles.float()),
        denoised=None if denoised is None else _host(denoised.float()),
        denoised_trail=denoised_trail,
    )


def all_positions(record) -> torch.Tensor:
    """Every particle's xyz, (L, N, 3) (needs `keep_particles`)."""
    return record.particles[..., :3]


def denoised_positions(record) -> torch.Tensor:
    """The shown particle's x0_hat xyz in its row of an (L, N, 3) tensor, NaN elsewhere."""
    xyz = record.denoised[:, :3].float()
    rows = torch.full((len(record.log_weights), *xyz.shape), math.nan, device=xyz.device)
    rows[record.best_index] = xyz
    return rows


class Trail:
    """The shown particle's path through the last `length` steps, along its own ancestry.
    `positions(record)` gives each particle's position at a step, (L, N, 3): by default
    every particle's xyz, which needs `SamplerSettings.keep_particles`."""

    def __init__(self, length: int = TRAIL_LENGTH, positions=all_positions) -> None:
        self.length = length
        self.positions = positions
        self.history: list[torch.Tensor] = []  # the last positions of every particle

    def add(self, record) -> np.ndarray:
        """The trail of `record`'s best particle, (k, N, 3), k <= length."""
        self.history = (self.history + [self.positions(record)])[-self.length:]
        trail = torch.stack([h[record.best_index] for h in self.history]).cpu().numpy()
        if record.ancestors is not None:  # the next step's particles descend from these
            self.history = [h[record.ancestors] for h in self.history]
        return trail

    def clear(self) -> None:
        self.history = []


class FrameSource:
    """Iterating over it runs `make_stream()` (a sampler's iterator of step records) and
    yields a Frame per step. `device` and `size` (particles, points, precision) key the
    thread trial on the CPU; `clock` is `time.perf_counter` unless a test gives its own.
    Every particle of the last steps (the trail's history) is freed when the stream
    ends, fails or is closed."""

    def __init__(self, make_stream: Callable[[], Iterator], device: str = "cpu",
                 size: tuple = (), clock: Callable[[], float] = time.perf_counter) -> None:
        self.make_stream = make_stream
        self.device = device
        self.size = size
        self.clock = clock
        self.trail = Trail()
        self.denoised_trail = Trail(positions=denoised_positions)
        self.rate = RateMeter()

    def thread_trial(self) -> ThreadTrial | None:
        """On the CPU, the thread count is chosen by timing the first steps."""
        if torch.device(self.device).type != "cpu":
            return None
        return ThreadTrial(("cpu", *self.size))

    def __iter__(self) -> Iterator[Frame]:
        try:
            stream = self.make_stream()
            threads = self.thread_trial()
            while True:
                started = self.clock()
                record = next(stream, None)
                if record is None:
                    return
                trail = self.trail.add(record)
                denoised_trail = (None if getattr(record, "denoised", None) is None
                                  else self.denoised_trail.add(record))
                if threads is not None and record.index > 0:  # step 1 also warms up
                    threads.record(self.clock() - started)
                self.rate.add(self.clock())
                yield frame_from(record, self.rate.rate(), trail,
                                 self.rate.seconds_left(record.steps - record.index - 1),
                                 threads.summary() if threads is not None else "",
                                 denoised_trail)
        finally:
            self.trail.clear()  # every particle of the last steps: free it with the run
            self.denoised_trail.clear()
