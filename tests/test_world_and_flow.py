"""The toy world's facts and the maths contract of the time convention."""

import math

import pytest
import torch

from poe_engine.flow import interpolate, time_grid, velocity_to_score
from poe_engine.world import (
    NOISE,
    RGB_CORNERS,
    golden_spiral_sphere,
    make_generator,
    sample_data,
)

from exact import exact_velocity, mixture_log_density


def test_golden_spiral_lies_on_the_sphere_and_spreads_evenly():
    pts = golden_spiral_sphere(512)
    radius = torch.linalg.vector_norm(pts - 0.5, dim=-1)
    assert torch.allclose(radius, torch.full_like(radius, 0.5), atol=1e-6)
    nearest = torch.cdist(pts, pts).fill_diagonal_(9).min(dim=1).values
    # an even lattice: every point has a neighbour, none sits on another
    assert nearest.min() > 0.5 * nearest.mean()
    assert pts.min() >= 0 and pts.max() <= 1


def test_data_colours_mix_three_distinct_corners_round_robin():
    data = sample_data(4, 300, make_generator(1))
    assert data.shape == (4, 300, 6)
    rgb = data[..., 3:]
    assert rgb.min() >= 0 and rgb.max() <= 1
    for cloud in rgb:
        nearest = torch.cdist(cloud, RGB_CORNERS).argmin(dim=1)
        # points i and i+3 share a corner; a cloud mixes exactly 3 distinct corners
        by_slot = [torch.mode(nearest[s::3]).values.item() for s in range(3)]
        assert len(set(by_slot)) == 3
        assert (nearest[0::3] == by_slot[0]).float().mean() > 0.9


def test_noise_particles_start_with_different_mean_colours():
    noise = NOISE.sample(8, 512, make_generator(0))
    means = noise[..., 3:].mean(dim=1)
    assert torch.cdist(means, means).fill_diagonal_(9).min() > 1e-3
    assert noise[..., :3].std() == pytest.approx(NOISE.position_std, rel=0.05)
    assert noise[..., :3].mean() == pytest.approx(NOISE.position_mean, abs=0.02)


def test_time_grid_runs_from_noise_to_data():
    grid = time_grid(4)
    assert grid == [1.0, 0.75, 0.5, 0.25, 0.0]


@pytest.mark.parametrize("t", [0.05, 0.3, 0.7, 0.99])
def test_velocity_to_score_is_exact_for_gaussian_data(t):
    """Data N(m0, s0^2) under the prior N(mu, sigma^2): every quantity is closed-form."""
    m0, s0 = 0.8, 0.2
    mu, sigma = NOISE.position_mean, NOISE.position_std
    x = torch.linspace(-1.0, 2.0, 31, dtype=torch.float64)
    mean_t = (1 - t) * m0 + t * mu
    var_t = ((1 - t) * s0) ** 2 + (t * sigma) ** 2
    # exact flow velocity E[eps - x0 | x] by Gaussian conditioning
    e_eps = mu + t * sigma**2 / var_t * (x - mean_t)
    e_x0 = m0 + (1 - t) * s0**2 / var_t * (x - mean_t)
    score = velocity_to_score(e_eps - e_x0, x, t, mu, sigma)
    assert torch.allclose(score, -(x - mean_t) / var_t, rtol=1e-10, atol=1e-10)


def test_velocity_to_score_matches_autograd_for_the_sphere_mixture():
    """Non-Gaussian data: the exact velocity of the spiral mixture, converted, must equal
    the gradient of the mixture's log-density."""
    centres = golden_spiral_sphere(64).double()
    x = NOISE.sample_positions((50,), make_generator(3), "cpu").double()
    for t in (0.1, 0.5, 0.9):
        xr = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(mixture_log_density(xr, t, centres).sum(), xr)
        v = exact_velocity(x, t, centres)
        score = velocity_to_score(v, x, t, NOISE.position_mean, NOISE.position_std)
        assert torch.allclose(score, grad, rtol=1e-6, atol=1e-6), t


def test_interpolation_endpoints():
    x0, eps = torch.zeros(3), torch.ones(3)
    assert torch.equal(interpolate(x0, eps, 0.0), x0)
    assert torch.equal(interpolate(x0, eps, 1.0), eps)
    assert math.isclose(float(interpolate(x0, eps, 0.25)[0]), 0.25)
