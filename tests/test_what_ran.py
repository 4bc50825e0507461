"""What is saved records only what ran (issue 22, section 1): a run's configuration (its .npz
meta, --save-config's .json, the app's exports) writes a setting the run never read as null,
by the one rule the app's Sampler panel follows too (`poe_engine.applies`), and still replays
bit for bit; a null cannot pass for a key an older file lacks."""

import itertools
import json

import numpy as np
import pytest
import torch

from poe_engine.applies import AIS_ONLY, inapplicable
from poe_engine.cli import main
from poe_engine.errors import InputError
from poe_engine.exports import load_config
from poe_engine.samplers import SamplerSettings
from poe_engine.spec import BEFORE_THE_KEY, CONFIG_FORMAT, FIELD_KEYS, MAY_BE_NULL, RunSpec

QUICK = ["--steps", "5", "--points", "32", "--particles", "3", "--device", "cpu",
         "--precision", "fp32", "--layers", "plain", "--seed", "5"]
COLUMNS = ("trajectory", "log_weights", "ess", "resampled", "ancestors", "log_z",
           "acceptance", "reward_scale")


def npz(path):
    with np.load(path) as run:
        return {name: run[name] for name in run.files if name != "meta"}, json.loads(
            str(run["meta"]))


def sample(tmp_path, name, *argv):
    out, saved = tmp_path / f"{name}.npz", tmp_path / f"{name}.json"
    assert main(["sample", *argv, "--out", str(out), "--save-config", str(saved)]) == 0
    columns, meta = npz(out)
    return columns, meta, json.loads(saved.read_text())


def replays_bit_for_bit(tmp_path, name, columns):
    for source in (f"{name}.npz", f"{name}.json"):
        again, _ = npz_of_replay(tmp_path, source)
        for column in COLUMNS:
            assert np.array_equal(again[column], columns[column], equal_nan=True), (
                source, column)


def npz_of_replay(tmp_path, source):
    out = tmp_path / f"re-{source}.npz"
    assert main(["sample", "--config", str(tmp_path / source), "--out", str(out)]) == 0
    return npz(out)


def test_a_potential_weighting_run_records_no_tilted_moves_and_replays(tmp_path):
    columns, meta, saved = sample(tmp_path, "potential", *QUICK, "--weighting", "potential",
                                  "--moves", "tilted", "--langevin", "1")
    for written in (meta, saved):
        assert written["weighting"] == "potential"
        assert written["moves"] is None  # no tilted move ran
        assert written["ess_threshold"] == 0.5 and written["kernel"] == "ula"  # these ran
    replays_bit_for_bit(tmp_path, "potential", columns)
    # and a run of the same settings with blind moves is the very same run
    blind, _, _ = sample(tmp_path, "blind", *QUICK, "--weighting", "potential",
                         "--moves", "blind", "--langevin", "1")
    for column in COLUMNS:
        assert np.array_equal(blind[column], columns[column], equal_nan=True), column


def test_an_euler_run_records_no_particle_system_and_replays(tmp_path):
    columns, meta, saved = sample(tmp_path, "euler", *QUICK, "--sampler", "euler",
                                  "--ess-threshold", "0.9", "--kernel", "mala")
    for written in (meta, saved):
        assert written["ess_threshold"] is None and written["resampling"] is None
        assert all(written[FIELD_KEYS[name]] is None for name in AIS_ONLY)
        assert (written["steps"], written["ode_scale"]) == (5, 1.0)
    replays_bit_for_bit(tmp_path, "euler", columns)
    # a file written before this change held a value for every setting: it replays the same
    written = SamplerSettings(ess_threshold=0.9, kernel="mala").to_dict()
    old = saved | {FIELD_KEYS[name]: written[name] for name in AIS_ONLY}
    (tmp_path / "old.json").write_text(json.dumps(old))
    again, again_meta = npz_of_replay(tmp_path, "old.json")
    for column in COLUMNS:
        assert np.array_equal(again[column], columns[column], equal_nan=True), column
    assert again_meta["ess_threshold"] is None  # and its replay records what ran


def test_a_paper_run_records_no_ess_threshold_and_replays(tmp_path):
    columns, meta, _ = sample(tmp_path, "paper", *QUICK, "--weighting", "paper",
                              "--resample-every", "3")
    assert meta["ess_threshold"] is None and meta["resample_every"] is None
    assert meta["moves"] is None and meta["resampling"] == "systematic"
    replays_bit_for_bit(tmp_path, "paper", columns)


def test_a_null_is_not_an_older_files_missing_key(tmp_path):
    """An Euler run's langevin is null; run as AIS, that file takes today's default (1), not
    the 3 that a file lacking the key ran with (`BEFORE_THE_KEY`)."""
    sample(tmp_path, "euler", *QUICK, "--sampler", "euler")
    assert BEFORE_THE_KEY["langevin"] == 3 != SamplerSettings().langevin_steps
    out = tmp_path / "as-ais.npz"
    assert main(["sample", "--config", str(tmp_path / "euler.json"), "--sampler", "ais",
                 "--out", str(out)]) == 0
    _, ais_meta = npz(out)
    assert ais_meta["langevin"] == SamplerSettings().langevin_steps
    assert ais_meta["moves"] == SamplerSettings().moves  # not BEFORE_THE_KEY's blind
    assert RunSpec.from_dict(load_config(tmp_path / "euler.json")).settings.langevin_steps == 1
    # whereas a file that lacks the keys ran with their old values
    old = RunSpec.from_dict({"format": CONFIG_FORMAT, "sampler": "ais"}).settings
    assert (old.langevin_steps, old.moves) == (3, "blind")


