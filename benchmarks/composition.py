"""The showcase compositions, measured: per composition and seed, the operator's own figure
(the share of points in a region, the particles per branch, the distance of the colour from
the one negated), the radial error and off-sphere share of the shown cloud, the moves'
acceptance and the expert calls spent (grouped evaluations of the axis experts: the cost
that does not drift between machines). AND into a region is run with ULA and with HMC.

    .venv/bin/python benchmarks/composition.py [--seeds 0-4] [--steps 64] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from poe_engine import stacked  # noqa: E402
from poe_engine.compose import build_mixture  # noqa: E402
from poe_engine.expression import branches, parse  # noqa: E402
from poe_engine.metrics import off_sphere_fraction, radial_error  # noqa: E402
from poe_engine.runs import build_experts, run  # noqa: E402
from poe_engine.samplers import SamplerSettings  # noqa: E402
from poe_engine.terms import RegionPotential  # noqa: E402

# (name, expression, kernel)
CASES = [
    ("a sphere with a hole", "sphere & color & red & !cap(z > 0.75)", "ula"),
    ("a ring", "sphere & color & red & band(z, 0.45, 0.55)", "ula"),
    ("a ring (HMC)", "sphere & color & red & band(z, 0.45, 0.55)", "hmc"),
    ("red | blue", "sphere & color & (red | blue)", "ula"),
    ("!green", "sphere & color & !green", "ula"),
    ("red & blue", "sphere & color & red & blue", "ula"),
    ("~green", "sphere & color & ~green", "ula"),
    ("sphere | torus", "(sphere | torus) & color & red", "ula"),
    ("AND into a region (ULA)", "sphere & color & red & cap(z > 0.75)", "ula"),
    ("AND into a region (HMC)", "sphere & color & red & cap(z > 0.75)", "hmc"),
]
GREEN = np.array([0.0, 1.0, 0.0])


class CallCounter:
    """Counts grouped evaluations of the axis experts (AxisFlowStack.velocities)."""

    def __init__(self) -> None:
        self.calls = 0
        self._original = stacked.AxisFlowStack.velocities

    def __enter__(self) -> CallCounter:
        counter = self

        def counted(stack, *args, **kwargs):
            counter.calls += 1
            return counter._original(stack, *args, **kwargs)

        stacked.AxisFlowStack.velocities = counted
        return self

    def __exit__(self, *_) -> None:
        stacked.AxisFlowStack.velocities = self._original


def figure(text: str, record) -> str:
    """The operator's own figure on the final step."""
    best = record.best.double().cpu()
    parts = branches(parse(text))
    regions = [(spec, w) for b in parts for spec, w in b.regions]
    if regions:
        spec, weight = regions[0]
        inside = float(RegionPotential.from_spec(spec, weight).inside(best[:, :3]).double().mean())
        return f"in {'NOT ' if weight < 0 else ''}region {100 * inside:.1f} %"
    if len(parts) > 1:
        labels = record.branch_labels.cpu().numpy()
        counts = "/".join(str(int((labels == k).sum())) for k in range(len(parts)))
        return f"particles per branch {counts}, shown: branch {int(labels[record.best_index])}"
    mean = best[:, 3:].mean(dim=0).numpy()
    return (f"mean colour ({mean[0]:.2f}, {mean[1]:.2f}, {mean[2]:.2f}), "
            f"distance from green {np.linalg.norm(mean - GREEN):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None, help="write the table here too")
    args = parser.parse_args()
    low, _, high = args.seeds.partition("-")
    seeds = range(int(low), int(high or low) + 1)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    experts = build_experts(None, "cpu")
    lines = [f"{len(seeds)} seeds ({args.seeds}), 8 particles x 512 points, {args.steps} "
             "steps, 3 moves a level, fp32; per composition: mean (worst) over the seeds",
             "", "| composition | kernel | seed | operator's figure | radial error | off-sphere "
             "| acceptance | expert calls | s |", "| --- | --- | --- | --- | --- | --- | --- | "
             "--- | --- |"]
    print("\n".join(lines), flush=True)
    for name, text, kernel in CASES:
        for seed in seeds:
            settings = SamplerSettings(steps=args.steps, precision="fp32", kernel=kernel,
                                       keep_particles=False)
            mixture = build_mixture(text, experts)
            start = time.perf_counter()
            with CallCounter() as counter:
                result = run(mixture, settings, seed=seed)
            seconds = time.perf_counter() - start
            last = result.records[-1]
            acceptance = [float(r.acceptance) for r in result.records
                          if not math.isnan(float(r.acceptance))]
            cell = name.replace("|", "\\|")  # a | inside a Markdown table's cell
            line = (f"| {cell} | {kernel} | {seed} | {figure(text, last)} | "
                    f"{float(radial_error(last.best)):.4f} | "
                    f"{100 * float(off_sphere_fraction(last.best)):.1f} % | "
                    f"{(sum(acceptance) / len(acceptance)) if acceptance else float('nan'):.3f} | "
                    f"{counter.calls} | {seconds:.1f} |")
            print(line, flush=True)
            lines.append(line)
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
