"""What the app shows of a run, without Qt: each sampler step as a `Frame` in host memory.

`FrameSource` turns a sampler's stream of step records into frames: the best particle
with its fidelity and its predicted clean cloud x0_hat (`StepRecord.denoised`), the shown
particle's trail along its own ancestry (of x_t, and of x0_hat), the recent rate
and the time left, what the run spent on the experts so far, and (on the CPU) the
sampler's thread count chosen by timing the first steps. Fidelity and x0_hat are `Lazy`
(issue 21): computed when first read (a frame drawn, a plot that shows them), on the
reader's thread, and never for a frame nobody reads; the sampler's thread only copies,
but for the fidelity while the plots show every step's (`fidelity_wanted`).
It is a plain iterator; the app runs it on a worker thread
(`worker.StreamWorker`) and tests drive it directly.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from poe_engine.metrics import shape_fidelity

from .pacing import AVAILABLE_THREADS, RateMeter, ThreadTrial

TRAIL_LENGTH = 8
_UNSET = object()
# Torch work of the sampler's thread (a step, a change of its thread count) and of a lazy
# value read on another thread never overlap: two threads in the same experts' layers, or
# a thread count changed under a running op, have hung a run here.
TORCH_LOCK = threading.RLock()
# What needs only that torch's thread count stays put (a fidelity of a host copy, read while
# the sampler computes the next step) waits for this lock alone, never for a whole step.
THREAD_COUNT_LOCK = threading.RLock()


class Lazy:
    """A value computed by `compute()` when first read (`get`), once, whichever thread reads
    it, holding `guard` meanwhile; what `compute` holds is let go then. `Lazy.known(value)`:
    one given already."""

    def __init__(self, compute: Callable[[], object], guard=TORCH_LOCK) -> None:
        self._compute, self._value, self._lock = compute, _UNSET, threading.Lock()
        self._guard = guard

    @classmethod
    def known(cls, value) -> Lazy:
        lazy = cls(lambda: value)
        lazy._value, lazy._compute = value, None
        return lazy

    @property
    def done(self) -> bool:
        return self._value is not _UNSET

    def get(self):
        if self._value is _UNSET:
            with self._guard, self._lock:
                if self._value is _UNSET:
                    self._value, self._compute = self._compute(), None
        return self._value


def _nothing() -> Lazy:
    return Lazy.known(None)


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
    # the cloud's fidelity (radial_error, off_sphere, chamfer): `Lazy.known(...)` or lazy
    metrics: Lazy
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
    # `denoised` (N, 6): the shown particle's x0_hat = x_t - t v, and `denoised_trail`
    # (k, N, 3): x0_hat along the shown particle's ancestry, NaN at the steps where an
    # ancestor was not the shown particle (x0_hat is computed for that one alone); lazy
    x0: Lazy = field(default_factory=_nothing, repr=False, compare=False)
    x0_trail: Lazy = field(default_factory=_nothing, repr=False, compare=False)
    # a composed run (poe_engine.compose): each particle's branch (L,) ints, and the
    # expression in force at this step
    branches: np.ndarray | None = None
    compose: str | None = None
    nfe: int = 0  # grouped expert calls of the run so far, this step's included
    mlp_evaluations: int = 0  # the neural experts' forward passes so far

    radial_error = property(lambda self: self.metrics.get()[0])
    off_sphere = property(lambda self: self.metrics.get()[1])
    chamfer = property(lambda self: self.metrics.get()[2])
    denoised = property(lambda self: self.x0.get())
    denoised_trail = property(lambda self: self.x0_trail.get())

    @property
    def branch_labels(self) -> np.ndarray | None:
        """`branches` under the StepRecord's name (what a trajectory's columns read)."""
        return self.branches


def cost_text(frame, lead: str = "") -> str:
    """What the run spent on the experts up to `frame`, in words ('20 expert calls (60 MLP
    evaluations)') after `lead`; '' where the frame does not say (a file's, an old run's)."""
    calls = getattr(frame, "nfe", 0)
    if not calls:
        return ""
    mlp = getattr(frame, "mlp_evaluations", 0)
    return (f"{lead}{calls} expert call{'s' * (calls != 1)}"
            + (f" ({mlp} MLP evaluations)" if mlp else ""))


