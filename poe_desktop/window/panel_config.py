"""The panels and a run: what a run starts from (a RunSpec read off the Experts, Reward
and Sampler panels), the panels' changes during a run (steering) and a run configuration
put back into the panels."""

from __future__ import annotations

from poe_engine.experts import EXPERT_NAMES
from poe_engine.reward import ColorReward
from poe_engine.spec import RunSpec
from poe_engine.steering import Controls

from ..panels import ComposePanel, ExpertsPanel, RewardPanel, SamplerPanel
from ..qt_utils import signals_blocked
from ..run.session import RunSession


def reward_of(reward_panel: RewardPanel) -> ColorReward:
    return ColorReward(reward_panel.color, reward_panel.strength.exact_value())


def run_request(experts: ExpertsPanel, reward: RewardPanel, sampler: SamplerPanel,
                compose: ComposePanel | None = None) -> dict:
    """The keyword arguments of `RunSession.start` that the panels hold: the run (a
    RunSpec), the reward the Reward panel holds (switched on or not) and the pace;
    ValueError (one line) for settings that cannot run."""
    color = reward_of(reward)
    controls = Controls(tuple(experts.enabled_experts()),
                        tuple(experts.weights[n].value() for n in EXPERT_NAMES),
                        color.name if experts.reward.isChecked() else None, color.strength)
    spec = RunSpec(sampler.sampler_name(), sampler.settings(), controls, sampler.seed.value(),
                   sampler.device.currentText())
    if compose is not None and compose.is_composing():
        if compose.expression() is None:
            raise ValueError(f"the Compose panel's expression does not parse: "
                             f"{compose.error}")
        spec = spec.replace(compose=compose.expression())
    return {"spec": spec, "reward": color, "pace": sampler.pace_value()}


def run_request_of(window) -> dict:
    """`run_request` of the window's panels; with the Compose panel on, the spec runs its
    expression (ValueError where the field holds none)."""
    return run_request(window.experts_panel, window.reward_panel, window.sampler_panel,
                       window.compose_panel)


def apply_config_to(window, config: dict) -> None:
    """`apply_config` into the window's panels."""
    apply_config(window.experts_panel, window.reward_panel, window.sampler_panel, config,
                 window.compose_panel)


def apply_config(experts: ExpertsPanel, reward: RewardPanel, sampler: SamplerPanel,
                 config: dict, compose: ComposePanel | None = None) -> None:
    """Fill the panels from a run configuration (`poe_engine.exports.load_config`), read as
    a RunSpec: keys it lacks take `poe-engine sample`'s defaults. Raises ValueError (one
    line) for a value the panels cannot hold (the Sampler panel keeps the values it could
    take)."""
    spec = RunSpec.from_dict(config)
    st, controls = spec.settings, spec.controls
    rejected = sampler.apply({"sampler": spec.sampler, "device": spec.device, "seed": spec.seed}
                             | {name: getattr(st, name) for name in (
                                 "particles", "points", "steps", "langevin_steps", "kappa",
                                 "precision")})
    spin = reward.strength
    if not spin.minimum() <= controls.strength <= spin.maximum():
        rejected.append("strength")
    weights = dict(zip(EXPERT_NAMES, controls.weights, strict=True))
    for name, spin_ in experts.weights.items():
        if round(weights[name], spin_.decimals()) != weights[name]:
            rejected.append(f"expert_weights.{name}")
    if rejected:
        raise ValueError(f"the app cannot take {', '.join(rejected)} from this "
                         "configuration (out of the panels' ranges or precision)")
    sampler.advanced_box.apply({name: getattr(st, name) for name in sampler.advanced})
    for name, box in experts.toggles.items():
        box.setChecked(name in controls.enabled)
    for name, spin_ in experts.weights.items():
        spin_.setValue(weights[name])
    experts.reward.setChecked(controls.reward is not None)
    if controls.reward is not None:
        reward.set_color(controls.reward)
    spin.set_exact(controls.strength)
    if compose is not None:  # a configuration with an expression runs it; one without: not
        if spec.compose is not None:
            compose.show_in_force(spec.compose)
        compose.toggle.setChecked(spec.compose is not None)


def show_controls(experts: ExpertsPanel, reward: RewardPanel, controls: Controls) -> None:
    """Set the Experts and Reward panels to `controls` without a signal: nothing steers,
    nothing counts as the user's change (a value a panel cannot hold is clamped by it)."""
    weights = dict(zip(EXPERT_NAMES, controls.weights, strict=True))
    with signals_blocked(experts, reward):
        for name, box in experts.toggles.items():
            box.setChecked(name in controls.enabled)
        for name, spin in experts.weights.items():
            spin.setValue(weights[name])
        experts.reward.setChecked(controls.reward is not None)
        if controls.reward is not None and controls.reward != reward.color:
            try:
                reward.set_color(controls.reward)
            except ValueError:
                pass  # a colour this app cannot name: the panel keeps its own
        reward.strength.set_exact(controls.strength)


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
