"""The Sampler panel: a run's settings, applied when a run starts, and the pace, which
applies at once. Also the paces a person can pick, shared with the timeline's replay."""

from __future__ import annotations

import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QPushButton, QWidget

from poe_engine.applies import inapplicable
from poe_engine.precision import PRECISIONS
from poe_engine.samplers import SAMPLERS, SamplerSettings

from ..model.pacing import MIN_RUN_SECONDS, follow_pace
from .advanced import FIELDS, AdvancedSettings, show_applicable
from .common import ExactSpinBox, combo, spin

# The particle system's settings, in the panel's "Particle system" group.
ADVANCED = tuple(FIELDS)
SAMPLERS_DEFAULT = next(iter(SAMPLERS))  # ais


# Paces a person can pick (steps per second); None is as fast as the sampler goes.
PACES: dict[str, float | None] = {
    "as fast as possible": None, "60 steps/s": 60.0, "30 steps/s": 30.0, "10 steps/s": 10.0,
    "5 steps/s": 5.0, "2 steps/s": 2.0, "1 step/s": 1.0,
}


# The app's own pace for a run: steps / MIN_RUN_SECONDS a second, so that a short run
# (issue 21's default has 16 steps, done in well under a second) can be followed on screen,
# while a long run, slower than that anyway, is not held back. Tests start their windows at
# DEFAULT_PACE, which tests/conftest.py sets to "as fast as possible".
FOLLOW = f"a run in {MIN_RUN_SECONDS:g} s or more"
APP_DEFAULT_PACE = DEFAULT_PACE = FOLLOW


def pace_combo(name: str, default: str, tooltip: str, extra: tuple[str, ...] = ()
               ) -> QComboBox:
    box = combo(name, [*extra, *PACES])
    box.setCurrentText(default)
    box.setToolTip(tooltip)
    return box


