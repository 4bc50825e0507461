"""The Run statistics panel: plots of the run's frames that follow the timeline.

Three tabs, each one graphics view (`PlotColumn`) of `StatPlot`s (plots.py): legends and
steering labels sit above the data, a cursor line marks the timeline's step on every step
plot, and the weights chart shows that step's weights. Redrawing is kept cheap, for the 3-D
view shares the GUI thread with it: one view a tab (each widget redrawn beside the GL view
costs a composition of the whole window), the frames' arrays kept up incrementally
(`FrameSeries`), only the tab on screen redrawn (the others when they are shown), and
ranges that change only when the data outgrow them (an axis's text is costly to redraw).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from ..model.population import LOG_FLOOR, relative_log_weights
from ..model.stats_series import FrameSeries, distinct_per_row, nice_range
from .compose_plots import CompositionPlots
from .pinned_plots import PinnedCurves
from .plot_export import add_export_menu, export_plot
from .plot_zoom import reset_on_double_click, reset_zoom
from .plots import PlotColumn, StatPlot, add_right_view

LOG_Z_TITLE = "log Z estimate (the reward's tilt)"
REWARDS_TITLE = "each particle's log-reward"
WEIGHTS_TITLE = "log-weights vs the best (nats)"
BAR_BASE = LOG_FLOOR - 2.0  # bars rise from here: one at the floor still shows
MISSING = " (not in this run's records)"
THRESHOLD_PEN = pg.mkPen("#7fc8ff", width=1, style=Qt.PenStyle.DashLine)


class StatsPanel(QWidget):
    """Run tab: ESS over steps with resampling marked and the resampling threshold, the
    shown step's particle weights, and the fidelity of the shown cloud over steps.
    Particles tab: the reward scale and the acceptance rate, the running log Z estimate,
    each particle's reward. Genealogy tab: who descends from whom at each resampling, and
    how many distinct ancestors today's particles have at each step.

    It shows frames: anything with `index`, `ess`, `resampled`, `radial_error`,
    `off_sphere`, `chamfer` and `log_weights` (the worker's `Frame`); `steps`,
    `reward_scale`, `acceptance`, `log_z`, `rewards` and `ancestors` are read where a frame
    has them. `update_from(frames)` plots them, `show_step(frame)` puts the cursor and the
    weights at a step, `set_run(config)` reads the run's settings (the ESS threshold), as
    `update_from` does from `config_source` when a run's first frames arrive. Each plot's
    context menu saves its data as CSV and the plot as SVG or PNG (`export_plot`)."""

    plotSaved = Signal(str)  # the path a plot or its data was saved to
    problem = Signal(str, str)  # title, message: a plot could not be saved

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("statsTabs")
        outer.addWidget(self.tabs)
        # antialiased plot lines cost a lot under software rendering; these plots are small
        pg.setConfigOptions(antialias=False)
        self.series = FrameSeries()
        self.threshold: float | None = None  # ESS threshold as a fraction of the particles
        self.threshold_note = ""
        self.run_steps: int | None = None
        self.shown_step: int | None = None  # 1-based step of the cursor
        self._cursor_frame = None  # the frame the cursor is at (its weights are shown)
        self._weights_frame = None  # the frame whose weights are drawn
        self._particles_shown: tuple | None = None  # what the ESS axis and threshold show
        self._drawn = [-1, -1, -1]  # per tab: the series version last drawn
        self._version = 0
        self._build_run(_tab(self.tabs, "Run"))
        self._build_particles(_tab(self.tabs, "Particles"))
        self._build_genealogy(_tab(self.tabs, "Genealogy"))
        self.step_plots = [self.ess_plot, self.fidelity_plot, self.scale_plot, self.log_z_plot,
                           self.rewards_plot, self.genealogy_plot, self.ancestors_plot,
                           *self.composition.plots]
        self.labelled_plots = [self.ess_plot, self.scale_plot, self.genealogy_plot]
        self.plots = [*self.step_plots[:1], self.weight_plot, *self.step_plots[1:]]
        for column in self.findChildren(PlotColumn):
            add_export_menu(column, lambda c=column: [p for p in self.plots
                                                      if p.scene() is c.scene()],
                            self.plotSaved.emit, self.problem.emit)
            reset_on_double_click(column, lambda: self.plots)
        self._frames: Sequence = ()  # the frames last given to update_from
        self.marks: list[tuple[int, str]] = []
        # where a run's configuration is read when its first frames arrive (a function
        # returning a dict or None; the window gives its session's `run_config`)
        self.config_source: Callable[[], dict | None] | None = None
        self._config_read_for = None  # the first frame of the run whose settings were read
        self.tabs.currentChanged.connect(lambda _: self._draw_stale())
        self.pinned = PinnedCurves(self)  # a pinned run's curves, dashed (set_pinned)
        self._fit_columns()

    # ------------------------------------------------------------------ construction
    def _build_run(self, column: PlotColumn) -> None:
        self.ess_plot = StatPlot("essPlot", "effective sample size", "step")
        self.ess_curve = self.ess_plot.plot(pen=pg.mkPen("#7fc8ff", width=2), name="ESS")
        self.resample_marks = self.ess_plot.plot(pen=None, symbol="t", symbolSize=7,
                                                 symbolBrush="#ffb74a", symbolPen=None,
                                                 name="resampled")
        self.threshold_line = pg.InfiniteLine(angle=0, movable=False, pen=THRESHOLD_PEN)
        self.threshold_line.hide()
        self.ess_plot.addItem(self.threshold_line, ignoreBounds=True)
        self.ess_plot.legend_row.add("ESS", "#7fc8ff")
        self.ess_plot.legend_row.add("resampled", "#ffb74a", symbol=True)
        self.ess_plot.legend_row.add("resample below –", THRESHOLD_PEN)
        self.weight_plot = StatPlot("weightPlot", WEIGHTS_TITLE, "particle", steps=False)
        self.weight_plot.setLabel("left", "log w − best")
        # log-weights relative to the best, floored: readable from 2 to 256 particles
        self.weight_bars = pg.BarGraphItem(x=[], height=[], y0=BAR_BASE, width=0.8,
                                           brush="#9be08a")
        self.weight_plot.addItem(self.weight_bars)
        self.selected_bar = pg.BarGraphItem(x=[], height=[], y0=BAR_BASE, width=0.8,
                                            brush="#4fc3f7")  # the particle the view shows
        self.weight_plot.addItem(self.selected_bar)
        self.selected_particle: int | None = None
        self.weight_plot.set_y_range(BAR_BASE, 1.0)  # fixed: steps compare on the timeline
        self.fidelity_plot = StatPlot("fidelityPlot", "fidelity of the shown cloud", "step")
        self.fidelity_plot.setLabel("left", "distance")
        self.radial_curve = self.fidelity_plot.plot(pen=pg.mkPen("#ff8a80", width=2),
                                                    name="radial error")
        self.chamfer_curve = self.fidelity_plot.plot(pen=pg.mkPen("#b39ddb", width=2),
                                                     name="Chamfer")
        # a fraction: on its own 0-1 axis, on the right, not on the distances' scale
        self.off_view = add_right_view(self.fidelity_plot, "off-sphere fraction", 0.0, 1.0)
        self.off_curve = pg.PlotDataItem(pen=pg.mkPen("#ffd54a", width=2))
        self.off_view.addItem(self.off_curve)
        self.fidelity_plot.side_curves = [("off-sphere fraction", self.off_curve)]
        for name, color in (("radial error", "#ff8a80"), ("Chamfer", "#b39ddb"),
                            ("off-sphere (right axis)", "#ffd54a")):
            self.fidelity_plot.legend_row.add(name, color)
        for plot, stretch in ((self.ess_plot, 3), (self.weight_plot, 2),
                              (self.fidelity_plot, 3)):
            column.add(plot, stretch)

    def _build_particles(self, column: PlotColumn) -> None:
        self.scale_plot = StatPlot("scalePlot", "reward scale and acceptance rate", "step")
        self.scale_plot.set_y_range(0.0, 1.05)
        self.scale_curve = self.scale_plot.plot(pen=pg.mkPen("#9be08a", width=2),
                                                name="reward scale")
        self.acceptance_curve = self.scale_plot.plot(pen=pg.mkPen("#7fc8ff", width=2),
                                                     name="acceptance")
        self.scale_plot.legend_row.add("reward scale", "#9be08a")
        self.scale_plot.legend_row.add("acceptance", "#7fc8ff")
        self.log_z_plot = StatPlot("logZPlot", LOG_Z_TITLE, "step")
        self.log_z_curve = self.log_z_plot.plot(pen=pg.mkPen("#ffd54a", width=2),
                                                name="log Z")
        self.rewards_plot = StatPlot("rewardsPlot", REWARDS_TITLE, "step")
        self.reward_curves: list[pg.PlotDataItem] = []
        for plot in (self.scale_plot, self.log_z_plot, self.rewards_plot):
            column.add(plot)
        self.composition = CompositionPlots(column)  # shown for a composed run

    def _build_genealogy(self, column: PlotColumn) -> None:
        self.genealogy_plot = StatPlot("genealogyPlot", "ancestry", "step", integer_y=True)
        self.genealogy_plot.setLabel("left", "particle")
        grey, orange = pg.mkPen((150, 150, 160, 110), width=1), pg.mkPen("#ffb74a", width=2)
        self.genealogy_lines = self.genealogy_plot.plot(pen=grey, connect="pairs")
        self.lineage_lines = self.genealogy_plot.plot(pen=orange, connect="pairs")
        self.genealogy_plot.legend_row.add("descent at each step", grey)
        self.genealogy_plot.legend_row.add("today's particles' lines", orange)
        self.ancestors_plot = StatPlot("ancestorsPlot", "distinct ancestors of today's "
                                       "particles", "step", integer_y=True)
        self.ancestors_curve = self.ancestors_plot.plot(pen=pg.mkPen("#ff8a80", width=2),
                                                        name="distinct ancestors")
        column.add(self.genealogy_plot, 2)
        column.add(self.ancestors_plot, 1)

    # ------------------------------------------------------------------ what to show
    def set_run(self, config: dict | None) -> None:
        """The run's settings (a run configuration, as `RunSession.run_config`): its steps
        set the plots' width, its ESS threshold the dashed line. Values it cannot read are
        left out, never raised about."""
        config = config if isinstance(config, dict) else {}
        steps, fraction = config.get("steps"), config.get("ess_threshold")
        self.run_steps = steps if isinstance(steps, int) and steps > 0 else None
        ok = isinstance(fraction, (int, float)) and math.isfinite(fraction) and fraction >= 0
        self.threshold = float(fraction) if ok else None
        self.threshold_note = " (unused: paper weighting)" if config.get(
            "weighting") == "paper" else ""
        if config.get("sampler") == "euler":  # no particle system: nothing resamples
            self.threshold, self.threshold_note = None, "no resampling (Euler)"
        particles = config.get("particles")
        if isinstance(particles, int) and particles > 0 and not self.series.count:
            self._set_particles(particles)
        if self.run_steps:
            self._set_steps(self.run_steps)

    def clear(self) -> None:
        self.series.clear()
        self.composition.clear()
        self._version += 1
        self._drawn = [self._version] * 3
        for curve in (self.ess_curve, self.resample_marks, self.radial_curve, self.off_curve,
                      self.chamfer_curve, self.scale_curve, self.acceptance_curve,
                      self.log_z_curve, self.genealogy_lines, self.lineage_lines,
                      self.ancestors_curve, *self.reward_curves):  # kept for a run as big
            curve.setData([], [])
        for plot in self.plots:  # a new run: no zoom left over from the last one
            reset_zoom(plot)
        self._fit_columns()
        self.weight_bars.setOpts(x=[], height=[])
        self.selected_bar.setOpts(x=[], height=[])
        self.weight_plot.set_title(WEIGHTS_TITLE)
        self.shown_step = self._cursor_frame = self._weights_frame = None
        self._particles_shown = self._config_read_for = None
        self.threshold_line.hide()
        for plot in self.step_plots:
            plot.set_cursor(None)
            plot.clear_marks()
        self.marks.clear()

    def set_pinned(self, frames: Sequence | None) -> None:
        """Draw a pinned run's `frames` dashed beside the current run's (None: none)."""
        self.pinned.show(frames)
        self._particles_shown, self._version = None, self._version + 1
        for tab in range(3) if self.series.count else []:  # ranges that hold both
            self._draw_tab(tab)
        self._fit_columns()

    def update_from(self, frames: Sequence, all_tabs: bool = True) -> None:
        """Plot the frames not plotted yet. The tab on screen is redrawn; the others now
        with `all_tabs`, else when they are shown."""
        if not frames:
            return
        self._frames = frames
        if self.series.sync(frames) | self.composition.sync(frames):
            self._version += 1
        if self.series.first is not self._config_read_for and self.config_source is not None:
            self._config_read_for = self.series.first
            self.set_run(self.config_source())
        if self._cursor_frame is not None and self._cursor_frame.index < self.series.count:
            self._place_cursor()
        tabs = range(3) if all_tabs else [self.tabs.currentIndex()] if self.isVisible() else []
        for tab in tabs:
            self._draw_tab(tab)
        self._fit_columns()

    def show_step(self, frame) -> None:
        """The timeline shows `frame`: the cursor goes to its step on every plot and the
        weights chart shows its weights. A step not plotted yet (the run's newest) waits
        for the next `update_from`, so that the cursor never runs ahead of the curves."""
        self._cursor_frame = frame
        frames = self._frames  # the run's list (it grows, and is emptied for a new run)
        if self.series.count <= frame.index < len(frames) and frames[frame.index] is frame:
            # the view draws a step the curves have not reached: plot up to it now, so
            # that the plotted step is the drawn step
            self.update_from(frames, all_tabs=False)
        elif frame.index < self.series.count:
            self._place_cursor()

    def mark_change(self, step: int, label: str) -> None:
        """A steering change from `step` on (1-based): a thin line on every step plot and
        its label above the first plot of each tab."""
        self.marks.append((step, label))
        for plot in self.step_plots:
            plot.add_mark(step, label, label=plot in self.labelled_plots)

    def export_plot(self, plot: StatPlot, path) -> str:
        """Save `plot` (one of `plots`) by the suffix of `path`: .csv its data, .svg or
        .png the plot; ValueError or OSError (one line) where it cannot."""
        for tab in range(3) if self.series.count else ():  # a tab not shown yet: drawn now
            self._draw_tab(tab)
        return str(export_plot(plot, path))

    def show_weights(self, frame) -> None:
        if frame is self._weights_frame:
            return
        self._weights_frame = frame
        w = relative_log_weights(frame.log_weights)
        self.weight_bars.setOpts(x=np.arange(len(w)), height=w - BAR_BASE, y0=BAR_BASE,
                                 width=0.8)
        self.weight_plot.set_x_range(-0.5, len(w) - 0.5)
        j = self.selected_particle
        shown = j is not None and 0 <= j < len(w)
        self.selected_bar.setOpts(x=[j] if shown else [], height=[w[j] - BAR_BASE] if shown
                                  else [], y0=BAR_BASE, width=0.8)
        self.weight_plot.set_title(f"log-weights vs the best, step {frame.index + 1} (nats)")

    def select_particle(self, index: int | None) -> None:
        """Mark particle `index`'s bar (the one the 3-D view shows); None: no mark."""
        self.selected_particle = index
        frame, self._weights_frame = self._weights_frame, None
        if frame is not None:
            self.show_weights(frame)

    def _fit_columns(self) -> None:
        """Each tab's plots keep their minimum height: a tab taller than the dock scrolls."""
        for column in self.findChildren(PlotColumn):
            shown = [p for p in self.plots if p.scene() is column.scene()]
            need = sum(p.effectiveSizeHint(Qt.SizeHint.MinimumSize).height() for p in shown)
            column.setMinimumHeight(int(need + 6 * max(len(shown) - 1, 0) + 8))

    def state(self) -> dict:
        """What a person expects remembered: the tab on screen."""
        return {"tab": self.tabs.tabText(self.tabs.currentIndex())}

    def apply_state(self, values: dict) -> list[str]:
        """Sets the tab; returns the keys it could not take (never raises)."""
        tab = values.get("tab") if isinstance(values, dict) else None
        if tab is None:
            return [] if isinstance(values, dict) else ["tab"]
        titles = [self.tabs.tabText(i) for i in range(self.tabs.count())]
        if not isinstance(tab, str) or tab not in titles:
            return ["tab"]
        self.tabs.setCurrentIndex(titles.index(tab))
        return []

    # ------------------------------------------------------------------ drawing
    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._draw_stale()

    def _draw_stale(self) -> None:
        if self.isVisible() and self.series.count:
            self._draw_tab(self.tabs.currentIndex())

    def _draw_tab(self, tab: int) -> None:
        if self._drawn[tab] == self._version or not self.series.count:
            return
        self._drawn[tab] = self._version
        (self._draw_run, self._draw_particles, self._draw_genealogy)[tab]()

    def _place_cursor(self) -> None:
        frame = self._cursor_frame
        self.shown_step = frame.index + 1
        for plot in self.step_plots:
            plot.set_cursor(self.shown_step)
        self.show_weights(frame)

    def _set_steps(self, steps: int) -> None:
        for plot in self.step_plots:
            plot.set_x_range(1, max(steps, self.pinned.steps, 2))

    def _set_particles(self, particles: int) -> None:
        shown = (particles, self.threshold, self.threshold_note, self.pinned.particles)
        if self._particles_shown == shown:
            return
        self._particles_shown = shown
        both = float(max(particles, self.pinned.particles))  # a pinned run's curves too
        self.ess_plot.set_y_range(0.0, both)
        self.genealogy_plot.set_y_range(-0.5, particles - 0.5)
        self.ancestors_plot.set_y_range(0.0, both)
        if self.threshold is not None:
            value = self.threshold * particles
            self.threshold_line.setValue(value)
            self.threshold_line.show()
            self.ess_plot.legend_row.rename(2, f"resample below {value:g}{self.threshold_note}")
        else:
            self.threshold_line.hide()
            euler = self.threshold_note.startswith("no resampling")
            self.ess_plot.legend_row.rename(2, self.threshold_note if euler else
                                            "resample below –")

    def _frame_axes(self) -> np.ndarray:
        s = self.series
        steps = getattr(s.first, "steps", None) if self.run_steps is None else self.run_steps
        self._set_steps(max(steps if isinstance(steps, int) else 0, int(s.steps[-1])))
        self._set_particles(s.particles)
        return s.steps

    def _draw_run(self) -> None:
        s = self.series
        steps = self._frame_axes()
        self.ess_curve.setData(steps, s.ess)
        self.resample_marks.setData(steps[s.resampled], s.ess[s.resampled])
        self.radial_curve.setData(steps, s.radial_error)
        self.chamfer_curve.setData(steps, s.chamfer)
        self.off_curve.setData(steps, s.off_sphere)
        distances = np.concatenate([s.radial_error, s.chamfer])
        distances = distances[np.isfinite(distances)]
        high = float(distances.max()) if distances.size else 1.0
        high = max(high, self.pinned.highest("radial_error", "chamfer"))
        self.fidelity_plot.set_y_range(*nice_range(0.0, high, floor_zero=True))
        if self._cursor_frame is None:  # nothing on the timeline yet: the newest weights
            self.show_weights(s.newest)

    def _draw_particles(self) -> None:
        s = self.series
        steps = self._frame_axes()
        self.scale_curve.setData(steps, s.reward_scale)
        for curve, values in ((self.acceptance_curve, s.acceptance),
                              (self.log_z_curve, s.log_z)):
            known = np.isfinite(values)
            curve.setData(steps[known], values[known])
        known = s.log_z[np.isfinite(s.log_z)]
        self.log_z_plot.set_title(LOG_Z_TITLE + ("" if known.size else MISSING))
        known = np.concatenate([known, self.pinned.values("log_z")])
        if known.size:
            self.log_z_plot.set_y_range(*nice_range(float(known.min()), float(known.max())))
        count = s.particles if s.rewards_seen else 0
        self.rewards_plot.set_title(REWARDS_TITLE + ("" if count else MISSING))
        if len(self.reward_curves) != count:  # another population: its own hues
            while self.reward_curves:
                self.rewards_plot.removeItem(self.reward_curves.pop())
        while len(self.reward_curves) < count:
            color = pg.intColor(len(self.reward_curves), hues=max(count, 1), alpha=200)
            self.reward_curves.append(self.rewards_plot.plot(pen=pg.mkPen(color, width=1)))
        if count:
            rows = np.isfinite(s.rewards).all(axis=1)
            table = s.rewards[rows]
            for j, curve in enumerate(self.reward_curves):
                curve.setData(steps[rows], table[:, j])
            if table.size:
                self.rewards_plot.set_y_range(*nice_range(float(table.min()),
                                                          float(table.max())))
        self.composition.draw()

    def _draw_genealogy(self) -> None:
        s = self.series
        steps = self._frame_axes()
        self.genealogy_lines.setData(*s.segments())
        lines = s.lineage()
        if len(lines) > 1:
            k = np.repeat(steps[:-1], s.particles)
            lx = np.stack([k, k + 1], axis=1).ravel()
            ly = np.stack([lines[:-1].ravel(), lines[1:].ravel()], axis=1).ravel()
            self.lineage_lines.setData(lx, ly.astype(np.float64))
        else:
            self.lineage_lines.setData([], [])
        self.ancestors_curve.setData(steps, distinct_per_row(lines))


def _tab(tabs: QTabWidget, title: str) -> PlotColumn:
    """A tab that scrolls when its plots need more height than it has."""
    page = QWidget()
    page.setObjectName(f"statsTab{title}")
    area = QScrollArea()
    area.setObjectName(f"statsScroll{title}")
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(page)
    tabs.addTab(area, title)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(2, 2, 2, 2)
    column = PlotColumn(f"statsPlots{title}")
    layout.addWidget(column)
    return column
