"""Each panel and the timeline bar on its own: no window, no sampler. What a panel shows
comes in through its methods; what the user did goes out by its signals."""

from __future__ import annotations

import gc
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QPushButton

from poe_desktop.panels import (
    ExpertsPanel,
    PopulationPanel,
    RecordingPanel,
    RewardPanel,
    SamplerPanel,
    StatsPanel,
    TimelineBar,
)
from poe_desktop.panels.reward import REWARD_COLORS
from poe_engine.experts import EXPERT_NAMES

pytestmark = pytest.mark.gui


def made(qtbot, widget_class):
    widget = widget_class()
    qtbot.addWidget(widget)
    return widget


# --------------------------------------------------------------------------- experts


def test_experts_panel_has_a_toggle_and_a_weight_per_expert(qtbot):
    panel = made(qtbot, ExpertsPanel)
    assert list(panel.toggles) == list(EXPERT_NAMES)
    for name in EXPERT_NAMES:
        assert panel.toggles[name].objectName() == f"expertToggle_{name}"
        assert panel.weights[name].objectName() == f"expertWeight_{name}"
    assert panel.reward.objectName() == "rewardToggle"
    assert panel.enabled_experts() == list(EXPERT_NAMES)


def test_experts_panel_says_what_the_user_switched_and_weighed(qtbot):
    panel = made(qtbot, ExpertsPanel)
    with qtbot.waitSignal(panel.expertToggled, timeout=1000) as toggled:
        panel.toggles["y"].click()
    assert toggled.args == ["y", False]
    assert panel.enabled_experts() == [n for n in EXPERT_NAMES if n != "y"]
    with qtbot.waitSignal(panel.weightChanged, timeout=1000) as weighed:
        panel.weights["color"].setValue(2.5)
    assert weighed.args == ["color", 2.5]
    with qtbot.waitSignal(panel.rewardToggled, timeout=1000) as reward:
        panel.reward.click()
    assert reward.args == [False]


# --------------------------------------------------------------------------- reward


def test_reward_panel_swatches_select_one_colour(qtbot):
    panel = made(qtbot, RewardPanel)
    assert panel.color == "red" and panel.buttons["red"].isChecked()
    green = panel.findChild(QPushButton, "rewardColor_green")
    with qtbot.waitSignal(panel.colorChanged, timeout=1000) as changed:
        green.click()
    assert changed.args == ["green"] and panel.color == "green"
    assert [n for n, b in panel.buttons.items() if b.isChecked()] == ["green"]
    for name, hex_ in REWARD_COLORS.items():  # each swatch in its colour
        assert f"background: {hex_}" in panel.buttons[name].styleSheet()
    assert "color: #111" in panel.buttons["white"].styleSheet()  # legible: dark on light
    assert "color: #fff" in panel.buttons["green"].styleSheet()  # and light on dark


def test_reward_panel_set_color_takes_names_and_any_hex(qtbot):
    panel = made(qtbot, RewardPanel)
    with qtbot.waitSignal(panel.colorChanged, timeout=1000) as changed:
        panel.set_color("BLUE")
    assert changed.args == ["blue"] and panel.buttons["blue"].isChecked()
    with qtbot.waitSignal(panel.colorChanged, timeout=1000) as changed:
        panel.set_color("#00FF80")
    assert changed.args == ["#00ff80"] and panel.color == "#00ff80"
    assert panel.custom.isChecked() and not panel.buttons["blue"].isChecked()
    assert "#00ff80" in panel.custom.text() and "background: #00ff80" in panel.custom.styleSheet()


def test_reward_panel_strength_keeps_an_exact_value(qtbot):
    panel = made(qtbot, RewardPanel)
    with qtbot.waitSignal(panel.strengthChanged, timeout=1000) as changed:
        panel.strength.setValue(150.0)
    assert changed.args == [150.0]
    panel.strength.set_exact(123.456)
    assert panel.strength.exact_value() == 123.456  # more digits than the box shows


# --------------------------------------------------------------------------- sampler


