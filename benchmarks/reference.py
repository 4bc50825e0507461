"""The published demo's sampler, timed on this machine beside ours (`speed.py --reference`).

The demo of *Product of Experts for Visual Generation* (a checkout of
github.com/Wayfarer-Labs/wayfarer-product-of-experts, given as a folder) is imported and
run as it is published: its `annealed_importance_sampling` over its three axis experts and
its analytic colour expert, with its red reward. Nothing of it is copied here. Its expert
checkpoints are read when the checkout has them (`torch.load(weights_only=True)`: tensors
only); the time does not depend on the weights' values, so random ones stand in otherwise.
Its network calls are counted by wrapping each expert's `calculate_velocity`: its Langevin
moves make none (see docs/sampler.md), so a level costs one call of each axis expert.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

import torch

NEURAL = ("x", "y", "z")


class ReferenceDemo:
    """The demo's experts and sampler, loaded from `checkout`."""

    def __init__(self, checkout: str | Path) -> None:
        self.checkout = Path(checkout).resolve()
        if not (self.checkout / "src" / "samplers.py").is_file():
            raise SystemExit(f"--reference {checkout}: no src/samplers.py there; give a "
                             "checkout of github.com/Wayfarer-Labs/wayfarer-product-of-experts")
        sys.path.insert(0, str(self.checkout))
        experts = importlib.import_module("src.experts")
        self.sample = importlib.import_module("src.samplers").annealed_importance_sampling
        self.neural = [experts.GenerativeExpert_Axis(axis=a) for a in NEURAL]
        self.loaded = 0
        for expert in self.neural:
            checkpoint = self.checkout / "checkpoints" / f"{expert.name}.pt"
            if checkpoint.is_file():
                state = torch.load(checkpoint, weights_only=True, map_location="cpu")
                expert.load_state_dict(state)
                self.loaded += 1
        self.generative = [*self.neural, experts.AnalyticExpert_Monochrome()]
        self.reward = experts.DiscriminativeExpert_Color(color="r")
        self.calls = 0
        for expert in self.neural:
            expert.calculate_velocity = self._counted(expert.calculate_velocity)

    def _counted(self, velocity):
        def counted(*args, **kwargs):
            self.calls += 1
            return velocity(*args, **kwargs)
        return counted

    def time_run(self, particles: int = 8, points: int = 512, steps: int = 128,
                 seek_steps: int = 3, repeats: int = 1) -> tuple[float, int]:
        """Best wall time of a whole run in fp32 (the demo's precision), and the MLP
        evaluations one run made."""
        best = float("inf")
        for seed in range(repeats):
            torch.manual_seed(seed)
            self.calls = 0
            start = time.perf_counter()
            self.sample(self.generative, [self.reward], n_particles=particles,
                        n_points=points, n_denoise_steps=steps, n_seek_steps=seek_steps,
                        return_trajectory=True)
            best = min(best, time.perf_counter() - start)
        return best, self.calls

    def describe(self) -> str:
        weights = ("its checkpoints" if self.loaded == len(self.neural)
                   else "random weights (no checkpoints in the checkout)")
        return f"{self.checkout.name}, {weights}"
