"""How fast a run goes in the app: its measured rate, a pace a person can follow, and the
sampler's thread count, chosen by measurement. Plain Python, no Qt: the worker uses it
and the tests drive it with their own clock."""

from __future__ import annotations

import math
import sys
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

RATE_WINDOW_S = 2.0  # the status bar's steps/s is the average over this much recent time
# a recording at the default frame rate shows a run for at least this long, however few
# its steps (issue 21: a default run has 16): each step is then shown for several frames
MIN_RUN_SECONDS = 4.0
# torch's thread count as the process starts: another thread's brief change of its own count
# (frames._metrics, sampler_gets_the_cores) must not become the sampler's candidates
AVAILABLE_THREADS = torch.get_num_threads()
GIL_SWITCH_S = 0.001  # Python's default is 5 ms (sampler_gets_the_cores)


@contextmanager
def sampler_gets_the_cores() -> Iterator[None]:
    """Meanwhile the calling thread (the GUI's) does its own torch work (loading the
    experts, the precision probe, x0_hat of a drawn step) on one thread, and so does any
    thread that does not choose its count (the sampler's does: ThreadTrial).

    Why: a thread that computes with two threads keeps an OpenMP team for the rest of the
    process, and once the process holds more OpenMP threads than the machine has cores,
    libgomp has the sampler's team sleep between its parallel regions instead of spinning
    (about 1,000 sleeps a default run instead of 250 here, each a wake-up on a busy core).
    And the GUI thread's Python lets go of the GIL after GIL_SWITCH_S when the sampler's
    thread waits for it between two torch ops (its OpenMP threads idle meanwhile).
    The app's own entry points use it around their work (a choice for a whole process,
    as gui_gc's)."""
    threads, switch = torch.get_num_threads(), sys.getswitchinterval()
    torch.set_num_threads(1)
    sys.setswitchinterval(GIL_SWITCH_S)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        sys.setswitchinterval(switch)


class RateMeter:
    """Steps per second over the last `span` seconds (the true recent average, not a
    smoothed guess), and the time the remaining steps will take at that rate.

    A gap longer than the span between two steps (a pause, or a very slow step) starts
    the average afresh, so that a pause does not drag the rate down for the seconds after
    it; until the next step the rate is that one long step's."""

    def __init__(self, span: float = RATE_WINDOW_S) -> None:
        self.span = span
        self._times: deque[float] = deque()
        self._gap: float | None = None  # the long step that started the average afresh

    def add(self, when: float) -> None:
        if self._times and when - self._times[-1] > self.span:
            self._gap = when - self._times[-1]
            self._times.clear()
        self._times.append(when)
        while len(self._times) > 2 and when - self._times[1] >= self.span:
            self._times.popleft()

    def rate(self) -> float:
        """Steps per second between the oldest and newest step in the window; 0 before
        two steps were seen."""
        if len(self._times) < 2:
            return 1.0 / self._gap if self._gap else 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def seconds_left(self, steps_left: int) -> float | None:
        rate = self.rate()
        return steps_left / rate if rate > 0 else None


class DrawBudget:
    """How often the view may redraw while a run streams in, so that drawing takes at most
    `share` of the time and the sampler keeps the rest.

    A redraw's cost is measured (`add`: seconds from the start of a step's redraw, its
    panels and plots first, to the window's frame on screen), not assumed: on a GPU it is
    a few milliseconds and the view keeps up with every step; with software OpenGL on two
    cores a redraw (35-90 ms here) composes the whole window on the cores the sampler runs
    on. The interval is the smoothed cost over `share`, between `fastest` and `slowest`
    seconds."""

    SMOOTHING = 0.2  # weight of the newest cost in the running average
    OUTLIER_S = 1.0  # a longer "paint" was not one (an offscreen render, a hidden window)

    def __init__(self, share: float = 0.15, fastest: float = 0.03,
                 slowest: float = 0.5) -> None:
        self.share, self.fastest, self.slowest = share, fastest, slowest
        self.cost: float | None = None  # seconds, smoothed

    def add(self, seconds: float) -> None:
        if not 0.0 <= seconds < self.OUTLIER_S:
            return
        self.cost = seconds if self.cost is None else \
            self.cost + self.SMOOTHING * (seconds - self.cost)

    def summary(self) -> str:
        """A line for a tooltip: what a redraw costs and how often a run redraws."""
        if self.cost is None:
            return ""
        return (f"\nview: a redraw costs {1000 * self.cost:.0f} ms here, so a run redraws "
                f"every {1000 * self.interval():.0f} ms or more")

    def interval(self) -> float:
        """The least time between two redraws of a streaming run, in seconds."""
        if self.cost is None:
            return self.fastest
        return min(self.slowest, max(self.fastest, self.cost / self.share))


