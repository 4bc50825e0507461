"""Reopen is resume (issue 19, section 4): a steered run opened again shows its steering
marks and, as the timeline moves, the settings in force at the shown step; the app's
--config replays steering as `poe-engine sample --config` does, bit for bit on the CPU;
`record --grid` honours expert weights and steering; each statistics plot saves its data
as CSV and itself as SVG and PNG."""

from __future__ import annotations

import csv
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox

from poe_desktop import MainWindow
from poe_desktop.model.steering_marks import change_label, controls_per_step
from poe_desktop.record.command import parse_args, run_panels
from poe_engine.cli import main as engine_main
from poe_engine.exports import load_config, save_config
from poe_engine.spec import CONFIG_FORMAT
from poe_engine.steering import Controls

TIMEOUT_MS = 120_000
SMALL = {"format": CONFIG_FORMAT, "steps": 10, "particles": 2, "points": 64, "langevin": 1,
         "seed": 4, "device": "cpu", "precision": "fp32", "layers": "plain"}
STEERED = SMALL | {"expert_weights": {"y": 1.5}, "reward": "red",
                   "steering": [{"step": 5, "experts": "y,z,color", "reward": "green"},
                                {"step": 8, "strength": 150.0}]}


@pytest.fixture(scope="module")
def steered_run(tmp_path_factory):
    """A steered run as `poe-engine sample --config` saves it, and its configuration."""
    folder = tmp_path_factory.mktemp("steered")
    config = save_config(folder / "c.json", STEERED)
    out = folder / "run.npz"
    assert engine_main(["sample", "--config", str(config), "--out", str(out)]) == 0
    with np.load(out) as run:
        final = run["final"]
    return {"config": config, "npz": out, "final": final}


def toggle(window, name) -> bool:
    return window.findChild(QCheckBox, f"expertToggle_{name}").isChecked()


# --------------------------------------------------------------------------- no Qt


def test_the_controls_per_step_and_the_labels_of_changes():
    class Step:  # what a frame says it used
        def __init__(self, index, experts, weights, reward, strength):
            self.index, self.experts, self.weights = index, experts, weights
            self.reward, self.strength = reward, strength

    start = Controls()
    steps = [Step(0, ("x", "y", "z", "color"), (1, 1, 1, 1), "red", 300.0),
             Step(1, ("y", "z", "color"), (2, 1, 1), "green", 300.0),
             Step(2, ("y", "z", "color"), (2, 1, 1), None, None)]
    per_step = controls_per_step(start, steps)
    assert per_step[0] is start
    assert per_step[1].enabled == ("y", "z", "color") and per_step[1].reward == "green"
    assert per_step[1].weights == (1.0, 2.0, 1.0, 1.0) and per_step[2].reward is None
    assert change_label(per_step[0], per_step[1]) == "x off, y ×2, → green"
    assert change_label(per_step[1], per_step[2]) == "reward off"


# --------------------------------------------------------------------------- the app


@pytest.mark.gui
def test_a_steered_npz_reopened_shows_its_marks_and_the_settings_at_each_step(
        qtbot, window, steered_run, tmp_path):
    assert window.open_file(steered_run["npz"])
    stats = window.stats_panel
    assert stats.marks == [(5, "x off, → green"), (8, "strength 150")]
    assert all([m.value() for m in p.mark_lines] == [5, 8] for p in stats.step_plots)
    # the last step on screen: the panels hold its settings
    assert not toggle(window, "x") and window.reward_panel.color == "green"
    assert window.reward_panel.strength.exact_value() == 150.0
    assert window.docks[0].windowTitle() == "Experts · as at step 10"
    window.timeline.slider.setValue(2)  # step 3, before the changes
    assert toggle(window, "x") and window.reward_panel.color == "red"
    assert window.reward_panel.strength.exact_value() == 300.0
    assert window.findChild(QDoubleSpinBox, "expertWeight_y").value() == 1.5
    assert window.docks[1].windowTitle() == "Reward colour · as at step 3"
    window.timeline.slider.setValue(5)  # step 6, after the first change
    assert not toggle(window, "x") and window.reward_panel.color == "green"
    assert window.reward_panel.strength.exact_value() == 300.0
    assert window.resume.replay is not None  # nothing the panels did counts as the user's
    assert window.last_error is None
    shot = os.environ.get("POE_RESUME_SCREENSHOT") or str(tmp_path / "resume.png")
    assert window.grab().save(shot)
    # a change by the user: the panels stop following, the file's steering is dropped
    window.findChild(QCheckBox, "expertToggle_x").click()
    assert window.docks[0].windowTitle() == "Experts" and window.resume.replay is None
    window.timeline.slider.setValue(1)
    assert toggle(window, "x") and window.reward_panel.color == "green"  # as left


