"""File › Open, Open Recent and drag and drop: a saved run replays on the timeline, a PLY
cloud shows in the view, a run configuration fills the panels, and a bad file is one
error message that leaves the window as it was."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QFileDialog, QSpinBox

from poe_desktop import MainWindow
from poe_desktop.model import file_readers
from poe_desktop.window import open_files
from poe_engine.cli import main as engine_main
from poe_engine.exports import save_config
from poe_engine.spec import CONFIG_FORMAT

pytestmark = pytest.mark.gui
TIMEOUT_MS = 120_000
QUICK = ["--steps", "6", "--points", "32", "--particles", "2", "--langevin", "1",
         "--device", "cpu"]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A tiny run as `poe-engine sample` saves it: its .npz, .ply and .json."""
    folder = tmp_path_factory.mktemp("saved")
    paths = {kind: folder / f"run.{kind}" for kind in ("npz", "ply", "json")}
    assert engine_main(["sample", *QUICK, "--seed", "7", "--reward", "blue",
                        "--out", str(paths["npz"]), "--ply", str(paths["ply"]),
                        "--save-config", str(paths["json"])]) == 0
    with np.load(paths["npz"]) as run:
        paths["trajectory"] = run["trajectory"]
        paths["ess"] = run["ess"]
    return paths


def spin(window, name):
    return window.findChild(QSpinBox, name).value()


def drop_event(path, kind=QDropEvent):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = kind(QPointF(20, 20).toPoint() if kind is QDragEnterEvent else QPointF(20, 20),
                 Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                 Qt.KeyboardModifier.NoModifier)
    return event, mime  # the data must live as long as the event


def drop(window, path) -> bool:
    """A file dragged onto the window and dropped, as Qt delivers it: the drop goes to
    the widget that accepted the drag's entry. Whether the entry was accepted."""
    enter, _data = drop_event(path, QDragEnterEvent)
    QApplication.sendEvent(window, enter)
    event, _data2 = drop_event(path)
    QApplication.sendEvent(window, event)
    return enter.isAccepted()


