"""What is on screen of a run: the 3-D view, the timeline, the plots and the status bar's
step, rate, device and progress, kept up with a run's frames.

Drawing is paced by a timer: if frames arrive faster than they can be drawn, the newest
is shown and stale ones are skipped (the timeline still keeps every step). How often a
streaming run redraws follows what a redraw costs here (`pacing.DrawBudget`), so that
drawing takes at most a set share of the time the sampler could use. The view follows
the newest frame unless the user moved the timeline back.

The display keeps the colours and the cloud (x_t, or x0_hat bright over x_t faint) of the
window's Look (model/look.py) and draws each step through view/draw.py, the one path
that recordings and images take too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from ..model.colour_by import Colouring, previous_positions
from ..model.frames import Frame
from ..model.look import DEFAULT_LOOK, Look
from ..model.pacing import DrawBudget
from ..panels import PopulationPanel, StatsPanel, TimelineBar
from ..qt_utils import hold_size
from ..view.draw import draw_cloud
from ..view.view3d import CloudView

DRAW_INTERVAL_MS = 30
NO_STEP, NO_T, NO_RATE, NO_DEVICE = "step –", "t –", "– steps/s", "device –"
NO_COST = "– expert calls"
COST_TIP = ("What the run has spent on the experts so far: grouped expert calls (one "
            "evaluation of the product, every expert in it at once)")
STATS_INTERVAL_S = 0.5  # the plots redraw at most twice a second: they are the costly part
CATCH_UP_S = 0.3  # how long an update of the plots that is due waits for a redraw to join
PACED_SHARE = 0.8  # a paced run redraws at most every 0.8 of its steps' period: each step
HELD_BACK = 0.9  # a run going at this share of its pace or more is held back by it


class FrameDisplay(QObject):
    frameShown = Signal(object)  # the Frame put on screen; None: none (cleared)

    def __init__(self, frames: Sequence[Frame], view3d: CloudView, timeline: TimelineBar,
                 stats: StatsPanel, parent: QObject | None = None,
                 population: PopulationPanel | None = None) -> None:
        super().__init__(parent)
        self.frames, self.view3d, self.timeline, self.stats = frames, view3d, timeline, stats
        self.population = population  # every particle of the shown step (paced itself)
        self.trails = False  # draw the shown particle's trail
        self.paused = False  # the rate then reads "paused", not the last steps' rate
        self.look = DEFAULT_LOOK  # its colours and cloud (x_t or x0_hat) say what is drawn
        self.colour_bar = None  # widgets.ColourBar: the range `colour_by` maps, if any
        self.device = "cpu"
        self._shown = -1  # index of the frame on screen
        self._follow = True  # the view follows the newest frame
        self._dirty = False
        self.budget = DrawBudget()
        self.pace: Callable[[], float | None] | None = None  # the run's steps/s at most
        view3d.painted.connect(self.budget.add)
        self._drawn_at = -math.inf  # when a streaming run's frame was last drawn
        self._stats_at = 0.0  # when the plots were last updated
        self.step_label, self.t_label = QLabel(NO_STEP), QLabel(NO_T)
        self.rate_label, self.device_label = QLabel(NO_RATE), QLabel(NO_DEVICE)
        self.cost_label = QLabel(NO_COST)
        self.cost_label.setObjectName("costLabel")
        for label, tip in ((self.step_label, "The step on screen, of the run's steps"),
                           (self.t_label, "Its noise level: t = 1 is noise, t = 0 the clean cloud"),
                           (self.rate_label, "Steps a second over the last seconds, and the time "
                            "left at that rate"),
                           (self.device_label, "Where the sampler runs"),
                           (self.cost_label, COST_TIP)):
            label.setToolTip(tip)
        for label, widest in ((self.step_label, "step 9999 of 9999"), (self.t_label, "t 0.000"),
                              (self.rate_label, "999.9 steps/s · 9999 s left"),
                              (self.cost_label, "99999 expert calls"),
                              (self.device_label, "device cuda:0 · choosing threads")):
            hold_size(label, widest)
        self.progress = QProgressBar()
        self.progress.setObjectName("runProgress")
        self.progress.setMaximumWidth(180)
        self.progress.setToolTip("Steps done of the run's steps")
        timeline.stepChosen.connect(self._on_timeline)
        self._stats_timer = QTimer(self, singleShot=True, timeout=self.update_stats)
        self._timer = QTimer(self, interval=DRAW_INTERVAL_MS, timeout=self._on_tick)
        self._timer.start()

    def status_widgets(self) -> list[QWidget]:
        return [self.step_label, self.t_label, self.rate_label, self.cost_label,
                self.device_label, self.progress]

    def set_device(self, device: str) -> None:
        self.device = device
        self.device_label.setText(f"device {device}")

    def frame_added(self, frame: Frame | None = None) -> None:
        """A frame reached `frames`: drawn at the next tick. Its fidelity, which the plots
        show, comes with it while they are on screen (the sampler's thread computes it:
        RunSession.want_fidelity follows their dock); else it is computed now on a pool
        thread, not on this one when they draw it (at 2048 points that takes about 0.1 s,
        a stall of the UI)."""
        self._dirty = True
        if frame is not None and self.stats.isVisible() and not frame.metrics.done:
            QThreadPool.globalInstance().start(frame.metrics.get)

    def _on_tick(self) -> None:
        """The newest frame, at most as often as the draw budget allows. A redraw due just
        before the run ends is left to its end (`flush`), which draws the last frame as soon."""
        since, interval = time.perf_counter() - self._drawn_at, self.draw_interval()
        if since >= interval and not (since < 2 * interval and self._ends_within(interval)):
            self.draw_pending()

    def draw_interval(self) -> float:
        """The least time between two redraws of a streaming run: the draw budget's, but a
        run its pace holds back (the sampler waits between its steps anyway: its recent
        rate is the pace) draws each step."""
        pace = self.pace() if self.pace is not None else None
        interval = self.budget.interval()
        rate = self.frames[-1].steps_per_second if self.frames else 0.0
        held_back = pace is not None and (rate >= HELD_BACK * pace or not rate)  # 0: unknown
        return min(interval, PACED_SHARE / pace) if held_back else interval

    def _ends_within(self, seconds: float) -> bool:
        """The newest frame expects the run to end within `seconds` at its recent rate."""
        f = self.frames[-1] if self.frames and self._dirty else None
        return (f is not None and not self.paused and f.seconds_left is not None
                and f.seconds_left < seconds)

    def draw_pending(self) -> None:
        """The newest frame on screen now, if one arrived since the last draw."""
        if not self._dirty or not self.frames:
            return
        self._dirty = False
        self._drawn_at = time.perf_counter()
        self.view3d.begin_redraw()  # a redraw costs its panels and plots too (the budget)
        self.stats.series.wait_for_lazy = False  # those ready (frame_added); flush: all
        self.timeline.set_count(len(self.frames), follow=self._follow)
        if self._follow:
            self.show_frame(len(self.frames) - 1)
        self.update_stats()
        f = self.frames[-1]
        self.show_rate()
        if f.threads:
            self.device_label.setText(f"device {self.device} · {f.threads.split(' (')[0]}")
            self.device_label.setToolTip(f"sampler threads, chosen by timing: {f.threads}"
                                         f"{self.budget.summary()}")
        self.show_cost(f)
        self.progress.setRange(0, f.steps)
        # setValue repaints at once, which beside the GL view composes the whole window
        # (~10 ms a frame here); with updates off it waits for the next paint instead
        self.progress.setUpdatesEnabled(False)
        self.progress.setValue(f.index + 1)
        self.progress.setUpdatesEnabled(True)

    def show_rate(self) -> None:
        if self.paused:
            self.rate_label.setText("paused")
        elif self.frames:
            f = self.frames[-1]
            last = f.index + 1 >= f.steps  # a finished run has nothing left to wait for
            left = "" if f.seconds_left is None or last else f" · {f.seconds_left:.0f} s left"
            self.rate_label.setText(f"{f.steps_per_second:.1f} steps/s{left}")
        else:
            self.rate_label.setText(NO_RATE)

    def show_cost(self, frame: Frame) -> None:
        """The expert calls (and, in the tooltip, the MLP evaluations) up to `frame`."""
        if not frame.nfe:  # a file's frames, or a sampler that does not count
            self.cost_label.setText(NO_COST)
            self.cost_label.setToolTip(COST_TIP)
            return
        self.cost_label.setText(f"{frame.nfe} expert call{'s' * (frame.nfe != 1)}")
        self.cost_label.setToolTip(f"{COST_TIP}: {frame.nfe} calls, "
                                   f"{frame.mlp_evaluations} MLP evaluations (forward passes "
                                   "of the neural experts) up to step "
                                   f"{frame.index + 1} of {frame.steps}")

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.show_rate()

    def update_stats(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._stats_at >= STATS_INTERVAL_S:
            self._stats_timer.stop()
            self._stats_at = now
            # the tab on screen (the others as they are shown)
            self.stats.update_from(self.frames, all_tabs=False)
        elif not self._stats_timer.isActive():
            # the next redraw of the view updates them once due, in the same composition of
            # the window; this, if none comes (so that the last steps before a pause show)
            due = self._stats_at + STATS_INTERVAL_S + CATCH_UP_S - now
            self._stats_timer.start(int(1000 * due) + 1)

    def flush(self) -> None:
        """The last frames and the plots, at once (a run ended)."""
        self.draw_pending()
        self.stats.series.wait_for_lazy = True
        self.update_stats(force=True)

    def show_frame(self, index: int) -> None:
        """Put step `index` of the timeline on screen."""
        frame = self.frames[index]
        self._draw_cloud(frame, self.frames[index - 1] if index > 0 else None)
        if self.population is not None:
            self.population.show_frame(frame)
        self.stats.show_step(frame)  # the plots' cursor and the weights of this step
        self._shown = index
        self.step_label.setText(f"step {frame.index + 1} of {frame.steps}")
        self.t_label.setText(f"t {frame.t:.3f}")
        self.timeline.show_step(frame.index + 1, frame.steps, frame.t)
        self.frameShown.emit(frame)

    def show_newest(self) -> None:
        """Put the newest step on screen now (view, timeline, plots), not at the next redraw."""
        if self.frames:
            self._follow, self._dirty = True, True
            self.flush()

    def _draw_cloud(self, frame: Frame, previous: Frame | None) -> None:
        """The shown step drawn as the Look says (view/draw.py), and the colour bar's range."""
        x0 = self.denoised  # else x0_hat is not computed at all (frames.Lazy)
        trail = (frame.denoised_trail if x0 else frame.trail) if self.trails else None
        shown = draw_cloud(self.view3d, self.look, frame.cloud,
                           previous_positions(frame, previous),
                           frame.denoised if x0 else None,
                           previous_positions(frame, previous, True) if x0 else None, trail)
        if self.colour_bar is not None:
            self.colour_bar.show_colouring(shown)

    # what the points' colours show (colour_by.MODES) and whether x0_hat is drawn
    colour_by = property(lambda self: self.look.colour_by)
    denoised = property(lambda self: self.look.cloud == "x0")

    def set_look(self, look: Look) -> None:
        """Draw with `look`'s colours and cloud from now on (the view takes the rest)."""
        self.look = look
        if self.shown_frame() is not None:
            self.show_frame(self._shown)
        elif self.colour_bar is not None:
            self.colour_bar.show_colouring(Colouring(look.colour_by,
                                                     np.zeros((0, 4), np.float32)))

    def set_colour_by(self, mode: str) -> None:
        """Colour the points by `mode` (a key of colour_by.MODES)."""
        self.set_look(self.look.replace(colour_by=mode))

    def set_denoised(self, on: bool) -> None:
        """Draw the predicted clean cloud x0_hat, bright, with x_t faint."""
        self.set_look(self.look.replace(cloud="x0" if on else "xt"))

    def shown_index(self) -> int:
        return self._shown

    def shown_frame(self) -> Frame | None:
        return self.frames[self._shown] if 0 <= self._shown < len(self.frames) else None

    def set_trails(self, on: bool) -> None:
        self.trails = on
        self.view3d.trails.setVisible(on)
        if self.shown_frame() is not None:
            self.show_frame(self._shown)

    def clear(self, run_starts: bool = False) -> None:
        """No run on screen: the plots, the timeline, the progress and the status bar's
        step, t, rate and device emptied. `run_starts`: a run's frames follow (its start
        counts as a redraw, and the population's tiles keep their own pace from now)."""
        self._shown, self._follow, self._dirty, self.paused = -1, True, False, False
        if run_starts:  # the window redraws now (what the run disables, the plots emptied):
            self._drawn_at = time.perf_counter()  # the budget counts it as a frame's
        for label, text in ((self.step_label, NO_STEP), (self.t_label, NO_T),
                            (self.rate_label, NO_RATE), (self.device_label, NO_DEVICE),
                            (self.cost_label, NO_COST)):
            label.setText(text)
        self.device_label.setToolTip("Where the sampler runs")
        self.stats.clear()
        if self.population is not None:
            self.population.clear(run_starts)
        self.timeline.clear()
        self.progress.setUpdatesEnabled(False)  # reset() repaints at once (see draw_pending)
        self.progress.reset()  # no value: the bar shows no progress, no "0 %"
        self.progress.setUpdatesEnabled(True)
        self.frameShown.emit(None)

    def stop(self) -> None:
        self._timer.stop()
        self._stats_timer.stop()

    def _on_timeline(self, value: int) -> None:
        if not self.frames:
            return
        self._follow = value >= len(self.frames) - 1
        self.show_frame(min(value, len(self.frames) - 1))
