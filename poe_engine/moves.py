"""Moves of the particles: the Euler step of the denoising ODE and the Langevin kernels
that refine a level (unadjusted, tilted by the reward, Metropolis-adjusted), with their
preconditioned proposals and the reflection that keeps bounded channels in their support.
The samplers (`samplers.py`) chain them; the maths is in docs/sampler.md.
"""

from __future__ import annotations

import torch

from .product import NUM_CHANNELS, Snapshot
from .reward import ColorReward
from .world import RGB


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
