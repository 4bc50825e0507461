"""The engine's options: argument parsing shared by `poe-engine` (`cli.py`) and other
front ends (`poe-desktop record`). A parser that reports one line (`Parser`, `UsageError`,
exit codes), the range-checked option types, the sampler's options and --config, and the
settings, reward and run a parse gives.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from .budget import PRESETS, preset_settings
from .compose import build_mixture
from .errors import InputError, number_problem, shown
from .experts import parse_experts
from .exports import load_config
from .expression import canonical, parse
from .flow import GRIDS
from .precision import DTYPES, PRECISIONS, resolve_precision
from .reward import MAX_STRENGTH, ColorReward, parse_color
from .runs import check_checksums, checksums, composition_for, device_line
from .runs import resolve_device as _resolve_device
from .samplers import (
    KERNELS,
    MOVES,
    RESAMPLING,
    SAMPLERS,
    SCHEDULES,
    WEIGHTING,
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
from .stacked import LAYERS, resolve_layers
from .weights import DEFAULT_DIR
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


def seed_list(text: str) -> list[int]:
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


def color_list(text: str) -> str:
    for color in text.split(","):
        try:
            parse_color(color)
        except InputError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return text


class _Given(argparse.Action):
    """Stores the value and notes that the option was given on the command line (a
    --config file's values are defaults, not given): --compose replaces them."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        namespace.given = *getattr(namespace, "given", ()), option_string


def _compose(text: str) -> str:
    try:
        return canonical(parse(text))
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _experts(text: str) -> str:
    try:
        return ",".join(parse_experts(text)) or "none"
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def folder_path(text: str) -> Path:
    """An argparse `type` for a folder: not empty (argparse names the option)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path: give a folder")
    return Path(text)


def resolve_device(name: str, command: str = "poe-engine"):
    """The device `--device name` asks for; 'cuda' without CUDA is a usage error."""
    try:
        return _resolve_device(name, lambda msg: None)
    except InputError as err:
        raise UsageError(f"{command}: error: {err}") from None


def say_device(name: str, device) -> None:
    """`--device auto` says on stderr, in one line, which device it took (once the
    command's input checked out, so that an error stays the only line)."""
    if name == "auto":
        print(device_line(device), file=sys.stderr)


def add_sampler_options(p: argparse.ArgumentParser) -> None:
    """The options of `poe-engine sample`, shared with other front ends. Their dests, less
    `weights`, are the keys of a run configuration (`spec.CONFIG_KEYS`); its other keys
    (`spec.RUN_KEYS`) are attributes too, None unless a --config file gives them."""
    d = SamplerSettings()
    limit = SamplerSettings.LIMITS
    p.add_argument("--sampler", choices=sorted(SAMPLERS), default="ais")
    p.add_argument("--experts", type=_experts, default="x,y,z,color", action=_Given,
                   help="comma list of x,y,z,color, or none")
    p.add_argument("--reward", type=_reward, default="red", action=_Given,
                   help="red | green | blue | white | a CSS colour name (orange) | #RRGGBB | none")
    p.add_argument("--compose", type=_compose, default=None, metavar="EXPR",
                   help="an expression over experts, shapes, regions and colours, in place of "
                   "--experts and --reward: & (AND), | (OR, a mixture), ! (NOT), ~ "
                   "(complement), NUM*term; e.g. 'sphere & color & red & !cap(z > 0.75)' "
                   "(docs/composition.md)")
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
                   help="Langevin refinement: ula | mala (Metropolis-adjusted) | hmc (HMC on "
                        "the positions, Langevin on the colours)")
    p.add_argument("--leapfrog", type=number(*limit["leapfrog"], integer=True),
                   default=d.leapfrog, help="hmc: leapfrog steps per move")
    p.add_argument("--moves", choices=MOVES, default=d.moves,
                   help="blind (the moves ignore the reward; weights after them) | tilted (the "
                        "moves target the reward-tilted level; weights before them)")
    p.add_argument("--colour-moves", type=number(*limit["colour_moves"], integer=True),
                   default=d.colour_moves,
                   help="Langevin moves of the colours alone per level (no expert call)")
    p.add_argument("--time-grid", choices=GRIDS, default=d.time_grid,
                   help="the levels: uniform | cosine (crowd at both ends) | quadratic "
                        "(crowd near t = 0)")
    p.add_argument("--langevin-from", type=number(*limit["langevin_from"]),
                   default=d.langevin_from,
                   help="the --langevin moves run at the levels t <= this (1: every level)")
    p.add_argument("--device", choices=DEVICES, default="auto")
    add_precision_option(p)
    p.add_argument("--layers", choices=LAYERS, default="auto",
                   help="the experts' CPU layers: fused (oneDNN's linear+SiLU) or plain; "
                        "auto: fused where a start-up probe measures it faster")
    p.add_argument("--weights", type=folder_path, default=DEFAULT_DIR,
                   help="expert weights folder")
    # A configuration's keys that no option sets (`parse_with_config` fills them).
    p.set_defaults(**dict.fromkeys(RUN_KEYS))


def add_precision_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="of the experts' matrix products; auto: bf16 where a start-up probe "
                        "measures it faster than fp32 on the device")


