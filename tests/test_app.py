"""The desktop app, driven as a user would: through the widgets' objectNames."""

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
)

from poe_desktop import MainWindow
from poe_engine.evaluation import PRODUCT_BARS, SINGLE_EXPERT_MIN_OFF_SPHERE
from poe_engine.metrics import fidelity
from poe_engine.samplers import SamplerSettings

pytestmark = pytest.mark.gui
RUN_TIMEOUT_MS = 180_000


def frame_pixels_summary(pixels: np.ndarray, background=(20, 20, 24)) -> dict:
    """The drawn (non-background) pixels of a view grab: how many, and their mean colour."""
    rgb = pixels[..., :3].astype(np.int32)
    drawn = np.abs(rgb - np.array(background)).sum(axis=-1) > 60
    mean = rgb[drawn].mean(axis=0) if drawn.any() else np.zeros(3)
    return {"drawn": int(drawn.sum()), "mean_rgb": tuple(float(c) for c in mean)}


def click(qtbot, window, cls, name):
    widget = window.findChild(cls, name)
    assert widget is not None, f"no {cls.__name__} named {name}"
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    return widget


def set_spin(window, name, value):
    window.findChild(QSpinBox, name).setValue(value)


def shown_cloud(window):
    """What the view's scatter item holds: positions and colours."""
    pos = np.asarray(window.view3d.scatter.pos)
    color = np.asarray(window.view3d.scatter.color)
    return np.hstack([pos, color[:, :3]])


def run_to_end(qtbot, window):
    with qtbot.waitSignal(window.runFinished, timeout=RUN_TIMEOUT_MS) as blocker:
        click(qtbot, window, QToolButton, "runButton")
    return blocker.args[0]


def test_green_run_assembles_a_green_sphere(qtbot, window):
    click(qtbot, window, QPushButton, "rewardColor_green")
    set_spin(window, "seedSpin", 1)
    assert run_to_end(qtbot, window) == "completed"
    assert len(window.frames) == SamplerSettings().steps
    cloud = shown_cloud(window)
    assert cloud.shape == (512, 6)
    fid = fidelity(torch.from_numpy(cloud).float())
    assert fid.radial_error <= PRODUCT_BARS["radial_error"]
    assert fid.off_sphere <= PRODUCT_BARS["off_sphere"]
    assert fid.chamfer <= PRODUCT_BARS["chamfer"]
    r, g, b = fid.mean_color
    assert g > r and g > b
    qtbot.wait(100)
    drawn = frame_pixels_summary(window.view3d.view_pixels())
    assert drawn["drawn"] > 2000
    pr, pg_, pb = drawn["mean_rgb"]
    assert pg_ > pr and pg_ > pb, drawn


def test_without_the_x_expert_the_saturn_ring_artifact_shows(qtbot, window):
    click(qtbot, window, QCheckBox, "expertToggle_x")
    assert not window.findChild(QCheckBox, "expertToggle_x").isChecked()
    set_spin(window, "stepsSpin", 32)
    set_spin(window, "particlesSpin", 4)
    assert run_to_end(qtbot, window) == "completed"
    fid = fidelity(torch.from_numpy(shown_cloud(window)).float())
    assert fid.off_sphere >= SINGLE_EXPERT_MIN_OFF_SPHERE
    assert window.frames[-1].experts == ("y", "z", "color")


def test_changing_the_reward_colour_mid_run_steers_the_result(qtbot, window):
    set_spin(window, "seedSpin", 0)  # red wins from the start with this seed
    click(qtbot, window, QPushButton, "rewardColor_red")
    # paced, so that the change lands mid-run however fast a (short) default run goes
    window.sampler_panel.pace.setCurrentText("10 steps/s")
    click(qtbot, window, QToolButton, "runButton")
    qtbot.waitUntil(lambda: len(window.frames) >= 8, timeout=60_000)
    red_so_far = window.frames[-1].cloud[:, 3:].mean(axis=0)
    assert red_so_far[0] > red_so_far[2]
    with qtbot.waitSignal(window.runFinished, timeout=RUN_TIMEOUT_MS):
        click(qtbot, window, QPushButton, "rewardColor_blue")
    assert window.frames[-1].reward == "blue"
    assert window.frames[0].reward == "red"
    r, g, b = shown_cloud(window)[:, 3:].mean(axis=0)
    assert b > r and b > g, (r, g, b)