def test_sampler_panel_values_round_trip(qtbot):
    panel = made(qtbot, SamplerPanel)
    changed = {"sampler": "euler", "device": "cpu", "seed": 42, "particles": 3, "points": 96,
               "steps": 17, "langevin_steps": 2, "kappa": 0.0125, "precision": "fp32"}
    assert panel.apply(changed) == []
    values = panel.values()
    assert {k: values[k] for k in changed} == changed  # kappa exact, not the 0.013 shown
    assert panel.settings().kappa == 0.0125 and panel.settings().steps == 17
    other = made(qtbot, SamplerPanel)
    assert other.apply(values) == [] and other.values() == values


def test_sampler_panel_refuses_bad_values_and_keeps_its_own(qtbot):
    panel = made(qtbot, SamplerPanel)
    before = panel.values()
    bad = {"particles": 0, "seed": "7", "steps": True, "kappa": math.nan, "sampler": "nope",
           "precision": 16, "langevin_steps": 10**9}
    assert sorted(panel.apply({**bad, "points": 64})) == sorted(bad)
    assert panel.values() == {**before, "points": 64}


def test_sampler_panel_while_running_only_the_pace_can_change(qtbot):
    """Idle, every input that applies to the chosen settings is enabled (tests/
    test_settings_apply.py: the others); running, the pace alone; after, as before."""
    panel = made(qtbot, SamplerPanel)
    inputs = panel.findChildren(QAbstractSpinBox) + panel.findChildren(QComboBox)
    idle = [w.objectName() for w in inputs if w.isEnabled()]
    assert "paceCombo" in idle and "samplerCombo" in idle and "scheduleTargetSpin" in idle
    panel.set_running(True)
    assert [w.objectName() for w in inputs if w.isEnabled()] == ["paceCombo"]
    with qtbot.waitSignal(panel.paceChanged, timeout=1000) as paced:
        panel.pace.setCurrentText("10 steps/s")
    assert paced.args == [10.0] and panel.pace_value() == 10.0
    panel.set_running(False)
    assert [w.objectName() for w in inputs if w.isEnabled()] == idle


# --------------------------------------------------------------------------- stats


def fake_frames(count: int, particles: int = 4) -> list[SimpleNamespace]:
    return [SimpleNamespace(index=i, ess=float(particles - i % 3), resampled=i % 2 == 1,
                            radial_error=0.1 / (i + 1), off_sphere=0.5 / (i + 1),
                            chamfer=0.2 / (i + 1),
                            log_weights=np.linspace(-1.0, 0.0, particles, dtype=np.float32))
            for i in range(count)]


def data_length(curve: pg.PlotDataItem) -> int:
    x, _ = curve.getData()
    return 0 if x is None else len(x)


def test_stats_panel_plots_every_frame_and_clears(qtbot):
    panel = made(qtbot, StatsPanel)
    panel.update_from(fake_frames(5))
    assert [data_length(c) for c in (panel.ess_curve, panel.radial_curve, panel.off_curve,
                                     panel.chamfer_curve)] == [5, 5, 5, 5]
    assert list(panel.ess_curve.getData()[0]) == [1, 2, 3, 4, 5]  # steps, 1-based
    assert list(panel.resample_marks.getData()[0]) == [2, 4]
    heights = panel.weight_bars.opts["height"]  # log-weights vs the best, over the floor
    assert len(heights) == 4 and np.isclose(np.max(heights), -panel.weight_bars.opts["y0"])
    assert np.argmax(heights) == 3  # the largest log-weight
    panel.update_from([])  # nothing new: the plots stay
    assert data_length(panel.ess_curve) == 5
    panel.clear()
    assert [data_length(c) for c in (panel.ess_curve, panel.resample_marks, panel.radial_curve,
                                     panel.off_curve, panel.chamfer_curve)] == [0] * 5
    assert len(panel.weight_bars.opts["height"]) == 0


