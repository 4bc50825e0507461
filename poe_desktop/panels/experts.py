"""The Experts panel: a checkbox and a weight per generative expert, and the reward's switch."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from poe_engine.experts import EXPERT_NAMES
from poe_engine.product import MAX_WEIGHT

from ..view.axes import AXIS_COLORS, swatch_icon

EXPERT_LABELS = {"x": "x axis (flow)", "y": "y axis (flow)", "z": "z axis (flow)",
                 "color": "colour (monochrome)"}


class ExpertsPanel(QWidget):
    """A checkbox and a weight per generative expert, and the reward's switch."""

    expertToggled = Signal(str, bool)
    weightChanged = Signal(str, float)
    rewardToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.addWidget(QLabel("<b>Generative experts</b>"), 0, 0, 1, 2)
        grid.addWidget(QLabel("weight"), 0, 2)
        self.toggles: dict[str, QCheckBox] = {}
        self.weights: dict[str, QDoubleSpinBox] = {}
        for row, name in enumerate(EXPERT_NAMES, start=1):
            box = QCheckBox(EXPERT_LABELS[name])
            box.setObjectName(f"expertToggle_{name}")
            box.setChecked(True)
            box.setToolTip(f"Use the {EXPERT_LABELS[name]} expert in the product; "
                           "during a run, from the next step on")
            if name in AXIS_COLORS:  # the colour of its axis in the 3-D view
                box.setIcon(swatch_icon(AXIS_COLORS[name]))
            box.toggled.connect(lambda on, n=name: self.expertToggled.emit(n, on))
            weight = QDoubleSpinBox()
            weight.setObjectName(f"expertWeight_{name}")
            weight.setRange(0.0, MAX_WEIGHT)
            weight.setSingleStep(0.1)
            weight.setValue(1.0)
            weight.setToolTip("Exponent of this expert's density in the product (0 takes "
                              "it out); during a run, from the next step on")
            weight.valueChanged.connect(lambda w, n=name: self.weightChanged.emit(n, w))
            grid.addWidget(box, row, 0, 1, 2)
            grid.addWidget(weight, row, 2)
            self.toggles[name], self.weights[name] = box, weight
        self.reward = QCheckBox("colour reward (discriminative)")
        self.reward.setObjectName("rewardToggle")
        self.reward.setChecked(True)
        self.reward.setToolTip("Weight the particles by the colour reward (see Reward colour) "
                               "and resample them; during a run, from the next step on")
        self.reward.toggled.connect(self.rewardToggled)
        grid.addWidget(QLabel("<b>Discriminative expert</b>"), len(EXPERT_NAMES) + 1, 0, 1, 3)
        grid.addWidget(self.reward, len(EXPERT_NAMES) + 2, 0, 1, 3)
        self.restore_defaults_button = QPushButton("Restore defaults")
        self.restore_defaults_button.setObjectName("expertsRestoreDefaults")
        self.restore_defaults_button.setToolTip(
            "Every expert and the reward back on, every weight back to 1; during a run, from "
            "the next step on")
        self.restore_defaults_button.clicked.connect(self.restore_defaults)
        self._defaults = self.state()
        grid.addWidget(self.restore_defaults_button, len(EXPERT_NAMES) + 3, 0, 1, 3)
        grid.setRowStretch(len(EXPERT_NAMES) + 4, 1)

    def state(self) -> dict:
        return {"enabled": {n: box.isChecked() for n, box in self.toggles.items()},
                "weights": {n: spin.value() for n, spin in self.weights.items()},
                "reward": self.reward.isChecked()}

    def apply_state(self, values: dict) -> list[str]:
        """Set the switches and weights from saved values; returns the keys rejected
        (`enabled`, `weights` or `reward`, or `weights.x` for one bad weight)."""
        rejected = []
        enabled, weights = values.get("enabled", {}), values.get("weights", {})
        if not isinstance(enabled, dict) or not all(
                n in self.toggles and isinstance(on, bool) for n, on in enabled.items()):
            rejected.append("enabled")
        else:
            for name, on in enabled.items():
                self.toggles[name].setChecked(on)
        if not isinstance(weights, dict) or not set(weights) <= set(self.weights):
            rejected.append("weights")
        else:
            for name, w in weights.items():
                spin = self.weights[name]
                if (isinstance(w, bool) or not isinstance(w, int | float)
                        or not spin.minimum() <= w <= spin.maximum()):  # NaN too
                    rejected.append(f"weights.{name}")
                else:
                    spin.setValue(w)
        if "reward" in values:
            if isinstance(values["reward"], bool):
                self.reward.setChecked(values["reward"])
            else:
                rejected.append("reward")
        return rejected

    def restore_defaults(self) -> None:
        """Every switch and weight back to the panel's defaults (the engine's)."""
        self.apply_state(self._defaults)

    def enabled_experts(self) -> list[str]:
        return [n for n, box in self.toggles.items() if box.isChecked()]
