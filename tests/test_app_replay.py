"""The app's exports record a run whole: weights, steering, precision, partial runs; the
command line replays them bit for bit."""

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QPushButton, QSpinBox

from poe_desktop import MainWindow
from poe_desktop.app import main as desktop_main
from poe_engine.cli import main as engine_main
from poe_engine.exports import load_config, save_config
from poe_engine.spec import CONFIG_FORMAT
from poe_engine.weights import manifest_checksums

pytestmark = pytest.mark.gui
TIMEOUT_MS = 120_000


def small_run(window, steps):
    for name, value in (("stepsSpin", steps), ("particlesSpin", 2), ("pointsSpin", 64),
                        ("langevinSpin", 1), ("seedSpin", 3)):
        window.findChild(QSpinBox, name).setValue(value)
    window.findChild(QComboBox, "deviceCombo").setCurrentText("cpu")


def click(qtbot, window, cls, name):
    qtbot.mouseClick(window.findChild(cls, name), Qt.MouseButton.LeftButton)


def pause_at(qtbot, window, step):
    """Start a run that pauses right after `step` (1-based)."""
    assert window.run(pause_after=step)
    qtbot.waitUntil(lambda: len(window.frames) == step and window.pause_action.isChecked(),
                    timeout=TIMEOUT_MS)


def read_npz(path):
    with np.load(path) as run:
        return {name: run[name] for name in run.files if name != "meta"}, json.loads(
            str(run["meta"]))


def replay(config, out):
    assert engine_main(["sample", "--config", str(config), "--out", str(out)]) == 0
    return read_npz(out)


def test_a_steered_app_run_with_a_weight_replays_bit_for_bit(qtbot, window, tmp_path):
    """x's weight at 2 from the start; after step 4, red -> green and x off: the exported
    configuration and .npz say so, and `poe-engine sample --config` replays the very run."""
    small_run(window, steps=8)
    window.findChild(QDoubleSpinBox, "expertWeight_x").setValue(2.0)
    click(qtbot, window, QPushButton, "rewardColor_red")
    pause_at(qtbot, window, 4)
    click(qtbot, window, QPushButton, "rewardColor_green")
    click(qtbot, window, QCheckBox, "expertToggle_x")
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS):
        assert window.run()  # resumes
    assert [f.reward for f in window.frames] == ["red"] * 4 + ["green"] * 4

    for name in ("run.json", "run.npz"):
        assert window.export_to(tmp_path / name)
    config = load_config(tmp_path / "run.json")
    assert config["expert_weights"] == {"x": 2.0, "y": 1.0, "z": 1.0, "color": 1.0}
    assert config["experts"] == "x,y,z,color" and config["reward"] == "red"
    assert config["steering"] == [{"step": 5, "experts": "y,z,color", "reward": "green"}]
    assert config["precision"] == window.frames[0].precision
    assert config["checksums"] == manifest_checksums() and config["device"] == "cpu"
    app, meta = read_npz(tmp_path / "run.npz")
    assert meta["partial"] is False and meta["reached_step"] == 8
    assert app["reward"].tolist() == ["red"] * 4 + ["green"] * 4
    assert app["expert_weights"][[3, 4]].tolist() == [[2, 1, 1, 1], [0, 1, 1, 1]]
    for source in ("run.json", "run.npz"):
        replayed, replayed_meta = replay(tmp_path / source, tmp_path / f"re-{source}.npz")
        for name in ("trajectory", "log_weights", "ess", "expert_weights", "reward",
                     "reward_strength"):
            assert np.array_equal(replayed[name], app[name]), (source, name)
        assert replayed_meta["steering"] == config["steering"]


def test_a_stopped_run_exports_as_partial(qtbot, window, tmp_path):
    small_run(window, steps=24)
    pause_at(qtbot, window, 7)
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS) as blocker:
        window.stop()
    assert blocker.args == ["stopped"]
    for name in ("run.json", "run.npz"):
        assert window.export_to(tmp_path / name)
    app, meta = read_npz(tmp_path / "run.npz")
    assert len(app["trajectory"]) == 7 and np.array_equal(app["final"], app["trajectory"][6])
    assert meta["partial"] is True and meta["reached_step"] == 7 and meta["steps"] == 24
    assert "step 7 of 24" in meta["note"]
    assert load_config(tmp_path / "run.json")["steps"] == 24  # a replay runs the whole run


def test_a_run_with_every_expert_off_exports_and_replays(qtbot, window, tmp_path):
    small_run(window, steps=3)
    for name in ("x", "y", "z", "color"):
        click(qtbot, window, QCheckBox, f"expertToggle_{name}")
    assert window.experts_panel.enabled_experts() == []
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS):
        assert window.run()
    assert window.export_to(tmp_path / "run.json") and window.export_to(tmp_path / "run.npz")
    assert load_config(tmp_path / "run.json")["experts"] == "none"
    app, _ = read_npz(tmp_path / "run.npz")
    replayed, _ = replay(tmp_path / "run.json", tmp_path / "re.npz")
    assert np.array_equal(replayed["trajectory"], app["trajectory"])


def test_a_configuration_s_precision_and_weights_run_in_the_app(qtbot, tmp_path):
    path = save_config(tmp_path / "c.json", {
        "format": CONFIG_FORMAT, "steps": 2, "particles": 2, "points": 32, "langevin": 1,
        "device": "cpu", "precision": "bf16", "expert_weights": {"y": 0.5}})
    window = MainWindow(config=load_config(path))
    qtbot.addWidget(window)
    assert window.findChild(QDoubleSpinBox, "expertWeight_y").value() == 0.5
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS):
        assert window.run()
    assert [f.precision for f in window.frames] == ["bf16", "bf16"]
    assert window.frames[0].weights == (1.0, 0.5, 1.0, 1.0)
    assert window.recorded_config()["precision"] == "bf16"
    window.close()


def test_a_configuration_made_with_other_weights_is_refused(qtbot, tmp_path, capsys):
    config = {"format": CONFIG_FORMAT, "steps": 2, "particles": 2, "points": 32,
              "device": "cpu", "checksums": manifest_checksums() | {"y": "0" * 64}}
    path = save_config(tmp_path / "c.json", config)
    # (--screenshot: an app that took the file would run once and leave)
    assert desktop_main(["--config", str(path), "--autorun", "--screenshot",
                         str(tmp_path / "shot.png")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"{path}: the run was made with other expert weights (checksum of y: " in err
    assert desktop_main(["record", "--config", str(path), "--out", str(tmp_path / "r.gif")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "other expert weights" in err
    assert not (tmp_path / "r.gif").exists()

    window = MainWindow(config=load_config(path))  # a window given it directly
    qtbot.addWidget(window)
    assert not window.run()
    assert "other expert weights" in window.error_dialog.text()
    window.error_dialog.close()
    window.close()
