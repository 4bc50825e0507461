"""The statistics' plot: a pyqtgraph PlotItem laid out so that nothing covers the data.

Above the data area, in rows of their own: the title, a legend (`LegendRow`) and a strip
for the steering marks' labels (`MarkStrip`); the marks themselves are thin lines in the
data area, and a cursor line shows the timeline's step. Steps and particles get whole-
number ticks (`IntegerAxis`). Ranges are set only when they change (`StatPlot.set_y_range`),
so that an axis, whose text is the costly part of a redraw, is redrawn only then.
The series' colours are chosen for a dark plot; on the theme's background
(`StatPlot.set_theme`) each is drawn `legible`: moved at its hue to a 3:1 contrast.
"""

from __future__ import annotations

import atexit
import math
import weakref

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QGraphicsWidget, QSizePolicy

from ..view.gl_points import fit_contrast

TITLE_HEIGHT = 18
FONT_POINTS = 8
LEGEND_ROW = 14  # pixels a legend row takes
SAMPLE = 16  # width of a legend entry's line sample
STRIP_ROWS = 2  # steering labels are staggered over this many rows, then thinned
SHORT_LABEL = 12  # characters of a steering label shown; the full text is its tooltip
MARK_COLOR = "#ff6e6e"
CURSOR_PEN = pg.mkPen((235, 235, 235, 170), width=1)
MARK_LABEL_COLOR = "#ff9e9e"
SERIES_CONTRAST = 3.0  # WCAG's floor for graphics, against the plot's background
TEXT_CONTRAST = 4.5  # and for text


def legible(color, background, ratio: float = SERIES_CONTRAST) -> QColor:
    """`color` as drawn on `background` (None: as it is): moved at its hue just far
    enough to keep `ratio` (3:1) contrast with it; its alpha is kept."""
    color = pg.mkColor(color)
    if background is None:
        return color
    rgb = fit_contrast(np.array(color.getRgbF()[:3]),
                       np.array(pg.mkColor(background).getRgbF()[:3]), ratio)
    fitted = QColor.fromRgbF(*(float(c) for c in np.clip(rgb, 0.0, 1.0)))
    fitted.setAlpha(color.alpha())
    return fitted


def legible_pen(pen, background) -> QPen:
    pen = QPen(pg.mkPen(pen))
    pen.setColor(legible(pen.color(), background))
    return pen


def small_font() -> QFont:
    font = QFont()
    font.setPointSize(FONT_POINTS)
    return font


class IntegerAxis(pg.AxisItem):
    """Ticks at whole numbers only (steps, particles), written without decimals."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph's names)
        levels = [(s, o) for s, o in super().tickSpacing(minVal, maxVal, size) if s >= 1]
        return levels or [(1.0, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        return [f"{v * scale:.0f}" for v in values]


class LegendRow(QGraphicsWidget):
    """The legend as rows of entries (a line or a triangle sample, then the name) that wrap
    to the plot's width; it sits above the data area, never over it."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[tuple[QPen, bool, str]] = []  # pen, triangle symbol, name
        self.text_color = QColor(200, 200, 205)
        self.background = None  # the plot's (set_background)
        self.pens: list[QPen] = []  # the entries' pens as drawn on it
        self.font = small_font()
        self._metrics = QFontMetricsF(self.font)
        self._places: list[QPointF] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setPreferredHeight(0)

    def add(self, name: str, pen, symbol: bool = False) -> None:
        self.entries.append((pg.mkPen(pen), symbol, name))
        self.pens.append(legible_pen(pen, self.background))
        self._arrange()

    def set_text_color(self, color) -> None:
        self.text_color = pg.mkColor(color)
        self.update()

    def set_background(self, background) -> None:
        """The samples are drawn legible on `background`."""
        self.background = background
        self.pens = [legible_pen(pen, background) for pen, _, _ in self.entries]
        self.update()

    def rename(self, index: int, name: str) -> None:
        pen, symbol, old = self.entries[index]
        if name != old:
            self.entries[index] = (pen, symbol, name)
            self._arrange()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        width = max(self.size().width(), 1.0)
        x, row, self._places = 4.0, 0, []
        for _, _, name in self.entries:
            need = SAMPLE + 4 + self._metrics.horizontalAdvance(name) + 10
            if x > 4 and x + need > width:
                x, row = 4.0, row + 1
            self._places.append(QPointF(x, row * LEGEND_ROW))
            x += need
        height = (row + 1) * LEGEND_ROW + 2 if self.entries else 0
        if height != self.preferredHeight():
            self.setPreferredHeight(height)
            self.setMaximumHeight(height)
        self.update()

    def paint(self, painter: QPainter, *args) -> None:
        painter.setFont(self.font)
        for (_, symbol, name), pen, at in zip(self.entries, self.pens, self._places,
                                              strict=False):
            mid = at.y() + LEGEND_ROW / 2
            painter.setPen(pen)
            if symbol:
                painter.setBrush(pen.color())
                c = at.x() + SAMPLE / 2
                painter.drawPolygon([QPointF(c - 4, mid + 3), QPointF(c + 4, mid + 3),
                                     QPointF(c, mid - 4)])
            else:
                painter.drawLine(QPointF(at.x(), mid), QPointF(at.x() + SAMPLE, mid))
            painter.setPen(self.text_color)
            painter.drawText(QRectF(at.x() + SAMPLE + 4, at.y(), 400, LEGEND_ROW),
                             Qt.AlignmentFlag.AlignVCenter, name)