class Pace:
    """At most `steps_per_second` steps a second (None: as fast as the sampler goes).
    A step may start no sooner than one period after the previous step started, so the
    steps come out evenly spaced, and a slow step never earns a burst of quick ones."""

    def __init__(self, steps_per_second: float | None = None) -> None:
        self.steps_per_second = steps_per_second

    def delay(self, started: float, now: float) -> float:
        """Seconds to wait, at `now`, before the step after the one `started` then."""
        if not self.steps_per_second:
            return 0.0
        return max(0.0, started + 1.0 / self.steps_per_second - now)


FEWER_THREADS_MARGIN = 1.15  # how much faster fewer threads must be to be chosen


class ThreadTrial:
    """Chooses the sampler's torch thread count by timing the first steps of a run.

    On a small machine the GUI thread (and a software OpenGL renderer) compete with the
    sampler's threads; fewer threads can then be faster (up to 6x was measured on 2
    cores under load). The trial times `trial_steps` steps with each candidate count, the
    counts taking turns step by step, keeps the fastest for the rest of the run (fewer
    threads only if clearly faster), and remembers it per `key` (device and run size) so
    later runs start with it. Thread counts do not change the results
    (every product here reads whole rows), so the choice is free for reproducibility.
    """

    chosen: dict[tuple, int] = {}  # across runs in this process

    def __init__(self, key: tuple, candidates: list[int] | None = None, trial_steps: int = 5,
                 set_threads: Callable[[int], None] = torch.set_num_threads) -> None:
        most = AVAILABLE_THREADS
        self.key = key
        self.candidates = candidates or sorted({most, max(1, most // 2)}, reverse=True)
        self.trial_steps = trial_steps
        self._set = set_threads
        self._timings: dict[int, list[float]] = {n: [] for n in self.candidates}
        self.threads = self.chosen.get(key)
        if self.threads is None and len(self.candidates) == 1:
            self.threads = self.candidates[0]
        self._current = self.candidates[0]  # the count the step being timed runs with
        self._set(self.threads or self._current)

    @property
    def deciding(self) -> bool:
        return self.threads is None

    def record(self, seconds: float) -> None:
        """The time the last step took; moves the trial on, and ends it when each
        candidate has had its steps."""
        if not self.deciding:
            return
        self._timings[self._current].append(seconds)
        # the candidates take turns, step by step: a run's first steps are disturbed most
        # (the window redraws all it shows then), and a block of them would favour the others
        pending = [n for n in self.candidates if len(self._timings[n]) < self.trial_steps]
        if pending:
            later = [n for n in pending if self.candidates.index(n) > self.candidates.index(
                self._current)]
            self._current = (later or pending)[0]
            self._set(self._current)
            return
        # the median ignores one step slowed by something else (a GC, a repaint); fewer
        # threads than the most must win clearly, not by the noise of a few steps
        median = {n: sorted(t)[self.trial_steps // 2] for n, t in self._timings.items()}
        most = max(self.candidates)
        self.threads = min(self.candidates, key=lambda n: median[n] * (
            1.0 if n == most else FEWER_THREADS_MARGIN))
        self.chosen[self.key] = self.threads
        self._set(self.threads)

    def summary(self) -> str:
        if self.deciding:
            return "choosing threads"
        measured = ", ".join(f"{n}: {1000 * sorted(t)[len(t) // 2]:.0f} ms/step"
                             for n, t in self._timings.items() if t)
        return f"{self.threads} thread(s)" + (f" ({measured})" if measured else "")


def follow_pace(steps: int, seconds: float = MIN_RUN_SECONDS) -> float:
    """Steps a second at which a run of `steps` lasts `seconds`: the app's default pace (a
    run that is slower anyway is not held back by it)."""
    return max(1, steps) / seconds


def frames_per_step(steps: int, fps: int, seconds: float = MIN_RUN_SECONDS) -> int:
    """How many frames each of a run's `steps` takes so that the run lasts at least
    `seconds` at `fps` (1 for a run that long already)."""
    return max(1, math.ceil(seconds * fps / max(1, steps)))


def pacing_note(steps: int, fps: int, repeats: int) -> str:
    """What a recording's frame rate and repeats make of a run's steps, in words."""
    seconds = steps * repeats / fps
    if repeats == 1:
        return f"{steps} steps at {fps} fps: {seconds:.1f} s"
    return (f"{steps} steps, each shown for {repeats} frames at {fps} fps: {seconds:.1f} s, "
            f"so that a short run can be followed")
