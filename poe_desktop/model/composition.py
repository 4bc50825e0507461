"""A composition expression (`poe_engine.expression`) as the app shows it, without Qt: its
terms as rows a person switches and weighs (the text rewritten, so that it stays the one
source of truth), its regions (drawn in the view, counted in the statistics) and its
branches (the Population panel's tags).

Terms are the leaves of the parsed expression in their order: flows, shapes, unions,
regions and colours, each with the weight written on it (signed where NOT means
something: a region's `!`, a colour's `!`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from poe_engine.expression import (
    And,
    ColourSpec,
    Expr,
    Flow,
    Or,
    Region,
    RegionSpec,
    ShapeUnion,
    Weighted,
    branches,
    canonical,
    parse,
)
from poe_engine.terms import RegionPotential

BRANCH_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# the branches' tags and curves: distinct hues that read on a dark and a light panel
BRANCH_COLOURS = ("#4fc3f7", "#ffb74a", "#ba68c8", "#81c784", "#f06292", "#fff176",
                  "#a1887f", "#90a4ae")


@dataclass(frozen=True)
class Term:
    """One leaf of an expression: its text (weight and sign left out), its kind (flow,
    shape, union, region, colour), its signed weight, whether the sign may change, and a
    region's beta and tau."""

    index: int
    text: str
    kind: str
    weight: float
    signed: bool
    beta: float | None = None
    tau: float | None = None


def _leaf_term(index: int, leaf: Expr, weight: float) -> Term:
    if isinstance(leaf, Region):
        return Term(index, canonical(Region(leaf.spec)), "region", leaf.sign * weight, True,
                    leaf.spec.beta, leaf.spec.tau)
    if isinstance(leaf, ColourSpec):
        sign = -1.0 if leaf.mode == "not" else 1.0
        text = canonical(replace(leaf, mode="plain") if leaf.mode == "not" else leaf)
        return Term(index, text, "colour", sign * weight, leaf.mode != "complement")
    kind = ("flow" if isinstance(leaf, Flow) else "union" if isinstance(leaf, ShapeUnion)
            else "shape")
    return Term(index, canonical(leaf), kind, weight, False)


def _rebuild(expr: Expr, visit: Callable[[int, Expr, float], Expr | None],
             counter: list[int]) -> Expr | None:
    """`expr` with each leaf (and the weight written on it) replaced by what `visit`
    gives (None: left out); a group left empty goes too."""
    if isinstance(expr, Or | And):
        terms = [t for t in (_rebuild(t, visit, counter) for t in expr.terms) if t is not None]
        return None if not terms else terms[0] if len(terms) == 1 else type(expr)(tuple(terms))
    if isinstance(expr, Weighted) and not isinstance(expr.term, Or | And):
        counter[0] += 1
        return visit(counter[0] - 1, expr.term, expr.weight)
    if isinstance(expr, Weighted):
        inner = _rebuild(expr.term, visit, counter)
        return None if inner is None else Weighted(expr.weight, inner)
    counter[0] += 1
    return visit(counter[0] - 1, expr, 1.0)


def terms(expr: Expr) -> list[Term]:
    out: list[Term] = []

    def visit(i: int, leaf: Expr, weight: float) -> Expr:
        out.append(_leaf_term(i, leaf, weight))
        return leaf
    _rebuild(expr, visit, [0])
    return out


def _weighted(leaf: Expr, weight: float, beta: float | None, tau: float | None) -> Expr:
    """`leaf` with the signed `weight` (and a region's beta and tau) written on it."""
    if isinstance(leaf, Region):
        spec = replace(leaf.spec, beta=leaf.spec.beta if beta is None else float(beta),
                       tau=leaf.spec.tau if tau is None else float(tau))
        leaf = Region(spec, 1 if weight > 0 else -1)
    elif isinstance(leaf, ColourSpec) and leaf.mode != "complement":
        leaf = replace(leaf, mode="plain" if weight > 0 else "not")
    size = abs(weight)
    return leaf if size == 1 else Weighted(float(size), leaf)


def edited(expr: Expr, index: int, weight: float | None = None, beta: float | None = None,
           tau: float | None = None) -> Expr:
    """`expr` with term `index` given a signed weight (and a region beta, tau); a weight of
    0 is written as it is (parsing the text then says what is wrong)."""
    def visit(i: int, leaf: Expr, w: float) -> Expr:
        if i != index:
            return leaf if w == 1 else Weighted(w, leaf)
        signed = _leaf_term(i, leaf, w).weight if weight is None else weight
        if signed == 0:
            return Weighted(0.0, leaf)
        return _weighted(leaf, signed, beta, tau)
    return _rebuild(expr, visit, [0])


