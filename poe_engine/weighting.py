"""The weight maths of the particle system: effective sample size, resampling, the log Z
increment and the adaptive schedule's bisection on the conditional ESS. `samplers.ais`
calls them with float64 log-weights (see docs/particles.md and docs/sampler.md).
"""

from __future__ import annotations

import torch

BISECTION_STEPS = 24  # of the adaptive schedule: the scale to within 2^-24 of its interval


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
