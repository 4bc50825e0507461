"""Garbage collection on the GUI thread only.

Python's cyclic collector runs in whichever thread happens to allocate. When that is
a worker thread (the sampler, the video encoder) and the garbage holds Qt or OpenGL
objects, they are destroyed off the GUI thread and the process can crash (seen here:
an abort while the encoder thread was collecting). So while the app runs, automatic
collection is off and the GUI thread collects, from a timer or between rendered frames.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 300
FULL_EVERY_S = 30.0  # full collections walk every object: keep them rare, as gc itself does

_last_full = [time.monotonic()]


def collect_if_due() -> None:
    """Collect the young generations when their counts pass the thresholds; the oldest
    one at most every FULL_EVERY_S seconds."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    if counts[2] > thresholds[2] and time.monotonic() - _last_full[0] > FULL_EVERY_S:
        gc.collect(2)
        _last_full[0] = time.monotonic()
    elif counts[1] > thresholds[1]:
        gc.collect(1)
    elif counts[0] > thresholds[0]:
        gc.collect(0)


class GuiThreadCollector(QObject):
    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.setObjectName("guiThreadCollector")
        gc.disable()
        self.timer = QTimer(self, interval=INTERVAL_MS, timeout=collect_if_due)
        self.timer.start()


def collect_on_gui_thread() -> None:
    """Install the collector on the running QApplication (once)."""
    app = QCoreApplication.instance()
    if app is not None and app.findChild(GuiThreadCollector, "guiThreadCollector") is None:
        GuiThreadCollector(app)
