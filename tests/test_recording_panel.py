"""The Recording panel as a person uses it: a default path under the home folder, a
question before a recording replaces a file, Record kept armed across runs (each run to
a new numbered file), its saved state, and a tooltip on every control."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from poe_desktop.panels import RecordingPanel
from poe_desktop.panels.recording import is_taken, next_free_path

pytestmark = pytest.mark.gui
TIMEOUT_MS = 120_000


@pytest.fixture
def panel(qtbot):
    widget = RecordingPanel()
    qtbot.addWidget(widget)
    return widget


def test_the_default_path_is_under_the_home_folder(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path / "..")  # not where the app started
    panel = RecordingPanel()
    qtbot.addWidget(panel)
    path = Path(panel.options()["path"])
    assert path.is_absolute() and path.is_relative_to(tmp_path)
    assert path == tmp_path / "poe-desktop" / "recordings" / "poe-run.mp4"
    assert str(path) in panel.path.toolTip()  # the whole path, however narrow the field
    width = panel.path.fontMetrics().horizontalAdvance("~/poe-desktop/recordings/poe-run.mp4")
    assert panel.path.minimumWidth() >= width


def test_next_free_path_numbers_files_and_folders(tmp_path):
    clip = tmp_path / "poe-run.mp4"
    assert next_free_path(str(clip)) == str(clip)  # free: itself
    clip.write_bytes(b"x")
    assert next_free_path(str(clip)) == str(tmp_path / "poe-run-2.mp4")
    (tmp_path / "poe-run-2.mp4").write_bytes(b"x")
    assert next_free_path(str(clip)) == str(tmp_path / "poe-run-3.mp4")
    assert next_free_path(str(tmp_path / "poe-run-2.mp4")) == str(tmp_path / "poe-run-3.mp4")
    frames = tmp_path / "frames"
    frames.mkdir()
    assert not is_taken(f"{frames}/")  # an empty folder replaces nothing
    (frames / "frame_00001.png").write_bytes(b"x")
    assert is_taken(f"{frames}/") and next_free_path(f"{frames}/") == f"{tmp_path}/frames-2/"


@pytest.mark.parametrize("answer", [True, False])
def test_record_asks_before_replacing_a_file(qtbot, window, tmp_path, answer):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"an earlier recording")
    asked = []
    window.recording_panel.ask_overwrite = lambda path: asked.append(path) or answer
    window.findChild(QLineEdit, "recordPathEdit").setText(str(clip))
    window.record_action.setChecked(True)
    assert asked == [str(clip)]
    assert (window.recorder is not None) == answer
    assert window.record_action.isChecked() == answer
    if not answer:
        assert clip.read_bytes() == b"an earlier recording"  # untouched
        assert window.last_error is None  # saying no is no error


def test_a_free_path_records_without_a_question(qtbot, window, tmp_path):
    window.recording_panel.ask_overwrite = lambda path: pytest.fail("asked for a free path")
    window.findChild(QLineEdit, "recordPathEdit").setText(f"{tmp_path / 'empty'}/")
    (tmp_path / "empty").mkdir()
    window.record_action.setChecked(True)
    assert window.recorder is not None


def tiny_run(window):
    for name, value in (("stepsSpin", 3), ("particlesSpin", 2), ("pointsSpin", 32),
                        ("langevinSpin", 0)):
        window.findChild(QSpinBox, name).setValue(value)
    window.findChild(QComboBox, "deviceCombo").setCurrentText("cpu")


def run_once(qtbot, window):
    with qtbot.waitSignal(window.runFinished, timeout=TIMEOUT_MS):
        assert window.run()


RUN_FRAMES = 3 * 32  # a 3-step run: each step 32 frames, so that it lasts 4 s at 24 fps


def frames_in(folder: Path) -> int:
    return len(list(folder.glob("frame_*.png"))) if folder.is_dir() else 0


@pytest.mark.parametrize("keep_armed", [True, False])
def test_keep_armed_records_the_next_run_to_a_new_name(qtbot, window, tmp_path, keep_armed):
    tiny_run(window)
    panel = window.recording_panel
    panel.ask_overwrite = lambda path: pytest.fail(f"asked to replace {path}")
    panel.format.setCurrentText("PNG frames")
    panel.size.setCurrentText("640x640")
    panel.hold.setValue(0)
    panel.path.setText(f"{tmp_path / 'poe-run'}/")
    window.findChild(QCheckBox, "recordKeepArmedCheck").setChecked(keep_armed)
    window.record_action.setChecked(True)
    run_once(qtbot, window)
    assert frames_in(tmp_path / "poe-run") == RUN_FRAMES and not window.record_action.isChecked()
    assert panel.path.text() == (f"{tmp_path / 'poe-run-2'}/" if keep_armed
                                 else f"{tmp_path / 'poe-run'}/")
    run_once(qtbot, window)
    assert frames_in(tmp_path / "poe-run") == RUN_FRAMES  # the first recording stays as it was
    assert frames_in(tmp_path / "poe-run-2") == (RUN_FRAMES if keep_armed else 0)
    if keep_armed:
        assert window.last_recording == str(tmp_path / "poe-run-2")
        run_once(qtbot, window)  # and so on
        assert frames_in(tmp_path / "poe-run-3") == RUN_FRAMES


def test_stopping_the_recording_by_hand_disarms_it(qtbot, window, tmp_path):
    tiny_run(window)
    panel = window.recording_panel
    panel.keep_armed.setChecked(True)
    panel.format.setCurrentText("PNG frames")
    panel.path.setText(f"{tmp_path / 'rec'}/")
    panel.size.setCurrentText("640x640")
    window.record_action.setChecked(True)
    window.record_action.setChecked(False)  # the user changed their mind before the run
    run_once(qtbot, window)
    assert frames_in(tmp_path / "rec") == 0 and not panel.armed
    assert window.recorder is None and not window.record_action.isChecked()


def test_browse_chooses_a_folder_for_frames_and_a_file_otherwise(qtbot, panel, tmp_path,
                                                                 monkeypatch):
    calls = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda *a, **k: calls.append("folder") or str(tmp_path / "shots"))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: calls.append("file") or (str(tmp_path / "clip"), ""))
    panel.format.setCurrentText("PNG frames")
    panel.findChild(QPushButton, "recordBrowseButton").click()
    assert panel.path.text() == f"{tmp_path / 'shots'}/"
    panel.format.setCurrentText("GIF")
    panel.findChild(QPushButton, "recordBrowseButton").click()
    assert panel.path.text() == str(tmp_path / "clip.gif")  # the format's suffix added
    assert calls == ["folder", "file"]


def test_state_round_trips(qtbot, panel):
    values = {"format": "GIF", "size": "1280x720", "overlay": False, "turntable": True,
              "hold_seconds": 3.5, "path": "/somewhere/clip.gif", "keep_armed": True,
              "save_particles": True}
    assert panel.apply_state(values) == []
    assert panel.state() == values
    other = RecordingPanel()
    qtbot.addWidget(other)
    assert other.apply_state(panel.state()) == [] and other.state() == values
    assert other.options()["path"] == "/somewhere/clip.gif"


@pytest.mark.parametrize("values, rejected", [
    ({"format": "AVI", "size": "3x3", "overlay": "yes", "turntable": 1,
      "hold_seconds": float("nan"), "path": "", "keep_armed": None, "save_particles": 1},
     ["format", "size", "overlay", "turntable", "keep_armed", "save_particles", "hold_seconds",
      "path"]),
    ({"hold_seconds": 11.0, "path": "a\0b", "size": ["800x800"]},
     ["size", "hold_seconds", "path"]),
    ({"hold_seconds": True, "path": 5, "format": None}, ["format", "hold_seconds", "path"]),
    ({}, []),
])
def test_state_rejects_garbage_and_keeps_the_values(qtbot, panel, values, rejected):
    before = panel.state()
    assert sorted(panel.apply_state(values)) == sorted(rejected)
    assert panel.state() == before
    assert panel.apply_state("not a dict") == ["values"]


def test_every_control_is_named_and_explained(qtbot, panel):
    inner = QComboBox | QDoubleSpinBox  # their own line edits are parts, not controls
    controls = [w for cls in (QComboBox, QCheckBox, QDoubleSpinBox, QLineEdit, QPushButton)
                for w in panel.findChildren(cls)
                if not (isinstance(w, QLineEdit) and isinstance(w.parent(), inner))]
    assert len(controls) == 10  # Restore defaults included
    for widget in controls:
        assert widget.objectName() and widget.toolTip(), widget
    assert panel.findChild(QCheckBox, "recordKeepArmedCheck") is panel.keep_armed
    assert panel.findChild(QCheckBox, "exportParticlesCheck") is panel.save_particles
