"""A run's steering as the app shows it, without Qt: the controls in force at each step
(what the Experts and Reward panels show as the timeline moves over a finished or opened
run) and a short label of each change (the steering marks on the plots).

The controls come from the frames themselves (what each step multiplied together, see
`poe_engine.steering`), starting from the run's configuration: a reopened run shows what
it did, whatever its configuration says.
"""

from __future__ import annotations

from collections.abc import Sequence

from poe_engine.experts import EXPERT_NAMES
from poe_engine.steering import Controls, SteeringEvent, events_from_records


def controls_per_step(start: Controls, frames: Sequence) -> list[Controls]:
    """The controls each frame's step used (a frame: anything with `index`, `experts`,
    `weights`, `reward` and `strength`), each the one before changed as little as needed;
    `start`: the run's first controls (its configuration's)."""
    out, controls = [], start
    for frame in frames:
        controls = controls.after(frame)
        out.append(controls)
    return out


def change_label(before: Controls, after: Controls) -> str:
    """What changed, as the app's live steering says it: 'x off', 'y ×2', '→ green',
    'reward off', 'strength 150', joined by ', '."""
    parts = []
    weights_before = dict(zip(EXPERT_NAMES, before.weights, strict=True))
    for name, weight in zip(EXPERT_NAMES, after.weights, strict=True):
        was_on, is_on = name in before.enabled, name in after.enabled
        if was_on != is_on:
            parts.append(f"{name} {'on' if is_on else 'off'}")
        if weight != weights_before[name]:
            parts.append(f"{name} ×{weight:g}")
    if after.reward is None and before.reward is not None:
        parts.append("reward off")
    elif after.reward is not None:
        if before.reward is None:
            parts.append("reward on")
        if after.reward != before.reward:
            parts.append(f"→ {after.reward}")
        if after.strength != before.strength:
            parts.append(f"strength {after.strength:g}")
    return ", ".join(parts) or "no change"


def run_events(start: Controls, frames: Sequence) -> tuple[Controls, list[SteeringEvent]]:
    """The controls of a run's first step and its later changes, from its frames (a change
    at step 1 is the run's start, not steering)."""
    events = events_from_records(start, frames)
    if events and events[0].step == 1:
        start = events.pop(0).controls
    return start, events


def marks(start: Controls, events: Sequence[SteeringEvent]) -> list[tuple[int, str]]:
    """(step, label) of each event, its label saying what changed from the controls
    before it."""
    out, before = [], start
    for event in events:
        out.append((event.step, change_label(before, event.controls)))
        before = event.controls
    return out
