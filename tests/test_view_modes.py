"""The view toolbar on the window: camera presets and their keys, framing, zoom, the ring
view, colour by with its colour bar, the predicted clean cloud x0_hat, and their states."""

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QVector4D
from PySide6.QtWidgets import QComboBox, QToolBar

from poe_desktop.model.colour_by import VIRIDIS
from poe_desktop.model.frames import FrameSource
from poe_desktop.view.camera import (
    DISTANCE_RANGE,
    PRESETS,
    ZOOM_STEP,
    apply_camera_state,
    camera_state,
    view_direction,
)
from poe_desktop.view.draw import FAINT_ALPHA
from poe_engine.experts import MonochromeColorExpert
from poe_engine.product import Composition
from poe_engine.reward import ColorReward
from poe_engine.samplers import SamplerSettings, ais

from exact import exact_experts

pytestmark = pytest.mark.gui

AXIS = {"x": (1, 0, 0), "y": (0, 1, 0), "z": (0, 0, 1)}


def ndc(view, point) -> np.ndarray:
    """Where `point` lands on the view, in normalised device coordinates (x, y in [-1, 1]
    are on screen; NaN behind the camera), by the view's own matrices."""
    w, h = view.width(), view.height()
    m = view.projectionMatrix((0, 0, w, h), (0, 0, w, h)) * view.viewMatrix()
    clip = m.map(QVector4D(*map(float, point), 1.0))
    return np.array([clip.x(), clip.y()]) / clip.w() if clip.w() > 0 else np.full(2, np.nan)


def framed(view, points) -> bool:
    """Every point in view, the cloud filling a good part of it."""
    xy = np.array([ndc(view, p) for p in points])
    return bool(np.isfinite(xy).all() and np.abs(xy).max() < 1.0
                and np.ptp(xy, axis=0).max() > 0.8)


def small_frames(steps=6):
    """Frames of a small real run (exact experts), as the app builds them."""
    settings = SamplerSettings(particles=3, points=40, steps=steps, langevin_steps=1,
                               langevin_from=1.0, colour_moves=0,  # the classic moves
                               ess_threshold=1.0, keep_particles=True)
    product = Composition.of([*exact_experts(40).values(), MonochromeColorExpert()],
                             ColorReward("red"))
    return list(FrameSource(lambda: ais(product, settings, seed=1)))


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    window.activateWindow()  # window shortcuts need the active window
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.view3d, key, modifier)


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_each_axis_preset_looks_along_its_axis(window, axis):
    view = window.view3d
    window.view_toolbar.preset_actions[axis].trigger()
    assert abs(np.dot(view_direction(view), AXIS[axis])) == pytest.approx(1.0, abs=1e-9)
    # by the view's matrices: a step along that axis stays on the same pixel, the other
    # two axes move across the screen
    centre = np.array([0.5, 0.5, 0.5])
    for other, unit in AXIS.items():
        moved = np.linalg.norm(ndc(view, centre + 0.3 * np.array(unit)) - ndc(view, centre))
        assert (moved < 1e-6) if other == axis else (moved > 0.05)


def test_the_isometric_preset_looks_down_the_diagonal(window):
    window.view_toolbar.preset_actions["iso"].trigger()
    direction = view_direction(window.view3d)
    assert np.allclose(direction, -np.ones(3) / math.sqrt(3), atol=1e-9)


@pytest.mark.parametrize("key, axis", [(Qt.Key.Key_1, "x"), (Qt.Key.Key_2, "y"),
                                       (Qt.Key.Key_3, "z"), (Qt.Key.Key_0, "iso")])
def test_number_keys_pick_the_presets(qtbot, window, key, axis):
    view = window.view3d
    view.setCameraPosition(elevation=13.0, azimuth=71.0)
    press(qtbot, window, key)
    assert (view.opts["elevation"], view.opts["azimuth"]) == pytest.approx(PRESETS[axis])


def test_f_frames_a_cloud_far_from_the_centre(qtbot, window):
    view = window.view3d
    rng = np.random.default_rng(0)
    cloud = np.zeros((200, 6), np.float32)
    direction = rng.normal(size=(200, 3))
    cloud[:, :3] = 4.0 + 0.3 * direction / np.linalg.norm(direction, axis=1, keepdims=True)
    cloud[:, 3] = 1.0
    view.show_cloud(cloud)
    assert not framed(view, cloud[:, :3])
    press(qtbot, window, Qt.Key.Key_F)
    c = view.opts["center"]
    assert np.allclose([c.x(), c.y(), c.z()], 4.0, atol=0.05)
    assert framed(view, cloud[:, :3])


