"""Streaming samplers: records, determinism, weights, resampling, live changes, NaN."""

import pytest
import torch

from poe_engine.experts import MonochromeColorExpert
from poe_engine.moves import reflect
from poe_engine.product import Composition
from poe_engine.reward import ColorReward
from poe_engine.samplers import SamplerError, SamplerSettings, ais, euler
from poe_engine.weighting import effective_sample_size, resample
from poe_engine.world import make_generator

from exact import exact_experts

SMALL = SamplerSettings(particles=4, points=48, steps=12, langevin_steps=2)


def product(reward="red", points=48):
    return Composition.of([*exact_experts(points).values(), MonochromeColorExpert()],
                          ColorReward(reward) if reward else None)


def test_ais_streams_one_record_per_step_from_noise_to_data():
    records = list(ais(product(), SMALL, seed=0))
    assert [r.index for r in records] == list(range(12))
    assert [r.t for r in records] == sorted((r.t for r in records), reverse=True)
    assert records[-1].t == 0.0
    for r in records:
        assert r.best.shape == (48, 6) and r.log_weights.shape == (4,)
        assert 1.0 <= r.ess <= 4.0 + 1e-9
        assert r.best_index == int(torch.argmax(r.log_weights))
        assert r.experts == ("x", "y", "z", "color") and r.reward == "red"


@pytest.mark.parametrize("sampler", [ais, euler])
def test_same_seed_same_run_other_seed_other_run(sampler):
    a = [r.best for r in sampler(product(), SMALL, seed=5)]
    b = [r.best for r in sampler(product(), SMALL, seed=5)]
    c = [r.best for r in sampler(product(), SMALL, seed=6)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[-1], c[-1])


def test_incremental_weights_telescope_to_the_final_reward():
    """Blind moves without resampling: a particle's log-weight is the reward of where it
    ended, the weights target q_0(x) exp(R(x)). (Tilted moves: tests/test_tilted_moves.py.)"""
    settings = SamplerSettings(particles=5, points=48, steps=10, langevin_steps=3,
                               ess_threshold=0.0, keep_particles=True, moves="blind")
    reward = ColorReward("green")
    last = list(ais(product("green"), settings, seed=2))[-1]
    assert torch.allclose(last.log_weights, reward.log_reward(last.particles), atol=1e-3)


def test_potential_weighting_is_the_current_reward():
    settings = SamplerSettings(particles=5, points=48, steps=6, weighting="potential",
                               schedule="constant", ess_threshold=0.0, keep_particles=True)
    for r in ais(product("blue"), settings, seed=1):
        assert torch.allclose(r.log_weights, ColorReward("blue").log_reward(r.particles))


def test_resampling_happens_when_ess_is_low_and_resets_weights():
    records = list(ais(product("red"), SMALL, seed=0))
    assert any(r.resampled for r in records)
    for r in records:  # resampling exactly when ESS falls under half the particles
        assert r.resampled == (r.ess < 0.5 * SMALL.particles)
        assert (r.ancestors is not None) == r.resampled  # and the lineage is reported
    flat = list(ais(product(None), SMALL, seed=0))
    assert not any(r.resampled for r in flat)
    assert all(torch.all(r.log_weights == 0) and r.ess == 4 for r in flat)


@pytest.mark.parametrize("scheme", ["systematic", "multinomial"])
def test_resampling_schemes_follow_the_weights(scheme):
    g = make_generator(0)
    certain = torch.tensor([-1e9, 0.0, -1e9, -1e9])
    assert torch.all(resample(certain, scheme, g) == 1)
    log_w = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    counts = torch.zeros(4)
    for _ in range(2000):
        counts += torch.bincount(resample(log_w, scheme, g), minlength=4)
    assert torch.allclose(counts / counts.sum(), torch.tensor([0.1, 0.2, 0.3, 0.4]), atol=0.02)
    if scheme == "systematic":  # each index within one of its expected count
        idx = resample(torch.log(torch.tensor([0.5, 0.25, 0.25, 1e-12])), scheme, g)
        assert torch.equal(torch.bincount(idx, minlength=4), torch.tensor([2, 1, 1, 0]))


