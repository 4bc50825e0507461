"""The engine's command line: outputs, one-line errors with exit code 2, device fallback."""

import json
import subprocess
import sys

import numpy as np
import pytest

from poe_engine.cli import main

QUICK = ["--steps", "6", "--points", "32", "--particles", "2", "--langevin", "1"]


def test_sample_writes_the_trajectory_and_prints_metrics(tmp_path, capsys):
    out = tmp_path / "run.npz"
    assert main(["sample", *QUICK, "--reward", "green", "--seed", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "radial error" in printed and "Chamfer" in printed and str(out) in printed
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
        (["--particles", "0"], "particles must lie in [1, 64]"),
        (["--kappa", "2"], "kappa must lie in"),
        (["--reward", "purple"], "unknown colour 'purple'"),
        (["--experts", "x,w"], "unknown expert(s) w"),
        (["--steps", "many"], "invalid int value"),
        (["--sampler", "ddim"], "invalid choice"),
        (["--out", "run.txt"], "must end in .npz"),
        (["--strength", "-3"], "strength must be"),
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


def test_cuda_without_cuda_warns_and_runs_on_the_cpu(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["sample", *QUICK, "--device", "cuda", "--out", str(tmp_path / "r.npz")]) == 0
    captured = capsys.readouterr()
    assert "CUDA is not available; running on the CPU" in captured.err
    assert "on cpu" in captured.out
    assert captured.err.count("warning") == 1


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
