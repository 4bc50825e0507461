"""The Run statistics panel: nothing covers the data (legends, steering labels), fractions
and distances on their own axes, the ESS threshold, the cursor and the weights at the
timeline's step, and incremental updates that draw what a full rebuild draws. The
frames' arrays (`FrameSeries`) are tested without Qt."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QSpinBox

from poe_desktop.model.genealogy import distinct_ancestors, lineage, segments
from poe_desktop.model.population import relative_log_weights
from poe_desktop.model.stats_series import FrameSeries, distinct_per_row, nice_range
from poe_desktop.panels import StatsPanel
from poe_desktop.panels.stats import BAR_BASE


def bar_heights(log_weights) -> np.ndarray:
    """What the weights chart draws: log-weights vs the best, floored, over its base."""
    return relative_log_weights(log_weights) - BAR_BASE


RUN = {"steps": 128, "particles": 8, "ess_threshold": 0.5, "weighting": "incremental"}


def frames_of(count: int, particles: int = 8, seed: int = 0, steps: int = 128) -> list:
    """Frames with every value the panel reads; resampling every third step, rewards
    missing at step 5 (0-based 4), acceptance NaN for the first two steps."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        resampled = i % 3 == 0
        out.append(SimpleNamespace(
            index=i, steps=steps, ess=float(rng.uniform(1, particles)), resampled=resampled,
            radial_error=0.5 / (i + 1) ** 0.5, off_sphere=0.9 / (i + 1) ** 0.3,
            chamfer=0.3 / (i + 1) ** 0.5, log_weights=rng.normal(size=particles),
            reward_scale=min(1.0, (i + 1) / 20), acceptance=math.nan if i < 2 else 0.6,
            log_z=-0.1 * i, rewards=None if i == 4 else rng.normal(size=particles) - i,
            ancestors=rng.integers(0, particles, particles) if resampled else None))
    return out


@pytest.fixture
def panel(qtbot):
    """The panel shown at the size it has in the window's dock."""
    widget = StatsPanel()
    qtbot.addWidget(widget)
    widget.resize(330, 600)
    with qtbot.waitExposed(widget):
        widget.show()
    return widget


def data_rect(plot) -> object:
    return plot.getPlotItem().vb.sceneBoundingRect()


def curves(panel: StatsPanel) -> dict[str, tuple]:
    named = {name: getattr(panel, name) for name in (
        "ess_curve", "resample_marks", "radial_curve", "off_curve", "chamfer_curve",
        "scale_curve", "acceptance_curve", "log_z_curve", "genealogy_lines",
        "lineage_lines", "ancestors_curve")}
    named |= {f"reward_{j}": c for j, c in enumerate(panel.reward_curves)}
    return {name: tuple(np.asarray(a, dtype=np.float64) if a is not None else np.zeros(0)
                        for a in c.getData()) for name, c in named.items()}


# --------------------------------------------------------------------------- layout

@pytest.mark.gui
def test_legends_sit_outside_the_data_area(panel, qtbot):
    panel.set_run(RUN)
    panel.update_from(frames_of(60))
    for tab, plots in enumerate([(panel.ess_plot, panel.fidelity_plot),
                                 (panel.scale_plot,), (panel.genealogy_plot,)]):
        panel.tabs.setCurrentIndex(tab)
        qtbot.wait(50)
        for plot in plots:
            legend = plot.legend_row.sceneBoundingRect()
            assert legend.height() > 0 and legend.width() > 0, plot.objectName()
            assert not legend.intersects(data_rect(plot)), plot.objectName()
            # above the data area, below the title
            assert legend.bottom() <= data_rect(plot).top()
            title = plot.getPlotItem().titleLabel.sceneBoundingRect()
            assert not legend.intersects(title)


