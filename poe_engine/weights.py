"""Expert weight files: safetensors plus a JSON manifest. Never pickles.

The manifest records the training recipe, the seed, the final loss, fidelity
metrics, and for each file its axis, size, sha256 and tensor shapes. Loading checks
all of it before it builds a network: the manifest against its schema (`MANIFEST_SCHEMA`),
each file's size and checksum against the manifest, and each file's own header (its
`axis` metadata, its tensors' names and shapes, read without loading them) against
the manifest and the shapes the recipe implies. Whatever is wrong gives one line, a
`WeightsError` that names the file and the command that rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .errors import cut, number_problem, one_line, shown
from .experts import AXES, AxisFlowExpert, AxisFlowNet

MANIFEST = "manifest.json"
FORMAT = "poe-axis-experts/1"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "resources" / "experts"
MAX_MANIFEST_BYTES = 1 << 20  # a manifest is a few kilobytes
# Architecture bounds: what a recipe may ask AxisFlowNet to allocate.
HIDDEN_RANGE = (1, 4096)
DEPTH_RANGE = (1, 16)
RECIPE_DEFAULTS = {"hidden": 256, "depth": 3}  # manifests that do not say
# The manifest's keys: name -> (required, JSON type). `files` maps expert_file(axis)
# to an entry of FILE_ENTRY_SCHEMA; `recipe` is free-form but for RECIPE_DEFAULTS'
# keys, integers in HIDDEN_RANGE and DEPTH_RANGE.
MANIFEST_SCHEMA = {
    "format": (True, str),
    "recipe": (True, dict),
    "seed": (False, (int, type(None))),
    "final_loss": (False, dict),
    "metrics": (False, dict),
    "files": (True, dict),
}
FILE_ENTRY_SCHEMA = {
    "axis": (True, str),
    "sha256": (True, str),
    "bytes": (False, int),
    "tensors": (True, dict),
}


class WeightsError(RuntimeError):
    """Expert weights that cannot be used."""


def expert_file(axis: str) -> str:
    return f"axis_{axis}.safetensors"


def rebuild_hint(directory: Path) -> str:
    return f"rebuild with: poe-engine train --out {directory}"


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def save_experts(
    directory: str | Path,
    nets: dict[str, AxisFlowNet],
    recipe: dict,
    final_loss: dict[str, float],
    metrics: dict | None = None,
) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for axis, net in nets.items():
        path = directory / expert_file(axis)
        state = {k: v.detach().cpu().float().contiguous() for k, v in net.state_dict().items()}
        save_file(state, str(path), metadata={"axis": axis, "format": FORMAT})
        files[path.name] = {
            "axis": axis,
            "sha256": sha256(path),
            "bytes": path.stat().st_size,
            "tensors": {k: list(v.shape) for k, v in state.items()},
        }
    manifest = {
        "format": FORMAT,
        "recipe": recipe,
        "seed": recipe.get("seed"),
        "final_loss": final_loss,
        "metrics": metrics or {},
        "files": files,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return directory


def update_manifest_metrics(directory: str | Path, metrics: dict) -> None:
    path = Path(directory) / MANIFEST
    manifest = read_manifest(directory)
    manifest["metrics"] = metrics
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(directory: str | Path) -> dict:
    """The manifest of `directory`, checked against MANIFEST_SCHEMA; WeightsError (one line
    naming the manifest and the rebuild command) for anything else."""
    directory = Path(directory)
    path = directory / MANIFEST

    def fail(problem: str) -> WeightsError:
        return WeightsError(f"{path}: {problem}; {rebuild_hint(directory)}")

    try:
        info = os.stat(path)
    except (OSError, ValueError):
        raise fail("manifest not found") from None
    if not stat.S_ISREG(info.st_mode):
        raise fail("manifest not found (not a regular file)")
    if info.st_size > MAX_MANIFEST_BYTES:
        raise fail(f"manifest too large ({info.st_size} bytes; at most {MAX_MANIFEST_BYTES})")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_MANIFEST_BYTES + 1)
        if len(data) > MAX_MANIFEST_BYTES:
            raise fail(f"manifest too large (more than {MAX_MANIFEST_BYTES} bytes)")
        manifest = json.loads(data.decode("utf-8"))
    except OSError as err:
        raise fail(f"unreadable manifest ({err.strerror or err})") from None
    except RecursionError:
        raise fail("unreadable manifest (nested too deeply)") from None
    except ValueError as err:  # JSON, UTF-8, over-long numbers
        raise fail(f"unreadable manifest ({cut(one_line(err), 80)})") from None
    problem = manifest_problem(manifest)
    if problem is not None:
        raise fail(problem)
    return manifest


def manifest_problem(manifest: object) -> str | None:
    """What is wrong with a parsed manifest, or None: MANIFEST_SCHEMA's keys and types,
    the recipe's architecture within bounds, `files` holding entries of expected names."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return f"not a {FORMAT} manifest"
    problem = _keys_problem("", manifest, MANIFEST_SCHEMA)
    if problem is not None:
        return problem
    recipe = manifest["recipe"]
    for key, (low, high) in (("hidden", HIDDEN_RANGE), ("depth", DEPTH_RANGE)):
        if key in recipe:
            problem = number_problem(recipe[key], low, high, integer=True)
            if problem is not None:
                return f"recipe.{key} {problem}"
    if manifest.get("final_loss") is not None:
        for axis, loss in manifest["final_loss"].items():
            if isinstance(loss, bool) or not isinstance(loss, int | float | type(None)):
                return f"final_loss.{cut(axis, 20)} must be a number, got {shown(loss)}"
    expected = {expert_file(axis): axis for axis in AXES}
    for name, entry in manifest["files"].items():
        if name not in expected:
            return (f"files lists {shown(name)}; expected names are "
                    f"{', '.join(expected)}")
        where = f"files.{name}"
        if not isinstance(entry, dict):
            return f"{where} must be an object, got {shown(entry)}"
        problem = _keys_problem(f"{where}.", entry, FILE_ENTRY_SCHEMA)
        if problem is not None:
            return problem
        if entry["axis"] != expected[name]:
            return f"{where}.axis is {shown(entry['axis'])}, not {expected[name]!r}"
        digest = entry["sha256"]
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            return f"{where}.sha256 must be 64 hexadecimal digits, got {shown(digest)}"
        if "bytes" in entry:
            problem = number_problem(entry["bytes"], 0, 2**40, integer=True)
            if problem is not None:
                return f"{where}.bytes {problem}"
        for tensor, shape in entry["tensors"].items():
            if not (isinstance(shape, list) and len(shape) <= 4 and all(
                    isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 2**31
                    for n in shape)):
                return (f"{where}.tensors.{cut(tensor, 20)} must be a list of sizes, "
                        f"got {shown(shape)}")
    return None


