"""One run, as the command line, the app, the recorder and the exports know it.

A `RunSpec` holds everything a run depends on: the sampler and its settings, the
controls of its first step (experts switched on and every expert's weight, the reward
and its strength), the seed, the device, the precision and the CPU layer path (in a
run's own configuration those that ran, not 'auto': its replay measures nothing), the
checksums of the expert weight files and the steering made during the run
(`steering.py`). Its file format is
a run configuration: a JSON object of format `poe-run-config/2` (/1 is read too), which
`to_dict` writes and `from_dict` reads; `check_config` is the one place that says what
a configuration may hold. `exports.py` reads and writes the files. A configuration records
what ran: a setting the run never read (`applies.py`) is written as null.
"""

from __future__ import annotations

import argparse
import difflib
from dataclasses import dataclass, field, replace
from typing import Any

from .applies import AIS_ONLY, inapplicable
from .errors import InputError, check_number, cut, shown
from .experts import AXES, EXPERT_NAMES, parse_experts
from .expression import canonical, parse
from .flow import GRIDS
from .precision import PRECISIONS
from .product import MAX_WEIGHT
from .reward import MAX_STRENGTH, parse_color
from .samplers import (
    KERNELS,
    MOVES,
    RESAMPLING,
    SAMPLERS,
    SCHEDULES,
    WEIGHTING,
    SamplerSettings,
)
from .stacked import LAYERS
from .steering import (
    STEERING_KEYS,
    Controls,
    SteeringEvent,
    events_from_config,
    events_to_config,
)
from .world import SEED_RANGE

CONFIG_FORMAT = "poe-run-config/2"
# Formats read: a /1 file lacks the keys of RUN_KEYS (its runs had no expert weights
# but 1 and no steering); a missing key means `poe-engine sample`'s default.
CONFIG_FORMATS = ("poe-run-config/1", CONFIG_FORMAT)
DEVICES = ("auto", "cpu", "cuda")

# The argparse dests of `options.add_sampler_options`, less `weights` (a local folder).
CONFIG_KEYS = (
    "sampler", "experts", "reward", "strength", "seed", "particles", "points", "steps",
    "langevin", "kappa", "ode_scale", "ess_threshold", "resampling", "weighting", "schedule",
    "schedule_target", "resample_every", "kernel", "moves", "device", "precision", "layers",
    "leapfrog", "compose", "colour_moves", "time_grid", "langevin_from",
)
# Keys this version no longer reads: the one value they may hold (what every run now does),
# and why another is refused. Heun's step was measured on the cost curve and did not pay.
DROPPED_KEYS = {"integrator": ("euler", "Heun's step (integrator 'heun') was dropped: the "
                               "cost curve showed it did not pay (docs/evaluations.md); "
                               "this version steps Euler's only")}
# What a configuration that lacks a key ran with, where that is not today's default: the
# key came later than the file (a missing key means the behaviour from before it), and a
# file must replay bit for bit as it ran.
# So do the keys whose default changed later (steps, langevin: issue 21): a file that lacks
# one ran with the default of its day, which today's writers never leave out.
BEFORE_THE_KEY = {"schedule": "constant", "moves": "blind", "colour_moves": 0,
                  "time_grid": "uniform", "langevin_from": 1.0,
                  "steps": 128, "langevin": 3}
# Keys of /2 that no option sets: every expert's weight ({"x": 2.0, ...}), the sha256 of
# each axis expert's weight file ({"x": "<64 hex digits>", ...}; a replay refuses other
# weights), and the changes made during the run (`steering.py`): a list of
# {"step": k, and what changed from step k on: any of STEERING_KEYS}. And how the app drew
# the run (`look`: an object the app reads, poe_desktop/model/look.py; the engine only
# carries it).
RUN_KEYS = ("expert_weights", "checksums", "steering", "look", "compose_steering")
_INTEGERS = ("seed", "particles", "points", "steps", "langevin", "resample_every", "leapfrog",
             "colour_moves")
_NUMBERS = ("strength", "kappa", "ode_scale", "ess_threshold", "schedule_target",
            "langevin_from")
_CHOICES = {"sampler": tuple(SAMPLERS), "resampling": RESAMPLING, "weighting": WEIGHTING,
            "schedule": SCHEDULES, "kernel": KERNELS, "moves": MOVES, "device": DEVICES,
            "precision": PRECISIONS, "layers": LAYERS, "time_grid": GRIDS}