class MarkStrip(QGraphicsWidget):
    """Short labels of the steering marks, in a strip above the data area at their steps:
    a label that would overprint another moves to the next row, and is left out (its text
    joins the tooltip of the label nearest to it) when no row has room."""

    def __init__(self, view: pg.ViewBox) -> None:
        super().__init__()
        self.view = view
        self.marks: list[tuple[float, str]] = []
        self.labels: list[QGraphicsSimpleTextItem] = []
        self.background = None  # the plot's (set_background)
        self.mark_pen = pg.mkPen(MARK_COLOR)
        self.font = small_font()
        self.row_height = math.ceil(QFontMetricsF(self.font).height()) + 1
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._set_height(0)
        view.sigResized.connect(self.arrange)
        view.sigXRangeChanged.connect(self.arrange)

    def _set_height(self, height: float) -> None:
        self.setPreferredHeight(height)
        self.setMaximumHeight(height)
        self.setMinimumHeight(height)

    def add(self, step: float, text: str) -> None:
        label = QGraphicsSimpleTextItem(short(text), self)
        label.setFont(self.font)
        label.setBrush(legible(MARK_LABEL_COLOR, self.background, TEXT_CONTRAST))
        self.marks.append((step, text))
        self.labels.append(label)
        self._set_height(STRIP_ROWS * self.row_height + 2)
        self.arrange()

    def set_background(self, background) -> None:
        self.background = background
        self.mark_pen = pg.mkPen(legible(MARK_COLOR, background))
        for label in self.labels:
            label.setBrush(legible(MARK_LABEL_COLOR, background, TEXT_CONTRAST))
        self.update()

    def clear(self) -> None:
        for label in self.labels:
            label.setParentItem(None)
            if label.scene() is not None:
                label.scene().removeItem(label)
        self.marks, self.labels = [], []
        self._set_height(0)

    def x_of(self, step: float) -> float:
        return self.mapFromScene(self.view.mapViewToScene(QPointF(step, 0))).x()

    def arrange(self, *_) -> None:
        width = self.size().width()
        ends = [-1e9] * STRIP_ROWS  # the right edge of the last label in each row
        shown: list[tuple[float, QGraphicsSimpleTextItem]] = []
        order = sorted(range(len(self.marks)), key=lambda i: self.marks[i][0])
        for i in order:
            step, text = self.marks[i]
            label = self.labels[i]
            label.setToolTip(f"step {step:g}: {text}")
            x, w = self.x_of(step), label.boundingRect().width()
            left = min(max(x - w / 2, 0.0), max(width - w, 0.0))
            row = next((r for r in range(STRIP_ROWS) if left >= ends[r] + 3), None)
            if row is None or not 0 <= x <= width:
                label.hide()
                if shown and row is None:  # thinned: the nearest label tells it too
                    near = min(shown, key=lambda s: abs(s[0] - x))[1]
                    near.setToolTip(f"{near.toolTip()}\nstep {step:g}: {text}")
                continue
            label.setPos(left, row * self.row_height)
            label.show()
            ends[row] = left + w
            shown.append((x, label))
        self.update()

    def paint(self, painter: QPainter, *args) -> None:
        if not self.marks:
            return
        painter.setPen(self.mark_pen)
        bottom = self.size().height()
        for step, _ in self.marks:
            x = self.x_of(step)
            painter.drawLine(QPointF(x, bottom - 3), QPointF(x, bottom))


