"""Experts, rewards and the composition that multiplies them."""

import pytest
import torch

from poe_engine.experts import AxisFlowExpert, MonochromeColorExpert
from poe_engine.product import Composition
from poe_engine.reward import ColorReward, parse_color
from poe_engine.world import NOISE, make_generator

from exact import ExactAxisExpert


@pytest.fixture
def noise():
    return NOISE.sample(3, 64, make_generator(0))


def test_colour_expert_euler_step_shrinks_deviations_exactly_and_keeps_the_mean(noise):
    expert = MonochromeColorExpert()
    t, s = 0.8, 0.2
    moved = noise.clone()
    moved[..., 3:] += (s - t) * expert.velocity(noise, t)
    before = noise[..., 3:] - noise[..., 3:].mean(dim=1, keepdim=True)
    after = moved[..., 3:] - moved[..., 3:].mean(dim=1, keepdim=True)
    assert torch.allclose(after, before * (s / t), atol=1e-6)
    assert torch.allclose(moved[..., 3:].mean(dim=1), noise[..., 3:].mean(dim=1), atol=1e-6)


def test_colour_expert_score_is_the_gradient_of_its_density(noise):
    expert = MonochromeColorExpert()
    t = 0.4
    rgb = noise[..., 3:].double().clone().requires_grad_(True)
    dev = rgb - rgb.mean(dim=1, keepdim=True)
    log_p = -(dev**2).sum() / (2 * (t * expert.noise_std) ** 2)
    (grad,) = torch.autograd.grad(log_p, rgb)
    assert torch.allclose(expert.score(noise.double(), t), grad, atol=1e-8)


def test_axis_expert_moves_only_its_own_axis(noise):
    expert = AxisFlowExpert("y")
    assert expert.channels == (1,)
    assert expert.velocity(noise, 0.5).shape == (3, 64, 1)
    product = Composition.of([expert]).snapshot()
    v = product.velocity(noise, 0.5)
    assert v[..., 1].abs().sum() > 0
    assert torch.all(v[..., [0, 2, 3, 4, 5]] == 0)


def test_disabled_experts_leave_a_finite_product_that_freezes_their_channels(noise):
    experts = [ExactAxisExpert(a, 64) for a in "xyz"] + [MonochromeColorExpert()]
    composition = Composition.of(experts)
    composition.set_enabled("x", False)
    composition.set_enabled("color", False)
    product = composition.snapshot()
    assert product.names == ("y", "z")
    v = product.velocity(noise, 0.5)
    score, step = product.score_and_step(noise, 0.5, 0.05)
    assert torch.isfinite(v).all() and torch.isfinite(score).all() and torch.isfinite(step).all()
    for frozen in (0, 3, 4, 5):
        assert torch.all(v[..., frozen] == 0) and torch.all(score[..., frozen] == 0)
        assert step[frozen] == 0
    # all experts off: still defined, nothing moves
    for name in ("y", "z"):
        composition.set_enabled(name, False)
    empty = composition.snapshot()
    assert torch.all(empty.velocity(noise, 0.5) == 0)


def test_weights_scale_the_score_and_the_langevin_step(noise):
    expert = ExactAxisExpert("x", 64)
    composition = Composition.of([expert])
    s1, h1 = composition.snapshot().score_and_step(noise, 0.5, 0.05)
    composition.set_weight("x", 2.0)
    s2, h2 = composition.snapshot().score_and_step(noise, 0.5, 0.05)
    assert torch.allclose(s2, 2 * s1)
    assert h2[0] == pytest.approx(h1[0] / 2)
    assert h1[0] == pytest.approx(0.05 * (0.5 * NOISE.position_std) ** 2)
    with pytest.raises(ValueError, match="weight"):
        composition.set_weight("x", -1)
    with pytest.raises(ValueError, match="no expert named 'w'"):
        composition.set_enabled("w", True)
    composition.set_weight("x", 0.0)  # weight 0 takes the expert out of play
    assert composition.snapshot().names == ()


def test_colour_rewards_prefer_their_colour():
    def cloud(rgb):
        c = torch.zeros(1, 10, 6)
        c[..., 3:] = torch.tensor(rgb)
        return c

    reddish, greenish = cloud([0.9, 0.2, 0.2]), cloud([0.2, 0.9, 0.2])
    red, green = ColorReward("red"), ColorReward("green", strength=10)
    assert red.log_reward(reddish) > red.log_reward(greenish)
    assert green.log_reward(greenish) > green.log_reward(reddish)
    assert float(red.log_reward(reddish)) == pytest.approx(300 * (0.9 - 0.2))
    assert float(green.log_reward(greenish)) == pytest.approx(10 * 0.7)
    white = ColorReward("white")
    assert white.log_reward(cloud([1, 1, 1])) > white.log_reward(cloud([1, 0, 0]))
    orange = ColorReward("#ff8000")
    assert orange.target == pytest.approx((1.0, 128 / 255, 0.0))
    assert orange.log_reward(cloud([1, 0.5, 0])) > orange.log_reward(cloud([0, 0.5, 1]))


@pytest.mark.parametrize("bad", ["purplish", "#12345", "#gg0000", ""])
def test_unknown_colours_are_refused_with_a_clear_message(bad):
    with pytest.raises(ValueError, match="unknown colour"):
        parse_color(bad)


def test_reward_strength_must_be_finite_and_non_negative():
    with pytest.raises(ValueError, match="strength"):
        ColorReward("red", float("nan"))
    with pytest.raises(ValueError, match="strength"):
        ColorReward("red", -1)


def test_reward_is_float64_and_strength_is_bounded():
    from poe_engine.reward import MAX_STRENGTH

    cloud = torch.rand(3, 16, 6)
    assert ColorReward("red").log_reward(cloud).dtype == torch.float64
    assert ColorReward("#336699").log_reward(cloud).dtype == torch.float64
    ColorReward("red", MAX_STRENGTH)
    for strength in (1e39, MAX_STRENGTH * 1.01, float("inf")):
        with pytest.raises(ValueError, match="reward strength must"):
            ColorReward("red", strength)


@pytest.mark.parametrize("sampler", ["ais", "euler"])
def test_the_largest_strength_keeps_weights_and_ess_finite(sampler, shipped_experts):
    from poe_engine.reward import MAX_STRENGTH
    from poe_engine.runs import build_composition, run
    from poe_engine.samplers import SamplerSettings

    composition = build_composition(shipped_experts, ("x", "y", "z", "color"),
                                    ColorReward("green", MAX_STRENGTH))
    settings = SamplerSettings(particles=4, points=16, steps=4, langevin_steps=1)
    for r in run(composition, settings, sampler, seed=1).records:
        assert r.log_weights.dtype == torch.float64
        assert torch.isfinite(r.log_weights).all() and 1.0 <= r.ess <= 4.0
