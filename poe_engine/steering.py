"""Steering: what a run multiplies together at each step, and the changes made mid-run.

A run's *controls* are what a user may change while it goes: which experts are switched
on, each expert's weight, the reward's colour (or none) and its strength. Every
`StepRecord` carries what its step used of them (the experts in play with their weights,
the reward and its strength), so a run's steering log is derived from its records: an
event wherever a step used other controls than the step before, at the step it took
effect. That holds however late a change reached the sampler (the app's worker may
already be computing step k + 1 when a user clicks at step k).

Replaying applies each event just before the sampler computes its step (the samplers
read the composition at the start of each step), so a steered run replays bit for bit.

In a run configuration (`spec.check_config`) the controls of step 1 are the keys
`experts`, `expert_weights`, `reward` and `strength`; `steering` lists the later events,
each as its step (1-based) and what changed: {"step": 12, "reward": "green"}.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from .experts import EXPERT_NAMES
from .product import Composition
from .reward import DEFAULT_STRENGTH, ColorReward

# The configuration keys of the controls: those a steering event may hold besides `step`.
STEERING_KEYS = ("experts", "expert_weights", "reward", "strength")


@dataclass(frozen=True)
class Controls:
    """What a user controls in a run; the defaults are `poe-engine sample`'s."""

    enabled: tuple[str, ...] = EXPERT_NAMES  # experts switched on, in EXPERT_NAMES order
    weights: tuple[float, ...] = (1.0,) * len(EXPERT_NAMES)  # every expert's, same order
    reward: str | None = "red"  # the reward's colour; None: no reward
    strength: float = DEFAULT_STRENGTH

    @classmethod
    def from_config(cls, config: dict) -> Controls:
        """The controls of step 1 of a checked configuration; keys it lacks: the defaults."""
        return cls().changed(config)

    def changed(self, change: dict) -> Controls:
        """These controls with the keys of `change` (checked configuration values) set."""
        enabled, reward, strength = self.enabled, self.reward, self.strength
        weights = dict(zip(EXPERT_NAMES, self.weights, strict=True))
        if "experts" in change:
            enabled = tuple(change["experts"].split(",")) if change["experts"] != "none" else ()
        weights |= {n: float(w) for n, w in change.get("expert_weights", {}).items()}
        if "reward" in change:
            reward = None if change["reward"].lower() == "none" else change["reward"]
        if "strength" in change:
            strength = float(change["strength"])
        return Controls(tuple(n for n in EXPERT_NAMES if n in enabled),
                        tuple(weights[n] for n in EXPERT_NAMES), reward, strength)

    def to_config(self) -> dict:
        """As the configuration keys of STEERING_KEYS."""
        return {"experts": ",".join(self.enabled) or "none",
                "expert_weights": dict(zip(EXPERT_NAMES, self.weights, strict=True)),
                "reward": self.reward or "none", "strength": self.strength}

    def changes_from(self, before: Controls) -> dict:
        """The configuration keys whose values differ from `before`'s (of `expert_weights`,
        only the weights that changed)."""
        now, then = self.to_config(), before.to_config()
        out = {}
        for key in STEERING_KEYS:
            if key == "expert_weights":
                changed = {n: w for n, w in now[key].items() if w != then[key][n]}
                if changed:
                    out[key] = changed
            elif now[key] != then[key]:
                out[key] = now[key]
        return out

    def in_play(self) -> dict[str, float]:
        """The experts a sampler multiplies together, with their weights."""
        return {n: w for n, w in zip(EXPERT_NAMES, self.weights, strict=True)
                if n in self.enabled and w > 0}

    def used_by(self, step) -> bool:
        """Whether `step` (a StepRecord, or anything with its `experts`, `weights`, `reward`
        and `strength`) used these controls."""
        return (self.in_play() == dict(zip(step.experts, step.weights, strict=True))
                and self.reward == step.reward
                and (self.reward is None or self.strength == step.strength))

    def after(self, step) -> Controls:
        """These controls, changed as little as needed to be those `step` used."""
        if self.used_by(step):
            return self
        used = dict(zip(step.experts, step.weights, strict=True))
        weights = dict(zip(EXPERT_NAMES, self.weights, strict=True)) | used
        return Controls(tuple(n for n in EXPERT_NAMES if n in used),
                        tuple(weights[n] for n in EXPERT_NAMES), step.reward,
                        self.strength if step.strength is None else step.strength)


