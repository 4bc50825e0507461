"""The step record's predicted clean cloud x0_hat = x_t - t v (`StepRecord.denoised`), and
the frames that carry it to the view with its trail."""

import math

import numpy as np
import pytest
import torch

from poe_desktop.model.frames import FrameSource
from poe_engine.experts import MonochromeColorExpert
from poe_engine.product import Composition
from poe_engine.reward import ColorReward
from poe_engine.samplers import SamplerSettings, ais, euler
from poe_engine.world import NOISE, golden_spiral_sphere

from exact import exact_experts

POINTS = 48
SMALL = SamplerSettings(particles=3, points=POINTS, steps=6, langevin_steps=1)


def composition(axes=("x", "y", "z")):
    experts = exact_experts(POINTS)
    return Composition.of([*(experts[a] for a in axes), MonochromeColorExpert()],
                          ColorReward("red"))


def posterior_mean(xyz: torch.Tensor, t: float) -> torch.Tensor:
    """E[x_0 | x_t] of the golden-spiral mixture, written from Bayes' rule directly: each
    centre c_j is equally likely and x_t | c_j ~ N((1 - t) c_j + t mu, (t sigma)^2 I)."""
    centres = golden_spiral_sphere(POINTS).double()
    means = (1 - t) * centres + t * NOISE.position_mean
    sq = ((xyz.double()[:, None, :] - means[None]) ** 2).sum(-1)
    log_lik = -sq / (2 * (t * NOISE.position_std) ** 2)
    resp = torch.exp(log_lik - log_lik.max(dim=1, keepdim=True).values)
    return (resp / resp.sum(dim=1, keepdim=True)) @ centres


@pytest.mark.parametrize("sampler", [ais, euler])
def test_denoised_positions_are_the_exact_posterior_mean(sampler):
    records = list(sampler(composition(), SMALL, seed=1))
    for r in records[:-1]:
        assert 0 < r.t < 1 and r.denoised.shape == (POINTS, 6)
        expected = posterior_mean(r.best[:, :3], r.t)
        assert torch.allclose(r.denoised[:, :3].double(), expected, atol=2e-4), r.t
        assert not torch.allclose(r.denoised[:, :3], r.best[:, :3], atol=1e-2)


def test_denoised_colours_are_the_colour_experts_prediction_the_mean_colour():
    r = next(iter(ais(composition(), SMALL, seed=3)))
    mean = r.best[:, 3:].mean(dim=0)
    assert torch.allclose(r.denoised[:, 3:], mean.expand(POINTS, 3), atol=1e-5)
    assert r.best[:, 3:].std(dim=0).min() > 0.05  # x_t's colours are still spread


def test_denoised_is_x_minus_t_times_the_products_velocity():
    """With an axis expert off, its channel has no velocity: x0_hat keeps x_t's value there;
    the other channels are x - t v with v the product's velocity at the record's level."""
    comp = composition(axes=("y", "z"))
    r = list(ais(comp, SMALL, seed=4))[2]
    v = comp.snapshot().velocity(r.best[None], r.t)[0]
    assert torch.allclose(r.denoised, r.best - r.t * v, atol=1e-6)
    assert torch.equal(r.denoised[:, 0], r.best[:, 0])


def test_at_the_data_level_denoised_is_the_cloud_itself():
    last = list(ais(composition(), SMALL, seed=2))[-1]
    assert last.t == 0.0
    assert torch.equal(last.denoised, last.best)
    assert torch.isfinite(last.denoised).all()


def test_denoised_is_computed_only_when_read_for_the_best_particle_alone(monkeypatch):
    calls = []
    comp = composition()
    original = Composition.snapshot

    def counting_snapshot(self, *args, **kwargs):
        snap = original(self, *args, **kwargs)
        velocity = snap.velocity

        def counted(cloud, t):
            calls.append(tuple(cloud.shape))
            return velocity(cloud, t)

        object.__setattr__(snap, "velocity", counted)
        return snap

    monkeypatch.setattr(Composition, "snapshot", counting_snapshot)
    records = list(ais(comp, SMALL, seed=0))
    during_run = len(calls)
    _ = records[1].denoised, records[1].denoised  # cached: one evaluation
    assert calls[during_run:] == [(1, POINTS, 6)]
    assert math.isclose(records[1].t, 1 - 2 / SMALL.steps)


def test_frames_carry_x0_hat_and_its_trail_along_the_shown_particles_ancestry():
    settings = SamplerSettings(particles=3, points=POINTS, steps=8, langevin_steps=1,
                               ess_threshold=1.0, keep_particles=True)  # resamples each step
    seen = []

    def stream():
        for record in ais(composition(), settings, seed=5):
            seen.append(record)
            yield record

    frames = list(FrameSource(stream))
    for frame, record in zip(frames, seen, strict=True):
        np.testing.assert_array_equal(frame.denoised, record.denoised.numpy())
        trail = frame.denoised_trail
        assert trail.shape == frame.trail.shape
        np.testing.assert_array_equal(trail[-1], record.denoised[:, :3].numpy())
    # an earlier point is x0_hat where the ancestor was the shown particle then, else NaN
    index, last, kinds = seen[-1].best_index, frames[-1].denoised_trail, set()
    for back in range(2, len(last) + 1):
        previous = seen[-back]
        if previous.ancestors is not None:
            index = int(previous.ancestors[index])
        kinds.add(index == previous.best_index)
        if index == previous.best_index:
            np.testing.assert_array_equal(last[-back], previous.denoised[:, :3].numpy())
        else:
            assert np.isnan(last[-back]).all()
    assert kinds == {True, False}  # this seed's lineage passes through both cases