@pytest.mark.gui
def test_the_app_s_config_replays_steering_bit_for_bit(qtbot, steered_run):
    window = MainWindow(config=load_config(steered_run["config"]))
    qtbot.addWidget(window)
    assert "Run replays its 2 steering change(s)" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS):
        assert window.run()
    frames = window.frames
    assert [f.reward for f in frames] == ["red"] * 4 + ["green"] * 6
    assert [f.strength for f in frames][6:] == [300.0, 150.0, 150.0, 150.0]
    assert np.array_equal(frames[-1].cloud, steered_run["final"])
    assert window.stats_panel.marks == [(5, "x off, → green"), (8, "strength 150")]
    assert not toggle(window, "x") and window.reward_panel.color == "green"  # as replayed
    assert window.recorded_config()["steering"] == load_config(steered_run["config"])[
        "steering"]
    # the finished run's panels follow the timeline too
    window.timeline.slider.setValue(0)
    assert toggle(window, "x") and window.reward_panel.color == "red"
    window.close()


@pytest.mark.gui
def test_each_plot_saves_its_data_as_csv_and_itself_as_svg_and_png(qtbot, window,
                                                                    steered_run, tmp_path):
    assert window.open_file(steered_run["npz"])
    stats = window.stats_panel
    stats.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: stats.ess_plot.boundingRect().width() > 10, timeout=5_000)
    for plot in (stats.ess_plot, stats.weight_plot, stats.fidelity_plot):
        name = plot.objectName()
        with open(stats.export_plot(plot, tmp_path / f"{name}.csv"), newline="") as f:
            rows = list(csv.reader(f))
        assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)
        svg = ET.parse(stats.export_plot(plot, tmp_path / f"{name}.svg")).getroot()
        assert svg.tag.endswith("svg")
        image = QImage(stats.export_plot(plot, tmp_path / f"{name}.png"))
        assert not image.isNull() and image.width() >= 10
    # a plot of a tab not shown yet (drawn as a tab is shown) saves the whole run too
    with open(stats.export_plot(stats.scale_plot, tmp_path / "scale.csv"), newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + len(window.frames)
    with open(tmp_path / "essPlot.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [float(r["ESS_x"]) for r in table] == list(range(1, 11))
    with np.load(steered_run["npz"]) as run:
        np.testing.assert_allclose([float(r["ESS_y"]) for r in table], run["ess"], rtol=1e-9)
    with open(tmp_path / "fidelityPlot.csv", newline="") as f:
        header = next(csv.reader(f))
    assert {"radial error_y", "Chamfer_y", "off-sphere fraction_y"} <= set(header)
    with pytest.raises(ValueError, match="save a plot as"):
        stats.export_plot(stats.ess_plot, tmp_path / "ess.txt")


# --------------------------------------------------------------------------- record --grid


@pytest.mark.parametrize("grid", ["experts", "colors"])
def test_record_grid_honours_expert_weights_and_steering(grid, tmp_path):
    plain = SMALL | {"steps": 6}
    steered = plain | {"expert_weights": {"x": 2.0, "y": 2.0, "z": 2.0, "color": 2.0},
                       "steering": [{"step": 3, "experts": "none", "strength": 50.0}]}
    panels = {}
    for name, config in (("plain", plain), ("steered", steered)):
        path = save_config(tmp_path / f"{name}.json", config)
        args = parse_args(["--config", str(path), "--grid", grid,
                           "--out", str(tmp_path / "grid.gif")])
        panels[name] = run_panels(args)
    assert len(panels["plain"]) == len(panels["steered"]) == (5 if grid == "experts" else 3)
    for before, after in zip(panels["plain"], panels["steered"], strict=True):
        assert before.title == after.title
        assert not np.array_equal(before.trajectory.clouds, after.trajectory.clouds), \
            before.title
    product = panels["steered"][-1].trajectory
    assert [tuple(e) for e in product.experts[1:3]] == [("x", "y", "z", "color"), ()]
    assert product.steered["expert_weights"][0].tolist() == [2.0, 2.0, 2.0, 2.0]
    if grid == "colors":
        assert list(product.reward) == ["blue"] * 6