def test_pause_step_resume_and_stop(qtbot, window):
    set_spin(window, "stepsSpin", 200)
    set_spin(window, "particlesSpin", 2)
    set_spin(window, "pointsSpin", 128)
    click(qtbot, window, QToolButton, "runButton")
    qtbot.waitUntil(lambda: len(window.frames) >= 3, timeout=30_000)
    click(qtbot, window, QToolButton, "pauseButton")
    assert window.worker.paused
    qtbot.wait(300)  # let the step in flight land
    held = len(window.frames)
    qtbot.wait(600)
    assert len(window.frames) == held, "a paused run kept stepping"
    click(qtbot, window, QToolButton, "stepButton")
    qtbot.waitUntil(lambda: len(window.frames) == held + 1, timeout=10_000)
    qtbot.wait(300)
    assert len(window.frames) == held + 1, "Step advanced more than one step"
    click(qtbot, window, QToolButton, "pauseButton")  # resume
    qtbot.waitUntil(lambda: len(window.frames) >= held + 4, timeout=30_000)
    with qtbot.waitSignal(window.runFinished, timeout=10_000) as blocker:
        click(qtbot, window, QToolButton, "stopButton")
    assert blocker.args == ["stopped"]
    assert len(window.frames) < 200
    assert window.findChild(QToolButton, "runButton").isEnabled()


def test_closing_during_a_run_stops_the_thread_cleanly(qtbot, capfd):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    click(qtbot, window, QToolButton, "runButton")
    qtbot.waitUntil(lambda: len(window.frames) >= 2, timeout=30_000)
    thread = window.session.thread
    assert thread is not None and thread.isRunning()
    window.close()
    assert window.session.thread is None and not thread.isRunning()
    assert "Destroyed while thread" not in capfd.readouterr().err


def test_scrubbing_the_timeline_shows_that_steps_cloud(qtbot, window):
    set_spin(window, "stepsSpin", 16)
    set_spin(window, "particlesSpin", 2)
    run_to_end(qtbot, window)
    slider = window.findChild(QSlider, "timelineSlider")
    assert slider.maximum() == 15 and slider.value() == 15
    slider.setValue(4)
    assert window.shown_frame().index == 4
    assert np.allclose(shown_cloud(window)[:, :3], window.frames[4].cloud[:, :3])
    assert not np.allclose(window.frames[4].cloud, window.frames[15].cloud)
    slider.setValue(15)
    assert np.allclose(shown_cloud(window)[:, :3], window.frames[15].cloud[:, :3])


def test_missing_weights_give_a_message_and_the_app_stays_usable(qtbot, tmp_path):
    window = MainWindow(weights_dir=tmp_path)
    qtbot.addWidget(window)
    window.show()
    click(qtbot, window, QToolButton, "runButton")
    assert window.error_dialog is not None and window.error_dialog.isVisible()
    assert "manifest not found" in window.error_dialog.text()
    assert "poe-engine train" in window.error_dialog.text()
    assert not window.running and window.findChild(QToolButton, "runButton").isEnabled()
    window.error_dialog.close()


def test_problems_reported_while_the_dialog_is_open_join_it_instead_of_piling_up(
        qtbot, window):
    from PySide6.QtWidgets import QMessageBox

    for n in range(3):
        window.session.problem.emit(f"Problem {n}", f"what went wrong, number {n}")
    dialogs = [b for b in window.findChildren(QMessageBox, "errorDialog") if b.isVisible()]
    assert dialogs == [window.error_dialog]
    box = window.error_dialog
    assert box.windowTitle() == "Problem 2" and box.text() == "what went wrong, number 2"
    assert "2 earlier problems" in box.informativeText()
    details = box.detailedText()
    assert details.index("number 1") < details.index("number 0")  # newest first
    assert window.last_error == "Problem 2: what went wrong, number 2"
    box.close()
    window.session.problem.emit("Later", "a problem after the dialog was closed")
    assert window.error_dialog is not box and window.error_dialog.detailedText() == ""
    window.error_dialog.close()


def test_a_run_that_produces_nan_ends_with_a_message(qtbot, window, monkeypatch):
    from poe_engine.experts import MonochromeColorExpert

    healthy = MonochromeColorExpert.velocity
    monkeypatch.setattr(MonochromeColorExpert, "velocity",
                        lambda self, cloud, t: torch.full_like(cloud[..., 3:], float("nan")))
    with qtbot.waitSignal(window.runFinished, timeout=30_000) as blocker:
        click(qtbot, window, QToolButton, "runButton")
    assert blocker.args == ["failed"]
    assert "non-finite values" in window.error_dialog.text()
    assert "non-finite" in window.statusBar().currentMessage()
    window.error_dialog.close()
    monkeypatch.setattr(MonochromeColorExpert, "velocity", healthy)
    set_spin(window, "stepsSpin", 8)
    assert run_to_end(qtbot, window) == "completed"  # usable again


def test_sampler_settings_persist_and_a_corrupt_store_falls_back(qtbot, tmp_path, monkeypatch):
    first = MainWindow()
    qtbot.addWidget(first)
    set_spin(first, "seedSpin", 42)
    set_spin(first, "stepsSpin", 64)
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.findChild(QSpinBox, "seedSpin").value() == 42
    assert second.findChild(QSpinBox, "stepsSpin").value() == 64
    second.close()

    corrupt = tmp_path / "corrupt.ini"
    corrupt.write_bytes(b"[General]\nsampler=\"{not json\ngeometry=@ByteArray(\\x1\\xff)\n\x00\xff")
    monkeypatch.setenv("POE_DESKTOP_SETTINGS", str(corrupt))
    third = MainWindow()
    qtbot.addWidget(third)
    assert third.findChild(QSpinBox, "stepsSpin").value() == SamplerSettings().steps
    assert third.findChild(QSpinBox, "seedSpin").value() == 0
    third.close()


