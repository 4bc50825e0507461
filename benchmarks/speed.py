"""What a run costs, against the machine's own ceilings, measured in one process.

    .venv/bin/python benchmarks/speed.py            # the full report (a few minutes on a CPU)
    .venv/bin/python benchmarks/speed.py --quick    # fewer repeats, smaller scaling grid
    ... benchmarks/speed.py --reference ../wayfarer-product-of-experts  # and the published demo

Prints: the machine; the fp32 and bf16 matrix-product ceilings; which precision `auto`
picks and where oneDNN's fused layers are used; a default run (AIS, 8 particles x 512
points, 128 steps, 3 Langevin steps) ungrouped and grouped, in each precision and each
way of running the grouped layers (on the CPU: product then SiLU, or fused; on CUDA:
without and with CUDA graphs), with its seconds, steps/s, achieved GFLOP/s and share of
each ceiling; and how the cost grows with particles x points. With `--reference CHECKOUT`
the published demo's sampler (benchmarks/reference.py) is timed beside the classic run and
the default, at the same size, in this process.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import replace

import torch

from poe_engine.budget import preset_settings
from poe_engine.precision import bf16_speedup, resolve_precision
from poe_engine.reward import ColorReward
from poe_engine.runs import build_composition, build_experts, resolve_device
from poe_engine.samplers import SamplerSettings, ais
from poe_engine.stacked import fused_layers_available, fused_layers_pay

EXPERTS = ("x", "y", "z", "color")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return (f"{cpu_name()}, {torch.get_num_threads()} torch threads, "
            f"capability {torch.backends.cpu.get_cpu_capability()}")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ceiling(dtype: torch.dtype, device: torch.device, seconds: float = 1.0) -> float:
    """Best GFLOP/s of plain matrix products over a few shapes (the experts' among them)."""
    best = 0.0
    for m, k, n in ((4096, 256, 256), (32768, 256, 256), (2048, 2048, 2048)):
        a = torch.randn(m, k, device=device).to(dtype)
        b = torch.randn(k, n, device=device).to(dtype)
        a @ b
        sync(device)
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            a @ b
            reps += 1
        sync(device)
        best = max(best, 2 * m * k * n * reps / (time.perf_counter() - start) / 1e9)
    return best


def run_flop(settings: SamplerSettings, hidden: int = 256, depth: int = 3,
             calls: int | None = None) -> float:
    """Multiply-adds of the three axis MLPs over a run, x 2 (the time features folded):
    `calls` grouped expert calls (a run's `nfe`; by default the classic count, one ODE step
    and `langevin_steps` moves a level, which the scaling rows use)."""
    per_point = 2 * (3 * hidden + (depth - 1) * hidden * hidden + hidden)
    if calls is None:
        calls = settings.steps + (settings.steps - 1) * settings.langevin_steps
    return 3.0 * calls * settings.particles * settings.points * per_point


def count_calls(experts, settings: SamplerSettings, device) -> int:
    """The grouped expert calls of a run of `settings` (its last record's `nfe`)."""
    composition = build_composition(experts, EXPERTS, ColorReward("red"))
    *_, last = ais(composition, settings, seed=0, device=device)
    return int(last.nfe)


def new_against_classic(experts, device, repeats: int, reference=None) -> None:
    """The default run against the classic one (`--preset classic`), timed in turn in this
    process, with their expert calls: the cost that does not drift; and against the
    published demo's sampler (`reference`, a `ReferenceDemo`) when given."""
    rows = [("classic (128 levels x 3 Langevin)",
             SamplerSettings(**preset_settings("classic"))),
            ("default (the knee, docs/evaluations.md)", SamplerSettings())]
    print("\nthe default against the classic run (AIS, 8 x 512, the precision auto picks)")
    print("| run | grouped expert calls | MLP evaluations | seconds | x faster than classic |")
    print("| --- | --- | --- | --- | --- |")
    precision = resolve_precision("auto", device)
    times, calls_of = {}, {}
    for label, settings in rows:
        settings = replace(settings, precision=precision)
        calls = calls_of[label] = count_calls(experts, settings, device)
        times[label] = time_run(experts, settings, device, repeats)
        print(f"| {label} | {calls} | {3 * calls} | {times[label]:.2f} | "
              f"{times[rows[0][0]] / times[label]:.1f} |")
    if reference is not None:
        seconds, evaluations = reference.time_run(repeats=repeats)
        print(f"| published demo (128 levels x 3 seek steps, fp32; {reference.describe()}) "
              f"| – (not grouped) | {evaluations} | {seconds:.2f} | "
              f"{times[rows[0][0]] / seconds:.1f} |")
        print(f"the default is {seconds / times[rows[1][0]]:.1f}x faster than the published "
              f"demo, with {evaluations / (3 * calls_of[rows[1][0]]):.1f}x "
              "fewer MLP evaluations")


def time_run(experts, settings: SamplerSettings, device, repeats: int = 1,
             **evaluation) -> float:
    """Best wall time of a whole AIS run (every record consumed, device synchronised).
    `evaluation`: the composition's grouped / fused / graphs, where not the defaults."""
    best = float("inf")
    for seed in range(repeats):
        composition = build_composition(experts, EXPERTS, ColorReward("red"))
        for name, value in evaluation.items():
            setattr(composition, name, value)
        start = time.perf_counter()
        for record in ais(composition, settings, seed=seed, device=device):
            _ = record.ess  # what a consumer reads: the host waits for the step here
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reference", metavar="CHECKOUT",
                        help="a checkout of the published demo, timed beside ours")
    args = parser.parse_args()
    device = resolve_device(args.device)
    repeats = 1 if args.quick else 2
    experts = build_experts(None, device)

    print(f"machine: {machine(device)}; torch {torch.__version__}")
    ceilings = {"fp32": ceiling(torch.float32, device), "bf16": ceiling(torch.bfloat16, device)}
    print(f"matrix-product ceilings: fp32 {ceilings['fp32']:.0f} GFLOP/s, "
          f"bf16 {ceilings['bf16']:.0f} GFLOP/s")
    print(f"precision probe: bf16 products {bf16_speedup(str(device)):.2f}x fp32's; "
          f"auto picks {resolve_precision('auto', device)}")
    if device.type == "cpu":
        chosen = {name: "fused" if fused_layers_pay(dtype) else "product then SiLU"
                  for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
        print(f"layer probe: fp32 {chosen['fp32']}, bf16 {chosen['bf16']}")

    reference = None
    if args.reference:
        from reference import ReferenceDemo  # benchmarks/ is on the path as the script's own
        reference = ReferenceDemo(args.reference)
    new_against_classic(experts, device, repeats, reference)
    default = SamplerSettings(**preset_settings("classic"))  # layouts: on the long run
    flop = run_flop(default)
    print(f"\nclassic run (AIS, {default.particles} particles x {default.points} points, "
          f"{default.steps} steps, {default.langevin_steps} Langevin): {flop / 1e12:.2f} TFLOP")
    print("| evaluation | precision | seconds | steps/s | GFLOP/s | % fp32 ceiling "
          "| % bf16 ceiling |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, precision, evaluation in default_run_rows(device):
        settings = replace(default, precision=precision)
        seconds = time_run(experts, settings, device, repeats, **evaluation)
        rate = flop / seconds / 1e9
        print(f"| {label} | {precision} | {seconds:.2f} | {default.steps / seconds:.1f} | "
              f"{rate:.0f} | {100 * rate / ceilings['fp32']:.0f} % | "
              f"{100 * rate / ceilings['bf16']:.0f} % |")

    precision = resolve_precision("auto", device)
    steps = 4 if device.type == "cpu" else 32
    print(f"\nscaling ({precision}, grouped, {steps} steps, 3 Langevin): "
          "cost per level, and per thousand particle-points")
    print("| particles | points | s/level | GFLOP/s | % of the used ceiling | "
          "us per 1k particle-points per level |")
    print("| --- | --- | --- | --- | --- | --- |")
    grid = [(1, 512), (8, 512), (64, 512), (1, 4096), (8, 4096), (64, 4096)]
    if args.quick:
        grid = grid[:3] + grid[4:5]
    for particles, points in grid:
        settings = replace(default, particles=particles, points=points, steps=steps,
                           precision=precision)
        seconds = time_run(experts, settings, device)
        rate = run_flop(settings) / seconds / 1e9
        per_level = seconds / steps
        print(f"| {particles} | {points} | {per_level:.4f} | {rate:.0f} | "
              f"{100 * rate / ceilings[precision]:.0f} % | "
              f"{1e6 * per_level / (particles * points / 1000):.0f} |")
    if device.type != "cuda":
        print("\nCUDA: not available on this machine (graphs on/off not measured)")
    return 0


def default_run_rows(device: torch.device) -> list[tuple[str, str, dict]]:
    """(label, precision, composition settings) of the default runs to time, side by side."""
    if device.type == "cuda":
        ways = [("grouped, no graphs", {"graphs": False}), ("grouped, CUDA graphs", {})]
    else:
        ways = [("grouped, product then SiLU", {"fused": False})]
        if fused_layers_available():
            ways.append(("grouped, fused layers", {"fused": True}))
    rows = [("ungrouped (before)", "fp32", {"grouped": False})]
    for precision in ("fp32", "bf16"):
        rows += [(label, precision, evaluation) for label, evaluation in ways]
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
