"""From an expression (expression.py) to what a sampler draws from: each branch of the
expression's mixture as a `Composition` (its flows switched on with their weights, its
shapes as experts, its regions as potentials, its colours as the reward), and the branches
as a `mixture.Mixture`. The same configuring serves a change mid-run (steering by
expression), which must keep the number of branches: the population is split between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

from .errors import InputError
from .experts import EXPERT_NAMES, GenerativeExpert
from .expression import Branch, branches, canonical, parse
from .mixture import Mixture
from .product import MAX_WEIGHT, Composition, ExpertSlot
from .reward import DEFAULT_STRENGTH
from .steering import applied_before
from .terms import ColourTerms, RegionPotential, TorusExpert, UnionExpert


def build_mixture(text: str, experts: dict[str, GenerativeExpert],
                  strength: float = DEFAULT_STRENGTH) -> Mixture:
    """The mixture of `text`'s branches (ExpressionError, an InputError, where it does not
    parse), each with its share."""
    parts = branches(parse(text))
    compositions = []
    for branch in parts:
        composition = Composition.of(experts[name] for name in EXPERT_NAMES)
        configure(composition, branch, experts, strength)
        compositions.append((composition, branch.weight))
    return Mixture(compositions, names=tuple(b.describe() for b in parts),
                   text=canonical(parse(text)), experts=experts, strength=strength)


def canonical_text(text: str) -> str:
    return canonical(parse(text))


def steer_mixture(mixture: Mixture, text: str) -> None:
    """Put `text` in force from the next step: each branch's composition configured anew.
    The branches and their shares must stay those the run started with (the population's
    split cannot change mid-run)."""
    parts = branches(parse(text))
    if len(parts) != len(mixture.branches):
        raise InputError(f"a change during a run must keep its {len(mixture.branches)} "
                         f"branch(es); {text!r} has {len(parts)}")
    for (composition, _), branch in zip(mixture.branches, parts, strict=True):
        configure(composition, branch, mixture.experts, mixture.strength)
    mixture.names = tuple(b.describe() for b in parts)
    mixture.text = canonical(parse(text))


def replayed_mixture(mixture: Mixture, events: Iterable[tuple[int, str]],
                     stream: Iterator) -> Iterator:
    """`stream` (`mixture.sample_mixture` over `mixture`) with each (step, expression) put
    in force just before its step is computed (the samplers read their compositions at
    the start of each step), so a steered composition replays bit for bit."""
    return applied_before(stream, {step: partial(steer_mixture, mixture, text)
                                   for step, text in events})


def compose_steering(records: Iterable) -> list[dict]:
    """A composed run's changes, from its records: {"step": k, "compose": text} wherever
    a step used another expression than the step before."""
    out, before = [], None
    for record in records:
        if before is not None and record.compose != before:
            out.append({"step": record.index + 1, "compose": record.compose})
        before = record.compose
    return out


def configure(composition: Composition, branch: Branch, experts: dict[str, GenerativeExpert],
              strength: float = DEFAULT_STRENGTH) -> None:
    """Make `composition` the product of `branch`: its flows on with their weights (the
    others off), its shapes and unions as experts, its regions as potentials, its colours
    as the reward (none: no reward)."""
    flows = dict(branch.flows)
    for name, weight in flows.items():
        if not 0 < weight <= MAX_WEIGHT:
            raise InputError(f"a flow's weight must lie in (0, {MAX_WEIGHT:g}], got "
                             f"{weight:g} for {name}")
    shapes: dict[str, tuple[GenerativeExpert, float]] = {}
    for i, (spec, weight) in enumerate(branch.shapes):
        shapes[f"torus{i + 1 if i else ''}"] = (TorusExpert.from_spec(spec), weight)
    for i, (members, weight) in enumerate(branch.unions):
        shapes[f"union{i + 1 if i else ''}"] = (UnionExpert.from_spec(members, experts), weight)
    with composition._lock:  # one change, seen whole by the next snapshot
        for name in EXPERT_NAMES:
            slot = composition.slots[name]
            slot.enabled, slot.weight = name in flows, float(flows.get(name, 1.0))
        for name in [n for n in composition.slots if n not in EXPERT_NAMES]:
            del composition.slots[name]
        for name, (expert, weight) in shapes.items():
            composition.slots[name] = ExpertSlot(expert, True, float(weight))
        composition.potentials = tuple(RegionPotential.from_spec(spec, weight)
                                       for spec, weight in branch.regions)
        composition.reward = (ColourTerms.from_spec(branch.colours, strength)
                              if branch.colours else None)
        composition.reward_enabled = True
