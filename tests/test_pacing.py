"""The app's pacing, without Qt: recent rate, pace, thread choice."""

import sys

import pytest
import torch

from poe_desktop.model.pacing import (
    MIN_RUN_SECONDS,
    DrawBudget,
    Pace,
    RateMeter,
    ThreadTrial,
    follow_pace,
)


def test_the_rate_is_the_true_average_over_the_recent_window():
    meter = RateMeter(span=2.0)
    assert meter.rate() == 0.0 and meter.seconds_left(10) is None
    for k in range(11):  # 10 steps/s for a second
        meter.add(k * 0.1)
    assert meter.rate() == pytest.approx(10.0)
    for k in range(1, 21):  # then 2 steps/s: after 2 s only the slow steps count
        meter.add(1.0 + 0.5 * k)
    assert meter.rate() == pytest.approx(2.0)
    assert meter.seconds_left(8) == pytest.approx(4.0)


def test_one_slow_step_is_not_hidden_by_a_smoothed_guess():
    meter = RateMeter(span=2.0)
    for when in (0.0, 0.1, 0.2, 1.2):  # three steps in 1.2 s
        meter.add(when)
    assert meter.rate() == pytest.approx(3 / 1.2)


def test_a_pause_does_not_drag_the_rate_down_after_it():
    meter = RateMeter(span=2.0)
    for k in range(11):  # 10 steps/s
        meter.add(k * 0.1)
    meter.add(31.0)  # a 30 s pause: this one step took 30 s
    assert meter.rate() == pytest.approx(1 / 30.0)
    for k in range(1, 6):  # 10 steps/s again: the pause no longer counts
        meter.add(31.0 + 0.1 * k)
    assert meter.rate() == pytest.approx(10.0)


def test_steps_slower_than_the_window_read_at_their_own_rate():
    meter = RateMeter(span=2.0)
    for k in range(5):
        meter.add(3.0 * k)
    assert meter.rate() == pytest.approx(1 / 3.0)
    assert meter.seconds_left(2) == pytest.approx(6.0)


def test_a_pace_spaces_the_starts_of_the_steps_and_never_bursts_to_catch_up():
    pace = Pace(4.0)
    assert pace.delay(started=0.0, now=0.05) == pytest.approx(0.20)  # a quick step waits
    assert pace.delay(started=0.25, now=0.75) == 0.0  # a slow one does not, and earns no burst
    assert pace.delay(started=0.75, now=0.80) == pytest.approx(0.20)
    pace.steps_per_second = None
    assert pace.delay(started=1.0, now=1.0) == 0.0


def test_the_thread_trial_keeps_the_faster_count_and_remembers_it():
    ThreadTrial.chosen.clear()
    calls = []
    trial = ThreadTrial(("cpu", 8, 512, "bf16"), candidates=[2, 1], trial_steps=3,
                        set_threads=calls.append)
    assert trial.deciding and calls == [2]
    # the counts take turns: 2, 1, 2, 1, 2, 1 (one step with 2 threads disturbed)
    for seconds, then in ((0.30, 1), (0.20, 2), (0.31, 1), (0.21, 2), (0.90, 1)):
        trial.record(seconds)
        assert calls[-1] == then
    trial.record(0.19)
    assert calls == [2, 1, 2, 1, 2, 1, 1]
    assert trial._timings == {2: [0.30, 0.31, 0.90], 1: [0.20, 0.21, 0.19]}
    assert not trial.deciding and trial.threads == 1 and calls[-1] == 1
    assert trial.summary().startswith("1 thread(s)")
    again = ThreadTrial(("cpu", 8, 512, "bf16"), candidates=[2, 1], set_threads=calls.append)
    assert not again.deciding and again.threads == 1 and calls[-1] == 1
    ThreadTrial.chosen.clear()


@pytest.mark.parametrize("two, one, chosen", [((0.30, 0.30, 0.30), (0.28, 0.28, 0.28), 2),
                                              ((0.30, 0.30, 0.30), (0.25, 0.25, 0.25), 1)])
def test_fewer_threads_are_chosen_only_when_clearly_faster(two, one, chosen):
    """Within the margin (the noise of a few steps) the most threads stay, as without a
    window; 17 % faster wins."""
    ThreadTrial.chosen.clear()
    trial = ThreadTrial(("cpu", 4, 64, "fp32"), candidates=[2, 1], trial_steps=3,
                        set_threads=lambda n: None)
    for a, b in zip(two, one, strict=True):
        trial.record(a)
        trial.record(b)
    assert trial.threads == chosen
    ThreadTrial.chosen.clear()


def test_the_draw_budget_spaces_redraws_by_what_one_costs():
    budget = DrawBudget(share=0.15, fastest=0.03, slowest=0.5)
    assert budget.interval() == 0.03  # nothing measured yet: as often as the timer ticks
    budget.add(0.001)  # a GPU's redraw: the view keeps up with every step
    assert budget.interval() == 0.03
    budget = DrawBudget(share=0.15, fastest=0.03, slowest=0.5)
    assert budget.summary() == ""
    budget.add(0.018)  # software OpenGL composing the whole window
    assert budget.interval() == pytest.approx(0.12)
    assert "costs 18 ms" in budget.summary() and "every 120 ms" in budget.summary()
    for _ in range(40):
        budget.add(0.3)  # costs that keep rising: never slower than `slowest`
    assert budget.interval() == 0.5


def test_the_draw_budget_smooths_one_slow_redraw_and_ignores_what_was_no_redraw():
    budget = DrawBudget(share=0.2)
    for _ in range(10):
        budget.add(0.01)
    budget.add(0.05)  # one slow redraw moves the average a fifth of the way
    assert budget.cost == pytest.approx(0.018)
    budget.add(5.0)  # an offscreen render or a hidden window, not a redraw
    budget.add(-1.0)
    assert budget.cost == pytest.approx(0.018)


def test_the_follow_pace_spreads_a_run_over_the_minimum_time():
    assert MIN_RUN_SECONDS == 4.0
    assert follow_pace(16) == 4.0 and follow_pace(128) == 32.0
    assert follow_pace(0) == follow_pace(1) == 0.25  # never a zero pace (no limit)


def test_the_app_s_gui_thread_computes_on_one_core_while_the_app_runs(monkeypatch):
    """A second OpenMP team in the process has libgomp put the sampler's team to sleep
    between its parallel regions: the app's entry point keeps its own thread's torch work
    on one thread while it runs, and gives the count back when it returns."""
    import threading

    from poe_desktop import app
    from poe_desktop.model.pacing import (
        AVAILABLE_THREADS,
        GIL_SWITCH_S,
        sampler_gets_the_cores,
    )

    before, switch = torch.get_num_threads(), sys.getswitchinterval()
    seen = []

    def body(argv):
        seen.append(torch.get_num_threads())
        assert sys.getswitchinterval() == GIL_SWITCH_S < switch
        other = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        other.start()  # a thread that does not choose its own count gets one too
        other.join()
        return 0

    monkeypatch.setattr(app, "_main", body)
    assert app.main([]) == 0
    assert seen == [1, 1] and torch.get_num_threads() == before
    assert sys.getswitchinterval() == switch
    with sampler_gets_the_cores():
        trial = ThreadTrial(("test-one-core",))  # the sampler's thread chooses its own
        assert torch.get_num_threads() == max(trial.candidates) == AVAILABLE_THREADS
    assert torch.get_num_threads() == before
