"""The Population panel: every particle of the shown step at once, each with its weight.

One tile a particle, drawn from the 3-D view's camera angle (`population.render_cloud`),
faded by its weight (the heaviest fully opaque), with its index, its normalised weight and
a bar of it; the heaviest particle (the one the 3-D view shows) is outlined. A strip
along a tile's top is coloured by the first step's particle it descends from (after a
resampling, tiles of one colour share a founder). Tiles never overlap: a label is written
only where it fits (index and weight, the index alone, or none: the tooltip says it). A
click selects a tile's particle (`particleChosen`; the window shows it in the 3-D view),
a click on it again clears the selection (-1). Tiles are
drawn only while the panel is visible and at most a few times a second, so that the
sampler never waits on them (at most twice a second). The panel, its tiles and its text
follow the window's theme (`set_theme`).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ..model.composition import branch_colour, branch_letter, branch_names
from ..model.population import (
    BACKGROUND,
    LOG_FLOOR,
    founders,
    normalised_weights,
    relative_log_weights,
    render_cloud,
    tile_grid,
)
from ..view.gl_points import rim_strength, rim_tone

TILE_PIXELS = 112  # each tile's picture; it is scaled to the space the panel has
MIN_INTERVAL_S = 0.5  # tiles are redrawn at most twice a second, as the plots are
# A frame not due yet is drawn by the next `show_frame` once due, in the same pass as the
# view's redraw (one composition of the window), or after this much more if none comes
CATCH_UP_S = 0.3
# A tile shows at most this many of its points (every k-th): more look the same at its size
TILE_POINTS = 512
RENDER_SLICE_S = 0.012  # tiles rendered in one pass of the event loop, then it answers
BIG_POPULATION = 64 * 512 * 6  # values of a step's particles above which tiles take slices
LABEL_HEIGHT = 16
LABELLED_SIDE = 30  # tiles smaller than this get no label row (their tooltip says it)
LEGEND_LINE = 15  # a composed run's legend: a line a branch, above the tiles
# accents that read on a dark panel, and their darker shades for a light one
WEIGHT_BAR = {"dark": "#9be08a", "light": "#3f8f2f"}
HEAVIEST = {"dark": "#ffb74a", "light": "#c06a00"}
SELECTED = {"dark": "#4fc3f7", "light": "#0b62a8"}


class PopulationPanel(QWidget):
    """`show_frame(frame)` with anything that has `particles` ((L, N, 6) or None),
    `log_weights` (L,) and `index`; the tiles follow at the next redraw. `history`: the
    run's frames (a sequence indexed by step), read for the tiles' ancestry."""

    particleChosen = Signal(int)  # a tile was clicked: its particle; -1: selection cleared

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("populationPanel")
        self.setMinimumSize(200, 160)
        self.setToolTip("Every particle of the shown step, faded by its weight; the outlined "
                        "one is in the 3-D view")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.frame = None  # the frame asked for
        self.drawn = None  # the frame whose tiles are ready
        self.tiles: list[QImage] = []
        self.weights = self.log_weights = np.zeros(0)
        # a composed run's mixture: each tile's branch, and the branches' texts (>= 2)
        self.branches: np.ndarray | None = None
        self.branch_names: list[str] = []
        self.renders = 0  # how many times the tiles were rendered (tests count them)
        self.history = None  # the run's frames, for the tiles' founders
        self.founders: np.ndarray | None = None
        self.selected: int | None = None
        self.setMouseTracking(True)
        self._rendered_at = -math.inf
        self._timer = QTimer(self, singleShot=True, timeout=self._render_pending)
        self._rendering = None  # (frame, its tiles so far) while a render spans passes
        self.background, self.foreground = QColor(16, 16, 20), QColor(200, 200, 210)
        self.tile_background = QColor(*BACKGROUND)

    def set_theme(self, background, foreground, tile_background=None) -> None:
        """The panel's colour, its text's and the tiles' (the 3-D view's background, say;
        `background` if not given): names, (r, g, b) tuples or QColors. The tiles are drawn
        again."""
        self.background, self.foreground = pg.mkColor(background), pg.mkColor(foreground)
        self.tile_background = pg.mkColor(tile_background if tile_background is not None
                                          else background)
        self.drawn = self._rendering = None  # the tiles' background changed: render again
        self._render_pending()
        self.update()

    def tone(self) -> str:
        """'light' or 'dark': the panel's background, for the accents' shades."""
        return "light" if self.background.lightnessF() > 0.5 else "dark"

    def show_frame(self, frame) -> None:
        self.frame = frame
        if frame is self.drawn:
            return
        wait = self._rendered_at + MIN_INTERVAL_S - time.monotonic()
        particles = getattr(frame, "particles", None)
        if wait <= 0 and particles is not None and particles.size > BIG_POPULATION:
            # tiles that take several slices start after the window shows the view's new
            # frame, not before (a slice and the window's composition in one pass stall it)
            self._timer.start(0)
        elif wait <= 0:
            self._timer.stop()
            self._render_pending()
        elif not self._timer.isActive():
            self._timer.start(int((wait + CATCH_UP_S) * 1000) + 1)

    def clear(self, run_starts: bool = False) -> None:
        """No tiles. `run_starts`: a run starts streaming in; its first tiles come as
        later ones do, at most twice a second from now (its first steps are noise, and the
        3-D view shows them at once), not beside its first step's redraw."""
        self._timer.stop()
        self._rendering = None
        if run_starts:
            self._rendered_at = time.monotonic()
        self.frame = self.drawn = None
        self.tiles, self.weights = [], np.zeros(0)
        self.branches, self.branch_names = None, []
        self.founders, self.selected = None, None
        self.update()

    def set_selected(self, index: int | None) -> None:
        """Outline particle `index` as the selected one (None: no selection)."""
        self.selected = index
        self.update()

    def _render_pending(self) -> None:
        """Render the asked-for frame's tiles: as many as RENDER_SLICE_S allows now, the rest
        in the next passes of the event loop (a big population, 64 x 2048 say, takes longer
        than a frame of the UI); the tiles on screen change when all are ready."""
        if not self.isVisible() or self.frame is self.drawn:
            return  # hidden: rendered when shown (showEvent)
        frame = self.frame
        if self._rendering is None or self._rendering[0] is not frame:
            self._rendering = (frame, [])  # a newer frame replaces one half-rendered
        particles = getattr(frame, "particles", None)
        done, started = self._rendering[1], time.perf_counter()
        while particles is not None and len(done) < len(particles):
            done.append(self._tile(particles[len(done)]))
            if time.perf_counter() - started > RENDER_SLICE_S and len(done) < len(particles):
                QTimer.singleShot(0, self._render_pending)
                return
        self._rendering = None
        self.tiles = done if particles is not None else []
        self.weights = normalised_weights(frame.log_weights) if self.tiles else np.zeros(0)
        self.log_weights = relative_log_weights(frame.log_weights)
        self.founders = self._founders(frame) if self.tiles else None
        names = branch_names(getattr(frame, "compose", None))
        labels = getattr(frame, "branches", None)
        mixed = len(names) > 1 and labels is not None and len(labels) == len(self.tiles)
        self.branches, self.branch_names = (labels, names) if mixed else (None, [])
        self.drawn, self._rendered_at = frame, time.monotonic()
        self.renders += 1
        self.update()

    def _tile(self, cloud: np.ndarray) -> QImage:
        """One particle's tile on the tiles' background; a point whose colour is close to
        its lightness gets an outline (the 3-D view's rim), never another colour."""
        ground = np.array(self.tile_background.getRgb()[:3], dtype=np.float64)
        cloud = np.asarray(cloud)[::math.ceil(len(cloud) / TILE_POINTS) or 1]
        outline = rim_strength(cloud[:, 3:6], ground / 255.0)
        return _qimage(render_cloud(cloud, TILE_PIXELS, background=ground, outline=outline,
                                    outline_rgb=255.0 * np.array(rim_tone(ground / 255.0))))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        QTimer.singleShot(0, self._render_pending)

    def legend_height(self) -> int:
        return LEGEND_LINE * len(self.branch_names) + 4 if self.branch_names else 0

    def _founders(self, frame) -> np.ndarray | None:
        frames, index = self.history, getattr(frame, "index", -1)
        if frames is None or not 0 <= index < len(frames) or frames[index] is not frame:
            return None
        ancestors = [getattr(f, "ancestors", None) for f in frames[:index + 1]]
        return founders(ancestors, len(self.tiles))

    def grid(self) -> tuple[int, int, float]:
        """Columns, rows and the tile side that fill the panel best."""
        return self._layout()[:3]

    def _layout(self) -> tuple[int, int, float, float]:
        """Columns, rows, tile side and label row height (0 for small tiles)."""
        height = self.height() - self.legend_height()
        count = len(self.tiles)
        cols, rows, side = tile_grid(count, self.width(), height, LABEL_HEIGHT)
        if side >= LABELLED_SIDE:
            return cols, rows, side, float(LABEL_HEIGHT)
        return (*tile_grid(count, self.width(), height, 0.0), 0.0)

    def tile_rects(self) -> list[tuple[QRectF, QRectF]]:
        """Each tile's picture and label rectangles, in the panel (disjoint)."""
        cols, _, side, label = self._layout()
        side, top, pitch = max(side, 3.0), float(self.legend_height()), self.width() / cols
        out = []
        for j in range(len(self.tiles)):
            x, y = (j % cols) * pitch, top + (j // cols) * (side + label)
            inset = 2.0 if side >= 12 else 0.5
            out.append((QRectF(x + inset, y + inset, side - 2 * inset, side - 2 * inset),
                        QRectF(x + 1, y + side, side - 2, label)))
        return out

    def tile_at(self, point) -> int | None:
        for j, (target, _) in enumerate(self.tile_rects()):
            if target.contains(point):
                return j
        return None

    def label_of(self, j: int, rect: QRectF, metrics: QFontMetricsF) -> str:
        """The longest of 'j: weight', 'j' that fits `rect`, or ''."""
        for text in (f"{j}: {self.weights[j]:.2f}", f"{j}"):
            if rect.height() >= metrics.height() - 2 and \
                    metrics.horizontalAdvance(text) <= rect.width():
                return text
        return ""

    def describe(self, j: int) -> str:
        founder = "" if self.founders is None else f", from particle {self.founders[j]} of step 1"
        return (f"particle {j}: weight {self.weights[j]:.3g} "
                f"(log-weight {self.log_weights[j]:+.1f} vs the best{founder})")

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        j = self.tile_at(event.position())
        if j is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self.set_selected(None if j == self.selected else j)
        self.particleChosen.emit(-1 if self.selected is None else j)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        j = self.tile_at(event.position())
        text = "" if j is None else self.describe(j) + " · click to show it in the 3-D view"
        QToolTip.showText(event.globalPosition().toPoint(), text, self)
        super().mouseMoveEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.background)
        painter.setPen(self.foreground)
        if not self.tiles:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "every particle of the shown step\nappears here during a run")
            return
        rects = self.tile_rects()
        side = rects[0][0].width()
        heaviest = int(np.argmax(self.weights))
        top = float(self.weights[heaviest])
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        font = painter.font()
        font.setPixelSize(max(8, min(12, int(side / 7))))
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        self._paint_legend(painter)
        tone = self.tone()
        # founders ranked: the lines left get hues as far apart as their number allows
        kept = [] if self.founders is None else list(np.unique(self.founders))
        hues = max(len(kept), 1)
        for j, (tile, w) in enumerate(zip(self.tiles, self.weights, strict=True)):
            target, label = rects[j]
            painter.setOpacity(0.3 + 0.7 * (w / top if top > 0 else 1.0))
            painter.drawImage(target, tile)
            painter.setOpacity(1.0)
            bar = max(2.0, min(3.0, side / 10))
            # the weight on a log scale: full at the best, empty 30 nats below it
            share = 1.0 - float(self.log_weights[j]) / LOG_FLOOR
            painter.fillRect(QRectF(target.x(), target.bottom() - bar,
                                    max(target.width() * share, 1.0), bar),
                             QColor(WEIGHT_BAR[tone]))
            if self.founders is not None:
                painter.fillRect(QRectF(target.x(), target.y(), target.width(), bar),
                                 pg.intColor(kept.index(self.founders[j]), hues=hues))
            if j == heaviest or j == self.selected:
                colour = SELECTED[tone] if j == self.selected else HEAVIEST[tone]
                painter.setPen(QPen(QColor(colour), 3 if j == self.selected else 2))
                painter.drawRect(target)
            if self.branches is not None and side >= 24:
                self._paint_tag(painter, QRectF(target.x() + 1, target.y() + bar + 1, 14, 14),
                                int(self.branches[j]))
            text = self.label_of(j, label, metrics) if label.height() > 0 else ""
            if text:
                painter.setPen(self.foreground)
                painter.drawText(label, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()

    def _paint_tag(self, painter: QPainter, rect: QRectF, k: int) -> None:
        """Branch k's tag: its letter on its colour."""
        painter.fillRect(rect, QColor(branch_colour(k)))
        painter.setPen(QColor(16, 16, 20))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, branch_letter(k))

    def _paint_legend(self, painter: QPainter) -> float:
        """The branches' tags and texts above the tiles; where the tiles start."""
        for k, name in enumerate(self.branch_names):
            y = 2 + k * LEGEND_LINE
            self._paint_tag(painter, QRectF(4, y, 12, 12), k)
            painter.setPen(self.foreground)
            painter.drawText(QRectF(22, y - 1, self.width() - 26, LEGEND_LINE),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"{name}  ({int(np.sum(self.branches == k))} particles)")
        return float(self.legend_height())


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    height, width, _ = rgb.shape
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
