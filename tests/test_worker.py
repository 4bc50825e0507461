"""The generic streaming worker on its own: any iterator on a QThread, its yields as
signals, its exception as a signal, pause, single step, pause-after-k, pace and stop."""

import threading
import time

import pytest

from poe_desktop.run.worker import StreamWorker, end_thread, start_on_thread

pytestmark = pytest.mark.gui  # a Qt event loop (pytest-qt's QApplication)


class Run:
    """A worker on its thread, with what it signalled."""

    def __init__(self, qtbot, source, pace=None, paused=False, pause_after=None):
        self.items, self.paused_at, self.errors, self.ends = [], [], [], []
        self.worker = StreamWorker(source, pace)
        self.worker.yielded.connect(self.items.append)
        self.worker.pausedAt.connect(self.paused_at.append)
        self.worker.errored.connect(self.errors.append)
        self.worker.finished.connect(self.ends.append)
        if paused:
            self.worker.pause()
        self.worker.pause_after(pause_after)
        self.qtbot = qtbot
        self.thread = start_on_thread(self.worker)
        RUNS.append(self)

    def wait_end(self):
        self.qtbot.waitUntil(lambda: bool(self.ends or self.errors), timeout=10_000)
        end_thread(self.thread)
        RUNS.remove(self)

    def close(self):
        """Whatever a test left running ends here."""
        self.worker.stop()
        end_thread(self.thread)


RUNS: list[Run] = []


@pytest.fixture(autouse=True)
def _end_runs():
    yield
    while RUNS:
        RUNS.pop().close()


def endless():
    k = 0
    while True:
        yield k
        k += 1


def test_every_yield_becomes_a_signal_in_order_and_the_end_says_completed(qtbot):
    run = Run(qtbot, lambda: iter(range(5)))
    run.wait_end()
    assert run.items == [0, 1, 2, 3, 4] and run.ends == ["completed"] and not run.errors


def test_the_source_is_built_on_the_workers_thread(qtbot):
    where = []

    def source():
        where.append(threading.current_thread())
        return iter([1])

    run = Run(qtbot, source)
    run.wait_end()
    assert where and where[0] is not threading.main_thread()


def test_an_exception_becomes_a_signal_carrying_it_and_the_generator_is_closed(qtbot):
    closed = []

    def broken():
        try:
            yield 1
            raise KeyError("boom")
        finally:
            closed.append(True)

    run = Run(qtbot, broken)
    run.wait_end()
    assert run.items == [1] and run.ends == [] and closed == [True]
    assert isinstance(run.errors[0], KeyError) and "boom" in str(run.errors[0])


def test_pause_single_step_resume_and_stop(qtbot):
    closed = []

    def source():
        try:
            yield from endless()
        finally:
            closed.append(True)

    run = Run(qtbot, source, paused=True)
    assert run.worker.paused
    run.worker.step_once()
    qtbot.waitUntil(lambda: len(run.items) == 1, timeout=5_000)
    run.worker.step_once()
    qtbot.waitUntil(lambda: len(run.items) == 2, timeout=5_000)
    time.sleep(0.2)
    assert run.items == [0, 1], "a paused worker went on"
    run.worker.resume()
    qtbot.waitUntil(lambda: len(run.items) > 10, timeout=5_000)
    run.worker.stop()
    run.wait_end()
    assert run.ends == ["stopped"] and closed == [True]


def test_pause_after_k_pauses_right_after_the_kth_item(qtbot):
    run = Run(qtbot, endless, pause_after=4)
    qtbot.waitUntil(lambda: run.paused_at == [3], timeout=5_000)
    time.sleep(0.2)
    assert run.items == [0, 1, 2, 3] and run.worker.paused
    run.worker.stop()
    run.wait_end()
    assert run.ends == ["stopped"]


def test_a_pace_spaces_the_items_and_a_new_pace_applies_at_once(qtbot):
    run = Run(qtbot, lambda: iter(range(4)), pace=20.0)
    started = time.perf_counter()
    run.wait_end()
    assert run.items == [0, 1, 2, 3]
    assert time.perf_counter() - started >= 3 / 20 * 0.9
    slow = Run(qtbot, endless, pace=0.2)  # one item every 5 s
    qtbot.waitUntil(lambda: len(slow.items) == 1, timeout=5_000)
    slow.worker.set_pace(None)  # wakes the wait
    qtbot.waitUntil(lambda: len(slow.items) > 3, timeout=5_000)
    slow.worker.stop()
    slow.wait_end()
