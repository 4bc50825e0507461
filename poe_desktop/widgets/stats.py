"""The Run statistics panel: live plots of the run's frames."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget


class StatsPanel(QWidget):
    """Live plots: ESS over steps with resampling marked, the particles' weights, and
    the fidelity of the shown cloud over steps. Steering changes are marked.

    It shows frames: anything with `index`, `ess`, `resampled`, `radial_error`,
    `off_sphere`, `chamfer` and `log_weights` (the worker's `Frame`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
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

    def clear(self) -> None:
        for curve in (self.ess_curve, self.resample_marks, self.radial_curve, self.off_curve,
                      self.chamfer_curve):
            curve.setData([], [])
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


def _plot(name: str, title: str, xlabel: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(title=title)
    plot.setObjectName(name)
    plot.setLabel("bottom", xlabel)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMinimumHeight(120)
    return plot