def test_the_app_process_closes_mid_run_with_exit_code_0(tmp_path):
    """`poe-desktop --autorun --screenshot` pauses at a step, saves the window, and closes
    while the sampler thread is still alive: a clean exit, and the picture is written."""
    import os
    import subprocess
    import sys

    shot = tmp_path / "mid-run.png"
    env = dict(os.environ, POE_DESKTOP_SETTINGS=str(tmp_path / "s.ini"))
    done = subprocess.run(
        [sys.executable, "-m", "poe_desktop", "--autorun", "--screenshot", str(shot),
         "--screenshot-step", "3"],
        capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "Destroyed while thread" not in done.stderr
    assert shot.stat().st_size > 10_000
    assert done.stdout.strip() == str(shot)


def test_custom_reward_colour_comes_from_the_colour_dialog(qtbot, window, monkeypatch):
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QColorDialog

    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor("#ff8000")))
    custom = click(qtbot, window, QPushButton, "rewardColor_custom")
    assert custom.isChecked() and "#ff8000" in custom.text()
    assert window.reward_panel.color == "#ff8000"
    set_spin(window, "stepsSpin", 8)
    set_spin(window, "particlesSpin", 2)
    run_to_end(qtbot, window)
    assert window.frames[-1].reward == "#ff8000"
    # a cancelled dialog keeps the colour we had
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor()))
    click(qtbot, window, QPushButton, "rewardColor_custom")
    assert window.reward_panel.color == "#ff8000"


def test_space_toggles_pause_during_a_run(qtbot, window):
    set_spin(window, "stepsSpin", 300)
    set_spin(window, "particlesSpin", 2)
    set_spin(window, "pointsSpin", 64)
    click(qtbot, window, QToolButton, "runButton")
    qtbot.waitUntil(lambda: len(window.frames) >= 2, timeout=30_000)
    window.activateWindow()  # window shortcuts need the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.view3d.setFocus()
    qtbot.keyClick(window.view3d, Qt.Key.Key_Space)
    assert window.worker.paused
    assert window.findChild(QToolButton, "pauseButton").isChecked()
    qtbot.keyClick(window.view3d, Qt.Key.Key_Space)
    assert not window.worker.paused
    with qtbot.waitSignal(window.runFinished, timeout=10_000):
        click(qtbot, window, QToolButton, "stopButton")


def test_trails_follow_the_shown_particles_own_ancestry(qtbot, window):
    """A trail ends where the shown cloud is, and each of its steps is the same particle's
    earlier position (through resampling), not another particle's."""
    window.trails_action.setChecked(True)
    set_spin(window, "stepsSpin", 20)
    set_spin(window, "particlesSpin", 4)
    set_spin(window, "pointsSpin", 64)
    run_to_end(qtbot, window)
    assert any(f.resampled for f in window.frames)
    for frame in window.frames[8:]:
        assert frame.trail.shape == (8, 64, 3)
        assert np.allclose(frame.trail[-1], frame.cloud[:, :3])
    drawn = np.asarray(window.view3d.trails.pos)
    assert drawn.shape == (7 * 64 * 2, 3)


def test_the_population_plots_and_tiles_fill_during_a_run(qtbot, window):
    """The statistics' Particles and Genealogy tabs and the Population panel show a small
    run: a curve point a step, the ancestry's segments, one tile a particle."""
    set_spin(window, "stepsSpin", 12)
    set_spin(window, "particlesSpin", 3)
    set_spin(window, "pointsSpin", 64)
    window.findChild(QDockWidget, "populationDock").raise_()
    assert run_to_end(qtbot, window) == "completed"
    stats, population = window.stats_panel, window.population_panel
    assert all(f.particles.shape == (3, 64, 6) for f in window.frames)
    assert stats.genealogy_lines.getData()[0] is None  # a tab not shown: not drawn yet
    for tab in (1, 2):  # Particles, Genealogy: drawn as they are shown
        stats.tabs.setCurrentIndex(tab)
    assert len(stats.scale_curve.getData()[0]) == 12
    assert len(stats.ancestors_curve.getData()[0]) == 12
    assert len(stats.genealogy_lines.getData()[0]) == 2 * 11 * 3
    if window.frames[-1].rewards is not None:  # once the engine's records carry them
        assert len(stats.reward_curves) == 3
    qtbot.waitUntil(lambda: population.drawn is window.frames[-1], timeout=5000)
    assert len(population.tiles) == 3 and np.isclose(population.weights.sum(), 1.0)
    assert population.grab().width() > 0
