"""A statistics plot saved as a file by pyqtgraph's own exporters: its data as CSV
(`CSVExporter`), the plot as SVG (`SVGExporter`) or PNG (`ImageExporter`), and the
context menu of a tab's plots that offers them.

The CSV holds every curve of the plot as (x, y) columns named after the curve, and the
data a plot draws otherwise: the bars of the weights chart and a curve read on the right
axis (`StatPlot.side_curves`), copied into a plot item made for the export alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from pyqtgraph.exporters import CSVExporter, ImageExporter, SVGExporter
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMenu

KINDS = {".csv": "data as CSV", ".svg": "plot as SVG", ".png": "plot as PNG"}


def _closed_paths_kept(correct):
    """pyqtgraph's `SVGExporter.correctCoordinates`, which fails on the closing `Z` of the
    paths that Qt 6 writes (pyqtgraph issue 3495): the `Z`s are set aside while it runs
    and put back at each such path's end."""

    def corrected(node, *args, **kwargs):
        closed = []
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            if any(t in ("Z", "z") for t in tokens):
                path.setAttribute("d", " ".join(t for t in tokens if t not in ("Z", "z")))
                closed.append(path)
        correct(node, *args, **kwargs)
        for path in closed:
            path.setAttribute("d", path.getAttribute("d").rstrip() + " Z")

    corrected.keeps_closed_paths = True
    return corrected


_svg = importlib.import_module("pyqtgraph.exporters.SVGExporter")  # the module, not the class
if not getattr(_svg.correctCoordinates, "keeps_closed_paths", False):
    _svg.correctCoordinates = _closed_paths_kept(_svg.correctCoordinates)


def export_plot(plot: pg.PlotItem, path: str | Path) -> Path:
    """Write `plot` to `path` by its suffix (.csv, .svg or .png); ValueError (one line)
    for another suffix or a plot not laid out yet, OSError where the file cannot be
    written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in KINDS:
        raise ValueError(f"{path.name}: save a plot as .csv, .svg or .png")
    if suffix == ".csv":
        CSVExporter(_data_copy(plot)).export(str(path))
    else:
        if plot.scene() is None or plot.boundingRect().width() < 1:
            raise ValueError(f"{path.name}: the plot is not laid out yet; show its tab first")
        exporter = SVGExporter(plot) if suffix == ".svg" else ImageExporter(plot)
        if suffix == ".png":
            # as many pixels as on screen, at least 2 a side (its default rounds down)
            exporter.parameters()["width"] = max(int(plot.boundingRect().width()), 2)
        exporter.export(str(path))
    if not path.is_file():
        raise OSError(f"{path}: could not be written")
    return path


def _data_copy(plot: pg.PlotItem) -> pg.PlotItem:
    """A plot item (never shown) holding a copy of the data `plot` draws, named."""
    copy = pg.PlotItem()
    count = 0
    for item in plot.items:
        if isinstance(item, pg.BarGraphItem):
            x, height = item.opts.get("x"), item.opts.get("height")
            if x is not None and height is not None and len(x):
                copy.plot(x, height, name="bars")
        elif hasattr(item, "implements") and item.implements("plotData"):
            x, y = item.getOriginalDataset() if hasattr(item, "getOriginalDataset") \
                else item.getData()
            if x is not None and len(x):
                count += 1
                copy.plot(x, y, name=item.name() or f"curve {count}")
    for name, item in getattr(plot, "side_curves", []):
        x, y = item.getData()
        if x is not None and len(x):
            copy.plot(x, y, name=name)
    return copy


def add_export_menu(column: pg.GraphicsLayoutWidget, plots: Callable[[], list],
                    saved: Callable[[str], None], failed: Callable[[str, str], None]) -> None:
    """A context menu on `column` (a tab's view) for the plot under the pointer: save its
    data as CSV, the plot as SVG or PNG. `plots()` lists the column's plots; `saved(path)`
    and `failed(title, message)` say how it went."""
    column.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def open_menu(pos) -> None:
        at = column.mapToScene(pos)
        plot = next((p for p in plots() if p.sceneBoundingRect().contains(at)), None)
        if plot is None:
            return
        menu = QMenu(column)
        menu.setObjectName("plotExportMenu")
        title = plot.title_text() if hasattr(plot, "title_text") else plot.objectName()
        for suffix, what in KINDS.items():
            action = menu.addAction(f"Save {what}…")
            action.setObjectName(f"savePlot{suffix[1:].upper()}")
            action.setToolTip(f"Save “{title}”'s {what}")
            action.triggered.connect(lambda _=False, s=suffix: choose(plot, s))
        menu.popup(column.mapToGlobal(pos))

    def choose(plot, suffix: str) -> None:
        path, _ = QFileDialog.getSaveFileName(column, f"Save {KINDS[suffix]}",
                                              f"{plot.objectName()}{suffix}",
                                              f"{KINDS[suffix]} (*{suffix})")
        if not path:
            return
        if not path.lower().endswith(suffix):
            path += suffix
        try:
            saved(str(export_plot(plot, path)))
        except (OSError, ValueError) as err:
            failed("Cannot save the plot", str(err))

    column.customContextMenuRequested.connect(open_menu)
