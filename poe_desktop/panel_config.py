"""The panels and a run: what a run starts from (read off the Experts, Reward and Sampler
panels), the panels' changes during a run (steering) and a run configuration put back
into the panels."""

from __future__ import annotations

from poe_engine.experts import ColorReward
from poe_engine.exports import config_from_args

from .session import RunConfig, RunSession
from .widgets import ExpertsPanel, RewardPanel, SamplerPanel


def default_config() -> dict:
    """The run configuration of `poe-engine sample` with no options: what a configuration
    file's missing keys mean."""
    from poe_engine.cli import Parser, add_sampler_options

    parser = Parser()
    add_sampler_options(parser)
    return config_from_args(parser.parse_args([]))


def reward_of(reward_panel: RewardPanel) -> ColorReward:
    return ColorReward(reward_panel.color, reward_panel.strength.exact_value())


def run_request(experts: ExpertsPanel, reward: RewardPanel, sampler: SamplerPanel) -> dict:
    """The keyword arguments of `RunSession.start` that the panels hold; ValueError (one
    line) for settings that cannot run."""
    config = RunConfig(sampler.settings(), sampler.sampler_name(), sampler.seed.value(),
                       sampler.device.currentText(), sampler.pace_value())
    return {"config": config, "enabled": experts.enabled_experts(),
            "weights": {n: s.value() for n, s in experts.weights.items()},
            "reward": reward_of(reward), "reward_on": experts.reward.isChecked()}


def apply_config(experts: ExpertsPanel, reward: RewardPanel, sampler: SamplerPanel,
                 config: dict) -> None:
    """Fill the panels from a run configuration (`poe_engine.exports.load_config`); keys it
    lacks take `poe-engine sample`'s defaults. Raises ValueError (one line) for a value
    the panels cannot hold (the Sampler panel keeps the values it could take)."""
    full = default_config() | config
    rejected = sampler.apply({
        "sampler": full["sampler"], "device": full["device"], "seed": full["seed"],
        "particles": full["particles"], "points": full["points"], "steps": full["steps"],
        "langevin_steps": full["langevin"], "kappa": full["kappa"],
        "precision": full["precision"]})
    strength = full["strength"]
    spin = reward.strength
    if not spin.minimum() <= strength <= spin.maximum():
        rejected.append("strength")
    weights = full["expert_weights"]
    for name, spin_ in experts.weights.items():
        if round(weights.get(name, 1.0), spin_.decimals()) != weights.get(name, 1.0):
            rejected.append(f"expert_weights.{name}")
    if rejected:
        raise ValueError(f"the app cannot take {', '.join(rejected)} from this "
                         "configuration (out of the panels' ranges or precision)")
    sampler.advanced.update({k: full[k] for k in sampler.advanced})
    enabled = set(full["experts"].split(","))
    for name, box in experts.toggles.items():
        box.setChecked(name in enabled)
    for name, spin_ in experts.weights.items():
        spin_.setValue(weights.get(name, 1.0))
    color = full["reward"]
    experts.reward.setChecked(color.lower() != "none")
    if color.lower() != "none":
        reward.set_color(color)
    spin.set_exact(strength)


def connect_steering(experts: ExpertsPanel, reward: RewardPanel, session: RunSession) -> None:
    """The Experts and Reward panels' changes steer `session`'s run while it goes."""
    s = session
    experts.expertToggled.connect(lambda n, on: s.steer(
        lambda c: c.set_enabled(n, on), f"{n} {'on' if on else 'off'}"))
    experts.weightChanged.connect(lambda n, w: s.steer(
        lambda c: c.set_weight(n, w), f"{n} ×{w:g}"))
    experts.rewardToggled.connect(lambda on: s.steer(
        lambda c: c.set_reward_enabled(on), f"reward {'on' if on else 'off'}"))
    reward.colorChanged.connect(lambda _: s.steer(
        lambda c: c.set_reward(reward_of(reward)), f"→ {reward.color}"))
    reward.strengthChanged.connect(lambda x: s.steer(
        lambda c: c.set_reward(reward_of(reward)), f"strength {x:g}"))
