"""The Compose panel (issue 20): live parsing, presets, rows that rewrite the expression,
composed runs in the window (branches on the Population panel, steering recorded and
replayed bit for bit, a change of the number of branches refused), regions in the view."""

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSpinBox

from poe_desktop.panels import ComposePanel
from poe_engine.cli import main as engine_main
from poe_engine.exports import load_config

pytestmark = pytest.mark.gui
TIMEOUT_MS = 180_000
RED_OR_BLUE = "sphere & color & (red | blue)"
HOLE = "sphere & color & red & !cap(z > 0.75)"


@pytest.fixture
def panel(qtbot):
    p = ComposePanel()
    qtbot.addWidget(p)
    p.show()
    return p


def type_into(qtbot, panel, text):
    panel.edit.clear()
    qtbot.keyClicks(panel.edit, text)


def test_live_parsing_shows_the_canonical_form_or_the_error_with_its_column(qtbot, panel):
    type_into(qtbot, panel, "SPHERE&color & (Red|blue)")
    assert panel.expression() == RED_OR_BLUE
    assert RED_OR_BLUE.replace("&", "&amp;") in panel.status.text()
    assert "2 branches" in panel.status.text()
    type_into(qtbot, panel, "sphere & colr & red")
    assert panel.expression() is None
    status = panel.status.text()
    assert "unknown name 'colr' at column 10" in status and "did you mean" in status
    assert "\n         ^</pre>" in status  # the caret under the offending character
    with qtbot.assertNotEmitted(panel.expressionChanged):
        qtbot.keyClick(panel.edit, Qt.Key.Key_Return)
    assert panel.edit.selectionStart() == 9 and panel.edit.selectedText() == "c"


def test_enter_commits_the_canonical_form(qtbot, panel):
    type_into(qtbot, panel, "x&y & z & 2*color & RED")
    with qtbot.waitSignal(panel.expressionChanged) as blocker:
        qtbot.keyClick(panel.edit, Qt.Key.Key_Return)
    assert blocker.args == ["x & y & z & 2*color & red"]
    assert panel.edit.text() == "x & y & z & 2*color & red"


def test_a_preset_fills_the_field(qtbot, panel):
    index = panel.presets.findText("red | blue")
    with qtbot.waitSignal(panel.expressionChanged) as blocker:
        panel.presets.activated.emit(index)
    assert panel.edit.text() == RED_OR_BLUE and blocker.args == [RED_OR_BLUE]
    assert [t.text for t, *_ in panel.rows] == ["sphere", "color", "red", "blue"]


def test_a_row_s_switch_and_weight_rewrite_the_expression(qtbot, panel):
    panel.set_expression(HOLE)
    assert [t.text for t, *_ in panel.rows] == ["sphere", "color", "red", "cap(z > 0.75)"]
    region, box, weight, (beta, tau) = panel.rows[3]
    assert region.weight == -1 and beta.value() == 8 and tau.value() == 0.05
    with qtbot.waitSignal(panel.expressionChanged) as blocker:
        box.setChecked(False)
    assert blocker.args == ["sphere & color & red"] and panel.edit.text() == blocker.args[0]
    assert len(panel.rows) == 4 and not panel.rows[3][1].isChecked()  # the row stays
    with qtbot.waitSignal(panel.expressionChanged) as blocker:
        box.setChecked(True)
    assert blocker.args == [HOLE]
    with qtbot.waitSignal(panel.expressionChanged) as blocker:
        beta.setValue(4.0)
    assert blocker.args == ["sphere & color & red & !cap(z > 0.75, beta=4)"]
    with qtbot.waitSignal(panel.expressionChanged) as blocker:
        weight.setValue(2.0)
    assert blocker.args == ["sphere & color & red & 2*cap(z > 0.75, beta=4)"]
    with qtbot.waitSignal(panel.expressionChanged) as blocker:
        panel.rows[2][2].setValue(-1.5)  # red's weight: negative is NOT
    assert blocker.args == ["sphere & color & 1.5*!red & 2*cap(z > 0.75, beta=4)"]
    assert panel.rows[0][2].minimum() > 0  # a flow has no NOT


