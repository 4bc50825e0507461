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

The moves they chain live in `moves.py`, the weight maths in `weighting.py`; this module
holds the settings, the records and the two loops.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace

import torch

from .budget import colour_steps
from .errors import InputError
from .flow import GRIDS, time_grid
from .moves import hmc_steps, langevin_step, mala_steps, ode_step, tilted_langevin_steps
from .precision import DTYPES, PRECISIONS, resolve_precision
from .product import Composition, Cost, Snapshot
from .stacked import LAYERS, resolve_layers
from .weighting import adaptive_scale, ess_of, log_mean_increment, resample
from .world import DEFAULT_POINTS, NOISE, SEED_RANGE, make_generator

RESAMPLING = ("systematic", "multinomial")
WEIGHTING = ("incremental", "potential", "paper")
SCHEDULES = ("constant", "linear", "adaptive")
KERNELS = ("ula", "mala", "hmc")
MOVES = ("blind", "tilted")


class SamplerError(RuntimeError):
    """A run that cannot go on (for instance, non-finite values)."""


@dataclass(frozen=True)
class SamplerSettings:
    particles: int = 8
    points: int = DEFAULT_POINTS
    steps: int = 16  # levels (issue 21: 128 before, the `classic` preset's)
    langevin_steps: int = 1  # Langevin moves of every channel per level (3 before)
    kappa: float = 0.05
    ode_scale: float = 1.0
    ess_threshold: float = 0.5  # resample when ESS < threshold * particles
    resampling: str = "systematic"
    weighting: str = "incremental"  # incremental | potential | paper (see `ais`)
    schedule: str = "adaptive"  # of the reward's scale lambda(t): constant | linear | adaptive
    schedule_target: float = 0.5  # adaptive: keep the increment's conditional ESS >= this * L
    resample_every: int = 0  # also resample every k levels (0: the ESS trigger alone)
    kernel: str = "ula"  # Langevin refinement: ula (unadjusted) | mala (Metropolis-adjusted)
    # | hmc (positions by HMC, the other channels by Langevin)
    leapfrog: int = 4  # hmc: leapfrog steps per move (the other kernels ignore it)
    moves: str = "tilted"  # whether the Langevin moves see the reward: blind | tilted (`ais`)
    precision: str = "auto"  # of the experts' matrix products: auto | fp32 | bf16
    layers: str = "auto"  # the CPU layer path (`stacked.LAYERS`): auto | fused | plain
    keep_particles: bool = False  # put every particle into each record
    # Issue 21 (`budget.py`); the values before it are the `classic` preset's:
    colour_moves: int = 8  # per level, Langevin moves of the colours alone: no expert call (0)
    time_grid: str = "uniform"  # the levels (`flow.time_grid`): uniform | cosine | quadratic
    langevin_from: float = 0.25  # the Langevin moves run at the levels t <= this (1: all)

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
        "leapfrog": (1, 32),
        "colour_moves": (0, 32),
        "langevin_from": (0.0, 1.0),
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
        if self.time_grid not in GRIDS:
            raise InputError(f"time_grid must be one of {', '.join(GRIDS)}")
        if self.layers not in LAYERS:
            raise InputError(f"layers must be one of {', '.join(LAYERS)}")

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
    # (L,) ints: the branch of an OR each particle samples (mixture.py); None: one branch
    branch_labels: torch.Tensor | None = None
    compose: str | None = None  # the expression in force at this step (compose.py), if any
    nfe: int = 0  # grouped expert calls of the run so far, this step's included (`Cost`)
    evaluations: int = 0  # neural experts' evaluations (MLP forward passes) so far

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


# --------------------------------------------------------------------------- samplers


def _start(settings: SamplerSettings, seed: int, device: torch.device | str):
    """The run's random generator, its noise clouds (L, N, 6), its level grid, the
    precision of the experts' products and whether their CPU layers are fused (None:
    the composition's own choice, where settings.layers is 'auto')."""
    generator = make_generator(seed, device)
    x = NOISE.sample(settings.particles, settings.points, generator, device)
    precision = resolve_precision(settings.precision, device)
    fused = (None if settings.layers == "auto"
             else resolve_layers(settings.layers, device, DTYPES[precision]) == "fused")
    return generator, x, time_grid(settings.steps, settings.time_grid), precision, fused


def _counted(composition: Composition, precision: str, fused: bool | None, cost: Cost):
    """The step's snapshot, and the same counting its evaluations into `cost` (the record
    keeps the uncounted one: what a consumer evaluates later is not the run's)."""
    plain = composition.snapshot(DTYPES[precision], fused)
    return plain, replace(plain, cost=cost)


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
    _, x, grid, precision, fused = _start(settings, seed, device)
    zeros = torch.zeros(settings.particles, device=x.device, dtype=torch.float64)
    cost = Cost()
    for k in range(settings.steps):
        plain, product = _counted(composition, precision, fused, cost)
        x = ode_step(product, x, grid[k], grid[k + 1], settings.ode_scale)
        _check_finite(x, k, grid[k + 1])
        reward = product.log_reward(x)
        log_w = reward if reward is not None else zeros
        yield _record(k, grid[k + 1], x, log_w, plain, settings, precision, ess_of(log_w),
                      rewards=log_w.clone(), log_z=log_mean_increment(zeros, log_w),
                      nfe=cost.calls, evaluations=cost.evaluations)


