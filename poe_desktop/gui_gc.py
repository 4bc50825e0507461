"""Garbage collection on the GUI thread only, while the app's own process runs.

Python's cyclic collector runs in whichever thread happens to allocate. When that is
a worker thread (the sampler, the video encoder) and the garbage holds Qt or OpenGL
objects, they are destroyed off the GUI thread and the process can crash (seen here:
an abort while the encoder thread was collecting). So while the app runs, automatic
collection is off and the GUI thread collects, from a timer or between rendered frames.

Only the app's own entry points (`poe-desktop`, `poe-desktop record`) do this, around
their event loop: switching the collector off is a choice for a whole process, which a
host embedding `MainWindow` (a notebook, a napari plugin) makes for itself.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 300
FULL_EVERY_S = 30.0  # full collections walk every object: keep them rare, as gc itself does
COLLECTOR_NAME = "guiThreadCollector"

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
        self.setObjectName(COLLECTOR_NAME)
        self.timer = QTimer(self, interval=INTERVAL_MS, timeout=collect_if_due)
        self.timer.start()


def installed_collector() -> GuiThreadCollector | None:
    app = QCoreApplication.instance()
    return None if app is None else app.findChild(GuiThreadCollector, COLLECTOR_NAME)


@contextmanager
def collected_on_gui_thread(app: QCoreApplication) -> Iterator[None]:
    """Within this block automatic collection is off and `app`'s thread collects (nested
    blocks share the outer one's collector). On leaving, the garbage left is collected
    here, on the GUI thread, and the collector is as it was before."""
    if installed_collector() is not None:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    collector = GuiThreadCollector(app)
    try:
        yield
    finally:
        collector.timer.stop()
        collector.setParent(None)
        collector.deleteLater()
        gc.collect()
        if was_enabled:
            gc.enable()
