"""No allowed setting produces NaN: property tests over the sampler's ranges.

The numerics of a step depend on the level grid (steps), the Langevin settings and
the experts' fields; particles and points are batch dimensions (they enter only
through resampling and the cloud's mean colour). So one property test sweeps the
step settings over their full ranges on small batches, and another sweeps the batch
sizes over their full ranges on short runs; together they cover every range at a
cost CI can pay. The shipped (trained) experts are used, with the reward on or off.
"""

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poe_engine.reward import ColorReward
from poe_engine.runs import build_composition
from poe_engine.samplers import SAMPLERS, SamplerSettings

EXPERT_SETS = st.sampled_from([("x", "y", "z", "color"), ("x",), ("y", "color"), ()])
REWARDS = st.sampled_from([None, "red", "white", "#3366cc"])
STEP_SETTINGS = dict(
    steps=st.integers(8, 512),
    langevin_steps=st.integers(0, 10),
    kappa=st.floats(0.0, 0.5),
    ode_scale=st.floats(0.0, 2.0),
    resampling=st.sampled_from(["systematic", "multinomial"]),
    weighting=st.sampled_from(["incremental", "potential"]),
)


def finite_run(experts, sampler, enabled, reward, seed, **kw):
    composition = build_composition(experts, enabled, reward and ColorReward(reward))
    for record in SAMPLERS[sampler](composition, SamplerSettings(**kw), seed=seed):
        assert torch.isfinite(record.best).all() and torch.isfinite(record.log_weights).all()
        assert record.ess >= 1.0 - 1e-6
    return record


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sampler=st.sampled_from(["ais", "euler"]), enabled=EXPERT_SETS, reward=REWARDS,
       seed=st.integers(0, 2**31 - 1), particles=st.integers(1, 3),
       points=st.integers(16, 24), **STEP_SETTINGS)
def test_no_step_setting_produces_nan(shipped_experts, sampler, enabled, reward, seed, **kw):
    last = finite_run(shipped_experts, sampler, enabled, reward, seed, **kw)
    assert last.t == 0.0


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(particles=st.integers(1, 64), points=st.integers(16, 4096), enabled=EXPERT_SETS,
       reward=REWARDS, seed=st.integers(0, 2**31 - 1), kappa=st.floats(0.0, 0.5),
       langevin_steps=st.integers(0, 1))
def test_no_batch_size_produces_nan(shipped_experts, particles, points, enabled, reward, seed,
                                    **kw):
    last = finite_run(shipped_experts, "ais", enabled, reward, seed, particles=particles,
                      points=points, steps=4, **kw)
    assert last.best.shape == (points, 6)


def test_experts_stay_finite_at_the_ends_of_time_and_far_from_the_cube(shipped_experts):
    cloud = torch.tensor([[[1e3, -1e3, 0.5, 0.0, 1.0, 0.5], [0.5, 0.5, 0.5, 2.0, -1.0, 0.5]]])
    for expert in shipped_experts.values():
        for t in (0.0, 1e-9, 0.5, 1.0):
            assert torch.isfinite(expert.velocity(cloud, t)).all(), (expert.name, t)
            assert torch.isfinite(expert.score(cloud, t)).all(), (expert.name, t)
