"""Reading the files the app opens, without Qt: a run's .npz as frames, PLY clouds, and
the one-line errors for files that are not what they claim."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from poe_desktop.model import file_readers
from poe_desktop.model.file_readers import read_file, read_ply, read_trajectory
from poe_engine.cli import main as engine_main
from poe_engine.errors import InputError
from poe_engine.exports import write_ply, write_trajectory_npz
from poe_engine.spec import CONFIG_FORMAT


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "run.npz"
    assert engine_main(["sample", "--steps", "5", "--points", "24", "--particles", "3",
                        "--langevin", "1", "--device", "cpu", "--seed", "1", "--reward",
                        "green", "--experts", "x,y,color", "--out", str(path)]) == 0
    with np.load(path) as run:
        return path, {name: run[name] for name in run.files}


def test_a_sampled_run_becomes_its_frames(sampled):
    path, arrays = sampled
    run = read_trajectory(path)
    assert len(run.frames) == 5 and run.note == "5 steps"
    assert run.config["seed"] == 1 and run.config["reward"] == "green"
    for i, frame in enumerate(run.frames):
        assert frame.index == i and frame.steps == 5
        assert np.array_equal(frame.cloud, arrays["trajectory"][i])
        assert np.allclose(frame.log_weights, arrays["log_weights"][i])
        assert frame.ess == arrays["ess"][i] and frame.t == arrays["t"][i]
        assert frame.resampled == arrays["resampled"][i]
        assert frame.experts == ("x", "y", "color") and frame.weights == (1.0, 1.0, 1.0)
        assert frame.reward == "green" and frame.strength == 300.0
        assert frame.precision == run.config["precision"]
        # the reward test of tilted moves (a rate); NaN where a run makes no test
        assert np.isclose(frame.acceptance, arrays["acceptance"][i], equal_nan=True)
        assert frame.log_z == arrays["log_z"][i]
        assert 0 <= frame.off_sphere <= 1 and frame.radial_error > 0 and frame.chamfer > 0
    resampled = [i for i in range(5) if arrays["resampled"][i]]
    for i in range(5):
        assert (run.frames[i].ancestors is not None) == (i in resampled)


def test_an_npz_without_the_newer_columns_takes_its_configuration(tmp_path):
    """Only the columns every version wrote: the controls come from the meta, the
    particle system from the Frame defaults; a partial run says so."""
    clouds = np.random.default_rng(0).random((3, 20, 6), dtype=np.float32)
    meta = {"format": CONFIG_FORMAT, "steps": 8, "experts": "x,z", "reward": "none"}
    path = write_trajectory_npz(tmp_path / "old.npz", clouds, np.zeros((3, 2)), np.ones(3),
                                np.zeros(3, bool), np.linspace(1, 0.7, 3), meta)
    run = read_trajectory(path)
    assert run.note == "a partial run: 3 of its 8 steps"
    frame = run.frames[-1]
    assert frame.steps == 8 and frame.experts == ("x", "z") and frame.reward is None
    assert frame.strength is None and frame.reward_scale == 1.0 and math.isnan(frame.log_z)
    assert frame.ancestors is None and frame.precision == "fp32"


def npz(tmp_path, name, **arrays):
    meta = np.array(json.dumps({"format": CONFIG_FORMAT}))
    np.savez(tmp_path / name, meta=meta, **arrays)
    return tmp_path / name


def columns(steps=2, points=4, particles=2, **changed):
    base = {"trajectory": np.zeros((steps, points, 6), np.float32),
            "log_weights": np.zeros((steps, particles)), "ess": np.ones(steps),
            "resampled": np.zeros(steps, bool), "t": np.linspace(1, 0, steps)}
    return base | changed


@pytest.mark.parametrize("changed, words", [
    ({"trajectory": np.zeros((2, 4, 5), np.float32)}, "shape (steps, points, 6)"),
    ({"trajectory": np.zeros((0, 4, 6), np.float32)}, "shape (steps, points, 6)"),
    ({"ess": np.ones(3)}, "ess has 3 steps, the trajectory 2"),
    ({"log_weights": np.zeros(2)}, "log_weights must have shape"),
    ({"t": np.array(["a", "b"])}, "t holds"),
    ({"ess": np.array([{}, {}], dtype=object)}, "damaged"),  # pickled: never loaded
    ({"ancestors": np.full((2, 2), 5)}, "ancestors must be"),  # particle 5 of 2
    ({"ancestors": np.zeros((2, 3), int)}, "ancestors must be"),
])
def test_a_malformed_trajectory_is_one_line(tmp_path, changed, words):
    path = npz(tmp_path, "bad.npz", **columns(**changed))
    with pytest.raises(InputError, match="bad.npz") as err:
        read_trajectory(path)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_an_npz_that_inflates_too_much_is_refused_before_reading(tmp_path, monkeypatch):
    path = npz(tmp_path, "big.npz", **columns(steps=50, points=100))
    monkeypatch.setattr(file_readers, "MAX_ARRAY_BYTES", 10_000)
    with pytest.raises(InputError, match="too large"):
        read_trajectory(path)


def test_a_written_ply_reads_back(tmp_path):
    cloud = np.random.default_rng(1).random((50, 6), dtype=np.float32)
    read = read_ply(write_ply(tmp_path / "c.ply", cloud))
    assert read.dtype == np.float32 and read.shape == (50, 6)
    assert np.array_equal(read[:, :3], cloud[:, :3])
    assert np.abs(read[:, 3:] - cloud[:, 3:]).max() <= 0.5 / 255 + 1e-6


def test_big_endian_ply_with_float_colours_and_a_face_element(tmp_path):
    vertices = np.array([(0.1, 0.2, 0.3, 1.0, 0.5, 0.25), (0.4, 0.5, 0.6, 0.0, 0.0, 1.0)],
                        dtype=[(n, ">f4") for n in ("x", "y", "z", "red", "green", "blue")])
    header = ("ply\nformat binary_big_endian 1.0\nelement vertex 2\n"
              + "".join(f"property float {n}\n" for n in ("x", "y", "z", "red", "green",
                                                          "blue"))
              + "element face 1\nproperty list uchar int vertex_indices\nend_header\n")
    path = tmp_path / "be.ply"
    path.write_bytes(header.encode() + vertices.tobytes() + b"\x03\x00\x00\x00\x00")
    cloud = read_ply(path)
    assert np.allclose(cloud, [[0.1, 0.2, 0.3, 1.0, 0.5, 0.25], [0.4, 0.5, 0.6, 0, 0, 1]])


@pytest.mark.parametrize("header, words", [
    ("ply\nformat ascii 1.0\nelement face 1\nproperty list uchar int v\nend_header\n",
     "first element is 'face'"),
    ("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
     "end_header\n0 0\n1 1\n", "no z property"),
    ("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
     "property float z\nend_header\n0 0 0\n", "truncated"),
    ("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
     "property float z\nend_header\n0 zero 0\n", "not a number"),
    ("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
     "property float z\nend_header\nnan 0 0\n", "not finite"),
    ("ply\nformat binary_middle_endian 1.0\nelement vertex 1\nend_header\n",
     "header line it cannot read"),
    ("ply\nformat ascii 1.0\nelement vertex 99999999999\nproperty float x\nend_header\n",
     "more than"),
    ("ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nend_header\n", "no vertices"),
    ("ply\nformat ascii 1.0\nelement vertex 1\nproperty list uchar int x\nend_header\n",
     "vertex property it cannot read"),
    ("ply\nformat ascii 1.0\nelement vertex 1\n", "no end_header"),
])
def test_a_ply_it_cannot_read_is_one_line(tmp_path, header, words):
    path = tmp_path / "bad.ply"
    path.write_text(header)
    with pytest.raises(InputError, match="bad.ply") as err:
        read_file(path)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_ply_cloud_is_a_run_of_one_step(tmp_path):
    kind, run = read_file(write_ply(tmp_path / "c.ply", np.full((30, 6), 0.5)))
    assert kind == "cloud" and run.config is None and run.note == "a cloud of 30 points"
    (frame,) = run.frames
    assert frame.steps == 1 and frame.experts == () and frame.reward is None
    assert frame.radial_error == pytest.approx(0.5)  # every point at the centre


def test_a_json_is_read_as_a_configuration(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"format": CONFIG_FORMAT, "seed": 5}))
    assert read_file(path) == ("configuration", {"format": CONFIG_FORMAT, "seed": 5})