MIN_DATA_HEIGHT = 64  # px of a statistics plot's data area, at least


def short(text: str) -> str:
    return text if len(text) <= SHORT_LABEL else text[:SHORT_LABEL - 1] + "…"


class StatPlot(pg.PlotItem):
    """A plot of the statistics: title, legend row, marks strip, data, bottom axis.
    `step_cursor` is the timeline's step (on step plots); `add_mark` draws a steering mark.
    A plot item, not a widget: a tab's plots share one view (`PlotColumn`)."""

    def __init__(self, name: str, title: str, xlabel: str, integer_y: bool = False,
                 steps: bool = True) -> None:
        axes = {"bottom": IntegerAxis("bottom")}
        if integer_y:
            axes["left"] = IntegerAxis("left")
        super().__init__(axisItems=axes)
        self.setObjectName(name)
        self.legend_row, self.strip = LegendRow(), MarkStrip(self.vb)
        _rearrange(self, self.legend_row, self.strip)
        self._title_text: str | None = None
        self.set_title(title)
        self.setLabel("bottom", xlabel)
        # no grid: pyqtgraph draws it with the axes, whose text is then redrawn with every
        # change in the data area (a cursor move, a new point)
        self.vb.setMinimumHeight(MIN_DATA_HEIGHT)  # below legend and marks; a tall tab scrolls
        self.setMenuEnabled(False)
        for side in ("left", "bottom", "right"):
            self.getAxis(side).enableAutoSIPrefix(False)  # "x0.001" reads worse than 0.4
        self.vb.disableAutoRange(pg.ViewBox.XAxis)
        self._ranges: dict[str, tuple[float, float]] = {}
        self.background = None  # the theme's (set_theme): series are drawn legible on it
        self.mark_lines: list[pg.InfiniteLine] = []
        self.step_cursor: pg.InfiniteLine | None = None
        if steps:
            self.step_cursor = pg.InfiniteLine(angle=90, movable=False, pen=CURSOR_PEN)
            self.step_cursor.setZValue(20)
            self.step_cursor.hide()
            self.addItem(self.step_cursor, ignoreBounds=True)

    def set_foreground(self, color) -> None:
        """The theme's text colour: the legend's names and the cursor (a lighter shade)."""
        self.legend_row.set_text_color(color)
        if self.step_cursor is not None:
            cursor = pg.mkColor(color)
            cursor.setAlpha(170)
            self.step_cursor.setPen(pg.mkPen(cursor, width=1))

    def set_theme(self, background, foreground) -> None:
        """The theme's plot background and text colour: the text, the cursor, and every
        series, line and bar (and those added later) drawn legible on the background."""
        self.background = pg.mkColor(background)
        self.set_foreground(foreground)
        self.legend_row.set_background(self.background)
        self.strip.set_background(self.background)
        items = list(self.items)
        for child in self.childItems():  # a second data area (add_right_view)
            if isinstance(child, pg.ViewBox) and child is not self.vb:
                items += child.addedItems
        for item in items:
            self._fit(item)

    def addItem(self, item, *args, **kwargs) -> None:  # noqa: N802 (pyqtgraph's name)
        super().addItem(item, *args, **kwargs)
        if self.background is not None:
            self._fit(item)

    def _fit(self, item) -> None:
        """Draw `item` legible on the background, from the colours it was made with."""
        if item is self.step_cursor:
            return
        background = self.background
        if isinstance(item, pg.PlotDataItem):
            pen, brush = item.__dict__.setdefault(
                "designed", (item.opts["pen"], item.opts["symbolBrush"]))
            if pen is not None:
                item.setPen(legible_pen(pen, background))
            if brush is not None:
                item.setSymbolBrush(legible(pg.mkBrush(brush).color(), background))
        elif isinstance(item, pg.InfiniteLine):
            pen = item.__dict__.setdefault("designed", QPen(item.pen))
            item.setPen(legible_pen(pen, background))
        elif isinstance(item, pg.BarGraphItem) and item.opts.get("brush") is not None:
            brush = item.__dict__.setdefault("designed", item.opts["brush"])
            item.setOpts(brush=legible(pg.mkBrush(brush).color(), background))

    def getPlotItem(self) -> StatPlot:  # noqa: N802 (as PlotWidget's, for callers of either)
        return self

    def set_title(self, title: str) -> None:
        if title != self._title_text:
            self._title_text = title
            self.setTitle(title, size=f"{FONT_POINTS + 1}pt")
            # a long title must not widen the plot past its dock (the tab scrolls up and
            # down only, so what is wider is cut off on the right)
            self.titleLabel.setMinimumWidth(0)
            self.layout.setRowFixedHeight(0, TITLE_HEIGHT)
            self.titleLabel.setMaximumHeight(TITLE_HEIGHT)

    def title_text(self) -> str:
        return self._title_text or ""

    def set_x_range(self, low: float, high: float) -> None:
        self._set_range("x", low, high)

    def set_y_range(self, low: float, high: float) -> None:
        self._set_range("y", low, high)

    def _set_range(self, axis: str, low: float, high: float) -> None:
        if self._ranges.get(axis) != (low, high):
            self._ranges[axis] = (low, high)
            if axis == "x":
                self.setXRange(low, high, padding=0.01)
            else:
                self.setYRange(low, high, padding=0.02)

    def set_cursor(self, step: float | None) -> None:
        if self.step_cursor is None:
            return
        if step is None:
            self.step_cursor.hide()
            return
        if self.step_cursor.value() != step:
            self.step_cursor.setValue(step)
        self.step_cursor.show()

    def add_mark(self, step: float, text: str, label: bool) -> None:
        line = pg.InfiniteLine(pos=step, angle=90, movable=False,
                               pen=pg.mkPen(MARK_COLOR, width=1, style=Qt.PenStyle.DashLine))
        self.addItem(line, ignoreBounds=True)
        self.mark_lines.append(line)
        if label:
            self.strip.add(step, text)

    def clear_marks(self) -> None:
        # PlotItem.removeItem, not the view box's: the plot item keeps a list of its items too
        for line in self.mark_lines:
            self.removeItem(line)
        self.mark_lines.clear()
        self.strip.clear()