def test_a_null_is_refused_where_the_setting_applies():
    for key, value in [("moves", None), ("ess_threshold", None), ("langevin", None)]:
        with pytest.raises(InputError, match=f"^run.json: {key} .*null only where"):
            RunSpec.from_dict({"format": CONFIG_FORMAT, "sampler": "ais", key: value},
                              "run.json")
    with pytest.raises(InputError, match="^run.json: steps must"):  # never null
        RunSpec.from_dict({"format": CONFIG_FORMAT, "sampler": "euler", "steps": None},
                          "run.json")
    spec = RunSpec.from_dict({"format": CONFIG_FORMAT, "weighting": "paper", "moves": None,
                              "ess_threshold": None})
    assert spec.settings.moves == SamplerSettings().moves
    assert set(MAY_BE_NULL) == {FIELD_KEYS[name] for name in AIS_ONLY}


CHOICES = {"sampler": ("ais", "euler"), "langevin_steps": (0, 2), "colour_moves": (0, 3),
           "kernel": ("ula", "hmc"), "schedule": ("adaptive", "linear"),
           "weighting": ("incremental", "potential", "paper"), "moves": ("blind", "tilted")}


@pytest.mark.parametrize("choice", [dict(zip(CHOICES, values, strict=True))
                                    for values in itertools.product(*CHOICES.values())])
def test_a_written_configuration_reads_back_as_the_run_it_records(choice):
    """Every setting that applies reads back as written, every one that did not is null and
    still does not apply: the written file is a fixed point."""
    sampler = choice.pop("sampler")
    settings = SamplerSettings(**choice, kappa=0.07, leapfrog=5, ess_threshold=0.3,
                               resample_every=2, schedule_target=0.4, langevin_from=0.6,
                               resampling="multinomial")
    spec = RunSpec(sampler=sampler, settings=settings)
    written = spec.to_dict()
    inert = spec.inapplicable()
    assert inert == inapplicable({"sampler": sampler, **settings.to_dict()})
    back = RunSpec.from_dict(json.loads(json.dumps(written)))
    assert back.inapplicable() == inert
    for name, value in settings.to_dict().items():
        if name == "keep_particles":
            continue
        key = FIELD_KEYS[name]
        assert (written[key] is None) == (name in inert), name
        if name not in inert:
            assert getattr(back.settings, name) == value, name
    assert back.to_dict() == written


# Each case: the settings, and other values of the settings the rule says it leaves unread.
SOUNDNESS = [
    ("euler", {}, {"langevin_steps": 3, "kappa": 0.3, "schedule": "linear", "moves": "blind",
                   "kernel": "mala", "weighting": "paper", "resampling": "multinomial",
                   "ess_threshold": 0.9, "resample_every": 2, "colour_moves": 0,
                   "langevin_from": 1.0, "schedule_target": 0.1}),
    ("ais", {"weighting": "potential"}, {"moves": "blind"}),
    ("ais", {"weighting": "paper"}, {"ess_threshold": 0.95, "resample_every": 3,
                                     "moves": "blind"}),
    ("ais", {"langevin_steps": 0}, {"kernel": "hmc", "leapfrog": 7, "langevin_from": 1.0}),
    ("ais", {"langevin_steps": 0, "colour_moves": 0}, {"moves": "blind", "kappa": 0.3}),
    ("ais", {"schedule": "linear"}, {"schedule_target": 0.05}),
    ("ais", {"kernel": "mala", "langevin_from": 1.0}, {"leapfrog": 9}),
]


def same_runs(experts, sampler: str, settings: SamplerSettings, other: dict) -> bool:
    """Whether `settings` and `settings` changed by `other` run the very same numbers."""
    from poe_engine.reward import ColorReward
    from poe_engine.runs import build_composition
    from poe_engine.samplers import SAMPLERS

    runs = []
    for s in (settings, SamplerSettings(**settings.to_dict() | other)):
        composition = build_composition(experts, ("x", "y", "z", "color"), ColorReward("green"))
        runs.append(list(SAMPLERS[sampler](composition, s, seed=2)))
    return all(
        torch.equal(a.best, b.best) and torch.equal(a.log_weights, b.log_weights)
        and a.resampled == b.resampled and float(a.log_z) == float(b.log_z)
        and float(a.reward_scale) == float(b.reward_scale)
        and np.array_equal(float(a.acceptance), float(b.acceptance), equal_nan=True)
        for a, b in zip(*runs, strict=True))


SMALL = {"particles": 3, "points": 32, "steps": 5, "precision": "fp32", "layers": "plain",
         "ess_threshold": 0.6}


@pytest.mark.parametrize("sampler, base, other", SOUNDNESS)
def test_what_the_rule_says_did_not_apply_changes_no_number(shipped_experts, sampler, base,
                                                              other):
    """The rule is sound: the settings it calls inapplicable, set otherwise, give the very same
    run (so a null, read as any value, replays bit for bit)."""
    settings = SamplerSettings(**SMALL | base)
    changed = SamplerSettings(**settings.to_dict() | other)
    assert set(other) <= set(inapplicable({"sampler": sampler, **settings.to_dict()}))
    assert inapplicable({"sampler": sampler, **changed.to_dict()}).keys() >= set(other)
    assert same_runs(shipped_experts, sampler, settings, other)


@pytest.mark.parametrize("other", [{"moves": "blind"}, {"resampling": "multinomial"},
                                   {"kappa": 0.3}, {"schedule_target": 0.05}])
def test_a_setting_that_applies_changes_the_numbers(shipped_experts, other):
    """(The check above can fail: where the rule says a setting applies, it shows.)"""
    settings = SamplerSettings(**SMALL | {"steps": 8, "langevin_from": 1.0})
    assert not set(other) & set(inapplicable({"sampler": "ais", **settings.to_dict()}))
    assert not same_runs(shipped_experts, "ais", settings, other)
