"""Garbage collection on the GUI thread only.

Python's cyclic collector runs in whichever thread happens to allocate. When that is
a worker thread (the sampler, the video encoder) and the garbage holds Qt or OpenGL
objects, they are destroyed off the GUI thread and the process can crash (seen here:
an abort while the encoder thread was collecting). So while the app runs, automatic
collection is off and the GUI thread collects, from a timer or between rendered frames.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 300


def collect_if_due() -> None:
    """Collect the generation whose allocation count passed its threshold (as gc would)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return


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
