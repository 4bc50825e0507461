"""One Trajectory type stacks a run's steps, from the engine's records or the app's frames."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from poe_engine.experts import MonochromeColorExpert
from poe_engine.product import Composition
from poe_engine.reward import ColorReward
from poe_engine.runs import RunResult
from poe_engine.samplers import SamplerSettings, ais
from poe_engine.steering import columns
from poe_engine.trajectory import Trajectory

from exact import exact_experts

SETTINGS = SamplerSettings(particles=3, points=32, steps=5, langevin_steps=0)


def records():
    product = Composition.of([*exact_experts(32).values(), MonochromeColorExpert()],
                             ColorReward("green"))
    return list(ais(product, SETTINGS, seed=1))


def test_a_trajectory_stacks_the_records_of_a_run():
    recs = records()
    tr = Trajectory.from_records(recs)
    assert len(tr) == 5 and tr.clouds.shape == (5, 32, 6) and tr.log_weights.shape == (5, 3)
    np.testing.assert_array_equal(tr.final, recs[-1].best.numpy())
    assert list(tr.t) == [r.t for r in recs] and list(tr.ess) == [r.ess for r in recs]
    assert tr.experts[0] == ("x", "y", "z", "color") and tr.reward == ("green",) * 5
    for name, values in columns(recs).items():
        np.testing.assert_array_equal(tr.steered[name], values)
    with pytest.raises(ValueError):
        Trajectory.from_records([])


def test_frames_in_host_memory_stack_the_same_way():
    recs = records()
    frames = [SimpleNamespace(cloud=r.best.numpy(), log_weights=r.log_weights.numpy(),
                              ess=r.ess, resampled=r.resampled, t=r.t, experts=r.experts,
                              weights=r.weights, reward=r.reward, strength=r.strength)
              for r in recs]
    a, b = Trajectory.from_records(recs), Trajectory.from_records(frames)
    for name in ("clouds", "log_weights", "ess", "resampled", "t"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_a_run_result_saves_its_trajectory(tmp_path):
    recs = records()
    path = RunResult(recs, 0.0, SETTINGS, {"seed": 1}).save_npz(tmp_path / "run.npz")
    with np.load(path) as run:
        np.testing.assert_array_equal(run["trajectory"],
                                      torch.stack([r.best for r in recs]).numpy())
        assert json.loads(str(run["meta"])) == {"seed": 1}
        assert run["final"].shape == (32, 6) and run["expert_weights"].shape == (5, 4)
