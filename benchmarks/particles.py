"""The particle system, measured: reward schedules and moves, and ULA against MALA.

    python benchmarks/particles.py                      # seeds 0-9 x red/green/blue
    python benchmarks/particles.py --seeds 0-2 --kappas 0.05,0.25,0.5 --kernel-seeds 0-1
    python benchmarks/particles.py --schedules constant,adaptive:0.8 --moves tilted

Table 1, per schedule (constant, linear, adaptive at a target: `adaptive:0.8`) and moves
(blind, tilted): median ESS over each run's steps (median over runs, and the worst run),
resamplings per run, colour success, and the fidelity bars of docs/fidelity.md (mean
over runs). Table 2, per kernel, kappa and moves: mean acceptance over the levels (where
the kernel tests its moves) and the same fidelity figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace

import torch

from poe_engine.evaluation import PRODUCT_BARS
from poe_engine.metrics import color_success, fidelity
from poe_engine.reward import ColorReward
from poe_engine.runs import build_composition, build_experts, resolve_device
from poe_engine.samplers import MOVES, SCHEDULES, SamplerSettings, ais


def _ints(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(v) for v in text.split(",")]


def schedule_settings(base: SamplerSettings, text: str) -> tuple[str, SamplerSettings]:
    """'adaptive:0.8' -> ('adaptive (target 0.8)', settings); 'linear' -> ('linear', ...)."""
    name, _, target = text.partition(":")
    if not target:
        label = (f"{name} (target {base.schedule_target:g})" if name == "adaptive" else name)
        return label, replace(base, schedule=name)
    return f"{name} (target {float(target):g})", replace(base, schedule=name,
                                                         schedule_target=float(target))


def measure(experts, settings, seeds, colors, device) -> dict:
    rows = []
    for seed in seeds:
        for color in colors:
            reward = ColorReward(color)
            records = list(ais(build_composition(experts, experts, reward), settings, seed,
                               device))
            final = records[-1].best
            acc = [float(r.acceptance) for r in records]
            acc = [a for a in acc if a == a]
            rows.append({"ess": statistics.median(r.ess for r in records),
                         "resampled": sum(r.resampled for r in records),
                         "success": color_success(final, reward),
                         "acceptance": statistics.mean(acc) if acc else float("nan"),
                         **fidelity(final).as_dict()})
            print(f"  seed {seed} {color}: median ESS {rows[-1]['ess']:.2f}, resampled "
                  f"{rows[-1]['resampled']}, success {rows[-1]['success']}, Chamfer "
                  f"{rows[-1]['chamfer']:.4f}", file=sys.stderr, flush=True)
    n = len(rows)
    out = {"runs": n, "ess_median": statistics.median(r["ess"] for r in rows),
           "ess_worst": min(r["ess"] for r in rows),
           "resampled": statistics.mean(r["resampled"] for r in rows),
           "success": sum(r["success"] for r in rows),
           "acceptance": statistics.mean(r["acceptance"] for r in rows)}
    for key in PRODUCT_BARS:
        out[key] = statistics.mean(r[key] for r in rows)
    out["bars"] = all(out[k] <= bar for k, bar in PRODUCT_BARS.items())
    return out


def fidelity_cells(m: dict) -> str:
    return (f"{m['radial_error']:.4f} | {100 * m['off_sphere']:.2f} % | {m['chamfer']:.4f} | "
            f"{m['color_spread']:.4f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=_ints, default=list(range(10)))
    p.add_argument("--colors", default="red,green,blue")
    p.add_argument("--particles", type=int, default=8)
    p.add_argument("--points", type=int, default=512)
    p.add_argument("--steps", type=int, default=128)
    p.add_argument("--schedules", default=",".join(SCHEDULES),
                   help="comma list; adaptive:T for the adaptive schedule at target T")
    p.add_argument("--moves", default=",".join(MOVES), help="comma list of blind,tilted")
    p.add_argument("--kappas", default="0.05,0.25,0.5", help="for ULA against MALA")
    p.add_argument("--kernel-seeds", type=_ints, default=[0, 1])
    p.add_argument("--kernel-schedule", default=None,
                   help="as in --schedules; default: SamplerSettings'")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    device = resolve_device(args.device)
    experts = build_experts(None, device)
    colors = args.colors.split(",")
    base = SamplerSettings(particles=args.particles, points=args.points, steps=args.steps)
    print(f"{args.particles} particles x {args.points} points x {args.steps} steps, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    moves = args.moves.split(",")
    if args.schedules:
        print(f"\nSchedules, seeds {','.join(map(str, args.seeds))} x {'/'.join(colors)}:")
        print("\n| schedule | moves | median ESS (worst run) | resamplings / run | colour success "
              "| radial error | off-sphere | Chamfer | colour spread | all bars |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for text in args.schedules.split(","):
            for move in moves:
                label, settings = schedule_settings(replace(base, moves=move), text)
                start = time.perf_counter()
                m = measure(experts, settings, args.seeds, colors, device)
                print(f"| {label} | {move} | {m['ess_median']:.2f} ({m['ess_worst']:.2f}) of "
                      f"{args.particles} | {m['resampled']:.1f} of {args.steps} | "
                      f"{m['success']} of {m['runs']} | {fidelity_cells(m)} | "
                      f"{'yes' if m['bars'] else 'no'} | "
                      f"<!-- {time.perf_counter() - start:.0f} s -->", flush=True)
    if args.kappas:
        kb = base
        if args.kernel_schedule:
            _, kb = schedule_settings(base, args.kernel_schedule)
        print(f"\nULA against MALA ({kb.schedule} schedule, target {kb.schedule_target:g}), "
              f"seeds {','.join(map(str, args.kernel_seeds))} x {'/'.join(colors)}:")
        print("\n| kernel | moves | kappa | acceptance | median ESS | colour success | "
              "radial error | off-sphere | Chamfer | colour spread |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for kappa in (float(k) for k in args.kappas.split(",")):
            for kernel in ("ula", "mala"):
                for move in moves:
                    m = measure(experts, replace(kb, kernel=kernel, kappa=kappa, moves=move),
                                args.kernel_seeds, colors, device)
                    acc = "-" if m["acceptance"] != m["acceptance"] else f"{m['acceptance']:.3f}"
                    print(f"| {kernel} | {move} | {kappa:g} | {acc} | {m['ess_median']:.2f} | "
                          f"{m['success']} of {m['runs']} | {fidelity_cells(m)} |", flush=True)

if __name__ == "__main__":
    main()
