"""The discriminative expert: a colour reward, a log-reward per particle from the cloud's
mean colour. It has no gradient and acts only through importance weights and resampling
(and the tilted moves' accept/reject test). Also the colour names it accepts: the four of
the reference, CSS colour names and #RRGGBB.
"""

from __future__ import annotations

import torch
import webcolors

from .errors import InputError, check_number, shown
from .world import RGB

NAMED_COLORS = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "white": (1.0, 1.0, 1.0),
}
DEFAULT_STRENGTH = 300.0
# The largest reward strength anyone may set (command line, configuration, app). The
# log-reward is computed in float64, where rewards of this size keep weights finite.
MAX_STRENGTH = 1e4


class ColorReward:
    """Log-reward of a cloud's mean colour m, times `strength`.

    - red, green, blue: the chosen channel minus the mean of the other two,
    - white: mean brightness (m_r + m_g + m_b) / 3,
    - any other RGB target: minus the Euclidean distance from m to the target.
    """

    def __init__(self, color: str | tuple[float, float, float], strength: float = DEFAULT_STRENGTH):
        self.name, self.target = parse_color(color)
        check_number("reward strength", strength, 0.0, MAX_STRENGTH)
        self.strength = float(strength)

    def score_mean_color(self, mean_rgb: torch.Tensor) -> torch.Tensor:
        if self.name in ("red", "green", "blue"):
            c = ("red", "green", "blue").index(self.name)
            others = [i for i in range(3) if i != c]
            return mean_rgb[..., c] - 0.5 * mean_rgb[..., others].sum(dim=-1)
        if self.name == "white":
            return mean_rgb.mean(dim=-1)
        target = torch.tensor(self.target, device=mean_rgb.device, dtype=mean_rgb.dtype)
        return -torch.linalg.vector_norm(mean_rgb - target, dim=-1)

    def log_reward(self, clouds: torch.Tensor) -> torch.Tensor:
        """(L, N, 6) -> (L,), in float64 whatever the clouds' precision: weights and ESS
        are computed from it."""
        return self.strength * self.score_mean_color(clouds[..., RGB].double().mean(dim=-2))

    def __repr__(self) -> str:
        return f"ColorReward({self.name!r}, strength={self.strength:g})"


# The one name CSS Color Level 4 adds to CSS3's 147, which webcolors' tables lack.
CSS4_ONLY = {"rebeccapurple": "#663399"}


def css_color(name: str) -> str | None:
    """A CSS colour name ('orange', 'rebeccapurple') -> '#rrggbb', from webcolors' CSS3
    table and CSS4's one addition; None for anything else."""
    if isinstance(name, str) and name.strip().lower() in CSS4_ONLY:
        return CSS4_ONLY[name.strip().lower()]
    try:
        return webcolors.name_to_hex(name, spec=webcolors.CSS3)
    except (ValueError, AttributeError, TypeError):
        return None


def parse_color(color: str | tuple[float, float, float]) -> tuple[str, tuple[float, float, float]]:
    """'red' | 'green' | 'blue' | 'white' | a CSS colour name | '#RRGGBB' | (r, g, b) in
    [0, 1] -> (name, rgb). The four names keep their own rewards (the reference's); any
    other colour is an RGB target named '#rrggbb', so 'orange' is the reward '#ffa500'."""
    if isinstance(color, str):
        key = color.strip().lower()
        if key in NAMED_COLORS:
            return key, NAMED_COLORS[key]
        hexdigits = key.removeprefix("#")
        if len(hexdigits) == 6 and all(ch in "0123456789abcdef" for ch in hexdigits):
            rgb = tuple(int(hexdigits[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
            return "#" + hexdigits, rgb  # type: ignore[return-value]
        css = css_color(key)
        if css is not None:
            return parse_color(css)
        raise InputError(
            f"unknown colour {shown(color)}: use red, green, blue, white, a CSS colour name "
            "(orange, teal, ...) or #RRGGBB"
        )
    try:
        rgb = tuple(float(c) for c in color)
    except (TypeError, ValueError):
        rgb = ()
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        raise InputError(f"an RGB target needs 3 values in [0, 1], got {shown(color)}")
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb), rgb  # type: ignore[return-value]