def assert_shows_run(window, trajectory):
    """The timeline holds the run's steps; scrubbing shows each step's cloud."""
    count = len(trajectory)
    assert len(window.frames) == count and window.timeline.count == count
    assert np.array_equal(window.view3d.cloud, trajectory[-1])  # the last step on screen
    window.timeline.slider.setValue(count // 2)
    assert np.array_equal(window.view3d.cloud, trajectory[count // 2])
    assert window.timeline.label.text().startswith(f"step {count // 2 + 1} / ")


def test_an_npz_replays_on_the_timeline_and_fills_the_panels(qtbot, window, saved_run):
    assert window.open_file(saved_run["npz"]) is True
    assert_shows_run(window, saved_run["trajectory"])
    steps, ess = window.stats_panel.ess_curve.getData()
    assert steps.tolist() == [1, 2, 3, 4, 5, 6] and np.allclose(ess, saved_run["ess"])
    assert [f.reward for f in window.frames] == ["blue"] * 6
    assert window.frames[0].experts == ("x", "y", "z", "color")
    assert (spin(window, "seedSpin"), spin(window, "stepsSpin"), spin(window, "pointsSpin"),
            spin(window, "particlesSpin")) == (7, 6, 32, 2)
    assert window.reward_panel.color == "blue"
    assert window.last_error is None and "Opened run.npz" in window.statusBar().currentMessage()
    # ▶ replays it from the start to the end
    window.timeline.play_speed.setCurrentText("60 steps/s")
    window.timeline.slider.setValue(5)
    window.timeline.play_button.click()
    qtbot.waitUntil(lambda: not window.timeline.playing, timeout=10_000)
    assert window.timeline.value() == 5
    assert np.array_equal(window.view3d.cloud, saved_run["trajectory"][-1])


def test_an_opened_run_exports_again(qtbot, window, saved_run, tmp_path):
    assert window.open_file(saved_run["npz"])
    assert window.export_to(tmp_path / "again.npz")
    with np.load(tmp_path / "again.npz") as run:
        assert np.array_equal(run["trajectory"], saved_run["trajectory"])
        assert json.loads(str(run["meta"]))["seed"] == 7


def test_a_dropped_npz_opens(qtbot, window, saved_run):
    assert drop(window, saved_run["npz"])
    assert_shows_run(window, saved_run["trajectory"])


def test_only_local_files_are_taken_from_a_drag(qtbot, window):
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/run.npz")])
    enter = QDragEnterEvent(QPointF(20, 20).toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_file_open_asks_for_a_file_and_opens_it(qtbot, window, saved_run, monkeypatch):
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *args: asked.append(args) or (str(saved_run["npz"]), ""))
    window.open_action.trigger()
    assert len(asked) == 1 and "*.npz *.ply *.json" in asked[0][3]
    assert_shows_run(window, saved_run["trajectory"])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: ("", ""))  # cancelled
    window.open_action.trigger()
    assert len(window.frames) == 6 and window.last_error is None


def test_a_ply_shows_as_a_run_of_one_step(qtbot, window, saved_run):
    assert drop(window, saved_run["ply"])
    assert len(window.frames) == 1 and window.timeline.count == 1
    final = saved_run["trajectory"][-1]
    shown = window.view3d.cloud
    assert np.array_equal(shown[:, :3], final[:, :3])
    assert np.abs(shown[:, 3:] - np.clip(final[:, 3:], 0, 1)).max() <= 0.5 / 255 + 1e-6
    assert not window.timeline.play_button.isEnabled()  # nothing to replay


def test_an_ascii_ply_without_colours_opens_grey(qtbot, window, tmp_path):
    path = tmp_path / "hand.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
                    "property float y\nproperty float z\nend_header\n"
                    "0 0 0\n1 0 0\n0.5 0.5 1\n")
    assert window.open_file(path)
    assert np.allclose(window.view3d.cloud[:, :3], [[0, 0, 0], [1, 0, 0], [0.5, 0.5, 1]])
    assert np.allclose(window.view3d.cloud[:, 3:], file_readers.PLY_GREY)


def test_a_json_fills_the_panels_and_keeps_the_run(qtbot, window, saved_run, tmp_path):
    assert window.open_file(saved_run["npz"])
    config = {"format": "poe-run-config/2", "seed": 42, "steps": 9, "points": 48,
              "experts": "x,y,color", "reward": "green", "kappa": 0.0125}
    save_config(tmp_path / "c.json", config)
    assert open_files.DropOpener(window).drop([tmp_path / "c.json"])
    assert (spin(window, "seedSpin"), spin(window, "stepsSpin"),
            spin(window, "pointsSpin")) == (42, 9, 48)
    assert not window.findChild(QCheckBox, "expertToggle_z").isChecked()
    assert window.findChild(QCheckBox, "expertToggle_x").isChecked()
    assert window.reward_panel.color == "green"
    assert window.sampler_panel.kappa.exact_value() == 0.0125
    assert len(window.frames) == 6  # the run on screen stays


def damaged_files(tmp_path, saved_run):
    """(name, file, words its message must hold)."""
    folder = tmp_path / "folder.npz"
    folder.mkdir()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(saved_run["npz"].read_bytes()[:900])
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    no_columns = tmp_path / "meta-only.npz"
    np.savez(no_columns, meta=np.array(json.dumps({"format": "poe-run-config/2"})))
    bad_ply = tmp_path / "short.ply"
    bad_ply.write_bytes(saved_run["ply"].read_bytes()[:-40])
    text_ply = tmp_path / "notes.ply"
    text_ply.write_text("these are not points")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"format": "poe-run-config/2", "steps": "many"}')
    huge = tmp_path / "huge.npz"
    with open(huge, "wb") as f:  # a sparse file: large, but nothing is written
        f.truncate(file_readers.MAX_FILE_BYTES + 1)
    return [("suffix", tmp_path / "notes.txt", "cannot open this kind of file"),
            ("missing", tmp_path / "gone.npz", "cannot read"),
            ("folder", folder, "a folder"),
            ("truncated", truncated, "not a zip archive"),
            ("foreign", foreign, "not written by poe-engine sample"),
            ("meta only", no_columns, "not a run's trajectory"),
            ("short ply", bad_ply, "truncated"),
            ("text ply", text_ply, "no PLY header"),
            ("bad json", bad_json, "steps"),
            ("huge", huge, "too large")]


