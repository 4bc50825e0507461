"""HMC as a move kernel (`--kernel hmc --leapfrog N`): positions by Hamiltonian Monte Carlo
with a Metropolis test per point, the other channels by their Langevin moves as before."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from poe_engine.budget import PRESETS
from poe_engine.cli import main
from poe_engine.errors import InputError
from poe_engine.metrics import color_success
from poe_engine.moves import hmc_steps
from poe_engine.reward import ColorReward
from poe_engine.runs import build_composition, run
from poe_engine.samplers import SamplerSettings
from poe_engine.spec import CONFIG_FORMAT, RunSpec
from poe_engine.world import make_generator

# The small real runs of these tests: 8 particles x 256 points, 32 steps, fp32.
# the classic preset's moves (3 Langevin moves a level, no colour-only moves): HMC's own
REAL = SamplerSettings(**PRESETS["classic"] | {"steps": 32}, particles=8, points=256,
                       precision="fp32", kernel="hmc")
CLI = ["--particles", "8", "--points", "256", "--steps", "32", "--langevin", "1",
       "--precision", "fp32", "--device", "cpu", "--seed", "5", "--reward", "blue"]


class Owner:
    def __init__(self, channels: tuple[int, ...]) -> None:
        self.channels = channels


class GaussianProduct:
    """A Snapshot-like product: N(mean_c, var_c) on every channel, positions (0-2) and
    colours (3-5) owned by two experts, the step kappa var_c (as `score_and_step` sets it
    for a lone expert); positions optionally bounded."""

    reward = None

    def __init__(self, mean, var, bounds=None) -> None:
        self.mean, self.var = torch.tensor(mean), torch.tensor(var)
        self.experts = ((Owner((0, 1, 2)), 1.0), (Owner((3, 4, 5)), 1.0))
        self._bounds = bounds

    def score_and_step(self, x, t, kappa):
        return -(x - self.mean) / self.var, kappa * self.var

    def mean_mobility(self):
        return [0.0] * 6

    def bounds(self):
        return [] if self._bounds is None else [(slice(0, 3), *self._bounds)]

    def log_reward(self, x):
        return None


MEAN = [0.3, 0.5, 0.7, 0.5, 0.5, 0.5]
VAR = [0.01, 0.04, 0.09, 0.04, 0.04, 0.04]


def at_the_target(clouds: int, generator) -> torch.Tensor:
    return torch.tensor(MEAN) + torch.tensor(VAR).sqrt() * torch.randn(
        clouds, 8, 6, generator=generator)


@pytest.mark.parametrize("leapfrog", [1, 4])
def test_hmc_leaves_a_gaussian_level_invariant_and_the_colours_move_by_ula(leapfrog):
    """Started at the target, HMC keeps every position's mean and variance (the trapezoid
    rule is exact for a Gaussian); the colours take ULA's moves, whose chain inflates the
    variance by 2 / (2 - kappa) (docs/sampler.md)."""
    kappa, g = 0.5, make_generator(3)
    x = at_the_target(6000, g)
    y, rate = hmc_steps(GaussianProduct(MEAN, VAR), x, 0.5, kappa, 30, leapfrog, g)
    moved = (y[..., :3] != x[..., :3]).double().mean()
    assert 0.5 < float(moved) and 0.0 < float(rate) < 1.0
    flat = y.double().reshape(-1, 6)
    mean, var = torch.tensor(MEAN).double(), torch.tensor(VAR).double()
    se = (var / flat.shape[0]).sqrt()
    assert ((flat.mean(0) - mean).abs() < 5 * se).all()
    ratio = flat.var(0) / var
    assert torch.allclose(ratio[:3], torch.ones(3, dtype=torch.float64), atol=0.04), ratio
    assert torch.allclose(ratio[3:], torch.full((3,), 2 / (2 - kappa), dtype=torch.float64),
                          rtol=0.04), ratio


def test_hmc_moves_a_far_start_to_the_target():
    g = make_generator(4)
    x = torch.full((2000, 8, 6), 0.5)
    x[..., :3] = 2.0  # far out: many standard deviations from every position's mean
    y, rate = hmc_steps(GaussianProduct(MEAN, VAR), x, 0.5, 0.2, 60, 4, g)
    flat = y.double().reshape(-1, 6)[:, :3]
    assert torch.allclose(flat.mean(0), torch.tensor(MEAN[:3]).double(), atol=0.01)
    assert torch.allclose(flat.var(0), torch.tensor(VAR[:3]).double(), rtol=0.08)
    assert 0.0 < float(rate) <= 1.0


def test_a_path_that_leaves_a_bounded_support_is_rejected():
    g = make_generator(5)
    low, high = 0.25, 0.75
    x = at_the_target(500, g).clamp(low + 1e-3, high - 1e-3)
    y, rate = hmc_steps(GaussianProduct(MEAN, VAR, (low, high)), x, 0.5, 0.5, 10, 4, g)
    assert ((y[..., :3] >= low) & (y[..., :3] <= high)).all()
    assert 0.0 < float(rate) < 1.0


def test_hmc_runs_keep_the_fidelity_bars_with_a_position_acceptance_per_level(
        shipped_experts):
    for seed, colour, moves in [(0, "red", "tilted"), (1, "green", "blind")]:
        reward = ColorReward(colour)
        composition = build_composition(shipped_experts, shipped_experts, reward)
        settings = SamplerSettings(**REAL.to_dict() | {"moves": moves})
        result = run(composition, settings, "ais", seed)
        rates = np.array([float(r.acceptance) for r in result.records])
        assert np.isnan(rates[-1])  # the data level: no move
        assert ((rates[:-1] > 0) & (rates[:-1] <= 1)).all(), rates
        if moves == "blind":  # the position rate alone: HMC's own, high at this step
            assert rates[:-1].mean() > 0.8, rates
        fid = result.fidelity()
        assert fid.radial_error <= 0.01 and fid.off_sphere <= 0.02, fid
        assert color_success(result.final, reward), fid


def test_leapfrog_changes_nothing_but_hmc(shipped_experts):
    """Configurations from before the key load with the default, and it changes no run of
    another kernel: they replay as they ran."""
    old = RunSpec.from_dict({"format": CONFIG_FORMAT, "kernel": "mala"})
    assert old.settings.leapfrog == 4
    small = SamplerSettings(particles=2, points=32, steps=4, kernel="ula", precision="fp32",
                            langevin_steps=3)
    composition = build_composition(shipped_experts, shipped_experts, ColorReward("red"))
    finals = [run(composition, SamplerSettings(**small.to_dict() | {"leapfrog": lf}),
                  "ais", 1).final for lf in (4, 17)]
    assert torch.equal(*finals)


def npz(path):
    with np.load(path) as data:
        return {name: data[name] for name in data.files if name != "meta"}, json.loads(
            str(data["meta"]))


def test_kernel_hmc_with_leapfrog_runs_from_the_command_line_and_replays_bit_for_bit(
        tmp_path):
    out, config = tmp_path / "hmc.npz", tmp_path / "hmc.json"
    assert main(["sample", *CLI, "--kernel", "hmc", "--leapfrog", "3", "--out", str(out),
                 "--save-config", str(config)]) == 0
    original, meta = npz(out)
    assert (meta["kernel"], meta["leapfrog"]) == ("hmc", 3)
    saved = json.loads(config.read_text())
    assert (saved["kernel"], saved["leapfrog"]) == ("hmc", 3)
    rates = original["acceptance"]
    assert ((rates[:-1] > 0) & (rates[:-1] <= 1)).all() and np.isnan(rates[-1])
    for source in (config, out):
        again = tmp_path / f"again-{source.suffix[1:]}.npz"
        assert main(["sample", "--config", str(source), "--out", str(again)]) == 0
        replay, _ = npz(again)
        for name in ("trajectory", "log_weights", "ancestors", "acceptance", "log_z"):
            assert np.array_equal(replay[name], original[name], equal_nan=True), name


@pytest.mark.parametrize("value", ["0", "33", "2.5", "four"])
def test_a_bad_leapfrog_is_a_usage_error_naming_the_option(value, capsys):
    assert main(["sample", "--kernel", "hmc", "--leapfrog", value]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "argument --leapfrog: " in err, err


@pytest.mark.parametrize("value", [0, 33, 1.5, True, "4", None])
def test_a_bad_leapfrog_is_refused_in_settings_and_configurations(value):
    with pytest.raises(InputError, match="leapfrog"):
        SamplerSettings(kernel="hmc", leapfrog=value)
    with pytest.raises(InputError, match="^run.json: leapfrog"):
        # (with hmc, where it applies: elsewhere a null says it did not, tests/test_what_ran.py)
        RunSpec.from_dict({"format": CONFIG_FORMAT, "kernel": "hmc", "leapfrog": value},
                          "run.json")


@pytest.mark.gui
def test_the_app_has_the_hmc_kernel_and_a_leapfrog_spin_box(qtbot):
    """The spin box is enabled with the hmc kernel only (tests/test_settings_apply.py);
    its tooltip says only hmc reads it."""
    from poe_desktop.panels.sampler import SamplerPanel

    panel = SamplerPanel()
    qtbot.addWidget(panel)
    w = panel.advanced_box.widgets
    assert w["leapfrog"].objectName() == "leapfrogSpin" and "hmc" in w["leapfrog"].toolTip()
    assert (w["leapfrog"].minimum(), w["leapfrog"].maximum(), w["leapfrog"].value()) == (
        1, 32, 4)
    assert w["kernel"].findText("hmc") >= 0
    w["kernel"].setCurrentText("hmc")
    w["leapfrog"].setValue(6)
    s = panel.settings()
    assert (s.kernel, s.leapfrog) == ("hmc", 6)
    assert panel.apply({"leapfrog": 0}) == ["leapfrog"] and panel.settings().leapfrog == 6
    assert panel.apply({"kernel": "ula", "leapfrog": 3}) == []
    assert (panel.settings().kernel, panel.settings().leapfrog) == ("ula", 3)


def test_hmc_with_experts_switched_off_stays_finite(
        shipped_experts):
    """Experts switched off leave HMC fewer channels (or none): every step stays finite."""
    for enabled in (["x"], ["color"], []):
        composition = build_composition(shipped_experts, enabled, ColorReward("red"))
        settings = SamplerSettings(particles=2, points=32, steps=4, kernel="hmc",
                                   precision="fp32", langevin_steps=3)
        records = run(composition, settings, "ais", 2).records
        assert all(torch.isfinite(r.best).all() for r in records)
        assert all(math.isnan(float(r.acceptance)) or 0 <= float(r.acceptance) <= 1
                   for r in records)


def test_hmc_moves_mass_into_a_region_where_ula_does_not(shipped_experts):
    """AND into a region (sphere & cap(z > 0.75), w = +1, beta 8, tau 0.05): the target puts
    about 99.9 % of the points in the cap (a quarter of the sphere, weighted e^8 against the
    rest); ULA's local moves leave about a quarter outside, HMC's paths carry them in."""
    from poe_engine.terms import RegionPotential

    cap = RegionPotential("cap", 2, (0.75, 1.0), 1.0, beta=8.0, tau=0.05)
    inside = {}
    for kernel in ("ula", "hmc"):
        composition = build_composition(shipped_experts, shipped_experts, ColorReward("red"))
        composition.set_potentials([cap])
        result = run(composition, SamplerSettings(**REAL.to_dict() | {"kernel": kernel}),
                     "ais", 0)
        inside[kernel] = float(cap.inside(result.final[:, :3]).double().mean())
    assert inside["hmc"] > 0.95 and inside["hmc"] > inside["ula"] + 0.15, inside


@pytest.mark.gui
def test_a_configuration_with_hmc_runs_in_the_app_and_keeps_its_leapfrog(qtbot, tmp_path):
    from poe_desktop import MainWindow
    from poe_engine.exports import load_config, save_config

    options = {"kernel": "hmc", "leapfrog": 3}
    path = save_config(tmp_path / "run.json", {
        "format": CONFIG_FORMAT, "device": "cpu", "steps": 4, "points": 32, "particles": 2,
        "langevin": 1, "precision": "fp32", **options})
    window = MainWindow(config=load_config(path))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.runFinished, timeout=60_000):
        assert window.run()
    assert {k: window.run_config[k] for k in options} == options
    rates = [f.acceptance for f in window.frames]
    assert all(0 < a <= 1 for a in rates[:-1]) and math.isnan(rates[-1])
    window.close()
