"""Python's collector is switched to the GUI thread only by the app's own entry points,
for the time they run; a MainWindow built by a host (here: a test) leaves it alone."""

from __future__ import annotations

import gc

import pytest

from poe_desktop import MainWindow
from poe_desktop import app as desktop_app
from poe_desktop.gui_gc import collected_on_gui_thread, installed_collector
from poe_desktop.record import command as record_cli

pytestmark = pytest.mark.gui


def test_constructing_a_main_window_leaves_the_collector_alone(qtbot):
    assert gc.isenabled()
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert gc.isenabled() and installed_collector() is None
    window.close()
    assert gc.isenabled()


def test_the_block_nests_and_restores_the_collector(qapp):
    with collected_on_gui_thread(qapp):
        collector = installed_collector()
        assert not gc.isenabled() and collector is not None and collector.timer.isActive()
        with collected_on_gui_thread(qapp):
            assert installed_collector() is collector
        assert not gc.isenabled() and installed_collector() is collector
    assert gc.isenabled() and installed_collector() is None
    gc.disable()  # a host that keeps it off gets it back off
    try:
        with collected_on_gui_thread(qapp):
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_app_entry_point_collects_on_the_gui_thread_while_it_runs(qtbot, tmp_path,
                                                                      monkeypatch):
    seen = []
    original = MainWindow.save_screenshot

    def save(self, path):
        seen.append((gc.isenabled(), installed_collector() is not None))
        return original(self, path)

    monkeypatch.setattr(MainWindow, "save_screenshot", save)
    assert desktop_app.main(["--screenshot", str(tmp_path / "shot.png")]) == 0
    assert seen == [(False, True)]
    assert gc.isenabled() and installed_collector() is None


def test_poe_desktop_record_collects_on_the_gui_thread_while_it_runs(qapp, tmp_path,
                                                                     monkeypatch):
    seen = []

    def record(args, panels):
        seen.append((gc.isenabled(), installed_collector() is not None))
        return args.out

    monkeypatch.setattr(record_cli, "run_panels", lambda *a, **k: [])
    monkeypatch.setattr(record_cli, "record", record)
    assert record_cli.main(["--steps", "2", "--out", str(tmp_path / "run.mp4")]) == 0
    assert seen == [(False, True)]
    assert gc.isenabled() and installed_collector() is None
