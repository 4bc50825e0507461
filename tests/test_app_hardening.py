"""The app against hostile or broken input, long sessions, and one-command runs: a planted
settings file, missing weights in a scripted run, runs that must not leak, and a run
configuration that the window, its screenshot and the recorder all share."""

from __future__ import annotations

import gc
import weakref

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QCoreApplication

from poe_desktop import MainWindow
from poe_desktop.worker import SamplerWorker

pytestmark = pytest.mark.gui


# --------------------------------------------------------------------------- 3. memory


def live(cls) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), cls))


def test_runs_leave_no_workers_trails_or_steering_marks_behind(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.sampler_panel.apply({"particles": 2, "points": 32, "steps": 3, "langevin_steps": 0})
    lines_before = live(pg.InfiniteLine)
    workers = []
    for i in range(6):
        assert window.run(start_paused=True)
        worker = window.worker
        workers.append(weakref.ref(worker))
        window.experts_panel.toggles["x"].setChecked(i % 2 == 1)  # steering: a mark
        window.reward_panel.set_color(("red", "blue")[i % 2])  # and another
        with qtbot.waitSignal(window.runFinished, timeout=60_000):
            window.toggle_pause()
        del worker
    # The worker is deleted on its thread as the thread ends; nothing keeps its wrapper.
    qtbot.waitUntil(lambda: sum(ref() is not None for ref in workers) == 0, timeout=5_000)
    assert live(SamplerWorker) == 0
    # Only the last run's marks are alive: 2 steering changes x 2 plots.
    assert live(pg.InfiniteLine) - lines_before == 4
    window.reset()
    QCoreApplication.processEvents()
    assert live(pg.InfiniteLine) - lines_before == 0
    window.close()


def test_the_worker_frees_its_trail_history_when_the_run_ends(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.sampler_panel.apply({"particles": 2, "points": 32, "steps": 3, "langevin_steps": 0})
    assert window.run(start_paused=True)
    worker = window.worker
    with qtbot.waitSignal(window.runFinished, timeout=60_000):
        window.toggle_pause()
    try:
        assert worker._history == []
    except RuntimeError:  # already deleted (C++ side): freed all the more
        pass
    window.close()


def test_clearing_the_plots_frees_their_steering_marks(qtbot):
    from poe_desktop.panels import StatsPanel

    panel = StatsPanel()
    qtbot.addWidget(panel)
    before = live(pg.InfiniteLine)
    for step in range(10):
        panel.mark_change(step, f"change {step}")
    assert live(pg.InfiniteLine) - before == 20
    panel.clear()
    assert live(pg.InfiniteLine) - before == 0
    assert all(not isinstance(item, pg.InfiniteLine)
               for plot in (panel.ess_plot, panel.fidelity_plot)
               for item in plot.getPlotItem().items)