def test_zoom_keys_move_the_camera_in_and_out(qtbot, window):
    view = window.view3d
    start = view.opts["distance"]
    press(qtbot, window, Qt.Key.Key_Plus)
    assert view.opts["distance"] == pytest.approx(start / ZOOM_STEP)
    press(qtbot, window, Qt.Key.Key_Minus)
    press(qtbot, window, Qt.Key.Key_Minus)
    assert view.opts["distance"] == pytest.approx(start * ZOOM_STEP)
    press(qtbot, window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert view.opts["distance"] == pytest.approx(start)
    press(qtbot, window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view.opts["distance"] == pytest.approx(start * ZOOM_STEP)
    for _ in range(60):  # never through the centre or off to infinity
        window.view_toolbar.zoom_in_action.trigger()
    assert view.opts["distance"] == DISTANCE_RANGE[0]


def test_show_ring_looks_across_a_missing_axis_experts_band(window):
    toolbar, toggles = window.view_toolbar, window.experts_panel.toggles
    assert not toolbar.ring_action.isEnabled()  # every expert on: no ring
    toggles["x"].setChecked(False)
    assert toolbar.ring_action.isEnabled() and "x off" in toolbar.ring_action.text()
    toolbar.ring_action.trigger()
    # the band lies along x: seen along y, it runs across the screen, horizontally
    direction = view_direction(window.view3d)
    assert abs(direction[1]) == pytest.approx(1.0) and abs(direction[0]) < 1e-9
    step = ndc(window.view3d, (1.0, 0.5, 0.5)) - ndc(window.view3d, (0.0, 0.5, 0.5))
    assert abs(step[0]) > 0.3 and abs(step[1]) < 1e-6
    toggles["color"].setChecked(False)  # the colour expert has no ring
    assert toolbar.ring_action.isEnabled()
    toggles["y"].setChecked(False)  # two axes off: no single ring view
    assert not toolbar.ring_action.isEnabled()
    toggles["x"].setChecked(True)
    assert toolbar.ring_action.isEnabled() and "y off" in toolbar.ring_action.text()


def test_colour_by_colours_the_shown_cloud_and_the_colour_bar_follows(window):
    frames = small_frames()
    window.frames.extend(frames)
    window.display.show_frame(len(frames) - 1)
    view, bar = window.view3d, window.display.colour_bar
    combo = window.findChild(QComboBox, "colourByCombo")
    np.testing.assert_allclose(view.scatter.color[:, :3], frames[-1].cloud[:, 3:])
    assert not bar.isVisible()
    combo.setCurrentIndex(combo.findData("z"))
    z = frames[-1].cloud[:, 2]
    top, bottom = int(np.argmax(z)), int(np.argmin(z))
    np.testing.assert_allclose(view.scatter.color[top, :3], VIRIDIS[-1], atol=1e-6)
    np.testing.assert_allclose(view.scatter.color[bottom, :3], VIRIDIS[0], atol=1e-6)
    assert bar.isVisible()
    assert bar.labels() == ("z coordinate", f"{z.max():.3g}", f"{z.min():.3g}")
    assert bar.geometry().right() < view.width() and bar.geometry().top() >= 0
    # distance moved: from the shown particle's own position one step earlier
    combo.setCurrentIndex(combo.findData("moved"))
    moved = np.linalg.norm(frames[-1].cloud[:, :3] - frames[-1].trail[-2], axis=1)
    assert bar.labels()[1:] == (f"{moved.max():.3g}", f"{moved.min():.3g}")
    combo.setCurrentIndex(combo.findData("own"))
    assert not bar.isVisible()
    np.testing.assert_allclose(view.scatter.color[:, :3], frames[-1].cloud[:, 3:])


def test_the_denoised_toggle_draws_x0_hat_bright_over_x_t_faint(window):
    frames = small_frames()
    window.frames.extend(frames)
    window.display.show_frame(1)
    view, frame = window.view3d, frames[1]
    action = window.findChild(QAction, "denoisedAction")
    assert action is window.denoised_action and not view.denoised.visible()
    action.setChecked(True)
    assert view.denoised.visible()
    np.testing.assert_allclose(view.denoised.pos, frame.denoised[:, :3])
    np.testing.assert_allclose(view.denoised.color[:, :3], np.clip(frame.denoised[:, 3:], 0, 1))
    np.testing.assert_allclose(view.scatter.pos, frame.cloud[:, :3])  # x_t stays, faint
    assert np.allclose(view.scatter.color[:, 3], FAINT_ALPHA)
    # the colour bar's range is x0_hat's, x_t coloured on the same scale
    combo = window.findChild(QComboBox, "colourByCombo")
    combo.setCurrentIndex(combo.findData("radial"))
    r = np.abs(np.linalg.norm(frame.denoised[:, :3] - 0.5, axis=1) - 0.5)
    assert window.display.colour_bar.labels()[1:] == (f"{r.max():.3g}", f"{r.min():.3g}")
    # trails are x0_hat's along the shown particle's ancestry (gaps left out)
    window.trails_action.setChecked(True)
    window.display.show_frame(4)
    trail = frames[4].denoised_trail
    segments = np.stack([trail[:-1], trail[1:]], axis=2).reshape(-1, 2, 3)
    whole = segments[np.isfinite(segments).all(axis=(1, 2))]
    assert len(whole) > 0
    np.testing.assert_allclose(view.trails.pos, whole.reshape(-1, 3))
    action.setChecked(False)
    assert not view.denoised.visible()
    assert np.allclose(view.scatter.color[:, 3], 1.0)
    np.testing.assert_allclose(view.trails.pos[-2:], frames[4].trail[-2:, -1])


def test_the_view_toolbar_and_its_controls_are_named_and_explained(window):
    toolbar = window.findChild(QToolBar, "viewToolbar")
    assert toolbar is window.view_toolbar and toolbar.isVisible()
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    for action in toolbar.actions_for_menu():
        assert action.objectName() and action.toolTip() and action in view_menu.actions()
    assert "(F)" in toolbar.fit_action.toolTip() and "(1)" in toolbar.preset_actions["x"].toolTip()
    assert window.findChild(QComboBox, "colourByCombo").toolTip()
    assert window.display.colour_bar.objectName() == "colourBar"


def flat(state: dict) -> list:
    return [state["distance"], state["elevation"], state["azimuth"], *state["center"]]


def test_camera_state_round_trips_and_garbage_is_rejected(window):
    view = window.view3d
    assert apply_camera_state(view, {"distance": 3.5, "elevation": -20.0, "azimuth": 370.0,
                                     "center": [0.1, 0.2, 0.3]}) == []
    state = camera_state(view)
    assert sorted(state) == ["azimuth", "center", "distance", "elevation"]
    assert flat(state) == pytest.approx([3.5, -20.0, 10.0, 0.1, 0.2, 0.3])
    window.view3d.reset_camera()
    assert flat(camera_state(view)) != pytest.approx(flat(state))
    assert apply_camera_state(view, state) == []
    assert flat(camera_state(view)) == pytest.approx(flat(state))
    garbage = {"distance": -1, "elevation": 91, "azimuth": float("nan"), "center": [1, 2]}
    assert sorted(apply_camera_state(view, garbage)) == sorted(garbage)
    assert apply_camera_state(view, {"azimuth": 7210.0}) == []  # orbited 20 turns
    assert view.opts["azimuth"] == pytest.approx(10.0)
    for bad in ({"distance": "3"}, {"distance": True}, {"distance": 1e9},
                {"center": [0, 0, 11]}, {"azimuth": float("inf")},
                {"center": [0, 0, float("inf")]}, {"center": "0,0,0"}, {"center": [0, 0, None]},
                {"elevation": None}, {"azimuth": [1]}):
        assert apply_camera_state(view, bad) == list(bad)
    assert apply_camera_state(view, "not a dict") == ["camera"]
    assert apply_camera_state(view, {}) == []
    assert flat(camera_state(view)) == pytest.approx(flat(state))  # nothing bad got through


def test_view_modes_state_round_trips_and_garbage_is_rejected(window):
    toolbar = window.view_toolbar
    assert toolbar.state() == {"colour_by": "own", "denoised": False}
    assert toolbar.apply_state({"colour_by": "radial", "denoised": True}) == []
    assert toolbar.state() == {"colour_by": "radial", "denoised": True}
    assert window.display.colour_by == "radial" and window.display.denoised
    for bad in ({"colour_by": "plaid"}, {"colour_by": 3}, {"denoised": "yes"},
                {"denoised": 1}, {"colour_by": None}):
        assert toolbar.apply_state(bad) == list(bad)
    assert toolbar.apply_state([1, 2]) == ["view"]
    assert toolbar.state() == {"colour_by": "radial", "denoised": True}


def test_typing_a_digit_or_minus_in_a_spin_box_types_it_and_leaves_the_camera(qtbot, window):
    view, seed = window.view3d, window.sampler_panel.seed
    before = camera_state(view)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    seed.setFocus()
    qtbot.waitUntil(seed.hasFocus)
    seed.selectAll()
    for key in (Qt.Key.Key_3, Qt.Key.Key_1, Qt.Key.Key_0):
        qtbot.keyClick(seed, key)
    assert seed.value() == 310
    assert camera_state(view) == before
