"""The Sampler panel's particle-system settings: how the reward is weighed in (schedule,
moves, weighting), the kernel (and HMC's leapfrog steps) and when to resample. Each widget
is named after the `SamplerSettings` field it sets; which of them apply under the others is
`poe_engine.applies`'s rule (the one a run's configuration is written by)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from poe_engine.budget import PRESETS, preset_settings
from poe_engine.flow import GRIDS
from poe_engine.samplers import KERNELS, MOVES, RESAMPLING, SCHEDULES, WEIGHTING, SamplerSettings

from .common import ExactSpinBox, combo, spin

# field -> (label, choices or None for a number, tooltip: what a user sees change, then the maths)
FIELDS = {
    "schedule": ("reward schedule", SCHEDULES,
                 "How soon the cloud turns to the reward's colour: constant pulls from the "
                 "first step, linear more and more, adaptive as fast as the particles' "
                 "weights stay balanced. (The reward's scale λ(t), full by t = 0; adaptive "
                 "keeps the weights' conditional ESS up.)"),
    "schedule_target": ("schedule target", None,
                        "Higher: the reward's pull grows more slowly and the weights stay "
                        "even. (Each step keeps the conditional ESS of the weight increment "
                        "at least this fraction of the particles.)"),
    "moves": ("moves", MOVES,
              "tilted: the Langevin moves also pull towards the reward's colour; blind: "
              "they ignore it. (Tilted: weights taken before the moves, a Metropolis "
              "test per particle.)"),
    "kernel": ("Langevin kernel", KERNELS,
               "How each refinement move is made: ula is the cheapest; mala rejects moves "
               "that overshoot, so fewer points stray; hmc moves points further per call. "
               "(ula: unadjusted Langevin; mala: Metropolis-adjusted, exact at each level; "
               "hmc: Hamiltonian Monte Carlo on the positions, Langevin on the colours.)"),
    "leapfrog": ("leapfrog steps", None,
                 "More: each HMC move travels further and costs more expert calls. "
                 "(hmc: leapfrog steps per move, one evaluation of the experts each.)"),
    "weighting": ("weighting", WEIGHTING,
                  "Which particles the view shows and keeps: incremental is exact; potential "
                  "(the reference demo's) and paper (keep the most rewarded at every step) "
                  "push harder for the reward. (incremental: exact SMC; paper: the paper's "
                  "Algorithm 1, weights = reward, resample every step.)"),
    "resampling": ("resampling", RESAMPLING,
                   "How the heavy particles are copied over the light ones: systematic "
                   "keeps more variety than multinomial. (The resampling scheme.)"),
    "ess_threshold": ("resample below ESS", None,
                      "Higher: particles are copied and dropped more often (the marks on "
                      "the ESS plot). (Resample when the effective sample size falls under "
                      "this fraction of the particles.)"),
    "resample_every": ("resample every", None,
                       "Also copy and drop particles every this many steps, whatever their "
                       "weights (0: only on the ESS test)"),
    "ode_scale": ("Euler step scale", None,
                  "Below 1 the cloud lags behind the flow and ends noisier; above 1 it "
                  "overshoots. (Multiplier of each Euler step of the experts' flow.)"),
    "colour_moves": ("colour moves", None,
                     "More: the colours settle on the reward more surely, at no cost in "
                     "expert calls. (Langevin moves of the colours alone at every level, "
                     "tilted by the reward.)"),
    "langevin_from": ("Langevin from t ≤", None,
                      "Lower: the refinement moves start later, so a faster run. (The "
                      "Langevin steps run at the levels whose t is at most this; 1: every "
                      "level.)"),
    "time_grid": ("time grid", GRIDS,
                  "Where the steps are spent: uniform, cosine (more at the start and the "
                  "end) or quadratic (more near the clean cloud). (The levels from noise "
                  "to data.)"),
}


def show_applicable(widget: QWidget, tip: str, why: str | None, running: bool) -> None:
    """Enable `widget` where its setting applies (never during a run), its tooltip saying
    why not where it does not."""
    widget.setEnabled(why is None and not running)
    widget.setToolTip(tip if why is None else f"{why}. {tip}")


class AdvancedSettings(QGroupBox):
    """The particle system's settings, as widgets; `values()` and `apply()` speak in
    `SamplerSettings` fields."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Particle system", parent)
        self.setObjectName("advancedGroup")
        defaults, limits = SamplerSettings(), SamplerSettings.LIMITS
        form = QFormLayout(self)
        self.widgets: dict[str, QWidget] = {}
        self.tips = {key: tip for key, (_, _, tip) in FIELDS.items()}
        for key, (label, choices, tip) in FIELDS.items():
            name = "".join(w.capitalize() for w in key.split("_"))
            if choices is not None:
                widget = combo(f"{name[0].lower()}{name[1:]}Combo", list(choices))
                widget.setCurrentText(getattr(defaults, key))
            elif isinstance(limits[key][0], int):
                widget = spin(f"{name[0].lower()}{name[1:]}Spin", *limits[key],
                              getattr(defaults, key))
            else:
                widget = ExactSpinBox()
                widget.setObjectName(f"{name[0].lower()}{name[1:]}Spin")
                widget.setDecimals(3)
                widget.setRange(*limits[key])
                widget.setSingleStep(0.05)
                widget.set_exact(getattr(defaults, key))
            widget.setToolTip(tip)
            self.widgets[key] = widget
            form.addRow(label, widget)
        presets = QHBoxLayout()  # a row of its own: beside the labels it would widen the dock
        presets.addWidget(QLabel("preset"))
        for name in PRESETS:
            button = QPushButton(name.capitalize())
            button.setObjectName(f"preset{name.capitalize()}Button")
            button.setToolTip("The sampler before issue 21: 128 levels x 3 Langevin moves (509 "
                              "expert calls)" if name == "classic" else
                              "Today's defaults: few levels, colour-only moves (docs/"
                              "evaluations.md)")
            button.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            presets.addWidget(button)
        form.addRow(presets)

    def apply_preset(self, name: str) -> None:
        """Set the preset's settings: through the Sampler panel holding this group where
        there is one (it has the levels and Langevin steps), here otherwise."""
        owner = self.parent()
        target = owner if owner is not None and hasattr(owner, "advanced_box") else self
        target.apply(preset_settings(name))

    def values(self) -> dict:
        out = {}
        for key, widget in self.widgets.items():
            if isinstance(widget, ExactSpinBox):
                out[key] = widget.exact_value()
            elif FIELDS[key][1] is None:
                out[key] = widget.value()
            else:
                out[key] = widget.currentText()
        return out

    def apply(self, values: dict) -> list[str]:
        """Set what `values` holds that fits; returns the keys it rejected (a missing key
        keeps its widget's value)."""
        rejected = []
        for key, widget in self.widgets.items():
            if key not in values:
                continue
            value, choices = values[key], FIELDS[key][1]
            if choices is not None:
                if value in choices:
                    widget.setCurrentText(value)
                else:
                    rejected.append(key)
                continue
            integer = not isinstance(widget, ExactSpinBox)
            kind_ok = (not isinstance(value, bool)
                       and isinstance(value, int if integer else int | float))
            if not kind_ok or not widget.minimum() <= value <= widget.maximum():  # NaN too
                rejected.append(key)
            elif integer:
                widget.setValue(value)
            else:
                widget.set_exact(float(value))
        return rejected