def without(expr: Expr, off: Sequence[int] | set[int]) -> str:
    """The text of `expr` with the terms `off` left out ('' if none is left)."""
    def visit(i: int, leaf: Expr, w: float) -> Expr | None:
        return None if i in off else leaf if w == 1 else Weighted(w, leaf)
    kept = _rebuild(expr, visit, [0])
    return "" if kept is None else canonical(kept)


# ------------------------------------------------------------------ regions, branches
def regions(text: str | None) -> list[tuple[str, RegionSpec, int]]:
    """The distinct regions of an expression: (their text, spec, the sign of the first
    mention), in order of appearance; none for no text or a text that does not parse."""
    if not text:
        return []
    try:
        parts = branches(parse(text))
    except ValueError:
        return []
    seen: dict[RegionSpec, int] = {}
    for branch in parts:
        for spec, weight in branch.regions:
            seen.setdefault(spec, 1 if weight > 0 else -1)
    return [(canonical(Region(spec)), spec, sign) for spec, sign in seen.items()]


def branch_names(text: str | None) -> list[str]:
    """Each branch's text (its share left out); [] without an expression."""
    if not text:
        return []
    try:
        return [b.describe() for b in branches(parse(text))]
    except ValueError:
        return []


def branch_letter(k: int) -> str:
    return BRANCH_LETTERS[k] if k < len(BRANCH_LETTERS) else str(k + 1)


def branch_colour(k: int) -> str:
    return BRANCH_COLOURS[k % len(BRANCH_COLOURS)]


def region_shares(cloud: np.ndarray, specs: Sequence[RegionSpec]) -> np.ndarray:
    """(R,): the share of the cloud's points (N, >= 3) inside each region (hard membership)."""
    if not len(specs) or cloud is None or not len(cloud):
        return np.zeros(len(specs))
    xyz = torch.from_numpy(np.ascontiguousarray(cloud[:, :3], dtype=np.float64))
    return np.array([float(RegionPotential.from_spec(s).inside(xyz).double().mean())
                     for s in specs])


class CompositionSeries:
    """A composed run's frames as what the statistics plot, kept up incrementally: per
    step the particles in each branch (`counts`, (T, K)) and the share of the shown
    particle's points in each region the run has named so far (`shares`: text -> (T,),
    NaN at steps whose expression has no such region)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.first, self.count = None, 0
        self.steps: list[int] = []
        self.count_rows: list[np.ndarray] = []
        self.share_rows: list[dict[str, float]] = []
        self.labels: list[str] = []  # the regions' texts, in order of appearance
        self.branches = 0
        self._regions_of: dict[str | None, list] = {}

    @property
    def composed(self) -> bool:
        return self.first is not None and getattr(self.first, "compose", None) is not None

    def sync(self, frames: Sequence) -> int:
        if frames and (len(frames) < self.count or frames[0] is not self.first):
            self.clear()
        if not frames:
            if self.count:
                self.clear()
            return 0
        self.first = frames[0]
        new = frames[self.count:]
        if not self.composed:  # nothing to read: the run composes nothing
            self.count += len(new)
            return len(new)
        for frame in new:
            labels = getattr(frame, "branches", None)
            labels = np.zeros(1, np.int64) if labels is None else np.asarray(labels)
            self.branches = max(self.branches, int(labels.max(initial=0)) + 1)
            self.count_rows.append(np.bincount(labels, minlength=self.branches))
            text = getattr(frame, "compose", None)
            if text not in self._regions_of:
                self._regions_of[text] = regions(text)
            found = self._regions_of[text]
            shares = region_shares(getattr(frame, "cloud", None), [s for _, s, _ in found])
            self.share_rows.append({label: float(s) for (label, _, _), s
                                    in zip(found, shares, strict=True)})
            self.labels += [label for label, _, _ in found if label not in self.labels]
            self.steps.append(frame.index + 1)
        self.count += len(new)
        return len(new)

    def counts(self) -> np.ndarray:
        table = np.zeros((self.count, self.branches))
        for i, row in enumerate(self.count_rows):
            table[i, :len(row)] = row
        return table

    def shares(self) -> dict[str, np.ndarray]:
        return {label: np.array([row.get(label, np.nan) for row in self.share_rows])
                for label in self.labels}
