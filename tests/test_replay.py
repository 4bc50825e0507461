"""A run recorded whole: everything it depends on (expert weights, steering made mid-run,
the weight files' checksums) is in its configuration and .npz, and replays bit for bit."""

import json
import re

import numpy as np
import pytest

from poe_engine.cli import main
from poe_engine.errors import InputError
from poe_engine.exports import load_config, save_config, trajectory_meta
from poe_engine.reward import ColorReward
from poe_engine.runs import RunResult, build_composition
from poe_engine.samplers import SamplerSettings, ais
from poe_engine.spec import CONFIG_FORMAT, check_config
from poe_engine.steering import config_from_records
from poe_engine.weights import manifest_checksums

QUICK = ["--steps", "6", "--points", "32", "--particles", "2", "--langevin", "1",
         "--device", "cpu", "--precision", "fp32"]
# The configurations below name no schedule and no moves, as files from before those
# options: they run as such files ran (`spec.BEFORE_THE_KEY`), constant and blind.
SETTINGS = SamplerSettings(particles=2, points=32, steps=8, langevin_steps=1,
                           precision="fp32", schedule="constant", moves="blind",
                           colour_moves=0, langevin_from=1.0)


def npz(path):
    with np.load(path) as run:
        return {name: run[name] for name in run.files if name != "meta"}, json.loads(
            str(run["meta"]))


def sample(*argv):
    return main(["sample", *argv])


# ------------------------------------------------------------------ 5. expert weights


def test_expert_weights_are_recorded_and_replayed(shipped_experts, tmp_path):
    """A run with the x expert's weight at 2 replays as that run, not as one of weight 1."""
    config = save_config(tmp_path / "c.json", {
        "format": CONFIG_FORMAT, "steps": 8, "points": 32, "particles": 2, "langevin": 1,
        "device": "cpu", "precision": "fp32", "seed": 3, "expert_weights": {"x": 2.0}})
    assert sample("--config", str(config), "--out", str(tmp_path / "a.npz"),
                  "--save-config", str(tmp_path / "a.json")) == 0
    columns, meta = npz(tmp_path / "a.npz")
    assert meta["expert_weights"] == {"x": 2.0, "y": 1.0, "z": 1.0, "color": 1.0}
    assert load_config(tmp_path / "a.json")["expert_weights"] == meta["expert_weights"]
    assert (columns["expert_weights"] == [2.0, 1.0, 1.0, 1.0]).all()

    composition = build_composition(shipped_experts, ("x", "y", "z", "color"),
                                    ColorReward("red"))
    composition.set_weight("x", 2.0)
    records = list(ais(composition, SETTINGS, seed=3))
    assert np.array_equal(columns["trajectory"], np.stack([r.best.numpy() for r in records]))
    composition.set_weight("x", 1.0)
    plain = list(ais(composition, SETTINGS, seed=3))
    assert not np.array_equal(columns["trajectory"][-1], plain[-1].best.numpy())


def test_the_configuration_records_the_weights_checksums_and_precision(tmp_path):
    assert sample(*QUICK[:-2], "--out", str(tmp_path / "a.npz"),
                  "--save-config", str(tmp_path / "a.json")) == 0
    config = load_config(tmp_path / "a.json")
    assert config["checksums"] == manifest_checksums() and len(config["checksums"]) == 3
    assert config["precision"] in ("fp32", "bf16")  # the precision that ran, never auto
    assert config["device"] == "cpu" and config["steering"] == []


def _other_weights(shipped_experts, folder):
    """A weights folder whose x expert differs a little from the shipped one."""
    import copy

    import torch

    from poe_engine.weights import save_experts

    nets = {axis: copy.deepcopy(shipped_experts[axis].net) for axis in ("x", "y", "z")}
    with torch.no_grad():
        nets["x"].mlp[-1].bias.add_(1e-3)
    return save_experts(folder, nets, {"hidden": 256, "depth": 3}, {})


def test_a_replay_with_other_weights_is_refused(shipped_experts, tmp_path, capsys,
                                                monkeypatch):
    from poe_engine import cli

    assert sample(*QUICK, "--out", str(tmp_path / "a.npz"),
                  "--save-config", str(tmp_path / "a.json")) == 0
    other = _other_weights(shipped_experts, tmp_path / "other")
    capsys.readouterr()
    monkeypatch.setattr(cli, "run", lambda *a, **k: pytest.fail("sampling started"))
    for path in (tmp_path / "a.json", tmp_path / "a.npz"):
        assert sample("--config", str(path), "--weights", str(other),
                      "--out", str(tmp_path / "b.npz")) == 2
        err = capsys.readouterr().err
        # (safetensors orders a file's metadata at random: y and z may differ too)
        assert err.startswith(f"poe-engine: error: {path}: the run was made with other "
                              "expert weights (checksum of x")
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b.npz").exists()