class PlotColumn(pg.GraphicsLayoutWidget):
    """A tab's plots, one above the other, in one graphics view. One view, not a widget a
    plot: beside the GL view every widget that changes costs a composition of the whole
    window, so that three plot widgets redrawn together cost three; one view costs one."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.ci.setSpacing(6)
        _COLUMNS.add(self)

    def add(self, plot: StatPlot, stretch: int = 1) -> None:
        row = self.ci.layout.rowCount()
        self.addItem(plot, row=row, col=0)
        self.ci.layout.setRowStretchFactor(row, stretch)


# A graphics layout view still alive when Python shuts down crashes the process as Qt
# destroys it (its items' Python methods are called after the interpreter is gone): the
# views left are deleted while Python still runs.
_COLUMNS: weakref.WeakSet[PlotColumn] = weakref.WeakSet()


@atexit.register
def _delete_columns() -> None:
    for column in list(_COLUMNS):
        if shiboken6.isValid(column):
            shiboken6.delete(column)


def _rearrange(item: pg.PlotItem, legend: LegendRow, strip: MarkStrip) -> None:
    """Rows of the plot item's grid: 0 title, 1 legend, 2 marks strip, 3 left axis, data,
    right axis, 4 bottom axis. The top axis (never shown) leaves the grid."""
    layout = item.layout
    moved = [item.getAxis("left"), item.vb, item.getAxis("right"), item.getAxis("bottom")]
    for part in [item.getAxis("top"), *moved]:
        layout.removeItem(part)
    item.getAxis("top").hide()
    layout.addItem(legend, 1, 1)
    layout.addItem(strip, 2, 1)
    for part, (row, col) in zip(moved, [(3, 0), (3, 1), (3, 2), (4, 1)], strict=True):
        layout.addItem(part, row, col)
    for row in range(5):
        layout.setRowStretchFactor(row, 100 if row == 3 else 0)


def add_right_view(plot: StatPlot, label: str, low: float, high: float) -> pg.ViewBox:
    """A second data area over the plot's, read on the right axis, with a fixed range and
    the plot's steps across (for a fraction beside distances)."""
    view = pg.ViewBox(enableMouse=False)
    view.setParentItem(plot)
    plot.showAxis("right")
    axis = plot.getAxis("right")
    axis.linkToView(view)
    axis.setLabel(label)
    view.setXLink(plot.vb)
    view.setYRange(low, high, padding=0.02)
    view.disableAutoRange()

    def follow() -> None:
        view.setGeometry(plot.vb.geometry())
        view.linkedViewChanged(plot.vb, view.XAxis)

    plot.vb.sigResized.connect(follow)
    follow()
    return view
