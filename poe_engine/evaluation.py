"""The fidelity table (docs/fidelity.md): does the product work, and does each
axis expert alone show its artifact?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from tqdm import tqdm

from .experts import AXES, GenerativeExpert
from .metrics import Fidelity, color_success
from .reward import ColorReward
from .runs import build_composition, run
from .samplers import SamplerSettings

# Bars a run of the product must meet (mean over runs), and the artifact bar.
PRODUCT_BARS = {"radial_error": 0.01, "off_sphere": 0.02, "chamfer": 0.075, "color_spread": 0.05}
SUCCESS_SHARE = 29 / 30
SINGLE_EXPERT_MIN_OFF_SPHERE = 0.25
SINGLE_EXPERT_STEPS = 32


@dataclass
class ProductRow:
    runs: list[tuple[int, str, Fidelity, bool, float]]  # seed, colour, fidelity, success, seconds

    def mean(self, key: str) -> float:
        return sum(getattr(f, key) for _, _, f, _, _ in self.runs) / len(self.runs)

    def worst(self, key: str) -> float:
        return max(getattr(f, key) for _, _, f, _, _ in self.runs)

    @property
    def successes(self) -> int:
        return sum(ok for _, _, _, ok, _ in self.runs)

    @property
    def seconds(self) -> float:
        return sum(s for *_, s in self.runs) / len(self.runs)

    def failures(self) -> list[str]:
        out = [f"{k} {self.mean(k):.4f} > {bar}" for k, bar in PRODUCT_BARS.items()
               if self.mean(k) > bar]
        if self.successes < SUCCESS_SHARE * len(self.runs) - 1e-9:
            out.append(f"colour success {self.successes}/{len(self.runs)}")
        return out


@dataclass
class SingleRow:
    axis: str
    off_sphere: list[float]

    @property
    def mean(self) -> float:
        return sum(self.off_sphere) / len(self.off_sphere)

    def failures(self) -> list[str]:
        return ([f"{self.axis} alone: off-sphere {self.mean:.3f} < "
                 f"{SINGLE_EXPERT_MIN_OFF_SPHERE}"]
                if self.mean < SINGLE_EXPERT_MIN_OFF_SPHERE else [])


@dataclass
class Report:
    product: ProductRow
    singles: list[SingleRow]

    def failures(self) -> list[str]:
        return self.product.failures() + [f for s in self.singles for f in s.failures()]

    @property
    def passed(self) -> bool:
        return not self.failures()

    def markdown(self) -> str:
        p = self.product
        n = len(p.runs)
        lines = [
            "| run | radial error | off-sphere | Chamfer | colour success | colour spread |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| product (AIS), {n} runs: mean (worst) | {p.mean('radial_error'):.4f} "
            f"({p.worst('radial_error'):.4f}) | {100 * p.mean('off_sphere'):.2f} % "
            f"({100 * p.worst('off_sphere'):.2f} %) | {p.mean('chamfer'):.4f} "
            f"({p.worst('chamfer'):.4f}) | {p.successes} of {n} | "
            f"{p.mean('color_spread'):.4f} ({p.worst('color_spread'):.4f}) |",
        ]
        for s in self.singles:
            lines.append(
                f"| {s.axis} expert alone (Euler, {SINGLE_EXPERT_STEPS} steps), "
                f"{len(s.off_sphere)} runs: mean (least) | | {100 * s.mean:.1f} % "
                f"({100 * min(s.off_sphere):.1f} %) | | | |"
            )
        return "\n".join(lines)

    def as_dict(self) -> dict:
        p = self.product
        return {
            "product": {
                "runs": len(p.runs),
                **{f"{k}_mean": p.mean(k) for k in PRODUCT_BARS},
                **{f"{k}_worst": p.worst(k) for k in PRODUCT_BARS},
                "color_success": p.successes,
                "seconds_per_run": p.seconds,
            },
            "single_expert_off_sphere": {s.axis: s.mean for s in self.singles},
            "passed": self.passed,
        }


def evaluate(
    experts: dict[str, GenerativeExpert],
    seeds: Sequence[int] = range(10),
    colors: Sequence[str] = ("red", "green", "blue"),
    settings: SamplerSettings | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> Report:
    settings = settings or SamplerSettings()
    jobs = [(seed, color) for seed in seeds for color in colors]
    bar = tqdm(total=len(jobs) + len(AXES) * len(seeds), desc="evaluating", disable=not progress)
    product_runs = []
    for seed, color in jobs:
        reward = ColorReward(color)
        composition = build_composition(experts, experts.keys(), reward)
        result = run(composition, settings, "ais", seed, device)
        product_runs.append(
            (seed, color, result.fidelity(), color_success(result.final, reward), result.seconds)
        )
        bar.update()
    single_settings = replace(settings, steps=SINGLE_EXPERT_STEPS)
    singles = []
    for axis in AXES:
        off = []
        for seed in seeds:
            composition = build_composition(experts, [axis], None)
            result = run(composition, single_settings, "euler", seed, device)
            off.append(result.fidelity().off_sphere)
            bar.update()
        singles.append(SingleRow(axis, off))
    bar.close()
    return Report(ProductRow(product_runs), singles)
