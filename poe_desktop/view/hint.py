"""The hint an empty 3-D view shows at first launch (`viewHint`): how to start a run and
move the camera. It goes away at the first run (or a file's frames) and comes back when
Reset leaves the view empty.

A child widget painted over the view, in the view's own colours (dark or light theme),
centred, and transparent to the mouse: a drag on it still orbits the camera.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QWidget

HINT_TEXT = ("Run (F5) to start sampling\n"
             "Drag to orbit · wheel to zoom · middle-drag to pan\n"
             "1 / 2 / 3 / 0: look along x, y, z or isometrically")
MAX_WIDTH = 460
PADDING = 14
FLAGS = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap


class ViewHint(QWidget):
    """The hint over `view` (a GLViewWidget: its `opts['bgcolor']` is the background)."""

    def __init__(self, view: QWidget, text: str = HINT_TEXT) -> None:
        super().__init__(view)
        self.setObjectName("viewHint")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._text = text
        self.setToolTip(text)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.setFont(font)
        view.installEventFilter(self)
        self.place()

    def text(self) -> str:
        return self._text

    def colours(self) -> tuple[QColor, QColor]:
        """(text, box): light on a dark view, dark on a light one."""
        bg = self.parentWidget().opts["bgcolor"]
        r, g, b = (float(c) for c in bg[:3])
        scale = 255.0 if max(r, g, b) <= 1.0 else 1.0
        dark = (0.299 * r + 0.587 * g + 0.114 * b) * scale < 128
        if dark:
            return QColor(225, 225, 232), QColor(255, 255, 255, 22)
        return QColor(40, 40, 48), QColor(0, 0, 0, 18)

    def place(self) -> None:
        """Centred in the view, as wide as the text needs (at most MAX_WIDTH)."""
        view = self.parentWidget()
        width = max(120, min(MAX_WIDTH, view.width() - 2 * PADDING))
        text_rect = self.fontMetrics().boundingRect(
            QRect(0, 0, width - 2 * PADDING, 10_000), int(FLAGS), self._text)
        height = text_rect.height() + 2 * PADDING
        self.setGeometry((view.width() - width) // 2, (view.height() - height) // 2,
                         width, height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's)
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.place()
        return False

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        text, box = self.colours()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(box)
        painter.drawRoundedRect(QRectF(self.rect()), 8, 8)
        painter.setPen(text)
        painter.drawText(self.rect().adjusted(PADDING, PADDING, -PADDING, -PADDING),
                         int(FLAGS), self._text)
        painter.end()