@pytest.mark.gui
def test_off_sphere_has_its_own_axis_and_view_box(panel, qtbot):
    panel.update_from(frames_of(40))
    qtbot.wait(50)
    main_view = panel.fidelity_plot.getPlotItem().vb
    assert panel.off_curve.getViewBox() is panel.off_view is not main_view
    assert panel.radial_curve.getViewBox() is main_view
    assert panel.chamfer_curve.getViewBox() is main_view
    right = panel.fidelity_plot.getPlotItem().getAxis("right")
    assert right.isVisible() and right.linkedView() is panel.off_view
    low, high = panel.off_view.viewRange()[1]
    assert low <= 0.0 and 1.0 <= high < 1.1  # a fraction: 0 to 1
    # the distances' axis fits the distances, not the fraction
    _, (dlow, dhigh) = main_view.viewRange()
    assert dlow <= 0 and 0.5 <= dhigh < 0.9
    # the two data areas cover the same pixels, and share the steps across
    assert panel.off_view.geometry() == main_view.geometry()
    assert panel.off_view.viewRange()[0] == main_view.viewRange()[0]


@pytest.mark.gui
def test_the_ess_threshold_line_is_at_threshold_times_particles(panel):
    panel.set_run(RUN | {"ess_threshold": 0.25})
    panel.update_from(frames_of(10))
    line = panel.threshold_line
    assert line.isVisible() and line.value() == pytest.approx(0.25 * 8)
    assert line.pen.style() == Qt.PenStyle.DashLine
    assert "2" in panel.ess_plot.legend_row.entries[2][2]
    panel.clear()
    assert not line.isVisible()
    panel.set_run(RUN | {"particles": 4, "ess_threshold": 0.75})
    panel.update_from(frames_of(10, particles=4))
    assert line.isVisible() and line.value() == pytest.approx(3.0)


@pytest.mark.gui
@pytest.mark.parametrize("config", [None, "text", {"ess_threshold": "high"},
                                    {"ess_threshold": math.nan, "steps": -3},
                                    {"steps": "many", "particles": [1]}])
def test_a_run_configuration_it_cannot_read_hides_the_threshold(panel, config):
    panel.set_run(config)  # never raises
    panel.update_from(frames_of(10))
    assert not panel.threshold_line.isVisible()
    assert len(panel.ess_curve.getData()[0]) == 10


def label_rects(plot):
    return [label.sceneBoundingRect() for label in plot.strip.labels if label.isVisible()]


@pytest.mark.gui
def test_steering_labels_one_step_apart_do_not_overprint(panel, qtbot):
    panel.set_run(RUN)
    panel.update_from(frames_of(60))
    panel.mark_change(40, "→ green")
    panel.mark_change(41, "y off")
    qtbot.wait(50)
    for plot in panel.labelled_plots[:1]:
        rects = label_rects(plot)
        assert len(rects) == 2  # both shown, staggered
        assert not rects[0].intersects(rects[1])
        assert all(not r.intersects(data_rect(plot)) for r in rects)
        # each label is centred on its line, or pushed only as far as the plot's edge
        xs = [plot.strip.mapToScene(plot.strip.x_of(s), 0).x() for s in (40, 41)]
        for rect, x in zip(rects, xs, strict=True):
            assert rect.left() - 1 <= x <= rect.right() + 1
    assert len(panel.ess_plot.mark_lines) == 2
    assert all(len(p.mark_lines) == 2 for p in panel.step_plots)


@pytest.mark.gui
def test_crowded_steering_labels_are_thinned_and_keep_their_text_in_tooltips(panel, qtbot):
    panel.set_run(RUN)
    panel.update_from(frames_of(60))
    for step in range(30, 40):
        panel.mark_change(step, f"colour weight ×{step / 10:g} (a long label)")
    qtbot.wait(50)
    strip = panel.ess_plot.strip
    rects = label_rects(panel.ess_plot)
    assert 1 <= len(rects) < 10
    for i, a in enumerate(rects):
        assert all(not a.intersects(b) for b in rects[i + 1:])
    assert all(len(label.text()) <= 12 for label in strip.labels)  # short on screen
    tooltips = "\n".join(label.toolTip() for label in strip.labels if label.isVisible())
    for step in range(30, 40):  # every change is told somewhere in full
        assert f"step {step}: colour weight ×{step / 10:g} (a long label)" in tooltips


