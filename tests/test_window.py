"""The window as a person uses it: it fits a laptop screen, its status bar tells the truth,
what a person set comes back at the next launch, every control says what it does, and
one theme covers panels, plots and view."""

import json
import os

import pyqtgraph as pg
import pytest
from pyqtgraph import Vector
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QLineEdit,
    QSlider,
    QTabBar,
    QTableWidget,
    QToolBar,
)

from poe_desktop import MainWindow
from poe_desktop.window.help import app_version, shortcuts
from poe_desktop.window.settings import KEYS, read_settings
from poe_desktop.window.state import SETTINGS_RESET_NOTE, registry
from poe_desktop.window.status import LATE_T
from poe_desktop.window.theme import THEMES, plot_items

pytestmark = pytest.mark.gui


def small_run(window, steps=12):
    sp = window.sampler_panel
    sp.particles.setValue(2)
    sp.points.setValue(32)
    sp.steps.setValue(steps)
    sp.langevin.setValue(1)
    sp.device.setCurrentText("cpu")


def paused_after(qtbot, window, step, steps=12):
    """A small run, paused right after `step` (1-based)."""
    small_run(window, steps)
    with qtbot.waitSignal(window.session.pausedAt, timeout=60_000):
        assert window.run(pause_after=step)
    qtbot.waitUntil(lambda: len(window.frames) == step, timeout=10_000)
    window.display.draw_pending()


def area(widget):
    return widget.width() * widget.height() if widget.isVisible() else 0


# ------------------------------------------------------------------ 1. a laptop screen
def test_the_window_can_shrink_to_a_laptop_screen(window):
    least = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert least.height() <= 700 and least.width() <= 1024, least


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)])
def test_the_view_is_the_largest_part_of_the_window(qtbot, window, size):
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=5000)
    qtbot.wait(100)
    view = area(window.view3d)
    docks = {d.objectName(): area(d) for d in window.findChildren(QDockWidget)}
    assert all(view > a for a in docks.values()), (view, docks)
    assert view >= 0.3 * size[0] * size[1]


def test_docks_can_be_tabbed_together_and_hidden(qtbot, window):
    experts, reward = (window.findChild(QDockWidget, n) for n in ("expertsDock", "rewardDock"))
    window.tabifyDockWidget(experts, reward)
    assert reward in window.tabifiedDockWidgets(experts)
    reward.raise_()
    qtbot.waitUntil(lambda: reward.isVisible() and experts.visibleRegion().isEmpty(),
                    timeout=3000)
    reward.toggleViewAction().trigger()  # View › Reward colour
    assert reward.isHidden()
    reward.toggleViewAction().trigger()
    assert not reward.isHidden()


def test_tall_panels_scroll_instead_of_growing_the_window(window):
    sampler_dock = window.findChild(QDockWidget, "samplerDock")
    assert sampler_dock.widget().widget() is window.sampler_panel
    assert sampler_dock.minimumSizeHint().height() < window.sampler_panel.minimumSizeHint(
        ).height()


# ------------------------------------------------------------------ 2. the status bar
def test_a_paused_run_says_where_and_run_reads_resume(qtbot, window):
    paused_after(qtbot, window, 3)
    message = window.statusBar().currentMessage()
    assert message.startswith("Paused after step 3 of 12"), message
    assert window.run_action.text() == "Resume" and "F5" in window.run_action.toolTip()
    assert window.display.rate_label.text() == "paused"
    window.step()
    qtbot.waitUntil(lambda: len(window.frames) == 4, timeout=10_000)
    assert window.statusBar().currentMessage().startswith("Paused after step 4 of 12")
    window.toggle_pause()  # resume
    assert window.run_action.text() == "Run"
    assert "Paused" not in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.runFinished, timeout=60_000):
        pass
    assert window.run_action.text() == "Run"
    rate = window.display.rate_label.text()
    assert "steps/s" in rate and "left" not in rate, rate  # a finished run waits for nothing


def test_reset_clears_the_status_bar(qtbot, window):
    paused_after(qtbot, window, 4)
    d = window.display
    assert d.step_label.text() == "step 4 of 12" and d.progress.value() == 4
    window.reset_action.trigger()
    qtbot.wait(300)  # anything the ended run still had queued has landed
    assert (d.step_label.text(), d.t_label.text(), d.rate_label.text(),
            d.device_label.text()) == ("step –", "t –", "– steps/s", "device –")
    assert d.progress.value() == d.progress.minimum() - 1  # no progress, no "0 %"
    assert window.statusBar().currentMessage() == "Ready"
    assert window.run_action.text() == "Run" and not window.frames