# ------------------------------------------------------------------ 5. every expert off


def test_a_run_with_every_expert_off_is_exported_and_replayed(tmp_path):
    assert sample(*QUICK, "--experts", "none", "--out", str(tmp_path / "a.npz"),
                  "--save-config", str(tmp_path / "a.json")) == 0
    assert load_config(tmp_path / "a.json")["experts"] == "none"
    assert sample("--config", str(tmp_path / "a.json"), "--out", str(tmp_path / "b.npz")) == 0
    (a, meta), (b, _) = npz(tmp_path / "a.npz"), npz(tmp_path / "b.npz")
    assert np.array_equal(a["trajectory"], b["trajectory"])
    assert meta["experts"] == "none" and (a["expert_weights"] == 0).all()
    for empty in ([], "none", "None"):
        config = check_config({"format": CONFIG_FORMAT, "experts": empty})
        assert config["experts"] == "none"


# ------------------------------------------------------------------ 6. steering


def steered_run(experts, seed=5):
    """A run steered in code: after step 3, x off, y's weight 2 and the reward green;
    after step 5, the reward's strength 100; after step 6, the reward off."""
    composition = build_composition(experts, ("x", "y", "z", "color"), ColorReward("red"))
    records = []
    for record in ais(composition, SETTINGS, seed=seed):
        records.append(record)
        if record.index == 2:
            composition.set_enabled("x", False)
            composition.set_weight("y", 2.0)
            composition.set_reward(ColorReward("green"))
        elif record.index == 4:
            composition.set_reward(ColorReward("green", 100.0))
        elif record.index == 5:
            composition.set_reward_enabled(False)
    return records


def test_a_steered_run_replays_bit_for_bit_from_its_configuration_and_npz(shipped_experts,
                                                                         tmp_path):
    records = steered_run(shipped_experts)
    start = check_config({"format": CONFIG_FORMAT, "sampler": "ais", "seed": 5,
                          "particles": 2, "points": 32, "steps": 8, "langevin": 1,
                          "device": "cpu", "precision": "fp32", "experts": "x,y,z,color",
                          "reward": "red", "strength": 300.0})
    config = config_from_records(start, records)
    assert config["steering"] == [
        {"step": 4, "experts": "y,z,color", "expert_weights": {"y": 2.0}, "reward": "green"},
        {"step": 6, "strength": 100.0},
        {"step": 7, "reward": "none"},
    ]
    assert config["experts"] == "x,y,z,color" and config["reward"] == "red"
    save_config(tmp_path / "run.json", config)
    RunResult(records, 0.0, SETTINGS, trajectory_meta(config, 8)).save_npz(tmp_path / "run.npz")

    original, meta = npz(tmp_path / "run.npz")
    assert original["reward"].tolist() == ["red"] * 3 + ["green"] * 3 + ["none"] * 2
    assert original["reward_strength"].tolist() == [300.0] * 5 + [100.0] + [0.0] * 2
    assert original["expert_weights"][2].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert original["expert_weights"][3].tolist() == [0.0, 2.0, 1.0, 1.0]
    assert meta["steering"] == config["steering"]
    for source in ("run.json", "run.npz"):
        out = tmp_path / f"replay-{source}.npz"
        assert sample("--config", str(tmp_path / source), "--out", str(out)) == 0
        replay, replay_meta = npz(out)
        for name in ("trajectory", "log_weights", "ess", "resampled", "expert_weights",
                     "reward", "reward_strength"):
            assert np.array_equal(replay[name], original[name]), (source, name)
        assert replay_meta["steering"] == config["steering"]