@pytest.mark.gui
def test_clearing_frees_the_marks_and_their_labels(panel):
    before = len(panel.ess_plot.getPlotItem().items)
    panel.mark_change(5, "red")
    panel.clear()
    assert panel.ess_plot.strip.labels == [] and panel.ess_plot.mark_lines == []
    assert len(panel.ess_plot.getPlotItem().items) == before
    assert panel.ess_plot.strip.preferredHeight() == 0  # the strip folds away


# --------------------------------------------------------------------------- updates


@pytest.mark.gui
def test_incremental_updates_draw_what_a_full_rebuild_draws(qtbot):
    frames = frames_of(150)  # past the first allocation of 128 rows
    growing, whole = StatsPanel(), StatsPanel()
    qtbot.addWidget(growing)
    qtbot.addWidget(whole)
    shown = []
    for end in (1, 2, 7, 40, 41, 128, 129, 150):
        shown.append(frames[end - 1])  # the list grows as a run's does
        growing.update_from(frames[:end])
    whole.update_from(frames)
    a, b = curves(growing), curves(whole)
    assert a.keys() == b.keys() and len(a) == 11 + 8
    for name in a:
        for x, y in zip(a[name], b[name], strict=True):
            np.testing.assert_array_equal(x, y, err_msg=name)
    # and what the Qt-free genealogy functions give for the same frames
    ancestors = [f.ancestors for f in frames]
    x, y = segments(ancestors, 8)
    np.testing.assert_array_equal(a["genealogy_lines"][0], x + 1)
    np.testing.assert_array_equal(a["genealogy_lines"][1], y)
    np.testing.assert_array_equal(a["ancestors_curve"][1], distinct_ancestors(ancestors, 8))
    assert list(a["reward_0"][0]) == [i + 1 for i in range(150) if i != 4]  # step 5 lacks them


@pytest.mark.gui
def test_a_new_run_in_the_same_list_is_read_from_its_start(qtbot):
    panel = StatsPanel()
    qtbot.addWidget(panel)
    frames = frames_of(30)
    panel.update_from(frames)
    frames[:] = frames_of(12, seed=3)  # the session's list, cleared and filled again
    panel.update_from(frames)
    assert list(panel.ess_curve.getData()[1]) == [f.ess for f in frames]


@pytest.mark.gui
def test_only_the_tab_on_screen_is_redrawn_the_others_when_shown(panel, qtbot):
    frames = frames_of(20)
    panel.update_from(frames[:10], all_tabs=False)
    assert len(panel.ess_curve.getData()[0]) == 10
    assert panel.scale_curve.getData()[0] is None or len(panel.scale_curve.getData()[0]) == 0
    panel.tabs.setCurrentIndex(1)  # shown: drawn now
    assert len(panel.scale_curve.getData()[0]) == 10
    panel.update_from(frames, all_tabs=False)
    assert len(panel.scale_curve.getData()[0]) == 20
    assert len(panel.ess_curve.getData()[0]) == 10  # the Run tab waits
    panel.hide()
    panel.update_from(frames + frames_of(1), all_tabs=False)  # a new run, nothing shown
    assert len(panel.scale_curve.getData()[0]) == 20
    with qtbot.waitExposed(panel):
        panel.show()
    assert len(panel.scale_curve.getData()[0]) == 21


