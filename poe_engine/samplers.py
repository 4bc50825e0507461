"""Samplers as streaming iterators: each denoising step yields a `StepRecord`.

The same iterator serves the GUI, the command line, recordings and tests. Each
step reads the composition afresh (`Composition.snapshot`), so experts, weights
and the reward can change mid-run.

- `euler`: the denoising ODE alone, from t = 1 to t = 0.
- `ais`: annealed importance sampling (the paper's sampler): at every level an
  Euler step of the product's ODE, then Langevin refinement at the level the
  particles have reached, importance weights from the reward (after blind moves,
  or before moves tilted by the reward) and resampling when the effective sample
  size drops under a threshold.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields

import torch

from .errors import InputError
from .experts import ColorReward
from .flow import time_grid
from .precision import DTYPES, PRECISIONS, resolve_precision
from .product import NUM_CHANNELS, Composition, Snapshot
from .world import DEFAULT_POINTS, NOISE, RGB, SEED_RANGE, make_generator

RESAMPLING = ("systematic", "multinomial")
WEIGHTING = ("incremental", "potential", "paper")
SCHEDULES = ("constant", "linear", "adaptive")
KERNELS = ("ula", "mala")
MOVES = ("blind", "tilted")
BISECTION_STEPS = 24  # of the adaptive schedule: the scale to within 2^-24 of its interval


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
    weighting: str = "incremental"  # incremental | potential | paper (see `ais`)
    schedule: str = "adaptive"  # of the reward's scale lambda(t): constant | linear | adaptive
    schedule_target: float = 0.5  # adaptive: keep the increment's conditional ESS >= this * L
    resample_every: int = 0  # also resample every k levels (0: the ESS trigger alone)
    kernel: str = "ula"  # Langevin refinement: ula (unadjusted) | mala (Metropolis-adjusted)
    moves: str = "tilted"  # whether the Langevin moves see the reward: blind | tilted (`ais`)
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
        "schedule_target": (0.0, 1.0),
        "resample_every": (0, 512),
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
        if self.schedule not in SCHEDULES:
            raise InputError(f"schedule must be one of {', '.join(SCHEDULES)}")
        if self.kernel not in KERNELS:
            raise InputError(f"kernel must be one of {', '.join(KERNELS)}")
        if self.moves not in MOVES:
            raise InputError(f"moves must be one of {', '.join(MOVES)}")
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
    # The particle system (floats, or 0-d device tensors read with float()):
    reward_scale: float | torch.Tensor = 1.0  # lambda in [0, 1]: the reward's multiplier
    acceptance: float | torch.Tensor = float("nan")  # of the accept/reject tests; NaN: none
    log_z: float | torch.Tensor = 0.0  # running estimate of log Z of the reward's tilt
    rewards: torch.Tensor | None = None  # (L,) float64: full-strength R(x), before resampling
    product: Snapshot | None = field(default=None, repr=False)  # what `denoised` evaluates

    @functools.cached_property
    def denoised(self) -> torch.Tensor | None:
        """x0_hat = x_t - t v(x_t, t) (`flow.py`: E[x_0 | x_t]) of the best particle, (N, 6):
        the clean cloud the product predicts from it (k-diffusion's `denoised`). Computed
        when first read, for that one particle: one product evaluation of 1 particle, and
        none for a consumer that never asks. All six channels are the product's
        prediction: where the colour expert is on, its colours are the cloud's mean colour
        (the colour it will end in); a channel no expert owns keeps x_t's value."""
        if self.product is None:
            return None
        if self.t <= 0:  # the data level: x0_hat is x itself (and v is singular there)
            return self.best.clone()
        velocity = self.product.velocity(self.best.unsqueeze(0), self.t)[0]
        return self.best - self.t * velocity

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


def _boost(product: Snapshot, x: torch.Tensor) -> torch.Tensor | None:
    """Per channel, g N of the preconditioner M = h (I + g N P); None where all are 0."""
    mobility = product.mean_mobility()
    if not any(mobility):  # known on the host: no wait for the device
        return None
    return torch.tensor(mobility, device=x.device) * x.shape[-2]


def _propose(x, score, step, boost, noise):
    """x + M score + sqrt(2 M) noise, M = h (I + b P), P the mean over the points."""
    if boost is not None:
        score = score + boost * score.mean(dim=-2, keepdim=True)
        noise = noise + (torch.sqrt(1.0 + boost) - 1.0) * noise.mean(dim=-2, keepdim=True)
    return x + step * score + torch.sqrt(2.0 * step) * noise


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
    x = _propose(x, score, step, _boost(product, x), noise)
    for channels, low, high in product.bounds():
        x[..., channels] = reflect(x[..., channels], low, high)
    return x


def _log_proposal(d: torch.Tensor, step: torch.Tensor, boost: torch.Tensor | None):
    """-1/4 d^T M^-1 d per point and channel (summed later), M = h (I + b P):
    M^-1 = (I - b / (1 + b) P) / h, so d^T M^-1 d = (|d|^2 - b / (1 + b) N |mean d|^2) / h
    per channel. Channels of step 0 (no owner) contribute 0. Returns (L, N, C) float64 with
    the mean term spread evenly over the points (its sum per particle is exact)."""
    d = d.double()
    inv_h = torch.where(step > 0, 1.0 / step.clamp_min(1e-300), 0.0).double()
    quad = d * d
    if boost is not None:
        b = boost.double()
        quad = quad - (b / (1.0 + b)) * d.mean(dim=-2, keepdim=True) ** 2
    return -0.25 * quad * inv_h


def reward_channels(reward) -> tuple[int, ...]:
    """The channels a reward reads: those it names (`channels`), r, g, b for a colour reward
    (a function of the cloud's mean colour), all six otherwise (always valid, but then
    every move of a particle is accepted or rejected as one)."""
    named = getattr(reward, "channels", None)
    if named is not None:
        return tuple(named)
    return tuple(range(NUM_CHANNELS)[RGB]) if isinstance(reward, ColorReward) else tuple(
        range(NUM_CHANNELS))


def tilted_langevin_steps(
    product: Snapshot, x: torch.Tensor, t: float, kappa: float, n: int, scale: torch.Tensor,
    generator: torch.Generator, tests: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` moves of `langevin_step` at level t that see the reward: per particle, the move
    of the reward's channels is taken with probability min(1, exp(scale (R(x') - R(x))))
    and the other channels' moves always. The Langevin move is approximately reversible
    for the reward-free level q_t (ULA: exactly only as the step goes to 0), so the test
    makes it approximately invariant for q_t exp(scale R). The test's uniforms come from
    `tests`, so the noise is that of blind moves. Returns the particles and the mean
    acceptance rate of the test (0-d)."""
    tilted = torch.zeros(NUM_CHANNELS, dtype=torch.bool, device=x.device)
    tilted[list(reward_channels(product.reward))] = True
    reward = product.log_reward(x)
    rates = []
    for _ in range(n):
        y = langevin_step(product, x, t, kappa, generator)
        reward_y = product.log_reward(y)
        u = torch.rand(x.shape[0], generator=tests, device=x.device, dtype=torch.float64)
        ok = torch.log(u) < scale * (reward_y - reward)
        x = torch.where(tilted & ~ok[:, None, None], x, y)
        reward = torch.where(ok, reward_y, reward)
        rates.append(ok.double().mean())
    return x, torch.stack(rates).mean()


def mala_steps(
    product: Snapshot, x: torch.Tensor, t: float, kappa: float, n: int,
    generator: torch.Generator, scale: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` Metropolis-adjusted Langevin steps at level t; returns the particles and the mean
    acceptance (0-d): per step, the mean of the position rate and the colour rate.
    With a `scale` (tilted moves) and a reward in play, the target is the level tilted by
    exp(scale R): the reward's channels are accepted per particle, with scale (R(x') - R(x))
    added to their log ratio.

    Proposal: the preconditioned Langevin move of `langevin_step` (no reflection).
    log pi(x') - log pi(x) by the trapezoid rule along the move, 0.5 (s(x) + s(x')).(x' - x),
    from the scores at both ends; proposal densities N(x + M s(x), 2 M) both ways. Channels
    whose owners have no mean mobility (positions: the axis experts' product factorizes over
    points) are accepted per point; the others (colours: the colour expert couples a
    cloud's points through its mean) per particle. A proposal that leaves a bounded
    support is rejected (the target is zero there), which keeps detailed balance.
    Cost: the proposal's score is reused by the next step, so a level costs n + 1 score
    evaluations (one more than ULA's n)."""
    score, step = product.score_and_step(x, t, kappa)
    boost = _boost(product, x)
    mobility = product.mean_mobility()
    owned = {c for expert, _ in product.experts for c in expert.channels}  # on the host
    tilt = scale is not None and product.reward is not None
    tilted = set(reward_channels(product.reward)) if tilt else set()
    by_point = [c in owned and m == 0 and c not in tilted for c, m in enumerate(mobility)]
    by_particle = [c in owned and (m > 0 or c in tilted) for c, m in enumerate(mobility)]
    has_point, has_particle = any(by_point), any(by_particle)
    point_ch = torch.tensor(by_point, device=x.device)
    particle_ch = torch.tensor(by_particle, device=x.device)
    reward = product.log_reward(x) if tilt else None
    bounds = product.bounds()
    rates = []
    for _ in range(n):
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        y = _propose(x, score, step, boost, noise)
        score_y, _ = product.score_and_step(y, t, kappa)
        drift_x = _propose(torch.zeros_like(x), score, step, boost, torch.zeros_like(x))
        drift_y = _propose(torch.zeros_like(x), score_y, step, boost, torch.zeros_like(x))
        log_pi = 0.5 * (score.double() + score_y.double()) * (y - x).double()
        log_a = (log_pi + _log_proposal(x - y - drift_y, step, boost)
                 - _log_proposal(y - x - drift_x, step, boost))  # (L, N, C)
        outside = torch.zeros(x.shape, dtype=torch.bool, device=x.device)  # (L, N, C)
        for channels, low, high in bounds:
            c = y[..., channels]
            outside[..., channels] = (c < low) | (c > high)
        u = torch.rand((x.shape[0], x.shape[1] + 1), generator=generator, device=x.device,
                       dtype=torch.float64)  # one per point, and one per particle
        per_point = (log_a * point_ch).sum(dim=-1)  # (L, N)
        ok_point = (torch.log(u[:, 1:]) < per_point) & ~(outside & point_ch).any(dim=-1)
        per_particle = (log_a * particle_ch).sum(dim=(-1, -2))  # (L,)
        if tilt:
            reward_y = product.log_reward(y)
            per_particle = per_particle + scale * (reward_y - reward)
        ok_particle = ((torch.log(u[:, 0]) < per_particle)
                       & ~(outside & particle_ch).any(dim=-1).any(dim=-1))
        take = torch.where(point_ch, ok_point[..., None], False) | torch.where(
            particle_ch, ok_particle[:, None, None], False)
        x = torch.where(take, y, x)
        score = torch.where(take, score_y, score)
        if tilt:
            reward = torch.where(ok_particle, reward_y, reward)
        parts = []
        if has_point:
            parts.append(ok_point.double().mean())
        if has_particle:
            parts.append(ok_particle.double().mean())
        rates.append(torch.stack(parts).mean() if parts else torch.ones((), dtype=torch.float64,
                                                                        device=x.device))
    acceptance = (torch.stack(rates).mean() if rates
                  else torch.tensor(float("nan"), dtype=torch.float64, device=x.device))
    return x, acceptance


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
    best: torch.Tensor | None = None, **system,
) -> StepRecord:
    best = torch.argmax(log_w).reshape(1) if best is None else best.reshape(1)
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
        product=product,
        **system,
    )


def _check_finite(x: torch.Tensor, k: int, t: float) -> None:
    if not bool(torch.isfinite(x).all()):
        raise SamplerError(f"the sampler produced non-finite values at step {k + 1} (t = {t:.4f})")


def log_mean_increment(log_w: torch.Tensor, increment: torch.Tensor) -> torch.Tensor:
    """log sum_i W_i exp(increment_i), W the normalised weights of `log_w` (0-d)."""
    return torch.logsumexp(log_w + increment, dim=0) - torch.logsumexp(log_w, dim=0)


def conditional_ess(log_w: torch.Tensor, increment: torch.Tensor) -> torch.Tensor:
    """(sum W_i e^inc_i)^2 / sum W_i e^(2 inc_i): the conditional ESS of an increment as a
    fraction of the particles (1: the increment changes no weight's share). Broadcasts over
    leading dimensions of `increment`."""
    w = torch.log_softmax(log_w, dim=0)
    return torch.exp(2 * torch.logsumexp(w + increment, dim=-1)
                     - torch.logsumexp(w + 2 * increment, dim=-1))


def adaptive_scale(log_w: torch.Tensor, reward: torch.Tensor, applied: torch.Tensor,
                   previous: torch.Tensor, target: float) -> torch.Tensor:
    """The largest scale lambda in [previous, 1] (by bisection, on the device) for which the
    increment lambda R - applied keeps the conditional ESS >= target; `previous` where even
    that one falls short, 1 where 1 passes."""
    def ok(lam):
        return conditional_ess(log_w, lam * reward - applied) >= target

    one = torch.ones_like(previous)
    low, high = previous, one
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (low + high)
        good = ok(mid)
        low, high = torch.where(good, mid, low), torch.where(good, high, mid)
    return torch.where(ok(one), one, low)


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
    The particles are independent draws, so `log_z` is log mean exp R(x) of the step.
    """
    _, x, grid, precision = _start(settings, seed, device)
    zeros = torch.zeros(settings.particles, device=x.device, dtype=torch.float64)
    for k in range(settings.steps):
        product = composition.snapshot(DTYPES[precision])
        x = ode_step(product, x, grid[k], grid[k + 1], settings.ode_scale)
        _check_finite(x, k, grid[k + 1])
        reward = product.log_reward(x)
        log_w = reward if reward is not None else zeros
        yield _record(k, grid[k + 1], x, log_w, product, settings, precision, ess_of(log_w),
                      rewards=log_w.clone(), log_z=log_mean_increment(zeros, log_w))


def ais(
    composition: Composition,
    settings: SamplerSettings,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> Iterator[StepRecord]:
    """Annealed importance sampling over a product of experts.

    Moves. Let q_k be the law of the reward-free chain at level t_k: the ODE transports
    the generative product's marginals, and Langevin at t_k, `ula` or `mala`, leaves them
    approximately (ULA) or exactly up to the trapezoid rule (MALA) invariant. `moves`:
    - `blind`: the moves never see the reward; the weight increment of level k is taken
      after them, so it holds the moves' change of R as well as the schedule's.
    - `tilted` (resample-move SMC, with `incremental` weighting only): the increment is
      taken after the ODE step and before the Langevin moves, which then target the
      tilted level pi_k ~ q_k exp(lambda_k R): per particle, the move of the reward's
      channels (`reward_channels`) is accepted with the ratio exp(lambda_k (R(x') -
      R(x))), times MALA's own ratio under `mala`; under `ula` the move itself is only
      approximately q_k-reversible, so the test makes it approximately pi_k-invariant.
      The moves then cannot unbalance the weights: the increment holds the ODE step's
      change of R (none for a colour reward: the colour expert's Euler step keeps a
      cloud's mean colour) and the schedule's step (lambda_k - lambda_{k-1}) R. The
      record's `acceptance` is then that of the reward test (MALA: averaged with the
      position rate as without it); blind ULA makes no test (NaN).
    `potential` and `paper` weighting always move blind.

    Reward scale. R is the full-strength log-reward in play; level k applies
    lambda_k R, lambda_k in [0, 1] (`reward_scale` in the record) by `schedule`:
    `constant` lambda = 1 (the reference's), `linear` lambda = 1 - t_k, `adaptive` the
    largest lambda in [lambda_{k-1}, 1] whose weight increment keeps the conditional ESS
    >= schedule_target * L (bisection). Every schedule ends at lambda = 1 at t = 0.

    Weighting, and what the weighted particles target:
    - `incremental` (exact SMC; default): a log-weight grows by lambda_k R(x_k) - A,
      A the potential already applied to the particle's ancestry (lambda_{k-1} R(x_{k-1})
      of its ancestor, its state at the end of level k-1; 0 at the start), x_k the
      particle after the moves (blind) or before them (tilted). Blind, the increments
      telescope, so the weighted particles at level k target pi_k(x) ~ q_k(x)
      exp(lambda_k R(x)) whatever the moves do. Tilted, the ODE step carries pi_{k-1} to
      q_k exp(lambda_{k-1} R(ancestor)), the increment corrects that to pi_k, and the
      moves keep pi_k: the same targets, exact as far as the level's kernel leaves q_k
      invariant. The final particles target the reward-tilted product q_0(x) exp(R(x)).
      A reward switched or recoloured mid-run is reweighted to at once.
    - `potential` (the reference demo's): the log-weight is lambda_k R(x_k) itself; each
      resampling applies the tilt again, so the target is sharper than exp(R) by an
      unknown power (it depends on how often the ESS trigger fires).
    - `paper` (the paper's Algorithm 1): log-weights = lambda_k R(x_k), resampling at
      every level whatever the ESS, and the shown particle is the one of highest
      reward. Its target is that of repeated selection, q_0 tilted by exp(R) once per
      level (a greedy search, as in the paper), not q_0 exp(R).
    Resampling (`resampling` scheme) happens when ESS < ess_threshold * L, or every
    `resample_every` levels (0: never on that count), or at every level for `paper`;
    after it all log-weights restart at zero.

    log Z. `log_z` accumulates, per level, log sum_i W_i exp(lambda_k R(x_k,i) - A_i), W
    the normalised weights before the increment (uniform after a resampling): under
    `incremental` the usual SMC estimate of log E_q0[exp R] (its exponential is
    unbiased; with tilted moves, as far as the kernels keep their pi_k), exactly R for a
    constant reward and 0 without one. Under `potential` and `paper` the same sum is
    reported but estimates nothing exact.

    The ESS test, the schedule and the resampling run on the device without a branch on
    the host: ancestors are drawn at every step and used only where resampling is due.
    Weights, ESS, rewards and resampling are computed in float64.
    """
    generator, x, grid, precision = _start(settings, seed, device)
    log_w = torch.zeros(settings.particles, device=x.device, dtype=torch.float64)
    applied = torch.zeros_like(log_w)  # potential already folded into the weights
    log_z = torch.zeros((), device=x.device, dtype=torch.float64)
    scale = torch.zeros((), device=x.device, dtype=torch.float64)
    identity = torch.arange(settings.particles, device=x.device)
    threshold = settings.ess_threshold * settings.particles
    paper = settings.weighting == "paper"
    tilted = settings.moves == "tilted" and settings.weighting == "incremental"
    tests = _test_generator(seed, x.device) if tilted else None
    for k in range(settings.steps):
        product = composition.snapshot(DTYPES[precision])
        t_next = grid[k + 1]

        x = ode_step(product, x, grid[k], t_next, settings.ode_scale)
        if tilted:  # weigh before the moves: the increment sees the ODE step alone
            before_moves = _reward(product, x, log_w)
            scale = _next_scale(settings, t_next, log_w, before_moves, applied, scale)
            increment = scale * before_moves - applied
        acceptance: float | torch.Tensor = float("nan")
        if t_next > 0 and settings.langevin_steps > 0:  # the data level has no score
            n = settings.langevin_steps
            if settings.kernel == "mala":
                x, acceptance = mala_steps(product, x, t_next, settings.kappa, n, generator,
                                           scale if tilted else None)
            elif tilted and product.reward is not None:
                x, acceptance = tilted_langevin_steps(product, x, t_next, settings.kappa, n,
                                                      scale, generator, tests)
            else:
                for _ in range(n):
                    x = langevin_step(product, x, t_next, settings.kappa, generator)
        _check_finite(x, k, t_next)

        reward = _reward(product, x, log_w)
        if not tilted:  # weigh after the moves: the increment sees them too
            scale = _next_scale(settings, t_next, log_w, reward, applied, scale)
            increment = scale * reward - applied
        potential = scale * reward
        log_z = log_z + log_mean_increment(log_w, increment)
        if settings.weighting == "incremental":
            log_w = log_w + increment
        else:
            log_w = potential
        applied = potential
        ess = ess_of(log_w)
        resampling = ess < threshold
        if paper or (settings.resample_every and (k + 1) % settings.resample_every == 0):
            resampling = torch.ones_like(resampling)
        ancestors = torch.where(resampling, resample(log_w, settings.resampling, generator),
                                identity)
        yield _record(k, t_next, x, log_w, product, settings, precision, ess, resampling,
                      ancestors, best=torch.argmax(reward) if paper else None,
                      reward_scale=scale, acceptance=acceptance, log_z=log_z,
                      rewards=reward.clone())
        x, applied = x[ancestors], applied[ancestors]
        log_w = torch.where(resampling, torch.zeros_like(log_w), log_w)


def _reward(product: Snapshot, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The full-strength log-reward per particle in float64; zeros without a reward."""
    reward = product.log_reward(x)
    return torch.zeros_like(like) if reward is None else reward.double()


def _next_scale(settings: SamplerSettings, t_next: float, log_w: torch.Tensor,
                reward: torch.Tensor, applied: torch.Tensor, scale: torch.Tensor):
    """lambda of the level t_next by the schedule (1 at the data level)."""
    if settings.schedule == "constant" or t_next <= 0:
        return torch.ones_like(scale)
    if settings.schedule == "linear":
        return torch.full_like(scale, 1.0 - t_next)
    return adaptive_scale(log_w, reward, applied, scale, settings.schedule_target)


def _test_generator(seed: int, device: torch.device) -> torch.Generator:
    """The uniforms of tilted ULA's reward test: a stream of their own, so that the Langevin
    noise stays the one a blind run of the same seed draws."""
    return make_generator((int(seed) + 0x9E3779B97F4A7C15) % (SEED_RANGE[1] + 1), device)


SAMPLERS = {"ais": ais, "euler": euler}
