"""The Sampler panel's particle-system settings: how the reward is weighed in (schedule,
moves, weighting), the kernel (and HMC's leapfrog steps) and when to resample. Each widget
is named after the `SamplerSettings` field it sets."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QPushButton, QWidget

from poe_engine.budget import INTEGRATORS, PRESETS, preset_settings
from poe_engine.flow import GRIDS
from poe_engine.samplers import KERNELS, MOVES, RESAMPLING, SCHEDULES, WEIGHTING, SamplerSettings

from .common import ExactSpinBox, combo, spin

# field -> (label, choices or None for a number, tooltip)
FIELDS = {
    "schedule": ("reward schedule", SCHEDULES,
                 "How the reward's scale grows to full strength by t = 0: constant (full from "
                 "the start), linear in t, or adaptive (as fast as the weights' conditional "
                 "ESS allows)"),
    "schedule_target": ("schedule target", None,
                        "adaptive schedule: each step keeps the conditional ESS of the weight "
                        "increment at least this fraction of the particles"),
    "moves": ("moves", MOVES,
              "tilted: weights taken before the Langevin moves, which then see the reward "
              "(a Metropolis test per particle); blind: moves ignore the reward"),
    "kernel": ("Langevin kernel", KERNELS,
               "ula: unadjusted Langevin; mala: each move accepted or rejected (Metropolis-"
               "adjusted), which keeps the level's target exactly; hmc: Hamiltonian Monte "
               "Carlo on the positions (a Metropolis test per point), Langevin on the colours"),
    "leapfrog": ("leapfrog steps", None,
                 "hmc: leapfrog steps per move (each costs one evaluation of the experts); "
                 "used by the hmc kernel only"),
    "weighting": ("weighting", WEIGHTING,
                  "incremental: exact SMC; potential: the reference demo's; paper: the "
                  "paper's Algorithm 1 (weights = reward, resample every step)"),
    "resampling": ("resampling", RESAMPLING,
                   "How particles are redrawn by weight: systematic (lower variance) or "
                   "multinomial"),
    "ess_threshold": ("resample below ESS", None,
                      "Resample when the effective sample size falls under this fraction "
                      "of the particles"),
    "resample_every": ("resample every", None,
                       "Also resample every this many steps (0: only on the ESS test)"),
    "ode_scale": ("Euler step scale", None,
                  "Multiplier of each Euler step of the experts' flow (1: the plain step)"),
    "colour_moves": ("colour moves", None,
                     "Langevin moves of the colours alone at every level, tilted by the "
                     "reward: they need no axis expert, so they cost no expert call"),
    "langevin_from": ("Langevin from t ≤", None,
                      "The Langevin steps run at the levels whose t is at most this "
                      "(1: every level)"),
    "time_grid": ("time grid", GRIDS,
             "The levels from noise to data: uniform, cosine (more at both ends) or "
             "quadratic (more near the data)"),
    "integrator": ("ODE step", INTEGRATORS,
                   "euler: one expert call a level; heun: second order, two calls a level"),
}


class AdvancedSettings(QGroupBox):
    """The particle system's settings, as widgets; `values()` and `apply()` speak in
    `SamplerSettings` fields."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Particle system", parent)
        self.setObjectName("advancedGroup")
        defaults, limits = SamplerSettings(), SamplerSettings.LIMITS
        form = QFormLayout(self)
        self.widgets: dict[str, QWidget] = {}
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
        presets = QHBoxLayout()
        for name in PRESETS:
            button = QPushButton(name.capitalize())
            button.setObjectName(f"preset{name.capitalize()}Button")
            button.setToolTip("The sampler before issue 21: 128 levels x 3 Langevin moves (509 "
                              "expert calls)" if name == "classic" else
                              "Today's defaults: few levels, colour-only moves (docs/"
                              "evaluations.md)")
            button.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            presets.addWidget(button)
        form.addRow("preset", presets)

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
