"""The analytic terms of a composition (issue 20; `expression.py` parses what they come from).

- `RegionPotential`: a soft region of the positions (cap, band, ball), phi = w beta indicator;
  it guides a product (`product.Snapshot.potentials`, `product.guidance_coefficients`):
  w = -1 keeps points out (NOT), w = +1 pulls them in.
- `TorusExpert`: an analytic shape, a generative expert on x, y, z.
- `ProductShape`: generative experts on x, y, z (the axis flows: the sphere) as one shape.
- `UnionExpert`: the per-point union of shapes.
- `ColourTerms`: a branch's colours as one reward (plain, NOT, complement).

What is approximate: the torus's posterior mean (a grid of the surface, then its mode, the
nearest point); the union's member densities (kernel estimates from samples of each shape)
and its members' own estimates; the guidance's posterior covariance (that of Gaussian data,
`product.guidance_coefficients`). Each is exact as t -> 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

from .errors import InputError, check_number
from .experts import AXES, GenerativeExpert
from .flow import MIN_LEVEL, velocity_to_score
from .product import POSITIONS, Composition, Snapshot
from .reward import DEFAULT_STRENGTH, MAX_STRENGTH, NAMED_COLORS, ColorReward
from .world import NOISE, RGB, SPHERE_CENTER, XYZ, golden_spiral_sphere

# Samples of a shape's surface (`surface_samples`): the torus's grid (ring x tube angles,
# at most 0.04 apart), the sphere's golden spiral (about 0.055 apart).
TORUS_GRID = (64, 24)
SPHERE_SAMPLES = 1024
DEFAULT_BETA = 8.0
DEFAULT_TAU = 0.05
TORUS_DEFAULTS = (0.3, 0.1)  # ring radius R, tube radius r
# The complement's hinge: -strength * relu(1 - d / d0), d the mean colour's distance from the
# colour: no penalty at d >= d0 (1: about the distance from a primary to its neighbours'
# mix), a full strength's at d = 0.
COMPLEMENT_RADIUS = 1.0
_TINY = 1e-12


# --------------------------------------------------------------------------- regions


class RegionPotential:
    """phi(x0) = weight * beta * indicator(x0), a soft region of the positions.

    kind and params (world coordinates, the unit cube):
    - "cap": axis (0, 1, 2), params (threshold, +1 for axis > threshold, -1 for <);
      indicator sigmoid(side (u - threshold) / tau);
    - "band": axis, params (lo, hi); indicator sigmoid((u - lo)/tau) sigmoid((hi - u)/tau);
    - "ball": params (cx, cy, cz, radius); indicator sigmoid((radius - |x - c|) / tau).
    """

    KINDS = ("cap", "band", "ball")

    def __init__(self, kind: str, axis: int | None, params: Sequence[float], weight: float = 1.0,
                 beta: float = DEFAULT_BETA, tau: float = DEFAULT_TAU) -> None:
        params = tuple(float(p) for p in params)
        problem = (
            f"a region is one of {', '.join(self.KINDS)}, not {kind!r}" if kind not in self.KINDS
            else f"a {kind} takes {2 + 2 * (kind == 'ball')} numbers, got {len(params)}"
            if len(params) != 2 + 2 * (kind == "ball")
            else f"a {kind} needs an axis 0, 1 or 2, got {axis!r}"
            if kind != "ball" and axis not in (0, 1, 2)
            else "a cap's side is +1 (>) or -1 (<)" if kind == "cap" and params[1] not in (1, -1)
            else "a band needs lo < hi" if kind == "band" and not params[0] < params[1]
            else "a ball's radius must be > 0" if kind == "ball" and not params[3] > 0 else None)
        if problem:
            raise InputError(problem)
        check_number("region weight", weight, -1e3, 1e3)
        check_number("beta", beta, 0.0, 1e3)
        check_number("tau", tau, 1e-4, 1.0)
        self.kind, self.axis, self.params = kind, None if kind == "ball" else int(axis), params
        self.weight, self.beta, self.tau = float(weight), float(beta), float(tau)

    @classmethod
    def from_spec(cls, spec, weight: float = 1.0) -> RegionPotential:
        """From an `expression.RegionSpec` (read by attribute: kind, axis, params, beta, tau)."""
        return cls(spec.kind, spec.axis, spec.params, weight, spec.beta, spec.tau)

    @property
    def name(self) -> str:
        """'cap(z > 0.75)', '!cap(z > 0.75)' (w = -1), '2*ball(...)': for records."""
        p = self.params
        if self.kind == "cap":
            body = f"cap({AXES[self.axis]} {'>' if p[1] > 0 else '<'} {p[0]:g})"
        elif self.kind == "band":
            body = f"band({AXES[self.axis]}, {p[0]:g}, {p[1]:g})"
        else:
            body = f"ball({', '.join(f'{v:g}' for v in p)})"
        magnitude = abs(self.weight)
        scaled = body if magnitude == 1 else f"{magnitude:g}*{body}"
        return ("!" if self.weight < 0 else "") + scaled

    def _soft(self, xyz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The soft indicator (..., N) and its gradient (..., N, 3)."""
        p, tau = self.params, self.tau
        grad = torch.zeros_like(xyz)
        if self.kind == "ball":
            offset = xyz - torch.tensor(p[:3], device=xyz.device, dtype=xyz.dtype)
            d = torch.linalg.vector_norm(offset, dim=-1)
            s = torch.sigmoid((p[3] - d) / tau)
            grad = -(s * (1 - s) / tau / d.clamp_min(_TINY))[..., None] * offset
            return s, grad
        u = xyz[..., self.axis]
        if self.kind == "cap":
            s = torch.sigmoid(p[1] * (u - p[0]) / tau)
            grad[..., self.axis] = p[1] * s * (1 - s) / tau
            return s, grad
        a, b = torch.sigmoid((u - p[0]) / tau), torch.sigmoid((p[1] - u) / tau)
        grad[..., self.axis] = (a * (1 - a) * b - a * b * (1 - b)) / tau
        return a * b, grad

    def indicator(self, xyz: torch.Tensor) -> torch.Tensor:
        """(..., N, 3) -> (..., N) in [0, 1]: the soft membership."""
        return self._soft(xyz)[0]

    def inside(self, xyz: torch.Tensor) -> torch.Tensor:
        """(..., N, 3) -> (..., N) bool: the hard membership (the region itself)."""
        p = self.params
        if self.kind == "ball":
            centre = torch.tensor(p[:3], device=xyz.device, dtype=xyz.dtype)
            return torch.linalg.vector_norm(xyz - centre, dim=-1) < p[3]
        u = xyz[..., self.axis]
        if self.kind == "cap":
            return p[1] * (u - p[0]) > 0
        return (u > p[0]) & (u < p[1])

    def log_density_grad(self, xyz: torch.Tensor) -> torch.Tensor:
        """(..., N, 3): grad phi, in closed form."""
        return (self.weight * self.beta) * self._soft(xyz)[1]

    def __repr__(self) -> str:
        return f"RegionPotential({self.name!r}, beta={self.beta:g}, tau={self.tau:g})"


