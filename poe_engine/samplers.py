"""Samplers as streaming iterators: each denoising step yields a `StepRecord`.

The same iterator serves the GUI, the command line, recordings and tests. Each
step reads the composition afresh (`Composition.snapshot`), so experts, weights
and the reward can change mid-run.

- `euler`: the denoising ODE alone, from t = 1 to t = 0.
- `ais`: annealed importance sampling (the paper's sampler): at every level an
  Euler step of the product's ODE, then Langevin refinement at the level the
  particles have reached, then importance weights from the reward and
  resampling when the effective sample size drops under a threshold.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, fields

import torch

from .errors import InputError
from .flow import time_grid
from .precision import DTYPES, PRECISIONS, resolve_precision
from .product import Composition, Snapshot
from .world import DEFAULT_POINTS, NOISE, make_generator

RESAMPLING = ("systematic", "multinomial")
WEIGHTING = ("incremental", "potential")


class SamplerError(RuntimeError):
    """A run that cannot go on (for instance, non-finite values)."""


@dataclass(frozen=True)
class SamplerSettings:
    particles: int = 8
    points: int = DEFAULT_POINTS
    steps: int = 128
    langevin_steps: int = 3
    kappa: float = 0.05
    ode_scale: float = 1.0
    ess_threshold: float = 0.5  # resample when ESS < threshold * particles
    resampling: str = "systematic"
    weighting: str = "incremental"
    precision: str = "auto"  # of the experts' matrix products: auto | fp32 | bf16
    keep_particles: bool = False  # put every particle into each record

    # Allowed ranges: (low, high), inclusive.
    LIMITS = {
        "particles": (1, 64),
        "points": (16, 4096),
        "steps": (1, 512),
        "langevin_steps": (0, 10),
        "kappa": (0.0, 0.5),
        "ode_scale": (0.0, 2.0),
        "ess_threshold": (0.0, 1.0),
    }

    def __post_init__(self) -> None:
        for name, (low, high) in self.LIMITS.items():
            value = getattr(self, name)
            if isinstance(low, int) and (isinstance(value, bool) or not isinstance(value, int)):
                raise InputError(f"{name} must be an integer, got {value!r}")
            if not (isinstance(value, int | float) and math.isfinite(value)):
                raise InputError(f"{name} must be a number, got {value!r}")
            if not low <= value <= high:
                raise InputError(f"{name} must lie in [{low}, {high}], got {value}")
        if self.resampling not in RESAMPLING:
            raise InputError(f"resampling must be one of {', '.join(RESAMPLING)}")
        if self.weighting not in WEIGHTING:
            raise InputError(f"weighting must be one of {', '.join(WEIGHTING)}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class StepRecord:
    """One denoising step. Tensors stay on the sampler's device; the scalars a consumer
    reads (`ess`, `resampled`, `best_index`, `ancestors`) are copied to the host when
    first read, so the sampler itself never waits for the device."""

    index: int  # 0-based denoising step
    steps: int
    t: float  # the level the particles reached
    best: torch.Tensor  # (N, 6), the particle of highest log-weight
    log_weights: torch.Tensor  # (L,) float64, before any resampling at this step
    experts: tuple[str, ...]  # experts in play at this step
    reward: str | None  # reward in play at this step
    precision: str = "fp32"  # of the experts' matrix products
    weights: tuple[float, ...] = ()  # of the experts in play, in the order of `experts`
    strength: float | None = None  # of the reward in play (None: no reward)
    particles: torch.Tensor | None = None  # (L, N, 6) when settings.keep_particles
    # device values behind the properties below
    ess_value: torch.Tensor | None = None  # 0-d
    resampled_flag: torch.Tensor | None = None  # 0-d bool
    ancestor_indices: torch.Tensor | None = None  # (L,), identity where not resampled

    @functools.cached_property
    def ess(self) -> float:
        return float(self.ess_value) if self.ess_value is not None else float("nan")

    @functools.cached_property
    def resampled(self) -> bool:
        return self.resampled_flag is not None and bool(self.resampled_flag)

    @functools.cached_property
    def best_index(self) -> int:
        return int(torch.argmax(self.log_weights))

    @property
    def ancestors(self) -> torch.Tensor | None:
        """After a resampling, particle j of the next step descends from ancestors[j]."""
        return self.ancestor_indices if self.resampled else None


# --------------------------------------------------------------------------- moves


def ode_step(product: Snapshot, x: torch.Tensor, t: float, t_next: float, scale: float):
    """One Euler step of the product's denoising ODE from level t to t_next."""
    return x + (scale * (t_next - t)) * product.velocity(x, t)