def add_preset_option(p: argparse.ArgumentParser) -> None:
    """`--preset classic|default` (dest `preset`, not a configuration key: a configuration
    records the settings that ran), which `parse_with_config` applies: the preset's settings
    become defaults, so options given with it win."""
    p.add_argument("--preset", choices=tuple(PRESETS), default=None,
                   help="classic: the sampler before issue 21 (128 levels x 3 Langevin moves, "
                        "509 expert calls); default: today's (docs/evaluations.md)")


def preset_defaults(name: str | None) -> dict:
    """The option defaults (configuration keys) of a preset; none for None."""
    if name is None:
        return {}
    keys = {field: key for key, field in SETTINGS_KEYS.items()}
    return {keys[f]: v for f, v in preset_settings(name).items()}


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

    With `--preset NAME`, the preset's settings become defaults (over a file's) as well.
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
    preset = getattr(args, "preset", None)
    if path is not None or preset is not None:
        config = BEFORE_THE_KEY | load_config(path) if path is not None else {}
        # a null (a setting that did not apply in the file's run) leaves today's default
        (subparser or parser).set_defaults(**{k: v for k, v in config.items()
                                              if k in CONFIG_KEYS + RUN_KEYS and v is not None})
        (subparser or parser).set_defaults(**preset_defaults(preset))
        args = parser.parse_args(argv)
    given = getattr(args, "given", ())
    if getattr(args, "compose", None) and given:
        parser.error(f"--compose replaces --experts and --reward: give one or the other, not "
                     f"{' and '.join(sorted(set(given)))} with it")
    return args


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
    """The configuration a run of parsed sampler options starts from (the device, precision
    and CPU layers that will run, not 'auto', so that its replay measures nothing and
    computes the same numbers; the checksums of `experts`), its composition and its
    steering events; with --compose, the expression's `mixture.Mixture` and its changes
    as (step, expression) pairs. InputError where a --config file was made with other weights."""
    check_checksums(args.checksums, checksums(experts), args.config)
    spec = spec_from(args)
    precision = resolve_precision(args.precision, device)
    layers = resolve_layers(args.layers, device, DTYPES[precision])
    spec = spec.replace(device=device.type, checksums=tuple(checksums(experts).items()),
                        settings=replace(spec.settings, precision=precision, layers=layers))
    if spec.compose is not None:  # the expression's mixture and its changes
        mixture = build_mixture(spec.compose, experts, spec.controls.strength)
        return spec.to_dict(), mixture, list(spec.compose_steering)
    composition = composition_for(experts, spec.controls)
    return spec.to_dict(), composition, list(spec.steering)

