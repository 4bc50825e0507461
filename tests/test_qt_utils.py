"""The Qt helpers: display detection, QImage to numpy, blocking signals."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QImage

from poe_desktop import qt_utils
from poe_desktop.qt_utils import display_available, qimage_to_array, signals_blocked


def test_qimage_to_array_crops_the_row_padding():
    image = QImage(5, 3, QImage.Format.Format_RGB32)  # 5 * 3 bytes of RGB888 pad to 16 a row
    image.fill(QColor(10, 20, 30))
    image.setPixelColor(4, 2, QColor(200, 100, 50))
    rgb = qimage_to_array(image)
    assert rgb.shape == (3, 5, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [10, 20, 30] and rgb[2, 4].tolist() == [200, 100, 50]
    rgba = qimage_to_array(image, alpha=True)
    assert rgba.shape == (3, 5, 4) and rgba[2, 4].tolist() == [200, 100, 50, 255]
    rgb[...] = 0  # a copy: the image is untouched
    assert image.pixelColor(4, 2) == QColor(200, 100, 50)


class Sender(QObject):
    said = Signal(int)


def test_signals_blocked_restores_each_objects_blocking():
    a, b = Sender(), Sender()
    heard = []
    a.said.connect(heard.append)
    b.said.connect(heard.append)
    b.blockSignals(True)
    with signals_blocked(a, b):
        a.said.emit(1)
        with signals_blocked(a):
            a.said.emit(2)
        a.said.emit(3)
    a.said.emit(4)
    b.said.emit(5)  # was blocked before: still is
    assert heard == [4]
    assert not a.signalsBlocked() and b.signalsBlocked()


@pytest.mark.skipif(qt_utils.sys.platform in ("win32", "darwin"), reason="always a display")
def test_display_available_reads_the_environment(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert not display_available()
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert display_available()
