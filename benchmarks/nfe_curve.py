"""Fidelity against expert evaluations (issue 21): the cost curve of the sampler's options.

    python benchmarks/nfe_curve.py                         # every cell, seeds 0-2 x r/g/b
    python benchmarks/nfe_curve.py --cells classic,default --seeds 0-9
    python benchmarks/nfe_curve.py --render                # table and plot from the store
    python benchmarks/nfe_curve.py --time classic,default  # wall time of a few cells

A cell is a set of SamplerSettings (levels, moves per level, time grid, kernel,
colour-only moves); it runs every seed x colour (red, green, blue) and reports, mean over
the runs: grouped expert calls (`nfe`, what the sampler counts, `product.Cost`) and MLP
evaluations, radial error, off-sphere fraction (and the worst run's), Chamfer distance,
colour successes, colour margin (the reward's channel of the mean colour minus the largest
other channel), median ESS (median over runs of each run's median over the levels) and the
mean acceptance of the tested moves. Evaluations are the cost measure: they do not drift
with the machine's load; wall time does, so `--time` reports it apart, side by side.

Results are stored per cell and seed set in docs/nfe-curve.json (a re-run of a cell
replaces its entry), and every run renders the table into docs/evaluations.md (between its
`<!-- nfe-curve -->` markers) and the plot docs/nfe-curve.png (fidelity and colour margin
against evaluations, log x).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

from poe_engine.budget import PRESETS
from poe_engine.metrics import color_success, fidelity, mean_color
from poe_engine.reward import ColorReward
from poe_engine.runs import build_composition, build_experts, resolve_device
from poe_engine.samplers import SamplerSettings, ais

DOCS = Path(__file__).resolve().parent.parent / "docs"
STORE = DOCS / "nfe-curve.json"
BEGIN, END = "<!-- nfe-curve -->", "<!-- /nfe-curve -->"
CLASSIC = PRESETS["classic"]
ZERO = {"colour_moves": 0, "langevin_steps": 0}

# name -> settings (over the classic preset, so that a cell says all it changes). The
# store keeps the results of cells since dropped with what they measured (Heun's step, a
# grid crowded near t = 1): docs/evaluations.md says why.
CELLS: dict[str, dict] = {
    "classic": {},  # 128 x 3: the default before issue 21
    "euler 64x3": {"steps": 64},
    "euler 32x3": {"steps": 32},
    "euler 16x3": {"steps": 16},
    "euler 16x1": {"steps": 16, "langevin_steps": 1},
    "euler 8x3": {"steps": 8},
    "euler 16x0": {"steps": 16, **ZERO},
    "euler 32x0": {"steps": 32, **ZERO},
    "euler 8 +c8": {"steps": 8, **ZERO, "colour_moves": 8},
    "euler 12 +c8": {"steps": 12, **ZERO, "colour_moves": 8},
    "euler 16 +c4": {"steps": 16, **ZERO, "colour_moves": 4},
    "16 +c8": {"steps": 16, **ZERO, "colour_moves": 8},
    "euler 24 +c8": {"steps": 24, **ZERO, "colour_moves": 8},
    "cosine 16 +c8": {"steps": 16, **ZERO, "colour_moves": 8, "time_grid": "cosine"},
    "quadratic 16 +c8": {"steps": 16, **ZERO, "colour_moves": 8, "time_grid": "quadratic"},
    "default (16 +c8 +L1 t<=0.25)": {"steps": 16, "langevin_steps": 1, "langevin_from": 0.25,
                                   "colour_moves": 8},
    "16 +c8 +L3 t<=0.125": {"steps": 16, "langevin_steps": 3, "langevin_from": 0.125,
                                    "colour_moves": 8},
    "12 +c8 +L1 t<=0.25": {"steps": 12, "langevin_steps": 1, "langevin_from": 0.25,
                                   "colour_moves": 8},
    "euler 20 +c8": {"steps": 20, **ZERO, "colour_moves": 8},
    "mala 16x1 +c8": {"steps": 16, "langevin_steps": 1, "kernel": "mala", "colour_moves": 8},
}


def settings_of(name: str, precision: str) -> SamplerSettings:
    return SamplerSettings(**(CLASSIC | CELLS[name]), precision=precision)


def measure(experts, settings: SamplerSettings, seeds, device) -> dict:
    runs = []
    for seed in seeds:
        for colour in ("red", "green", "blue"):
            reward = ColorReward(colour)
            start = time.perf_counter()
            records = list(ais(build_composition(experts, experts, reward), settings, seed,
                               device))
            seconds = time.perf_counter() - start
            final = records[-1].best
            fid = fidelity(final)
            m = mean_color(final).tolist()
            target = ("red", "green", "blue").index(colour)
            acc = [a for a in (float(r.acceptance) for r in records) if a == a]
            runs.append({"seed": seed, "colour": colour, "radial": fid.radial_error,
                         "off": fid.off_sphere, "chamfer": fid.chamfer,
                         "success": color_success(final, reward),
                         "margin": m[target] - max(v for i, v in enumerate(m) if i != target),
                         "ess": statistics.median(r.ess for r in records),
                         "acceptance": sum(acc) / len(acc) if acc else math.nan,
                         "nfe": records[-1].nfe, "mlp": records[-1].evaluations,
                         "seconds": seconds})
    mean = lambda key: sum(r[key] for r in runs) / len(runs)  # noqa: E731
    return {"runs": len(runs), "seeds": f"{min(seeds)}-{max(seeds)}", "nfe": runs[0]["nfe"],
            "mlp": runs[0]["mlp"], "radial": mean("radial"), "off": mean("off"),
            "off_worst": max(r["off"] for r in runs), "chamfer": mean("chamfer"),
            "success": sum(r["success"] for r in runs), "margin": mean("margin"),
            "margin_least": min(r["margin"] for r in runs),
            "ess": statistics.median(r["ess"] for r in runs),
            "acceptance": mean("acceptance"), "seconds": mean("seconds"),
            "settings": {k: v for k, v in settings.to_dict().items()
                         if k in CLASSIC or k == "kernel"}}


def markdown(store: dict) -> str:
    lines = ["| cell | seeds | grouped calls | MLP evaluations | radial | off-sphere (worst) | "
             "Chamfer | colour | margin (least) | median ESS | acceptance |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, r in sorted(store.items(), key=lambda kv: (-kv[1]["nfe"], kv[0])):
        name = key.split(" @ ")[0]
        acc = "" if r["acceptance"] != r["acceptance"] else f"{r['acceptance']:.2f}"
        lines.append(
            f"| {name} | {r['seeds']} | {r['nfe']} | {r['mlp']} | {r['radial']:.4f} | "
            f"{100 * r['off']:.2f} % ({100 * r['off_worst']:.2f} %) | {r['chamfer']:.4f} | "
            f"{r['success']}/{r['runs']} | {r['margin']:.3f} ({r['margin_least']:.3f}) | "
            f"{r['ess']:.2f} | {acc} |")
    return "\n".join(lines) + "\n"


def plot(store: dict, path: Path) -> None:
    """Radial error x 100, off-sphere % and colour margin against MLP evaluations (log x),
    seeds 0-2 cells, drawn with Pillow (no plotting library is a dependency)."""
    from PIL import Image, ImageDraw

    width, height, left, right, top, bottom = 900, 520, 70, 230, 40, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    cells = [(k.split(" @ ")[0], r) for k, r in store.items() if r["seeds"] == "0-2"]
    if not cells:
        return
    lo, hi = math.log10(10), math.log10(2000)
    x_of = lambda e: left + (math.log10(max(e, 10)) - lo) / (hi - lo) * (width - left - right)  # noqa: E731
    y_of = lambda v: height - bottom - min(max(v, 0), 2.0) / 2.0 * (height - top - bottom)  # noqa: E731
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for e in (10, 30, 100, 300, 1000):
        draw.line([x_of(e), height - bottom, x_of(e), height - bottom + 5], fill="black")
        draw.text((x_of(e) - 10, height - bottom + 8), str(e), fill="black")
    for v in (0.0, 0.5, 1.0, 1.5, 2.0):
        draw.line([left - 5, y_of(v), left, y_of(v)], fill="black")
        draw.text((left - 35, y_of(v) - 6), f"{v:.1f}", fill="black")
    draw.text((left + 150, height - 25), "MLP evaluations (log scale)", fill="black")
    draw.text((left, 10), "issue 21: fidelity against expert evaluations, seeds 0-2 x r/g/b",
              fill="black")
    series = [("radial error x 100", lambda r: 100 * r["radial"], (200, 30, 30)),
              ("off-sphere %", lambda r: 100 * r["off"], (30, 30, 200)),
              ("colour margin", lambda r: r["margin"], (20, 140, 20))]
    for i, (label, value, colour) in enumerate(series):
        for name, r in cells:
            x, y = x_of(r["mlp"]), y_of(value(r))
            marked = name.startswith(("classic", "default"))
            size = 6 if marked else 3
            draw.ellipse([x - size, y - size, x + size, y + size], fill=colour,
                         outline="black" if marked else colour)
        draw.rectangle([width - right + 15, top + 20 * i, width - right + 25, top + 20 * i + 10],
                       fill=colour)
        draw.text((width - right + 30, top + 20 * i - 1), label, fill="black")
    draw.text((width - right + 15, top + 70), "outlined: classic (old default)", fill="black")
    draw.text((width - right + 15, top + 85), "and the new default", fill="black")
    image.save(path)


def render() -> None:
    store = json.loads(STORE.read_text()) if STORE.exists() else {}
    page = DOCS / "evaluations.md"
    if page.exists():
        text = page.read_text()
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        if tail or END in rest:
            page.write_text(head + BEGIN + "\n" + markdown(store) + END + tail)
    plot(store, DOCS / "nfe-curve.png")
    print(markdown(store))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", default=",".join(CELLS), help="comma list of cell names")
    p.add_argument("--seeds", default="0-2", help="e.g. 0-2 or 0-9")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--render", action="store_true", help="only render the stored results")
    p.add_argument("--time", metavar="CELLS", help="wall time of one run per cell, seed 0")
    args = p.parse_args(argv)
    if args.render:
        render()
        return 0
    low, _, high = args.seeds.partition("-")
    seeds = list(range(int(low), int(high or low) + 1))
    device = resolve_device("cpu")
    experts = build_experts(None, device)
    if args.time:
        for name in args.time.split(","):
            s = settings_of(name, args.precision)
            start = time.perf_counter()
            records = list(ais(build_composition(experts, experts, ColorReward("red")), s, 0,
                               device))
            print(f"{name}: {records[-1].nfe} calls, {time.perf_counter() - start:.2f} s")
        return 0
    for name in args.cells.split(","):
        if name not in CELLS:
            print(f"unknown cell {name!r}", file=sys.stderr)
            return 2
        result = measure(experts, settings_of(name, args.precision), seeds, device)
        store = json.loads(STORE.read_text()) if STORE.exists() else {}
        store[f"{name} @ {result['seeds']}"] = result
        STORE.write_text(json.dumps(store, indent=1) + "\n")
        print(markdown({name: result}).splitlines()[-1], flush=True)
    render()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
