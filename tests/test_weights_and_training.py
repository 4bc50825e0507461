"""Weight files: safetensors + manifest, checked on load; training by flow matching."""

import json
import re
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
    with pytest.raises(WeightsError, match=re.escape(
            "axis_x.safetensors: tensor mlp.0.bias has shape [16]; the recipe (hidden 256, "
            "depth 3) needs [256]")):
        load_axis_experts(tmp_path)


def _edit_manifest(folder, change):
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest = change(manifest) or manifest
    (folder / MANIFEST).write_text(json.dumps(manifest))


def _set(path, value):
    def change(m):
        *keys, last = path
        for key in keys:
            m = m[key]
        m[last] = value
    return change


X = expert_file("x")
BAD_MANIFESTS = {
    "files as a list": (_set(["files"], [X]), "files must be an object, got ['axis_x"),
    "an entry as a string": (_set(["files", X], "abc"), f"files.{X} must be an object"),
    "recipe as a list": (_set(["recipe"], [256, 3]), "recipe must be an object"),
    "hidden not a number": (_set(["recipe", "hidden"], "abc"),
                            "recipe.hidden must be an integer, got 'abc'"),
    "hidden of a million": (_set(["recipe", "hidden"], 10**6),
                            "recipe.hidden must lie in [1, 4096], got 1000000"),
    "negative depth": (_set(["recipe", "depth"], -1), "recipe.depth must lie in [1, 16]"),
    "depth as a bool": (_set(["recipe", "depth"], True), "recipe.depth must be an integer"),
    "no files": (lambda m: m.pop("files") and None, "files is missing"),
    "a foreign file name": (_set(["files", "axis_w.safetensors"], {}),
                            "files lists 'axis_w.safetensors'; expected names are"),
    "an entry of the wrong axis": (_set(["files", X, "axis"], "y"),
                                   f"files.{X}.axis is 'y', not 'x'"),
    "a checksum of the wrong kind": (_set(["files", X, "sha256"], 12),
                                     f"files.{X}.sha256 must be a string"),
    "a checksum too short": (_set(["files", X, "sha256"], "abc"),
                             "must be 64 hexadecimal digits"),
    "shapes as text": (_set(["files", X, "tensors", "mlp.0.bias"], "256"),
                       f"files.{X}.tensors.mlp.0.bias must be a list of sizes"),
    "an unknown key": (_set(["weights"], 1), "unknown key(s) weights"),
    "a string seed": (_set(["seed"], "0"), "seed must be an integer or null"),
}


@pytest.mark.parametrize("case", list(BAD_MANIFESTS))
def test_malformed_manifests_are_one_line_naming_the_manifest(case, weights_copy):
    change, message = BAD_MANIFESTS[case]
    _edit_manifest(weights_copy, change)
    with pytest.raises(WeightsError) as err:
        load_axis_experts(weights_copy)
    text = str(err.value)
    assert text.startswith(f"{weights_copy / MANIFEST}: ") and message in text
    assert text.endswith(f"; rebuild with: poe-engine train --out {weights_copy}")
    assert "\n" not in text


@pytest.mark.parametrize("content, message", [
    ("[" * 100_000, "nested too deeply"),
    (" " * (2 << 20), "manifest too large"),
])
def test_manifests_too_deep_or_too_large_are_refused(content, message, weights_copy):
    (weights_copy / MANIFEST).write_text(content)
    with pytest.raises(WeightsError, match=message):
        load_axis_experts(weights_copy)


def test_a_manifest_that_lies_about_shapes_is_refused_naming_the_manifest(weights_copy):
    """The weight file is intact (its checksum is the manifest's) and holds what the model
    needs: the manifest's edited shape is the wrong side, and the error names it."""
    _edit_manifest(weights_copy, _set(["files", X, "tensors", "mlp.0.weight"], [256, 21]))
    with pytest.raises(WeightsError) as err:
        load_axis_experts(weights_copy)
    assert str(err.value).startswith(
        f"{weights_copy / MANIFEST}: files.{X}.tensors: tensor mlp.0.weight has shape "
        "[256, 21] in the manifest, [256, 20] in the file, as the model needs: the manifest "
        "was edited, not the file; rebuild with: poe-engine train --out ")


def test_a_manifest_whose_size_was_edited_is_named_not_the_intact_file(weights_copy):
    _edit_manifest(weights_copy, _set(["files", X, "bytes"], 1234))
    with pytest.raises(WeightsError) as err:
        load_axis_experts(weights_copy)
    assert str(err.value).startswith(f"{weights_copy / MANIFEST}: files.{X}.bytes says 1234, "
                                     f"but {X} (")
    assert "matches the manifest's checksum: the manifest was edited" in str(err.value)


def test_swapped_files_are_caught_by_their_own_axis_metadata(weights_copy):
    """axis_x and axis_y swapped, with the manifest's checksums brought up to date."""
    from poe_engine.weights import sha256

    x, y = weights_copy / expert_file("x"), weights_copy / expert_file("y")
    data_x, data_y = x.read_bytes(), y.read_bytes()
    x.write_bytes(data_y)
    y.write_bytes(data_x)

    def update(m):
        for path in (x, y):
            m["files"][path.name].update(sha256=sha256(path), bytes=path.stat().st_size)
    _edit_manifest(weights_copy, update)
    with pytest.raises(WeightsError, match=re.escape(
            f"{X}: holds the expert of axis 'y' (its own metadata), not 'x'")):
        load_axis_experts(weights_copy)


def test_a_truncated_file_is_caught_by_its_size(weights_copy):
    path = weights_copy / expert_file("z")
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="axis_z.safetensors: 1000 bytes, the manifest says"):
        load_axis_experts(weights_copy)


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
