"""The Population panel: every particle of the shown step at once, each with its weight.

One tile a particle, drawn from the 3-D view's camera angle (`population.render_cloud`),
faded by its weight (the heaviest fully opaque), with its index, its normalised weight and
a bar of it; the heaviest particle (the one the 3-D view shows) is outlined. Tiles are
drawn only while the panel is visible and at most a few times a second, so that the
sampler never waits on them (at most twice a second). The panel, its tiles and its text
follow the window's theme (`set_theme`).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..model.population import BACKGROUND, normalised_weights, render_cloud
from ..view.gl_points import rim_strength, rim_tone

TILE_PIXELS = 112  # each tile's picture; it is scaled to the space the panel has
MIN_INTERVAL_S = 0.5  # tiles are redrawn at most twice a second, as the plots are
LABEL_HEIGHT = 16
# accents that read on a dark panel, and their darker shades for a light one
WEIGHT_BAR = {"dark": "#9be08a", "light": "#3f8f2f"}
HEAVIEST = {"dark": "#ffb74a", "light": "#c06a00"}


class PopulationPanel(QWidget):
    """`show_frame(frame)` with anything that has `particles` ((L, N, 6) or None),
    `log_weights` (L,) and `index`; the tiles follow at the next redraw."""

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
        self.weights = np.zeros(0)
        self.renders = 0  # how many times the tiles were rendered (tests count them)
        self._rendered_at = -math.inf
        self._timer = QTimer(self, singleShot=True, timeout=self._render_pending)
        self.background, self.foreground = QColor(16, 16, 20), QColor(200, 200, 210)
        self.tile_background = QColor(*BACKGROUND)

    def set_theme(self, background, foreground, tile_background=None) -> None:
        """The panel's colour, its text's and the tiles' (the 3-D view's background, say;
        `background` if not given): names, (r, g, b) tuples or QColors. The tiles are drawn
        again."""
        self.background, self.foreground = pg.mkColor(background), pg.mkColor(foreground)
        self.tile_background = pg.mkColor(tile_background if tile_background is not None
                                          else background)
        self.drawn = None  # the tiles' background changed: render them again
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
        if wait <= 0:
            self._render_pending()
        elif not self._timer.isActive():
            self._timer.start(int(wait * 1000) + 1)

    def clear(self) -> None:
        self._timer.stop()
        self.frame = self.drawn = None
        self.tiles, self.weights = [], np.zeros(0)
        self.update()

    def _render_pending(self) -> None:
        if not self.isVisible() or self.frame is self.drawn:
            return  # hidden: rendered when shown (showEvent)
        frame = self.frame
        particles = getattr(frame, "particles", None)
        self.tiles = [] if particles is None else [self._tile(c) for c in particles]
        self.weights = normalised_weights(frame.log_weights) if self.tiles else np.zeros(0)
        self.drawn, self._rendered_at = frame, time.monotonic()
        self.renders += 1
        self.update()

    def _tile(self, cloud: np.ndarray) -> QImage:
        """One particle's tile on the tiles' background; a point whose colour is close to
        its lightness gets an outline (the 3-D view's rim), never another colour."""
        ground = np.array(self.tile_background.getRgb()[:3], dtype=np.float64)
        outline = rim_strength(np.asarray(cloud)[:, 3:6], ground / 255.0)
        return _qimage(render_cloud(cloud, TILE_PIXELS, background=ground, outline=outline,
                                    outline_rgb=255.0 * np.array(rim_tone(ground / 255.0))))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        QTimer.singleShot(0, self._render_pending)

    def grid(self) -> tuple[int, int, float]:
        """Columns, rows and the tile side that fill the panel best."""
        count = max(len(self.tiles), 1)
        best = (1, count, 0.0)
        for cols in range(1, count + 1):
            rows = math.ceil(count / cols)
            side = min(self.width() / cols, self.height() / rows - LABEL_HEIGHT)
            if side > best[2]:
                best = (cols, rows, side)
        return best

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.background)
        painter.setPen(self.foreground)
        if not self.tiles:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "every particle of the shown step\nappears here during a run")
            return
        cols, _, side = self.grid()
        side = max(side, 8.0)
        heaviest = int(np.argmax(self.weights))
        top = float(self.weights[heaviest])
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        font = painter.font()
        font.setPixelSize(max(8, min(12, int(side / 7))))
        painter.setFont(font)
        for j, (tile, w) in enumerate(zip(self.tiles, self.weights, strict=True)):
            x = (j % cols) * (self.width() / cols)
            y = (j // cols) * (side + LABEL_HEIGHT)
            target = QRectF(x + 2, y + 2, side - 4, side - 4)
            painter.setOpacity(0.2 + 0.8 * (w / top if top > 0 else 1.0))
            painter.drawImage(target, tile)
            painter.setOpacity(1.0)
            painter.fillRect(QRectF(x + 2, y + side - 1, (side - 4) * w, 3),
                             QColor(WEIGHT_BAR[self.tone()]))
            if j == heaviest:
                painter.setPen(QPen(QColor(HEAVIEST[self.tone()]), 2))
                painter.drawRect(target)
            painter.setPen(self.foreground)
            painter.drawText(QRectF(x + 2, y + side + 1, side - 4, LABEL_HEIGHT - 2),
                             Qt.AlignmentFlag.AlignCenter, f"{j}: {w:.2f}")
        painter.end()


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    height, width, _ = rgb.shape
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