# The configuration keys of the sampler's settings, and the SamplerSettings field each
# one names: the one place where `langevin` is `langevin_steps`.
SETTINGS_KEYS = {"particles": "particles", "points": "points", "steps": "steps",
                 "langevin": "langevin_steps", "kappa": "kappa", "ode_scale": "ode_scale",
                 "ess_threshold": "ess_threshold", "resampling": "resampling",
                 "weighting": "weighting", "schedule": "schedule",
                 "schedule_target": "schedule_target", "resample_every": "resample_every",
                 "kernel": "kernel", "leapfrog": "leapfrog", "moves": "moves",
                 "precision": "precision", "layers": "layers",
                 "colour_moves": "colour_moves", "time_grid": "time_grid",
                 "langevin_from": "langevin_from"}
# The configuration keys of the settings that may not apply (`applies.py`): a run's
# configuration writes each of them as null where it did not apply (so that it records what
# ran, and a null cannot pass for a key an older file lacks: that means `BEFORE_THE_KEY`'s
# value); null is refused where it applies. A null reads as today's default, which runs the
# same numbers as any other value there.
FIELD_KEYS = {name: key for key, name in SETTINGS_KEYS.items()}
MAY_BE_NULL = tuple(FIELD_KEYS[name] for name in AIS_ONLY)
# Ranges of the keys that SamplerSettings does not check.
_RANGES = {"seed": SEED_RANGE, "strength": (0.0, MAX_STRENGTH)}


def config_from_args(args: argparse.Namespace) -> dict:
    """The run configuration of parsed sampler options (`options.add_sampler_options`), with the
    expert weights (every expert's: 1 where none is given) and the steering of the
    --config file they came from, if any. Its `checksums` are those of the weights a run
    loads: the caller adds them."""
    weights = dict.fromkeys(EXPERT_NAMES, 1.0) | (getattr(args, "expert_weights", None) or {})
    return {"format": CONFIG_FORMAT, **{key: getattr(args, key) for key in CONFIG_KEYS},
            "expert_weights": weights, "steering": getattr(args, "steering", None) or [],
            "compose_steering": getattr(args, "compose_steering", None) or []}