class SamplerPanel(QWidget):
    """Run settings, applied when a run starts, and the pace, which applies at once."""

    paceChanged = Signal(object)  # steps per second, or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        d = SamplerSettings()
        self.advanced_box = AdvancedSettings()
        lim = SamplerSettings.LIMITS
        form = QFormLayout(self)
        self.sampler = combo("samplerCombo", [s.upper() for s in SAMPLERS])
        self.device = combo("deviceCombo", ["auto", "cpu", "cuda"])
        if not torch.cuda.is_available():
            item = self.device.model().item(2)
            item.setEnabled(False)
            item.setToolTip("CUDA is not available on this machine")
        self.seed = spin("seedSpin", 0, 2**31 - 1, 0)
        self.particles = spin("particlesSpin", *lim["particles"], d.particles)
        self.points = spin("pointsSpin", *lim["points"], d.points)
        self.steps = spin("stepsSpin", *lim["steps"], d.steps)
        self.langevin = spin("langevinSpin", *lim["langevin_steps"], d.langevin_steps)
        self.kappa = ExactSpinBox()
        self.kappa.setObjectName("kappaSpin")
        self.kappa.setDecimals(3)
        self.kappa.setRange(*lim["kappa"])
        self.kappa.setSingleStep(0.01)
        self.kappa.setValue(d.kappa)
        self.precision = combo("precisionCombo", list(PRECISIONS))
        self.pace = pace_combo(
            "paceCombo", DEFAULT_PACE, f"Slower: the steps arrive at a pace you can follow; "
            f"applies at once, mid-run too. '{FOLLOW}': a short run is slowed so that it "
            f"lasts {MIN_RUN_SECONDS:g} s (16 steps: 4 a second), a long one goes as fast as "
            "it can. (At most this many denoising steps a second.)", (FOLLOW,))
        self.pace.currentTextChanged.connect(lambda _: self.paceChanged.emit(self.pace_value()))
        self.restore_defaults_button = QPushButton("Restore defaults")
        self.restore_defaults_button.setObjectName("samplerRestoreDefaults")
        self.restore_defaults_button.setToolTip(
            "Put every setting of this panel back to the app's defaults (the pace stays); "
            "they apply when the next run starts")
        self.restore_defaults_button.clicked.connect(self.restore_defaults)
        self.tips = {
            "sampler": "AIS: many clouds weighted, refined and resampled towards the reward; "
                       "EULER: each cloud follows the flow alone, faster, and most settings "
                       "below then have no effect. (AIS: annealed importance sampling; EULER: "
                       "plain Euler steps of the experts' flow.)",
            "device": "Where the sampler runs: auto takes CUDA when there is one",
            "precision": "bf16 can run faster at a slightly different cloud. (Precision of "
                         "the experts' matrix products; auto: bf16 where a short probe at "
                         "start-up measures it faster than fp32 on the device.)",
            "seed": "Another seed: another cloud; the same seed and settings give the same run",
            "particles": "More: more clouds to choose from (the view shows the heaviest), a "
                         "slower run. (Particles sampled side by side and weighted.)",
            "points": "Points in each cloud: more, a denser cloud and a slower run",
            "steps": "More steps: a slower run that follows the flow more closely. "
                     "(Denoising levels from noise, t = 1, to a clean cloud, t = 0.)",
            "langevin_steps": "More: fewer stray points, a slower run. (Langevin (MCMC) "
                              "refinement moves at every noise level, after its Euler step.)",
            "kappa": "Larger: each refinement move goes further, faster to settle but noisier. "
                     "(Langevin step size κ: times the experts' combined noise scale, so it "
                     "shrinks with the noise; 0 to 0.5.)"}
        self.rule_widgets = {"sampler": self.sampler, "device": self.device,
                             "precision": self.precision, "seed": self.seed,
                             "particles": self.particles, "points": self.points,
                             "steps": self.steps, "langevin_steps": self.langevin,
                             "kappa": self.kappa}
        for key, widget in self.rule_widgets.items():
            widget.setToolTip(self.tips[key])
            signal = (widget.currentTextChanged if isinstance(widget, QComboBox)
                      else widget.valueChanged)
            signal.connect(self._show_what_applies)
        for widget in self.advanced_box.widgets.values():
            signal = (widget.currentTextChanged if isinstance(widget, QComboBox)
                      else widget.valueChanged)
            signal.connect(self._show_what_applies)
        self._running = False
        self._run_settings = [self.advanced_box, self.restore_defaults_button]
        for label, widget in [("sampler", self.sampler), ("device", self.device),
                              ("precision", self.precision),
                              ("seed", self.seed), ("particles", self.particles),
                              ("points", self.points), ("denoising steps", self.steps),
                              ("Langevin steps", self.langevin), ("Langevin κ", self.kappa),
                              ("pace", self.pace)]:
            form.addRow(label, widget)
        form.addRow(self.advanced_box)
        form.addRow(self.restore_defaults_button)
        self._show_what_applies()

    def pace_value(self) -> float | None:
        """Steps a second at most (None: as fast as the sampler goes)."""
        text = self.pace.currentText()
        return follow_pace(self.steps.value()) if text == FOLLOW else PACES[text]

    def set_running(self, running: bool) -> None:
        """During a run only the pace can change; the rest applies to the next run."""
        self._running = running
        for widget in self._run_settings:
            widget.setEnabled(not running)
        self._show_what_applies()

    def _show_what_applies(self, *_args) -> None:
        """A setting the current choices leave unread is disabled, its tooltip saying why."""
        why = inapplicable({"sampler": self.sampler_name(),
                            "langevin_steps": self.langevin.value(), **self.advanced})
        box = self.advanced_box
        for key, widget in [*self.rule_widgets.items(), *box.widgets.items()]:
            tip = self.tips.get(key) or box.tips[key]
            show_applicable(widget, tip, why.get(key), self._running)

    def restore_defaults(self) -> None:
        """Every run setting back to the app's defaults (`SamplerSettings()`, AIS, seed 0,
        auto device); the pace stays."""
        self.apply({"sampler": SAMPLERS_DEFAULT, "device": "auto", "seed": 0,
                    **SamplerSettings().to_dict()})

    @property
    def advanced(self) -> dict:
        """The particle system's settings, by `SamplerSettings` field."""
        return self.advanced_box.values()

    def settings(self) -> SamplerSettings:
        return SamplerSettings(
            particles=self.particles.value(), points=self.points.value(),
            steps=self.steps.value(), langevin_steps=self.langevin.value(),
            kappa=self.kappa.exact_value(), precision=self.precision.currentText(),
            **self.advanced)

    def sampler_name(self) -> str:
        return self.sampler.currentText().lower()

    def values(self) -> dict:
        return {"sampler": self.sampler_name(), "device": self.device.currentText(),
                "seed": self.seed.value(), **self.settings().to_dict()}

    def apply(self, values: dict) -> list[str]:
        """Set the widgets from `values` (saved settings or a run configuration, keyed as
        `values()` keys them). A key that is missing keeps its widget's value; so does one
        whose value is of the wrong type or out of range, and such keys are returned."""
        rejected = []
        spins = {"seed": self.seed, "particles": self.particles, "points": self.points,
                 "steps": self.steps, "langevin_steps": self.langevin}
        for key, box in spins.items():
            if key not in values:
                continue
            value = values[key]
            if (isinstance(value, bool) or not isinstance(value, int)
                    or not box.minimum() <= value <= box.maximum()):
                rejected.append(key)
                continue
            box.setValue(value)
        if "kappa" in values:
            kappa = values["kappa"]
            if (isinstance(kappa, bool) or not isinstance(kappa, int | float)
                    or not self.kappa.minimum() <= kappa <= self.kappa.maximum()):  # NaN too
                rejected.append("kappa")
            else:
                self.kappa.set_exact(float(kappa))
        for key, box in (("sampler", self.sampler), ("device", self.device),
                         ("precision", self.precision)):
            if key not in values:
                continue
            value = values[key]
            index = (box.findText(value, Qt.MatchFlag.MatchFixedString)
                     if isinstance(value, str) else -1)
            if index < 0:
                rejected.append(key)
            elif box.model().item(index).isEnabled():  # 'cuda' on a machine without one
                box.setCurrentIndex(index)
        return rejected + self.advanced_box.apply(values)
