"""Frame building without Qt or a display: a sampler's records as the frames the app
shows (best cloud and its fidelity, trail along the ancestry, rate, thread trial)."""

import dataclasses

import numpy as np
import pytest
import torch

from poe_desktop.model.frames import TRAIL_LENGTH, Frame, FrameSource, Trail, frame_from
from poe_desktop.model.pacing import ThreadTrial
from poe_engine.experts import MonochromeColorExpert
from poe_engine.metrics import fidelity
from poe_engine.product import Composition
from poe_engine.reward import ColorReward
from poe_engine.samplers import SamplerSettings, ais

from exact import exact_experts

SETTINGS = SamplerSettings(particles=4, points=32, steps=12, langevin_steps=1,
                           ess_threshold=1.0, keep_particles=True)  # resamples every step


@pytest.fixture(autouse=True)
def _threads():
    """A thread trial sets torch's thread count: put it back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def records(settings=SETTINGS, seed=0):
    product = Composition.of([*exact_experts(32).values(), MonochromeColorExpert()],
                             ColorReward("red"))
    return ais(product, settings, seed=seed)


def test_a_frame_holds_the_best_cloud_its_fidelity_and_what_the_step_used():
    record = next(records())
    frame = frame_from(record, rate=3.0, seconds_left=4.0, threads="2 thread(s)")
    assert isinstance(frame.cloud, np.ndarray) and frame.cloud.shape == (32, 6)
    np.testing.assert_array_equal(frame.cloud, record.best.float().numpy())
    fid = fidelity(record.best.float())
    assert (frame.radial_error, frame.off_sphere, frame.chamfer) == (
        fid.radial_error, fid.off_sphere, fid.chamfer)
    assert frame.log_weights.shape == (4,) and frame.ess == record.ess
    assert (frame.index, frame.steps, frame.t) == (0, 12, record.t)
    assert frame.experts == ("x", "y", "z", "color") and frame.reward == "red"
    assert frame.weights == record.weights and frame.strength == record.strength
    assert (frame.steps_per_second, frame.seconds_left, frame.threads) == (3.0, 4.0,
                                                                          "2 thread(s)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.index = 3


def test_the_trail_follows_the_shown_particle_back_along_its_ancestry():
    trail, seen = Trail(), []
    for record in records():
        path = trail.add(record)
        seen.append(record)
        assert path.shape == (min(len(seen), TRAIL_LENGTH), 32, 3)
        # the newest point is the shown particle's own position now
        np.testing.assert_array_equal(path[-1], record.particles[record.best_index, :, :3])
        # each earlier point is an ancestor's position at that step
        index = record.best_index
        for back in range(2, len(path) + 1):
            previous = seen[-back]
            if previous.ancestors is not None:
                index = int(previous.ancestors[index])
            np.testing.assert_array_equal(path[-back], previous.particles[index, :, :3])
    trail.clear()
    assert trail.history == []


def test_a_frame_source_streams_every_step_and_frees_the_history_at_the_end():
    ThreadTrial.chosen.clear()
    ticks = iter(np.arange(0.0, 100.0, 0.25))
    source = FrameSource(records, "cpu", (4, 32, "fp32"), clock=lambda: float(next(ticks)))
    frames = list(source)
    assert [f.index for f in frames] == list(range(12))
    assert all(isinstance(f, Frame) and f.trail is not None for f in frames)
    assert frames[0].steps_per_second == 0.0 and frames[0].seconds_left is None
    assert frames[-1].steps_per_second > 0 and frames[-2].seconds_left is not None
    assert "thread(s)" in frames[-1].threads  # chosen by timing the first steps
    assert source.trail.history == []


def test_a_frame_source_closed_early_or_failing_frees_the_history_too():
    source = FrameSource(records)
    stream = iter(source)
    next(stream), next(stream)
    assert len(source.trail.history) == 2
    stream.close()  # what the worker does when a run is stopped
    assert source.trail.history == []

    def broken():
        yield next(records())
        raise RuntimeError("the engine broke")

    source = FrameSource(broken)
    with pytest.raises(RuntimeError, match="broke"):
        list(source)
    assert source.trail.history == []


def test_off_the_cpu_no_thread_count_is_chosen():
    assert FrameSource(records, "cuda").thread_trial() is None
    assert isinstance(FrameSource(records, "cpu", (4, 32, "fp32")).thread_trial(), ThreadTrial)


def test_a_frame_carries_the_population_with_defaults_for_what_a_record_lacks():
    record = next(records())
    frame = frame_from(record, rate=1.0)
    assert frame.particles.shape == (4, 32, 6) and frame.particles.dtype == np.float32
    np.testing.assert_array_equal(frame.particles, record.particles.float().numpy())
    assert frame.ancestors is not None and frame.ancestors.shape == (4,)  # resampled
    np.testing.assert_array_equal(frame.ancestors, record.ancestors.numpy())
    for name in ("reward_scale", "acceptance", "log_z"):  # what the record says, NaN too
        np.testing.assert_equal(getattr(frame, name), float(getattr(record, name)))
    bare = frame_from(_Without(record, "reward_scale", "acceptance", "log_z", "rewards"), 1.0)
    assert bare.reward_scale == 1.0 and np.isnan(bare.acceptance) and np.isnan(bare.log_z)
    assert bare.rewards is None
    fake = _With(record, reward_scale=0.25, acceptance=0.75, log_z=-1.5,
                 rewards=torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    frame = frame_from(fake, rate=1.0)
    assert (frame.reward_scale, frame.acceptance, frame.log_z) == (0.25, 0.75, -1.5)
    np.testing.assert_array_equal(frame.rewards, [1.0, 2.0, 3.0, 4.0])


class _Without:
    """A record without some attributes (as records were before the particle system)."""

    def __init__(self, record, *names: str) -> None:
        self._record, self._names = record, names

    def __getattr__(self, name):
        if name in self._names:
            raise AttributeError(name)
        return getattr(self._record, name)


class _With:
    """A record with some attributes set (as the engine's records will carry them)."""

    def __init__(self, record, **values) -> None:
        self.__dict__.update(values, _record=record)

    def __getattr__(self, name):
        return getattr(self._record, name)
