"""Issue 22, sections 2 and 3: a population that reads at 64 particles (log-weights, tiles
that never overlap, a tile that selects its particle for the 3-D view) and plots a person
can drive (a double-click resets the zoom, a new run resets it, the plotted step is the
drawn step, a tab too tall for its dock scrolls)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QDockWidget, QScrollArea, QSpinBox

from poe_desktop.model.population import LOG_FLOOR, relative_log_weights, tile_grid
from poe_desktop.panels import PopulationPanel, StatsPanel

pytestmark = pytest.mark.gui


def frames_of(count: int, particles: int = 64, seed: int = 0, points: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        resampled = i % 3 == 2
        out.append(SimpleNamespace(
            index=i, steps=count, ess=float(rng.uniform(1, particles)), resampled=resampled,
            radial_error=0.3, off_sphere=0.2, chamfer=0.1,
            # a spread of hundreds of nats: normalised, most weights are 0 to the pixel
            log_weights=rng.normal(scale=200.0, size=particles),
            ancestors=rng.integers(0, particles, particles) if resampled else None,
            particles=(rng.uniform(0.2, 0.8, (particles, points, 6)).astype(np.float32)
                       if points else None)))
    return out


@pytest.fixture
def stats(qtbot):
    panel = StatsPanel()
    qtbot.addWidget(panel)
    panel.resize(330, 600)
    with qtbot.waitExposed(panel):
        panel.show()
    return panel


# ------------------------------------------------------------------ the weights chart


def test_relative_log_weights_put_the_best_at_zero_and_floor_the_rest():
    lw = relative_log_weights(np.array([-1000.0, 3.0, 1.0, np.nan, -np.inf]))
    np.testing.assert_allclose(lw, [LOG_FLOOR, 0.0, -2.0, LOG_FLOOR, LOG_FLOOR])
    assert (relative_log_weights(np.full(3, -np.inf)) == 0).all()


@pytest.mark.parametrize("particles", [2, 64, 256])
def test_every_bar_of_the_weights_chart_is_visible(stats, qtbot, particles):
    frames = frames_of(4, particles)
    stats.update_from(frames)
    stats.show_step(frames[-1])
    qtbot.wait(20)
    heights = np.asarray(stats.weight_bars.opts["height"], dtype=float)
    assert len(heights) == particles
    low, high = stats.weight_plot.vb.viewRange()[1]
    pixels = stats.weight_plot.vb.height() * heights / (high - low)
    assert pixels.min() >= 3.0, pixels.min()  # the smallest bar shows
    assert heights.max() / (high - low) > 0.9  # the best reaches the top
    assert "log" in stats.weight_plot.title_text()


# ------------------------------------------------------------------ the tiles


@pytest.fixture
def population(qtbot):
    panel = PopulationPanel()
    qtbot.addWidget(panel)
    panel.resize(330, 220)  # the dock's size in the window
    with qtbot.waitExposed(panel):
        panel.show()
    return panel


def show(panel, qtbot, frame) -> None:
    panel.show_frame(frame)
    qtbot.waitUntil(lambda: panel.drawn is frame, timeout=3000)


@pytest.mark.parametrize("size", [(330, 220), (330, 420), (600, 300)])
@pytest.mark.parametrize("particles", [64, 200])
def test_tiles_at_64_and_beyond_never_overlap_and_their_labels_fit(population, qtbot, size,
                                                                   particles):
    population.resize(*size)
    frames = frames_of(4, particles, points=16)
    population.history = frames
    show(population, qtbot, frames[-1])
    rects = population.tile_rects()
    assert len(rects) == particles
    boxes = [r for pair in rects for r in pair if r.width() > 0 and r.height() > 0]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.intersects(b), (a, b)
    for target, _ in rects:
        assert population.rect().toRectF().contains(target)
        assert target.width() >= 3
    font = population.font()
    font.setPixelSize(max(8, min(12, int(rects[0][0].width() / 7))))
    metrics = QFontMetricsF(font)
    for j, (_, label) in enumerate(rects):
        text = population.label_of(j, label, metrics) if label.height() else ""
        assert metrics.horizontalAdvance(text) <= label.width() + 0.01
    assert population.founders is not None  # the last frame resampled: ancestry shown
    assert population.grab().width() > 0


def test_tile_grid_fills_and_never_overlaps():
    for count, w, h in [(1, 100, 100), (64, 330, 220), (256, 330, 220), (7, 50, 400)]:
        cols, rows, side = tile_grid(count, w, h, 16)
        assert cols * rows >= count and side <= w / cols and rows * (side + 16) <= h + 1e-6


def test_a_click_on_a_tile_selects_its_particle_and_a_second_clears_it(population, qtbot):
    frames = frames_of(2, 64, points=16)
    show(population, qtbot, frames[-1])
    target, _ = population.tile_rects()[10]
    with qtbot.waitSignal(population.particleChosen) as chosen:
        qtbot.mouseClick(population, Qt.MouseButton.LeftButton,
                         pos=target.center().toPoint())
    assert chosen.args == [10] and population.selected == 10
    with qtbot.waitSignal(population.particleChosen) as chosen:
        qtbot.mouseClick(population, Qt.MouseButton.LeftButton,
                         pos=target.center().toPoint())
    assert chosen.args == [-1] and population.selected is None


# ------------------------------------------------------------------ the plots


def test_a_double_click_and_a_new_run_reset_the_zoom(stats, qtbot):
    frames = frames_of(12, 8)
    stats.update_from(frames)
    plot = stats.ess_plot
    home = [list(r) for r in plot.vb.viewRange()]
    plot.vb.setRange(xRange=(3, 5), yRange=(1, 2), padding=0)
    assert plot.vb.viewRange()[0] == pytest.approx([3, 5])
    column = plot.scene().views()[0]
    centre = column.mapFromScene(plot.vb.sceneBoundingRect().center())
    # a double-click as a mouse makes it: press, release, double-click, release
    viewport, left = column.viewport(), Qt.MouseButton.LeftButton
    qtbot.mouseClick(viewport, left, pos=centre)
    qtbot.mouseDClick(viewport, left, pos=centre)
    qtbot.mouseRelease(viewport, left, pos=centre)
    qtbot.waitUntil(lambda: plot.vb.viewRange()[0] == pytest.approx(home[0]), timeout=2000)
    assert plot.vb.viewRange()[1] == pytest.approx(home[1])
    # zoomed, then a new run of the same length: it starts unzoomed
    for p in (plot, stats.weight_plot):
        p.vb.setRange(xRange=(3, 5), yRange=(1, 2), padding=0)
    stats.clear()
    stats.update_from(frames_of(12, 8, seed=1))
    assert plot.vb.viewRange()[0] == pytest.approx(home[0])
    assert stats.weight_plot.vb.viewRange()[1][0] < LOG_FLOOR


def test_the_plotted_step_is_the_shown_step(stats):
    frames = frames_of(30, 8)
    run = frames[:20]  # the run's frames, as the session's list grows
    stats.update_from(run)
    run.extend(frames[20:26])
    stats.show_step(run[25])  # the view draws step 26 before the plots' next redraw
    assert stats.shown_step == 26
    assert all(p.step_cursor.value() == 26 for p in stats.step_plots)
    assert stats.ess_curve.getData()[0][-1] == 26
    assert "step 26" in stats.weight_plot.title_text()
    stats.show_step(run[4])  # back on the timeline: the cursor, the curves stay
    assert stats.shown_step == 5 and stats.ess_curve.getData()[0][-1] == 26


def test_a_tab_too_tall_for_its_dock_scrolls(stats, qtbot):
    stats.resize(330, 300)
    stats.tabs.setCurrentIndex(1)
    qtbot.wait(50)
    area = stats.findChild(QScrollArea, "statsScrollParticles")
    assert area is not None and area.verticalScrollBar().maximum() > 0
    for plot in (stats.scale_plot, stats.log_z_plot, stats.rewards_plot):
        assert plot.size().height() >= plot.minimumHeight() - 1


# ------------------------------------------------------------------ in the window


def test_a_tile_shows_its_particle_in_the_view_until_cleared(qtbot, window):
    for name, value in (("stepsSpin", 6), ("particlesSpin", 64), ("pointsSpin", 32)):
        window.findChild(QSpinBox, name).setValue(value)
    window.findChild(QDockWidget, "populationDock").raise_()
    with qtbot.waitSignal(window.runFinished, timeout=120_000):
        window.run()
    population, frame = window.population_panel, window.frames[-1]
    qtbot.waitUntil(lambda: population.drawn is frame, timeout=5000)
    assert frame.particles.shape == (64, 32, 6)
    best = int(np.argmax(frame.log_weights))
    j = (best + 7) % 64
    target, _ = population.tile_rects()[j]
    qtbot.mouseClick(population, Qt.MouseButton.LeftButton, pos=target.center().toPoint())
    np.testing.assert_allclose(window.view3d.cloud, frame.particles[j])
    label = window.selection.label
    assert list(window.stats_panel.selected_bar.opts["x"]) == [j]  # its bar is marked
    assert label.isVisible() and f"particle {j} " in label.text()
    window.timeline.slider.setValue(2)  # another step: still that particle
    np.testing.assert_allclose(window.view3d.cloud, window.frames[2].particles[j])
    window.timeline.slider.setValue(5)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.selection.index is None and population.selected is None
    assert len(window.stats_panel.selected_bar.opts["x"]) == 0
    np.testing.assert_allclose(window.view3d.cloud, frame.cloud)
    assert not label.isVisible()
    # a click selects again, a second click on it clears it
    for _ in range(2):
        qtbot.mouseClick(population, Qt.MouseButton.LeftButton, pos=target.center().toPoint())
    np.testing.assert_allclose(window.view3d.cloud, frame.cloud)
    qtbot.mouseClick(population, Qt.MouseButton.LeftButton, pos=target.center().toPoint())
    window.reset()  # no run on screen: no selection
    assert window.selection.index is None and not label.isVisible()


def test_a_big_population_renders_its_tiles_in_slices_after_the_view(qtbot, monkeypatch):
    """64 x 2048: the tiles do not render in the pass that shows the view's frame, and then
    in slices between which the event loop runs; each tile draws at most 512 points."""
    from poe_desktop.panels import population as module

    panel = PopulationPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 300)
    panel.show()
    qtbot.waitExposed(panel)
    frame = frames_of(1, particles=64, points=2048)[0]
    slices, drawn = [], []
    render = module.PopulationPanel._render_pending
    monkeypatch.setattr(module.PopulationPanel, "_render_pending",
                        lambda self: (slices.append(len(self._rendering[1]) if self._rendering
                                                    else 0), render(self)))
    tile = module.render_cloud
    monkeypatch.setattr(module, "render_cloud",
                        lambda cloud, *a, **k: (drawn.append(len(cloud)), tile(cloud, *a, **k))[1])
    monkeypatch.setattr(module, "RENDER_SLICE_S", 0.0)  # a tile a slice
    panel.show_frame(frame)
    assert panel.tiles == [] and slices == []  # not in this pass
    qtbot.waitUntil(lambda: len(panel.tiles) == 64, timeout=10_000)
    # a pass of the event loop a tile (the first pass is the panel's timer's own call)
    assert slices[:63] == list(range(1, 64))
    assert set(drawn) == {512}
    monkeypatch.setattr(module, "RENDER_SLICE_S", 1.0)
    small = frames_of(1, particles=8, points=512)[0]  # a small one: at once, as before
    panel._rendered_at = 0.0  # due
    panel.show_frame(small)
    assert len(panel.tiles) == 8


def test_a_long_plot_title_does_not_widen_the_run_tab_past_its_dock(stats, qtbot):
    """The tabs scroll up and down only: a plot wider than the dock was cut off on the right
    (the weights chart's title at a three-digit step set its minimum width)."""
    from PySide6.QtWidgets import QScrollArea

    stats.resize(300, 600)
    frames = frames_of(120, 8)
    stats.update_from(frames)
    stats.show_step(frames[-1])
    assert "step 120" in stats.weight_plot.title_text()
    stats.weight_plot.set_title("a title far longer than any dock this panel could be in, "
                                "on purpose, to widen it")
    area = stats.findChild(QScrollArea, "statsScrollRun")
    qtbot.waitUntil(lambda: area.widget().width() <= area.viewport().width())
    assert stats.weight_plot.titleLabel.minimumWidth() == 0


def test_a_run_s_first_tiles_keep_the_panel_s_pace_from_its_start(qtbot, monkeypatch):
    """As a run starts, its first steps (noise) are in the 3-D view at once; the tiles come
    at the panel's pace from the run's start, not beside the first step's redraw."""
    from poe_desktop.panels import population as module

    panel = PopulationPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 300)
    panel.show()
    qtbot.waitExposed(panel)
    small = frames_of(2, particles=8, points=64)
    panel.show_frame(small[0])
    assert len(panel.tiles) == 8  # no run: at once
    monkeypatch.setattr(module, "MIN_INTERVAL_S", 0.2)
    monkeypatch.setattr(module, "CATCH_UP_S", 0.0)
    panel.clear(run_starts=True)
    panel.show_frame(small[1])
    assert panel.tiles == []
    qtbot.waitUntil(lambda: panel.drawn is small[1], timeout=5_000)
    assert len(panel.tiles) == 8
