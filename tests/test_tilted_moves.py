"""Tilted moves (`moves="tilted"`): weights taken before the Langevin moves, and moves that
keep the reward-tilted level (a Metropolis test on the reward's change)."""

import math

import pytest
import torch

from poe_engine.experts import MonochromeColorExpert
from poe_engine.flow import time_grid
from poe_engine.moves import langevin_step, mala_steps, tilted_langevin_steps
from poe_engine.product import Composition
from poe_engine.reward import ColorReward
from poe_engine.samplers import SamplerSettings, ais
from poe_engine.world import NOISE, make_generator

from exact import exact_experts

# the classic preset's moves: Langevin at every level, no colour-only moves
SMALL = SamplerSettings(particles=6, points=16, steps=10, langevin_steps=2, langevin_from=1.0,
                        colour_moves=0, keep_particles=True)


class ConstantColourReward:
    """Every cloud gets the same log-reward; it reads the colour channels."""

    name = "constant"
    strength = 1.0
    channels = (3, 4, 5)

    def log_reward(self, clouds: torch.Tensor) -> torch.Tensor:
        return torch.full(clouds.shape[:1], 2.5, dtype=torch.float64, device=clouds.device)


class MeanXReward:
    """strength x the mean of a cloud's x coordinates: it reads channel 0 only."""

    name = "mean-x"
    channels = (0,)

    def __init__(self, strength: float) -> None:
        self.strength = strength

    def log_reward(self, clouds: torch.Tensor) -> torch.Tensor:
        return self.strength * clouds[..., 0].double().mean(dim=-1)


def exact_product(reward, points=16):
    return Composition.of([*exact_experts(points).values(), MonochromeColorExpert()], reward)


def settings(**changes):
    return SamplerSettings(**SMALL.to_dict() | changes)


@pytest.mark.parametrize("kernel", ["ula", "mala"])
@pytest.mark.parametrize("schedule", ["constant", "linear", "adaptive"])
def test_with_a_constant_reward_tilted_moves_are_blind_moves(kernel, schedule):
    blind = list(ais(exact_product(ConstantColourReward()),
                     settings(kernel=kernel, schedule=schedule), seed=4))
    tilted = list(ais(exact_product(ConstantColourReward()),
                      settings(kernel=kernel, schedule=schedule, moves="tilted"), seed=4))
    for b, t in zip(blind, tilted, strict=True):
        assert torch.equal(b.particles, t.particles)
        assert torch.equal(b.log_weights, t.log_weights)
        assert float(b.log_z) == pytest.approx(float(t.log_z), abs=1e-12)
    assert float(tilted[-1].log_z) == pytest.approx(2.5, abs=1e-12)
    if kernel == "ula":  # tilted ULA reports its reward test: a constant reward passes all
        assert all(float(r.acceptance) == 1.0 for r in tilted[:-1])


def test_the_increment_is_taken_before_the_moves():
    """The colour expert's Euler step keeps a cloud's mean colour, so a colour reward's
    increment at level k is (lambda_k - lambda_{k-1}) R of where the particle ended level
    k - 1, although the moves change R: the moves do not enter the weights. Blind, the
    increment holds the moves' change of R as well."""
    reward = ColorReward("red", 300.0)
    base = dict(ess_threshold=0.0, schedule="linear")  # no resampling: weights accumulate
    tilted = list(ais(exact_product(reward), settings(**base, moves="tilted"), seed=0))
    blind = list(ais(exact_product(reward), settings(**base, moves="blind"), seed=0))
    moved = 0.0
    for r, before in zip(tilted[1:], tilted[:-1], strict=False):
        step = float(r.reward_scale) - float(before.reward_scale)
        assert torch.allclose(r.log_weights - before.log_weights, step * before.rewards,
                              atol=1e-3)
        moved = max(moved, float((r.rewards - before.rewards).abs().max()))
    assert moved > 1.0  # the moves did change the reward, by nats
    for r, before in zip(blind[1:], blind[:-1], strict=False):
        assert torch.allclose(r.log_weights - before.log_weights,
                              float(r.reward_scale) * r.rewards
                              - float(before.reward_scale) * before.rewards, atol=1e-9)
    # the first level's weights do not depend on how many moves follow the ODE step
    one = next(ais(exact_product(reward), settings(**base, moves="tilted", langevin_steps=1)))
    assert torch.equal(one.log_weights, tilted[0].log_weights)
    assert not torch.equal(one.rewards, tilted[0].rewards)


def test_a_reward_changed_mid_run_is_weighed_at_once_before_the_moves():
    """Red, then blue from the second level: the second increment is R_blue - R_red of where
    each particle ended the first level (the Euler step keeps the mean colour)."""
    composition = exact_product(ColorReward("red"))
    stream = ais(composition, settings(moves="tilted", schedule="constant", ess_threshold=0.0),
                 seed=1)
    first = next(stream)
    composition.set_reward(ColorReward("blue"))
    second = next(stream)
    expected = (ColorReward("blue").log_reward(first.particles)
                - ColorReward("red").log_reward(first.particles))
    assert second.reward == "blue"
    assert torch.allclose(second.log_weights - first.log_weights, expected, atol=1e-3)


def one_point_colours(particles: int, generator: torch.Generator) -> torch.Tensor:
    """Clouds of one point each, colours well inside [0, 1]."""
    x = torch.zeros(particles, 1, 6)
    x[..., 3:] = 0.5 + 0.05 * torch.randn(particles, 1, 3, generator=generator)
    return x


