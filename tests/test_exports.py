"""Exports of a run: PLY clouds, run configurations (JSON, replayable) and trajectories."""

import argparse
import json
import os
import re

import numpy as np
import pytest
import torch
from plyfile import PlyData

from poe_engine.cli import main
from poe_engine.errors import InputError
from poe_engine.exports import load_config, save_config, write_ply, write_trajectory_npz
from poe_engine.options import add_sampler_options
from poe_engine.spec import CONFIG_FORMAT, CONFIG_KEYS

QUICK = ["--steps", "6", "--points", "32", "--particles", "2", "--langevin", "1"]


def test_ply_is_read_back_by_plyfile(tmp_path):
    rng = np.random.default_rng(0)
    cloud = rng.normal(size=(50, 6))
    cloud[:4, 3:] = [[-0.2, 1.3, 0.5], [0.0, 1.0, 0.999], [0.002, 0.998, 0.25], [1, 0, 0.75]]
    path = write_ply(tmp_path / "cloud.ply", cloud)
    ply = PlyData.read(str(path))
    assert not ply.text and ply.byte_order == "<"
    vertex = ply["vertex"]
    assert vertex.count == 50
    for i, name in enumerate(("x", "y", "z")):
        assert vertex[name].dtype == np.float32
        assert np.array_equal(vertex[name], cloud[:, i].astype(np.float32))
    for i, name in enumerate(("red", "green", "blue")):
        assert vertex[name].dtype == np.uint8
        assert np.array_equal(vertex[name], np.round(255 * np.clip(cloud[:, 3 + i], 0, 1)))


def test_ply_takes_torch_tensors_and_rejects_wrong_shapes(tmp_path):
    cloud = torch.rand(8, 6)
    ply = PlyData.read(str(write_ply(tmp_path / "t.ply", cloud)))
    assert np.array_equal(ply["vertex"]["z"], cloud[:, 2].numpy())
    for bad in (np.zeros((8, 3)), np.zeros(6), np.zeros((2, 8, 6))):
        with pytest.raises(ValueError, match="shape"):
            write_ply(tmp_path / "bad.ply", bad)


def test_trajectory_npz_has_the_keys_of_poe_engine_sample(tmp_path):
    steps, points, particles = 3, 5, 2
    trajectory = np.random.default_rng(1).random((steps, points, 6))
    path = write_trajectory_npz(
        tmp_path / "t.npz", trajectory, np.zeros((steps, particles)), np.full(steps, 2.0),
        np.array([False, True, False]), np.array([0.6, 0.3, 0.0]), {"seed": 1},
    )
    with np.load(path) as run:
        assert set(run.files) == {"trajectory", "final", "log_weights", "ess", "resampled",
                                  "t", "meta"}
        assert run["trajectory"].dtype == np.float32
        assert np.array_equal(run["final"], run["trajectory"][-1])
        assert run["resampled"].tolist() == [False, True, False]
        assert json.loads(str(run["meta"])) == {"seed": 1}
    with pytest.raises(ValueError, match="must end in .npz"):
        write_trajectory_npz(tmp_path / "t.txt", trajectory, np.zeros((steps, 2)),
                             np.ones(steps), np.zeros(steps, bool), np.zeros(steps), {})
    with pytest.raises(ValueError, match="ess has 2 steps"):
        write_trajectory_npz(tmp_path / "u.npz", trajectory, np.zeros((steps, 2)),
                             np.ones(2), np.zeros(steps, bool), np.zeros(steps), {})


def test_config_keys_are_the_sampler_options():
    parser = argparse.ArgumentParser()
    add_sampler_options(parser)
    dests = {a.dest for a in parser._actions} - {"help", "weights"}
    assert set(CONFIG_KEYS) == dests


