"""The Sampler panel's particle-system settings: how the reward is weighed in (schedule,
moves, weighting), the Langevin kernel and when to resample. Each widget is named after
the `SamplerSettings` field it sets."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QWidget

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
               "adjusted), which keeps the level's target exactly"),
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