def _keys_problem(where: str, value: dict, schema: dict) -> str | None:
    unknown = [str(k) for k in value if k not in schema]
    if unknown:
        return f"unknown key(s) {cut(', '.join(f'{where}{k}' for k in unknown))}"
    for key, (required, kind) in schema.items():
        if key not in value:
            if required:
                return f"{where}{key} is missing"
            continue
        item = value[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(item, bool) and bool not in kinds) or not isinstance(item, kinds):
            names = {str: "a string", dict: "an object", int: "an integer",
                     type(None): "null"}
            wanted = " or ".join(names.get(k, k.__name__) for k in kinds)
            return f"{where}{key} must be {wanted}, got {shown(item)}"
    return None


def recipe_shapes(hidden: int, depth: int) -> dict[str, list[int]]:
    """The tensor shapes of an AxisFlowNet of this architecture (nothing is allocated)."""
    with torch.device("meta"):
        net = AxisFlowNet(hidden=hidden, depth=depth)
    return {k: list(v.shape) for k, v in net.state_dict().items()}


def load_axis_experts(
    directory: str | Path | None = None,
    device: torch.device | str = "cpu",
    axes: tuple[str, ...] = AXES,
) -> dict[str, AxisFlowExpert]:
    """The trained axis experts, checked against the manifest, on `device`."""
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    manifest = read_manifest(directory)
    recipe = RECIPE_DEFAULTS | {k: manifest["recipe"][k] for k in RECIPE_DEFAULTS
                                if k in manifest["recipe"]}
    shapes = recipe_shapes(recipe["hidden"], recipe["depth"])
    experts = {}
    for axis in axes:
        path = directory / expert_file(axis)
        problem = _check_file(path, axis, manifest["files"].get(path.name), shapes, recipe)
        if problem:
            blamed, problem = problem
            raise WeightsError(f"{blamed}: {problem}; {rebuild_hint(directory)}")
        net = AxisFlowNet(hidden=recipe["hidden"], depth=recipe["depth"])
        try:
            state = load_file(str(path))
            net.load_state_dict(state, strict=True)
        except Exception as err:  # safetensors raises several types for corrupt files
            raise WeightsError(f"{path}: cannot load ({cut(one_line(err), 80)}); "
                               f"{rebuild_hint(directory)}") from None
        expert = AxisFlowExpert(axis, net).to(device).eval()
        expert.sha256 = manifest["files"][path.name]["sha256"]  # checked against the file
        experts[axis] = expert
    return experts