# --------------------------------------------------------------------------- shapes


def _level_logits(xyz: torch.Tensor, t: float, points: torch.Tensor, log_w: torch.Tensor
                  ) -> torch.Tensor:
    """(P, M): log w_j + log N(x_t; (1 - t) y_j + t mu, t^2 sigma^2) up to a constant shared
    by every shape, x_t the P = prod(xyz.shape[:-1]) points, y_j the shape's samples."""
    d = torch.cdist(xyz.reshape(-1, 3), (1.0 - t) * points + t * NOISE.position_mean)
    return log_w - d * d / (2 * (t * NOISE.position_std) ** 2)


class Shape:
    """A generative expert on x, y, z given by a denoiser x0_hat (`denoise`) and samples of
    its surface (`surface_samples`: points (M, 3), normalised log-weights (M,)): its velocity
    v = (x - x0_hat) / t, its score by the time convention (`flow.velocity_to_score`)."""

    channels = POSITIONS
    noise_std = NOISE.position_std
    bounds = None
    mean_mobility = 0.0
    name = "shape"

    def surface_samples(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def denoise(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        """(..., N, 6) -> x0_hat (..., N, 3)."""
        raise NotImplementedError

    def posterior(self, cloud: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """x0_hat (..., N, 3) and the log-density of the level-t marginal at each point
        (..., N), up to a constant shared by all shapes: a kernel estimate from the surface's
        samples, the kernel the noise itself."""
        logits = _level_logits(cloud[..., XYZ], max(t, MIN_LEVEL),
                               *self.surface_samples(cloud.device))
        return self.denoise(cloud, t), torch.logsumexp(logits, dim=-1).reshape(cloud.shape[:-1])

    def velocity(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return (cloud[..., XYZ] - self.denoise(cloud, t)) / max(t, MIN_LEVEL)

    def score_from_velocity(self, v: torch.Tensor, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return velocity_to_score(v, cloud[..., XYZ], t, NOISE.position_mean, NOISE.position_std)

    def score(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return self.score_from_velocity(self.velocity(cloud, t), cloud, t)


class TorusExpert(Shape):
    """The surface of a torus: a ring of radius R around the vertical axis through `centre`,
    in the plane z = centre z, and a tube of radius r (0 < r < R) around the ring.

    Denoiser: the posterior mean of x0 under a uniform prior on the surface, from a grid of
    it (`surface_samples`, weighted by area) while the noise in x0's units,
    s = t sigma / (1 - t), spans a few grid steps; as s shrinks it hands over (linearly, from
    3 to 1 grid steps) to the closed-form nearest point of the torus to x_t's implied x0,
    (x_t - t mu) / (1 - t) (`nearest`): the posterior's mode, which the mean tends to as
    t -> 0. Approximate in between (the grid, and the mode standing in for the mean), exact
    in the limit; an Euler step to t = 0 lands on the surface.
    """

    def __init__(self, R: float = TORUS_DEFAULTS[0], r: float = TORUS_DEFAULTS[1],
                 centre: tuple[float, float, float] = SPHERE_CENTER) -> None:
        if not 0 < r < R <= 10:  # False for NaN too
            raise InputError(f"a torus needs 0 < r < R <= 10, got R = {R}, r = {r}")
        self.R, self.r, self.centre = float(R), float(r), tuple(float(c) for c in centre)
        self.name = f"torus({self.R:g}, {self.r:g})"
        # the grid's largest step: along the ring's outer edge, or around the tube
        self.grid_step = 2 * math.pi * max((self.R + self.r) / TORUS_GRID[0],
                                           self.r / TORUS_GRID[1])
        self._samples: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def from_spec(cls, spec) -> TorusExpert:
        """From an `expression.ShapeSpec` of kind "torus": params (R, r), () the defaults."""
        return cls(*(tuple(spec.params) or TORUS_DEFAULTS))

    def _ring(self, xyz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The nearest point of the ring (..., N, 3) and the offset from it (..., N, 3)."""
        centre = torch.tensor(self.centre, device=xyz.device, dtype=xyz.dtype)
        q = xyz - centre
        rho = torch.linalg.vector_norm(q[..., :2], dim=-1, keepdim=True)
        unit = torch.where(rho > _TINY, q[..., :2] / rho.clamp_min(_TINY),
                           torch.tensor([1.0, 0.0], device=xyz.device, dtype=xyz.dtype))
        ring = centre + torch.cat([self.R * unit, torch.zeros_like(rho)], dim=-1)
        return ring, xyz - ring

    def nearest(self, xyz: torch.Tensor) -> torch.Tensor:
        """(..., N, 3) -> the nearest points of the torus's surface (on the ring itself, where
        every direction is as near, the outward one)."""
        ring, offset = self._ring(xyz)
        d = torch.linalg.vector_norm(offset, dim=-1, keepdim=True)
        outward = ring - torch.tensor(self.centre, device=xyz.device, dtype=xyz.dtype)
        direction = torch.where(d > _TINY, offset / d.clamp_min(_TINY), outward / self.R)
        return ring + self.r * direction

    def distance(self, xyz: torch.Tensor) -> torch.Tensor:
        """(..., N, 3) -> (..., N): the distance from the torus's surface."""
        _, offset = self._ring(xyz)
        return (torch.linalg.vector_norm(offset, dim=-1) - self.r).abs()

    def surface_samples(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """A grid of the surface (TORUS_GRID: ring angle x tube angle), each point weighted by
        its area element R + r cos(tube angle)."""
        device = torch.device(device)
        if device not in self._samples:
            n_ring, n_tube = TORUS_GRID
            ring = torch.arange(n_ring, dtype=torch.float64) * (2 * math.pi / n_ring)
            tube = torch.arange(n_tube, dtype=torch.float64) * (2 * math.pi / n_tube)
            a, b = torch.meshgrid(ring, tube, indexing="ij")
            radius = self.R + self.r * torch.cos(b)
            offset = torch.stack([radius * torch.cos(a), radius * torch.sin(a),
                                  self.r * torch.sin(b)], dim=-1).reshape(-1, 3)
            points = torch.tensor(self.centre, dtype=torch.float64) + offset
            log_w = torch.log(radius.reshape(-1))
            self._samples[device] = (points.float().to(device),
                                     (log_w - torch.logsumexp(log_w, 0)).float().to(device))
        return self._samples[device]

    def grid_share(self, t: float) -> float:
        """How much of x0_hat the grid's posterior mean makes at level t (the rest: the
        nearest point): 1 for s >= 3 grid steps, 0 for s <= 1."""
        t = max(t, MIN_LEVEL)
        s = t * NOISE.position_std / max(1.0 - t, MIN_LEVEL)
        return min(max((s / self.grid_step - 1.0) / 2.0, 0.0), 1.0)

    def posterior(self, cloud: torch.Tensor, t: float, density: bool = True
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        xyz, level, mu = cloud[..., XYZ], max(t, MIN_LEVEL), NOISE.position_mean
        x0 = self.nearest(mu + (xyz - mu) / max(1.0 - t, MIN_LEVEL))
        share = self.grid_share(t)
        if share == 0 and not density:
            return x0, None
        points, log_w = self.surface_samples(cloud.device)
        logits = _level_logits(xyz, level, points, log_w)
        if share > 0:
            mean = (torch.softmax(logits, dim=-1) @ points).reshape(xyz.shape)
            x0 = x0 + share * (mean - x0)
        return x0, torch.logsumexp(logits, dim=-1).reshape(xyz.shape[:-1]) if density else None

    def denoise(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return self.posterior(cloud, t, density=False)[0]


class ProductShape(Shape):
    """A product of generative experts that own x, y and z, as one shape: its x0_hat is the
    product's, x - t v with v the weight-averaged velocity (`Snapshot.velocity`). Built from
    the three axis flows it is the learned sphere, a member for `UnionExpert`; `samples`, the
    points its experts were trained on, give its density for the union. Its snapshot is
    fixed: the experts' precision is the one it was built with."""

    def __init__(self, snapshot: Snapshot, samples: torch.Tensor, name: str = "sphere") -> None:
        owned = {c for expert, _ in snapshot.experts for c in expert.channels}
        if not set(POSITIONS) <= owned:
            raise InputError(f"{name}: a shape's experts must own x, y and z")
        self.snapshot, self.name, self.samples = snapshot, name, samples

    @classmethod
    def sphere(cls, experts: dict[str, GenerativeExpert],
               dtype: torch.dtype = torch.float32) -> ProductShape:
        """The learned sphere: the axis flows x, y, z of `runs.build_experts`, with the
        golden-spiral sphere they were trained on as its samples."""
        snapshot = Composition.of([experts[a] for a in AXES]).snapshot(dtype)
        return cls(snapshot, golden_spiral_sphere(SPHERE_SAMPLES), "sphere")

    def surface_samples(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.samples.shape[0]
        return (self.samples.to(device),
                torch.full((m,), -math.log(m), device=device, dtype=self.samples.dtype))

    def velocity(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return self.snapshot.velocity(cloud, t)[..., XYZ]

    def denoise(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        return cloud[..., XYZ] - max(t, MIN_LEVEL) * self.velocity(cloud, t)


def shape_expert(spec, experts: dict[str, GenerativeExpert] | None = None) -> Shape:
    """An `expression.ShapeSpec` as an expert: "torus" analytic, "sphere" the axis flows'
    product (needs `experts`)."""
    if spec.kind == "torus":
        return TorusExpert.from_spec(spec)
    if spec.kind == "sphere":
        if experts is None:
            raise InputError("the sphere needs the axis experts")
        return ProductShape.sphere(experts)
    raise InputError(f"unknown shape {spec.kind!r}")


class UnionExpert(Shape):
    """The per-point union of shapes: the mixture sum_k share_k p_k of their densities.

    Per point, member k's estimate x0_k, its responsibility r_k proportional to
    share_k p_k(x_t), and the union's x0_hat = sum r_k x0_k, v = (x - x0_hat) / t: the
    mixture's posterior mean. p_k, member k's level-t marginal density, is a kernel estimate
    from samples of its surface (`Shape.posterior`). (The likelihood at each member's
    estimate, N(x_t; (1 - t) x0_k + t mu, t^2 sigma^2), would stand in for p_k more cheaply,
    but favours the larger shape: measured, 70 % of the points on the sphere, 23 % on the
    torus.) Approximate through the samples' finiteness and the members' own estimates.
    """

    def __init__(self, members: Sequence[Shape], shares: Sequence[float] | None = None) -> None:
        members = tuple(members)
        if len(members) < 2 or not all(isinstance(m, Shape) for m in members):
            raise InputError("a union needs at least two shapes (sphere, torus, union)")
        shares = tuple(float(s) for s in shares) if shares is not None else (1.0,) * len(members)
        if len(shares) != len(members) or not all(s > 0 for s in shares):
            raise InputError("a union needs one share > 0 per member")
        self.members, self.shares = members, shares
        self.name = f"union({', '.join(m.name for m in members)})"

    def surface_samples(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Its members' samples, weighted by their shares."""
        parts = [m.surface_samples(device) for m in self.members]
        log_share = torch.log(torch.tensor(self.shares) / sum(self.shares)).tolist()
        return (torch.cat([points for points, _ in parts]),
                torch.cat([w + s for (_, w), s in zip(parts, log_share, strict=True)]))

    @classmethod
    def from_spec(cls, specs: Iterable, experts: dict[str, GenerativeExpert] | None = None
                  ) -> UnionExpert:
        """From `expression.ShapeSpec`s (a Branch's `unions` entry)."""
        return cls([shape_expert(s, experts) for s in specs])

    def parts(self, cloud: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The members' estimates (K, ..., N, 3) and responsibilities (K, ..., N)."""
        xyz = cloud[..., XYZ]
        posts = [m.posterior(cloud, t) for m in self.members]
        estimates = torch.stack([x0 for x0, _ in posts])
        log_density = torch.stack([d for _, d in posts])
        prior = torch.log(torch.tensor(self.shares, device=cloud.device, dtype=xyz.dtype))
        logits = prior.reshape(-1, *[1] * (log_density.dim() - 1)) + log_density
        return estimates, torch.softmax(logits, dim=0)

    def denoise(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        estimates, weights = self.parts(cloud, t)
        return (weights[..., None] * estimates).sum(dim=0)


# --------------------------------------------------------------------------- colours

COLOUR_MODES = ("plain", "not", "complement")


class ColourTerms:
    """A branch's colours as one reward: the sum of its terms' log-rewards, per particle,
    from the cloud's mean colour m, in float64. For a colour c of weight w:

    - plain: w ColorReward(c, strength).log_reward (red, green, blue, white keep their own
      rewards; other colours minus the distance);
    - not (`!c`): its negation;
    - complement (`~c`): -w strength relu(1 - |m - c| / radius), a hinge that penalises only a
      mean colour within `radius` of c, every other colour free ('anything but c').

    It plays the reward's part: `.channels` for the tilted moves, `.name`, `.strength`.
    """

    channels = (3, 4, 5)

    def __init__(self, terms: Iterable[tuple[str | tuple[float, float, float], str, float]],
                 strength: float = DEFAULT_STRENGTH, radius: float = COMPLEMENT_RADIUS) -> None:
        check_number("reward strength", strength, 0.0, MAX_STRENGTH)
        check_number("complement radius", radius, 1e-3, 2.0)
        self.strength, self.radius = float(strength), float(radius)
        self.terms: list[tuple[ColorReward, str, float]] = []
        for colour, mode, weight in terms:
            if mode not in COLOUR_MODES:
                raise InputError(f"a colour's mode is one of {', '.join(COLOUR_MODES)}")
            check_number("colour weight", weight, 0.0, 1e3)
            self.terms.append((ColorReward(colour, self.strength), mode, float(weight)))
        if not self.terms:
            raise InputError("no colour terms")
        self.name = " & ".join(_term_name(r.name, mode, w) for r, mode, w in self.terms)

    @classmethod
    def from_spec(cls, colours: Iterable[tuple], strength: float = DEFAULT_STRENGTH,
                  radius: float = COMPLEMENT_RADIUS) -> ColourTerms:
        """From a Branch's `colours`: (ColourSpec, weight) pairs, a spec read by attribute
        (name, rgb, mode): red, green, blue, white by name (their own rewards), others by rgb."""
        return cls([(spec.name if spec.name in NAMED_COLORS else tuple(spec.rgb), spec.mode, w)
                    for spec, w in colours], strength, radius)

    def log_reward(self, clouds: torch.Tensor) -> torch.Tensor:
        """(L, N, 6) -> (L,) float64."""
        mean = clouds[..., RGB].double().mean(dim=-2)
        total = torch.zeros(mean.shape[:-1], dtype=torch.float64, device=mean.device)
        for reward, mode, weight in self.terms:
            if mode == "complement":
                target = torch.tensor(reward.target, dtype=torch.float64, device=mean.device)
                d = torch.linalg.vector_norm(mean - target, dim=-1)
                term = -self.strength * torch.relu(1.0 - d / self.radius)
            else:
                term = reward.log_reward(clouds)
                term = -term if mode == "not" else term
            total = total + weight * term
        return total

    def __repr__(self) -> str:
        return f"ColourTerms({self.name!r}, strength={self.strength:g})"


def _term_name(colour: str, mode: str, weight: float) -> str:
    prefix = {"plain": "", "not": "!", "complement": "~"}[mode]
    return ("" if weight == 1 else f"{weight:g}*") + prefix + colour
