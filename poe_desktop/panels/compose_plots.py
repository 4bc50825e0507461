"""The statistics of a composed run (Particles tab): the share of the shown particle's
points inside each region of the expression, and how many particles each branch of its
mixture holds, over the steps. Each plot joins the tab's column while a composed run
with regions (with two branches or more) is shown, and leaves it otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg

from ..model.composition import CompositionSeries, branch_colour, branch_letter, branch_names
from .plots import PlotColumn, StatPlot

REGION_TITLE = "share of points in each region"
BRANCH_TITLE = "particles per branch"
REGION_COLOURS = ("#80deea", "#ffab91", "#c5e1a5", "#ce93d8", "#fff59d", "#b0bec5")


class CompositionPlots:
    def __init__(self, column: PlotColumn) -> None:
        self.column = column
        self.series = CompositionSeries()
        self.region_plot = StatPlot("regionSharePlot", REGION_TITLE, "step")
        self.region_plot.set_y_range(0.0, 1.05)
        self.branch_plot = StatPlot("branchCountPlot", BRANCH_TITLE, "step", integer_y=True)
        self.region_curves: dict[str, pg.PlotDataItem] = {}
        self.branch_curves: list[pg.PlotDataItem] = []
        self.shown: list[StatPlot] = []  # those in the column, in its order

    @property
    def plots(self) -> list[StatPlot]:
        return [self.region_plot, self.branch_plot]

    def set_shown(self, regions: bool, branches: bool) -> None:
        wanted = [p for p, on in zip(self.plots, (regions, branches), strict=True) if on]
        if wanted == self.shown:
            return
        for plot in self.shown:
            self.column.removeItem(plot)
        for plot in wanted:
            self.column.add(plot)
        self.shown = wanted

    def sync(self, frames: Sequence) -> bool:
        """Read the new frames; whether there were any."""
        new = self.series.sync(frames)
        composed = self.series.composed
        self.set_shown(composed and bool(self.series.labels), composed and self.series.branches > 1)
        return bool(new)

    def clear(self) -> None:
        self.series.clear()
        for plot, curves in ((self.region_plot, list(self.region_curves.values())),
                             (self.branch_plot, self.branch_curves)):
            for curve in curves:
                plot.removeItem(curve)
            plot.legend_row.entries.clear()
            plot.legend_row.pens.clear()
            plot.legend_row._arrange()
        self.region_curves.clear()
        self.branch_curves.clear()
        self.set_shown(False, False)

    def draw(self) -> None:
        s = self.series
        if not s.composed or not s.count:
            return
        steps = np.asarray(s.steps, dtype=np.float64)
        for label, values in s.shares().items():
            if label not in self.region_curves:
                colour = REGION_COLOURS[len(self.region_curves) % len(REGION_COLOURS)]
                self.region_curves[label] = self.region_plot.plot(pen=pg.mkPen(colour, width=2))
                self.region_plot.legend_row.add(label, colour)
            known = np.isfinite(values)
            self.region_curves[label].setData(steps[known], values[known])
        counts = s.counts()
        names = branch_names(getattr(s.first, "compose", None))
        while len(self.branch_curves) < counts.shape[1]:
            k = len(self.branch_curves)
            self.branch_curves.append(self.branch_plot.plot(pen=pg.mkPen(branch_colour(k),
                                                                         width=2)))
            name = names[k] if k < len(names) else ""
            self.branch_plot.legend_row.add(f"{branch_letter(k)}: {name}", branch_colour(k))
        for k, curve in enumerate(self.branch_curves):
            curve.setData(steps, counts[:, k])
        self.branch_plot.set_y_range(0.0, float(max(counts.sum(axis=1).max(), 1)))