def test_a_partial_config_loads_and_round_trips(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"format": CONFIG_FORMAT, "steps": 6, "kappa": 0,
                                "experts": ["x", "color"]}))
    config = load_config(path)
    assert config == {"format": CONFIG_FORMAT, "experts": "x,color", "steps": 6, "kappa": 0.0}
    assert load_config(save_config(tmp_path / "d.json", config)) == config


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One tiny run that writes every export."""
    folder = tmp_path_factory.mktemp("run")
    paths = {name: folder / name for name in ("a.npz", "c.json", "f.ply")}
    assert main(["sample", *QUICK, "--seed", "4", "--reward", "blue", "--experts", "x,y,z,color",
                 "--device", "cpu", "--save-config", str(paths["c.json"]),
                 "--ply", str(paths["f.ply"]), "--out", str(paths["a.npz"])]) == 0
    return paths


def _trajectory(path):
    with np.load(path) as run:
        return run["trajectory"], json.loads(str(run["meta"]))


def test_a_saved_config_replays_the_run(first_run, tmp_path):
    out = tmp_path / "b.npz"
    assert main(["sample", "--config", str(first_run["c.json"]), "--out", str(out)]) == 0
    (a, meta_a), (b, meta_b) = _trajectory(first_run["a.npz"]), _trajectory(out)
    assert np.array_equal(a, b)
    assert meta_a == meta_b
    # The meta holds the configuration under the same keys: the .npz replays too.
    assert load_config(first_run["c.json"]).items() <= meta_a.items()
    ply = PlyData.read(str(first_run["f.ply"]))
    assert np.array_equal(ply["vertex"]["x"], a[-1, :, 0])


def test_a_run_replays_from_its_npz(first_run, tmp_path):
    out = tmp_path / "e.npz"
    assert main(["sample", "--config", str(first_run["a.npz"]), "--out", str(out)]) == 0
    assert np.array_equal(_trajectory(first_run["a.npz"])[0], _trajectory(out)[0])


def test_options_on_the_command_line_win_over_the_config(first_run, tmp_path):
    out = tmp_path / "s.npz"
    assert main(["sample", "--config", str(first_run["c.json"]), "--seed", "9",
                 "--out", str(out)]) == 0
    (a, _), (b, meta) = _trajectory(first_run["a.npz"]), _trajectory(out)
    assert meta["seed"] == 9 and meta["reward"] == "blue" and meta["steps"] == 6
    assert a.shape == b.shape and not np.array_equal(a, b)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{steps: 6", "not valid JSON"),
        ('{"format": "poe-run-config/9"}', "not a run configuration"),
        ('[1, 2]', "not a run configuration"),
        ('{"format": "poe-run-config/1", "stepz": 6}', "unknown key(s) stepz"),
        ('{"format": "poe-run-config/1", "steps": "many"}', "steps must be an integer"),
        ('{"format": "poe-run-config/1", "kappa": true}', "kappa must be a number"),
        ('{"format": "poe-run-config/1", "sampler": "ddim"}', "sampler must be one of"),
        ('{"format": "poe-run-config/1", "reward": "purplish"}', "unknown colour 'purplish'"),
        ('{"format": "poe-run-config/1", "particles": 0}', "particles must lie in [1, 64]"),
    ],
)
def test_bad_configs_give_one_line_and_exit_code_2(text, message, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert main(["sample", "--config", str(path), "--out", str(tmp_path / "r.npz")]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.npz").exists()


def test_a_missing_config_gives_one_line_and_exit_code_2(tmp_path, capsys):
    path = tmp_path / "nowhere.json"
    assert main(["sample", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: cannot read: No such file or directory" in err
    assert len(err.strip().splitlines()) == 1


def test_unwritable_ply_is_reported(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["sample", *QUICK, "--ply", str(blocker / "cloud.ply"),
                 "--out", str(tmp_path / "r.npz")]) == 1
    assert "cannot write" in capsys.readouterr().err


@pytest.mark.parametrize("option, name", [("--ply", "cloud.txt"), ("--save-config", "c.yaml")])
def test_export_suffixes_are_checked_before_running(option, name, tmp_path, capsys):
    assert main(["sample", *QUICK, option, str(tmp_path / name)]) == 2
    assert "must end in" in capsys.readouterr().err


def _damaged_configs(folder):
    """name -> a path that is no configuration, made in `folder`."""
    deep = folder / "deep.json"
    deep.write_text("[" * 100_000)
    empty_npz = folder / "empty.npz"
    empty_npz.write_bytes(b"")
    npy_as_npz = folder / "array.npz"
    with open(npy_as_npz, "wb") as f:
        np.save(f, np.zeros(3))
    pickled = folder / "pickled.npz"
    np.savez(pickled, meta=np.array([{"format": CONFIG_FORMAT}], dtype=object))
    big = folder / "big.json"
    big.write_text(" " * (2 << 20))
    binary = folder / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00{")
    long_number = folder / "long_number.json"
    long_number.write_text('{"format": "poe-run-config/1", "seed": 1' + "0" * 5000 + "}")
    return {"deep": deep, "empty_npz": empty_npz, "npy_as_npz": npy_as_npz,
            "pickled": pickled, "big": big, "binary": binary, "long_number": long_number,
            "folder": folder, "missing": folder / "missing.json", "dev_zero": "/dev/zero"}


@pytest.mark.parametrize("case, message", [
    ("deep", "nested too deeply"),
    ("empty_npz", "not a zip archive"),
    ("npy_as_npz", "not a zip archive"),
    ("pickled", "cannot read a run's meta"),
    ("big", "too large for a configuration"),
    ("binary", "not a text file"),
    ("long_number", "a number too long to read"),
    ("folder", "a folder, not a configuration file"),
    ("missing", "No such file or directory"),
    ("dev_zero", "not a regular file"),  # refused at once, never read
])
def test_damaged_config_files_give_one_line_naming_the_file(case, message, tmp_path, capsys,
                                                           monkeypatch):
    from poe_engine import cli

    if case == "dev_zero" and not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    monkeypatch.setattr(cli, "run", lambda *a, **k: pytest.fail("sampling started"))
    path = _damaged_configs(tmp_path)[case]
    assert main(["sample", "--config", str(path), "--out", str(tmp_path / "r.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"poe-engine: error: {path}: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_config_values_beyond_the_bounds_are_refused(tmp_path):
    for key, value, message in [("seed", 2**64, "seed must lie in [0, 2**64 - 1]"),
                                ("seed", -1, "seed must lie in"),
                                ("strength", 1e39, "strength must lie in [0, 10000]"),
                                ("strength", float("nan"), "strength must be finite")]:
        path = tmp_path / "c.json"
        path.write_text(json.dumps({"format": CONFIG_FORMAT, key: value}))
        with pytest.raises(InputError, match=re.escape(f"{path}: {message}")):
            load_config(path)