def population_frames(count: int, particles: int = 3) -> list[SimpleNamespace]:
    """Fake frames with the population's values: resampling at steps 2 and 4 (1-based),
    acceptance only from step 3 on (NaN before), per-particle rewards."""
    frames = fake_frames(count, particles)
    for f in frames:
        f.reward_scale = (f.index + 1) / count
        f.acceptance = 0.5 if f.index >= 2 else math.nan
        f.log_z = -0.1 * f.index
        f.rewards = np.arange(particles, dtype=np.float32) * f.index
        f.ancestors = np.zeros(particles, dtype=np.int64) if f.resampled else None
    return frames


def test_stats_panel_plots_the_population_in_its_own_tabs(qtbot):
    panel = made(qtbot, StatsPanel)
    assert [panel.tabs.tabText(i) for i in range(panel.tabs.count())] == [
        "Run", "Particles", "Genealogy"]
    panel.update_from(population_frames(5))
    assert data_length(panel.scale_curve) == 5 and data_length(panel.log_z_curve) == 5
    assert list(panel.acceptance_curve.getData()[0]) == [3, 4, 5]  # NaN left out
    assert len(panel.reward_curves) == 3
    assert all(data_length(c) == 5 for c in panel.reward_curves)
    # 4 steps joined to the next, 3 particles each: 12 segments of 2 points
    assert data_length(panel.genealogy_lines) == 2 * 4 * 3
    # step 4 (0-based 3) resampled everyone from particle 0: one ancestor before step 5
    assert list(panel.ancestors_curve.getData()[1]) == [1, 1, 1, 1, 3]
    panel.clear()  # the curves are kept, empty, for the next run of as many particles
    assert all(data_length(c) == 0 for c in panel.reward_curves)
    assert data_length(panel.genealogy_lines) == 0
    panel.update_from(fake_frames(3))  # frames without the population: defaults
    assert list(panel.scale_curve.getData()[1]) == [1.0, 1.0, 1.0]
    assert data_length(panel.acceptance_curve) == 0 and panel.reward_curves == []
    assert list(panel.ancestors_curve.getData()[1]) == [4, 4, 4]  # no ancestors known


def test_population_panel_draws_a_tile_a_particle_faded_by_weight(qtbot):
    panel = made(qtbot, PopulationPanel)
    panel.resize(300, 240)
    with qtbot.waitExposed(panel):
        panel.show()
    cloud = np.zeros((16, 6), dtype=np.float32)
    cloud[:, :3], cloud[:, 3] = 0.5, 1.0  # red, at the centre
    frame = SimpleNamespace(index=0, particles=np.stack([cloud] * 4),
                            log_weights=np.log(np.array([0.1, 0.2, 0.3, 0.4])))
    panel.show_frame(frame)
    qtbot.waitUntil(lambda: panel.drawn is frame, timeout=2000)
    assert len(panel.tiles) == 4 and np.allclose(panel.weights, [0.1, 0.2, 0.3, 0.4])
    cols, rows, side = panel.grid()
    assert cols * rows >= 4 and side > 40
    renders = panel.renders
    for i in range(20):  # a burst of frames: drawn a few times a second, not each one
        panel.show_frame(SimpleNamespace(index=i, particles=frame.particles,
                                         log_weights=frame.log_weights))
    assert panel.renders - renders <= 2
    panel.show_frame(SimpleNamespace(index=0, particles=None, log_weights=np.zeros(2)))
    panel.clear()
    assert panel.tiles == [] and panel.drawn is None


def live(cls) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), cls))


def test_clearing_the_plots_frees_their_steering_marks(qtbot):
    panel = made(qtbot, StatsPanel)
    before = live(pg.InfiniteLine)
    for step in range(10):
        panel.mark_change(step, f"change {step}")
    assert live(pg.InfiniteLine) - before == 10 * len(panel.step_plots)  # a line a plot
    panel.clear()
    assert live(pg.InfiniteLine) - before == 0
    for plot in panel.step_plots:  # the cursor (and the ESS threshold) stay
        lines = [i for i in plot.getPlotItem().items if isinstance(i, pg.InfiniteLine)]
        assert set(lines) <= {plot.step_cursor, panel.threshold_line}


