"""The app at speed: precision, pace, the timeline's replay, an honest status bar."""

import time

import pytest
from PySide6.QtWidgets import QComboBox, QSlider, QToolButton

pytestmark = pytest.mark.gui


@pytest.fixture
def window(window):
    """The shared window, with a small run."""
    window.sampler_panel.steps.setValue(12)
    window.sampler_panel.points.setValue(64)
    window.sampler_panel.particles.setValue(2)
    return window


def run_to_end(qtbot, window, timeout=60_000):
    with qtbot.waitSignal(window.runFinished, timeout=timeout) as blocker:
        window.run()
    return blocker.args[0]


def test_the_precision_that_ran_is_in_the_run_configuration(qtbot, window):
    combo = window.findChild(QComboBox, "precisionCombo")
    combo.setCurrentText("bf16")
    assert window.sampler_panel.settings().precision == "bf16"
    assert run_to_end(qtbot, window) == "completed"
    assert window.run_config["precision"] == "bf16"
    combo.setCurrentText("auto")
    assert run_to_end(qtbot, window) == "completed"
    assert window.run_config["precision"] in ("fp32", "bf16")


def test_a_pace_spaces_the_steps_and_can_change_mid_run(qtbot, window):
    pace = window.findChild(QComboBox, "paceCombo")
    pace.setCurrentText("10 steps/s")
    start = time.perf_counter()
    window.run()
    qtbot.waitUntil(lambda: len(window.frames) >= 4, timeout=30_000)
    assert time.perf_counter() - start >= 0.3  # 4 steps at 10 steps/s: 3 gaps of 0.1 s
    assert pace.isEnabled() and not window.sampler_panel.steps.isEnabled()
    with qtbot.waitSignal(window.runFinished, timeout=30_000):
        pace.setCurrentText("as fast as possible")
    assert len(window.frames) == 12


def test_the_app_paces_a_short_run_to_last_four_seconds_by_default(qtbot, monkeypatch):
    """The app's own default pace (the tests' windows run as fast as they can: conftest)
    keeps a short run on screen long enough to follow; a long run is not held back."""
    from poe_desktop import MainWindow
    from poe_desktop.panels import sampler

    assert sampler.APP_DEFAULT_PACE == sampler.FOLLOW
    monkeypatch.setattr(sampler, "DEFAULT_PACE", sampler.APP_DEFAULT_PACE)
    window = MainWindow()
    qtbot.addWidget(window)
    panel = window.sampler_panel
    assert window.findChild(QComboBox, "paceCombo").currentText() == sampler.FOLLOW
    panel.steps.setValue(16)
    assert panel.pace_value() == 4.0  # 16 steps in 4 s
    panel.steps.setValue(128)
    assert panel.pace_value() == 32.0  # the classic run goes at about 10-20 a second here
    panel.steps.setValue(6)
    panel.points.setValue(64)
    panel.particles.setValue(2)
    start = time.perf_counter()
    assert run_to_end(qtbot, window) == "completed"
    # 6 steps at 1.5 steps/s: each step starts a period after the one before
    assert time.perf_counter() - start >= 5 * 4.0 / 6


def test_the_status_bar_shows_the_recent_rate_time_left_and_threads(qtbot, window):
    seen = []
    window.stepArrived.connect(lambda _: seen.append(window.display.rate_label.text()))
    assert run_to_end(qtbot, window) == "completed"
    window.show_newest()
    assert "steps/s" in window.display.rate_label.text()
    assert window.frames[5].seconds_left is not None and window.frames[5].steps_per_second > 0
    assert window.frames[-1].threads.endswith(("thread(s)", ")"))
    assert "thread" in window.display.device_label.text()
    assert "a redraw costs" in window.display.device_label.toolTip()


def test_play_replays_a_finished_run_on_the_timeline(qtbot, window):
    play = window.findChild(QToolButton, "playButton")
    assert not play.isEnabled()  # nothing to replay yet
    assert run_to_end(qtbot, window) == "completed"
    assert play.isEnabled()
    window.findChild(QComboBox, "playSpeedCombo").setCurrentText("60 steps/s")
    shown = []
    window.findChild(QSlider, "timelineSlider").valueChanged.connect(shown.append)
    play.click()
    assert play.isChecked()
    qtbot.waitUntil(lambda: not play.isChecked(), timeout=10_000)
    assert shown == list(range(12))  # from the start, every step, to the end
    assert window.shown_frame() is window.frames[-1]


def test_the_view_measures_its_redraws_and_a_costly_one_spaces_a_run_s_draws(
        qtbot, window, monkeypatch):
    view, display = window.view3d, window.display
    with qtbot.waitSignal(view.painted, timeout=5_000) as painted:
        view.update()
    assert 0 < painted.args[0] < 1.0 and display.budget.cost is not None
    # as if a redraw cost 75 ms: a streaming run is drawn at most every half second
    monkeypatch.setattr(display.budget, "fastest", 0.5)
    drawn = []

    def record_drawn(_seconds):
        drawn.append(getattr(display.shown_frame(), "index", None))

    view.painted.connect(record_drawn)
    try:  # as fast as it goes (a paced run draws each step: the next test)
        assert run_to_end(qtbot, window) == "completed"
    finally:
        view.painted.disconnect(record_drawn)
    assert len(window.frames) == 12  # the timeline keeps every step
    assert len(set(drawn)) <= 4  # while the run streamed in, stale frames were skipped
    qtbot.waitUntil(lambda: display.shown_frame() is window.frames[-1], timeout=5_000)


