"""Zoom a person can undo: a double-click on a plot puts its ranges back (the ranges the
panel set, or pyqtgraph's autorange where it set none), and a new run does it for every
plot (`reset_zoom`), so that a zoom never sticks across runs."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg

from .plots import PlotColumn, StatPlot


def reset_zoom(plot: StatPlot) -> None:
    """The plot's ranges as the panel last set them; autorange on an axis it never set."""
    ranges = dict(plot._ranges)  # noqa: SLF001 (the plot's own cache of what it was set to)
    plot._ranges.clear()  # noqa: SLF001
    for axis, (low, high) in ranges.items():
        plot._set_range(axis, low, high)  # noqa: SLF001
    for axis, which in (("x", pg.ViewBox.XAxis), ("y", pg.ViewBox.YAxis)):
        if axis not in ranges:
            plot.vb.enableAutoRange(which)


def reset_on_double_click(column: PlotColumn, plots: Callable[[], list[StatPlot]]) -> None:
    """A double-click in a plot of `column` (one of `plots()`) resets that plot's zoom."""

    def clicked(event) -> None:
        if not event.double():
            return
        at = event.scenePos()
        for plot in plots():
            if plot.scene() is column.scene() and plot.sceneBoundingRect().contains(at):
                reset_zoom(plot)
                event.accept()
                return

    column.scene().sigMouseClicked.connect(clicked)
