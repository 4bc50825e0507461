"""A run session without a window: run, steer, stop and fail, through its signals."""

import pytest

from poe_desktop.model.frames import Frame
from poe_desktop.run.session import RunSession
from poe_engine.reward import ColorReward
from poe_engine.samplers import SamplerSettings
from poe_engine.spec import RunSpec

pytestmark = pytest.mark.gui  # a Qt event loop (pytest-qt's QApplication)


def start(session, steps=4, **kwargs):
    spec = RunSpec(settings=SamplerSettings(particles=2, points=32, steps=steps,
                                            langevin_steps=0), device="cpu")
    return session.start(spec, **kwargs)


def test_a_session_runs_to_the_end_and_says_so(qtbot):
    session = RunSession()
    added = []
    session.frameAdded.connect(added.append)
    with qtbot.waitSignal(session.finished, timeout=60_000) as done:
        assert start(session)
    assert done.args == ["completed"]
    assert [f.index for f in session.frames] == [0, 1, 2, 3] and added == session.frames
    assert all(isinstance(f, Frame) for f in added)
    assert not session.running and session.thread is None and session.worker is None
    assert session.run_config["steps"] == 4 and session.run_config["reward"] == "red"
    assert session.recorded_config()["steering"] == []


def test_a_steered_session_records_the_change_at_the_step_it_took_effect(qtbot):
    session = RunSession()
    steered = []
    session.steered.connect(lambda step, label: steered.append((step, label)))
    with qtbot.waitSignal(session.pausedAt, timeout=60_000):
        assert start(session, pause_after=2)
    session.steer(lambda c: c.set_reward(ColorReward("blue")), "→ blue")
    assert steered == [(3, "→ blue")]
    with qtbot.waitSignal(session.finished, timeout=60_000):
        session.toggle_pause()
    assert [f.reward for f in session.frames] == ["red", "red", "blue", "blue"]
    assert session.recorded_config()["steering"] == [{"step": 3, "reward": "blue"}]


def test_a_stopped_session_says_stopped_and_a_failing_one_says_why(qtbot, monkeypatch):
    session = RunSession()
    with qtbot.waitSignal(session.pausedAt, timeout=60_000):
        assert start(session, steps=50, pause_after=1)
    with qtbot.waitSignal(session.finished, timeout=60_000) as done:
        session.stop()
    assert done.args == ["stopped"] and len(session.frames) == 1

    def broken(*args, **kwargs):
        raise RuntimeError("the engine broke")
        yield

    monkeypatch.setitem(__import__("poe_engine.samplers").samplers.SAMPLERS, "ais", broken)
    problems = []
    session.problem.connect(lambda title, message: problems.append(message))
    with qtbot.waitSignal(session.finished, timeout=60_000) as done:
        with qtbot.waitSignal(session.failed) as failed:
            assert start(session)
    assert done.args == ["failed"] and failed.args == ["RuntimeError: the engine broke"]
    assert problems == ["RuntimeError: the engine broke"]