def test_effective_sample_size():
    assert effective_sample_size(torch.zeros(8)) == pytest.approx(8)
    assert effective_sample_size(torch.tensor([0.0, -1e9, -1e9])) == pytest.approx(1)
    assert effective_sample_size(torch.log(torch.tensor([1.0, 1.0, 2.0]))) == pytest.approx(
        16 / 6)


def test_reflect_folds_into_the_interval():
    v = torch.tensor([-0.25, 0.0, 0.3, 1.0, 1.25, 2.5, -1.5])
    assert torch.allclose(reflect(v, 0.0, 1.0), torch.tensor([0.25, 0, 0.3, 1, 0.75, 0.5, 0.5]))


def test_experts_and_reward_changed_mid_run_take_effect_at_the_next_step():
    composition = product("red")  # blind moves: the weights are the rewards of the particles
    settings = SamplerSettings(particles=4, points=48, steps=12, keep_particles=True,
                               ess_threshold=0.0, schedule="constant", moves="blind")
    stream = ais(composition, settings, seed=0)
    first = next(stream)
    assert first.experts == ("x", "y", "z", "color") and first.reward == "red"
    composition.set_enabled("x", False)
    composition.set_reward(ColorReward("blue"))
    second = next(stream)
    assert second.experts == ("y", "z", "color") and second.reward == "blue"
    # x has no expert now: it stays exactly where it was, the other axes move on
    assert torch.equal(second.particles[..., 0], first.particles[..., 0])
    assert not torch.equal(second.particles[..., 1], first.particles[..., 1])
    # the weights were re-aimed at blue at once
    assert torch.allclose(second.log_weights,
                          ColorReward("blue").log_reward(second.particles), atol=1e-3)
    composition.set_reward_enabled(False)
    third = next(stream)
    assert third.reward is None
    assert torch.allclose(third.log_weights, torch.zeros(4, dtype=torch.float64), atol=1e-3)


def test_a_sampler_that_meets_nan_stops_with_a_clear_error():
    class Broken(MonochromeColorExpert):
        def velocity(self, cloud, t):
            return torch.full_like(cloud[..., 3:], float("nan"))

    with pytest.raises(SamplerError, match="non-finite values at step 1"):
        list(ais(Composition.of([Broken()]), SMALL))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"particles": 0}, "particles must lie in"),
        ({"points": 5000}, "points must lie in"),
        ({"steps": 1.5}, "steps must be an integer"),
        ({"kappa": float("nan")}, "kappa must be a number"),
        ({"kappa": 0.6}, "kappa must lie in"),
        ({"langevin_steps": -1}, "langevin_steps must lie in"),
        ({"resampling": "stratified"}, "resampling must be one of"),
    ],
)
def test_invalid_settings_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        SamplerSettings(**change)


def test_colour_langevin_moves_the_mean_freely_and_keeps_the_spread():
    """The colour expert's preconditioned Langevin: the cloud's mean colour takes steps
    as large as one point's, while the per-point spread stays at the level's std."""
    from poe_engine.moves import langevin_step

    expert = MonochromeColorExpert()
    product = Composition.of([expert]).snapshot()
    t, kappa, n = 0.2, 0.05, 256  # level std 0.08: the walls at 0 and 1 are far
    h = kappa * (t * expert.noise_std) ** 2
    g = make_generator(0)
    x = torch.full((400, n, 6), 0.5)
    moved = langevin_step(product, x, t, kappa, g)
    shift = (moved[..., 3:] - x[..., 3:]).mean(dim=1)
    assert shift.std().item() == pytest.approx((2 * h * (1 + n) / n) ** 0.5, rel=0.1)
    for _ in range(150):
        x = langevin_step(product, x, t, kappa, g)
        x[..., 3:] += 0.5 - x[..., 3:].mean(dim=1, keepdim=True)  # stay clear of the walls
    spread = (x[..., 3:] - x[..., 3:].mean(dim=1, keepdim=True)).std().item()
    # unadjusted Langevin on a Gaussian of std s, step kappa s^2, settles at s / sqrt(1 - kappa/2)
    assert spread == pytest.approx(t * expert.noise_std / (1 - kappa / 2) ** 0.5, rel=0.05)
