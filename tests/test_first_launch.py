"""Issue 22, sections 4 and 5: a first launch that teaches (the view's hint, the window's
first size, the cube's labels apart) and a command line that says what it does (the
device it took, a missing CUDA as an error, a progress bar on a terminal only)."""

import io
import sys

import pytest

from poe_engine.cli import main

QUICK = ["--preset", "classic", "--steps", "6", "--points", "32", "--particles", "2",
         "--langevin", "1"]
CUDA_ERROR = ("poe-engine sample: error: --device cuda: CUDA is not available on this machine "
              "(torch.cuda.is_available() is False); use --device cpu or auto")


@pytest.fixture
def no_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_device_cuda_without_cuda_exits_2_naming_the_problem(no_cuda, tmp_path, capsys):
    assert main(["sample", *QUICK, "--device", "cuda", "--out", str(tmp_path / "r.npz")]) == 2
    assert capsys.readouterr().err.strip() == CUDA_ERROR


def test_device_auto_says_which_device_it_took(no_cuda, tmp_path, capsys):
    assert main(["sample", *QUICK, "--device", "auto", "--out", str(tmp_path / "r.npz")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines.count("device: cpu (no CUDA)") == 1


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_sample_shows_progress_on_a_terminal_only(no_cuda, tmp_path, monkeypatch, terminal):
    err = FakeTerminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["sample", *QUICK, "--device", "cpu", "--out", str(tmp_path / "r.npz")]) == 0
    text = err.getvalue()
    assert ("sampling" in text and "6/6" in text) == terminal
    if not terminal:
        assert text == ""


# ------------------------------------------------------------------ the app (needs a display)
def small_run(window, steps=4):
    sp = window.sampler_panel
    sp.particles.setValue(2)
    sp.points.setValue(32)
    sp.steps.setValue(steps)
    sp.langevin.setValue(1)
    sp.device.setCurrentText("cpu")


def test_the_empty_view_shows_a_hint_until_the_first_run(qtbot, window):
    from PySide6.QtWidgets import QWidget

    hint = window.findChild(QWidget, "viewHint")
    assert hint is not None and hint.parentWidget() is window.view3d
    assert hint.isVisible()
    for words in ("F5", "orbit", "zoom", "1 / 2 / 3 / 0"):
        assert words in hint.text()
    assert hint.colours()[0].lightness() > 160  # light text on the dark view
    window.view3d.setBackgroundColor((245, 245, 245))
    assert hint.colours()[0].lightness() < 100  # dark text on a light one
    view = window.view3d.geometry()
    assert window.view3d.rect().contains(hint.geometry()), (hint.geometry(), view)
    small_run(window)
    with qtbot.waitSignal(window.session.finished, timeout=60_000):
        assert window.run()
    assert not hint.isVisible()
    window.reset()
    qtbot.waitUntil(hint.isVisible, timeout=5000)


def test_the_window_opens_at_80_percent_of_the_screen(window):
    from PySide6.QtGui import QGuiApplication

    free = QGuiApplication.primaryScreen().availableGeometry()
    assert abs(window.width() - 0.8 * free.width()) <= 0.05 * free.width(), window.size()
    assert abs(window.height() - 0.8 * free.height()) <= 0.05 * free.height(), window.size()


@pytest.mark.parametrize("preset", [None, "iso", "x", "y", "z"])
def test_the_cube_labels_do_not_overlap(qtbot, preset):
    from poe_desktop.view.camera import apply_preset
    from poe_desktop.view.view3d import CloudView

    view = CloudView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    if preset is not None:
        apply_preset(view, preset)
    labels = view.axes.cube_labels(640, 480)
    zeros = [rect for _, text, _, rect in labels if text == "0"]
    assert len(zeros) == 3
    for i, (_, text, _, rect) in enumerate(labels):
        for _, other_text, _, other in labels[i + 1:]:
            assert not rect.intersects(other), (preset, text, other_text, rect, other)


def test_record_with_cuda_missing_exits_2_naming_the_problem(no_cuda, tmp_path, capsys):
    from poe_desktop.app import main as desktop_main

    assert desktop_main(["record", "--device", "cuda", "--out", str(tmp_path / "r.gif")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("poe-desktop record: error: --device cuda: CUDA is not available on this "
                   "machine (torch.cuda.is_available() is False); use --device cpu or auto")


def test_axis_presets_look_orthographically_and_keep_what_is_in_view(qtbot):
    import math

    from poe_desktop.view.camera import ORTHO_FOV, apply_preset, camera_state
    from poe_desktop.view.draw import look_camera
    from poe_desktop.view.view3d import CAMERA, CloudView

    view = CloudView()
    qtbot.addWidget(view)
    view.resize(640, 480)

    def seen() -> float:  # the half-width the view holds at the centre's depth
        return view.opts["distance"] * math.tan(math.radians(view.opts["fov"]) / 2)

    before = seen()
    apply_preset(view, "x")
    assert view.opts["fov"] == ORTHO_FOV and seen() == pytest.approx(before)
    assert look_camera(view)["fov"] == ORTHO_FOV  # the Look's camera says so too
    # saved as the perspective that shows as much
    assert camera_state(view)["distance"] == pytest.approx(CAMERA["distance"])
    apply_preset(view, "iso")
    assert view.opts["fov"] == 60.0 and seen() == pytest.approx(before)


def test_a_drag_to_orbit_leaves_the_orthographic_look(qtbot):
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from poe_desktop.view.camera import apply_preset
    from poe_desktop.view.view3d import CloudView

    view = CloudView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    apply_preset(view, "z")
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, at, button in ((QEvent.Type.MouseButtonPress, (300, 200), left),
                             (QEvent.Type.MouseMove, (320, 210), none)):
        event = QMouseEvent(kind, QPointF(*at), view.mapToGlobal(QPointF(*at)), button,
                            left, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view, event)
    assert view.opts["fov"] == 60.0
