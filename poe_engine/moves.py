"""Moves of the particles: the Euler step of the denoising ODE and the kernels that refine
a level (Langevin: unadjusted, tilted by the reward, Metropolis-adjusted; HMC on the
positions), with their preconditioned proposals and the reflection that keeps bounded
channels in their support. The samplers (`samplers.py`) chain them; the maths is in
docs/sampler.md.
"""

from __future__ import annotations

import torch

from .product import NUM_CHANNELS, Snapshot
from .reward import ColorReward
from .world import RGB, XYZ


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


def hmc_steps(
    product: Snapshot, x: torch.Tensor, t: float, kappa: float, n: int, leapfrog: int,
    generator: torch.Generator, scale: torch.Tensor | None = None,
    tests: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` moves at level t: Hamiltonian Monte Carlo on the positions, and on the other
    channels (colours) the Langevin move of `langevin_step`, tilted as in
    `tilted_langevin_steps` when a `scale` is given and a reward is in play (its test's
    uniforms from `tests`, else `generator`). Returns the particles and the mean acceptance
    (0-d): per move, the mean of the position rate (per point) and the colour test's rate
    (per particle; tilted only), as `mala_steps` reports.

    HMC: a fresh momentum p ~ N(0, I) per move, `leapfrog` leapfrog steps of size
    eps_c = sqrt(2 h_c) per position channel c (h_c the channel's Langevin step from
    `score_and_step`), so that one leapfrog step is exactly the Langevin proposal (HMC with
    one leapfrog step is MALA on the positions); a per-channel step is a diagonal mass
    matrix, and the map stays volume-preserving and reversible. Each point has its own
    Metropolis test (the axis experts' product factorises over the points) with
    log pi(x_L) - log pi(x_0) by the trapezoid rule along the path, sum_k 0.5 (s_k +
    s_{k+1}).(x_{k+1} - x_k) (exact for a Gaussian level), minus the kinetic energy's
    change 0.5 (|p_L|^2 - |p_0|^2). A path that leaves a bounded support is rejected.
    The position channels are x, y, z where an expert in play owns them; with tilted moves,
    a reward that reads a position, or a position expert with mean mobility (none here),
    leaves HMC out: the moves are then those of ULA (tilted or not).

    The moves assume that the product factorises between the positions and the other
    channels (the axis and shape experts read xyz, the colour expert rgb): the colours'
    move comes first, from the score at x, and the leapfrog path is evaluated at the
    moved colours, so each evaluation serves both. Cost: the score at the path's end is
    reused by the next move, so a level costs n * leapfrog + 1 score evaluations
    (ULA: n; MALA: n + 1)."""
    mobility = product.mean_mobility()
    owned = {c for expert, _ in product.experts for c in expert.channels}  # on the host
    tilt = scale is not None and product.reward is not None
    tilted = set(reward_channels(product.reward)) if tilt else set()
    positions = [c for c in range(NUM_CHANNELS)[XYZ] if c in owned]
    if not positions or any(mobility[c] > 0 or c in tilted for c in positions):
        if tilt:
            return tilted_langevin_steps(product, x, t, kappa, n, scale, generator,
                                         tests or generator)
        for _ in range(n):
            x = langevin_step(product, x, t, kappa, generator)
        return x, torch.tensor(float("nan"), dtype=torch.float64, device=x.device)
    by_point = torch.zeros(NUM_CHANNELS, dtype=torch.bool, device=x.device)
    by_point[positions] = True
    others = torch.tensor([c in owned for c in range(NUM_CHANNELS)], device=x.device) & ~by_point
    tilt_ch = torch.zeros(NUM_CHANNELS, dtype=torch.bool, device=x.device)
    tilt_ch[sorted(tilted)] = True
    score, step = product.score_and_step(x, t, kappa)
    eps = torch.sqrt(2.0 * step) * by_point  # 0 off the position channels: they stay
    boost, bounds = _boost(product, x), product.bounds()
    reward = product.log_reward(x) if tilt else None
    rates = []
    for _ in range(n):
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        y = _propose(x, score, step, boost, noise)  # the other channels: langevin_step
        for channels, low, high in bounds:
            y[..., channels] = reflect(y[..., channels], low, high)
        y = torch.where(others, y, x)
        parts = []
        if tilt:
            reward_y = product.log_reward(y)
            u = torch.rand(x.shape[0], generator=tests or generator, device=x.device,
                           dtype=torch.float64)
            ok_particle = torch.log(u) < scale * (reward_y - reward)
            y = torch.where(tilt_ch & ~ok_particle[:, None, None], x, y)
            reward = torch.where(ok_particle, reward_y, reward)
            parts.append(ok_particle.double().mean())
        p0 = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        q, s, p = y, score, p0 + 0.5 * eps * score
        log_pi = torch.zeros(x.shape[:2], dtype=torch.float64, device=x.device)
        outside = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
        for k in range(leapfrog):
            q_next = q + eps * p
            s_next, _ = product.score_and_step(q_next, t, kappa)
            log_pi += (0.5 * (s.double() + s_next.double()) * (q_next - q).double()
                       * by_point).sum(dim=-1)
            for channels, low, high in bounds:
                c = q_next[..., channels]
                outside |= (((c < low) | (c > high)) & by_point[channels]).any(dim=-1)
            p = p + (eps if k < leapfrog - 1 else 0.5 * eps) * s_next
            q, s = q_next, s_next
        kinetic = 0.5 * ((p.double() ** 2 - p0.double() ** 2) * by_point).sum(dim=-1)
        u = torch.rand(x.shape[:2], generator=generator, device=x.device, dtype=torch.float64)
        ok_point = (torch.log(u) < log_pi - kinetic) & ~outside  # (L, N); NaN: rejected
        take = by_point & ok_point[..., None]
        x = torch.where(take, q, y)
        score = torch.where(take | ~by_point, s, score)  # s: at the moved colours
        parts.insert(0, ok_point.double().mean())
        rates.append(torch.stack(parts).mean())
    acceptance = (torch.stack(rates).mean() if rates
                  else torch.tensor(float("nan"), dtype=torch.float64, device=x.device))
    return x, acceptance


def reflect(v: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Fold values back into [low, high] as a mirror would."""
    width = high - low
    u = torch.remainder(v - low, 2.0 * width)
    return low + torch.where(u > width, 2.0 * width - u, u)
