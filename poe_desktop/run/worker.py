"""A generic streaming worker: runs any iterator on a QThread, in the manner of superqt's
`GeneratorWorker` and napari's `thread_worker`.

Each item the iterator yields becomes a `yielded` signal; an exception it raises
becomes an `errored` signal carrying the exception; its end a `finished` signal
("completed", or "stopped" when `stop` ended it early). The GUI controls it through
thread-safe calls that flip state under a condition variable, checked between items:
`pause`, `resume`, `step_once` (one item while paused), `stop`, `pause_after` (pause
once the k-th item is out) and `set_pace` (at most so many items a second). The
worker never touches a widget; what it yields must not be a Qt or GL object.

    worker = StreamWorker(lambda: iter(range(3)))
    thread = start_on_thread(worker, parent)  # the worker now lives on `thread`
    worker.yielded.connect(print)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..model.pacing import Pace


class StreamWorker(QObject):
    yielded = Signal(object)  # an item of the iterator
    finished = Signal(str)  # "completed" | "stopped"
    errored = Signal(object)  # the exception the iterator raised
    pausedAt = Signal(int)  # 0-based index of the item after which `pause_after` paused

    def __init__(self, source: Callable[[], Iterable] | Iterable,
                 pace: float | None = None) -> None:
        """`source`: an iterable, or a callable returning one (called on the worker's
        thread, so that even building the iterator is off the GUI thread)."""
        super().__init__()
        self._source = source
        self._stop = threading.Event()
        self._go = threading.Event()  # set while running freely
        self._go.set()
        self._steps_allowed = 0  # single steps granted while paused
        self._pause_after: int | None = None  # pause once this item (1-based) is out
        self._lock = threading.Condition()
        self._pace = Pace(pace)

    # ---- called from any thread (the GUI's) -------------------------------------------
    def pause(self) -> None:
        with self._lock:
            self._go.clear()

    def resume(self) -> None:
        with self._lock:
            self._go.set()
            self._lock.notify_all()

    def step_once(self) -> None:
        with self._lock:
            self._steps_allowed += 1
            self._lock.notify_all()

    def pause_after(self, count: int | None) -> None:
        """Pause right after item `count` (1-based) is yielded, before the next one is
        computed, as if `pause` had been called then (None: no such request). Set it
        before the worker starts to catch an exact item; a shorter stream just completes."""
        with self._lock:
            self._pause_after = count

    def set_pace(self, per_second: float | None) -> None:
        """At most this many items a second from the next one on (None: no limit)."""
        with self._lock:
            self._pace.steps_per_second = per_second
            self._lock.notify_all()

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            self._lock.notify_all()

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    # ---- runs on the worker's thread --------------------------------------------------
    def _wait_for_permission(self) -> bool:
        """Block while paused; False when the run must stop."""
        with self._lock:
            while not self._stop.is_set():
                if self._go.is_set():
                    return True
                if self._steps_allowed > 0:
                    self._steps_allowed -= 1
                    return True
                self._lock.wait(0.1)
        return False

    @Slot()
    def run(self) -> None:
        iterator = None
        try:
            source = self._source() if callable(self._source) else self._source
            iterator = iter(source)
            count = 0
            while self._wait_for_permission():
                started = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    self.finished.emit("completed")
                    return
                count += 1
                self.yielded.emit(item)
                self._pause_if_asked(count)
                self._wait_for_pace(started)
            self.finished.emit("stopped")
        except Exception as err:  # the app must stay up whatever the iterator raises
            self.errored.emit(err)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:  # a generator's `finally` runs now, on this thread
                close()

    def _wait_for_pace(self, started: float) -> None:
        with self._lock:
            delay = self._pace.delay(started, time.perf_counter())
            if delay > 0 and not self._stop.is_set():
                self._lock.wait(delay)  # stop, resume or a new pace wake it early

    def _pause_if_asked(self, count: int) -> None:
        with self._lock:
            due = self._pause_after is not None and count >= self._pause_after
            if due:
                self._pause_after = None
                self._go.clear()
        if due:
            self.pausedAt.emit(count - 1)


def start_on_thread(worker: StreamWorker, parent: QObject | None = None) -> QThread:
    """Move `worker` onto a new QThread (a child of `parent`) and start it there. The
    worker is deleted on that thread as the thread ends (a deleteLater() called after
    the thread stopped would never be carried out); end the thread with `end_thread`."""
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    thread.finished.connect(worker.deleteLater)
    thread.start()
    return thread


def end_thread(thread: QThread) -> None:
    """Let a thread of `start_on_thread` end (its worker must be done or stopped) and
    delete it, from the thread that made it."""
    thread.quit()
    thread.wait()
    thread.deleteLater()