def ais(
    composition: Composition,
    settings: SamplerSettings,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> Iterator[StepRecord]:
    """Annealed importance sampling over a product of experts.

    Moves. Let q_k be the law of the reward-free chain at level t_k: the ODE transports
    the generative product's marginals, and Langevin at t_k, `ula` or `mala`, leaves them
    approximately (ULA) or exactly up to the trapezoid rule (MALA) invariant; `hmc` moves
    the positions by HMC (`leapfrog` steps, exact up to the trapezoid rule) and the other
    channels as `ula` does. `moves`:
    - `blind`: the moves never see the reward; the weight increment of level k is taken
      after them, so it holds the moves' change of R as well as the schedule's.
    - `tilted` (resample-move SMC, with `incremental` weighting only): the increment is
      taken after the ODE step and before the Langevin moves, which then target the
      tilted level pi_k ~ q_k exp(lambda_k R): per particle, the move of the reward's
      channels (`moves.reward_channels`) is accepted with the ratio exp(lambda_k (R(x') -
      R(x))), times MALA's own ratio under `mala`; under `ula` the move itself is only
      approximately q_k-reversible, so the test makes it approximately pi_k-invariant.
      The moves then cannot unbalance the weights: the increment holds the ODE step's
      change of R (none for a colour reward: the colour expert's Euler step keeps a
      cloud's mean colour) and the schedule's step (lambda_k - lambda_{k-1}) R. The
      record's `acceptance` is then that of the reward test (MALA: averaged with the
      position rate as without it); blind ULA makes no test (NaN).
    `potential` and `paper` weighting always move blind.
    Fewer expert calls (`budget.py`, docs/evaluations.md): the moves above run at the levels
    t <= `langevin_from` only; then `colour_moves` moves of the colours alone (tilted as
    above, blind otherwise), which need no axis expert; `time_grid` spaces the levels (the
    ODE step is Euler's: Heun's was measured and did not pay). Records count the grouped
    calls so far (`nfe`).

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
    generator, x, grid, precision, fused = _start(settings, seed, device)
    log_w = torch.zeros(settings.particles, device=x.device, dtype=torch.float64)
    applied = torch.zeros_like(log_w)  # potential already folded into the weights
    log_z = torch.zeros((), device=x.device, dtype=torch.float64)
    scale = torch.zeros((), device=x.device, dtype=torch.float64)
    identity = torch.arange(settings.particles, device=x.device)
    threshold = settings.ess_threshold * settings.particles
    paper = settings.weighting == "paper"
    tilted = settings.moves == "tilted" and settings.weighting == "incremental"
    tests = _test_generator(seed, x.device) if tilted or settings.colour_moves else None
    cost = Cost()
    for k in range(settings.steps):
        plain, product = _counted(composition, precision, fused, cost)
        t_next = grid[k + 1]

        x = ode_step(product, x, grid[k], t_next, settings.ode_scale)
        if tilted:  # weigh before the moves: the increment sees the ODE step alone
            before_moves = _reward(product, x, log_w)
            scale = _next_scale(settings, t_next, log_w, before_moves, applied, scale)
            increment = scale * before_moves - applied
        acceptance: float | torch.Tensor = float("nan")
        moving = t_next <= settings.langevin_from
        if t_next > 0 and settings.langevin_steps > 0 and moving:  # t = 0 has no score
            n = settings.langevin_steps
            if settings.kernel == "mala":
                x, acceptance = mala_steps(product, x, t_next, settings.kappa, n, generator,
                                           scale if tilted else None)
            elif settings.kernel == "hmc":
                x, acceptance = hmc_steps(product, x, t_next, settings.kappa, n,
                                          settings.leapfrog, generator,
                                          scale if tilted else None, tests)
            elif tilted and product.reward is not None:
                x, acceptance = tilted_langevin_steps(product, x, t_next, settings.kappa, n,
                                                      scale, generator, tests)
            else:
                for _ in range(n):
                    x = langevin_step(product, x, t_next, settings.kappa, generator)
        if t_next > 0 and settings.colour_moves > 0:  # no expert call (`budget.py`)
            x, rate = colour_steps(product, x, t_next, settings.kappa, settings.colour_moves,
                                   scale if tilted else None, generator, tests)
            acceptance = _joined(acceptance, rate)
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
        yield _record(k, t_next, x, log_w, plain, settings, precision, ess, resampling,
                      ancestors, best=torch.argmax(reward) if paper else None,
                      reward_scale=scale, acceptance=acceptance, log_z=log_z,
                      rewards=reward.clone(), nfe=cost.calls, evaluations=cost.evaluations)
        x, applied = x[ancestors], applied[ancestors]
        log_w = torch.where(resampling, torch.zeros_like(log_w), log_w)


def _joined(acceptance, rate):
    """The mean of two acceptance rates, either of which may be NaN (no test)."""
    if isinstance(rate, float):  # NaN: the colour moves made no test
        return acceptance
    if isinstance(acceptance, float):
        return rate
    return 0.5 * (acceptance + rate)


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