@pytest.mark.gui
def test_the_cursor_and_the_weights_follow_the_shown_step(panel):
    frames = frames_of(30)
    panel.update_from(frames[:20])
    # before anything is on the timeline, the newest weights
    np.testing.assert_allclose(panel.weight_bars.opts["height"],
                               bar_heights(frames[19].log_weights))
    panel.show_step(frames[6])
    assert all(p.step_cursor.isVisible() and p.step_cursor.value() == 7 for p in panel.step_plots)
    np.testing.assert_allclose(panel.weight_bars.opts["height"],
                               bar_heights(frames[6].log_weights))
    assert "step 7" in panel.weight_plot.title_text()
    panel.show_step(frames[25])  # never given to the panel: the cursor waits for the curves
    assert all(p.step_cursor.value() == 7 for p in panel.step_plots)
    panel.update_from(frames)
    assert all(p.step_cursor.value() == 26 for p in panel.step_plots)
    np.testing.assert_allclose(panel.weight_bars.opts["height"],
                               bar_heights(frames[25].log_weights))
    panel.clear()
    assert not any(p.step_cursor.isVisible() for p in panel.step_plots)


@pytest.mark.gui
def test_integer_ticks_on_the_step_axes(panel, qtbot):
    panel.update_from(frames_of(9, steps=9))
    qtbot.wait(50)
    for plot in [*panel.step_plots, panel.weight_plot]:
        axis = plot.getPlotItem().getAxis("bottom")
        low, high = plot.getPlotItem().vb.viewRange()[0]
        ticks = [v for level in axis.tickValues(low, high, 300) for v in level[1]]
        assert ticks and all(float(v).is_integer() for v in ticks), plot.objectName()
        assert all("." not in s for s in axis.tickStrings(ticks, 1.0, 1.0))


@pytest.mark.gui
def test_the_chosen_tab_is_remembered_and_garbage_is_rejected(panel):
    panel.tabs.setCurrentIndex(2)
    state = panel.state()
    assert state == {"tab": "Genealogy"}
    panel.tabs.setCurrentIndex(0)
    assert panel.apply_state(state) == [] and panel.tabs.currentIndex() == 2
    for bad in ({"tab": "Nope"}, {"tab": 3}, {"tab": None}, {"tab": ["Run"]}):
        assert panel.apply_state(bad) == (["tab"] if bad["tab"] is not None else [])
        assert panel.tabs.currentIndex() == 2
    assert panel.apply_state({}) == []
    assert panel.apply_state("garbage") == ["tab"]  # type: ignore[arg-type]


# --------------------------------------------------------------------------- in the app


@pytest.mark.gui
def test_the_plots_follow_the_timeline_in_the_app(qtbot, window):
    """A small steered run: the steering marks land on every step plot; scrubbing the
    timeline moves the cursor on every plot of every tab and the weights chart."""
    for name, value in (("stepsSpin", 12), ("particlesSpin", 3), ("pointsSpin", 64)):
        window.findChild(QSpinBox, name).setValue(value)
    window.run(pause_after=5)
    qtbot.waitUntil(lambda: window.session.paused and len(window.frames) == 5, timeout=60_000)
    stats = window.stats_panel
    # paused: the last steps reach the plots too (not only at the next frame), cursor with them
    qtbot.waitUntil(lambda: stats.series.count == 5 and stats.shown_step == 5, timeout=5_000)
    assert len(stats.ess_curve.getData()[0]) == 5
    window.findChild(QPushButton, "rewardColor_green").click()  # steers from step 6 on
    with qtbot.waitSignal(window.runFinished, timeout=60_000):
        window.toggle_pause()
    assert stats.threshold_line.isVisible()
    assert stats.threshold_line.value() == pytest.approx(window.run_config["ess_threshold"] * 3)
    assert all(p.step_cursor.value() == 12 for p in stats.step_plots)  # the newest, followed
    assert stats.marks == [(6, "→ green")]
    assert all([m.value() for m in p.mark_lines] == [6] for p in stats.step_plots)
    window.timeline.slider.setValue(3)
    assert stats.shown_step == 4
    for tab in range(3):
        stats.tabs.setCurrentIndex(tab)
        assert all(p.step_cursor.isVisible() and p.step_cursor.value() == 4
                   for p in stats.step_plots)
    np.testing.assert_allclose(stats.weight_bars.opts["height"],
                               bar_heights(window.frames[3].log_weights))
    assert len(stats.ancestors_curve.getData()[0]) == 12  # every tab drawn at the run's end
    # frames that arrive within the plots' redraw interval: the plotted step is still the
    # drawn step (the curves reach the step the view shows, the cursor with them)
    frames, display = list(window.frames), window.display
    display.clear()
    stats.tabs.setCurrentIndex(0)
    for end in (3, 6):
        window.frames[:] = frames[:end]
        display.frame_added()
        display.draw_pending()
        assert stats.series.count == end and stats.shown_step == end
        assert stats.ess_curve.getData()[0][-1] == display.shown_frame().index + 1 == end
    qtbot.waitUntil(lambda: stats.series.count == 6 and stats.shown_step == 6, timeout=3_000)