def check_config(config: dict, source: str = "configuration") -> dict:
    """Validate a configuration (format /2, or /1); returns it normalised: format /2 first,
    then its keys in CONFIG_KEYS + RUN_KEYS order, numbers as floats, experts as a comma
    list ('none' for none), colours by name. Raises InputError naming `source` and the
    problem. The one place that says what a configuration may hold."""

    def fail(problem: str) -> InputError:
        return InputError(f"{source}: {problem}")

    if not isinstance(config, dict):
        raise fail("not a run configuration (expected a JSON object)")
    version = config.get("format")
    if version not in CONFIG_FORMATS:
        raise fail(f"not a run configuration (format {shown(version)}, "
                   f"expected {CONFIG_FORMAT!r})")
    for key, (kept, why) in DROPPED_KEYS.items():
        if config.get(key, kept) not in (kept, None):
            raise fail(f"{key} {shown(config[key])}: {why}")
    config = {k: v for k, v in config.items() if k not in DROPPED_KEYS}
    known = CONFIG_KEYS + (RUN_KEYS if version == CONFIG_FORMAT else ())
    unknown = [str(k) for k in config if k != "format" and k not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use {','.join(known)}"
        raise fail(f"unknown key(s) {cut(', '.join(unknown))}: {hint}")
    out: dict = {"format": CONFIG_FORMAT}
    for key in (k for k in known if k in config):
        try:
            out[key] = (None if config[key] is None and key in MAY_BE_NULL
                        else _checked(key, config[key]))
        except InputError as err:
            raise fail(str(err)) from None
    nulls = [k for k in MAY_BE_NULL if k in out and out[k] is None]
    applying = [k for k in nulls if k not in inapplicable_keys(out)] if nulls else []
    if applying:  # null: the setting did not apply; here it does
        try:
            _checked(applying[0], None)
        except InputError as err:
            raise fail(f"{err} (null only where the setting does not apply)") from None
    if out.get("compose") is None:  # no expression: the file says nothing of one
        out.pop("compose", None)
        out.pop("compose_steering", None)
    elif not out.get("compose_steering"):
        out.pop("compose_steering", None)
    return out


def inapplicable_keys(config: dict) -> dict[str, str]:
    """The configuration keys of the settings that did not apply in the run of `config` (a
    checked configuration), each with why (`applies.inapplicable`). A key it lacks or holds
    as null counts as `RunSpec.from_dict` reads it, which cannot change the answer: a null's
    own value decides no other setting's."""
    config = BEFORE_THE_KEY | config
    why = inapplicable({"sampler": config.get("sampler", "ais"),
                        **_settings_of(config).to_dict()})
    return {FIELD_KEYS[name]: reason for name, reason in why.items()}


def _settings_of(config: dict) -> SamplerSettings:
    """The settings of a checked configuration over BEFORE_THE_KEY: a key it lacks or holds
    as null takes today's default."""
    d = SamplerSettings()
    return SamplerSettings(**{name: getattr(d, name) if config.get(key) is None
                              else config[key] for key, name in SETTINGS_KEYS.items()})


def _checked(key: str, value: Any) -> Any:
    """A configuration's value of `key`, normalised; InputError (the problem) otherwise."""

    if key in _INTEGERS or key in _NUMBERS:
        low, high = _RANGES.get(key) or SamplerSettings.LIMITS[SETTINGS_KEYS[key]]
        check_number(key, value, low, high, integer=key in _INTEGERS)
        return value if key in _INTEGERS else float(value)
    if key == "experts":
        # A list is what the app and older files hold; the option takes a comma list.
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ",".join(value) or "none"
        if not isinstance(value, str):
            raise InputError(f"experts must be a comma list such as 'x,y,z,color' (or "
                             f"'none'), got {shown(value)}")
        return ",".join(parse_experts(value)) or "none"
    if key == "reward":
        value = "none" if value is None else value  # null: no reward
        if not isinstance(value, str):
            raise InputError(f"reward must be a string, got {shown(value)}")
        return "none" if value.lower() == "none" else parse_color(value)[0]
    if key == "expert_weights":
        return _named(key, value, EXPERT_NAMES, lambda name, w: float(
            check_number(f"{key}.{name}", w, 0.0, MAX_WEIGHT)))
    if key == "checksums":
        return _named(key, value, AXES, _checksum)
    if key == "steering":
        return _steering(value)
    if key == "compose":  # an expression (expression.py), kept in its canonical form
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        if not isinstance(value, str):
            raise InputError(f"compose must be an expression, got {shown(value)}")
        return canonical(parse(value))
    if key == "compose_steering":
        return _compose_steering(value)
    if key == "look":
        if not isinstance(value, dict):
            raise InputError(f"look must be an object (a poe-look/1), got {shown(value)}")
        return value
    if not isinstance(value, str) or value not in _CHOICES[key]:
        raise InputError(f"{key} must be one of {', '.join(_CHOICES[key])}, got {shown(value)}")
    return value


def _compose_steering(value: Any) -> list[dict]:
    """[{"step": k, "compose": expression}, ...]: an expression put in force from step k."""
    if not isinstance(value, list):
        raise InputError(f"compose_steering must be a list, got {shown(value)}")
    out, previous = [], 0
    for i, event in enumerate(value):
        where = f"compose_steering[{i}]"
        if not isinstance(event, dict) or set(event) != {"step", "compose"}:
            raise InputError(f"{where} must be {{\"step\": k, \"compose\": expression}}, "
                             f"got {shown(event)}")
        step = check_number(f"{where}.step", event["step"], 1, SamplerSettings.LIMITS[
            "steps"][1], integer=True)
        if step <= previous:
            raise InputError(f"{where}.step must come after step {previous}, got {step}")
        previous = step
        out.append({"step": step, "compose": _checked("compose", event["compose"])})
    return out


def _named(key: str, value: Any, names: tuple[str, ...], check) -> dict:
    """An object of some of `names` -> checked values, in the order of `names`."""
    if not isinstance(value, dict):
        raise InputError(f"{key} must be an object such as {{\"{names[0]}\": ...}}, "
                         f"got {shown(value)}")
    unknown = [str(k) for k in value if k not in names]
    if unknown:
        raise InputError(f"{key} names unknown expert(s) {cut(', '.join(unknown))}: "
                         f"use {', '.join(names)}")
    return {name: check(name, value[name]) for name in names if name in value}


def _checksum(name: str, value: Any) -> str:
    if not (isinstance(value, str) and len(value) == 64
            and all(c in "0123456789abcdef" for c in value)):
        raise InputError(f"checksums.{name} must be 64 lowercase hexadecimal digits (a "
                         f"sha256), got {shown(value)}")
    return value


def _steering(value: Any) -> list[dict]:
    """A list of events {"step": k, and some of STEERING_KEYS}, in increasing steps."""
    _, last_step = SamplerSettings.LIMITS["steps"]
    if not isinstance(value, list):
        raise InputError(f"steering must be a list of changes, got {shown(value)}")
    if len(value) > last_step:
        raise InputError(f"steering holds {len(value)} changes; a run has at most "
                         f"{last_step} steps")
    out, previous = [], 0
    for i, event in enumerate(value):
        where = f"steering[{i}]"
        if not isinstance(event, dict) or "step" not in event:
            raise InputError(f"{where} must be an object with a step and what changed, "
                             f"got {shown(event)}")
        unknown = [str(k) for k in event if k != "step" and k not in STEERING_KEYS]
        if unknown:
            raise InputError(f"{where} has unknown key(s) {cut(', '.join(unknown))}: use "
                             f"step, {', '.join(STEERING_KEYS)}")
        step = check_number(f"{where}.step", event["step"], 1, last_step, integer=True)
        if step <= previous:
            raise InputError(f"{where}.step must come after step {previous}, got {step}")
        previous = step
        if len(event) == 1:
            raise InputError(f"{where} changes nothing: give some of "
                             f"{', '.join(STEERING_KEYS)}")
        try:
            changes = {k: _checked(k, event[k]) for k in STEERING_KEYS if k in event}
        except InputError as err:
            raise InputError(f"{where}: {err}") from None
        out.append({"step": step, **changes})
    return out


@dataclass(frozen=True)
class RunSpec:
    """One run: what `poe-engine sample` takes as options or a --config file, what the app
    starts from its panels, and what a recording replays. Defaults: `poe-engine sample`'s
    with no options."""

    sampler: str = "ais"
    settings: SamplerSettings = field(default_factory=SamplerSettings)
    controls: Controls = Controls()  # of the first step
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda; a run records the one it ran on
    checksums: tuple[tuple[str, str], ...] = ()  # (expert, sha256 of its weight file)
    steering: tuple[SteeringEvent, ...] = ()  # changes from a later step on
    # an expression (expression.py) in place of the controls' experts and reward, and its
    # changes from later steps on, (step, expression)
    compose: str | None = None
    compose_steering: tuple[tuple[int, str], ...] = ()

    @property
    def precision(self) -> str:
        return self.settings.precision

    def replace(self, **changes: Any) -> RunSpec:
        return replace(self, **changes)

    def inapplicable(self) -> dict[str, str]:
        """The settings (SamplerSettings fields) this run never reads, each with why."""
        return inapplicable({"sampler": self.sampler, **self.settings.to_dict()})

    def to_dict(self) -> dict:
        """The run configuration (format /2, checked and normalised)."""
        st = self.settings
        config = {"format": CONFIG_FORMAT, "sampler": self.sampler, "seed": self.seed,
                  "device": self.device,
                  **{key: getattr(st, name) for key, name in SETTINGS_KEYS.items()},
                  **self.controls.to_config(), "checksums": dict(self.checksums),
                  "steering": events_to_config(self.controls, self.steering),
                  "compose": self.compose,
                  "compose_steering": [{"step": k, "compose": c}
                                       for k, c in self.compose_steering]}
        # what did not run is recorded as such, null (`applies.py`)
        config |= {FIELD_KEYS[name]: None for name in self.inapplicable()}
        return check_config(config)

    @classmethod
    def from_dict(cls, config: dict, source: str = "configuration") -> RunSpec:
        """The run of a configuration (checked: InputError naming `source`); keys it lacks
        take `poe-engine sample`'s defaults, but those of BEFORE_THE_KEY their old value; a
        null (a setting that did not apply) takes today's default."""
        config = BEFORE_THE_KEY | check_config(config, source)
        d = cls()
        settings = _settings_of(config)
        return cls(sampler=config.get("sampler", d.sampler), settings=settings,
                   controls=Controls.from_config(config), seed=config.get("seed", d.seed),
                   device=config.get("device", d.device),
                   checksums=tuple(config.get("checksums", {}).items()),
                   steering=tuple(events_from_config(config)),
                   compose=config.get("compose"),
                   compose_steering=tuple((e["step"], e["compose"])
                                          for e in config.get("compose_steering", ())))
