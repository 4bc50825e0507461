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

import contextlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from .errors import InputError
from .experts import GenerativeExpert
from .reward import ColorReward
from .stacked import AxisFlowStack

NUM_CHANNELS = 6
MAX_WEIGHT = 10.0


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
        """Per channel, the weight-averaged velocity of its owners (zero where unowned)."""
        total = torch.zeros_like(cloud)
        weight = [0.0] * NUM_CHANNELS
        for (expert, w), v in zip(self.experts, self.expert_velocities(cloud, t), strict=True):
            total[..., channel_index(expert.channels)] += w * v
            for c in expert.channels:
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
        for (expert, w), s in zip(self.experts, self.expert_scores(cloud, t), strict=True):
            score[..., channel_index(expert.channels)] += w * s
            level_std = max(t, 1e-6) * expert.noise_std
            for c in expert.channels:
                curvature[c] += w / (level_std * level_std)
        step = torch.tensor([kappa / c if c > 0 else 0.0 for c in curvature], device=cloud.device)
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
    reward: ColorReward | None = None
    reward_enabled: bool = True
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
        fused = self.fused if fused is None else fused
        return Snapshot(experts, reward, self._groups(experts, dtype, fused), dtype)

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
