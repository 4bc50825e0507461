"""The engine's command line: `poe-engine sample | evaluate | train`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from . import steering
from .errors import InputError, OutputError, number_problem, one_line, shown
from .experts import MAX_STRENGTH, ColorReward, parse_color, parse_experts
from .exports import load_config, save_config, trajectory_meta, write_ply
from .paths import check_output_path
from .precision import PRECISIONS, resolve_precision
from .runs import (
    OUT_OF_MEMORY,
    build_experts,
    check_checksums,
    checksums,
    composition_for,
    run,
)
from .runs import resolve_device as _resolve_device
from .samplers import (
    KERNELS,
    MOVES,
    RESAMPLING,
    SAMPLERS,
    SCHEDULES,
    WEIGHTING,
    SamplerError,
    SamplerSettings,
)
from .spec import (
    BEFORE_THE_KEY,
    CONFIG_KEYS,
    DEVICES,
    RUN_KEYS,
    SETTINGS_KEYS,
    RunSpec,
    config_from_args,
)
from .weights import DEFAULT_DIR, WeightsError
from .world import SEED_RANGE

EXIT_USAGE = 2
EXIT_FAILURE = 1


class UsageError(Exception):
    """Invalid arguments: reported as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, Parser] = {}  # subcommand parsers, for parse_with_config

    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


MAX_SEEDS = 1000  # seeds one `evaluate` or `train --eval-seeds` may list


def number(low: float, high: float, integer: bool = False) -> Callable[[str], int | float]:
    """An argparse `type`: a number (an integer when `integer`) in [low, high], else an
    ArgumentTypeError that says the range (argparse names the option)."""

    def parse(text: str) -> int | float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:  # not a number (or an int of more digits than Python reads)
            kind = "an integer" if integer else "a number"
            raise argparse.ArgumentTypeError(f"must be {kind}, got {shown(text)}") from None
        problem = number_problem(value, low, high, integer)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def _seeds(text: str) -> list[int]:
    """'0-9' or '0,3,5' -> list of ints (at most MAX_SEEDS, each a valid seed)."""
    try:
        if "-" in text.strip("-"):
            lo, hi = text.split("-", 1)
            low, high = int(lo), int(hi)
            if high - low + 1 > MAX_SEEDS:
                raise argparse.ArgumentTypeError(f"at most {MAX_SEEDS} seeds, got {shown(text)}")
            seeds = list(range(low, high + 1))
        else:
            seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seeds {shown(text)}: use 0-9 or 0,3,5") from None
    if len(seeds) > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"at most {MAX_SEEDS} seeds, got {len(seeds)}")
    for seed in seeds:
        problem = number_problem(seed, *SEED_RANGE, integer=True)
        if problem is not None:
            raise argparse.ArgumentTypeError(f"each seed {problem}")
    return seeds


def _reward(text: str) -> str:
    if text.lower() != "none":
        try:
            parse_color(text)
        except InputError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _colors(text: str) -> str:
    for color in text.split(","):
        try:
            parse_color(color)
        except InputError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _experts(text: str) -> str:
    try:
        return ",".join(parse_experts(text)) or "none"
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def resolve_device(name: str):
    return _resolve_device(name, lambda msg: print(f"poe-engine: warning: {msg}", file=sys.stderr))