# --------------------------------------------------------------------------- recording


def test_recording_panel_options(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    panel = made(qtbot, RecordingPanel)
    home = tmp_path / "poe-desktop" / "recordings"
    assert panel.options() == {"path": str(home / "poe-run.mp4"), "size": (800, 800),
                               "overlay": True, "turntable": False, "hold_seconds": 1.5}
    panel.size.setCurrentText("1280x720")
    panel.overlay.setChecked(False)
    panel.turntable.setChecked(True)
    panel.hold.setValue(0.5)
    panel.path.setText("  out/clip.mp4 ")
    assert panel.options() == {"path": "out/clip.mp4", "size": (1280, 720), "overlay": False,
                               "turntable": True, "hold_seconds": 0.5}
    panel.path.setText("~/clips/")  # the home folder spelt ~, and a folder stays a folder
    assert panel.options()["path"] == f"{tmp_path / 'clips'}/"


def test_recording_panel_path_follows_the_format(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    home = tmp_path / "poe-desktop" / "recordings"
    panel = made(qtbot, RecordingPanel)
    panel.format.setCurrentText("GIF")
    assert Path(panel.path.text()) == home / "poe-run.gif"
    panel.format.setCurrentText("PNG frames")
    assert panel.path.text().endswith("/")
    assert Path(panel.path.text()) == home / "poe-run"
    panel.format.setCurrentText("MP4")
    assert Path(panel.path.text()) == home / "poe-run.mp4"
    panel.path.setText("")  # an empty path gets the default name
    panel.format.setCurrentText("GIF")
    assert Path(panel.path.text()) == home / "poe-run.gif"


# --------------------------------------------------------------------------- timeline


def test_timeline_play_walks_every_step_and_stops(qtbot):
    bar = made(qtbot, TimelineBar)
    assert not bar.play_button.isEnabled()  # nothing to replay
    bar.set_count(6, follow=True)
    assert bar.value() == 5 and bar.play_button.isEnabled()
    bar.play_speed.setCurrentText("60 steps/s")
    assert bar.play_interval_ms() == 17
    chosen = []
    bar.stepChosen.connect(chosen.append)
    bar.play_button.click()
    assert bar.playing and bar.play_button.isChecked() and bar.play_button.text() == "⏸"
    qtbot.waitUntil(lambda: not bar.playing, timeout=5_000)
    assert chosen == list(range(6))  # from the start (it was at the end), every step
    assert bar.value() == 5 and not bar.play_button.isChecked()
    assert bar.play_button.text() == "▶"


def test_timeline_counts_quietly_and_replays_only_between_runs(qtbot):
    bar = made(qtbot, TimelineBar)
    chosen = []
    bar.stepChosen.connect(chosen.append)
    bar.set_count(3, follow=True)
    bar.set_count(4, follow=False)  # the user looks at an older step: it stays
    assert bar.value() == 2 and bar.slider.maximum() == 3 and chosen == []
    bar.slider.setValue(1)  # the user drags
    assert chosen == [1]
    bar.set_playing(True)
    bar.set_running(True)  # a run starts: no replay, no speed change
    assert not bar.playing and not bar.play_button.isEnabled()
    assert not bar.play_speed.isEnabled()
    bar.set_playing(True)
    assert not bar.playing
    bar.set_running(False)
    bar.clear()
    assert bar.count == 0 and bar.label.text() == "no run yet"
    assert not bar.play_button.isEnabled()
    bar.set_playing(True)  # nothing to replay
    assert not bar.playing


def test_the_sampler_panel_starts_from_the_engines_defaults(qtbot):
    """Settings the panel shows and those it only holds (`ADVANCED`: schedule, moves, ...)
    both follow SamplerSettings' defaults."""
    from poe_desktop.panels.sampler import ADVANCED
    from poe_engine.samplers import SamplerSettings

    panel = made(qtbot, SamplerPanel)
    assert panel.settings() == SamplerSettings()
    assert {"schedule", "schedule_target", "moves", "kernel"} <= set(ADVANCED)