def test_the_panel_state_round_trips(qtbot, panel):
    panel.set_expression(RED_OR_BLUE)
    panel.toggle.setChecked(True)
    other = ComposePanel()
    qtbot.addWidget(other)
    assert other.apply_state(panel.state()) == []
    assert other.is_composing() and other.expression() == RED_OR_BLUE
    assert sorted(other.apply_state({"on": "yes", "text": 3})) == ["on", "text"]


def composed_run(window, text, steps=12):
    for name, value in (("stepsSpin", steps), ("particlesSpin", 8), ("pointsSpin", 256),
                        ("langevinSpin", 1), ("seedSpin", 5)):
        window.findChild(QSpinBox, name).setValue(value)
    window.findChild(QComboBox, "deviceCombo").setCurrentText("cpu")
    window.findChild(QComboBox, "precisionCombo").setCurrentText("fp32")
    window.compose_panel.set_expression(text)
    window.compose_panel.toggle.setChecked(True)


def pause_at(qtbot, window, step):
    assert window.run(pause_after=step)
    qtbot.waitUntil(lambda: len(window.frames) == step and window.pause_action.isChecked(),
                    timeout=TIMEOUT_MS)


def test_a_composed_run_marks_its_branches(qtbot, window):
    composed_run(window, RED_OR_BLUE)
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS) as blocker:
        assert window.run()
    assert blocker.args == ["completed"] and len(window.frames) == 12
    last = window.frames[-1]
    assert last.compose == RED_OR_BLUE and sorted(set(last.branches.tolist())) == [0, 1]
    assert np.bincount(last.branches).tolist() == [4, 4]
    assert window.run_config["compose"] == RED_OR_BLUE
    population = window.population_panel
    window.findChild(type(window.docks[0]), "populationDock").raise_()
    qtbot.waitUntil(lambda: population.drawn is last, timeout=10_000)
    assert sorted(set(population.branches.tolist())) == [0, 1]
    assert population.branch_names == ["x & y & z & color & red", "x & y & z & color & blue"]
    series = window.stats_panel.composition.series
    assert series.count == 12 and series.counts()[-1].tolist() == [4, 4]
    plots = window.stats_panel.composition
    assert plots.shown == [plots.branch_plot]  # no region in this expression


def test_steering_an_expression_mid_run_is_recorded_and_replays_bit_for_bit(
        qtbot, window, tmp_path):
    composed_run(window, RED_OR_BLUE)
    pause_at(qtbot, window, 5)
    window.compose_panel.set_expression("sphere & color & (red | green)", emit=True)
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS):
        assert window.run()  # resumes
    changed = "sphere & color & (red | green)"
    assert [f.compose for f in window.frames] == [RED_OR_BLUE] * 5 + [changed] * 7
    assert (6, f"→ {changed}") in window.stats_panel.marks
    for name in ("run.json", "run.npz"):
        assert window.export_to(tmp_path / name)
    config = load_config(tmp_path / "run.json")
    assert config["compose"] == RED_OR_BLUE and config["precision"] == "fp32"
    assert config["compose_steering"] == [{"step": 6, "compose": changed}]
    with np.load(tmp_path / "run.npz") as run:
        app = {k: run[k] for k in run.files}
    assert json.loads(str(app["meta"]))["compose_steering"] == config["compose_steering"]
    window.open_file(tmp_path / "run.npz")  # reopened: its expressions, branches and mark
    qtbot.waitUntil(lambda: window.frames and window.frames[-1].compose == changed)
    assert window.frames[4].compose == RED_OR_BLUE and window.frames[-1].branches.size == 8
    assert (6, f"→ {changed}") in window.stats_panel.marks
    for source in ("run.json", "run.npz"):
        out = tmp_path / f"re-{source}.npz"
        assert engine_main(["sample", "--config", str(tmp_path / source),
                            "--out", str(out)]) == 0
        with np.load(out) as replayed:
            for key in ("trajectory", "final", "log_weights", "branches"):
                assert np.array_equal(replayed[key], app[key]), (source, key)