def _host(value) -> np.ndarray | None:
    return None if value is None else value.detach().cpu().numpy()


def known_metrics(radial_error: float, off_sphere: float, chamfer: float) -> Lazy:
    """A frame's `metrics` when they are known already (a file's frames)."""
    return Lazy.known((float(radial_error), float(off_sphere), float(chamfer)))


def _metrics(best: torch.Tensor) -> tuple[float, float, float]:
    """The fidelity of a step's cloud, on one thread: it is read on the GUI's thread while
    the sampler's runs, and a second team of threads on the same cores made each of these
    small products 3-5x slower, and the sampler's step with them. (The caller holds
    THREAD_COUNT_LOCK, as a change of the sampler's thread count does.)"""
    threads = torch.get_num_threads()  # this thread's
    torch.set_num_threads(1)
    try:
        return shape_fidelity(best)
    finally:
        torch.set_num_threads(threads)


def lazy_denoised(record) -> Lazy:
    """The record's x0_hat (`StepRecord.denoised`, of its best particle) in host memory,
    computed when first read: until then it keeps the step's snapshot, its best particle
    and t (not the record, nor every particle)."""
    product = getattr(record, "product", _UNSET)
    if product is _UNSET:  # a record of another kind: its own `denoised`
        return Lazy(lambda: _host_float(getattr(record, "denoised", None)))
    if product is None:  # nothing to evaluate it with
        return Lazy.known(None)
    best, t = record.best, record.t

    def compute():  # as StepRecord.denoised computes it
        if t <= 0:  # the data level: x0_hat is x itself
            return _host_float(best)
        return _host_float(best - t * product.velocity(best.unsqueeze(0), t)[0])
    return Lazy(compute)


def _host_float(value) -> np.ndarray | None:
    return None if value is None else _host(value.float())


def frame_from(record, rate: float, trail: np.ndarray | None = None,
               seconds_left: float | None = None, threads: str = "",
               denoised_trail: Lazy | np.ndarray | None = None,
               denoised: Lazy | None = None, fidelity_now: bool = False) -> Frame:
    """A step record (`poe_engine.samplers.StepRecord`) as a Frame: its best particle in
    host memory, and that cloud's fidelity and x0_hat computed when first read (the
    fidelity now, on this thread, with `fidelity_now`)."""
    best = record.best.detach().float()
    cloud = best.cpu().numpy()
    if fidelity_now:
        with THREAD_COUNT_LOCK:
            metrics = known_metrics(*shape_fidelity(best))
    else:
        metrics = Lazy(lambda: _metrics(torch.from_numpy(cloud)), THREAD_COUNT_LOCK)
    particles = record.particles
    rewards = getattr(record, "rewards", None)
    if not isinstance(denoised_trail, Lazy):
        denoised_trail = Lazy.known(denoised_trail)
    return Frame(
        index=record.index, steps=record.steps, t=record.t, cloud=cloud,
        log_weights=record.log_weights.detach().cpu().numpy(), ess=record.ess,
        resampled=record.resampled, experts=record.experts, reward=record.reward,
        metrics=metrics,
        steps_per_second=rate, trail=trail, seconds_left=seconds_left, threads=threads,
        weights=record.weights, strength=record.strength, precision=record.precision,
        reward_scale=float(getattr(record, "reward_scale", 1.0)),
        acceptance=float(getattr(record, "acceptance", math.nan)),
        log_z=float(getattr(record, "log_z", math.nan)),
        rewards=None if rewards is None else _host(rewards.float()),
        ancestors=_host(record.ancestors),
        particles=None if particles is None else _host(particles.float()),
        x0=lazy_denoised(record) if denoised is None else denoised, x0_trail=denoised_trail,
        branches=_host(getattr(record, "branch_labels", None)),
        compose=getattr(record, "compose", None),
        nfe=int(getattr(record, "nfe", 0)), mlp_evaluations=int(getattr(record, "evaluations", 0)),
    )


