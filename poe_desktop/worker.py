"""The sampler's side of the app: a worker object that lives on a QThread.

It drives the engine's streaming iterator with tensors on the run's device,
copies each step's best particle to host memory and emits it as a `Frame`.
It never touches a widget. The GUI talks to it through thread-safe calls
(`pause`, `resume`, `step_once`, `stop`, `pause_after`) that flip flags the
loop checks between steps, and through the shared `Composition`, which the sampler reads
at every step.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from poe_engine.metrics import fidelity
from poe_engine.product import Composition
from poe_engine.runs import OUT_OF_MEMORY
from poe_engine.samplers import SAMPLERS, SamplerSettings

from .pacing import Pace, RateMeter, ThreadTrial


@dataclass(frozen=True)
class RunConfig:
    settings: SamplerSettings
    sampler: str = "ais"
    seed: int = 0
    device: str = "cpu"
    pace: float | None = None  # at most this many steps a second; None: as fast as it goes


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


class SamplerWorker(QObject):
    frameReady = Signal(object)  # Frame
    finished = Signal(str)  # "completed" | "stopped"
    failed = Signal(str)  # a message for the user
    pausedAt = Signal(int)  # index of the step after which a `pause_after` request paused

    TRAIL_LENGTH = 8

    def __init__(self, composition: Composition, config: RunConfig) -> None:
        super().__init__()
        self.composition = composition
        # every particle is needed to follow the shown particle's own ancestry for its trail
        self.config = replace(config, settings=replace(config.settings, keep_particles=True))
        self._history: list[torch.Tensor] = []  # the last positions of every particle
        self._stop = threading.Event()
        self._go = threading.Event()  # set while running freely
        self._go.set()
        self._steps_allowed = 0  # single steps granted while paused
        self._pause_after: int | None = None  # pause once this step (1-based) is emitted
        self._lock = threading.Condition()
        self._pace = Pace(config.pace)
        self._rate = RateMeter()

    # ---- called from the GUI thread ---------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            self._go.clear()

    def resume(self) -> None:
        with self._lock:
            self._go.set()
            self._lock.notify_all()

    def step_once(self) -> None:
        with self._lock:
            self._steps_allowed += 1
            self._lock.notify_all()

    def pause_after(self, step: int | None) -> None:
        """Pause right after step `step` (1-based) is emitted, before the next one is
        computed, as if `pause` had been called then (None: no such request). Set it before
        the run starts to catch an exact step; a run with fewer steps just completes."""
        with self._lock:
            self._pause_after = step

    def set_pace(self, steps_per_second: float | None) -> None:
        """At most this many steps a second from the next step on (None: no limit)."""
        with self._lock:
            self._pace.steps_per_second = steps_per_second
            self._lock.notify_all()

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            self._lock.notify_all()

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    # ---- runs on the worker thread ----------------------------------------------------
    def _wait_for_permission(self) -> bool:
        """Block while paused; False when the run must stop."""
        with self._lock:
            while not self._stop.is_set():
                if self._go.is_set():
                    return True
                if self._steps_allowed > 0:
                    self._steps_allowed -= 1
                    return True
                self._lock.wait(0.1)
        return False

    @Slot()
    def run(self) -> None:
        cfg = self.config
        try:
            stream = SAMPLERS[cfg.sampler](self.composition, cfg.settings, cfg.seed, cfg.device)
            threads = self._thread_trial()
            while self._wait_for_permission():
                started = time.perf_counter()
                record = next(stream, None)
                if record is None:
                    self.finished.emit("completed")
                    return
                trail = self._trail(record)
                if threads is not None and record.index > 0:  # step 1 also warms up
                    threads.record(time.perf_counter() - started)
                self._rate.add(time.perf_counter())
                self.frameReady.emit(self._frame(
                    record, self._rate.rate(), trail,
                    self._rate.seconds_left(record.steps - record.index - 1),
                    threads.summary() if threads is not None else ""))
                self._pause_if_asked(record.index)
                self._wait_for_pace(started)
            self.finished.emit("stopped")
        except torch.cuda.OutOfMemoryError:
            self.failed.emit(f"{OUT_OF_MEMORY[0].upper()}{OUT_OF_MEMORY[1:]}.")
        except Exception as err:  # the app must stay up whatever the engine raises
            self.failed.emit(f"{type(err).__name__}: {err}")
        finally:
            self._history = []  # every particle of the last steps: free it with the run

    def _thread_trial(self) -> ThreadTrial | None:
        """On the CPU, the thread count is chosen by timing the first steps."""
        if torch.device(self.config.device).type != "cpu":
            return None
        st = self.config.settings
        return ThreadTrial(("cpu", st.particles, st.points, st.precision))

    def _wait_for_pace(self, started: float) -> None:
        with self._lock:
            delay = self._pace.delay(started, time.perf_counter())
            if delay > 0 and not self._stop.is_set():
                self._lock.wait(delay)  # stop, resume or a new pace wake it early

    def _pause_if_asked(self, index: int) -> None:
        with self._lock:
            due = self._pause_after is not None and index + 1 >= self._pause_after
            if due:
                self._pause_after = None
                self._go.clear()
        if due:
            self.pausedAt.emit(index)

    def _trail(self, record) -> np.ndarray:
        """The shown particle's path through the last steps, along its own ancestry."""
        self._history = (self._history + [record.particles[..., :3]])[-self.TRAIL_LENGTH:]
        trail = torch.stack([h[record.best_index] for h in self._history]).cpu().numpy()
        if record.ancestors is not None:  # the next step's particles descend from these
            self._history = [h[record.ancestors] for h in self._history]
        return trail

    @staticmethod
    def _frame(record, rate: float, trail: np.ndarray | None = None,
               seconds_left: float | None = None, threads: str = "") -> Frame:
        best = record.best.detach().float()
        fid = fidelity(best)
        return Frame(
            index=record.index,
            steps=record.steps,
            t=record.t,
            cloud=best.cpu().numpy(),
            log_weights=record.log_weights.detach().cpu().numpy(),
            ess=record.ess,
            resampled=record.resampled,
            experts=record.experts,
            reward=record.reward,
            radial_error=fid.radial_error,
            off_sphere=fid.off_sphere,
            chamfer=fid.chamfer,
            steps_per_second=rate,
            trail=trail,
            seconds_left=seconds_left,
            threads=threads,
            weights=record.weights,
            strength=record.strength,
            precision=record.precision,
        )
