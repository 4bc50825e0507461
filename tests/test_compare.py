"""Compare two runs (issue 22, section 6): Pin this run keeps a finished run; the next run
plays beside it in `compareView`, cameras linked, its statistics dashed on the same plots,
what differs in the status bar; Unpin (or Reset) returns to one view; `poe-desktop record
--compare A.json B.json` writes one video of both with the difference as its title. And
the ESS plot draws no resampling threshold for a run that never resamples (Euler)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QLabel, QToolButton

from poe_desktop.model.run_diff import SAME, difference_line, pinned_index
from poe_engine.spec import RunSpec

BASE = RunSpec().to_dict()


# --------------------------------------------------------------------------- no Qt
def test_the_difference_names_what_changed_in_a_fixed_order():
    other = BASE | {"moves": "blind", "experts": "y,z,color", "reward": "green"}
    assert difference_line(BASE, other) == "reward red → green, x expert off, moves tilted → blind"
    assert difference_line(BASE, dict(BASE)) == SAME == "same settings"
    assert difference_line(other, BASE) == "reward green → red, x expert on, moves blind → tilted"


def test_the_difference_names_weights_strength_sampler_and_steering():
    weights = BASE["expert_weights"] | {"y": 0.5}
    other = BASE | {"expert_weights": weights, "strength": 100.0, "sampler": "euler",
                    "steering": [{"step": 6, "reward": "green"}]}
    assert difference_line(BASE, other) == ("strength 300 → 100, y weight 1 → 0.5, "
                                            "sampler ais → euler, steering none → 1 change")
    off = BASE | {"experts": "none", "reward": "none"}
    assert difference_line(BASE, off) == "reward red → off, x, y, z, color experts off"
    # what nobody chose (checksums, the CPU layers) is not a difference
    assert difference_line(BASE, BASE | {"checksums": {"x": "abc"}, "layers": "fused"}) == SAME
    assert difference_line(None, BASE) == "settings unknown"


def test_a_setting_the_run_did_not_read_is_no_difference():
    from dataclasses import replace

    euler = RunSpec(sampler="euler")
    euler = replace(euler, settings=replace(euler.settings, langevin_steps=5)).to_dict()
    assert euler["langevin"] is None  # written as not read (poe_engine/applies.py)
    assert difference_line(BASE, euler) == "sampler ais → euler"
    assert difference_line(euler, BASE | {"moves": "blind"}) == "sampler euler → ais"


@pytest.mark.parametrize("index, steps, count, pinned_steps, expected", [
    (3, 16, 16, 16, 3), (15, 16, 16, 16, 15), (23, 24, 16, 16, 15), (20, 24, 16, 16, 13),
    (15, 16, 32, 32, 31), (0, 16, 32, 32, 1), (7, 16, 32, 32, 15),  # the same share
    (9, 16, 6, 16, 5),  # a stopped pinned run: its last frame
])
def test_the_pinned_step_shown_beside_a_step(index, steps, count, pinned_steps, expected):
    assert pinned_index(index, steps, count, pinned_steps) == expected


# --------------------------------------------------------------------------- in the app
def small_run(window, steps=6):
    sp = window.sampler_panel
    sp.particles.setValue(2)
    sp.points.setValue(48)
    sp.steps.setValue(steps)
    sp.langevin.setValue(1)
    sp.device.setCurrentText("cpu")


def run_to_end(qtbot, window):
    with qtbot.waitSignal(window.runFinished, timeout=60_000):
        assert window.run()
    window.display.flush()


def pinned_curves(stats):
    return [item for plot in stats.plots for item in plot.listDataItems()
            if item.objectName().startswith("pinned_")] + \
        [item for item in stats.off_view.addedItems
         if hasattr(item, "objectName") and item.objectName().startswith("pinned_")]


@pytest.mark.gui
def test_pin_and_run_plays_the_next_run_beside_the_pinned_one(qtbot, window):
    pin = window.findChild(QAction, "pinRunAction")
    assert pin is not None and pin in window.toolbar.actions()
    assert window.toolbar.findChild(QToolButton, "pinRunButton") is not None
    assert not pin.isEnabled()  # nothing to pin before a run
    small_run(window)
    run_to_end(qtbot, window)
    assert pin.isEnabled()
    pin.trigger()
    assert pin.isChecked() and pin.text() == "Unpin"
    compare = window.findChild(object, "compareView")
    assert compare is not None and not compare.isVisible()  # until another run plays
    pinned = list(window.frames)
    window.findChild(QCheckBox, "expertToggle_x").setChecked(False)
    run_to_end(qtbot, window)
    qtbot.waitUntil(compare.isVisible, timeout=5000)
    view = window.view3d
    # side by side, the pinned one on the left, each about half the width
    assert compare.mapTo(window, compare.rect().topLeft()).x() < view.mapTo(
        window, view.rect().topLeft()).x()
    assert abs(compare.width() - view.width()) < 0.2 * view.width()
    np.testing.assert_allclose(compare.cloud, pinned[-1].cloud, rtol=1e-6)
    assert not np.allclose(view.cloud, pinned[-1].cloud)  # the new run's
    # the status bar names what differs
    line = window.findChild(QLabel, "compareStatus")
    assert line.isVisible() and "x expert off" in line.toolTip()
    assert window.comparison.line == "x expert off"
    # the statistics of both, the pinned one dashed
    stats = window.stats_panel
    dashed = pinned_curves(stats)
    assert len(dashed) == 8
    assert all(c.opts["pen"].style() == Qt.PenStyle.DashLine for c in dashed)
    ess = next(c for c in dashed if c.objectName() == "pinned_ess")
    np.testing.assert_allclose(ess.getData()[1], [f.ess for f in pinned])
    assert "pinned run (dashed)" in [name for *_, name in stats.ess_plot.legend_row.entries]
    # the timeline scrubs both at the same step
    window.timeline.slider.setValue(2)
    np.testing.assert_allclose(compare.cloud, pinned[2].cloud, rtol=1e-6)
    assert window.comparison.pinned_title.text == "pinned run · step 3 of 6"
    # unpin: one view again, the dashed curves gone
    pin.trigger()
    assert not pin.isChecked() and not compare.isVisible() and not line.isVisible()
    assert pinned_curves(stats) == []
    assert "pinned run (dashed)" not in [n for *_, n in stats.ess_plot.legend_row.entries]


@pytest.mark.gui
def test_the_cameras_are_linked_and_the_theme_covers_both_views(qtbot, window):
    small_run(window, steps=4)
    run_to_end(qtbot, window)
    window.pin_action.trigger()
    run_to_end(qtbot, window)
    compare = window.comparison.compare_view
    qtbot.waitUntil(compare.isVisible, timeout=5000)
    window.view3d.orbit(35, 12)  # a drag on the main view
    assert compare.opts["azimuth"] == pytest.approx(window.view3d.opts["azimuth"])
    assert compare.opts["elevation"] == pytest.approx(window.view3d.opts["elevation"])
    compare.setCameraPosition(distance=1.7)  # a wheel on the pinned one
    assert window.view3d.opts["distance"] == pytest.approx(1.7)
    window.theme_actions["light"].setChecked(True)
    assert compare.opts["bgcolor"] == window.view3d.opts["bgcolor"]
    window.theme_actions["dark"].setChecked(True)
    assert compare.opts["bgcolor"] == window.view3d.opts["bgcolor"]
    # the same settings, said so
    assert window.comparison.line == "same settings"


@pytest.mark.gui
def test_pin_waits_for_the_run_to_end_and_reset_unpins(qtbot, window):
    small_run(window, steps=8)
    with qtbot.waitSignal(window.session.pausedAt, timeout=60_000):
        assert window.run(pause_after=3)
    assert not window.pin_action.isEnabled()  # a run going cannot be pinned
    with qtbot.waitSignal(window.runFinished, timeout=60_000):
        window.stop()
    assert window.pin_action.isEnabled()  # a stopped one can
    window.pin_action.trigger()
    with qtbot.waitSignal(window.session.pausedAt, timeout=60_000):
        assert window.run(pause_after=2)
    compare = window.comparison.compare_view
    qtbot.waitUntil(compare.isVisible, timeout=5000)
    assert window.pin_action.isEnabled()  # Unpin, while the run goes
    window.reset_action.trigger()
    assert not compare.isVisible() and not window.pin_action.isChecked()
    assert window.comparison.pinned_frames is None


@pytest.mark.gui
def test_a_file_opened_while_a_run_is_pinned_plays_beside_it(qtbot, window, tmp_path):
    small_run(window, steps=4)
    window.findChild(QCheckBox, "expertToggle_x").setChecked(False)
    run_to_end(qtbot, window)
    assert window.export_to(tmp_path / "x-off.npz")
    window.findChild(QCheckBox, "expertToggle_x").setChecked(True)
    run_to_end(qtbot, window)
    window.pin_action.trigger()
    assert window.open_file(tmp_path / "x-off.npz")
    compare = window.comparison.compare_view
    qtbot.waitUntil(compare.isVisible, timeout=5000)
    assert window.comparison.line == "x expert off"
    np.testing.assert_allclose(compare.cloud, window.comparison.pinned_frames[-1].cloud,
                               rtol=1e-6)


# --------------------------------------------------------------------------- Euler
@pytest.mark.gui
def test_the_ess_plot_has_no_threshold_under_euler(qtbot):
    from types import SimpleNamespace

    from poe_desktop.panels import StatsPanel

    panel = StatsPanel()
    qtbot.addWidget(panel)
    frames = [SimpleNamespace(index=i, steps=8, ess=4.0, resampled=False, radial_error=0.1,
                              off_sphere=0.1, chamfer=0.1, log_weights=np.zeros(4))
              for i in range(5)]
    panel.set_run({"sampler": "ais", "steps": 8, "particles": 4, "ess_threshold": 0.5})
    panel.update_from(frames)
    assert panel.threshold_line.isVisible()
    panel.clear()
    panel.set_run({"sampler": "euler", "steps": 8, "particles": 4, "ess_threshold": 0.5})
    panel.update_from(frames)
    assert not panel.threshold_line.isVisible()
    assert panel.ess_plot.legend_row.entries[2][2] == "no resampling (Euler)"


@pytest.mark.gui
def test_an_euler_run_in_the_app_draws_no_threshold(qtbot, window):
    small_run(window, steps=4)
    window.sampler_panel.sampler.setCurrentText("EULER")
    run_to_end(qtbot, window)
    assert window.run_config["sampler"] == "euler"
    assert not window.stats_panel.threshold_line.isVisible()


# --------------------------------------------------------------------------- recording
@pytest.mark.gui
def test_record_compare_writes_both_runs_with_the_difference_as_title(qapp, tmp_path):
    from PIL import Image

    from poe_desktop.app import main as desktop_main

    for name, experts in (("all", "x,y,z,color"), ("xoff", "y,z,color")):
        config = BASE | {"steps": 6, "particles": 2, "points": 96, "experts": experts,
                         "device": "cpu", "precision": "fp32"}
        (tmp_path / f"{name}.json").write_text(json.dumps(config))
    out = tmp_path / "frames"
    assert desktop_main(["record", "--compare", str(tmp_path / "all.json"),
                         str(tmp_path / "xoff.json"), "--size", "96x96", "--fps", "12",
                         "--hold", "0", "--out", f"{out}/"]) == 0
    files = sorted(out.glob("frame_*.png"))
    assert len(files) == 6
    last = np.asarray(Image.open(files[-1]).convert("RGB"))
    assert last.shape[1] == 2 * 96 and last.shape[0] > 96  # two panels, a title band
    band = last[: last.shape[0] - 96].reshape(-1, 3)
    assert (band.min(axis=1) > 150).sum() > 20  # the title's text
    left, right = last[-96:, :96], last[-96:, 96:]
    assert not np.array_equal(left, right)


def test_record_compare_refuses_a_config_or_grid_beside_it(tmp_path):
    result = subprocess.run([sys.executable, "-m", "poe_desktop", "record", "--compare",
                             "a.json", "b.json", "--grid", "colors", "--out",
                             str(tmp_path / "x.mp4")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "give it without --grid" in result.stderr
