"""The engine's command line: outputs, one-line errors with exit code 2, the device."""

import json
import subprocess
import sys

import numpy as np
import pytest

from poe_engine.cli import main

# the classic preset's moves (Langevin at every level), fewer and smaller
QUICK = ["--preset", "classic", "--steps", "6", "--points", "32", "--particles", "2",
         "--langevin", "1"]


def test_sample_writes_the_trajectory_and_prints_metrics(tmp_path, capsys):
    out = tmp_path / "run.npz"
    assert main(["sample", *QUICK, "--reward", "green", "--seed", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "radial error" in printed and "Chamfer" in printed and str(out) in printed
    assert "median ESS" in printed and "log Z" in printed
    with np.load(out) as run:
        assert run["trajectory"].shape == (6, 32, 6)
        assert run["final"].shape == (32, 6)
        assert np.array_equal(run["final"], run["trajectory"][-1])
        assert run["log_weights"].shape == (6, 2)
        assert run["ess"].shape == (6,)
        meta = json.loads(str(run["meta"]))
    assert meta["reward"] == "green" and meta["seed"] == 3 and meta["steps"] == 6


def test_same_arguments_give_the_same_file_contents(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for out in (a, b):
        assert main(["sample", *QUICK, "--sampler", "euler", "--experts", "x,color",
                     "--out", str(out)]) == 0
    with np.load(a) as ra, np.load(b) as rb:
        assert np.array_equal(ra["trajectory"], rb["trajectory"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--particles", "0"], "argument --particles: must lie in [1, 64], got 0"),
        (["--kappa", "2"], "argument --kappa: must lie in [0, 0.5]"),
        (["--reward", "purplish"], "unknown colour 'purplish'"),
        (["--experts", "x,w"], "unknown expert(s) w"),
        (["--steps", "many"], "argument --steps: must be an integer, got 'many'"),
        (["--sampler", "ddim"], "invalid choice"),
        (["--out", "run.txt"], "must end in .npz"),
        (["--strength", "-3"], "argument --strength: must lie in [0, 10000]"),
    ],
)
def test_invalid_arguments_give_one_line_and_exit_code_2(args, message, capsys):
    assert main(["sample", *QUICK, *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["paint"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_cuda_without_cuda_is_a_usage_error(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["sample", *QUICK, "--device", "cuda", "--out", str(tmp_path / "r.npz")]) == 2
    err = capsys.readouterr().err
    assert "CUDA is not available on this machine" in err
    assert not (tmp_path / "r.npz").exists()


def test_unwritable_output_is_reported(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["sample", *QUICK, "--out", str(blocker / "run.npz")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_missing_weights_are_reported_with_the_rebuild_command(tmp_path, capsys):
    assert main(["sample", *QUICK, "--weights", str(tmp_path), "--out",
                 str(tmp_path / "r.npz")]) == 1
    assert "poe-engine train --out" in capsys.readouterr().err


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "poe_engine", "sample", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--langevin" in done.stdout


def test_a_value_error_inside_a_run_is_a_bug_not_a_usage_error(tmp_path, monkeypatch, capsys):
    """Only bad input (InputError) is a usage error with exit code 2; a ValueError from
    inside the engine is a bug and escapes with its traceback."""
    from poe_engine import cli, samplers

    def broken(*args, **kwargs):
        raise ValueError("a bug deep in the sampler")

    monkeypatch.setattr(samplers, "resample", broken)
    monkeypatch.setitem(samplers.SAMPLERS, "ais", lambda *a, **k: broken())
    with pytest.raises(ValueError, match="a bug deep in the sampler"):
        cli.main(["sample", *QUICK, "--out", str(tmp_path / "r.npz")])
    assert "error" not in capsys.readouterr().err


def test_input_error_is_a_value_error_exported_by_the_engine():
    import poe_engine
    from poe_engine.errors import InputError

    assert poe_engine.InputError is InputError and issubclass(InputError, ValueError)
    with pytest.raises(InputError):
        poe_engine.SamplerSettings(particles=0)
    with pytest.raises(InputError):
        poe_engine.ColorReward("purplish")
    with pytest.raises(InputError):
        poe_engine.Composition().set_weight("x", float("nan"))


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if sampling starts: bad input must be refused before."""
    from poe_engine import cli

    def refuse(*args, **kwargs):
        raise AssertionError("sampling started")

    monkeypatch.setattr(cli, "run", refuse)


@pytest.mark.parametrize("seed", ["-1", str(2**64), str(-2**63 - 1), "1" + "0" * 30])
def test_seeds_outside_the_generators_range_name_the_option(seed, no_run, capsys):
    assert main(["sample", *QUICK, "--seed", seed]) == 2
    err = capsys.readouterr().err
    assert "argument --seed: must lie in [0, 2**64 - 1]" in err
    assert len(err.strip().splitlines()) == 1


def test_the_largest_seed_runs(tmp_path):
    assert main(["sample", "--steps", "2", "--points", "16", "--particles", "1", "--langevin",
                 "0", "--seed", str(2**64 - 1), "--out", str(tmp_path / "r.npz")]) == 0


def test_strength_beyond_the_bound_is_refused(no_run, capsys):
    assert main(["sample", *QUICK, "--strength", "1e39"]) == 2
    err = capsys.readouterr().err
    assert "argument --strength: must lie in [0, 10000], got 1e+39" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("option", ["--out", "--ply", "--save-config"])
def test_an_empty_output_path_is_refused(option, no_run, capsys):
    assert main(["sample", *QUICK, option, ""]) == 2
    assert capsys.readouterr().err.strip() == f"poe-engine: error: {option}: empty path"


def test_an_output_under_a_file_is_refused_before_the_run(tmp_path, no_run, capsys):
    blocker = tmp_path / "a"
    blocker.write_text("")
    assert main(["sample", *QUICK, "--out", str(blocker / "b.npz")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"poe-engine: error: --out {blocker / 'b.npz'}: cannot write there: "
                           f"{blocker}/ is a file, not a folder")


def test_an_unwritable_folder_is_refused_before_the_run(tmp_path, no_run, capsys, monkeypatch):
    import errno
    import tempfile

    def read_only(*args, **kwargs):  # tests may run as root, where permissions do not bite
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    assert main(["sample", *QUICK, "--out", str(tmp_path / "sub" / "c.npz")]) == 1
    err = capsys.readouterr().err
    assert f"--out {tmp_path / 'sub' / 'c.npz'}: cannot write in {tmp_path / 'sub'}/: " \
           "Permission denied" in err


def test_precision_is_an_option_and_the_one_that_ran_is_recorded(tmp_path):
    out = tmp_path / "run.npz"
    assert main(["sample", *QUICK, "--precision", "bf16", "--out", str(out)]) == 0
    with np.load(out) as run:
        assert json.loads(str(run["meta"]))["precision"] == "bf16"
    assert main(["sample", *QUICK, "--precision", "auto", "--out", str(out)]) == 0
    with np.load(out) as run:
        assert json.loads(str(run["meta"]))["precision"] in ("fp32", "bf16")  # never 'auto'


def test_running_out_of_gpu_memory_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    import torch

    import poe_engine.cli as cli

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 80 GiB")

    monkeypatch.setattr(cli, "run", out_of_memory)
    assert main(["sample", *QUICK, "--device", "cpu", "--out", str(tmp_path / "r.npz")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "poe-engine: error: the GPU ran out of memory: try fewer particles or points"


def test_the_particle_system_reaches_the_npz_and_the_configuration(tmp_path):
    out, config = tmp_path / "run.npz", tmp_path / "run.json"
    assert main(["sample", *QUICK, "--particles", "3", "--schedule", "linear", "--kernel",
                 "mala", "--weighting", "paper", "--out", str(out),
                 "--save-config", str(config)]) == 0
    with np.load(out) as run:
        assert run["ancestors"].shape == (6, 3) and (run["ancestors"] >= 0).all()  # paper
        assert run["reward_scale"][-1] == 1.0 and run["reward_scale"][0] < 1.0
        assert np.isfinite(run["acceptance"][:-1]).all() and np.isnan(run["acceptance"][-1])
        assert run["log_z"].shape == (6,)
        meta = json.loads(str(run["meta"]))
    assert (meta["schedule"], meta["kernel"], meta["weighting"]) == ("linear", "mala", "paper")
    saved = json.loads(config.read_text())
    assert (saved["schedule"], saved["kernel"]) == ("linear", "mala")
    assert saved["resample_every"] is None  # paper resamples at every step: it did not apply
    again = tmp_path / "again.npz"
    assert main(["sample", "--config", str(config), "--out", str(again)]) == 0
    with np.load(out) as a, np.load(again) as b:
        for name in ("trajectory", "ancestors", "reward_scale", "acceptance", "log_z"):
            assert np.array_equal(a[name], b[name], equal_nan=True)
