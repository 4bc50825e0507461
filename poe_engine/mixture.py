"""OR as a mixture: a population split between branches, each sampled for its own product.

An expression with `|` (expression.py) expands into branches, the components of a mixture
p = sum_k s_k p_k with shares s_k (equal unless weighted). Resampling across branches lets
the branch whose reward happens to be higher at some step take the whole population, so a
run would show one component only; weighing branches by their estimated normalising
constants is hopeless at a reward strength of 300 (the estimates spread by tens of nats).
So each branch gets a fixed part of the population, in proportion to its share, and runs
its own sampler (its own weights, resampling within itself); every run keeps every branch
alive. A step's record joins the branches: the particles in branch order, their branch
labels, and mixture weights s_k w_i / sum_{j in k} w_j, whose largest picks the particle
shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import torch

from .errors import InputError
from .product import Composition
from .samplers import SAMPLERS, SamplerSettings, StepRecord

# Branch k > 0 draws its noise from seed + k * this: a prime far from the seeds a user sets.
BRANCH_SEED_STRIDE = 1_000_003


@dataclass
class Mixture:
    """Branches, each a composition with its share (shares are normalised to sum to 1)."""

    branches: list[tuple[Composition, float]]
    names: tuple[str, ...] = ()  # each branch's text, for records and the app
    text: str | None = None  # the expression in force (canonical), for records
    # what building a branch from an expression needs (compose.py): the experts by name
    # and the colours' reward strength
    experts: dict = field(default_factory=dict, repr=False)
    strength: float = 300.0

    def __post_init__(self) -> None:
        if not self.branches:
            raise InputError("a mixture needs at least one branch")
        total = sum(share for _, share in self.branches)
        if not all(share > 0 for _, share in self.branches) or not math.isfinite(total):
            raise InputError("branch shares must be positive numbers")
        self.branches = [(c, share / total) for c, share in self.branches]

    @property
    def shares(self) -> tuple[float, ...]:
        return tuple(share for _, share in self.branches)

    def sizes(self, particles: int) -> list[int]:
        """How many of `particles` each branch gets: at least one each, the rest by the
        largest remainders of particles x share."""
        k = len(self.branches)
        if particles < k:
            raise InputError(f"{k} branches need at least {k} particles, got {particles}")
        exact = [1 + (particles - k) * s for s in self.shares]
        sizes = [math.floor(e) for e in exact]
        order = sorted(range(k), key=lambda i: (sizes[i] - exact[i], i))
        for i in order[: particles - sum(sizes)]:
            sizes[i] += 1
        return sizes


def branch_seed(seed: int, k: int) -> int:
    return seed + k * BRANCH_SEED_STRIDE


def sample_mixture(mixture: Mixture, settings: SamplerSettings, sampler: str = "ais",
                   seed: int = 0, device: torch.device | str = "cpu") -> Iterator[StepRecord]:
    """Step records of the branches' samplers run side by side, joined. One branch is
    exactly that branch's sampler (its records unchanged, labels all 0)."""
    sizes = mixture.sizes(settings.particles)
    streams = [SAMPLERS[sampler](composition, replace(settings, particles=n),
                                 seed=branch_seed(seed, k), device=device)
               for k, ((composition, _), n) in enumerate(zip(mixture.branches, sizes,
                                                            strict=True))]
    labels = torch.cat([torch.full((n,), k, dtype=torch.long) for k, n in enumerate(sizes)])
    for records in zip(*streams, strict=True):
        record = join(records, mixture.shares, labels.to(records[0].best.device))
        record.compose = mixture.text
        yield record


def join(records: tuple[StepRecord, ...], shares: tuple[float, ...],
         labels: torch.Tensor) -> StepRecord:
    """One record of the branches' records of a step (see the module's docstring)."""
    if len(records) == 1:
        records[0].branch_labels = labels
        return records[0]
    mixed = torch.cat([math.log(s) + r.log_weights - torch.logsumexp(r.log_weights, 0)
                       for r, s in zip(records, shares, strict=True)])
    best = int(torch.argmax(mixed))
    k = int(labels[best])
    first = records[k]
    offsets = [0]
    for r in records[:-1]:
        offsets.append(offsets[-1] + r.log_weights.shape[0])
    ancestors = torch.cat([(r.ancestor_indices if r.ancestor_indices is not None
                            else torch.arange(r.log_weights.shape[0], device=labels.device))
                           + o for r, o in zip(records, offsets, strict=True)])
    resampled = torch.stack([r.resampled_flag if r.resampled_flag is not None
                             else torch.tensor(False, device=labels.device)
                             for r in records]).any()
    ess = sum(r.ess_value for r in records if r.ess_value is not None)
    rewards = (torch.cat([r.rewards for r in records])
               if all(r.rewards is not None for r in records) else None)
    particles = (torch.cat([r.particles for r in records])
                 if all(r.particles is not None for r in records) else None)
    log_z = torch.logsumexp(torch.stack([math.log(s) + torch.as_tensor(
        r.log_z, dtype=torch.float64, device=labels.device)
        for r, s in zip(records, shares, strict=True)]), 0)
    acceptance = torch.stack([torch.as_tensor(r.acceptance, dtype=torch.float64,
                                              device=labels.device) for r in records])
    scale = torch.stack([torch.as_tensor(r.reward_scale, dtype=torch.float64,
                                         device=labels.device) for r in records])
    # within a branch the mixture weights keep the branch's order: its best is the shown one
    return replace(
        first, log_weights=mixed, particles=particles, ess_value=torch.as_tensor(ess),
        resampled_flag=resampled, ancestor_indices=ancestors, rewards=rewards, log_z=log_z,
        acceptance=acceptance.nanmean(), reward_scale=scale.mean(), branch_labels=labels,
        nfe=sum(r.nfe for r in records), evaluations=sum(r.evaluations for r in records))