def test_bad_files_give_one_error_and_keep_the_run(qtbot, window, saved_run, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert window.open_file(saved_run["npz"])
    window.timeline.slider.setValue(2)
    seed = spin(window, "seedSpin")
    for name, path, words in damaged_files(tmp_path, saved_run):
        window.last_error = None
        assert window.open_file(path) is False, name
        assert window.last_error is not None and words in window.last_error, (name,
                                                                              window.last_error)
        assert window.error_dialog.isVisible()
        window.error_dialog.close()
        assert len(window.frames) == 6 and window.timeline.count == 6, name
        assert np.array_equal(window.view3d.cloud, saved_run["trajectory"][2]), name
        assert spin(window, "seedSpin") == seed
    assert window.recent_state() == {"paths": [str(saved_run["npz"])]}  # none of them


def test_a_file_opens_only_after_the_run_it_would_replace_stops(qtbot, window, saved_run,
                                                                  monkeypatch):
    for name, value in (("stepsSpin", 200), ("particlesSpin", 2), ("pointsSpin", 32)):
        window.findChild(QSpinBox, name).setValue(value)
    window.findChild(QComboBox, "deviceCombo").setCurrentText("cpu")
    answers = []
    monkeypatch.setattr(open_files, "ask_to_stop", lambda w, name: answers.pop(0))
    assert window.run(pause_after=2)
    qtbot.waitUntil(lambda: len(window.frames) == 2, timeout=TIMEOUT_MS)
    answers.append(False)
    assert window.open_file(saved_run["npz"]) is False
    assert window.running and len(window.frames) == 2  # the run is untouched
    answers.append(True)
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS):
        assert window.open_file(saved_run["npz"]) is False  # not yet
    assert not window.running
    assert_shows_run(window, saved_run["trajectory"])


# --------------------------------------------------------------------------- Open Recent


def recent_texts(window):
    return [a.toolTip() for a in window.recent_files.menu.actions()
            if a.objectName().startswith("recentFileAction")]


def test_recent_files_newest_first_at_most_eight_and_persisted(qtbot, window, saved_run,
                                                                 tmp_path):
    configs = []
    for i in range(10):
        configs.append(save_config(tmp_path / f"c{i}.json", {"format": CONFIG_FORMAT, "seed": i}))
        assert window.open_file(configs[-1])
    assert window.open_file(configs[3])  # opened again: back to the top, not twice
    expected = [str(configs[3])] + [str(c) for c in configs[9:1:-1] if c != configs[3]]
    assert window.recent_state() == {"paths": expected} and len(expected) == 8
    assert recent_texts(window) == [f"Open {p}" for p in expected]

    other = MainWindow()  # the next launch, given the saved list
    qtbot.addWidget(other)
    assert other.apply_recent_state(json.loads(json.dumps(window.recent_state()))) == []
    assert other.recent_state() == {"paths": expected}
    assert recent_texts(other) == [f"Open {p}" for p in expected]
    other.findChild(type(other.open_action), "recentFileAction2").trigger()
    assert spin(other, "seedSpin") == 9
    other.close()


def test_a_recent_file_that_is_gone_leaves_the_list(qtbot, window, saved_run, tmp_path):
    kept, gone = (save_config(tmp_path / f"{n}.json", {"format": CONFIG_FORMAT, "seed": 1})
                  for n in ("kept", "gone"))
    for path in (kept, gone):
        assert window.open_file(path)
    os.remove(gone)
    window.findChild(type(window.open_action), "recentFileAction1").trigger()
    assert "is gone" in window.last_error
    window.error_dialog.close()
    assert window.recent_state() == {"paths": [str(kept)]}
    window.findChild(type(window.open_action), "clearRecentAction").trigger()
    assert window.recent_state() == {"paths": []}


@pytest.mark.parametrize("values, rejected, kept", [
    ({}, [], ["/a.npz"]),
    ({"paths": "not a list"}, ["paths"], ["/a.npz"]),
    ({"paths": [1, None, "/b.ply", "", "/b.ply", "x\0y"]}, ["paths"], ["/b.ply"]),
    ({"paths": [f"/r{i}.npz" for i in range(12)]}, ["paths"],
     [f"/r{i}.npz" for i in range(8)]),
    ("garbage", ["paths"], ["/a.npz"]),
])
def test_recent_state_rejects_garbage(qtbot, window, values, rejected, kept):
    assert window.apply_recent_state({"paths": ["/a.npz"]}) == []
    assert window.apply_recent_state(values) == rejected
    assert window.recent_state() == {"paths": kept}


def test_the_open_controls_are_named_and_explained(qtbot, window):
    assert window.open_action.objectName() == "openAction"
    assert "Ctrl+O" in window.open_action.toolTip()
    assert window.open_action.shortcut().toString() == "Ctrl+O"
    assert window.acceptDrops()
    for action in window.recent_files.menu.actions():
        assert action.isSeparator() or (action.objectName() and action.toolTip())

