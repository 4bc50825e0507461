"""What differs between two runs' settings, as one short line a person reads: "reward red →
green, x expert off, moves tilted → blind". The runs are given as run configurations (the
dicts a session exports as run.json, `RunSpec.to_dict`); the first is the one compared
with (the pinned run), the second the one that changed. Without Qt.

The order is fixed (what a user steers first: reward, experts, their weights; then the
sampler and its settings; then seed, device, steering), so that the same two runs always
read the same way; two runs with the same settings read "same settings".
"""

from __future__ import annotations

import math

SAME = "same settings"
# the expert names in their usual order (poe_engine.experts.EXPERT_NAMES; a name not there
# comes after them)
EXPERT_ORDER = ("x", "y", "z", "color")
# settings compared one by one after the experts: configuration key -> how it is named
SETTINGS = (("sampler", "sampler"), ("compose", "compose"), ("moves", "moves"),
            ("kernel", "kernel"), ("steps", "steps"),
            ("particles", "particles"), ("points", "points"), ("langevin", "Langevin steps"),
            ("kappa", "κ"), ("ode_scale", "Euler step scale"),
            ("weighting", "weighting"), ("resampling", "resampling"),
            ("ess_threshold", "ESS threshold"), ("resample_every", "resample every"),
            ("schedule", "schedule"), ("schedule_target", "schedule target"),
            ("time_grid", "time grid"), ("colour_moves", "colour moves"),
            ("langevin_from", "Langevin from t"), ("leapfrog", "leapfrog steps"),
            ("precision", "precision"), ("seed", "seed"), ("device", "device"))
# keys that say nothing a person changed (or say it in another key)
IGNORED = {"format", "checksums", "layers", "look", "compose_steering"}


def shown(value) -> str:
    """A setting's value as the line writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    return str(value)


def experts_of(config: dict) -> list[str]:
    """The experts a configuration switches on (its `experts`: a comma list, 'none' or a
    list of names)."""
    value = config.get("experts", ",".join(EXPERT_ORDER))
    if isinstance(value, str):
        names = [] if value.strip().lower() == "none" else value.split(",")
    elif isinstance(value, list | tuple):
        names = list(value)
    else:
        names = []
    return [str(n).strip() for n in names if str(n).strip()]


def _ordered(names) -> list[str]:
    known = [n for n in EXPERT_ORDER if n in names]
    return known + sorted(n for n in names if n not in EXPERT_ORDER)


def _experts_line(names: list[str], state: str) -> str:
    return f"{', '.join(names)} expert{'s' * (len(names) != 1)} {state}"


def _reward(config: dict) -> str:
    value = config.get("reward", "none")
    return "off" if value is None or str(value).lower() == "none" else str(value)


def _steering(config: dict) -> str:
    changes = len(config.get("steering") or []) + len(config.get("compose_steering") or [])
    return "none" if not changes else f"{changes} change{'s' * (changes != 1)}"


def _same(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def differences(pinned: dict, other: dict) -> list[str]:
    """Each difference of `other` from `pinned` as a short phrase, in a fixed order."""
    out = []
    before, after = _reward(pinned), _reward(other)
    if before != after:
        out.append(f"reward {before} → {after}")
    elif after != "off" and not _same(pinned.get("strength"), other.get("strength")):
        out.append(f"strength {shown(pinned.get('strength'))} → {shown(other.get('strength'))}")
    was, now = experts_of(pinned), experts_of(other)
    off = _ordered([n for n in was if n not in now])
    on = _ordered([n for n in now if n not in was])
    if off:
        out.append(_experts_line(off, "off"))
    if on:
        out.append(_experts_line(on, "on"))
    weights_a = pinned.get("expert_weights") or {}
    weights_b = other.get("expert_weights") or {}
    for name in _ordered(set(weights_a) | set(weights_b)):
        a, b = weights_a.get(name, 1.0), weights_b.get(name, 1.0)
        if name in now and not _same(a, b):
            out.append(f"{name} weight {shown(a)} → {shown(b)}")
    for key, name in SETTINGS:
        a, b = pinned.get(key), other.get(key)
        if (key in pinned and a is None) or (key in other and b is None):
            continue  # a setting the run did not read (written null): AIS → EULER says it
        if not _same(a, b):
            out.append(f"{name} {shown(a)} → {shown(b)}")
    if _steering(pinned) != _steering(other):
        out.append(f"steering {_steering(pinned)} → {_steering(other)}")
    elif (pinned.get("steering") or []) != (other.get("steering") or []):
        out.append("other steering")
    named = {"reward", "strength", "experts", "expert_weights", "steering"} | \
        {key for key, _ in SETTINGS} | IGNORED
    for key in sorted(set(pinned) | set(other)):
        if key not in named and not _same(pinned.get(key), other.get(key)):
            out.append(f"{key} {shown(pinned.get(key))} → {shown(other.get(key))}")
    return out


def difference_line(pinned: dict | None, other: dict | None) -> str:
    """What differs, as one line ("reward red → green, x expert off"); SAME where nothing
    does, and "settings unknown" where either run's configuration is missing."""
    if not isinstance(pinned, dict) or not isinstance(other, dict):
        return "settings unknown"
    found = differences(pinned, other)
    return ", ".join(found) if found else SAME


def pinned_index(index: int, steps: int, pinned_count: int, pinned_steps: int) -> int:
    """The pinned run's frame shown beside step `index` (0-based) of a run of `steps`
    steps: the same step where both runs have as many, else the same share of the run
    (both ends meet); never past the pinned run's last frame (of `pinned_count`)."""
    if pinned_count <= 0:
        return -1
    if steps > 0 and pinned_steps > 0 and steps != pinned_steps:
        index = round((index + 1) * pinned_steps / steps) - 1
    return min(max(index, 0), pinned_count - 1)