def test_poe_desktop_record_replays_the_steering(shipped_experts, tmp_path):
    from poe_desktop.record.command import parse_args, run_panels

    records = steered_run(shipped_experts, seed=2)
    start = check_config({"format": CONFIG_FORMAT, "seed": 2, "particles": 2, "points": 32,
                          "steps": 8, "langevin": 1, "device": "cpu", "precision": "fp32"})
    path = save_config(tmp_path / "run.json", config_from_records(start, records))
    [panel] = run_panels(parse_args(["--config", str(path), "--out", str(tmp_path / "r.gif")]))
    assert np.array_equal(panel.trajectory.clouds, np.stack([r.best.numpy() for r in records]))
    assert panel.trajectory.experts[3] == ("y", "z", "color")
    assert panel.trajectory.reward[3] == "green" and panel.trajectory.reward[-1] is None


def test_steering_is_checked_like_the_rest_of_a_configuration():
    good = {"format": CONFIG_FORMAT, "steering": [{"step": 2, "reward": "Green"},
                                                  {"step": 9, "experts": []}]}
    assert check_config(good)["steering"] == [{"step": 2, "reward": "green"},
                                              {"step": 9, "experts": "none"}]
    for steering, message in [
        ({"step": 2}, "steering must be a list"),
        ([{"step": 2}], "steering[0] changes nothing"),
        ([{"reward": "red"}], "steering[0] must be an object with a step"),
        ([{"step": 0, "reward": "red"}], "steering[0].step must lie in [1, 512]"),
        ([{"step": 3, "reward": "red"}, {"step": 3, "strength": 1}],
         "steering[1].step must come after step 3"),
        ([{"step": 3, "colour": "red"}], "steering[0] has unknown key(s) colour"),
        ([{"step": 3, "reward": "purplish"}], "steering[0]: unknown colour 'purplish'"),
        ([{"step": 3, "expert_weights": {"x": 11}}],
         "steering[0]: expert_weights.x must lie in [0, 10]"),
    ]:
        with pytest.raises(InputError, match=f"^c.json: {re.escape(message)}"):
            check_config({"format": CONFIG_FORMAT, "steering": steering}, "c.json")


def test_version_1_configurations_still_load_and_take_no_version_2_keys():
    old = {"format": "poe-run-config/1", "steps": 6, "experts": ["x", "color"]}
    assert check_config(old) == {"format": CONFIG_FORMAT, "experts": "x,color", "steps": 6}
    with pytest.raises(InputError, match="unknown key"):
        check_config(old | {"expert_weights": {"x": 2.0}})


# ------------------------------------------------------------------ 6. partial runs


def test_the_meta_of_a_partial_run_says_so():
    config = {"format": CONFIG_FORMAT, "steps": 24}
    meta = trajectory_meta(config, 7)
    assert meta["partial"] is True and meta["reached_step"] == 7 and meta["steps"] == 24
    assert "step 7 of 24" in meta["note"]
    whole = trajectory_meta(config, 24)
    assert whole["partial"] is False and whole["reached_step"] == 24 and "note" not in whole


# ------------------------------------------------------------------ 7. keys added later


def test_a_configuration_or_npz_from_before_moves_existed_replays_blind(tmp_path):
    """A file without `moves` was written when every run moved blind: it replays so, bit for
    bit, whatever the default has become since."""
    assert sample(*QUICK, "--moves", "blind", "--out", str(tmp_path / "a.npz"),
                  "--save-config", str(tmp_path / "a.json")) == 0
    old = json.loads((tmp_path / "a.json").read_text())
    del old["moves"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    with np.load(tmp_path / "a.npz") as run:
        columns = {name: run[name] for name in run.files}
    meta = json.loads(str(columns["meta"]))
    del meta["moves"]
    np.savez(tmp_path / "old.npz", **columns | {"meta": np.array(json.dumps(meta))})
    a, _ = npz(tmp_path / "a.npz")
    for source in ("old.json", "old.npz"):
        assert sample("--config", str(tmp_path / source), "--out",
                      str(tmp_path / f"re-{source}.npz")) == 0
        replayed, replayed_meta = npz(tmp_path / f"re-{source}.npz")
        assert replayed_meta["moves"] == "blind"
        for name in ("trajectory", "log_weights", "ancestors", "log_z"):
            assert np.array_equal(replayed[name], a[name]), (source, name)
    # tilted moves make another run of the same seed
    assert sample("--config", str(tmp_path / "old.json"), "--moves", "tilted", "--out",
                  str(tmp_path / "tilted.npz")) == 0
    tilted, tilted_meta = npz(tmp_path / "tilted.npz")
    assert tilted_meta["moves"] == "tilted"
    assert not np.array_equal(tilted["log_weights"], a["log_weights"])
