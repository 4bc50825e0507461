"""Small Qt helpers the app needs in several places: is there a display, QImage to numpy,
blocking a few widgets' signals for a moment, a screenshot of a window whose OpenGL
area is really in it, and messages that fit their room (text that wraps anywhere, a
widget scrolled into view)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject, QPoint, QRect, QTimer
from PySide6.QtGui import QAction, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import QScrollArea, QWidget

ZERO_WIDTH_SPACE = "\u200b"


def display_available() -> bool:
    """False on Linux/BSD when Qt would have no display server and no explicit platform."""
    if sys.platform in ("win32", "darwin"):
        return True
    env = os.environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def qimage_to_array(image: QImage, alpha: bool = False) -> NDArray[np.uint8]:
    """The image as an (H, W, 3) RGB array, or (H, W, 4) RGBA with `alpha`; rows top to
    bottom, a copy that outlives the image."""
    fmt, channels = ((QImage.Format.Format_RGBA8888, 4) if alpha
                     else (QImage.Format.Format_RGB888, 3))
    image = image.convertToFormat(fmt)
    height, width = image.height(), image.width()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(height, image.bytesPerLine())
    return rows[:, : width * channels].reshape(height, width, channels).copy()


@contextmanager
def signals_blocked(*objects: QObject) -> Iterator[None]:
    """Change these objects without their signals firing; each one's blocking is restored
    as it was."""
    before = [obj.blockSignals(True) for obj in objects]
    try:
        yield
    finally:
        for obj, was in zip(objects, before, strict=True):
            obj.blockSignals(was)


def set_checked_quietly(action, on: bool) -> None:
    """Check or uncheck a QAction (or a button) without its signals firing."""
    with signals_blocked(action):
        action.setChecked(on)


def grab_window(window: QWidget) -> QImage:
    """Screenshot ``window`` as a QImage, making sure its OpenGL views are really in it.

    ``QWidget.grab()`` normally includes QOpenGLWidget content, but some platform/driver
    combinations leave that area black. Then the view's own framebuffer is painted over it.
    """
    from PySide6.QtOpenGLWidgets import QOpenGLWidget

    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    dpr = image.devicePixelRatio()
    for view in window.findChildren(QOpenGLWidget):
        if not view.isVisible():
            continue
        logical = QRect(view.mapTo(window, QPoint(0, 0)), view.size())
        device = QRect(round(logical.x() * dpr), round(logical.y() * dpr),
                       round(logical.width() * dpr), round(logical.height() * dpr),
                       ).intersected(image.rect())
        if device.isEmpty():
            continue
        pixels = qimage_to_array(image.copy(device), alpha=True)
        if pixels[..., :3].max() > 2 and pixels[..., 3].max() > 0:
            continue  # grab() already shows rendered GL content
        frame = view.grabFramebuffer()
        frame.setDevicePixelRatio(dpr)
        painter = QPainter(image)
        painter.drawImage(logical.topLeft(), frame)
        painter.end()
    return image


def with_shortcut(tip: str, action: QAction) -> str:
    """`tip`, with the action's shortcut as this platform writes it."""
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    return f"{tip} ({keys})" if keys else tip


def hold_size(label, widest: str) -> None:
    """Fix `label`'s size to fit `widest`, for a label whose text changes at every step. A
    label free to grow or shrink asks its layout to run again in the next pass of the event
    loop, which repaints the window a second time: beside an OpenGL view that is a whole
    composition of the window (10-25 ms of both cores under software OpenGL)."""
    metrics = label.fontMetrics()
    margins = label.contentsMargins()
    label.setFixedSize(metrics.horizontalAdvance(widest) + 2 * label.margin() + margins.left()
                       + margins.right() + 6, label.sizeHint().height())


def breakable(text: str, every: int = 16) -> str:
    """`text` with a zero-width space after every `every` characters of a word longer than
    that: a word-wrapped label then wraps it too, where it would widen its panel instead."""
    words = text.split(" ")
    return " ".join(ZERO_WIDTH_SPACE.join(w[i:i + every] for i in range(0, len(w), every))
                    if len(w) > every else w for w in words)


def scroll_into_view(widget: QWidget) -> None:
    """Scroll the nearest scroll area that holds `widget` (a dock's panel, say) until the
    widget shows, once the layout has made room for it."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    if parent is not None:
        area = parent
        QTimer.singleShot(0, area, lambda: area.ensureWidgetVisible(widget, 0, 4))
