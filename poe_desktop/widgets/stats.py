"""The Run statistics panel: live plots of the run's frames."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ..genealogy import distinct_ancestors, lineage, segments

LOG_Z_TITLE = "log Z estimate (the reward's tilt)"
REWARDS_TITLE = "each particle's log-reward"
MISSING = " (not in this run's records)"


class StatsPanel(QWidget):
    """Live plots in three tabs. Run: ESS over steps with resampling marked, the
    particles' weights, and the fidelity of the shown cloud over steps (steering changes
    are marked). Particles: the reward scale and the acceptance rate, the running log Z
    estimate, each particle's reward. Genealogy: who descends from whom at each
    resampling, and how many distinct ancestors today's particles have at each step.

    It shows frames: anything with `index`, `ess`, `resampled`, `radial_error`,
    `off_sphere`, `chamfer` and `log_weights` (the worker's `Frame`); `reward_scale`,
    `acceptance`, `log_z`, `rewards` and `ancestors` are read where a frame has them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("statsTabs")
        outer.addWidget(self.tabs)
        layout = _tab(self.tabs, "Run")
        # antialiased plot lines cost a lot under software rendering; these plots are small
        pg.setConfigOptions(antialias=False)
        self.ess_plot = _plot("essPlot", "effective sample size", "step")
        self.ess_curve = self.ess_plot.plot(pen=pg.mkPen("#7fc8ff", width=2))
        self.resample_marks = self.ess_plot.plot(pen=None, symbol="t", symbolSize=7,
                                                 symbolBrush="#ffb74a", name="resampled")
        self.weight_plot = _plot("weightPlot", "particle weights (normalised)", "particle")
        self.weight_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#9be08a")
        self.weight_plot.addItem(self.weight_bars)
        self.fidelity_plot = _plot("fidelityPlot", "fidelity of the shown cloud", "step")
        self.fidelity_plot.addLegend(offset=(-5, 5), brush=(20, 20, 24, 200))
        self.radial_curve = self.fidelity_plot.plot(pen=pg.mkPen("#ff8a80", width=2),
                                                    name="radial error")
        self.off_curve = self.fidelity_plot.plot(pen=pg.mkPen("#ffd54a", width=2),
                                                 name="off-sphere")
        self.chamfer_curve = self.fidelity_plot.plot(pen=pg.mkPen("#b39ddb", width=2),
                                                     name="Chamfer")
        for plot in (self.ess_plot, self.weight_plot, self.fidelity_plot):
            layout.addWidget(plot)
        self._marks: list[tuple[pg.PlotWidget, pg.InfiniteLine]] = []
        self._build_particles(_tab(self.tabs, "Particles"))
        self._build_genealogy(_tab(self.tabs, "Genealogy"))

    def _build_particles(self, layout: QVBoxLayout) -> None:
        self.scale_plot = _plot("scalePlot", "reward scale and acceptance rate", "step")
        self.scale_plot.addLegend(offset=(-5, -5), brush=(20, 20, 24, 200))
        self.scale_plot.setYRange(0.0, 1.05)
        self.scale_curve = self.scale_plot.plot(pen=pg.mkPen("#9be08a", width=2),
                                                name="reward scale")
        self.acceptance_curve = self.scale_plot.plot(pen=pg.mkPen("#7fc8ff", width=2),
                                                     name="acceptance (MALA)")
        self.log_z_plot = _plot("logZPlot", LOG_Z_TITLE, "step")
        self.log_z_curve = self.log_z_plot.plot(pen=pg.mkPen("#ffd54a", width=2))
        self.rewards_plot = _plot("rewardsPlot", REWARDS_TITLE, "step")
        self.reward_curves: list[pg.PlotDataItem] = []
        for plot in (self.scale_plot, self.log_z_plot, self.rewards_plot):
            layout.addWidget(plot)

    def _build_genealogy(self, layout: QVBoxLayout) -> None:
        self.genealogy_plot = _plot("genealogyPlot", "ancestry (today's lines bright)", "step")
        self.genealogy_plot.setLabel("left", "particle")
        self.genealogy_lines = self.genealogy_plot.plot(
            pen=pg.mkPen((150, 150, 160, 110), width=1), connect="pairs")
        self.lineage_lines = self.genealogy_plot.plot(pen=pg.mkPen("#ffb74a", width=2),
                                                      connect="pairs")
        self.ancestors_plot = _plot("ancestorsPlot", "distinct ancestors of today's particles",
                                    "step")
        self.ancestors_curve = self.ancestors_plot.plot(pen=pg.mkPen("#ff8a80", width=2))
        layout.addWidget(self.genealogy_plot, 2)
        layout.addWidget(self.ancestors_plot, 1)

    def clear(self) -> None:
        for curve in (self.ess_curve, self.resample_marks, self.radial_curve, self.off_curve,
                      self.chamfer_curve, self.scale_curve, self.acceptance_curve,
                      self.log_z_curve, self.genealogy_lines, self.lineage_lines,
                      self.ancestors_curve):
            curve.setData([], [])
        for curve in self.reward_curves:
            self.rewards_plot.removeItem(curve)
        self.reward_curves.clear()
        self.weight_bars.setOpts(x=[], height=[])
        # PlotItem.removeItem, not the view box's: the plot item keeps a list of its items too
        for plot, mark in self._marks:
            plot.removeItem(mark)
        self._marks.clear()

    def update_from(self, frames: Sequence) -> None:
        if not frames:
            return
        steps = np.array([f.index + 1 for f in frames])
        self.ess_curve.setData(steps, [f.ess for f in frames])
        marked = [(f.index + 1, f.ess) for f in frames if f.resampled]
        self.resample_marks.setData([m[0] for m in marked], [m[1] for m in marked])
        self.radial_curve.setData(steps, [f.radial_error for f in frames])
        self.off_curve.setData(steps, [f.off_sphere for f in frames])
        self.chamfer_curve.setData(steps, [f.chamfer for f in frames])
        self.show_weights(frames[-1])
        self.show_particles(frames, steps)
        self.show_genealogy(frames, steps)

    def show_particles(self, frames: Sequence, steps: np.ndarray) -> None:
        """Reward scale, acceptance where not NaN, log Z, and one curve a particle."""
        self.scale_curve.setData(steps, [getattr(f, "reward_scale", 1.0) for f in frames])
        for curve, name in ((self.acceptance_curve, "acceptance"), (self.log_z_curve, "log_z")):
            values = np.array([getattr(f, name, np.nan) for f in frames], dtype=np.float64)
            known = np.isfinite(values)
            curve.setData(steps[known], values[known])
            if name == "log_z":
                self.log_z_plot.setTitle(LOG_Z_TITLE + ("" if known.any() else MISSING))
        rewards = [getattr(f, "rewards", None) for f in frames]
        kept = [i for i, r in enumerate(rewards) if r is not None]
        count = len(rewards[kept[-1]]) if kept else 0
        self.rewards_plot.setTitle(REWARDS_TITLE + ("" if count else MISSING))
        while len(self.reward_curves) > count:
            self.rewards_plot.removeItem(self.reward_curves.pop())
        while len(self.reward_curves) < count:
            color = pg.intColor(len(self.reward_curves), hues=max(count, 1), alpha=200)
            self.reward_curves.append(self.rewards_plot.plot(pen=pg.mkPen(color, width=1)))
        if count:
            kept = [i for i in kept if len(rewards[i]) == count]
            table = np.stack([np.asarray(rewards[i], dtype=np.float64) for i in kept])
            for j, curve in enumerate(self.reward_curves):
                curve.setData(steps[kept], table[:, j])

    def show_genealogy(self, frames: Sequence, steps: np.ndarray) -> None:
        """Lines from particle a at step k to particle j at step k + 1 where j descends
        from a; today's particles' own lines over them; their distinct ancestors."""
        count = len(frames[-1].log_weights)
        ancestors = [a if a is not None and len(a) == count else None
                     for a in (getattr(f, "ancestors", None) for f in frames)]
        x, y = segments(ancestors, count)
        self.genealogy_lines.setData(x + 1, y)  # steps are 1-based on screen
        lines = lineage(ancestors, count)
        if len(lines) > 1:
            k = np.repeat(np.arange(len(lines) - 1), count)
            lx = np.stack([k, k + 1], axis=1).ravel() + 1.0
            ly = np.stack([lines[:-1].ravel(), lines[1:].ravel()], axis=1).ravel()
            self.lineage_lines.setData(lx, ly.astype(np.float64))
        else:
            self.lineage_lines.setData([], [])
        self.ancestors_curve.setData(steps, distinct_ancestors(ancestors, count))

    def show_weights(self, frame) -> None:
        lw = frame.log_weights.astype(np.float64)
        w = np.exp(lw - lw.max())
        w /= w.sum()
        self.weight_bars.setOpts(x=np.arange(len(w)), height=w, width=0.8)

    def mark_change(self, step: int, label: str) -> None:
        for plot in (self.ess_plot, self.fidelity_plot):
            line = pg.InfiniteLine(pos=step, angle=90, pen=pg.mkPen("#ff6e6e", style=Qt.DashLine),
                                   label=label, labelOpts={"position": 0.85, "color": "#ff9e9e"})
            plot.addItem(line)
            self._marks.append((plot, line))


def _tab(tabs: QTabWidget, title: str) -> QVBoxLayout:
    page = QWidget()
    page.setObjectName(f"statsTab{title}")
    tabs.addTab(page, title)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(2, 2, 2, 2)
    return layout


def _plot(name: str, title: str, xlabel: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(title=title)
    plot.setObjectName(name)
    plot.setLabel("bottom", xlabel)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMinimumHeight(120)
    return plot