@dataclass(frozen=True)
class SteeringEvent:
    """From `step` on (1-based), the run used `controls`."""

    step: int
    controls: Controls


def events_from_config(config: dict) -> list[SteeringEvent]:
    """The steering events of a checked configuration."""
    controls, events = Controls.from_config(config), []
    for change in config.get("steering", ()):
        controls = controls.changed(change)
        events.append(SteeringEvent(change["step"], controls))
    return events


def events_to_config(start: Controls, events: Iterable[SteeringEvent]) -> list[dict]:
    """The events as a configuration's `steering`: each one's step and what changed (an
    event that changes nothing is left out)."""
    out, before = [], start
    for event in events:
        changes = event.controls.changes_from(before)
        if changes:
            out.append({"step": event.step, **changes})
        before = event.controls
    return out


def events_from_records(start: Controls, records: Iterable) -> list[SteeringEvent]:
    """An event wherever a step (a StepRecord, or the app's Frame) used other controls than
    the step before it (for the first step: than `start`)."""
    controls, events = start, []
    for record in records:
        now = controls.after(record)
        if now is not controls:
            events.append(SteeringEvent(record.index + 1, now))
            controls = now
    return events


def config_from_records(config: dict, records: Sequence) -> dict:
    """`config` (a checked configuration of the run as it started) rewritten to say what the
    run did: the controls its first step used, the changes made later (`steering`) and
    the precision that ran. A configuration of a run without records stays as it is."""
    if not records:
        return dict(config)
    start = Controls.from_config(config)
    events = events_from_records(start, records)
    if events and events[0].step == 1:
        start = events.pop(0).controls
    return dict(config) | start.to_config() | {
        "precision": records[0].precision, "steering": events_to_config(start, events)}


def apply(composition: Composition, controls: Controls) -> None:
    """Set `composition`'s switches, weights and reward to `controls`."""
    for name, weight in zip(EXPERT_NAMES, controls.weights, strict=True):
        if name in composition.slots:
            composition.set_weight(name, weight)
            composition.set_enabled(name, name in controls.enabled)
    if controls.reward is None:
        composition.set_reward_enabled(False)
    else:
        composition.set_reward(ColorReward(controls.reward, controls.strength), enabled=True)


def replayed(composition: Composition, events: Iterable[SteeringEvent],
             stream: Iterator) -> Iterator:
    """`stream` (a sampler's iterator over `composition`) with each event applied just
    before its step is computed."""
    due = {event.step: event.controls for event in events}
    return applied_before(stream, {k: partial(apply, composition, c) for k, c in due.items()})


def applied_before(stream: Iterator, due: dict) -> Iterator:
    """`stream` with `due[k]()` called just before step k (1-based) is computed: the
    samplers read their compositions at the start of each step, so a change made so
    replays bit for bit."""
    step = 1
    while True:
        if step in due:
            due[step]()
        record = next(stream, None)
        if record is None:
            return
        yield record
        step += 1


def columns(records: Sequence) -> dict[str, np.ndarray]:
    """Per step, what it multiplied together, as .npz columns: `expert_weights` (T, 4)
    float64 in EXPERT_NAMES order, 0 where an expert was not in play; `reward` (T,) its
    colour or 'none'; `reward_strength` (T,) float64, 0 where there was no reward."""
    weights = np.zeros((len(records), len(EXPERT_NAMES)))
    for i, record in enumerate(records):
        for name, weight in zip(record.experts, record.weights, strict=True):
            if name in EXPERT_NAMES:
                weights[i, EXPERT_NAMES.index(name)] = weight
    return {
        "expert_weights": weights,
        "reward": np.array([r.reward or "none" for r in records], dtype=str),
        "reward_strength": np.array([0.0 if r.strength is None else r.strength
                                     for r in records], dtype=np.float64),
    }
