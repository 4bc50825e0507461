"""Frame building without Qt or a display: a sampler's records as the frames the app
shows (best cloud and its fidelity, trail along the ancestry, rate, thread trial)."""

import dataclasses
import threading

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


# --- issue 21: fidelity and x0_hat computed when read, not on the sampler's thread --------

class _CountingProduct:
    """A record's snapshot that counts the evaluations made through it."""

    def __init__(self, product, calls: list) -> None:
        self._product, self._calls = product, calls

    def velocity(self, x, t):
        self._calls.append(t)
        return self._product.velocity(x, t)


def _counted_records(calls: list, kept: list):
    for record in records():
        kept.append(record)
        record.product = _CountingProduct(record.product, calls)
        yield record


def _eager_trail(kept):
    """x0_hat along the shown particle's ancestry as the app computed it before (a `Trail`
    over each step's x0_hat in the shown particle's row, NaN elsewhere)."""
    def positions(record):
        xyz = record.__dict__["denoised"][:, :3].float()  # the value cached by the test
        rows = torch.full((len(record.log_weights), *xyz.shape), float("nan"))
        rows[record.best_index] = xyz
        return rows
    trail = Trail(positions=positions)
    return [trail.add(record) for record in kept]


def test_a_frame_never_read_never_computes_x0_hat_nor_its_fidelity(monkeypatch):
    from poe_desktop.model import frames as frames_module

    measured = []
    real = frames_module.shape_fidelity
    monkeypatch.setattr(frames_module, "shape_fidelity",
                        lambda c: measured.append(1) or real(c))
    calls, kept = [], []
    frames = list(FrameSource(lambda: _counted_records(calls, kept)))
    assert len(frames) == 12 and calls == [] and measured == []  # the stream computed none
    # read: one evaluation of the one particle, once, equal to the record's own x0_hat
    shown = frames[5]
    x0 = shown.denoised
    assert len(calls) == 1 and x0.shape == (32, 6)
    assert shown.denoised is x0 and len(calls) == 1
    expected = kept[5].best - kept[5].t * kept[5].product._product.velocity(
        kept[5].best.unsqueeze(0), kept[5].t)[0]
    np.testing.assert_allclose(x0, expected.numpy(), rtol=1e-6, atol=1e-6)
    fid = fidelity(kept[5].best.float())
    assert (shown.radial_error, shown.off_sphere, shown.chamfer) == (
        fid.radial_error, fid.off_sphere, fid.chamfer)
    assert len(measured) == 1 and shown.chamfer == fid.chamfer and len(measured) == 1


def test_a_lazy_x0_hat_trail_is_the_trail_along_the_ancestry_as_before():
    calls, kept = [], []
    frames = list(FrameSource(lambda: _counted_records(calls, kept)))
    for record in kept:  # what each step's x0_hat is, without counting
        record.__dict__["denoised"] = torch.from_numpy(_x0_of(record))
    before = _eager_trail(kept)
    calls.clear()
    newest = frames[-1].denoised_trail
    # only the steps where the shown particle's ancestor was the one shown are evaluated
    # (and none at t = 0, where x0_hat is the cloud itself)
    own = int(np.isfinite(before[-1][:, 0, 0]).sum()) - (kept[-1].t <= 0)
    assert len(calls) == own and newest.shape == before[-1].shape
    for frame, trail in zip(frames, before, strict=True):
        np.testing.assert_allclose(frame.denoised_trail, trail, rtol=1e-5, atol=1e-6)


def _x0_of(record) -> np.ndarray:
    product = record.product._product
    if record.t <= 0:
        return record.best.float().numpy()
    return (record.best - record.t * product.velocity(record.best.unsqueeze(0),
                                                      record.t)[0]).float().numpy()


def test_a_source_asked_for_the_fidelity_makes_it_with_each_step(monkeypatch):
    """While the plots show every step's fidelity (the app's statistics on screen), the
    iterating thread (the sampler's) computes it with the step: each frame arrives with
    it, the fidelity of its cloud; asked no more, the next steps come without."""
    from poe_desktop.model import frames as frames_module

    threads = []
    real = frames_module.shape_fidelity
    monkeypatch.setattr(frames_module, "shape_fidelity",
                        lambda c: threads.append(threading.get_ident()) or real(c))
    source = FrameSource(records)
    source.fidelity_wanted = True
    frames = []
    for frame in source:
        frames.append(frame)
        assert frame.metrics.done == (len(frames) <= 5)  # before anyone read it
        source.fidelity_wanted = len(frames) < 5
    assert threads == [threading.get_ident()] * 5
    for frame in frames[:5]:
        fid = fidelity(torch.from_numpy(frame.cloud))
        assert (frame.radial_error, frame.off_sphere, frame.chamfer) == (
            fid.radial_error, fid.off_sphere, fid.chamfer)
    assert not any(frame.metrics.done for frame in frames[5:])


def test_the_plots_series_computes_fidelity_only_when_a_plot_reads_it(monkeypatch):
    from poe_desktop.model import frames as frames_module
    from poe_desktop.model.stats_series import FrameSeries

    measured = []
    real = frames_module.shape_fidelity
    monkeypatch.setattr(frames_module, "shape_fidelity",
                        lambda c: measured.append(1) or real(c))
    frames = list(FrameSource(records))
    series = FrameSeries()
    series.sync(frames[:7])
    assert measured == [] and len(series.ess) == 7  # the other columns are read at once
    assert len(series.radial_error) == 7 and len(measured) == 7  # every step it shows
    series.sync(frames)
    assert len(series.chamfer) == 12 and len(measured) == 12  # the new steps only
    np.testing.assert_array_equal(series.off_sphere, [f.off_sphere for f in frames])
    assert len(measured) == 12


def test_while_a_run_streams_the_plots_read_only_the_fidelity_computed_elsewhere():
    """The app computes a frame's fidelity on a pool thread as it arrives; the series the
    plots read (wait_for_lazy False) takes the values ready and leaves the rest NaN, never
    computing one on the reader's thread; at the run's end (True) it reads them all."""
    import threading

    from poe_desktop.model.stats_series import FrameSeries

    frames = [frame_from(r, rate=1.0) for r in records(replace_steps(4))]
    assert not any(f.metrics.done for f in frames)
    worker = threading.Thread(target=frames[0].metrics.get)  # as the app's pool does
    worker.start()
    worker.join()
    series = FrameSeries()
    series.wait_for_lazy = False
    series.sync(frames)
    radial = series.radial_error
    assert radial[0] == frames[0].radial_error and np.isnan(radial[1:]).all()
    assert not any(f.metrics.done for f in frames[1:])  # none computed here
    series.wait_for_lazy = True
    assert np.isfinite(series.radial_error).all()
    assert series.chamfer[3] == fidelity(torch.from_numpy(frames[3].cloud)).chamfer


def replace_steps(steps: int) -> SamplerSettings:
    return dataclasses.replace(SETTINGS, steps=steps)
