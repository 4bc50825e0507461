"""Whole runs: build a composition from names, run a sampler to the end, collect
what it streamed. Shared by the command line, the evaluation table and tests."""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from . import steering
from .compose import replayed_mixture
from .errors import InputError
from .experts import GenerativeExpert, MonochromeColorExpert
from .metrics import Fidelity, fidelity
from .mixture import Mixture, sample_mixture
from .product import Composition
from .reward import ColorReward
from .samplers import SAMPLERS, SamplerSettings, StepRecord
from .trajectory import Trajectory
from .weights import load_axis_experts

CUDA_FALLBACK = "CUDA is not available; running on the CPU"
CUDA_MISSING = ("--device cuda: CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use --device cpu or auto")
OUT_OF_MEMORY = "the GPU ran out of memory: try fewer particles or points"


def resolve_device(name: str = "auto", on_fallback: Callable[[str], None] | None = None
                   ) -> torch.device:
    """'auto' | 'cpu' | 'cuda' -> a device that exists. 'cuda' without CUDA: a command line
    (which passes `on_fallback`) gets an InputError naming the problem; the app (without
    it) falls back to the CPU with a RuntimeWarning."""
    if name not in ("auto", "cpu", "cuda"):
        raise InputError(f"device must be auto, cpu or cuda, got {name!r}")
    if name == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if name == "cuda":
        if on_fallback is not None:
            raise InputError(CUDA_MISSING)
        warnings.warn(CUDA_FALLBACK, RuntimeWarning, stacklevel=2)
    return torch.device("cpu")


def device_line(device: torch.device) -> str:
    """The one line `--device auto` prints: 'device: cpu (no CUDA)' or 'device: cuda (name)'."""
    if device.type == "cuda":
        return f"device: cuda ({torch.cuda.get_device_name(device)})"
    return "device: cpu (no CUDA)"


def build_experts(
    weights_dir: str | Path | None, device: torch.device
) -> dict[str, GenerativeExpert]:
    experts: dict[str, GenerativeExpert] = dict(load_axis_experts(weights_dir, device))
    experts["color"] = MonochromeColorExpert()
    return experts


def build_composition(
    experts: dict[str, GenerativeExpert],
    enabled: Iterable[str],
    reward: ColorReward | None,
) -> Composition:
    """Every expert is in the composition; those not in `enabled` start switched off."""
    composition = Composition.of(experts.values(), reward)
    on = set(enabled)
    for name in experts:
        composition.set_enabled(name, name in on)
    return composition


def checksums(experts: dict[str, GenerativeExpert]) -> dict[str, str]:
    """name -> sha256 of the weight file of each expert loaded from one."""
    return {name: e.sha256 for name, e in experts.items() if getattr(e, "sha256", None)}


def check_checksums(expected: dict[str, str] | None, loaded: dict[str, str],
                    source: object) -> None:
    """A replay runs with the weights its configuration was made with: InputError (one
    line naming `source`, the configuration) where `expected` (its `checksums`) differs
    from the `loaded` weights' checksums."""
    differ = [name for name in (expected or {}) if loaded.get(name) != expected[name]]
    if differ:
        name = differ[0]
        raise InputError(
            f"{source}: the run was made with other expert weights (checksum of "
            f"{', '.join(differ)}: {expected[name][:12]}…, loaded: "
            f"{(loaded.get(name) or 'none')[:12]}…); use --weights with the run's weights")


def composition_for(experts: dict[str, GenerativeExpert],
                    controls: steering.Controls) -> Composition:
    """Every expert in a composition, switched and weighted as `controls` say, with its
    reward."""
    composition = Composition.of(experts.values())
    steering.apply(composition, controls)
    return composition


@dataclass
class RunResult:
    records: list[StepRecord]
    seconds: float
    settings: SamplerSettings
    meta: dict = field(default_factory=dict)

    @property
    def final(self) -> torch.Tensor:
        return self.records[-1].best

    def fidelity(self) -> Fidelity:
        return fidelity(self.final)

    def trajectory(self) -> Trajectory:
        return Trajectory.from_records(self.records)

    def save_npz(self, path: str | Path, particles: bool = False) -> Path:
        """trajectory (T, N, 6), final (N, 6), log_weights (T, L), ess (T), the steered
        columns (`steering.columns`), meta (JSON); with `particles`, final_particles
        (L, N, 6) and final_log_weights (L) (the run must keep its particles)."""
        return self.trajectory().save_npz(path, self.meta, particles)


def run(
    composition: Composition | Mixture,
    settings: SamplerSettings,
    sampler: str = "ais",
    seed: int = 0,
    device: torch.device | str = "cpu",
    meta: dict | None = None,
    events: Iterable[steering.SteeringEvent] = (),
    progress: bool = False,
) -> RunResult:
    """Run to the end; `events` (steering) are applied to `composition` at their steps;
    `progress`: a progress bar (tqdm) on stderr.
    With `settings.keep_particles`, the last record alone keeps its particles (each
    step's are let go as the next one comes: a run's every particle may not fit)."""
    if sampler not in SAMPLERS:
        raise InputError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    start = time.perf_counter()
    if isinstance(composition, Mixture):  # an expression's branches (events: (step, text))
        stream = replayed_mixture(composition, events, sample_mixture(
            composition, settings, sampler, seed, device))
    else:
        stream = steering.replayed(composition, events, SAMPLERS[sampler](
            composition, settings, seed=seed, device=device))
    records: list[StepRecord] = []
    bar = tqdm(stream, total=settings.steps, desc="sampling", unit="step", file=sys.stderr,
               disable=not progress)
    for record in bar:
        if records:
            records[-1].particles = None
        records.append(record)
    return RunResult(records, time.perf_counter() - start, settings, meta or {})
