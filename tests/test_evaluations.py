"""Issue 21: fewer expert evaluations at equal fidelity. The sampler counts its expert calls
(`nfe`, what a wrapped expert sees, also in the .npz meta), the `classic` preset is the
sampler before the issue bit for bit, and each new option runs and keeps the fidelity bars."""

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest

from poe_engine.budget import PRESETS, colour_product
from poe_engine.cli import main
from poe_engine.errors import InputError
from poe_engine.evaluation import PRODUCT_BARS
from poe_engine.metrics import color_success, fidelity
from poe_engine.options import preset_defaults
from poe_engine.reward import ColorReward
from poe_engine.runs import build_composition, build_experts
from poe_engine.samplers import SamplerSettings, ais
from poe_engine.spec import CONFIG_FORMAT, CONFIG_KEYS, RUN_KEYS, RunSpec
from poe_engine.stacked import AxisFlowStack

SMALL = SamplerSettings(particles=3, points=48, steps=4, precision="fp32")
CASES = {
    "default": {},
    "classic": {"langevin_steps": 3, "colour_moves": 0},
    "mala": {"kernel": "mala", "langevin_steps": 2},
    "hmc": {"kernel": "hmc", "langevin_steps": 1, "leapfrog": 2},
    "late langevin": {"langevin_steps": 2, "langevin_from": 0.5, "time_grid": "cosine"},
    "blind": {"moves": "blind", "langevin_steps": 1},
}
# The final cloud of the sampler before issue 21 (commit 4a723e7, its default settings), run
# as `poe-engine sample --steps 12 --points 48 --particles 3 --seed 4 --precision fp32
# --layers plain --device cpu`: the sha256 of its trajectory array.
OLD_DEFAULT_12 = "f9db30088befc67944d28e42134a61560bfb81f2f3975e5769f31d88a3b2b685"


@pytest.fixture(scope="module")
def experts():
    return build_experts(None, "cpu")


def counting_stacks(monkeypatch) -> list:
    calls = []
    original = AxisFlowStack.velocities

    def velocities(self, cloud, t):
        calls.append(len(self.experts))
        return original(self, cloud, t)

    monkeypatch.setattr(AxisFlowStack, "velocities", velocities)
    return calls


@pytest.mark.parametrize("case", list(CASES))
def test_nfe_is_the_grouped_calls_a_wrapped_stack_sees(experts, monkeypatch, case):
    calls = counting_stacks(monkeypatch)
    settings = replace(SMALL, **CASES[case])
    records = list(ais(build_composition(experts, experts, ColorReward("red")), settings, 1))
    assert records[-1].nfe == len(calls) > 0
    assert records[-1].evaluations == sum(calls) == 3 * len(calls)
    assert [r.nfe for r in records] == sorted(r.nfe for r in records)
    assert records[-2].denoised is not None  # read after the run: not the run's cost
    assert records[-1].nfe == len(calls) - 1


def test_nfe_is_what_each_expert_sees_when_ungrouped(experts):
    composition = build_composition(experts, experts, ColorReward("blue"))
    composition.grouped = False
    seen = dict.fromkeys("xyz", 0)
    hooks = [experts[a].net.register_forward_hook(
        lambda *_, a=a: seen.__setitem__(a, seen[a] + 1)) for a in "xyz"]
    try:
        records = list(ais(composition, replace(SMALL, langevin_steps=1), 2))
    finally:
        for hook in hooks:
            hook.remove()
    assert set(seen.values()) == {records[-1].nfe}
    assert records[-1].evaluations == sum(seen.values())


def test_colour_moves_cost_no_expert_call(experts):
    composition = build_composition(experts, experts, ColorReward("green"))
    plain = list(ais(composition, replace(SMALL, colour_moves=0, langevin_steps=0), 3))
    moved = list(ais(composition, replace(SMALL, colour_moves=8, langevin_steps=0), 3))
    assert moved[-1].nfe == plain[-1].nfe == SMALL.steps
    assert not np.array_equal(moved[-1].best[:, 3:].numpy(), plain[-1].best[:, 3:].numpy())
    product = composition.snapshot()
    assert colour_product(product).names == ("color",)


def test_the_meta_carries_the_calls_the_run_made(tmp_path, monkeypatch):
    calls = counting_stacks(monkeypatch)
    out = tmp_path / "run.npz"
    assert main(["sample", "--steps", "5", "--points", "48", "--particles", "3",
                 "--langevin", "1", "--langevin-from", "0.5", "--colour-moves", "4",
                 "--device", "cpu",
                 "--precision", "fp32", "--out", str(out)]) == 0
    with np.load(out) as run:
        meta = json.loads(str(run["meta"]))
    assert meta["nfe"] == len(calls) == 5 + 2  # 5 ODE steps, Langevin at t = 0.4 and 0.2
    assert meta["mlp_evaluations"] == sum(calls) == 3 * len(calls)
    assert meta["colour_moves"] == 4 and meta["time_grid"] == "uniform"


