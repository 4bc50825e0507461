"""The particle system: log Z, the reward schedule, the paper's Algorithm 1, MALA."""

import math

import pytest
import torch

from poe_engine.experts import MonochromeColorExpert
from poe_engine.flow import time_grid
from poe_engine.product import Composition
from poe_engine.reward import ColorReward
from poe_engine.samplers import SamplerSettings, ais
from poe_engine.weighting import conditional_ess, resample
from poe_engine.world import NOISE, make_generator

from exact import exact_experts


class ConstantReward:
    """A reward expert that gives every cloud the same log-reward."""

    name = "constant"
    strength = 1.0

    def __init__(self, value: float) -> None:
        self.value = value

    def log_reward(self, clouds: torch.Tensor) -> torch.Tensor:
        return torch.full(clouds.shape[:1], self.value, dtype=torch.float64,
                          device=clouds.device)


class MeanX:
    """A reward of the mean of a cloud's first channel, times `strength`."""

    name = "mean-x"

    def __init__(self, strength: float = 4.0) -> None:
        self.strength = strength

    def log_reward(self, clouds: torch.Tensor) -> torch.Tensor:
        return self.strength * clouds[..., 0].double().mean(dim=-1)


class ShrinkX:
    """A stub expert on channel 0 whose ODE move is known: velocity x (an Euler step from
    t to s multiplies x by 1 + (s - t))."""

    name = "x"
    channels = (0,)
    noise_std = 1.0
    bounds = None
    mean_mobility = 0.0

    def velocity(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return cloud[..., 0:1].clone()

    def score(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return torch.zeros_like(cloud[..., 0:1])


def exact_product(reward, points=16):
    return Composition.of([*exact_experts(points).values(), MonochromeColorExpert()], reward)


# the classic preset's moves: Langevin at every level, no colour-only moves
SMALL = SamplerSettings(particles=6, points=16, steps=10, langevin_steps=1, langevin_from=1.0,
                        colour_moves=0)


@pytest.mark.parametrize("schedule", ["constant", "linear", "adaptive"])
@pytest.mark.parametrize("weighting", ["incremental", "potential", "paper"])
def test_log_z_is_the_constant_of_a_constant_reward(schedule, weighting):
    settings = SamplerSettings(**SMALL.to_dict() | {"schedule": schedule,
                                                     "weighting": weighting})
    records = list(ais(exact_product(ConstantReward(3.7)), settings, seed=1))
    if weighting == "incremental":
        assert float(records[-1].log_z) == pytest.approx(3.7, abs=1e-12)
    assert float(records[-1].reward_scale) == 1.0
    assert all(0.0 <= float(r.reward_scale) <= 1.0 for r in records)
    assert torch.equal(records[-1].rewards, torch.full((6,), 3.7, dtype=torch.float64))


@pytest.mark.parametrize("schedule", ["constant", "linear", "adaptive"])
def test_log_z_is_zero_without_a_reward(schedule):
    settings = SamplerSettings(**SMALL.to_dict() | {"schedule": schedule})
    assert all(float(r.log_z) == 0.0 for r in ais(exact_product(None), settings, seed=2))


@pytest.mark.parametrize("moves", ["blind", "tilted"])
def test_log_z_agrees_with_a_monte_carlo_estimate(moves):
    """exp(log_z) is unbiased for E[exp R(x_0)] over the reward-free chain: compare the mean
    over seeds with a many-particle Monte Carlo average of the same chain's final clouds
    (with tilted moves as far as the kernels keep their tilted levels)."""
    reward = ColorReward("red", 4.0)
    base = dict(particles=16, points=16, steps=6, langevin_steps=1, schedule="linear")
    z_hat = torch.tensor([math.exp(float(list(ais(
        exact_product(reward), SamplerSettings(**base, moves=moves), seed=s))[-1].log_z))
        for s in range(12)])
    free = SamplerSettings(**base | {"particles": 64, "keep_particles": True})
    r = torch.cat([reward.log_reward(list(ais(exact_product(None), free, seed=100 + s))[-1]
                                     .particles) for s in range(4)])
    mc, mc_err = r.exp().mean(), r.exp().std() / math.sqrt(len(r))
    err = math.hypot(float(z_hat.std() / math.sqrt(len(z_hat))), float(mc_err))
    assert 0 < err < 0.2 * float(mc)  # a test with teeth: the bars are narrow
    assert abs(float(z_hat.mean() - mc)) < 3.5 * err


def test_paper_weighting_is_algorithm_1_step_by_step():
    """3 particles, 2 levels, no Langevin: a stub expert with a known ODE move and a reward
    of the mean of channel 0. Algorithm 1 by hand: move, weight by the reward, resample at
    every level, show the particle of highest reward."""
    settings = SamplerSettings(particles=3, points=16, steps=2, langevin_steps=0,
                               weighting="paper")
    composition = Composition.of([ShrinkX()], MeanX())
    records = list(ais(composition, settings, seed=3))

    g = make_generator(3, "cpu")
    x = NOISE.sample(3, 16, g, "cpu")
    grid = time_grid(2)
    for k in range(2):
        x = x.clone()
        x[..., 0] = x[..., 0] * (1.0 + (grid[k + 1] - grid[k]))
        reward = 4.0 * x[..., 0].double().mean(dim=-1)
        ancestors = resample(reward, "systematic", g)
        r = records[k]
        assert torch.allclose(r.log_weights, reward) and torch.allclose(r.rewards, reward)
        assert r.resampled and torch.equal(r.ancestors, ancestors)
        assert torch.equal(r.best, x[int(torch.argmax(reward))])
        x = x[ancestors]


def test_resample_every_k_levels():
    settings = SamplerSettings(**SMALL.to_dict() | {"resample_every": 3, "ess_threshold": 0.0})
    records = list(ais(exact_product(ColorReward("red", 1.0)), settings, seed=0))
    assert [r.resampled for r in records] == [(k + 1) % 3 == 0 for k in range(10)]


def test_adaptive_schedule_keeps_the_conditional_ess():
    settings = SamplerSettings(**SMALL.to_dict() | {"schedule": "adaptive", "steps": 16,
                                                     "ess_threshold": 0.0})
    records = list(ais(exact_product(ColorReward("red")), settings, seed=0))
    scales = [float(r.reward_scale) for r in records]
    assert scales == sorted(scales) and scales[-1] == 1.0 and scales[0] < 1.0
    assert not any(r.resampled for r in records)
    for r, before in zip(records[1:-1], records[:-2], strict=True):
        # no resampling, so the increment is the change of the log-weights
        inc = r.log_weights - before.log_weights
        if float(r.reward_scale) > float(before.reward_scale):  # the bisection moved on
            assert float(conditional_ess(before.log_weights, inc)) >= 0.5 - 1e-6


def test_blind_ula_records_nan_acceptance_and_mala_a_rate():
    blind = SamplerSettings(**SMALL.to_dict() | {"moves": "blind"})
    ula = list(ais(exact_product(ColorReward("red")), blind, seed=0))
    assert all(math.isnan(float(r.acceptance)) for r in ula)  # no test made
    settings = SamplerSettings(**blind.to_dict() | {"kernel": "mala"})
    mala = list(ais(exact_product(ColorReward("red")), settings, seed=0))
    rates = [float(r.acceptance) for r in mala[:-1]]
    assert all(0.0 <= a <= 1.0 for a in rates) and sum(rates) / len(rates) > 0.5
    assert math.isnan(float(mala[-1].acceptance))  # the data level has no Langevin
    rgb = mala[-1].best[:, 3:]
    assert float(rgb.min()) >= 0.0 and float(rgb.max()) <= 1.0


def test_mala_keeps_a_gaussian_level_exact_where_ula_inflates_it():
    """One data point: each level is N((1 - t) c + t mu, (t sigma)^2) per coordinate, and the
    Langevin step is kappa (t sigma)^2. ULA's chain then has variance 2 / (2 - kappa) times
    the target's (4/3 at kappa 0.5); MALA's trapezoid rule is exact for a Gaussian, so it
    keeps the level's variance."""
    from poe_engine.moves import langevin_step, mala_steps

    experts = exact_experts(1)
    product = Composition.of(experts.values()).snapshot()
    t = 0.5
    centre = (1 - t) * experts["x"].centres[0] + t * NOISE.position_mean
    std = t * NOISE.position_std
    g = make_generator(0, "cpu")
    start = torch.zeros(2, 4000, 6)
    start[..., :3] = centre + std * torch.randn(2, 4000, 3, generator=g)
    x_ula, x_mala = start.clone(), start.clone()
    for _ in range(40):
        x_ula = langevin_step(product, x_ula, t, 0.5, g)
    x_mala, acceptance = mala_steps(product, x_mala, t, 0.5, 40, g)
    ratio_ula = float(x_ula[..., :3].var(dim=(0, 1)).mean() / std**2)
    ratio_mala = float(x_mala[..., :3].var(dim=(0, 1)).mean() / std**2)
    assert ratio_ula == pytest.approx(4 / 3, rel=0.05)
    assert ratio_mala == pytest.approx(1.0, rel=0.05)
    assert 0.5 < float(acceptance) <= 1.0


def test_mala_per_particle_colour_moves_keep_the_colour_level():
    """The colour expert's level: per-point deviations from the mean of std t sigma (far
    from the bounds here), any mean. Its moves are preconditioned (the mean moves as one
    point) and accepted per particle: MALA keeps the deviations' variance, ULA inflates it
    by 2 / (2 - kappa). (Per-particle acceptance falls with the cloud's size times kappa^3:
    64 points and kappa 0.3 here; about 0.87 for 512 points at kappa 0.05.)"""
    from poe_engine.moves import langevin_step, mala_steps

    product = Composition.of([MonochromeColorExpert()]).snapshot()
    t, kappa = 0.05, 0.3  # the mean random-walks (the level is flat along it): small steps
    std = t * MonochromeColorExpert.noise_std
    g = make_generator(1, "cpu")
    start = torch.zeros(256, 64, 6)
    start[..., 3:] = 0.5 + std * torch.randn(256, 64, 3, generator=g)
    x_ula, x_mala = start.clone(), start.clone()
    for _ in range(16):
        x_ula = langevin_step(product, x_ula, t, kappa, g)
    x_mala, acceptance = mala_steps(product, x_mala, t, kappa, 16, g)

    def ratio(x):
        rgb = x[..., 3:]
        dev = rgb - rgb.mean(dim=1, keepdim=True)
        return float(dev.var(dim=(0, 1)).mean() / std**2 * 64 / 63)

    assert ratio(x_ula) == pytest.approx(2 / (2 - kappa), rel=0.03)
    assert ratio(x_mala) == pytest.approx(1.0, rel=0.03)
    assert 0.1 < float(acceptance) < 1.0