def all_positions(record) -> torch.Tensor:
    """Every particle's xyz, (L, N, 3) (needs `keep_particles`)."""
    return record.particles[..., :3]


def _trail_of(steps: list[tuple[Lazy, bool]]) -> np.ndarray | None:
    """(k, N, 3): each step's x0_hat where `steps` says the shown particle's ancestor was
    the particle shown then (the last one always is), NaN elsewhere; None without x0_hat."""
    newest = steps[-1][0].get()
    if newest is None:
        return None
    blank = np.full((len(newest), 3), np.nan, np.float32)
    rows = [lazy.get() if own else None for lazy, own in steps]
    return np.stack([blank if r is None else np.asarray(r[:, :3], np.float32) for r in rows])


class DenoisedTrail:
    """x0_hat along the shown particle's ancestry, as `Trail` follows x_t, but computed when
    read: it keeps each of the last steps' lazy x0_hat (of its shown particle) and, for
    every particle of the newest step, which particle of that step it descends from; a
    frame's trail evaluates x0_hat only at the steps where its particle's ancestor was the
    one shown (x0_hat is computed for that one alone), and only if someone reads it."""

    def __init__(self, length: int = TRAIL_LENGTH) -> None:
        self.length = length
        self.history: list[tuple[Lazy, int, np.ndarray]] = []  # (x0_hat, shown, lineage)

    def add(self, record, x0: Lazy) -> Lazy:
        if x0.done and x0.get() is None:
            return Lazy.known(None)
        best = record.best_index
        self.history = (self.history + [(x0, best, np.arange(len(record.log_weights)))])[
            -self.length:]
        steps = [(lazy, int(lineage[best]) == shown) for lazy, shown, lineage in self.history]
        if record.ancestors is not None:  # the next step's particles descend from these
            parents = record.ancestors.cpu().numpy()
            self.history = [(lazy, shown, lineage[parents])
                            for lazy, shown, lineage in self.history]
        return Lazy(lambda: _trail_of(steps))

    def clear(self) -> None:
        self.history = []


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
        self.denoised_trail = DenoisedTrail()
        self.rate = RateMeter()
        # the shown cloud's fidelity computed with each step, while the plots show it (set
        # from the GUI's thread): on a pool thread beside the sampler's two it cost the
        # sampler about twice as much (three threads on two cores)
        self.fidelity_wanted = False

    def thread_trial(self) -> ThreadTrial | None:
        """On the CPU, the thread count is chosen by timing the first steps."""
        if torch.device(self.device).type != "cpu":
            torch.set_num_threads(AVAILABLE_THREADS)  # this thread's (host-side work)
            return None
        return ThreadTrial(("cpu", *self.size))

    def __iter__(self) -> Iterator[Frame]:
        try:
            stream = self.make_stream()
            threads = self.thread_trial()
            while True:
                started = self.clock()
                with TORCH_LOCK:
                    record = next(stream, None)
                if record is None:
                    return
                trail = self.trail.add(record)
                denoised = lazy_denoised(record)
                if torch.device(self.device).type != "cpu":
                    # off the CPU the experts may replay CUDA graphs on buffers of their own,
                    # which another thread must not share: x0_hat made here, as before
                    denoised.get()
                denoised_trail = self.denoised_trail.add(record, denoised)
                if threads is not None and record.index > 0:  # step 1 also warms up
                    with TORCH_LOCK, THREAD_COUNT_LOCK:  # it may change the thread count
                        threads.record(self.clock() - started)
                self.rate.add(self.clock())
                yield frame_from(record, self.rate.rate(), trail,
                                 self.rate.seconds_left(record.steps - record.index - 1),
                                 threads.summary() if threads is not None else "",
                                 denoised_trail, denoised, self.fidelity_wanted)
        finally:
            self.trail.clear()  # every particle of the last steps: free it with the run
            self.denoised_trail.clear()
