"""Weight files: safetensors + manifest, checked on load; training by flow matching."""

import json
import shutil

import pytest
import torch

from poe_engine.experts import AXES
from poe_engine.training import TrainRecipe, train_axis_experts
from poe_engine.weights import (
    DEFAULT_DIR,
    MANIFEST,
    WeightsError,
    expert_file,
    load_axis_experts,
    read_manifest,
    save_experts,
)


def test_shipped_weights_are_small_safetensors_listed_in_the_manifest():
    manifest = read_manifest(DEFAULT_DIR)
    for axis in AXES:
        path = DEFAULT_DIR / expert_file(axis)
        assert path.stat().st_size < 1_000_000
        entry = manifest["files"][path.name]
        assert entry["axis"] == axis and len(entry["sha256"]) == 64
    assert set(manifest["final_loss"]) == set(AXES)
    assert manifest["recipe"]["seed"] == manifest["seed"]
    assert manifest["metrics"]["passed"] is True  # the evaluation stored at training time


def test_loading_never_unpickles(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("torch.load must not be used for expert weights")

    monkeypatch.setattr(torch, "load", forbidden)
    experts = load_axis_experts()
    assert set(experts) == set(AXES)


@pytest.fixture
def weights_copy(tmp_path):
    target = tmp_path / "experts"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def test_missing_file_names_the_file_and_the_rebuild_command(weights_copy):
    (weights_copy / expert_file("y")).unlink()
    with pytest.raises(WeightsError) as err:
        load_axis_experts(weights_copy)
    assert "axis_y.safetensors: file not found" in str(err.value)
    assert f"poe-engine train --out {weights_copy}" in str(err.value)


def test_corrupt_file_is_caught_by_its_checksum(weights_copy):
    path = weights_copy / expert_file("z")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="axis_z.safetensors: checksum does not match"):
        load_axis_experts(weights_copy)


@pytest.mark.parametrize("content", ["{not json", '{"format": "something else"}', ""])
def test_bad_manifest_is_refused(weights_copy, content):
    (weights_copy / MANIFEST).write_text(content)
    with pytest.raises(WeightsError, match="manifest"):
        load_axis_experts(weights_copy)


def test_missing_manifest_is_refused(tmp_path):
    with pytest.raises(WeightsError, match="manifest not found.*poe-engine train"):
        load_axis_experts(tmp_path)


def test_wrong_shapes_are_refused_even_with_a_consistent_manifest(tmp_path):
    small = TrainRecipe(hidden=16)
    from poe_engine.experts import AxisFlowNet

    nets = {a: AxisFlowNet(hidden=16) for a in AXES}
    save_experts(tmp_path, nets, small.to_dict(), {a: 0.0 for a in AXES})
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["recipe"]["hidden"] = 256  # a manifest that lies about the architecture
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="axis_x.safetensors: cannot load"):
        load_axis_experts(tmp_path)


def test_training_lowers_the_loss_and_round_trips_through_files(tmp_path):
    recipe = TrainRecipe(steps=250, batch=256, hidden=32, warmup=5)  # loss: last 100 steps
    nets, final_loss, seconds = train_axis_experts(recipe, progress=False)
    # one step reports the loss of the freshly initialised nets
    _, initial_loss, _ = train_axis_experts(
        TrainRecipe(steps=1, batch=256, hidden=32, warmup=1), progress=False)
    assert all(final_loss[a] < 0.8 * initial_loss[a] for a in AXES)
    save_experts(tmp_path, nets, recipe.to_dict(), final_loss)
    loaded = load_axis_experts(tmp_path)
    cloud = torch.rand(2, 10, 6)
    for axis in AXES:
        assert torch.allclose(loaded[axis].velocity(cloud, 0.3),
                              nets[axis](cloud[..., :3].reshape(-1, 3),
                                         torch.full((20, 1), 0.3)).reshape(2, 10, 1))
    assert seconds > 0
