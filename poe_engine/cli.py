"""The engine's command line: `poe-engine sample | evaluate | train`. Its options are
parsed by `options.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

from . import steering
from .budget import preset_settings
from .compose import compose_steering
from .errors import InputError, OutputError, one_line
from .exports import save_config, trajectory_meta, write_ply
from .options import (
    EXIT_FAILURE,
    EXIT_USAGE,
    Parser,
    UsageError,
    add_config_option,
    add_precision_option,
    add_preset_option,
    add_sampler_options,
    color_list,
    folder_path,
    number,
    parse_with_config,
    replay_setup,
    resolve_device,
    say_device,
    seed_list,
    settings_from,
)
from .paths import check_output_path
from .precision import resolve_precision
from .runs import OUT_OF_MEMORY, build_experts, run
from .samplers import SamplerError, SamplerSettings
from .weights import DEFAULT_DIR, WeightsError
from .world import SEED_RANGE


def cmd_sample(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    # Every output is checked (and its folder created) before the run, not after it.
    out = check_output_path("--out", args.out, (".npz",))
    ply = None if args.ply is None else check_output_path("--ply", args.ply, (".ply",))
    saved_config = (None if args.save_config is None
                    else check_output_path("--save-config", args.save_config, (".json",)))
    device = resolve_device(args.device, "poe-engine sample")
    experts = build_experts(args.weights, device)
    config, composition, events = replay_setup(args, experts, device)
    # the precision and layers resolved once, as recorded: the run measures nothing more
    settings = replace(settings, precision=config["precision"], layers=config["layers"],
                       keep_particles=args.save_particles)
    say_device(args.device, device)
    # a progress bar on a terminal; nothing when stderr is piped or a file
    result = run(composition, settings, args.sampler, args.seed, device, events=events,
                 progress=sys.stderr.isatty())
    # What the run did (so a replay computes the same numbers): the .npz meta, a superset
    # of the configuration, which --config reads back.
    config = (composed_config(config, result.records) if config.get("compose")
              else steering.config_from_records(config, result.records))
    result.meta = trajectory_meta(config, len(result.records)) | cost_meta(result.records)
    writes = [(out, lambda path: result.save_npz(path, args.save_particles))]
    if ply is not None:
        writes.append((ply, lambda path: write_ply(path, result.final)))
    if saved_config is not None:
        writes.append((saved_config, lambda path: save_config(path, config)))
    for path, write in writes:
        try:
            write(path)
        except OSError as err:
            print(f"poe-engine sample: cannot write {path}: {err.strerror or err}",
                  file=sys.stderr)
            return EXIT_FAILURE
    fid = result.fidelity()
    changes = len(config["steering"])
    what = (f"compose {config['compose']}" if config.get("compose")
            else f"experts {config['experts']} | reward {config['reward']}")
    print(f"{args.sampler} | {what} | "
          + (f"{changes} steering change{'s' * (changes != 1)} | " if changes else "")
          + f"seed {args.seed} | {settings.particles} particles x {settings.points} points | "
          f"{settings.steps} steps | {result.meta['nfe']} expert calls "
          f"({result.meta['mlp_evaluations']} MLP evaluations) | "
          f"{result.seconds:.1f} s on {device}")
    print(fid.line())
    print(particle_line(result.records))
    print("wrote " + ", ".join(str(path) for path, _ in writes))
    return 0


def cost_meta(records) -> dict:
    """What the run spent on the experts: `nfe`, its grouped expert calls, and
    `mlp_evaluations`, the neural experts' forward passes (`product.Cost`)."""
    last = records[-1] if records else None
    return {"nfe": getattr(last, "nfe", 0), "mlp_evaluations": getattr(last, "evaluations", 0)}


def composed_config(config: dict, records) -> dict:
    """A composed run's configuration, rewritten to say what it did: the precision that ran
    and the expressions put in force later (its controls' steering stays empty)."""
    changes = compose_steering(records)
    return dict(config) | {"precision": records[0].precision, "steering": []} | (
        {"compose_steering": changes} if changes else {})


def particle_line(records) -> str:
    """The particle system of a run in one line: median ESS, resamplings, log Z, and the
    mean acceptance where the moves were tested (MALA, or tilted moves)."""
    ess = sorted(r.ess for r in records)
    acceptance = [a for a in (float(r.acceptance) for r in records) if a == a]
    return (f"median ESS {ess[len(ess) // 2]:.2f} of {len(records[0].log_weights)} | "
            f"resampled at {sum(r.resampled for r in records)} of {len(records)} steps | "
            f"log Z {float(records[-1].log_z):.3f}"
            + (f" | acceptance {sum(acceptance) / len(acceptance):.3f}" if acceptance else ""))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    if args.json:
        check_output_path("--json", args.json)
    device = resolve_device(args.device, "poe-engine evaluate")
    experts = build_experts(args.weights, device)
    precision = resolve_precision(args.precision, device)
    preset = preset_settings(args.preset) if args.preset else {}
    say_device(args.device, device)
    report = evaluate(experts, args.seeds, args.colors.split(","),
                      settings=SamplerSettings(precision=precision, **preset), device=device,
                      progress=not args.quiet)
    print(report.markdown())
    print(f"mean wall time of one product run: {report.product.seconds:.1f} s on {device} "
          f"({precision})")
    failures = report.failures()
    print("all bars hold" if not failures else "bars missed: " + "; ".join(failures))
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    if args.record:
        from .weights import update_manifest_metrics

        update_manifest_metrics(args.weights, report.as_dict())
        print(f"recorded in {args.weights}")
    return 0 if not failures else EXIT_FAILURE