def manifest_checksums(directory: str | Path | None = None) -> dict[str, str]:
    """axis -> the sha256 the manifest of `directory` gives its weight file (the file
    itself is checked when it is loaded). WeightsError for an unusable manifest."""
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    files = read_manifest(directory)["files"]
    return {axis: files[expert_file(axis)]["sha256"] for axis in AXES
            if expert_file(axis) in files}


def _check_file(path: Path, axis: str, entry: dict | None, shapes: dict[str, list[int]],
                recipe: dict) -> tuple[Path, str] | None:
    """What is wrong with the weight file of `axis`, or None: the file to blame (the
    weight file, or the manifest where the weight file is intact and the manifest's own
    record of it is what disagrees) and the problem. Reads the file's header only."""
    manifest = path.parent / MANIFEST
    if not path.is_file():
        return path, "file not found"
    if entry is None:
        return path, "not listed in the manifest"
    size = path.stat().st_size
    intact = sha256(path) == entry["sha256"]
    if "bytes" in entry and size != entry["bytes"]:
        if intact:  # the file is the one the manifest's checksum names: its size is wrong
            return manifest, (f"files.{path.name}.bytes says {entry['bytes']}, but "
                              f"{path.name} ({size} bytes) matches the manifest's checksum: "
                              "the manifest was edited, not the file")
        return path, (f"{size} bytes, the manifest says {entry['bytes']} (truncated or "
                      "replaced file)")
    if not intact:
        return path, "checksum does not match the manifest (corrupt or replaced file)"
    try:
        with safe_open(str(path), "pt") as f:
            metadata = f.metadata() or {}
            found = {name: list(f.get_slice(name).get_shape()) for name in f.keys()}
    except Exception as err:  # safetensors raises several types for damaged headers
        return path, f"cannot read ({cut(one_line(err), 80)})"
    if metadata.get("axis") != axis:
        return path, (f"holds the expert of axis {shown(metadata.get('axis'))} (its own "
                      f"metadata), not {axis!r}: files swapped or renamed")
    listed = entry["tensors"]
    for name in sorted(set(found) | set(listed) | set(shapes)):
        here, there, needed = found.get(name), listed.get(name), shapes.get(name)
        if here != there and here == needed:  # the file is what the model needs
            return manifest, (f"files.{path.name}.tensors: tensor {cut(name, 30)} has shape "
                              f"{there} in the manifest, {here} in the file, as the model "
                              "needs: the manifest was edited, not the file")
        if here != there:
            return path, (f"tensor {cut(name, 30)} has shape {here} in the file, {there} in "
                          "the manifest")
        if here != needed:
            return path, (f"tensor {cut(name, 30)} has shape {here}; the recipe (hidden "
                          f"{recipe['hidden']}, depth {recipe['depth']}) needs {needed}")
    return None