def test_the_status_bar_and_the_run_summary_show_the_expert_calls(qtbot, window):
    """Issue 21: what a run spent on the experts, in the status bar (MLP evaluations in its
    tooltip) and in the run-complete message."""
    messages = []
    window.session.message.connect(lambda text, _ms: messages.append(text))
    assert window.display.cost_label.text() == "– expert calls"
    assert run_to_end(qtbot, window) == "completed"
    last = window.frames[-1]
    assert last.nfe > 0 and last.mlp_evaluations > 0
    label = window.display.cost_label
    assert label.text() == f"{last.nfe} expert calls" and label.isVisible()
    assert f"{last.mlp_evaluations} MLP evaluations" in label.toolTip()
    done = next(m for m in messages if m.startswith("Run complete"))
    assert f"{last.nfe} expert calls ({last.mlp_evaluations} MLP evaluations)" in done
    window.display.clear()
    assert label.text() == "– expert calls"


def test_the_timeline_shows_t_as_well_as_the_step(qtbot, window):
    timeline = window.timeline
    assert (timeline.t_start.text(), timeline.t_end.text()) == ("t 1", "t 0")
    assert "t = 1" in timeline.slider.toolTip() and "t = 0" in timeline.slider.toolTip()
    assert run_to_end(qtbot, window) == "completed"
    timeline.slider.setValue(3)
    t = window.frames[3].t
    assert timeline.label.text() == f"step 4 / 12 · t {t:.3f}"
    assert timeline.slider.toolTip().startswith(f"step 4 of 12, t = {t:.3f}")
    assert timeline.t_start.isVisible() and timeline.t_end.isVisible()


def test_while_the_plots_are_on_screen_the_sampler_thread_makes_each_step_s_fidelity(
        qtbot, window):
    """On a pool thread beside the sampler's the fidelity cost the sampler twice its time:
    while the statistics show it, the sampler's thread makes it with each step; hidden,
    nobody computes it."""
    from PySide6.QtWidgets import QDockWidget

    dock = window.findChild(QDockWidget, "statsDock")
    dock.show()
    qtbot.waitUntil(window.stats_panel.isVisible)
    assert run_to_end(qtbot, window) == "completed"
    assert window.session.fidelity_wanted
    assert all(f.metrics.done for f in window.frames)
    dock.hide()
    assert not window.session.fidelity_wanted
    assert run_to_end(qtbot, window) == "completed"
    # the last step's is read for the run's summary in the status bar
    assert not any(f.metrics.done for f in window.frames[:-1])


def test_a_redraw_due_just_before_the_run_ends_is_left_to_its_end(qtbot, window,
                                                                  monkeypatch):
    """The run's end draws its last frame at once (flush): a redraw due within the draw
    interval of it is skipped, at most one interval late; one that expects more steps,
    or a paused run, draws when due."""
    import dataclasses

    assert run_to_end(qtbot, window) == "completed"
    display, frames = window.display, window.frames
    monkeypatch.setattr(display.budget, "interval", lambda: 0.5)
    last = frames[-1]
    assert last.seconds_left is not None and last.seconds_left < 0.5

    def tick(since: float) -> int:
        display.show_frame(0)
        display._dirty, display._drawn_at = True, time.perf_counter() - since
        display._on_tick()
        return display.shown_index()

    assert tick(0.6) == 0  # due, but the run ends within the interval: left to flush
    assert tick(1.1) == len(frames) - 1  # never more than one interval late
    frames[-1] = dataclasses.replace(last, seconds_left=3.0)  # more steps to come
    assert tick(0.6) == len(frames) - 1
    frames[-1] = last
    display.set_paused(True)
    assert tick(0.6) == len(frames) - 1
    display.set_paused(False)
    assert tick(0.3) == 0  # not due yet


def test_a_paced_run_draws_each_of_its_steps(qtbot, window, monkeypatch):
    """A paced run's sampler waits between its steps anyway: each step is drawn, however
    much a redraw costs (the budget spaces the redraws of a run as fast as it goes)."""
    display = window.display
    monkeypatch.setattr(display.budget, "fastest", 0.5)  # as if a redraw cost 75 ms
    shown = []
    display.frameShown.connect(lambda f: f is not None and shown.append(f.index))
    pace = window.findChild(QComboBox, "paceCombo")
    pace.setCurrentText("5 steps/s")
    try:
        assert run_to_end(qtbot, window) == "completed"
    finally:
        pace.setCurrentText("as fast as possible")
    window.show_newest()
    assert sorted(set(shown)) == list(range(12))


def test_a_run_slower_than_its_pace_keeps_the_draw_budget(qtbot, window, monkeypatch):
    """A pace the sampler does not reach (a long run's "a run in 4 s or more") holds
    nothing back: drawing each step would only slow it, so the budget spaces its draws."""
    import dataclasses

    assert run_to_end(qtbot, window) == "completed"
    display, frames = window.display, window.frames
    monkeypatch.setattr(display.budget, "interval", lambda: 0.5)
    monkeypatch.setattr(display, "pace", lambda: 20.0)
    frames[-1] = dataclasses.replace(frames[-1], steps_per_second=19.0)  # held back
    assert display.draw_interval() == pytest.approx(0.8 / 20.0)
    frames[-1] = dataclasses.replace(frames[-1], steps_per_second=12.0)  # the sampler's own
    assert display.draw_interval() == 0.5
    monkeypatch.setattr(display, "pace", lambda: None)  # as fast as it goes
    assert display.draw_interval() == 0.5
