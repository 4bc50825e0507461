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
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from .errors import InputError
from .experts import ColorReward, GenerativeExpert

NUM_CHANNELS = 6
MAX_WEIGHT = 10.0


@dataclass
class ExpertSlot:
    expert: GenerativeExpert
    enabled: bool = True
    weight: float = 1.0


@dataclass(frozen=True)
class Snapshot:
    """The experts in play (weight > 0) and the reward, fixed for one step."""

    experts: tuple[tuple[GenerativeExpert, float], ...]
    reward: ColorReward | None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e, _ in self.experts)

    def velocity(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        """Per channel, the weight-averaged velocity of its owners (zero where unowned)."""
        total = torch.zeros_like(cloud)
        weight = [0.0] * NUM_CHANNELS
        for expert, w in self.experts:
            ch = list(expert.channels)
            total[..., ch] += w * expert.velocity(cloud, t)
            for c in ch:
                weight[c] += w
        scale = torch.tensor([1.0 / w if w > 0 else 0.0 for w in weight], device=cloud.device)
        return total * scale

    def score_and_step(
        self, cloud: torch.Tensor, t: float, kappa: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The product's score and a per-channel Langevin step size.

        An expert of weight w and noise std sigma has curvature about w / (t sigma)^2
        at level t, so a channel's step is kappa over its owners' summed curvature:
        kappa (t sigma)^2 for a lone expert of weight 1. The step thus shrinks with
        the level's noise, and kappa <= 0.5 keeps every Langevin move contracting.
        """
        score = torch.zeros_like(cloud)
        curvature = [0.0] * NUM_CHANNELS
        for expert, w in self.experts:
            ch = list(expert.channels)
            score[..., ch] += w * expert.score(cloud, t)
            level_std = max(t, 1e-6) * expert.noise_std
            for c in ch:
                curvature[c] += w / (level_std * level_std)
        step = torch.tensor([kappa / c if c > 0 else 0.0 for c in curvature], device=cloud.device)
        return score, step

    def mean_mobility(self, device: torch.device | str) -> torch.Tensor:
        """Per channel, the largest mean mobility among its owners (0 for most)."""
        mobility = [0.0] * NUM_CHANNELS
        for expert, _ in self.experts:
            for c in expert.channels:
                mobility[c] = max(mobility[c], float(expert.mean_mobility))
        return torch.tensor(mobility, device=device)

    def bounds(self) -> list[tuple[int, float, float]]:
        """(channel, low, high) for channels whose owners have a bounded support."""
        out = []
        for expert, _ in self.experts:
            if expert.bounds is not None:
                out += [(c, *expert.bounds) for c in expert.channels]
        return out

    def log_reward(self, clouds: torch.Tensor) -> torch.Tensor | None:
        return None if self.reward is None else self.reward.log_reward(clouds)


@dataclass
class Composition:
    """Experts and reward a run multiplies together; safe to change from another thread."""

    slots: dict[str, ExpertSlot] = field(default_factory=dict)
    reward: ColorReward | None = None
    reward_enabled: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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

    def snapshot(self) -> Snapshot:
        with self._lock:
            experts = tuple(
                (s.expert, s.weight) for s in self.slots.values() if s.enabled and s.weight > 0
            )
            reward = self.reward if self.reward_enabled else None
        return Snapshot(experts, reward)

    def _slot(self, name: str) -> ExpertSlot:
        try:
            return self.slots[name]
        except KeyError:
            known = ", ".join(self.slots) or "none"
            raise InputError(f"no expert named {name!r} (known: {known})") from None