def langevin_step(
    product: Snapshot, x: torch.Tensor, t: float, kappa: float, generator: torch.Generator
) -> torch.Tensor:
    """Preconditioned unadjusted Langevin at level t: x + M score + sqrt(2 M) noise.

    Per channel, M = h (I + g N P), with h the channel's step, P the projection
    onto a shift of all N points together, and g its owners' mean mobility
    (0 for most: plain Langevin). Any such M leaves the target invariant.
    Channels of bounded experts (colours) are reflected back into their support,
    a valid move for a target that is zero outside it.
    """
    score, step = product.score_and_step(x, t, kappa)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    mobility = product.mean_mobility()
    if any(mobility):  # known on the host: no wait for the device
        boost = torch.tensor(mobility, device=x.device) * x.shape[-2]  # g N per channel
        score = score + boost * score.mean(dim=-2, keepdim=True)
        noise = noise + (torch.sqrt(1.0 + boost) - 1.0) * noise.mean(dim=-2, keepdim=True)
    x = x + step * score + torch.sqrt(2.0 * step) * noise
    for channels, low, high in product.bounds():
        x[..., channels] = reflect(x[..., channels], low, high)
    return x


def reflect(v: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Fold values back into [low, high] as a mirror would."""
    width = high - low
    u = torch.remainder(v - low, 2.0 * width)
    return low + torch.where(u > width, 2.0 * width - u, u)


# --------------------------------------------------------------------------- weights


def ess_of(log_weights: torch.Tensor) -> torch.Tensor:
    """Effective sample size 1 / sum(w^2) of the normalised weights, as a 0-d tensor."""
    w = torch.softmax(log_weights.double(), dim=0)
    return 1.0 / (w * w).sum()


def effective_sample_size(log_weights: torch.Tensor) -> float:
    return float(ess_of(log_weights))


def resample(log_weights: torch.Tensor, scheme: str, generator: torch.Generator) -> torch.Tensor:
    """Ancestor indices, drawn in proportion to the weights."""
    n = log_weights.shape[0]
    w = torch.softmax(log_weights.double(), dim=0)
    if scheme == "multinomial":
        return torch.multinomial(w, n, replacement=True, generator=generator)
    # systematic: one uniform offset, n evenly spaced pointers into the weights' CDF
    u = torch.rand((), generator=generator, device=w.device, dtype=w.dtype)
    pointers = (u + torch.arange(n, device=w.device, dtype=w.dtype)) / n
    idx = torch.searchsorted(torch.cumsum(w, dim=0), pointers)
    return idx.clamp_max(n - 1)


def _record(
    k: int, t: float, x: torch.Tensor, log_w: torch.Tensor, product: Snapshot,
    settings: SamplerSettings, precision: str, ess: torch.Tensor,
    resampled: torch.Tensor | None = None, ancestors: torch.Tensor | None = None,
) -> StepRecord:
    best = torch.argmax(log_w).reshape(1)
    return StepRecord(
        index=k,
        steps=settings.steps,
        t=t,
        best=x.index_select(0, best)[0],
        log_weights=log_w.clone(),
        experts=product.names,
        reward=None if product.reward is None else product.reward.name,
        precision=precision,
        weights=tuple(w for _, w in product.experts),
        strength=None if product.reward is None else product.reward.strength,
        particles=x.clone() if settings.keep_particles else None,
        ess_value=ess,
        resampled_flag=resampled,
        ancestor_indices=ancestors,
    )


def _check_finite(x: torch.Tensor, k: int, t: float) -> None:
    if not bool(torch.isfinite(x).all()):
        raise SamplerError(f"the sampler produced non-finite values at step {k + 1} (t = {t:.4f})")


# --------------------------------------------------------------------------- samplers


def _start(settings: SamplerSettings, seed: int, device: torch.device | str):
    """The run's random generator, its noise clouds (L, N, 6), its level grid and the
    precision of the experts' products."""
    generator = make_generator(seed, device)
    x = NOISE.sample(settings.particles, settings.points, generator, device)
    precision = resolve_precision(settings.precision, device)
    return generator, x, time_grid(settings.steps), precision


def euler(
    composition: Composition,
    settings: SamplerSettings,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> Iterator[StepRecord]:
    """Plain Euler integration of the product's ODE, every particle independent.

    If a reward is on, the log-weights are its value per particle (best-of-L
    selection, no resampling); otherwise they are zero and particle 0 is shown.
    """
    _, x, grid, precision = _start(settings, seed, device)
    zeros = torch.zeros(settings.particles, device=x.device, dtype=torch.float64)
    for k in range(settings.steps):
        product = composition.snapshot(DTYPES[precision])
        x = ode_step(product, x, grid[k], grid[k + 1], settings.ode_scale)
        _check_finite(x, k, grid[k + 1])
        reward = product.log_reward(x)
        log_w = reward if reward is not None else zeros
        yield _record(k, grid[k + 1], x, log_w, product, settings, precision, ess_of(log_w))


def ais(
    composition: Composition,
    settings: SamplerSettings,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> Iterator[StepRecord]:
    """Annealed importance sampling over a product of experts.

    Target of the weights. Let q_k be the distribution the moves carry the
    particles to at level t_k (the ODE transports the generative product's
    marginals; Langevin at t_k leaves them approximately invariant) and R the
    log-reward. With `weighting="incremental"` (the paper's SMC weighting) a
    particle's log-weight grows at each step by R_k(x_k) - A, where R_k is the
    reward in play at step k (zero when off) and A the potential already applied
    to the particle's ancestry (zero at the start). The increments telescope, so
    the weighted particles at level t_k target
        pi_k(x)  proportional to  q_k(x) * exp(R_k(x)),
    and the final ones the reward-tilted product q_0(x) exp(R(x)). A reward
    switched or recoloured mid-run is thus reweighted to at once. With
    `weighting="potential"` (the reference implementation) the log-weight is
    R(x) itself at every step; each resampling then applies the tilt again, so
    the effective target is sharper than exp(R) by an unknown power.
    After a resampling all log-weights restart at zero.

    The ESS test and the resampling run on the device without a branch on the host:
    ancestors are drawn at every step and used only where the ESS fell under the
    threshold. Weights, ESS and resampling are computed in float64.
    """
    generator, x, grid, precision = _start(settings, seed, device)
    log_w = torch.zeros(settings.particles, device=x.device, dtype=torch.float64)
    applied = torch.zeros_like(log_w)  # potential already folded into the weights
    identity = torch.arange(settings.particles, device=x.device)
    threshold = settings.ess_threshold * settings.particles
    for k in range(settings.steps):
        product = composition.snapshot(DTYPES[precision])
        t_next = grid[k + 1]

        x = ode_step(product, x, grid[k], t_next, settings.ode_scale)
        if t_next > 0:  # the data level has no score to refine with
            for _ in range(settings.langevin_steps):
                x = langevin_step(product, x, t_next, settings.kappa, generator)
        _check_finite(x, k, t_next)

        potential = product.log_reward(x)
        if potential is None:
            potential = torch.zeros_like(log_w)
        if settings.weighting == "incremental":
            log_w = log_w + (potential - applied)
            applied = potential
        else:
            log_w = potential
        ess = ess_of(log_w)
        resampling = ess < threshold
        ancestors = torch.where(resampling, resample(log_w, settings.resampling, generator),
                                identity)
        yield _record(k, t_next, x, log_w, product, settings, precision, ess, resampling,
                      ancestors)
        x, applied = x[ancestors], applied[ancestors]
        log_w = torch.where(resampling, torch.zeros_like(log_w), log_w)


SAMPLERS = {"ais": ais, "euler": euler}