def test_a_late_reward_colour_is_said_to_be_maybe_out_of_reach(qtbot, window):
    paused_after(qtbot, window, 2, steps=10)
    window.reward_panel.set_color("blue")
    assert window.late_color_warning is None  # early: t is high
    for _ in range(8):
        if window.frames[-1].t < LATE_T:
            break
        count = len(window.frames)
        window.step()
        qtbot.waitUntil(lambda c=count: len(window.frames) > c, timeout=10_000)
    assert window.frames[-1].t < LATE_T
    window.reward_panel.set_color("green")
    message = window.statusBar().currentMessage()
    assert "may not reach" in message and "green" in message, message
    window.stop()


# ------------------------------------------------------------------ 3. remembered
def set_everything(window):
    window.sampler_panel.seed.setValue(77)
    window.experts_panel.toggles["y"].setChecked(False)
    window.experts_panel.weights["z"].setValue(1.7)
    window.experts_panel.reward.setChecked(False)
    window.reward_panel.set_color("orange")
    window.reward_panel.strength.setValue(450.0)
    window.toolbar.point_size.setValue(9.5)
    window.trails_action.setChecked(True)
    window.cube_action.setChecked(False)
    window.sphere_action.setChecked(False)
    window.view3d.setCameraPosition(pos=Vector(0.4, 0.5, 0.6), distance=4.0, elevation=-12,
                                    azimuth=123)
    window.theme_actions["light"].trigger()


def check_everything(window):
    assert window.sampler_panel.seed.value() == 77
    ep = window.experts_panel
    assert ep.enabled_experts() == ["x", "z", "color"]
    assert ep.weights["z"].value() == pytest.approx(1.7) and not ep.reward.isChecked()
    assert window.reward_panel.color == "orange" and window.reward_panel.custom.isChecked()
    assert window.reward_panel.strength.value() == 450.0
    assert window.toolbar.point_size.value() == 9.5
    assert window.view3d.point_size == 9.5
    assert window.trails_action.isChecked() and window.display.trails
    assert not window.cube_action.isChecked() and not window.view3d.cube.visible()
    assert not window.sphere_action.isChecked()
    o = window.view3d.opts
    assert (o["distance"], o["elevation"], o["azimuth"]) == (4.0, -12, 123)
    assert list(o["center"]) == pytest.approx([0.4, 0.5, 0.6])
    assert window.theme == "light" and window.theme_actions["light"].isChecked()


def test_everything_a_person_set_comes_back_at_the_next_launch(qtbot):
    first = MainWindow()
    qtbot.addWidget(first)
    set_everything(first)
    first.close()
    saved, damaged = read_settings()
    assert not damaged and set(registry(first)) <= set(saved)
    second = MainWindow()
    qtbot.addWidget(second)
    check_everything(second)
    assert second.statusBar().currentMessage() != SETTINGS_RESET_NOTE
    second.close()
    second.theme_actions["dark"].trigger()  # the palette is the app's: the next tests start dark


def test_every_registry_entry_has_a_key_in_the_settings_file(window):
    assert set(registry(window)) <= set(KEYS)


GARBAGE = ["{", "[1, 2]", "null", "7", '"text"',
           json.dumps({"color": 5, "strength": "x", "enabled": {"w": True}, "weights": [1],
                       "reward": "yes", "size": 1e9, "trails": 1,
                       "cube": None, "sphere": "on", "distance": -1, "elevation": 400,
                       "azimuth": "east", "center": [0, 0], "name": "purple",
                       "seed": -5, "sampler": 3}),
           json.dumps({"weights": {"x": -3}, "distance": 1e300, "center": ["a", 0, 0],
                       "color": "#12345", "name": None, "size": True, "strength": 1e99})]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_for_every_key_keeps_the_defaults_with_a_note(qtbot, garbage):
    path = os.environ["POE_DESKTOP_SETTINGS"]
    keys = [k for k in KEYS if k not in ("geometry", "windowState")]
    with open(path, "w", encoding="utf-8") as f:
        f.write("[General]\n" + "".join(f"{k}={garbage}\n" for k in keys))
    window = MainWindow()  # no exception
    qtbot.addWidget(window)
    assert window.statusBar().currentMessage() == SETTINGS_RESET_NOTE
    assert window.reward_panel.color == "red" and window.reward_panel.strength.value() == 300
    assert window.experts_panel.enabled_experts() == ["x", "y", "z", "color"]
    assert all(s.value() == 1.0 for s in window.experts_panel.weights.values())
    assert window.toolbar.point_size.value() == 6.0
    assert window.cube_action.isChecked() and not window.trails_action.isChecked()
    assert window.view3d.opts["distance"] == 2.6 and window.theme == "dark"
    assert window.sampler_panel.seed.value() == 0
    window.close()


