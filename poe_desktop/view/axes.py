"""Axes you can read in the 3-D view: a gizmo in the bottom-left corner (x, y, z arrows
that turn with the camera) and the axis names and 0/1 ticks on the reference cube.

Every axis is an expert (the x, y and z flow experts each move one coordinate), so the
axes wear the experts' colours, defined here once (`AXIS_COLORS`) and used by the
Experts panel too. Both are painted with QPainter over the rendered scene, in pixels
times `scale`, so that an image saved at 4x gets text and arrows 4x as large.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QIcon,
    QPainter,
    QPen,
    QPixmap,
    QVector3D,
    QVector4D,
)

from .gl_points import fit_contrast

# Light enough to read on the dark background (contrast >= 4.5:1 against view3d's); on
# another background each is moved at its hue until it reads (LABEL_CONTRAST).
AXIS_COLORS = {"x": (240, 100, 100), "y": (110, 205, 110), "z": (110, 160, 250)}
TICK_RGB = (170, 170, 180)
LABEL_CONTRAST = 4.5
GIZMO_LENGTH = 34.0  # px at scale 1
GIZMO_MARGIN = 16.0
FULL_SIZE_VIEW_SIDE = 480.0
MIN_VIEW_SIDE = 200.0
CUBE_CENTER = np.array([0.5, 0.5, 0.5])


def swatch_icon(rgb: tuple[int, int, int], side: int = 12) -> QIcon:
    """A small filled square of one colour (the Experts panel marks each axis with it)."""
    pixmap = QPixmap(side, side)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


def _unit_edges(axis: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The four edges of the unit cube parallel to `axis`, as (start, end) corners."""
    others = [a for a in range(3) if a != axis]
    edges = []
    for u in (0.0, 1.0):
        for v in (0.0, 1.0):
            start = np.zeros(3)
            start[others[0]], start[others[1]] = u, v
            end = start.copy()
            end[axis] = 1.0
            edges.append((start, end))
    return edges


class AxesOverlay:
    """Paints the gizmo and the cube's labels for a GLViewWidget (`view`)."""

    def __init__(self, view) -> None:
        self.view = view
        self.visible = True
        self.colors: dict[str, QColor] = {}  # as last painted, fitted to the background

    def paint(self, painter: QPainter, width: float, height: float, scale: float = 1.0,
              cube_labels: bool = True) -> None:
        """Draw on `painter`, whose target is `width` x `height` pixels showing the whole
        view at `scale` x its size; `cube_labels`: also name the cube's edges (off when
        the cube is hidden)."""
        # in a view under 480 px the overlay shrinks with it; under 200 px it would only
        # hide the cloud, so it stays out
        side = min(width, height) / scale
        if not self.visible or side < MIN_VIEW_SIDE:
            return
        scale *= min(1.0, side / FULL_SIZE_VIEW_SIDE)
        background = np.asarray(self.view.opts["bgcolor"][:3], dtype=np.float64)
        self.colors = {name: _readable(rgb, background)
                       for name, rgb in (*AXIS_COLORS.items(), ("tick", TICK_RGB))}
        painter.save()
        painter.setRenderHints(QPainter.RenderHint.Antialiasing
                               | QPainter.RenderHint.TextAntialiasing)
        if cube_labels:
            self._paint_cube_labels(painter, width, height, scale)
        self._paint_gizmo(painter, height, scale)
        painter.restore()

    def _project(self, width: float, height: float):
        region = (0, 0, int(width), int(height))
        mvp = self.view.projectionMatrix(region, region) * self.view.viewMatrix()

        def to_pixels(point: np.ndarray) -> QPointF | None:
            clip = mvp.map(QVector4D(*map(float, point), 1.0))
            if clip.w() <= 1e-6:
                return None  # behind the camera
            return QPointF((clip.x() / clip.w() + 1) * 0.5 * width,
                           (1 - clip.y() / clip.w()) * 0.5 * height)
        return to_pixels

    def cube_labels(self, width: float, height: float, scale: float = 1.0
                    ) -> list[tuple[str, str, QFont, QRectF]]:
        """The cube's labels as (colour key, text, font, rectangle in pixels): each axis's
        name at the middle of the edge that lies on the cube's outline (x and y: the lowest
        on screen; z: the leftmost), with 0 and 1 near its ends. A label that would cover
        one placed before it moves away from the cube until it is clear: the three 0s,
        whose edges often meet at one corner, never pile up."""
        to_pixels = self._project(width, height)
        centre = to_pixels(CUBE_CENTER)
        if centre is None:
            return []
        name_font, tick_font = _font(14 * scale, bold=True), _font(11 * scale)
        wanted = []
        for axis, name in enumerate("xyz"):
            candidates = []
            for start, end in _unit_edges(axis):
                ends = to_pixels(start), to_pixels(end), to_pixels((start + end) / 2)
                if None not in ends:
                    key = ends[2].x() if axis == 2 else -ends[2].y()
                    candidates.append((key, ends))
            if not candidates:
                continue
            start, end, middle = min(candidates, key=lambda c: c[0])[1]
            wanted.append((name, name, name_font, middle, 16 * scale))
            # a tick sits a little inside its edge, toward the edge's other end
            for point, toward, tick in ((start, end, "0"), (end, start, "1")):
                wanted.append(("tick", tick, tick_font, _pushed_out(point, toward, -10 * scale),
                               12 * scale))
        placed: list[tuple[str, str, QFont, QRectF]] = []
        for key, text, font, anchor, away in wanted:
            rect = _text_rect(font, text, _pushed_out(anchor, centre, away))
            for _ in range(24):
                if not any(rect.intersects(other[3]) for other in placed):
                    break
                shifted = _pushed_out(rect.center(), centre, 4 * scale)
                if shifted == rect.center():  # at the centre itself: move down
                    shifted = rect.center() + QPointF(0, 4 * scale)
                rect.moveCenter(shifted)
            placed.append((key, text, font, rect))
        return placed

    def _paint_cube_labels(self, painter: QPainter, width: float, height: float,
                           scale: float) -> None:
        for key, text, font, rect in self.cube_labels(width, height, scale):
            painter.setFont(font)
            painter.setPen(self.colors[key])
            _draw_centred(painter, rect.center(), text)

    def _paint_gizmo(self, painter: QPainter, height: float, scale: float) -> None:
        """Three arrows from one origin, turned as the camera turns; the nearest last."""
        rotation = self.view.viewMatrix()  # mapVector below ignores its translation
        length, margin = GIZMO_LENGTH * scale, GIZMO_MARGIN * scale
        origin = QPointF(margin + length + 8 * scale, height - margin - length - 8 * scale)
        arrows = []
        for axis, name in enumerate("xyz"):
            direction = [0.0, 0.0, 0.0]
            direction[axis] = 1.0
            eye = rotation.mapVector(QVector3D(*direction))
            arrows.append((eye.z(), name, QPointF(eye.x(), -eye.y())))
        painter.setFont(_font(13 * scale, bold=True))
        for _, name, screen in sorted(arrows, key=lambda a: a[0]):
            color = self.colors[name]
            tip = origin + screen * length
            painter.setPen(QPen(color, 2.2 * scale, Qt.PenStyle.SolidLine,
                                Qt.PenCapStyle.RoundCap))
            painter.drawLine(origin, tip)
            _arrow_head(painter, origin, tip, color, 7 * scale)
            label = origin + screen * (length + 11 * scale)
            painter.setPen(color)
            _draw_centred(painter, label, name)