def cmd_train(args: argparse.Namespace) -> int:
    from .evaluation import evaluate
    from .training import TrainRecipe, train_axis_experts
    from .weights import save_experts, update_manifest_metrics

    recipe = TrainRecipe(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed)
    check_output_path("--out", args.out, folder=True)
    device = resolve_device(args.device, "poe-engine train")
    say_device(args.device, device)
    nets, final_loss, seconds = train_axis_experts(recipe, device, progress=not args.quiet)
    try:
        save_experts(args.out, nets, recipe.to_dict() | {"device": str(device),
                     "seconds": round(seconds, 1)}, final_loss)
    except OSError as err:
        print(f"poe-engine train: cannot write to {args.out}: {err}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"trained in {seconds:.0f} s on {device}; final loss "
          + ", ".join(f"{a} {v:.4f}" for a, v in final_loss.items()))
    if args.eval_seeds:
        experts = build_experts(args.out, device)
        report = evaluate(experts, args.eval_seeds, device=device, progress=not args.quiet)
        update_manifest_metrics(args.out, report.as_dict())
        print(report.markdown())
    print(f"wrote {args.out}")
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="poe-engine", description="Product-of-Experts point-cloud sampler.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("sample", help="run a sampler and write an .npz trajectory")
    add_sampler_options(p)
    add_preset_option(p)
    add_config_option(p)
    p.add_argument("--out", default="run.npz", help="output .npz (default run.npz)")
    p.add_argument("--ply", metavar="PATH", help="also write the final cloud as a .ply")
    p.add_argument("--save-config", metavar="PATH",
                   help="also write the run's configuration as .json, for --config")
    p.add_argument("--save-particles", action="store_true",
                   help="also keep the final population in the .npz: every particle's cloud "
                        "(final_particles, L x N x 6) and its log-weight (final_log_weights)")
    p.set_defaults(func=cmd_sample)
    parser.commands["sample"] = p

    p = sub.add_parser("evaluate", help="run the fidelity table (docs/fidelity.md)")
    p.add_argument("--seeds", type=seed_list, default=list(range(10)), help="e.g. 0-9 or 0,1")
    p.add_argument("--colors", type=color_list, default="red,green,blue")
    add_preset_option(p)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    add_precision_option(p)
    p.add_argument("--weights", type=folder_path, default=DEFAULT_DIR)
    p.add_argument("--json", help="also write the numbers to this JSON file")
    p.add_argument("--record", action="store_true",
                   help="store the numbers in the weights' manifest")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="train the three axis experts by flow matching")
    p.add_argument("--steps", type=number(1, 10**6, integer=True), default=3000)
    p.add_argument("--batch", type=number(1, 2**20, integer=True), default=4096)
    p.add_argument("--lr", type=number(1e-8, 1.0), default=2e-3)
    p.add_argument("--seed", type=number(*SEED_RANGE, integer=True), default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--out", type=folder_path, default=DEFAULT_DIR,
                   help="folder for weights + manifest")
    p.add_argument("--eval-seeds", type=seed_list, default=[0, 1],
                   help="seeds of the fidelity check stored in the manifest ('' for none)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done; 2 bad input (the command line, a --config file), one line;
    1 a run that cannot be done (weights, an output that cannot be written, a sampler
    failure), one line. Any other exception, a ValueError included, is a bug: it is not
    caught here, so its traceback shows."""
    try:
        parser = build_parser()
        args = parse_with_config(parser, argv, parser.commands["sample"])
        return args.func(args)
    except UsageError as err:
        print(one_line(err), file=sys.stderr)
        return EXIT_USAGE
    except InputError as err:  # invalid settings found after parsing
        print(f"poe-engine: error: {one_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except (WeightsError, SamplerError, OutputError) as err:
        print(f"poe-engine: error: {one_line(err)}", file=sys.stderr)
        return EXIT_FAILURE
    except torch.cuda.OutOfMemoryError:
        print(f"poe-engine: error: {OUT_OF_MEMORY}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("poe-engine: interrupted", file=sys.stderr)
        return 130
