"""Expert weight files: safetensors plus a JSON manifest. Never pickles.

The manifest records the training recipe, the seed, the final loss, fidelity
metrics, and for each file its sha256 and tensor shapes. Loading checks all of
it, so a missing, truncated or foreign file fails with a message that names the
file and the command that rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .experts import AXES, AxisFlowExpert, AxisFlowNet

MANIFEST = "manifest.json"
FORMAT = "poe-axis-experts/1"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "resources" / "experts"


class WeightsError(RuntimeError):
    """Expert weights that cannot be used."""


def expert_file(axis: str) -> str:
    return f"axis_{axis}.safetensors"


def rebuild_hint(directory: Path) -> str:
    return f"rebuild with: poe-engine train --out {directory}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    manifest = json.loads(path.read_text())
    manifest["metrics"] = metrics
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(directory: str | Path) -> dict:
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise WeightsError(f"{path}: manifest not found; {rebuild_hint(directory)}")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WeightsError(
            f"{path}: unreadable manifest ({err}); {rebuild_hint(directory)}"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a {FORMAT} manifest; {rebuild_hint(directory)}")
    return manifest


def load_axis_experts(
    directory: str | Path | None = None,
    device: torch.device | str = "cpu",
    axes: tuple[str, ...] = AXES,
) -> dict[str, AxisFlowExpert]:
    """The trained axis experts, checked against the manifest, on `device`."""
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    manifest = read_manifest(directory)
    recipe = manifest.get("recipe", {})
    experts = {}
    for axis in axes:
        path = directory / expert_file(axis)
        problem = _check_file(path, manifest.get("files", {}).get(path.name))
        if problem:
            raise WeightsError(f"{path}: {problem}; {rebuild_hint(directory)}")
        net = AxisFlowNet(hidden=int(recipe.get("hidden", 256)), depth=int(recipe.get("depth", 3)))
        try:
            state = load_file(str(path))
            net.load_state_dict(state, strict=True)
        except Exception as err:  # safetensors raises several types for corrupt files
            raise WeightsError(f"{path}: cannot load ({err}); {rebuild_hint(directory)}") from None
        experts[axis] = AxisFlowExpert(axis, net).to(device).eval()
    return experts


def _check_file(path: Path, entry: dict | None) -> str | None:
    if not path.is_file():
        return "file not found"
    if entry is None:
        return "not listed in the manifest"
    if sha256(path) != entry.get("sha256"):
        return "checksum does not match the manifest (corrupt or replaced file)"
    return None
