"""A pinned run's statistics on the Run statistics panel's plots, dashed, beside the current
run's solid curves: the ESS, the fidelity (radial error, Chamfer, off-sphere), the reward
scale and acceptance, log Z and the distinct ancestors, each in its curve's colour.

The pinned run does not change, so its curves are drawn once (`show`); the panel asks how
far they reach (`steps`, `particles`, `highest`, `values`) so that its ranges hold both
runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPen

from ..model.stats_series import FrameSeries, distinct_per_row

LEGEND = "pinned run (dashed)"
LEGEND_PEN = pg.mkPen((170, 170, 180), width=2, style=Qt.PenStyle.DashLine)


def dashed(curve: pg.PlotDataItem) -> QPen:
    """The pen `curve` was made with (before a theme fitted it), dashed."""
    designed = curve.__dict__.get("designed", (curve.opts["pen"], None))[0]
    pen = QPen(pg.mkPen(designed))
    pen.setStyle(Qt.PenStyle.DashLine)
    return pen


def remove_entry(legend, name: str) -> None:
    """Leave the entries called `name` out of `legend` (a plots.LegendRow)."""
    keep = [i for i, (_, _, n) in enumerate(legend.entries) if n != name]
    if len(keep) != len(legend.entries):
        legend.entries = [legend.entries[i] for i in keep]
        legend.pens = [legend.pens[i] for i in keep]
        legend._arrange()  # noqa: SLF001 (its rows laid out again, as `add` does)


class PinnedCurves:
    """The dashed curves of a pinned run on `panel`'s plots (a StatsPanel's)."""

    def __init__(self, panel) -> None:
        self.series = FrameSeries()
        self.frames: Sequence | None = None
        # (the plot whose theme it takes, where it is added, the solid curve, the column)
        self.pairs = [(panel.ess_plot, panel.ess_plot, panel.ess_curve, "ess"),
                      (panel.fidelity_plot, panel.fidelity_plot, panel.radial_curve,
                       "radial_error"),
                      (panel.fidelity_plot, panel.fidelity_plot, panel.chamfer_curve, "chamfer"),
                      (panel.fidelity_plot, panel.off_view, panel.off_curve, "off_sphere"),
                      (panel.scale_plot, panel.scale_plot, panel.scale_curve, "reward_scale"),
                      (panel.scale_plot, panel.scale_plot, panel.acceptance_curve,
                       "acceptance"),
                      (panel.log_z_plot, panel.log_z_plot, panel.log_z_curve, "log_z"),
                      (panel.ancestors_plot, panel.ancestors_plot, panel.ancestors_curve,
                       "ancestors")]
        self.legends = [p.legend_row for p in (panel.ess_plot, panel.fidelity_plot,
                                                panel.scale_plot)]
        self.curves: list[pg.PlotDataItem] = []

    @property
    def shown(self) -> bool:
        return self.frames is not None

    @property
    def steps(self) -> int:
        """The steps the pinned run's plots need across (0: none pinned)."""
        if not self.shown or not self.series.count:
            return 0
        total = getattr(self.series.newest, "steps", 0)
        return max(int(total) if isinstance(total, int) else 0, int(self.series.steps[-1]))

    @property
    def particles(self) -> int:
        return self.series.particles if self.shown else 0

    def values(self, column: str) -> np.ndarray:
        """The pinned run's finite values of a column (none where none is pinned)."""
        if not self.shown or not self.series.count:
            return np.zeros(0)
        values = np.asarray(getattr(self.series, column), dtype=np.float64)
        return values[np.isfinite(values)]

    def highest(self, *columns: str) -> float:
        found = [self.values(c) for c in columns]
        found = [v for v in found if v.size]
        return float(max(v.max() for v in found)) if found else -np.inf

    def show(self, frames: Sequence | None) -> None:
        """Draw `frames` (a finished run's) dashed; None: no pinned run."""
        self._remove()
        self.series.clear()
        self.frames = list(frames) if frames else None
        if self.frames is None:
            return
        s = self.series
        s.sync(self.frames)
        steps = s.steps
        for theme_plot, where, solid, column in self.pairs:
            if column == "ancestors":
                values = distinct_per_row(s.lineage()).astype(np.float64)
            else:
                values = np.asarray(getattr(s, column), dtype=np.float64)
            known = np.isfinite(values)
            curve = pg.PlotDataItem(steps[known], values[known], pen=dashed(solid))
            curve.setObjectName(f"pinned_{column}")
            curve.setZValue(-1)  # under the current run's
            where.addItem(curve)
            if where is not theme_plot and theme_plot.background is not None:
                theme_plot._fit(curve)  # noqa: SLF001 (the plot's own fitting, on its 2nd view)
            curve.__dict__["home"] = where
            self.curves.append(curve)
        for legend in self.legends:
            legend.add(LEGEND, LEGEND_PEN)

    def _remove(self) -> None:
        for curve in self.curves:
            curve.__dict__["home"].removeItem(curve)
        self.curves.clear()
        for legend in self.legends:
            remove_entry(legend, LEGEND)