def add_sampler_options(p: argparse.ArgumentParser) -> None:
    """The options of `poe-engine sample`, shared with other front ends. Their dests, less
    `weights`, are the keys of a run configuration (`spec.CONFIG_KEYS`); its other keys
    (`spec.RUN_KEYS`) are attributes too, None unless a --config file gives them."""
    d = SamplerSettings()
    limit = SamplerSettings.LIMITS
    p.add_argument("--sampler", choices=sorted(SAMPLERS), default="ais")
    p.add_argument("--experts", type=_experts, default="x,y,z,color",
                   help="comma list of x,y,z,color, or none")
    p.add_argument("--reward", type=_reward, default="red",
                   help="red | green | blue | white | a CSS colour name (orange) | #RRGGBB | none")
    p.add_argument("--strength", type=number(0.0, MAX_STRENGTH), default=300.0,
                   help=f"reward strength, 0 to {MAX_STRENGTH:g}")
    p.add_argument("--seed", type=number(*SEED_RANGE, integer=True), default=0,
                   help="0 to 2**64 - 1")
    p.add_argument("--particles", type=number(*limit["particles"], integer=True),
                   default=d.particles)
    p.add_argument("--points", type=number(*limit["points"], integer=True), default=d.points)
    p.add_argument("--steps", type=number(*limit["steps"], integer=True), default=d.steps,
                   help="denoising steps")
    p.add_argument("--langevin", type=number(*limit["langevin_steps"], integer=True),
                   default=d.langevin_steps, help="Langevin steps/level")
    p.add_argument("--kappa", type=number(*limit["kappa"]), default=d.kappa,
                   help="Langevin step, x level noise^2")
    p.add_argument("--ode-scale", type=number(*limit["ode_scale"]), default=d.ode_scale)
    p.add_argument("--ess-threshold", type=number(*limit["ess_threshold"]),
                   default=d.ess_threshold)
    p.add_argument("--resampling", choices=RESAMPLING, default=d.resampling)
    p.add_argument("--weighting", choices=WEIGHTING, default=d.weighting,
                   help="incremental (exact SMC) | potential (the reference demo's) | paper "
                        "(the paper's Algorithm 1)")
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                   help="the reward's scale over the levels, full at t = 0")
    p.add_argument("--schedule-target", type=number(*limit["schedule_target"]),
                   default=d.schedule_target,
                   help="adaptive schedule: keep the increment's conditional ESS >= this x L")
    p.add_argument("--resample-every", type=number(*limit["resample_every"], integer=True),
                   default=d.resample_every, help="also resample every k levels (0: off)")
    p.add_argument("--kernel", choices=KERNELS, default=d.kernel,
                   help="Langevin refinement: ula | mala (Metropolis-adjusted)")
    p.add_argument("--moves", choices=MOVES, default=d.moves,
                   help="blind (the moves ignore the reward; weights after them) | tilted (the "
                        "moves target the reward-tilted level; weights before them)")
    p.add_argument("--device", choices=DEVICES, default="auto")
    add_precision_option(p)
    p.add_argument("--weights", type=Path, default=DEFAULT_DIR, help="expert weights folder")
    # A configuration's keys that no option sets (`parse_with_config` fills them).
    p.set_defaults(**dict.fromkeys(RUN_KEYS))


def add_precision_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="of the experts' matrix products; auto: bf16 where a start-up probe "
                        "measures it faster than fp32 on the device")


def add_config_option(p: argparse.ArgumentParser) -> None:
    """`--config PATH` (dest `config`), which `parse_with_config` reads."""
    p.add_argument("--config", metavar="PATH",
                   help="run configuration (.json from --save-config, or a run's .npz) "
                        "supplying defaults; options given here win")


def parse_with_config(
    parser: argparse.ArgumentParser,
    argv: list[str] | None = None,
    subparser: argparse.ArgumentParser | None = None,
) -> argparse.Namespace:
    """Parse `argv` where `subparser` (default: `parser` itself) holds `add_sampler_options`
    and an option of dest `config` (`add_config_option`).

    With `--config PATH`, the configuration's values become that parser's defaults and
    `argv` is parsed again, so options given on the command line win over the file (a
    key the file lacks that came later than it takes its old value, `BEFORE_THE_KEY`); its
    keys that no option sets (`spec.RUN_KEYS`: expert weights, checksums, steering)
    become attributes of the result (None without a file). A bad file raises InputError
    (one line naming the file); argparse errors go through `parser.error`. Note: the
    defaults stay set on `subparser` afterwards.
    """
    args = parser.parse_args(argv)
    path = getattr(args, "config", None)
    if path is None:
        return args
    config = BEFORE_THE_KEY | load_config(path)
    (subparser or parser).set_defaults(**{k: v for k, v in config.items()
                                          if k in CONFIG_KEYS + RUN_KEYS})
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> SamplerSettings:
    """The sampler settings of parsed options (their dests are configuration keys)."""
    return SamplerSettings(**{name: getattr(args, key) for key, name in SETTINGS_KEYS.items()})