def _readable(rgb: tuple[int, int, int], background: np.ndarray) -> QColor:
    # a little margin: rounding to 8 bits must not take it under the ratio
    fitted = fit_contrast(np.asarray(rgb) / 255.0, background, LABEL_CONTRAST * 1.02)
    return QColor(*(round(float(c) * 255) for c in fitted))


def _font(pixels: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, round(pixels)))
    font.setBold(bold)
    return font


def _pushed_out(point: QPointF, centre: QPointF, distance: float) -> QPointF:
    """`point` moved `distance` pixels away from `centre` (toward it when negative)."""
    dx, dy = point.x() - centre.x(), point.y() - centre.y()
    norm = math.hypot(dx, dy)
    if norm < 1e-6:
        return point
    return QPointF(point.x() + dx / norm * distance, point.y() + dy / norm * distance)


def _text_rect(font: QFont, text: str, at: QPointF) -> QRectF:
    """The tight rectangle of `text` drawn centred at `at` (as `_draw_centred` draws it)."""
    rect = QFontMetricsF(font).tightBoundingRect(text)
    rect.moveCenter(at)
    return rect


def _draw_centred(painter: QPainter, at: QPointF, text: str) -> None:
    metrics = painter.fontMetrics()
    rect = metrics.tightBoundingRect(text)
    painter.drawText(QPointF(at.x() - rect.width() / 2 - rect.left(),
                             at.y() + rect.height() / 2 - rect.bottom()), text)


def _arrow_head(painter: QPainter, start: QPointF, tip: QPointF, color: QColor,
                size: float) -> None:
    dx, dy = tip.x() - start.x(), tip.y() - start.y()
    norm = math.hypot(dx, dy)
    if norm < size:  # the axis points at the viewer: a head would hide the others
        return
    ux, uy = dx / norm, dy / norm
    base = QPointF(tip.x() - ux * size, tip.y() - uy * size)
    side = QPointF(-uy * size * 0.5, ux * size * 0.5)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawPolygon([tip, base + side, base - side])
    painter.setBrush(Qt.BrushStyle.NoBrush)