def test_the_reward_test_is_metropolis_by_hand_for_ula():
    """ULA: the move is accepted iff log u < scale (R(x') - R(x)), u from the test stream;
    positions move whatever the test says."""
    product = Composition.of([*exact_experts(1).values(), MonochromeColorExpert()],
                             ColorReward("red", 10.0)).snapshot()
    g, tests = make_generator(1), make_generator(2)
    x = one_point_colours(4000, g)
    x[..., :3] = 0.5
    scale = torch.tensor(0.7, dtype=torch.float64)
    g_copy, tests_copy = make_generator(0), make_generator(0)
    g_copy.set_state(g.get_state())
    tests_copy.set_state(tests.get_state())
    out, rate = tilted_langevin_steps(product, x, 0.5, 0.05, 1, scale, g, tests)

    y = langevin_step(product, x, 0.5, 0.05, g_copy)
    u = torch.rand(4000, generator=tests_copy, dtype=torch.float64)
    log_ratio = scale * (product.log_reward(y) - product.log_reward(x))
    ok = torch.log(u) < log_ratio
    assert torch.equal(out[ok], y[ok])
    assert torch.equal(out[~ok][..., 3:], x[~ok][..., 3:])
    assert torch.equal(out[..., :3], y[..., :3])
    assert float(rate) == pytest.approx(float(ok.double().mean()))
    expected = float(torch.clamp(log_ratio.exp(), max=1.0).mean())
    assert 0.2 < expected < 0.9 and float(rate) == pytest.approx(expected, abs=0.03)


def test_the_reward_test_is_metropolis_by_hand_for_mala():
    """MALA on the colour expert alone with one point a cloud: the colour score is 0 and the
    proposal symmetric, so MALA's own ratio is 1 and the acceptance is min(1, exp(scale
    (R(x') - R(x)))) exactly, the proposal inside [0, 1]."""
    product = Composition.of([MonochromeColorExpert()], ColorReward("green", 10.0)).snapshot()
    g = make_generator(3)
    x = one_point_colours(4000, g)
    scale = torch.tensor(0.8, dtype=torch.float64)
    copy = make_generator(0)
    copy.set_state(g.get_state())
    out, _ = mala_steps(product, x, 0.5, 0.05, 1, g, scale)

    h = 0.05 * (0.5 * MonochromeColorExpert.noise_std) ** 2
    noise = torch.randn(x.shape, generator=copy)
    y = x + math.sqrt(2 * h) * math.sqrt(2.0) * noise  # M = h (I + 1 P), P = I for one point
    y[..., :3] = x[..., :3]
    u = torch.rand((4000, 2), generator=copy, dtype=torch.float64)
    log_ratio = scale * (product.log_reward(y) - product.log_reward(x))
    inside = ((y[..., 3:] >= 0) & (y[..., 3:] <= 1)).all(dim=-1).all(dim=-1)
    ok = (torch.log(u[:, 0]) < log_ratio) & inside
    assert 0.2 < float(ok.double().mean()) < 0.9
    assert torch.allclose(out[ok], y[ok], atol=1e-6)
    assert torch.equal(out[~ok], x[~ok])


@pytest.mark.parametrize("kernel", ["ula", "mala"])
def test_tilted_moves_keep_a_tilted_gaussian_level(kernel):
    """One data point: each level is N(m, v) per coordinate. A reward of strength s times the
    mean x of a cloud of N points tilts it to N(m + scale s v / N, v) per point's x. MALA is
    exact there; ULA's chain keeps N(m, v') with v' = 2 v / (2 - kappa), and the test tilts
    that one. Many clouds, many moves from the untilted level: mean and variance of x."""
    points, strength, t, kappa = 4, 16.0, 0.5, 0.3
    experts = exact_experts(1)
    product = Composition.of(experts.values(), MeanXReward(strength)).snapshot()
    m = float((1 - t) * experts["x"].centres[0, 0] + t * NOISE.position_mean)
    v = (t * NOISE.position_std) ** 2
    if kernel == "ula":
        v = 2 * v / (2 - kappa)
    g, tests = make_generator(5), make_generator(6)
    x = torch.zeros(3000, points, 6)
    x[..., :3] = m + math.sqrt(v) * torch.randn(3000, points, 3, generator=g)
    scale = torch.tensor(1.0, dtype=torch.float64)
    if kernel == "mala":
        x, rate = mala_steps(product, x, t, kappa, 60, g, scale)
    else:
        x, rate = tilted_langevin_steps(product, x, t, kappa, 60, scale, g, tests)
    shift = strength * v / points
    assert shift > 2 * math.sqrt(v) * 0.1  # a shift the test can see: a fifth of a std
    xs = x[..., 0].double()
    err = math.sqrt(v / xs.numel()) * 3  # points of one cloud are independent here
    assert float(xs.mean()) == pytest.approx(m + shift, abs=4 * err)
    assert float(xs.var()) == pytest.approx(v, rel=0.06)
    assert float(x[..., 1].double().mean()) == pytest.approx(
        float((1 - t) * experts["y"].centres[0, 1] + t * NOISE.position_mean), abs=4 * err)
    assert 0.2 < float(rate) < 1.0


def test_paper_and_potential_weighting_move_blind():
    reward = ColorReward("blue")
    for weighting in ("paper", "potential"):
        a = list(ais(exact_product(reward), settings(weighting=weighting), seed=2))
        b = list(ais(exact_product(reward), settings(weighting=weighting, moves="tilted"),
                     seed=2))
        assert all(torch.equal(r.particles, s.particles) for r, s in zip(a, b, strict=True))


def test_the_grid_ends_at_the_data_level_without_a_test():
    records = list(ais(exact_product(ColorReward("red")), settings(moves="tilted"), seed=1))
    assert time_grid(SMALL.steps)[-1] == 0.0
    rates = [float(r.acceptance) for r in records]
    assert all(0.0 <= a <= 1.0 for a in rates[:-1]) and math.isnan(rates[-1])
    assert float(records[-1].reward_scale) == 1.0
