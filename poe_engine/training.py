"""Flow-matching training of the three axis experts.

Each training example is one point: x_0 drawn from the golden-spiral sphere,
eps from the position noise prior, t ~ U(0, 1), x_t = (1 - t) x_0 + t eps.
The expert of axis a regresses the a-th component of the velocity eps - x_0
from (x_t, t). The three experts see the same batches.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch
from tqdm import tqdm

from .experts import AXES, AxisFlowNet
from .flow import interpolate
from .world import DEFAULT_POINTS, NOISE, golden_spiral_sphere, make_generator


@dataclass(frozen=True)
class TrainRecipe:
    steps: int = 3000
    batch: int = 4096
    lr: float = 2e-3
    warmup: int = 100
    hidden: int = 256
    depth: int = 3
    points: int = DEFAULT_POINTS
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def lr_at(step: int, recipe: TrainRecipe) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    progress = (step - recipe.warmup) / max(1, recipe.steps - recipe.warmup)
    return recipe.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def train_axis_experts(
    recipe: TrainRecipe,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> tuple[dict[str, AxisFlowNet], dict[str, float], float]:
    """Returns the trained nets, each one's final loss (mean of the last 100 steps)
    and the wall time in seconds."""
    torch.manual_seed(recipe.seed)  # parameter initialisation
    generator = make_generator(recipe.seed, device)
    nets = {a: AxisFlowNet(recipe.hidden, recipe.depth).to(device) for a in AXES}
    params = [p for net in nets.values() for p in net.parameters()]
    optimizer = torch.optim.Adam(params, lr=recipe.lr)
    sphere = golden_spiral_sphere(recipe.points, device)
    recent: dict[str, list[float]] = {a: [] for a in AXES}

    start = time.perf_counter()
    bar = tqdm(range(recipe.steps), desc="training axis experts", disable=not progress,
               unit="step", dynamic_ncols=True)
    for step in bar:
        idx = torch.randint(len(sphere), (recipe.batch,), generator=generator, device=device)
        x0 = sphere[idx]
        eps = NOISE.sample_positions((recipe.batch,), generator, device)
        t = torch.rand(recipe.batch, 1, generator=generator, device=device)
        xt = interpolate(x0, eps, t)
        target = eps - x0

        losses = {a: torch.mean((net(xt, t)[:, 0] - target[:, i]) ** 2)
                  for i, (a, net) in enumerate(nets.items())}
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, recipe)
        optimizer.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        optimizer.step()

        for a, loss in losses.items():
            recent[a] = (recent[a] + [float(loss.detach())])[-100:]
        if step % 20 == 0 or step == recipe.steps - 1:
            bar.set_postfix({f"loss_{a}": f"{sum(v) / len(v):.4f}" for a, v in recent.items()})
    bar.close()
    final = {a: sum(v) / len(v) for a, v in recent.items()}
    for net in nets.values():
        net.eval()
    return nets, final, time.perf_counter() - start