def reward_from(args: argparse.Namespace) -> ColorReward | None:
    return None if args.reward.lower() == "none" else ColorReward(args.reward, args.strength)


def spec_from(args: argparse.Namespace) -> RunSpec:
    """The run of parsed sampler options, with the expert weights, checksums and steering of
    the --config file they came from, if any."""
    return RunSpec.from_dict(config_from_args(args) | {"checksums": args.checksums or {}})


def replay_setup(args: argparse.Namespace, experts: dict, device: torch.device):
    """The configuration a run of parsed sampler options starts from (the device and
    precision that will run, not 'auto'; the checksums of `experts`), its composition and
    its steering events. InputError where a --config file was made with other weights."""
    check_checksums(args.checksums, checksums(experts), args.config)
    spec = spec_from(args)
    spec = spec.replace(device=device.type, checksums=tuple(checksums(experts).items()),
                        settings=replace(spec.settings,
                                         precision=resolve_precision(args.precision, device)))
    composition = composition_for(experts, spec.controls)
    return spec.to_dict(), composition, list(spec.steering)


def cmd_sample(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    # Every output is checked (and its folder created) before the run, not after it.
    out = check_output_path("--out", args.out, (".npz",))
    ply = None if args.ply is None else check_output_path("--ply", args.ply, (".ply",))
    saved_config = (None if args.save_config is None
                    else check_output_path("--save-config", args.save_config, (".json",)))
    device = resolve_device(args.device)
    experts = build_experts(args.weights, device)
    config, composition, events = replay_setup(args, experts, device)
    result = run(composition, settings, args.sampler, args.seed, device, events=events)
    # What the run did (so a replay computes the same numbers): the .npz meta, a superset
    # of the configuration, which --config reads back.
    config = steering.config_from_records(config, result.records)
    result.meta = trajectory_meta(config, len(result.records))
    writes = [(out, result.save_npz)]
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
    print(f"{args.sampler} | experts {config['experts']} | reward {config['reward']} | "
          + (f"{changes} steering change{'s' * (changes != 1)} | " if changes else "")
          + f"seed {args.seed} | {settings.particles} particles x {settings.points} points | "
          f"{settings.steps} steps | {result.seconds:.1f} s on {device}")
    print(fid.line())
    print(particle_line(result.records))
    print("wrote " + ", ".join(str(path) for path, _ in writes))
    return 0


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
    device = resolve_device(args.device)
    experts = build_experts(args.weights, device)
    precision = resolve_precision(args.precision, device)
    report = evaluate(experts, args.seeds, args.colors.split(","),
                      settings=SamplerSettings(precision=precision), device=device,
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
    device = resolve_device(args.device)
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
    add_config_option(p)
    p.add_argument("--out", default="run.npz", help="output .npz (default run.npz)")
    p.add_argument("--ply", metavar="PATH", help="also write the final cloud as a .ply")
    p.add_argument("--save-config", metavar="PATH",
                   help="also write the run's configuration as .json, for --config")
    p.set_defaults(func=cmd_sample)
    parser.commands["sample"] = p

    p = sub.add_parser("evaluate", help="run the fidelity table of the design notes")
    p.add_argument("--seeds", type=_seeds, default=list(range(10)), help="e.g. 0-9 or 0,1")
    p.add_argument("--colors", type=_colors, default="red,green,blue")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    add_precision_option(p)
    p.add_argument("--weights", type=Path, default=DEFAULT_DIR)
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
    p.add_argument("--out", type=Path, default=DEFAULT_DIR, help="folder for weights + manifest")
    p.add_argument("--eval-seeds", type=_seeds, default=[0, 1],
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
