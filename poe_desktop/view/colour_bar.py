"""The colour bar: a small overlay in the 3-D view's top-right corner that shows the
colormap the points are coloured by, what it measures and the values at its ends. Hidden
while the points show their own colours. Its box and text follow the theme (`set_theme`)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QWidget

from ..model.colour_by import MODES, Colouring, viridis

MARGIN = 10  # from the view's edges
GRADIENT_STOPS = 32
# the dark theme's box and text, until the window's theme says otherwise (set_theme)
BOX_RGBA = (12, 12, 16, 190)
TEXT_RGB = (225, 225, 232)


def value_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


class ColourBar(QWidget):
    """Follows its parent's (the view's) size; `show_colouring` sets what it says."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("colourBar")
        self.setToolTip("The colours of the points: what they measure, and the values at "
                        "the ends of the map (View toolbar: Colour by)")
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.title, self.low, self.high = "", None, None
        self.box, self.text = QColor(*BOX_RGBA), QColor(*TEXT_RGB)
        self.setFixedSize(128, 176)
        parent.installEventFilter(self)
        self.hide()
        self._place()

    def show_colouring(self, colouring: Colouring) -> None:
        """Show the range of `colouring` (hidden for the points' own colours)."""
        if colouring.mode == "own":
            self.hide()
            return
        self.title = MODES.get(colouring.mode, colouring.mode)
        self.low, self.high = colouring.low, colouring.high
        self._place()
        self.show()
        self.raise_()
        self.update()

    def set_theme(self, background, foreground) -> None:
        """The box's colour (over the view: translucent if `background` has an alpha) and
        the text's; anything QColor takes (a name, an (r, g, b[, a]) tuple)."""
        self.box, self.text = _color(background), _color(foreground)
        self.update()

    def labels(self) -> tuple[str, str, str]:
        """The title and the texts at the top (high) and the bottom (low) of the map."""
        return self.title, value_text(self.high), value_text(self.low)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        parent = self.parentWidget()
        self.move(max(0, parent.width() - self.width() - MARGIN), MARGIN)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        title, high, low = self.labels()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.box)
        painter.drawRoundedRect(QRectF(self.rect()), 6, 6)
        line = painter.fontMetrics().height()
        bar = QRectF(10, 12 + line, 16, self.height() - 24 - line)
        gradient = QLinearGradient(bar.bottomLeft(), bar.topLeft())  # low at the bottom
        for u, rgb in zip(np.linspace(0, 1, GRADIENT_STOPS),
                          viridis(np.linspace(0, 1, GRADIENT_STOPS)), strict=True):
            gradient.setColorAt(float(u), QColor.fromRgbF(*map(float, rgb)))
        painter.setBrush(gradient)
        painter.drawRect(bar)
        painter.setPen(self.text)
        painter.drawText(QRectF(8, 6, self.width() - 12, line), Qt.AlignmentFlag.AlignLeft,
                         title)
        text_x = bar.right() + 8
        painter.drawText(QRectF(text_x, bar.top() - 2, self.width() - text_x - 4, line),
                         Qt.AlignmentFlag.AlignLeft, high)
        painter.drawText(QRectF(text_x, bar.bottom() - line + 2, self.width() - text_x - 4,
                                line), Qt.AlignmentFlag.AlignLeft, low)
        painter.end()


def _color(value) -> QColor:
    return QColor(*value) if isinstance(value, (tuple, list)) else QColor(value)
