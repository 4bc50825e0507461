"""Composition end to end: `--compose` builds an expression's mixture (compose.py), OR keeps
every branch alive in one run (mixture.py), NOT of a flow is refused, and a composed run
replays bit for bit from its configuration, steering by expression included."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poe_engine.cli import main as engine_main
from poe_engine.compose import build_mixture, steer_mixture
from poe_engine.errors import InputError
from poe_engine.mixture import Mixture, sample_mixture
from poe_engine.runs import run
from poe_engine.samplers import SamplerSettings, ais

SMALL = ["--particles", "8", "--points", "256", "--steps", "16", "--precision", "fp32"]


def _arrays_equal(a, b) -> bool:
    return all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f")
               for k in a.files if k != "meta")


def test_or_keeps_both_branches_alive_in_one_run(shipped_experts):
    mixture = build_mixture("sphere & color & (red | blue)", shipped_experts)
    assert mixture.shares == (0.5, 0.5) and mixture.sizes(8) == [4, 4]
    settings = SamplerSettings(particles=8, points=256, steps=24, precision="fp32",
                               keep_particles=True)
    records = list(sample_mixture(mixture, settings, seed=1))
    for record in records:  # every step: four particles in each branch, none crossing
        assert record.branch_labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
        assert record.ancestors is None or (
            (record.ancestors[:4] < 4).all() and (record.ancestors[4:] >= 4).all())
    colours = records[-1].particles[..., 3:].mean(dim=1)  # (8, 3) mean colour per particle
    red, blue = colours[:4], colours[4:]
    assert (red[:, 0] > red[:, 1:].max(dim=1).values).all()  # the red branch is red
    assert (blue[:, 2] > blue[:, :2].max(dim=1).values).all()  # the blue branch is blue


def test_a_single_branch_is_the_plain_sampler_bit_for_bit(shipped_experts):
    settings = SamplerSettings(particles=4, points=128, steps=8, precision="fp32")
    mixed = list(sample_mixture(build_mixture("x & y & z & color & red", shipped_experts),
                                settings, seed=5))
    from poe_engine.runs import build_composition

    plain = list(ais(build_composition(shipped_experts, ("x", "y", "z", "color"), None),
                     settings, seed=5))
    assert not all(np.array_equal(m.best, p.best) for m, p in zip(mixed, plain, strict=True))
    from poe_engine.reward import ColorReward

    plain = list(ais(build_composition(shipped_experts, ("x", "y", "z", "color"),
                                       ColorReward("red")), settings, seed=5))
    # ColourTerms of one plain colour is that colour's reward: the same run, number for number
    assert all(np.array_equal(m.best, p.best) for m, p in zip(mixed, plain, strict=True))


def test_not_of_a_flow_is_refused_with_the_reason(capsys, tmp_path):
    for text in ("!x", "sphere & !sphere", "!color & red"):
        assert engine_main(["sample", "--compose", text, "--out",
                            str(tmp_path / "r.npz")]) == 2
        assert "a learned flow has no energy to negate" in capsys.readouterr().err
    assert not (tmp_path / "r.npz").exists()


def test_compose_replaces_experts_and_reward(capsys, tmp_path):
    assert engine_main(["sample", "--compose", "sphere & red", "--reward", "blue", "--out",
                        str(tmp_path / "r.npz")]) == 2
    assert "--compose replaces --experts and --reward" in capsys.readouterr().err


def test_a_composed_run_replays_bit_for_bit(tmp_path):
    first, config = tmp_path / "a.npz", tmp_path / "a.json"
    assert engine_main(["sample", "--compose", "(sphere | torus) & color & red", *SMALL,
                        "--out", str(first), "--save-config", str(config)]) == 0
    saved = json.loads(config.read_text())
    assert saved["compose"] == "(sphere | torus) & color & red"
    meta = json.loads(str(np.load(first)["meta"]))
    assert meta["compose"] == saved["compose"]
    again = tmp_path / "b.npz"
    assert engine_main(["sample", "--config", str(config), "--out", str(again)]) == 0
    a, b = np.load(first), np.load(again)
    assert _arrays_equal(a, b) and a["branches"].shape == (16, 8)


def test_steering_by_expression_is_recorded_and_replays(shipped_experts, tmp_path):
    mixture = build_mixture("sphere & color & red", shipped_experts)
    settings = SamplerSettings(particles=4, points=128, steps=10, precision="fp32")
    result = run(mixture, settings, seed=2, events=[(6, "sphere & color & blue")])
    assert [r.compose for r in result.records] == ["sphere & color & red"] * 5 + [
        "sphere & color & blue"] * 5
    assert result.records[-1].best[:, 5].mean() > result.records[-1].best[:, 3].mean()
    with pytest.raises(InputError, match="keep its 1 branch"):
        steer_mixture(mixture, "sphere & color & (red | blue)")
    # the configuration of a steered composed run replays it
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"format": "poe-run-config/2", "compose": "sphere & color & red",
                                  "particles": 4, "points": 128, "steps": 10, "seed": 2,
                                  "precision": "fp32", "layers": "plain",
                                  "compose_steering": [{"step": 6,
                                                        "compose": "sphere & color & blue"}]}))
    out = tmp_path / "c.npz"
    assert engine_main(["sample", "--config", str(config), "--out", str(out)]) == 0
    meta = json.loads(str(np.load(out)["meta"]))
    assert meta["compose_steering"] == [{"step": 6, "compose": "sphere & color & blue"}]
    again = tmp_path / "d.npz"
    assert engine_main(["sample", "--config", str(out), "--out", str(again)]) == 0
    assert _arrays_equal(np.load(out), np.load(again))


def test_a_mixture_needs_a_particle_per_branch():
    with pytest.raises(InputError, match="at least 3 particles"):
        Mixture([(None, 1.0), (None, 1.0), (None, 2.0)]).sizes(2)
    assert Mixture([(None, 1.0), (None, 2.0)]).sizes(8) == [3, 5]