# --------------------------------------------------------------------------- no Qt


def test_frame_series_grows_and_reads_only_new_frames():
    series = FrameSeries()
    frames = frames_of(300)
    assert series.sync(frames[:100]) == 100
    assert series.sync(frames[:100]) == 0
    assert series.sync(frames[:300]) == 200
    assert series.count == 300 and list(series.steps[:3]) == [1, 2, 3]
    np.testing.assert_array_equal(series.ess, [f.ess for f in frames])
    assert np.isnan(series.rewards[4]).all() and np.isfinite(series.rewards[5]).all()
    assert series.rewards_seen and series.newest is frames[-1]
    table = np.stack([f.ancestors if f.ancestors is not None else np.arange(8)
                      for f in frames])
    np.testing.assert_array_equal(series.parents, table)
    np.testing.assert_array_equal(series.lineage(), lineage([f.ancestors for f in frames], 8))
    assert series.sync(frames_of(3, seed=9)) == 3 and series.count == 3  # another run
    assert series.sync([]) == 0 and series.count == 0


def test_frames_without_the_population_get_defaults():
    frames = [SimpleNamespace(index=i, ess=1.0, resampled=False, radial_error=0.1,
                              off_sphere=0.2, chamfer=0.3, log_weights=np.zeros(4))
              for i in range(3)]
    series = FrameSeries()
    series.sync(frames)
    assert list(series.reward_scale) == [1.0] * 3 and np.isnan(series.log_z).all()
    assert not series.rewards_seen
    np.testing.assert_array_equal(series.parents, np.tile(np.arange(4), (3, 1)))


def test_distinct_per_row_counts_as_the_genealogy_does():
    rng = np.random.default_rng(1)
    table = rng.integers(0, 6, (40, 6))
    assert list(distinct_per_row(table)) == [len(np.unique(r)) for r in table]
    assert len(distinct_per_row(np.zeros((0, 6), dtype=np.int64))) == 0


@pytest.mark.parametrize("low, high", [(0.013, 0.47), (-180.0, 12.0), (3.0, 3.0),
                                       (0.0, 1e-9), (-1.0, -0.5)])
def test_nice_range_holds_the_data_on_a_steady_grid(low, high):
    a, b = nice_range(low, high)
    assert a <= low and high <= b and a < b
    # a small change in the data keeps the same bounds (the axis is not redrawn)
    assert nice_range(low + (high - low) * 0.01, high - (high - low) * 0.01) == (a, b) or \
        high == low
    assert nice_range(0.2, 0.4, floor_zero=True)[0] == 0.0
    assert nice_range(math.nan, 1.0) == (0.0, 1.0)


@pytest.mark.gui
def test_a_process_with_the_panel_alive_exits_cleanly():
    """A tab's plots are one graphics layout view; one still alive when Python shuts
    down used to crash the process (segmentation fault) as Qt destroyed it."""
    code = ("import pyqtgraph as pg\n"
            "from poe_desktop.panels import StatsPanel\n"
            "app = pg.mkQApp()\n"
            "panel = StatsPanel()\n"
            "panel.show()\n"
            "app.processEvents()\n")
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