def test_a_change_of_the_number_of_branches_mid_run_is_refused(qtbot, window):
    composed_run(window, RED_OR_BLUE, steps=6)
    pause_at(qtbot, window, 2)
    window.compose_panel.set_expression("sphere & color & red", emit=True)
    message = window.statusBar().currentMessage()
    assert "Not applied" in message and "must keep" in message, message
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS) as blocker:
        assert window.run()
    assert blocker.args == ["completed"] and len(window.frames) == 6
    assert {f.compose for f in window.frames} == {RED_OR_BLUE}


def test_the_region_toggle_shows_and_hides_the_regions(qtbot, window):
    item, action = window.regions_item, window.regions_action
    window.compose_panel.set_expression(HOLE, emit=True)
    assert not item.visible()  # the panel is off: nothing composed
    window.compose_panel.toggle.setChecked(True)
    assert action.isChecked() and item.visible() and len(item.pos) > 0
    assert item.regions[0][1] == -1  # !cap: pushed out of
    action.setChecked(False)
    assert not item.visible()
    action.setChecked(True)
    assert item.visible()
    window.compose_panel.set_expression("sphere & color & red", emit=True)
    assert not item.visible()  # no region in the expression


def test_a_step_shown_without_regions_does_not_redraw_the_view_for_them(qtbot, window,
                                                                        monkeypatch):
    """Each step shown (a run's start too) checks the regions: hidden and staying hidden,
    the 3-D view is not redrawn for them (a redraw composes the whole window)."""
    assert not window.regions_item.visible()
    redraws = []
    monkeypatch.setattr(window.view3d, "update", lambda: redraws.append(1))
    window.display.frameShown.emit(None)
    window.display.frameShown.emit(None)
    assert redraws == [] and not window.regions_item.visible()
    window.compose_panel.set_expression(HOLE, emit=True)
    window.compose_panel.toggle.setChecked(True)  # now shown: the view redraws
    assert window.regions_item.visible() and redraws


def test_a_composed_configuration_fills_the_panel_and_replays_its_changes(qtbot, tmp_path):
    from poe_desktop import MainWindow
    from poe_engine.exports import save_config
    from poe_engine.spec import CONFIG_FORMAT

    changed = "sphere & color & (red | green)"
    path = save_config(tmp_path / "c.json", {
        "format": CONFIG_FORMAT, "steps": 6, "particles": 4, "points": 64, "langevin": 1,
        "device": "cpu", "precision": "fp32", "layers": "plain", "seed": 2, "compose": RED_OR_BLUE,
        "compose_steering": [{"step": 4, "compose": changed}]})
    window = MainWindow(config=load_config(path))
    qtbot.addWidget(window)
    panel = window.compose_panel
    assert panel.is_composing() and panel.expression() == RED_OR_BLUE
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS):
        assert window.run()
    assert [f.compose for f in window.frames] == [RED_OR_BLUE] * 3 + [changed] * 3
    assert panel.expression() == changed  # the panel says what runs
    assert window.export_to(tmp_path / "app.npz")
    assert engine_main(["sample", "--config", str(path), "--out", str(tmp_path / "e.npz")]) == 0
    with np.load(tmp_path / "app.npz") as app, np.load(tmp_path / "e.npz") as engine:
        assert np.array_equal(app["trajectory"], engine["trajectory"])
    window.close()


def test_the_series_counts_points_in_regions_and_particles_per_branch():
    from types import SimpleNamespace

    from poe_desktop.model.composition import CompositionSeries

    cloud = np.zeros((4, 6))
    cloud[:, 2] = [0.1, 0.5, 0.8, 0.9]  # two of four points above z = 0.75
    frames = [SimpleNamespace(index=k, cloud=cloud, log_weights=np.zeros(5),
                              branches=np.array([0, 0, 1, 1, 1]), compose=text)
              for k, text in enumerate([HOLE, "sphere & color & red & band(z, 0, 0.2)"])]
    series = CompositionSeries()
    assert series.sync(frames) == 2 and series.composed
    shares = series.shares()
    assert list(shares) == ["cap(z > 0.75)", "band(z, 0, 0.2)"]
    assert shares["cap(z > 0.75)"][0] == 0.5 and np.isnan(shares["cap(z > 0.75)"][1])
    assert shares["band(z, 0, 0.2)"][1] == 0.25
    assert series.counts().tolist() == [[2, 3], [2, 3]]