def test_preset_classic_is_the_old_default_bit_for_bit(tmp_path):
    assert preset_defaults("classic") | {"steps": 128, "langevin": 3} == preset_defaults("classic")
    out = tmp_path / "classic.npz"
    assert main(["sample", "--preset", "classic", "--steps", "12", "--points", "48",
                 "--particles", "3", "--seed", "4", "--precision", "fp32", "--layers", "plain",
                 "--device", "cpu", "--out", str(out)]) == 0
    with np.load(out) as run:
        digest = hashlib.sha256(np.ascontiguousarray(run["trajectory"]).tobytes()).hexdigest()
        meta = json.loads(str(run["meta"]))
    assert digest == OLD_DEFAULT_12
    assert (meta["langevin"], meta["colour_moves"]) == (3, 0) and "integrator" not in meta
    # and a file of the old defaults, which lacks the new keys, replays the same run
    new_keys = ("colour_moves", "time_grid", "langevin_from")
    config = {k: v for k, v in meta.items()
              if k == "format" or (k in CONFIG_KEYS + RUN_KEYS and k not in new_keys)}
    (tmp_path / "old.json").write_text(json.dumps(config))
    replayed = tmp_path / "replayed.npz"
    assert main(["sample", "--config", str(tmp_path / "old.json"), "--out", str(replayed)]) == 0
    with np.load(replayed) as run:
        assert np.array_equal(run["trajectory"], np.load(out)["trajectory"])


def test_the_default_preset_is_the_default():
    d = SamplerSettings()
    assert PRESETS["default"] == {f: getattr(d, f) for f in PRESETS["default"]}
    assert set(PRESETS["default"]) == set(PRESETS["classic"])


def test_a_file_without_the_new_keys_ran_the_classic_sampler():
    spec = RunSpec.from_dict({"format": CONFIG_FORMAT})
    for field, value in PRESETS["classic"].items():
        assert getattr(spec.settings, field) == value
    assert RunSpec().settings == SamplerSettings()


def test_options_given_with_a_preset_win(tmp_path):
    out = tmp_path / "run.npz"
    assert main(["sample", "--preset", "classic", "--steps", "3", "--langevin", "1",
                 "--points", "32", "--particles", "2", "--device", "cpu", "--out", str(out)]) == 0
    with np.load(out) as run:
        meta = json.loads(str(run["meta"]))
    assert (meta["steps"], meta["langevin"], meta["colour_moves"], meta["nfe"]) == (3, 1, 0, 5)


@pytest.mark.parametrize("option", [
    {}, {"time_grid": "cosine"}, {"time_grid": "quadratic"},
    {"langevin_steps": 0}, {"langevin_steps": 2, "langevin_from": 0.5}, {"colour_moves": 4}])
def test_each_option_keeps_the_fidelity_bars(experts, option):
    settings = replace(SamplerSettings(particles=4, precision="fp32"), **option)
    reward = ColorReward("red")
    records = list(ais(build_composition(experts, experts, reward), settings, 0))
    fid = fidelity(records[-1].best)
    assert fid.radial_error < PRODUCT_BARS["radial_error"]
    assert fid.off_sphere < PRODUCT_BARS["off_sphere"]
    assert fid.chamfer < PRODUCT_BARS["chamfer"]
    assert color_success(records[-1].best, reward)
    assert records[-1].nfe <= 2 * settings.steps + settings.langevin_steps * settings.steps


@pytest.mark.gui
def test_the_apps_presets_set_the_sampler_panel(qtbot):
    from PySide6.QtWidgets import QPushButton

    from poe_desktop.panels.sampler import SamplerPanel

    panel = SamplerPanel()
    qtbot.addWidget(panel)
    assert panel.settings() == SamplerSettings(precision=panel.settings().precision)
    panel.advanced_box.findChild(QPushButton, "presetClassicButton").click()
    classic = panel.settings()
    assert {f: getattr(classic, f) for f in PRESETS["classic"]} == PRESETS["classic"]
    panel.advanced_box.findChild(QPushButton, "presetDefaultButton").click()
    assert panel.settings() == SamplerSettings(precision=panel.settings().precision)


def test_a_file_of_the_last_version_that_names_the_integrator_replays_or_says_why_not(tmp_path):
    """Heun's step was dropped (it did not pay on the cost curve): a file that ran Euler's
    (`integrator: euler`, written before the drop) replays bit for bit; one that ran Heun's
    is refused, saying why."""
    out = tmp_path / "run.npz"
    assert main(["sample", "--steps", "3", "--points", "32", "--particles", "2",
                 "--device", "cpu", "--precision", "fp32", "--save-config",
                 str(tmp_path / "run.json"), "--out", str(out)]) == 0
    config = json.loads((tmp_path / "run.json").read_text())
    assert "integrator" not in config
    (tmp_path / "euler.json").write_text(json.dumps(config | {"integrator": "euler"}))
    replayed = tmp_path / "replayed.npz"
    assert main(["sample", "--config", str(tmp_path / "euler.json"), "--out",
                 str(replayed)]) == 0
    with np.load(replayed) as run, np.load(out) as first:
        assert np.array_equal(run["trajectory"], first["trajectory"])
    (tmp_path / "heun.json").write_text(json.dumps(config | {"integrator": "heun"}))
    with pytest.raises(InputError, match="Heun's step .* was dropped"):
        RunSpec.from_dict(config | {"integrator": "heun"})
    assert main(["sample", "--config", str(tmp_path / "heun.json"), "--out",
                 str(tmp_path / "no.npz")]) == 2