def test_a_run_configuration_s_panels_are_not_saved_as_the_user_s(qtbot, tmp_path):
    first = MainWindow()
    qtbot.addWidget(first)
    first.reward_panel.set_color("teal")
    first.experts_panel.weights["x"].setValue(2.0)
    first.close()
    config = {"format": "poe-run-config/1", "reward": "blue", "experts": "x,y",
              "device": "cpu"}
    from_file = MainWindow(config=config)
    qtbot.addWidget(from_file)
    assert from_file.reward_panel.color == "blue"
    from_file.toolbar.point_size.setValue(12.0)  # not the configuration's: saved
    from_file.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.reward_panel.color == "teal"
    assert again.experts_panel.weights["x"].value() == 2.0
    assert again.experts_panel.enabled_experts() == ["x", "y", "z", "color"]
    assert again.toolbar.point_size.value() == 12.0
    again.close()


# ------------------------------------------------------------------ 4. tooltips, help
def test_every_control_says_what_it_does(window):
    kinds = (QAbstractButton, QComboBox, QAbstractSpinBox, QSlider, QLineEdit)
    silent = []
    for kind in kinds:
        for widget in window.findChildren(kind):
            if isinstance(widget.parent(), QAbstractSpinBox | QComboBox | QLineEdit | QTabBar):
                continue  # parts of a spin box, combo, line edit (clear) or tab bar (scroll)
            if widget.objectName().startswith("qt_") or type(widget).__name__ in (
                    "QDockWidgetTitleButton", "QToolBarExtension", "QTabBar"):
                continue  # Qt's own parts of docks and toolbars
            if not widget.toolTip().strip():
                silent.append(f"{type(widget).__name__} {widget.objectName()!r}")
    for bar in window.findChildren(QToolBar):
        for action in bar.actions():
            if not action.isSeparator() and action.text() and not action.toolTip().strip():
                silent.append(f"action {action.text()!r}")
            if action.text() and action.toolTip() == action.text().replace("&", ""):
                silent.append(f"action {action.text()!r} (Qt's default tooltip)")
    tabs = window.stats_panel.tabs
    silent += [f"tab {tabs.tabText(i)}" for i in range(tabs.count()) if not tabs.tabToolTip(i)]
    assert not silent, silent
    assert "F5" in window.run_action.toolTip() and "F10" in window.step_action.toolTip()


def test_the_shortcuts_dialog_lists_the_window_s_own_shortcuts(qtbot, window):
    rows = dict(shortcuts(window))
    assert rows["Run"] == "F5" and rows["Step"] == "F10" and rows["Pause"] == "Space"
    assert rows["Reset camera"] == "Home" and rows["Keyboard shortcuts"] == "F1"
    window.shortcuts_action.trigger()
    dialog = window.shortcuts_dialog
    qtbot.waitExposed(dialog)
    table = dialog.findChild(QTableWidget, "shortcutsTable")
    listed = {table.item(i, 0).text(): table.item(i, 1).text() for i in range(table.rowCount())}
    assert listed == rows
    dialog.close()


def test_about_shows_the_installed_version():
    from importlib import metadata

    try:
        expected = metadata.version("poe-desktop")
    except metadata.PackageNotFoundError:
        expected = "dev"
    assert app_version() == expected


# ------------------------------------------------------------------ 5. theme
def test_one_theme_covers_panels_plots_and_view(window):
    for name, theme in THEMES.items():
        window.theme_actions[name].trigger()
        app = QApplication.instance()
        assert app.palette().color(QPalette.ColorRole.Window).name() == theme.window
        plots = window.findChildren(pg.GraphicsView)  # plot widgets and layout views
        assert sum(len(plot_items(p)) for p in plots) >= 6
        for plot in plots:
            assert plot.backgroundBrush().color().name() == theme.plot_background
            for item in plot_items(plot):
                assert item.getAxis("left").textPen().color().name() == theme.plot_foreground
        stats = window.stats_panel.ess_plot  # its own legend row and cursor follow too
        assert stats.legend_row.text_color.name() == theme.plot_foreground
        assert stats.step_cursor.pen.color().name() == theme.plot_foreground
        rgb = window.view3d.opts["bgcolor"][:3]
        assert tuple(round(255 * c) for c in rgb) == theme.view_background
    window.theme_actions["dark"].trigger()


# ------------------------------------------------------------------ 7. colour names
def test_the_reward_panel_takes_css_names_and_refuses_others(window):
    panel = window.reward_panel
    panel.name_edit.setText("Orange")
    assert panel.take_typed_color()
    assert panel.color == "orange" and panel.custom.isChecked()
    assert not panel.name_error.isVisible()
    panel.name_edit.setText("purplish")
    assert not panel.take_typed_color()
    assert panel.color == "orange" and panel.name_error.isVisible()
    assert "unknown colour 'purplish'" in panel.name_error.text()
    panel.name_edit.setText("white")
    assert panel.take_typed_color() and panel.buttons["white"].isChecked()
