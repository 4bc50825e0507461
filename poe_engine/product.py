"""The product of experts a sampler draws from, and how its parts combine.

A `Composition` holds every expert with an on/off switch and a weight, and the
reward with its own switch. Samplers call `snapshot()` once per step, so a GUI
thread may flip switches or change weights at any time: the change takes
effect at the next step.

The weighted product is  prod_i p_i(x)^{w_i} * exp(log_reward(x)).  On each
channel, the score is the weighted sum of the scores of the enabled experts
that own it; a channel that no enabled expert owns is left where it is (zero
velocity, no Langevin noise), so the product stays well defined when experts
are switched off.

Region potentials (`terms.RegionPotential`, issue 20) enter as guidance: with potentials,
`velocity` and `score_and_step` add a term read at the denoised positions (see
`guidance_coefficients`). Without them the code path is the plain one, number for number.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from .errors import InputError
from .experts import GenerativeExpert
from .flow import MIN_LEVEL
from .reward import ColorReward
from .stacked import AxisFlowStack
from .world import NOISE, SPHERE_RADIUS, XYZ

if TYPE_CHECKING:
    from .terms import RegionPotential

NUM_CHANNELS = 6
MAX_WEIGHT = 10.0
POSITIONS = (0, 1, 2)
# The data's variance per coordinate (points spread over the sphere: r^2 / 3 = 1/12), the
# prior variance of x0 in the guidance's posterior covariance.
DATA_VARIANCE = SPHERE_RADIUS**2 / 3.0


def guidance_coefficients(t: float) -> tuple[float, float]:
    """(C(t) / t, (1 - t) C(t) / (t sigma)^2) of the guidance term, both finite on [0, 1].

    A potential phi(x0) on the positions shifts the denoised estimate by the posterior
    covariance of x0 given x_t times grad phi, x0_hat' = x0_hat + C(t) g, g read at
    x0_hat = x - t v. C(t) is that of Gaussian data of variance V (DATA_VARIANCE):
    C = 1 / (1/V + (1 - t)^2 / (t sigma)^2), an approximation (the data are not
    Gaussian, and g is read at x0_hat, not averaged over the posterior). Then
    v' = v - (C/t) g, and by `flow.velocity_to_score` the score gains (1 - t) C g / (t sigma)^2,
    which is 0 at t = 1 and tends to g as t -> 0; C/t is V at t = 1 and tends to 0.
    """
    t = min(max(t, MIN_LEVEL), 1.0)
    s2, v = NOISE.position_std**2, DATA_VARIANCE
    denominator = t * t * s2 + (1.0 - t) ** 2 * v
    return t * s2 * v / denominator, (1.0 - t) * v / denominator


@dataclass
class Cost:
    """What a run has spent on the experts: `calls`, evaluations of the product that ran a
    trained (neural) expert, where one grouped call (`AxisFlowStack.velocities`) runs all
    the axis experts at once, and `evaluations`, the neural experts' forward passes in
    them. Analytic experts (the colour expert) and the reward cost nothing here."""

    calls: int = 0
    evaluations: int = 0

    def add(self, neural: int) -> None:
        if neural:
            self.calls += 1
            self.evaluations += neural


@dataclass
class ExpertSlot:
    expert: GenerativeExpert
    enabled: bool = True
    weight: float = 1.0


@dataclass(frozen=True)
class Snapshot:
    """The experts in play (weight > 0) and the reward, fixed for one step.

    `stacks` says how the experts are evaluated: each entry is an evaluator of several
    experts at once and the indices of those experts in `experts`; the others are
    evaluated one by one. Grouping changes how the numbers are computed, never what
    they mean: both ways agree to the products' rounding.
    """

    experts: tuple[tuple[GenerativeExpert, float], ...]
    reward: ColorReward | None
    stacks: tuple[tuple[AxisFlowStack, tuple[int, ...]], ...] = ()
    dtype: torch.dtype = torch.float32  # precision of the experts' matrix products
    potentials: tuple[RegionPotential, ...] = ()  # guidance on the positions (issue 20)
    cost: Cost | None = field(default=None, compare=False)  # counts the evaluations made

    def _count(self) -> None:
        """One evaluation of the product: its neural experts, grouped or alone, each run once."""
        if self.cost is not None:
            grouped = {i for _, members in self.stacks for i in members}
            self.cost.add(sum(1 for i, (e, _) in enumerate(self.experts)
                              if i in grouped or isinstance(e, torch.nn.Module)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e, _ in self.experts)

    def _grouped_velocities(self, cloud: torch.Tensor, t: float) -> dict[int, torch.Tensor]:
        """Velocities of the experts evaluated in groups, by their index in `experts`."""
        out: dict[int, torch.Tensor] = {}
        for stack, members in self.stacks:
            out.update(zip(members, stack.velocities(cloud, t), strict=True))
        return out

    def expert_velocities(self, cloud: torch.Tensor, t: float) -> list[torch.Tensor]:
        """Each expert's velocity on its own channels, in the order of `experts`."""
        self._count()
        grouped = self._grouped_velocities(cloud, t)
        out = []
        for i, (expert, _) in enumerate(self.experts):
            if i in grouped:
                out.append(grouped[i])
            else:
                with _alone(expert, self.dtype, cloud.device):
                    out.append(expert.velocity(cloud, t).float())
        return out

    def expert_scores(self, cloud: torch.Tensor, t: float) -> list[torch.Tensor]:
        """Each expert's score on its own channels; a grouped expert derives it from the
        velocity its group computed (the same conversion it uses alone)."""
        self._count()
        grouped = self._grouped_velocities(cloud, t)
        out = []
        for i, (expert, _) in enumerate(self.experts):
            if i in grouped:
                out.append(expert.score_from_velocity(grouped[i], cloud, t))
            else:
                with _alone(expert, self.dtype, cloud.device):
                    out.append(expert.score(cloud, t).float())
        return out

    def velocity(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        """Per channel, the weight-averaged velocity of its owners (zero where unowned);
        with potentials, on the positions, minus (C(t)/t) grad phi(x0_hat)."""
        v = self._average(cloud, self.expert_velocities(cloud, t))
        if self.potentials:
            coefficient, _ = guidance_coefficients(t)
            v[..., XYZ] -= coefficient * self._guidance(cloud, v, t)
        return v

    def _average(self, cloud: torch.Tensor, velocities: list[torch.Tensor | None]
                 ) -> torch.Tensor:
        """Per channel, the weight average of the given velocities (None: left out)."""
        total = torch.zeros_like(cloud)
        weight = [0.0] * NUM_CHANNELS
        for (expert, w), v in zip(self.experts, velocities, strict=True):
            if v is None:
                continue
            total[..., channel_index(expert.channels)] += w * v
            for c in expert.channels:
                weight[c] += w
        scale = torch.tensor([1.0 / w if w > 0 else 0.0 for w in weight], device=cloud.device)
        return total * scale

    def _guidance(self, cloud: torch.Tensor, v: torch.Tensor, t: float) -> torch.Tensor:
        """(..., N, 3): the potentials' summed gradient at x0_hat = x - t v (positions),
        zero on a position channel no expert in play owns (it stays where it is)."""
        x0 = cloud[..., XYZ] - max(t, MIN_LEVEL) * v[..., XYZ]
        g = sum(p.log_density_grad(x0) for p in self.potentials).to(cloud.dtype)
        owned = [any(c in e.channels for e, _ in self.experts) for c in POSITIONS]
        return g if all(owned) else g * torch.tensor(owned, device=g.device, dtype=g.dtype)

    def _velocities_and_scores(self, cloud: torch.Tensor, t: float):
        """Each expert's velocity (None for one that owns no position: not needed) and
        score, the score derived from the velocity where the expert can (one evaluation)."""
        self._count()
        grouped = self._grouped_velocities(cloud, t)
        velocities, scores = [], []
        for i, (expert, _) in enumerate(self.experts):
            v = grouped.get(i)
            if v is None and any(c in POSITIONS for c in expert.channels):
                with _alone(expert, self.dtype, cloud.device):
                    v = expert.velocity(cloud, t).float()
            if v is not None and hasattr(expert, "score_from_velocity"):
                s = expert.score_from_velocity(v, cloud, t)
            else:
                with _alone(expert, self.dtype, cloud.device):
                    s = expert.score(cloud, t).float()
            velocities.append(v)
            scores.append(s)
        return velocities, scores

    def score_and_step(
        self, cloud: torch.Tensor, t: float, kappa: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The product's score and a per-channel Langevin step size.

        An expert of weight w and noise std sigma has curvature about w / (t sigma)^2
        at level t, so a channel's step is kappa over its owners' summed curvature:
        kappa (t sigma)^2 for a lone expert of weight 1. The step thus shrinks with
        the level's noise, and kappa <= 0.5 keeps every Langevin move contracting.
        """
        velocities = None
        if self.potentials:
            velocities, scores = self._velocities_and_scores(cloud, t)
        else:
            scores = self.expert_scores(cloud, t)
        score = torch.zeros_like(cloud)
        curvature = [0.0] * NUM_CHANNELS
        for (expert, w), s in zip(self.experts, scores, strict=True):
            score[..., channel_index(expert.channels)] += w * s
            level_std = max(t, 1e-6) * expert.noise_std
            for c in expert.channels:
                curvature[c] += w / (level_std * level_std)
        step = torch.tensor([kappa / c if c > 0 else 0.0 for c in curvature], device=cloud.device)
        if velocities is not None:  # the guidance term (`guidance_coefficients`)
            _, coefficient = guidance_coefficients(t)
            v = self._average(cloud, velocities)
            score[..., XYZ] += coefficient * self._guidance(cloud, v, t)
        return score, step

    def mean_mobility(self) -> list[float]:
        """Per channel, the largest mean mobility among its owners (0 for most)."""
        mobility = [0.0] * NUM_CHANNELS
        for expert, _ in self.experts:
            for c in expert.channels:
                mobility[c] = max(mobility[c], float(expert.mean_mobility))
        return mobility

    def bounds(self) -> list[tuple[slice | list[int], float, float]]:
        """(channels, low, high) for the channels of owners with a bounded support."""
        return [(channel_index(expert.channels), *expert.bounds)
                for expert, _ in self.experts if expert.bounds is not None]

    def log_reward(self, clouds: torch.Tensor) -> torch.Tensor | None:
        return None if self.reward is None else self.reward.log_reward(clouds)


def channel_index(channels: tuple[int, ...]) -> slice | list[int]:
    """A slice for a contiguous run of channels (a view: no gather, no scatter), a list
    otherwise. Every expert here owns a contiguous run."""
    first, last = min(channels), max(channels)
    if list(channels) == list(range(first, last + 1)):
        return slice(first, last + 1)
    return list(channels)


def _alone(expert: GenerativeExpert, dtype: torch.dtype, device: torch.device):
    """The precision for an expert evaluated on its own: its products in `dtype` where it
    has trainable layers (autocast), plain float32 for analytic experts."""
    if dtype == torch.float32 or not isinstance(expert, torch.nn.Module):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


@dataclass
class Composition:
    """Experts and reward a run multiplies together; safe to change from another thread."""

    slots: dict[str, ExpertSlot] = field(default_factory=dict)
    reward: ColorReward | None = None  # or any reward of its interface (`terms.ColourTerms`)
    reward_enabled: bool = True
    potentials: tuple[RegionPotential, ...] = ()  # region guidance (`terms.RegionPotential`)
    grouped: bool = True  # evaluate experts of one architecture together (`AxisFlowStack`)
    # How stacks run (`stacked.py`): on CUDA from CUDA graphs; on the CPU with oneDNN's
    # fused layers (None: where a probe measures them faster).
    graphs: bool = True
    fused: bool | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # stacked weights per (experts, precision): built once, reused when a toggle returns
    _stacks: dict[tuple, AxisFlowStack] = field(default_factory=dict, repr=False)

    @classmethod
    def of(
        cls,
        experts: Iterable[GenerativeExpert],
        reward: ColorReward | None = None,
    ) -> Composition:
        return cls(slots={e.name: ExpertSlot(e) for e in experts}, reward=reward)

    def set_enabled(self, name: str, enabled: bool) -> None:
        with self._lock:
            self._slot(name).enabled = bool(enabled)

    def set_weight(self, name: str, weight: float) -> None:
        if not 0.0 <= weight <= MAX_WEIGHT:  # False for NaN too
            raise InputError(f"expert weight must lie in [0, {MAX_WEIGHT:g}], got {weight}")
        with self._lock:
            self._slot(name).weight = float(weight)

    def set_reward(self, reward: ColorReward | None, enabled: bool | None = None) -> None:
        with self._lock:
            self.reward = reward
            if enabled is not None:
                self.reward_enabled = bool(enabled)

    def set_reward_enabled(self, enabled: bool) -> None:
        with self._lock:
            self.reward_enabled = bool(enabled)

    def set_potentials(self, potentials: Iterable[RegionPotential]) -> None:
        """The region potentials that guide the positions from the next step on (none: the
        plain product)."""
        with self._lock:
            self.potentials = tuple(potentials)

    def snapshot(self, dtype: torch.dtype = torch.float32, fused: bool | None = None
                 ) -> Snapshot:
        """The experts and reward in play now; `dtype` is the precision of the experts'
        matrix products (float32 or bfloat16); `fused` forces the stacks' CPU layout
        (None: `self.fused`)."""
        with self._lock:
            experts = tuple(
                (s.expert, s.weight) for s in self.slots.values() if s.enabled and s.weight > 0
            )
            reward = self.reward if self.reward_enabled else None
            potentials = self.potentials
        fused = self.fused if fused is None else fused
        return Snapshot(experts, reward, self._groups(experts, dtype, fused), dtype, potentials)

    def _groups(self, experts, dtype: torch.dtype, fused: bool | None) -> tuple:
        """Experts that share a `group_key`, as stacks (a lone one too: its time features
        are then folded once per call as well)."""
        if not self.grouped:
            return ()
        members: dict[tuple, list[int]] = {}
        for i, (expert, _) in enumerate(experts):
            key = getattr(expert, "group_key", None)
            if key is not None:
                members.setdefault(key, []).append(i)
        groups = []
        for indices in members.values():
            chosen = [experts[i][0] for i in indices]
            cache_key = (tuple(id(e) for e in chosen), dtype, self.graphs, fused)
            if cache_key not in self._stacks:
                self._stacks[cache_key] = AxisFlowStack(chosen, dtype, fused, self.graphs)
            groups.append((self._stacks[cache_key], tuple(indices)))
        return tuple(groups)

    def _slot(self, name: str) -> ExpertSlot:
        try:
            return self.slots[name]
        except KeyError:
            known = ", ".join(self.slots) or "none"
            raise InputError(f"no expert named {name!r} (known: {known})") from None
